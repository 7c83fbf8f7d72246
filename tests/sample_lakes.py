"""Lakes built from the in-repo sample for tests and benchmarks (no side effects on import):
``ingest_sample`` runs the ETL over date ranges; ``build_serving_lake`` adds forecasts for the
serving tests (web page, API schema) and the API bench: eight days of the Indian cities, then the
forecast step, which publishes ``serving/latest.json`` (no champion yet: persistence, a fallback)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

SAMPLE_RAW = Path(__file__).resolve().parent.parent / "data" / "sample" / "raw"
DAY = dt.date(2019, 1, 11)


def ingest_sample(root, *ranges):
    """A lake at ``root`` with the ETL (curated tables, features) run over each inclusive
    ``(start, end)`` date range of the in-repo sample, in date order."""
    from include.etl.pipeline import run_etl
    from include.etl.rawio import RawRoot
    from include.lake import Lake

    lake, raw = Lake(str(root)), RawRoot(str(SAMPLE_RAW))
    for start, end in ranges:
        for k in range((end - start).days + 1):
            run_etl(start + dt.timedelta(days=k), lake, raw)
    return lake


def build_serving_lake(root: str | Path, day: dt.date = DAY, days: int = 8) -> str:
    from include.training.forecast import forecast
    from include.training.registry import LocalRegistry

    lake = ingest_sample(root, (day - dt.timedelta(days=days - 1), day))
    forecast(lake, LocalRegistry(lake), day)
    return lake.root
