"""The daily DAG on the local backend through ``dag.test()`` (the same code path as ``make run``):
the whole pipeline succeeds and writes every table; rerunning a range (what a backfill does) gives
the same partitions."""
from __future__ import annotations

import datetime as dt
import hashlib
import shutil

import pandas as pd
import pendulum
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def history(tmp_path_factory, lake_cache):
    """A month of curated history, as the bootstrap of `make run` leaves it."""
    from tests.sample_lakes import ingest_sample

    return ingest_sample(tmp_path_factory.mktemp("daglocal") / "lake", (dt.date(2015, 1, 1), dt.date(2015, 1, 29)),
                         cache=lake_cache)


@pytest.fixture
def lake(history, tmp_path, monkeypatch):
    from include.lake import Lake

    root = tmp_path / "lake"
    shutil.copytree(history.root, root)
    monkeypatch.setenv("AQICAST_LAKE", str(root))
    monkeypatch.setenv("AQICAST_TASK_RETRIES", "0")
    monkeypatch.setenv("AQICAST_BACKEND", "local")
    monkeypatch.setenv("AQICAST_EVAL_DAYS", "7")       # short windows for a month of data (settings are
    monkeypatch.setenv("AQICAST_MIN_TRAIN_ROWS", "10")  # loaded by each task, like on MWAA)
    return Lake(str(root))


_RUNS = iter(range(1, 10_000))


def run(day: dt.date, conf: dict):
    """A DAG run for partition ``day``. Each call gets its own logical date (a minute apart) and
    names the partition with the ``date`` Param, as a manual re-run would: re-using one logical date
    in a test DB makes Airflow delete and re-create the run, which SQLite's foreign keys dislike."""
    from tests.sample_lakes import daily_dag_for_test
    from tests.test_dags import migrate

    migrate()
    dag = daily_dag_for_test()
    logical = pendulum.datetime(day.year, day.month, day.day, tz="UTC").add(minutes=next(_RUNS))
    return dag.test(logical_date=logical, run_conf={**conf, "date": day.isoformat()})


def test_daily_run_end_to_end(lake):
    day = dt.date(2015, 1, 29)
    dag_run = run(day, {"retrain": "force", "train_budget_s": 5})
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "success", states
    # One graph per backend: what runs is what the graph shows, nothing of the aws path.
    assert states == {t: "success" for t in ("resolve_partition", "ingest.crawl", "ingest.etl", "quality_gate",
                                             "retrain_policy", "train.train_flaml", "deploy.publish_champion",
                                             "forecast")}
    for table in ("curated/air_quality_daily", "features/city_daily", "forecasts/city_daily"):
        assert lake.has_partition(table, day), table
    assert lake.exists(lake.path("quality", f"date={day}", "results.json"))
    assert lake.exists(lake.path("_runs/manifest", f"date={day}.json"))
    from include.training.registry import LocalRegistry

    (version,) = LocalRegistry(lake).versions()
    assert version.status in ("Approved", "Rejected") and version.description
    fc = lake.read_partition("forecasts/city_daily", day)
    assert fc["city"].tolist() == ["Beijing"] and fc["forecast_date"].tolist() == ["2015-01-30"]
    pointer = lake.read_json(lake.path("serving/champion.json"))
    assert pointer["version"] == (1 if version.status == "Approved" else None)


def digest(lake) -> dict[str, str]:
    """Every data partition's content (forecasts without their issue time)."""
    from pathlib import Path

    out = {}
    for p in sorted(Path(lake.root).rglob("*.parquet")):
        rel = str(p.relative_to(lake.root))
        if rel.startswith("forecasts/"):
            out[rel] = pd.read_parquet(p).drop(columns=["issued_at"]).to_json()
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_rerunning_a_range_is_idempotent(lake):
    days = [dt.date(2015, 1, 27), dt.date(2015, 1, 28)]
    for d in days:
        assert run(d, {"retrain": "skip", "reprocess_days": 1}).state == "success"
    first = digest(lake)
    for d in days:
        assert run(d, {"retrain": "skip", "reprocess_days": 1}).state == "success"
    assert digest(lake) == first
    assert any(k.startswith("forecasts/city_daily/date=2015-01-28") for k in first)
    assert not list(__import__("pathlib").Path(lake.root).rglob(".tmp-*"))


def test_a_failed_quality_gate_fails_the_run_and_publishes_nothing(lake):
    day = dt.date(2015, 1, 28)
    from include.catalog import FEATURES, FORECASTS, SNAPSHOT_LATEST

    # A broken upstream: the partition the gate checks has an impossible AQI. The history already has
    # the day's partitions (the broken run replaces them) and no forecast, so anything published
    # would be this run's.
    assert lake.has_partition(FEATURES, day) and not lake.has_partition(FORECASTS, day)
    import include.etl.pipeline as pipeline

    original = pipeline.air_quality_daily

    def broken(measurements, d, **kw):
        out = original(measurements, d, **kw)
        out["aqi"] = 999.0
        return out

    pipeline.air_quality_daily = broken
    try:
        dag_run = run(day, {"retrain": "skip"})
    finally:
        pipeline.air_quality_daily = original
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "failed" and states["quality_gate"] == "failed"
    assert [t for t, state in states.items() if state == "failed"] == ["quality_gate"]  # nothing else is red
    assert states["forecast"] == "upstream_failed"
    results = lake.read_json(lake.path("quality", f"date={day}", "results.json"))
    assert results["success"] is False and "aqi" in results["summary"]
    assert lake.has_partition(FEATURES, day)
    assert not lake.has_partition(FORECASTS, day) and not lake.exists(lake.path(SNAPSHOT_LATEST))
