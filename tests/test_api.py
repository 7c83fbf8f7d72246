"""The API: answers on real forecasts (Beijing and 16+ Indian cities from the sample), bad input,
the endpoint fallback, the share image, Bedrock and S3 on AWS (Stubber / moto), the Lambda
handler under an API Gateway event."""
from __future__ import annotations

import base64
import datetime as dt
import io
import json

import boto3
import pytest
from botocore.stub import Stubber
from fastapi.testclient import TestClient
from moto import mock_aws
from PIL import Image

from include.etl.aqi import category
from include.serving.app import create_app
from include.serving.service import ForecastService
from include.serving.store import LocalStore, S3Store

DAY_BEIJING, DAY_INDIA = dt.date(2015, 1, 11), dt.date(2019, 1, 11)


@pytest.fixture(scope="module")
def lake(tmp_path_factory, lake_cache):
    from tests.sample_lakes import two_country_serving_lake

    return two_country_serving_lake(tmp_path_factory.mktemp("api") / "lake", 7, DAY_BEIJING, DAY_INDIA, cache=lake_cache)


@pytest.fixture
def client(lake):
    return TestClient(create_app(ForecastService(LocalStore(lake.root))))


def test_health_and_city_search(client):
    assert client.get("/health").json() == {"status": "ok", "issued_from": "2019-01-11", "cities": pytest.approx(16, abs=8)}
    found = client.get("/v1/cities", params={"prefix": "del"}).json()
    assert [c["city"] for c in found] == ["Delhi"] and found[0]["country"] == "IN"
    assert len(client.get("/v1/cities").json()) >= 10


def test_forecast_answer(client, lake):
    r = client.get("/v1/forecast/Delhi", params={"scale": "us"})
    assert r.status_code == 200
    body = r.json()
    fc = lake.read_partition("forecasts/city_daily", DAY_INDIA).set_index("city").loc["Delhi"]
    assert body["aqi"] == fc["aqi_pred"] and body["forecast_date"] == "2019-01-12" and body["scale"] == "us"
    assert body["category"] == category([body["aqi"]])[0] and body["color"].startswith("#")
    assert body["health"]["general"] and body["health"]["sensitive_groups"] and body["health"]["official"]
    assert body["fallback"] is True and "persistence" in body["fallback_reason"]
    assert [h["date"] for h in body["history"]][-1] == "2019-01-11" and len(body["history"]) == 7
    assert client.get("/v1/forecast/delhi?scale=us").json()["aqi"] == body["aqi"]  # case-insensitive
    assert client.get(f"/v1/forecast/{body['city_id']}").json()["city"] == "Delhi"  # by GeoNames id


def test_unknown_city_gives_404_with_suggestions(client):
    r = client.get("/v1/forecast/Dellhi")
    assert r.status_code == 404 and "Delhi" in r.json()["suggestions"]
    assert client.get("/v1/forecast/Atlantis").status_code == 404


@pytest.mark.parametrize("name", ["x" * 81, "<script>alert(1)</script>", "Delhi;rm -rf", "..", "a%00b",
                                  "%2e%2e%2fetc%2fpasswd", "Delhi%0A", "_underscore", "%F0%9F%92%A8"])
def test_odd_names_give_400(client, name):
    r = client.get(f"/v1/forecast/{name}")
    assert r.status_code in (400, 404), r.text  # 404 only when the router never sees a city (a slash)
    if r.status_code == 400:
        assert "city name" in r.json()["detail"]


def test_names_never_reach_the_store(lake, tmp_path):
    class Spy(LocalStore):
        keys: list[str] = []

        def get(self, key):
            self.keys.append(key)
            return super().get(key)

        def put(self, key, data, content_type):
            self.keys.append(key)
            return super().put(key, data, content_type)

    spy = Spy(lake.root)
    c = TestClient(create_app(ForecastService(spy)))
    assert c.get("/v1/forecast/Delhi/image").status_code == 200
    assert c.get("/v1/forecast/..%2F..%2Fetc/image").status_code in (400, 404)
    assert all("Delhi" not in k and ".." not in k for k in spy.keys), spy.keys


def test_share_image_is_rendered_then_cached(client, lake):
    r = client.get("/v1/forecast/Delhi/image?scale=us")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (1080, 1080)
    city_id = client.get("/v1/forecast/Delhi").json()["city_id"]
    cached = lake.path("serving", "images", "date=2019-01-11", f"{city_id}.png")
    assert open(cached, "rb").read() == r.content
    assert client.get("/v1/forecast/Delhi/image?scale=us").content == r.content
    # Each (scale, language) has its own cached image: India's scale (Delhi's default), in Chinese.
    zh = client.get("/v1/forecast/Delhi/image", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200 and zh.content != r.content
    assert open(lake.path("serving", "images", "date=2019-01-11", f"{city_id}.in.zh-Hans.png"), "rb").read() == zh.content


def test_live_endpoint_answers_and_failures_fall_back(lake):
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1")
    from include.serving.aws import endpoint_predictor

    snap = json.loads(open(lake.path("serving/latest.json")).read())
    delhi = next(c for c in snap["cities"] if c["city"] == "Delhi")
    delhi_x = delhi["x"]
    with Stubber(runtime) as stub:
        stub.add_response("invoke_endpoint", {"Body": io.BytesIO(b"123.4\n"), "ContentType": "text/csv"})
        stub.add_client_error("invoke_endpoint", service_error_code="ModelError", http_status_code=424)
        service = ForecastService(LocalStore(lake.root), predict=endpoint_predictor(runtime, "aqicast-next-day-aqi"))
        service.snapshot()["features"] = service.snapshot()["features"] or ["aqi"]
        if delhi_x is None:
            for c in service.snapshot()["cities"]:
                c["x"] = [c["aqi_today"]]
        live = service.forecast("Delhi", scale="us")
        assert live["aqi"] == 123 and live["fallback"] is False and live["category"] == "Unhealthy for Sensitive Groups"
        down = service.forecast("Delhi", scale="us")
        assert down["fallback"] is True and "live model unavailable" in down["fallback_reason"]
        assert down["aqi"] == delhi["aqi_pred"]


def png_bytes(color=(40, 80, 160)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1024, 1024), color).save(out, format="PNG")
    return out.getvalue()


