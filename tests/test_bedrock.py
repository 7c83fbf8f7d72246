"""The share image's Bedrock background: model families (one request builder and reader each),
the lifecycle check at start (GetFoundationModel, botocore Stubber: moto has no Bedrock), and the
fallback to the local gradient, marked in /health and on the image response."""
from __future__ import annotations

import base64
import datetime as dt
import io
import json

import boto3
import pytest
from botocore.stub import Stubber
from fastapi.testclient import TestClient
from PIL import Image

from include import config
from include.serving.app import create_app
from include.serving.aws import (
    BedrockBackground,
    check_image_model,
    family_of,
    image_prompt,
    nova_request,
    stability_request,
)
from include.serving.service import ForecastService
from include.serving.store import LocalStore

STABLE = "stability.stable-image-core-v1:1"


@pytest.fixture(scope="module")
def lake(tmp_path_factory, lake_cache):
    from tests.sample_lakes import build_serving_lake

    return build_serving_lake(tmp_path_factory.mktemp("bedrock") / "lake", days=2, cache=lake_cache)


def png(color=(40, 80, 160)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1024, 1024), color).save(out, format="PNG")
    return out.getvalue()


def clients():
    return (boto3.client("bedrock-runtime", region_name="us-west-2"), boto3.client("bedrock", region_name="us-west-2"))


def model_details(model_id: str, status: str, **life) -> dict:
    return {"modelDetails": {"modelArn": f"arn:aws:bedrock:us-west-2::foundation-model/{model_id}", "modelId": model_id,
                             "modelName": model_id, "providerName": model_id.split(".")[0],
                             "inputModalities": ["TEXT"], "outputModalities": ["IMAGE"],
                             "modelLifecycle": {"status": status, **life}}}


def test_the_default_model_is_a_stability_image_model():
    aws = config.load({}).aws
    assert aws.bedrock_image_model == STABLE and aws.bedrock_region == "us-west-2"
    assert family_of(aws.bedrock_image_model, aws.bedrock_image_family) == "stability"


@pytest.mark.parametrize("model_id,family", [
    ("stability.stable-image-core-v1:1", "stability"), ("stability.sd3-5-large-v1:0", "stability"),
    ("us.stability.stable-image-ultra-v1:1", "stability"), ("amazon.nova-canvas-v1:0", "nova"),
    ("amazon.titan-image-generator-v2:0", "nova"),
    ("arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1", "stability"),
])
def test_family_from_the_model_id(model_id, family):
    assert family_of(model_id) == family


def test_family_setting_wins_and_unknown_families_are_refused():
    assert family_of("my-imported-model", "nova") == "nova"
    with pytest.raises(ValueError, match="AQICAST_BEDROCK_IMAGE_FAMILY"):
        family_of("anthropic.claude-v2")
    with pytest.raises(ValueError, match="unknown"):
        family_of(STABLE, "dalle")
    runtime, bedrock = clients()
    bg = BedrockBackground(runtime, "anthropic.claude-v2", bedrock=bedrock)  # unknown family: never called
    assert bg({"city_id": 1, "city": "x"}, {}) is None and bg.status["source"] == "local gradient"


def test_request_builders_follow_each_family_format():
    s = stability_request("a city", 2**40 + 5)
    assert s["prompt"] == "a city" and s["output_format"] == "png" and s["aspect_ratio"] == "1:1"
    assert 0 <= s["seed"] < 4_294_967_295 and "text" in s["negative_prompt"]
    n = nova_request("a city", 2**40 + 5)
    assert n["taskType"] == "TEXT_IMAGE" and n["textToImageParams"]["text"] == "a city"
    assert 0 <= n["imageGenerationConfig"]["seed"] < 2_147_483_646


