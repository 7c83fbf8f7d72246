"""Property-based tests of the API against its own OpenAPI document (Schemathesis, in process over
ASGI, offline) on a test lake of real forecasts: no input makes it answer 5xx, and every answer
matches the documented status codes, content types and schemas."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from include.serving.app import create_app
from include.serving.service import ForecastService
from include.serving.store import LocalStore, Store


class _LakeStore(Store):
    """The app (and its OpenAPI document) exist at import, as ``schema.parametrize`` needs; the lake
    behind it is built by the fixture below, only when the tests run. (``schemathesis.pytest.
    from_fixture`` would be the natural way, but 4.x reads a private attribute pytest 9 removed.)"""

    inner: Store | None = None

    def get(self, key):
        assert self.inner is not None, "the test lake is not built yet"
        return self.inner.get(key)

    def put(self, key, data, content_type):
        return self.inner.put(key, data, content_type)

    def url(self, key):
        return self.inner.url(key)


STORE = _LakeStore()
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(ForecastService(STORE)))


@pytest.fixture(scope="module", autouse=True)
def lake(tmp_path_factory, lake_cache):
    from tests.sample_lakes import build_serving_lake

    STORE.inner = LocalStore(build_serving_lake(tmp_path_factory.mktemp("schema") / "lake", cache=lake_cache))
    yield STORE.inner
    STORE.inner = None


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case):
    # All of Schemathesis' checks but one: "positive data acceptance" expects every schema-valid input
    # to be accepted, while a city name's rules (1 to 80 characters once trimmed, the characters place
    # names have) are the service's, answered with a documented 400 and a message, not a 422.
    response = case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])
    assert response.status_code < 500, (response.status_code, response.text)


def test_the_document_covers_the_api():
    paths = set(schema.raw_schema["paths"])
    assert {"/health", "/v1/cities", "/v1/forecast/{city}", "/v1/forecast/{city}/image"} <= paths


def test_real_cities_conform_too(lake):
    """Random strings are nearly never a city: call every operation with the lake's real cities as well
    (names in other cases and with spaces, ids, prefixes), so the 200 answers are validated too."""
    import json

    cities = json.loads(lake.get("serving/latest.json"))["cities"]
    forecast, image = schema["/v1/forecast/{city}"]["GET"], schema["/v1/forecast/{city}/image"]["GET"]
    listing = schema["/v1/cities"]["GET"]
    for c in cities:
        for name in (c["city"], c["city"].upper(), f" {c['city'].lower()} ", str(c["city_id"])):
            response = forecast.Case(path_parameters={"city": name}).call_and_validate()
            assert response.status_code == 200 and response.json()["city_id"] == c["city_id"], name
        found = listing.Case(query={"prefix": c["city"][:3], "limit": 100}).call_and_validate().json()
        assert c["city_id"] in [f["city_id"] for f in found]
    for c in cities[:2]:
        response = image.Case(path_parameters={"city": c["city"]}).call_and_validate()
        assert response.status_code == 200 and response.content[:8] == b"\x89PNG\r\n\x1a\n"
