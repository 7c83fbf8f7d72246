"""Lakes built from the in-repo sample for tests and benchmarks (no side effects on import):
``ingest_sample`` runs the ETL over date ranges; ``build_serving_lake`` adds forecasts for the
serving tests (web page, API schema) and the API bench: eight days of the Indian cities, then the
forecast step, which publishes ``serving/latest.json`` (no champion yet: persistence, a fallback)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

SAMPLE_RAW = Path(__file__).resolve().parent.parent / "data" / "sample" / "raw"
DAY = dt.date(2019, 1, 11)


def local_backend(root, *, group: str | None = None, **training):
    """The local backend on the lake at ``root`` and the in-repo sample, with the model group and
    training settings a test needs (e.g. ``eval_days=7``)."""
    from include import config
    from include.backends import build

    base = config.Settings()
    settings = base.replace(local_lake=str(root), local_raw_root=str(SAMPLE_RAW),
                            model_group=group or base.model_group,
                            training=base.training.__class__(**{**base.training.__dict__, **training}))
    return build(settings)


def ingest_sample(root, *ranges):
    """A lake at ``root`` with the ETL (curated tables, features) run over each inclusive
    ``(start, end)`` date range of the in-repo sample, in date order (the CLI's and the DAG's
    ETL step, ``app.ingest.etl``)."""
    from include.app import ingest

    backend = local_backend(root)
    for start, end in ranges:
        ingest.etl(backend, ingest.date_range(start, end))
    return backend.lake


def two_country_serving_lake(root, days: int, beijing: dt.date, india: dt.date):
    """The sample's Beijing and Indian days, ``days`` of history before each, forecast for both
    days: India's day is the latest snapshot, Beijing's an older snapshot of its own."""
    from include.app.forecasting import forecast

    lake = ingest_sample(root, (beijing - dt.timedelta(days=days), beijing), (india - dt.timedelta(days=days), india))
    backend = local_backend(lake.root)
    forecast(backend, india)    # no champion: persistence, marked as a fallback
    forecast(backend, beijing)  # an older day: must not replace the latest snapshot
    return lake


def build_serving_lake(root: str | Path, day: dt.date = DAY, days: int = 8) -> str:
    from include.app import forecasting

    lake = ingest_sample(root, (day - dt.timedelta(days=days - 1), day))
    forecasting.forecast(local_backend(lake.root), day)
    return lake.root


def daily_dag_for_test():
    """The daily DAG as dag.test() runs it in a test: depends_on_past off, as ``aqicast run`` does
    (dag.test has no way out of a past dependency on an earlier failed run of another test; the
    scheduler-backed backfill test covers depends_on_past)."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(Path(__file__).resolve().parent.parent / "dags")).get_dag("aqicast_daily")
    for t in dag.tasks:
        t.depends_on_past = False
    return dag
