"""The API's AWS edges: live predictions from the SageMaker serverless endpoint and the share
image's background illustration from Amazon Bedrock (Nova Canvas or Titan Image Generator v2,
which share the request format). Both are built from boto3 clients, so tests pass Stubbers."""
from __future__ import annotations

import base64
import datetime as dt
import json

from include.config import AwsSettings
from include.endpoint_csv import CONTENT_TYPE, decode_predictions, encode_rows

_AWS = AwsSettings()  # defaults; the app passes the configured names

NEGATIVE = "text, letters, words, numbers, watermark, logo, signature, people's faces"
# How the sky looks at each EPA category, from a clear day to a hazardous one.
MOOD = {
    "Good": "crisp clear air, deep blue sky, far-reaching views",
    "Moderate": "slightly hazy sky, soft light",
    "Unhealthy for Sensitive Groups": "noticeable haze, muted colours, pale sun",
    "Unhealthy": "thick haze over the skyline, dim orange-grey light",
    "Very Unhealthy": "dense smog, low visibility, brownish sky",
    "Hazardous": "heavy smog, the skyline barely visible, dark ochre light",
}


def season(day: dt.date, lat: float | None) -> str:
    northern = ["winter", "winter", "spring", "spring", "spring", "summer",
                "summer", "summer", "autumn", "autumn", "autumn", "winter"][day.month - 1]
    if lat is not None and lat < 0:
        return {"winter": "summer", "summer": "winter", "spring": "autumn", "autumn": "spring"}[northern]
    return northern


def image_prompt(city: dict, forecast: dict) -> str:
    day = dt.date.fromisoformat(forecast["forecast_date"])
    return (f"Wide illustrated cityscape of {city['city']}, {city.get('country') or ''} in {season(day, city.get('lat'))}, "
            f"recognisable landmarks, {MOOD.get(forecast['category'], 'soft light')}, calm painterly style, "
            "no text, space at the top for a title")[:1000]


def bedrock_request(prompt: str, seed: int) -> dict:
    """TEXT_IMAGE request body for amazon.nova-canvas-v1:0 / amazon.titan-image-generator-v2:0."""
    return {"taskType": "TEXT_IMAGE",
            "textToImageParams": {"text": prompt, "negativeText": NEGATIVE},
            "imageGenerationConfig": {"numberOfImages": 1, "width": 1024, "height": 1024, "cfgScale": 6.5,
                                      "seed": seed, "quality": "standard"}}


def bedrock_background(client=None, model_id: str = _AWS.bedrock_image_model):
    """A function (city, forecast) -> PNG bytes of the background, or None if Bedrock fails (the
    image is then drawn on a gradient: a share picture is never blocked by the image model)."""
    def background(city: dict, forecast: dict) -> bytes | None:
        nonlocal client
        if client is None:
            import boto3

            client = boto3.client("bedrock-runtime")
        seed = int(city["city_id"]) % 2_147_483_646  # the same city gets the same illustration style
        try:
            resp = client.invoke_model(modelId=model_id, contentType="application/json", accept="application/json",
                                       body=json.dumps(bedrock_request(image_prompt(city, forecast), seed)))
            payload = json.loads(resp["body"].read())
            if payload.get("error"):
                raise RuntimeError(payload["error"])
            return base64.b64decode(payload["images"][0])
        except Exception:  # noqa: BLE001
            import logging

            logging.getLogger(__name__).exception("Bedrock image failed for %s; using the gradient", city["city"])
            return None

    return background


def endpoint_predictor(client=None, endpoint: str = _AWS.endpoint):
    """A function (feature names, values) -> predicted AQI from the serverless endpoint, in the
    same wire format as the batch forecast (``include/endpoint_csv.py``)."""

    def predict(features: list[str], values: list) -> float:
        nonlocal client
        if client is None:
            import boto3

            client = boto3.client("sagemaker-runtime")
        resp = client.invoke_endpoint(EndpointName=endpoint, ContentType=CONTENT_TYPE, Accept=CONTENT_TYPE,
                                      Body=encode_rows([values]))
        return decode_predictions(resp["Body"].read())[0]

    return predict
