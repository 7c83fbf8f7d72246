"""A small lake with real forecasts for the serving tests (web page, API schema) and the API bench:
the ETL over eight sample days of the Indian cities, then the forecast step, which publishes
``serving/latest.json`` (no champion yet, so persistence, marked as a fallback)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

SAMPLE_RAW = Path(__file__).resolve().parent.parent / "data" / "sample" / "raw"
DAY = dt.date(2019, 1, 11)


def build_serving_lake(root: str | Path, day: dt.date = DAY, days: int = 8) -> str:
    from include.etl.pipeline import run_etl
    from include.etl.rawio import RawRoot
    from include.lake import Lake
    from include.training.forecast import forecast
    from include.training.registry import LocalRegistry

    lake = Lake(str(root))
    raw = RawRoot(str(SAMPLE_RAW))
    for k in range(days - 1, -1, -1):
        run_etl(day - dt.timedelta(days=k), lake, raw)
    forecast(lake, LocalRegistry(lake), day)
    return lake.root