def test_bedrock_request_and_background(lake):
    from include.serving.aws import bedrock_background

    bedrock = boto3.client("bedrock-runtime", region_name="us-east-1")
    payload = json.dumps({"images": [base64.b64encode(png_bytes()).decode()]}).encode()
    service = ForecastService(LocalStore(lake.root), background=bedrock_background(bedrock, "amazon.nova-canvas-v1:0"))
    city = service.find("Mumbai")
    fc = service.forecast("Mumbai", scale="us")  # the mood follows the EPA category, whatever the card's scale
    with Stubber(bedrock) as stub:
        stub.add_response("invoke_model", {"body": io.BytesIO(payload), "contentType": "application/json"},
                          {"modelId": "amazon.nova-canvas-v1:0", "contentType": "application/json",
                           "accept": "application/json", "body": json.dumps(__import__("include.serving.aws", fromlist=["x"])
                                                                             .bedrock_request(__import__("include.serving.aws", fromlist=["x"]).image_prompt(city, fc), city["city_id"] % 2_147_483_646))})
        data, url = service.image("Mumbai")
        stub.assert_no_pending_responses()
    assert url is None and Image.open(io.BytesIO(data)).size == (1080, 1080)
    body = __import__("include.serving.aws", fromlist=["x"]).bedrock_request("p", 1)
    assert body["taskType"] == "TEXT_IMAGE" and body["imageGenerationConfig"]["numberOfImages"] == 1
    prompt = __import__("include.serving.aws", fromlist=["x"]).image_prompt(city, fc)
    assert "Mumbai" in prompt and "winter" in prompt and "no text" in prompt


@mock_aws
def test_s3_store_caches_images_and_serves_a_presigned_url(lake):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="aqicast-lake")
    s3.put_object(Bucket="aqicast-lake", Key="serving/latest.json", Body=open(lake.path("serving/latest.json"), "rb").read())
    client = TestClient(create_app(ForecastService(S3Store("s3://aqicast-lake", client=s3))))
    r = client.get("/v1/forecast/Mumbai/image", follow_redirects=False)
    assert r.status_code == 307 and "aqicast-lake" in r.headers["location"] and "Signature" in r.headers["location"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="aqicast-lake", Prefix="serving/images/")["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("serving/images/date=2019-01-11/") and keys[0].endswith(".png")


def test_lambda_handler_under_an_api_gateway_event(lake, monkeypatch):
    import importlib

    monkeypatch.setenv("AQICAST_SERVING_ROOT", lake.root)
    monkeypatch.setenv("AQICAST_BACKEND", "local")
    import include.serving.lambda_handler as lh

    lh = importlib.reload(lh)
    event = {
        "version": "2.0", "routeKey": "GET /v1/forecast/{city}", "rawPath": "/v1/forecast/Delhi", "rawQueryString": "",
        "headers": {"host": "abc123.execute-api.us-east-1.amazonaws.com", "accept": "application/json"},
        "requestContext": {"accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                           "http": {"method": "GET", "path": "/v1/forecast/Delhi", "protocol": "HTTP/1.1",
                                    "sourceIp": "203.0.113.9", "userAgent": "test"},
                           "requestId": "id", "routeKey": "GET /v1/forecast/{city}", "stage": "$default",
                           "time": "28/Nov/2026:19:00:00 +0000", "timeEpoch": 1795892400000},
        "pathParameters": {"city": "Delhi"}, "isBase64Encoded": False,
    }
    resp = lh.handler(event, None)
    assert resp["statusCode"] == 200
    assert json.loads(resp["body"])["city"] == "Delhi"
    bad = lh.handler({**event, "rawPath": "/v1/forecast/Dellhi", "requestContext": {**event["requestContext"], "http": {
        **event["requestContext"]["http"], "path": "/v1/forecast/Dellhi"}}}, None)
    assert bad["statusCode"] == 404 and "Delhi" in json.loads(bad["body"])["suggestions"]


def test_the_lambda_handler_imports_nothing_heavy(lake):
    """Cold start: the handler must not import pandas, pyarrow, numpy or a model library."""
    import os
    import subprocess
    import sys

    code = ("import sys, include.serving.lambda_handler\n"
            "print(sorted(m for m in ('pandas', 'pyarrow', 'numpy', 'sklearn', 'lightgbm', 'flaml', 'PIL')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "AQICAST_SERVING_ROOT": lake.root, "AQICAST_BACKEND": "local"})
    assert out.stdout.strip().splitlines()[-1] == "[]"
