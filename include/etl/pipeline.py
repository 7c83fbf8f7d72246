"""The ETL for one logical date D: discover raw objects, read, clean, write D's partitions.

Outputs (each replaced atomically, so reruns and backfills are idempotent):

- ``curated/air_quality_daily/date=D/``  one row per location and local day D
- ``curated/weather_daily/date=D/``      one row per GSOD station and UTC day D
- ``curated/measurements_hourly/date=D/`` the accepted measurements behind the daily rows (AQI units)
- ``curated/city_hourly_profile/date=D/`` per city, how D ended (evening windows of the hourly values)
- ``quarantine/<source>/date=D/``        every rejected row with its reason (written even if empty)
- ``features/city_daily/date=D/`` (and D-1) one row per city: features and next-day target
- ``_runs/etl/date=D.json``               what was read, rejected, ignored and which objects failed;
  per source an ``accounting`` of every data line read (``ReadResult.accounting_report``)

Both backends run this same function: in-process on ``local``, inside the Glue job on ``aws``
(``include/glue_job.py``).
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Callable

from include.etl import gsod, openaq_archive, openaq_fetches
from include.etl.cities import coverage
from include.etl.daily import air_quality_daily
from include.catalog import AIR_QUALITY, MEASUREMENTS, PROFILE, WEATHER, quarantine, run_report
from include.config import EtlRules
from include.etl.features import build_features, hourly_city_features
from include.etl.rawio import RawRoot, ReadResult
from include.lake import Lake

log = logging.getLogger(__name__)

MEASUREMENT_COLUMNS = ["source", "location_id", "parameter", "unit", "value", "period_hours", "start_local"]

READERS: dict[str, tuple[Callable[[RawRoot, dt.date], list[str]], Callable[..., ReadResult]]] = {
    gsod.SOURCE: (gsod.discover, gsod.read_gsod_day),
    openaq_archive.SOURCE: (openaq_archive.discover, openaq_archive.read_archive_day),
    openaq_fetches.SOURCE: (openaq_fetches.discover, openaq_fetches.read_fetches_day),
}


def discover(raw: RawRoot, day: dt.date) -> dict[str, list[str]]:
    """The raw objects each source would read for ``day`` (the local backend's "crawler")."""
    return {source: find(raw, day) for source, (find, _) in READERS.items()}


def run_etl(day: dt.date, lake: Lake, raw: RawRoot, manifest: dict[str, list[str]] | None = None,
            with_features: bool = True, rules: EtlRules = EtlRules()) -> dict:
    """Run the ETL for ``day`` and return the run report (also written to ``_runs/etl``).

    With ``with_features`` it also builds the feature partitions of D and D-1 (whose target, the
    AQI of D, is now known)."""
    import pandas as pd

    t0 = time.perf_counter()
    manifest = manifest or discover(raw, day)
    results: dict[str, ReadResult] = {}
    for source, (_, read) in READERS.items():
        t = time.perf_counter()
        results[source] = read(raw, day, manifest.get(source, []), rules=rules)
        log.info("%s %s: %d rows in %.2fs", day, source, len(results[source].data), time.perf_counter() - t)

    measurements = pd.concat(
        [r.data for s, r in results.items() if s != gsod.SOURCE and len(r.data)], ignore_index=True
    ) if any(len(r.data) for s, r in results.items() if s != gsod.SOURCE) else None
    aq = air_quality_daily(measurements, day, rules=rules) if measurements is not None else air_quality_daily_empty()
    weather = results[gsod.SOURCE].data

    lake.write_partition(AIR_QUALITY, day, aq)
    lake.write_partition(MEASUREMENTS, day, measurements[MEASUREMENT_COLUMNS] if measurements is not None
                         else pd.DataFrame(columns=MEASUREMENT_COLUMNS))
    lake.write_partition(PROFILE, day, hourly_city_features(measurements, aq, day))
    lake.write_partition(WEATHER, day, weather)
    for source, result in results.items():
        lake.write_partition(quarantine(source), day, result.quarantine)

    report = {
        "date": day.isoformat(),
        "seconds": round(time.perf_counter() - t0, 3),
        "outputs": {"air_quality_daily": len(aq), "weather_daily": len(weather)},
        "cities": coverage(aq),
        "sources": {
            source: {
                "objects_read": r.files,
                "rows_kept": len(r.data),
                "rows_quarantined": len(r.quarantine),
                "rows_ignored": sum(r.ignored.values()),
                "ignored_parameters": r.ignored,
                "failed_objects": [f.as_dict() for f in r.failures],
                "quarantine_reasons": _reason_counts(r.quarantine),
                "accounting": r.accounting_report(),
            }
            for source, r in results.items()
        },
    }
    report["failed_objects"] = sum(len(r.failures) for r in results.values())
    if with_features:
        report["features"] = build_features(lake, day, rules=rules)
    lake.write_json(lake.path(run_report(day)), report)
    for r in results.values():
        for f in r.failures:
            log.error("%s: object failed and was skipped: %s", day, f.error)
    return report


def _reason_counts(q) -> dict[str, int]:
    if q is None or q.empty:
        return {}
    # Group messages by their fixed part ("value above physical plausibility: 2000 ..." -> "value above ...").
    return {str(k): int(v) for k, v in q["reason"].str.split(":").str[0].value_counts().items()}


def air_quality_daily_empty():
    from include.etl.daily import empty_frame

    return empty_frame()
