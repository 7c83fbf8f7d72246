"""The API under load and in bad state.

* Load (bench/serve_load.py, short): a real ``aqicast serve`` subprocess on 127.0.0.1, 2,000
  requests at concurrency 16, while ``serving/latest.json`` is replaced every 0.1 s (two good
  versions and a truncated one; TTL 0.05 s): zero 5xx, zero transport errors, both versions served,
  no traceback in the server's log. Latencies are printed, never asserted. The full run is
  ``python bench/serve_load.py`` (20,000 requests at concurrency 32).
* Bad state (in-process, TestClient raises on any 500): a missing, corrupt, truncated or wrongly
  shaped snapshot gives 503 with a readable JSON detail; after a good snapshot, a bad one keeps the
  last good one served (and logs a warning); a good one afterwards is picked up.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bench.serve_load import run_load, summary
from include.serving.app import create_app
from include.serving.service import ForecastService
from include.serving.store import LocalStore

LATEST = "serving/latest.json"


@pytest.fixture(scope="module")
def serving_lake(tmp_path_factory, lake_cache):
    from tests.sample_lakes import build_serving_lake

    return build_serving_lake(tmp_path_factory.mktemp("serving") / "lake", days=2, cache=lake_cache)


@pytest.fixture(scope="module")
def good(serving_lake) -> bytes:
    return (Path(serving_lake) / LATEST).read_bytes()


def test_load_while_the_snapshot_is_replaced(serving_lake, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(serving_lake, lake)
    report = run_load(str(lake), requests=2000, concurrency=16, ttl_s=0.05, replace_every=0.1, corrupt=True,
                      max_s=90, log_path=tmp_path / "server.log")
    print("\n" + summary(report))
    assert report["count_5xx"] == 0, report["examples_5xx"]
    assert report["transport_errors"] == 0, report["examples_errors"]
    assert set(report["statuses"]) <= {200, 404}  # 404: the unknown city in the mix
    assert report["requests"] == 2000 and not report["time_bounded"]
    assert report["replacements"] >= 3 and len(report["served_issued_from"]) == 2  # re-read after the TTL
    assert report["server_tracebacks"] == 0
    assert report["server_warnings"] >= 1  # the truncated versions were noticed, and the last good one kept


def client_on(root, ttl_s: float = 0.0) -> TestClient:
    return TestClient(create_app(ForecastService(LocalStore(root), ttl_s=ttl_s)))


def assert_503(client: TestClient, *words: str) -> None:
    for path in ("/v1/forecast/Delhi", "/v1/cities"):
        r = client.get(path)
        assert r.status_code == 503 and r.headers["content-type"] == "application/json", r.text
        detail = r.json()["detail"]
        assert "\n" not in detail and "Traceback" not in detail
        assert all(w in detail for w in words), detail
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["cities"] == 0 and health.json()["detail"]


def corrupt_versions(good: bytes) -> dict[str, tuple[bytes, str]]:
    snap = json.loads(good)
    city = snap["cities"][0]
    shaped = lambda **kw: json.dumps({**snap, **kw}).encode()  # noqa: E731
    one_city = lambda **kw: shaped(cities=[{**city, **kw}])  # noqa: E731
    no_key = {k: v for k, v in city.items() if k != "aqi_pred"}
    return {
        "truncated": (good[: len(good) // 2], "not valid JSON"),
        "empty": (b"", "not valid JSON"),
        "garbage": (b"PAR1\x15\x04\x15 binary", "not valid JSON"),
        "not utf-8": (b"\xff\xfe{", "not UTF-8"),
        "a list": (b"[1, 2]", "not an object"),
        "no cities": (json.dumps({k: v for k, v in snap.items() if k != "cities"}).encode(), "'cities' is missing"),
        "cities not a list": (shaped(cities={"Delhi": 1}), "'cities' is missing or not a list"),
        "no issued_from": (json.dumps({k: v for k, v in snap.items() if k != "issued_from"}).encode(), "issued_from"),
        "city without aqi": (shaped(cities=[no_key]), "cities[0].aqi_pred"),
        "aqi as text": (one_city(aqi_pred="high"), "cities[0].aqi_pred"),
        "fractional aqi": (one_city(aqi_pred=57.5), "non-integer AQI"),
        "bad history": (one_city(history=[["2019-01-11"]]), "history"),
        "city not an object": (shaped(cities=["Delhi"]), "cities[0] is not an object"),
    }


def test_no_snapshot_gives_503(tmp_path):
    assert_503(client_on(tmp_path / "lake"), "no forecasts have been published yet")


CASES = ["truncated", "empty", "garbage", "not utf-8", "a list", "no cities", "cities not a list", "no issued_from",
         "city without aqi", "aqi as text", "fractional aqi", "bad history", "city not an object"]


@pytest.mark.parametrize("case", CASES)
def test_bad_snapshot_without_a_good_one_gives_503(tmp_path, good, case):
    data, words = corrupt_versions(good)[case]
    (tmp_path / "serving").mkdir()
    (tmp_path / LATEST).write_bytes(data)
    assert_503(client_on(tmp_path), LATEST, words)


def test_unreadable_snapshot_gives_503(tmp_path):
    (tmp_path / LATEST).mkdir(parents=True)  # a folder where the file should be
    assert_503(client_on(tmp_path), LATEST, "could not be read", "IsADirectoryError")


def test_bad_snapshot_after_a_good_one_keeps_the_last_good(tmp_path, good, caplog):
    (tmp_path / "serving").mkdir()
    path = tmp_path / LATEST
    path.write_bytes(good)
    client = client_on(tmp_path)
    first = client.get("/v1/forecast/Delhi")
    assert first.status_code == 200
    versions = corrupt_versions(good)
    assert sorted(versions) == sorted(CASES)
    for case, (data, words) in versions.items():
        path.write_bytes(data)
        with caplog.at_level(logging.WARNING, logger="include.serving.service"):
            caplog.clear()
            r = client.get("/v1/forecast/Delhi")
            assert r.status_code == 200 and r.json() == first.json(), case
            assert client.get("/health").json()["issued_from"] == first.json()["issued_from"]
        assert any(words in m and "still serving the last good snapshot" in m for m in caplog.messages), \
            (case, caplog.messages)
        path.write_bytes(good)  # the good one back: the next bad publication warns again
        assert client.get("/health").json()["issued_from"] == first.json()["issued_from"]
    path.unlink()  # gone: still the last good one
    assert client.get("/v1/forecast/Delhi").status_code == 200
    newer = {**json.loads(good), "issued_from": "2019-01-12", "forecast_date": "2019-01-13"}
    path.write_text(json.dumps(newer))  # a good one again: picked up
    assert client.get("/v1/forecast/Delhi").json()["issued_from"] == "2019-01-12"


def test_ttl_comes_from_the_environment(monkeypatch, tmp_path):
    from include import config
    from include.serving.app import service_from_settings

    monkeypatch.setenv("AQICAST_SNAPSHOT_TTL_S", "0.25")
    monkeypatch.setenv("AQICAST_LAKE", str(tmp_path))
    assert service_from_settings(config.load()).ttl_s == 0.25
    monkeypatch.delenv("AQICAST_SNAPSHOT_TTL_S")
    assert service_from_settings(config.load()).ttl_s == 60.0
    assert ForecastService(LocalStore(tmp_path)).ttl_s == 60.0


def test_a_bad_snapshot_is_logged_once_not_per_request(tmp_path, serving_lake, good, caplog):
    # the snapshot with its names document, as the forecast step publishes them
    shutil.copytree(Path(serving_lake) / "serving" / "names", tmp_path / "serving" / "names")
    path = tmp_path / LATEST
    path.write_bytes(good)
    client = client_on(tmp_path)
    assert client.get("/v1/forecast/Delhi").status_code == 200
    path.write_bytes(good[:100])
    with caplog.at_level(logging.WARNING, logger="include.serving.service"):
        for _ in range(20):
            assert client.get("/v1/forecast/Delhi").status_code == 200
    assert len(caplog.records) == 1 and caplog.records[0].levelname == "WARNING"
