"""The API's AWS edges: live predictions from the SageMaker serverless endpoint and the share
image's background illustration from Amazon Bedrock. Both are built from boto3 clients, so tests
pass Stubbers.

Bedrock image models come in families with their own request and response bodies; the family is
a setting (``AQICAST_BEDROCK_IMAGE_FAMILY``, default: inferred from the model id) with one request
builder and one response reader each (:data:`FAMILIES`). The default model is Stability AI's
Stable Image Core: Amazon Nova Canvas (the former default) and Titan Image Generator v2 are
Legacy on AWS's lifecycle page (README "Share image model"). When the API starts, the model's
``modelLifecycle`` is read with GetFoundationModel (:func:`check_image_model`): a model that is
gone, not enabled or of an unknown family is not called at all and the share picture is drawn on
the local gradient background; :attr:`BedrockBackground.status` says which, and the API shows it
(``/health`` and the image's ``X-Aqicast-Background`` header).
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Callable

from include.config import AwsSettings
from include.endpoint_csv import CONTENT_TYPE, decode_predictions, encode_rows

_AWS = AwsSettings()  # defaults; the app passes the configured names
log = logging.getLogger(__name__)

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


# -- model families: one request builder and one response reader each ------------------------------
class ImageRefused(RuntimeError):
    """The model answered without an image (content filter, model error)."""


def nova_request(prompt: str, seed: int) -> dict:
    """TEXT_IMAGE request body of Amazon Nova Canvas / Titan Image Generator v2 (one format)."""
    return {"taskType": "TEXT_IMAGE",
            "textToImageParams": {"text": prompt, "negativeText": NEGATIVE},
            "imageGenerationConfig": {"numberOfImages": 1, "width": 1024, "height": 1024, "cfgScale": 6.5,
                                      "seed": seed % 2_147_483_646, "quality": "standard"}}


def nova_image(payload: dict) -> bytes:
    if payload.get("error"):
        raise ImageRefused(payload["error"])
    return base64.b64decode(payload["images"][0])


def stability_request(prompt: str, seed: int) -> dict:
    """Text-to-image request body of Stability AI's Stable Image Core / Ultra and SD 3.5 on Bedrock."""
    return {"prompt": prompt, "negative_prompt": NEGATIVE, "mode": "text-to-image", "aspect_ratio": "1:1",
            "output_format": "png", "seed": seed % 4_294_967_295}


def stability_image(payload: dict) -> bytes:
    reasons = [r for r in payload.get("finish_reasons") or [] if r is not None]
    if reasons or not payload.get("images"):
        raise ImageRefused("; ".join(map(str, reasons)) or "no image in the response")
    return base64.b64decode(payload["images"][0])


@dataclass(frozen=True)
class Family:
    prefixes: tuple[str, ...]  # the model ids of the family start with one of these
    request: Callable[[str, int], dict]
    image: Callable[[dict], bytes]


FAMILIES = {
    "stability": Family(("stability.",), stability_request, stability_image),
    "nova": Family(("amazon.nova-canvas", "amazon.titan-image-generator"), nova_request, nova_image),
}
#: The former name of the Nova/Titan request builder.
bedrock_request = nova_request


def family_of(model_id: str, family: str = "") -> str:
    """The family setting if given, else the family whose prefix the model id (or the inference
    profile's model part, e.g. ``us.stability...``) starts with."""
    if family:
        if family not in FAMILIES:
            raise ValueError(f"unknown Bedrock image model family {family!r}: one of {sorted(FAMILIES)}")
        return family
    base = model_id.split(":model/")[-1].split("/")[-1]
    for name, fam in FAMILIES.items():
        if any(base.startswith(p) or base.partition(".")[2].startswith(p) for p in fam.prefixes):
            return name
    raise ValueError(f"no Bedrock image model family for {model_id!r}: set AQICAST_BEDROCK_IMAGE_FAMILY "
                     f"to one of {sorted(FAMILIES)}")


# -- lifecycle ---------------------------------------------------------------------------------------
USABLE = {"ACTIVE", "LEGACY"}  # LEGACY still answers existing customers until its end of life: warn


