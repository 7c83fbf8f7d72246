"""Every table and document of the lake, by name: the one place a lake path is spelled.

Pure constants and string functions (no pandas), so the DAG file, the API and the Lambda may
import it. Tables are partitioned by day: ``<lake>/<table>/date=YYYY-MM-DD/part-00000.parquet``.
"""
from __future__ import annotations

import datetime as dt

# -- curated tables (ETL) ----------------------------------------------------------------------
AIR_QUALITY = "curated/air_quality_daily"        # one row per location and local day
WEATHER = "curated/weather_daily"                # one row per GSOD station and UTC day
MEASUREMENTS = "curated/measurements_hourly"     # the accepted values behind the daily rows
PROFILE = "curated/city_hourly_profile"          # per city, how the local day ended
QUARANTINE = "quarantine"                        # quarantine/<source>: rejected rows + reason

# -- features, forecasts ---------------------------------------------------------------------------
FEATURES = "features/city_daily"                 # per city and day, with the next-day target
FORECASTS = "forecasts/city_daily"               # per city: tomorrow's AQI issued from D

# -- documents ---------------------------------------------------------------------------------------
ETL_RUNS = "_runs/etl"                           # _runs/etl/date=D.json: the ETL's run report
MANIFESTS = "_runs/manifest"                     # _runs/manifest/date=D.json: the local crawler's list
RETRAIN = "_runs/retrain"                        # _runs/retrain/date=D.json: the retrain decision and why
QUALITY = "quality"                              # quality/date=D/results.json, quality/docs/
REGISTRY = "registry"                            # registry/<group>/v<NNNN>/ (local registry)
CHAMPION_POINTER = "serving/champion.json"       # the local "endpoint": which version serves
SNAPSHOT_LATEST = "serving/latest.json"          # what the API reads
SNAPSHOTS = "serving/forecasts"                  # serving/forecasts/date=D.json
IMAGES = "serving/images"                        # serving/images/date=D/<city_id>[.<scale>.<lang>].png
NAMES = "serving/names"                          # serving/names/<digest>.json: city names, all scripts


def _day(day: dt.date | str) -> str:
    return day if isinstance(day, str) else day.isoformat()


def quarantine(source: str) -> str:
    return f"{QUARANTINE}/{source}"


def run_report(day: dt.date | str) -> str:
    return f"{ETL_RUNS}/date={_day(day)}.json"


def manifest(day: dt.date | str) -> str:
    return f"{MANIFESTS}/date={_day(day)}.json"


def retrain_decision(day: dt.date | str) -> str:
    return f"{RETRAIN}/date={_day(day)}.json"


def quality_results(day: dt.date | str) -> str:
    return f"{QUALITY}/date={_day(day)}/results.json"


def snapshot(day: dt.date | str) -> str:
    return f"{SNAPSHOTS}/date={_day(day)}.json"


def share_image(day: dt.date | str, city_id: int, scale: str = "us", lang: str = "en") -> str:
    """Keyed by the gazetteer's numeric id, never by a name a user typed; ``scale`` and ``lang``
    are codes from fixed lists (checked here), the US/English image keeps the plain name."""
    if not (scale.isalnum() and lang.replace("-", "").isalnum()):
        raise ValueError(f"bad scale or language code: {scale!r}, {lang!r}")
    suffix = "" if (scale, lang) == ("us", "en") else f".{scale}.{lang}"
    return f"{IMAGES}/date={_day(day)}/{int(city_id)}{suffix}.png"


def names_document(digest: str) -> str:
    """The city-names document a snapshot points to (content-addressed: never rewritten)."""
    if not digest.isalnum():
        raise ValueError(f"bad names digest {digest!r}")
    return f"{NAMES}/{digest}.json"


# -- the artifacts bucket and the raw sources (the infrastructure's lifecycle rules and IAM policies
# are written from these, infra/stacks) -------------------------------------------------------------
ARTIFACTS_GLUE = "glue"            # <artifacts>/glue/: the Glue job script and packages
ARTIFACTS_AUTOPILOT = "autopilot"  # <artifacts>/autopilot/<job>/: Autopilot's CSVs and output (scratch)
ARTIFACTS_MODELS = "models"        # <artifacts>/models/: registered model artifacts
#: The public buckets the crawler and the ETL read (``s3://<bucket>/...`` under the raw root).
RAW_BUCKETS = ("openaq-fetches", "noaa-gsod-pds", "openaq-data-archive")