def test_active_stability_model_draws_the_background(lake):
    runtime, bedrock = clients()
    service = ForecastService(LocalStore(lake), background=BedrockBackground(runtime, STABLE, bedrock=bedrock))
    city, fc = service.find("Mumbai"), service.forecast("Mumbai", scale="us")  # the mood follows the EPA category
    payload = {"seeds": [city["city_id"]], "finish_reasons": [None], "images": [base64.b64encode(png()).decode()]}
    with Stubber(bedrock) as control, Stubber(runtime) as stub:
        control.add_response("get_foundation_model", model_details(STABLE, "ACTIVE"), {"modelIdentifier": STABLE})
        stub.add_response("invoke_model", {"body": io.BytesIO(json.dumps(payload).encode()), "contentType": "application/json"},
                          {"modelId": STABLE, "contentType": "application/json", "accept": "application/json",
                           "body": json.dumps(stability_request(image_prompt(city, fc), city["city_id"]))})
        r = TestClient(create_app(service)).get("/v1/forecast/Mumbai/image")
        stub.assert_no_pending_responses()
        control.assert_no_pending_responses()
    assert r.status_code == 200 and r.headers["x-aqicast-background"] == f"bedrock {STABLE}"
    # the illustration is behind the header: the top-left corner has its blue, not a gradient's colour
    top = Image.open(io.BytesIO(r.content)).convert("RGB").getpixel((5, 5))
    assert top[2] > top[0]


def test_filtered_image_falls_back_to_the_gradient(lake):
    runtime, bedrock = clients()
    bg = BedrockBackground(runtime, STABLE, bedrock=bedrock)
    with Stubber(bedrock) as control, Stubber(runtime) as stub:
        control.add_response("get_foundation_model", model_details(STABLE, "ACTIVE"))
        stub.add_response("invoke_model", {"body": io.BytesIO(b'{"finish_reasons": ["Filter reason: prompt"]}'),
                                           "contentType": "application/json"})
        assert bg({"city_id": 7, "city": "Delhi", "country": "IN"}, {"forecast_date": "2019-01-12", "category": "Good"}) is None
    assert "Filter reason: prompt" in bg.status["last_error"]


def test_legacy_model_is_still_used_with_a_warning(caplog):
    _, bedrock = clients()
    eol = dt.datetime(2026, 9, 30, tzinfo=dt.timezone.utc)
    with Stubber(bedrock) as control:
        control.add_response("get_foundation_model", model_details("amazon.nova-canvas-v1:0", "LEGACY", endOfLifeTime=eol))
        life = check_image_model(bedrock, "amazon.nova-canvas-v1:0")
    assert life == {"model": "amazon.nova-canvas-v1:0", "status": "LEGACY", "usable": True,
                    "detail": "Legacy, end of life 2026-09-30"}
    assert "Active model" in caplog.text


@pytest.mark.parametrize("error", ["ResourceNotFoundException", "AccessDeniedException", "ValidationException"])
def test_model_gone_or_not_enabled_is_not_called_and_the_api_says_so(lake, error):
    runtime, bedrock = clients()
    bg = BedrockBackground(runtime, "amazon.titan-image-generator-v2:0", bedrock=bedrock)
    service = ForecastService(LocalStore(lake), background=bg)
    with Stubber(bedrock) as control, Stubber(runtime) as stub:  # no invoke_model response: a call would fail the test
        control.add_client_error("get_foundation_model", service_error_code=error, http_status_code=404,
                                 expected_params={"modelIdentifier": "amazon.titan-image-generator-v2:0"})
        client = TestClient(create_app(service))
        health = client.get("/health").json()
        r = client.get("/v1/forecast/Delhi/image")
        stub.assert_no_pending_responses()
    assert health["image_background"] == {"source": "local gradient", "model": "amazon.titan-image-generator-v2:0",
                                           "family": "nova", "lifecycle": "UNAVAILABLE",
                                           "detail": f"GetFoundationModel: {error}", "last_error": None}
    assert r.status_code == 200 and r.headers["x-aqicast-background"] == "local gradient"
    assert Image.open(io.BytesIO(r.content)).size == (1080, 1080)


def test_service_from_settings_checks_the_model_at_start(lake, monkeypatch):
    """The aws service (the Lambda's cold start) asks GetFoundationModel once, before any request."""
    import botocore.client

    from include.serving.app import service_from_settings

    calls = []
    real = botocore.client.BaseClient._make_api_call

    def record(self, operation, params):
        calls.append((self.meta.service_model.service_name, self.meta.region_name, operation, params))
        if operation == "GetFoundationModel":
            return model_details(params["modelIdentifier"], "ACTIVE")
        return real(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings = config.load({"AQICAST_BACKEND": "aws", "AQICAST_SERVING_ROOT": lake})
    service = service_from_settings(settings)
    assert calls == [("bedrock", "us-west-2", "GetFoundationModel", {"modelIdentifier": STABLE})]
    assert service.background.status["source"] == f"bedrock {STABLE}"
