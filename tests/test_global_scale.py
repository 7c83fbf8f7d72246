"""The whole daily DAG on a small multi-country history (``bench/global_history.py``: 300 locations
around 30 cities in 7 countries, plus the real 2018 fetch object's locations, 10 days in the real raw
formats, generated here): the gate passes, every city with data gets a forecast and the API serves
each of them; a damaged day fails the gate with a readable reason. Timings live in
``bench/global_daily_bench.py``, never here."""
from __future__ import annotations

import datetime as dt
import gzip
import shutil

import pendulum
import pytest

pytestmark = pytest.mark.slow

START, DAYS = dt.date(2024, 2, 1), 10
LAST = START + dt.timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The generated raw root and a lake with the ETL of every day but the last (the history the
    daily run of the last day finds)."""
    from bench.global_history import generate_history
    from include import config
    from include.app import ingest
    from include.backends import build

    base = tmp_path_factory.mktemp("world")
    info = generate_history(base / "raw", START, DAYS, locations=300, seed=11, cities=30, stations=90,
                            fetch_records=600)
    backend = build(config.Settings().replace(local_lake=str(base / "lake"), local_raw_root=info["raw_root"]))
    ingest.etl(backend, ingest.date_range(START, LAST - dt.timedelta(days=1)), jobs=2)
    return info, backend.lake


@pytest.fixture(scope="module")
def daily_run(world, tmp_path_factory):
    """The DAG run of the last day (forced training with a tiny FLAML budget), as ``aqicast run`` does."""
    from tests.sample_lakes import daily_dag_for_test
    from tests.test_dags import migrate

    info, lake = world
    env = {"AQICAST_LAKE": lake.root, "AQICAST_RAW_ROOT": info["raw_root"], "AQICAST_BACKEND": "local",
           "AQICAST_TASK_RETRIES": "0", "AQICAST_EVAL_DAYS": "3", "AQICAST_MIN_TRAIN_ROWS": "10"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        migrate()
        dag = daily_dag_for_test()
        run = dag.test(logical_date=pendulum.datetime(LAST.year, LAST.month, LAST.day, tz="UTC"),
                       run_conf={"date": LAST.isoformat(), "retrain": "force", "train_budget_s": 5})
    return run


def test_the_daily_dag_forecasts_every_city_of_a_world_history(world, daily_run):
    from include import catalog

    info, lake = world
    states = {ti.task_id: ti.state for ti in daily_run.get_task_instances()}
    assert daily_run.state == "success", states
    assert set(states.values()) == {"success"}, states
    results = lake.read_json(lake.path(catalog.quality_results(LAST)))
    assert results["success"] is True, results["summary"]

    # The city rule at world scale, per day in the run report: located monitors, and why the rest are not.
    report = lake.read_json(lake.path(catalog.run_report(LAST)))
    cities = report["cities"]
    assert cities["with_city"] + sum(cities["without_city"].values()) == cities["locations"]
    assert cities["without_city"]["outside_every_catchment"] >= 1  # the generator's remote monitors
    assert cities["with_city"] >= 0.9 * info["locations"]["around_cities"]

    features = lake.read_partition(catalog.FEATURES, LAST)
    forecasts = lake.read_partition(catalog.FORECASTS, LAST)
    with_data = set(features.loc[features["aqi"].notna(), "city_id"].astype(int))
    assert with_data <= set(forecasts["city_id"].astype(int))
    assert len(forecasts) == forecasts["city_id"].nunique()
    # Every generated city has data, so a forecast, and the fetch object's real cities too.
    generated = {c["city_id"] for c in info["cities"]}
    assert generated <= set(forecasts["city_id"].astype(int))
    assert len(set(forecasts["city_country"])) > len(info["countries"])
    assert (forecasts["method"] == "model").all() or (forecasts["method"] == "persistence").all()


def test_the_api_serves_every_forecast_city(world, daily_run):
    from fastapi.testclient import TestClient

    from include import catalog
    from include.serving.app import create_app
    from include.serving.service import ForecastService
    from include.serving.store import LocalStore

    _, lake = world
    forecasts = lake.read_partition(catalog.FORECASTS, LAST)
    client = TestClient(create_app(ForecastService(LocalStore(lake.root))))
    assert client.get("/health").json()["cities"] == len(forecasts)
    listed = client.get("/v1/cities", params={"limit": 100}).json()
    assert len(listed) == len(forecasts)
    for row in forecasts.itertuples():
        body = client.get(f"/v1/forecast/{int(row.city_id)}", params={"scale": "us"}).json()
        assert (body["city"], body["aqi"], body["forecast_date"]) == (row.city, row.aqi_pred, row.forecast_date)


def test_a_damaged_day_fails_the_gate_with_a_readable_reason(world, daily_run, tmp_path):
    """A third of the last day's archive objects arrive with every value at the -999 sentinel."""
    from include import catalog, config
    from include.app import ingest, quality
    from include.backends import build
    from include.quality.gate import QualityGateFailed

    info, lake = world
    raw = tmp_path / "raw"
    shutil.copytree(info["raw_root"], raw)
    shutil.copytree(lake.root, tmp_path / "lake")
    damaged = sorted(raw.glob(f"openaq-data-archive/records/csv.gz/*/*/*/location-*-{LAST:%Y%m%d}.csv.gz"))[::3]
    assert len(damaged) >= 90
    for path in damaged:
        lines = gzip.decompress(path.read_bytes()).decode().splitlines()
        path.write_bytes(gzip.compress(("\n".join([lines[0]] + [ln.rsplit(",", 1)[0] + ",-999.0" for ln in lines[1:]])
                                        + "\n").encode(), mtime=0))
    backend = build(config.Settings().replace(local_lake=str(tmp_path / "lake"), local_raw_root=str(raw)))
    ingest.crawl(backend, LAST)  # the damaged objects, as the DAG's crawl step lists them
    (report,) = ingest.etl(backend, [LAST])
    reasons = report["sources"]["openaq-archive"]["quarantine_reasons"]
    assert sum(n for reason, n in reasons.items() if reason.startswith("missing-value sentinel")) > 0
    with pytest.raises(QualityGateFailed) as failed:
        quality.gate(backend, LAST, data_docs=False)
    summary = str(failed.value)
    assert summary.startswith(f"Quality gate FAILED for {LAST}")
    (line,) = [ln for ln in summary.splitlines() if ln.startswith("CRITICAL")]
    assert "quarantine_share" in line and "more than 10% of a source's rows rejected" in line
    assert lake.read_json(lake.path(catalog.quality_results(LAST)))["success"] is True  # the original lake untouched


def test_the_history_is_deterministic_per_seed(tmp_path):
    """Same parameters, same bytes (every object); another seed, other values; a rerun is a cache hit."""
    import hashlib

    from bench.global_history import generate_history

    def digest(root):
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file() and p.name != "_generated.json"}

    kw = dict(locations=40, cities=8, stations=12, fetch_records=50)
    a = generate_history(tmp_path / "a", START, 2, seed=3, **kw)
    b = generate_history(tmp_path / "b", START, 2, seed=3, **kw)
    c = generate_history(tmp_path / "c", START, 2, seed=4, **kw)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")
    assert a["cities"] == b["cities"] and len(a["cities"]) == 8 and len(a["countries"]) >= 2
    assert generate_history(tmp_path / "a", START, 2, seed=3, **kw)["reused"] is True
    assert not a["reused"] and a["totals"]["archive_files"] > 0 and c["totals"]["fetch_records"] == 100