def check_image_model(bedrock, model_id: str) -> dict:
    """The model's lifecycle from GetFoundationModel: ``{"model", "status", "usable", "detail"}``.
    Not usable: the model is unknown to the region, not enabled for the account, at its end of
    life, or does not generate images."""
    try:
        details = bedrock.get_foundation_model(modelIdentifier=model_id.split("/")[-1].removeprefix("us.")
                                                .removeprefix("eu.").removeprefix("apac."))["modelDetails"]
    except Exception as exc:  # noqa: BLE001 - any failure means: do not call the model
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        return {"model": model_id, "status": "UNAVAILABLE", "usable": False, "detail": f"GetFoundationModel: {code}"}
    life = details.get("modelLifecycle") or {}
    status = str(life.get("status") or "UNKNOWN")
    if "IMAGE" not in (details.get("outputModalities") or ["IMAGE"]):
        return {"model": model_id, "status": status, "usable": False, "detail": "the model does not generate images"}
    detail = ""
    if status == "LEGACY":
        eol = life.get("endOfLifeTime")
        detail = f"Legacy, end of life {eol:%Y-%m-%d}" if isinstance(eol, dt.datetime) else "Legacy"
        log.warning("Bedrock image model %s is %s: move AQICAST_BEDROCK_IMAGE_MODEL to an Active model", model_id, detail)
    return {"model": model_id, "status": status, "usable": status in USABLE, "detail": detail}


class BedrockBackground:
    """A function (city, forecast) -> PNG bytes of the background, or None (the image is then
    drawn on the local gradient: a share picture is never blocked by the image model).

    ``check=True`` reads the model's lifecycle first (once, lazily, or call :meth:`check`);
    :attr:`status` is what the API reports: ``bedrock <model>`` or ``local gradient (<why>)``.
    """

    def __init__(self, runtime=None, model_id: str = _AWS.bedrock_image_model, *, family: str = "",
                 bedrock=None, check: bool = True, region: str | None = None):
        self.runtime, self.bedrock, self.model_id, self.region = runtime, bedrock, model_id, region
        self.lifecycle: dict | None = None if check else {"model": model_id, "status": "NOT CHECKED", "usable": True,
                                                          "detail": ""}
        try:
            self.family: str | None = family_of(model_id, family)
        except ValueError as exc:
            self.family, self.lifecycle = None, {"model": model_id, "status": "UNKNOWN FAMILY", "usable": False,
                                                 "detail": str(exc)}
        self.last_error: str | None = None

    def _client(self, service: str):
        import boto3

        return boto3.client(service, **({"region_name": self.region} if self.region else {}))

    def check(self) -> dict:
        if self.lifecycle is None:
            self.lifecycle = check_image_model(self.bedrock or self._client("bedrock"), self.model_id)
            if not self.lifecycle["usable"]:
                log.warning("Bedrock image model %s unusable (%s, %s): share images use the local gradient",
                            self.model_id, self.lifecycle["status"], self.lifecycle["detail"])
        return self.lifecycle

    @property
    def usable(self) -> bool:
        return bool(self.check()["usable"]) and self.family is not None

    @property
    def status(self) -> dict:
        life = self.check()
        source = f"bedrock {self.model_id}" if self.usable else "local gradient"
        return {"source": source, "model": self.model_id, "family": self.family, "lifecycle": life["status"],
                "detail": life["detail"], "last_error": self.last_error}

    def __call__(self, city: dict, forecast: dict) -> bytes | None:
        if not self.usable:
            return None
        fam = FAMILIES[self.family]
        seed = int(city["city_id"])  # the same city gets the same illustration style
        try:
            if self.runtime is None:
                self.runtime = self._client("bedrock-runtime")
            resp = self.runtime.invoke_model(modelId=self.model_id, contentType="application/json",
                                             accept="application/json",
                                             body=json.dumps(fam.request(image_prompt(city, forecast), seed)))
            image = fam.image(json.loads(resp["body"].read()))
            self.last_error = None
            return image
        except Exception as exc:  # noqa: BLE001
            self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.exception("Bedrock image failed for %s; using the gradient", city["city"])
            return None


def bedrock_background(client=None, model_id: str = _AWS.bedrock_image_model, *, family: str = "",
                       bedrock=None, check: bool = False, region: str | None = None) -> BedrockBackground:
    """The background function for ``model_id`` (``client``: a bedrock-runtime client; ``bedrock``:
    the control-plane client the lifecycle check uses when ``check``)."""
    return BedrockBackground(client, model_id, family=family, bedrock=bedrock, check=check, region=region)


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
