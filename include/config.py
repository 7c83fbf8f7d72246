"""Run-time configuration: environment variables with documented defaults.

Everything here is cheap to import (no pandas/pyarrow), so DAG files may use it at parse time.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The in-repo sample of the production buckets (each top folder is one S3 bucket).
SAMPLE_RAW_ROOT = PROJECT_ROOT / "data" / "sample" / "raw"
#: Where the local backend keeps its lake unless told otherwise (git-ignored).
DEFAULT_LAKE_ROOT = PROJECT_ROOT / "var" / "lake"


def lake_root(value: str | None = None) -> str:
    """The lake root: a local folder or ``s3://bucket/prefix``."""
    return str(value or os.getenv("AQICAST_LAKE") or DEFAULT_LAKE_ROOT)


def raw_root(value: str | None = None) -> str:
    """The raw root: holds the source buckets as folders (``noaa-gsod-pds/``, ...), or ``s3://``."""
    return str(value or os.getenv("AQICAST_RAW_ROOT") or SAMPLE_RAW_ROOT)


def backend(value: str | None = None) -> str:
    name = (value or os.getenv("AQICAST_BACKEND") or "local").lower()
    if name not in ("local", "aws"):
        raise ValueError(f"AQICAST_BACKEND must be 'local' or 'aws', not {name!r}")
    return name


def _int(name: str, default: int) -> int:
    return int(os.getenv(name, default))


def _float(name: str, default: float) -> float:
    return float(os.getenv(name, default))


#: Hours a daily statistic needs (EPA: 75 % of 24).
MIN_HOURS = _int("AQICAST_MIN_HOURS", 18)
#: 8-hour windows a daily max-8h needs out of the 17 that fit in the local day (75 %).
MIN_8H_WINDOWS = _int("AQICAST_MIN_8H_WINDOWS", 13)
#: Hours an 8-hour window needs (EPA: 6 of 8).
MIN_HOURS_PER_8H = _int("AQICAST_MIN_HOURS_PER_8H", 6)
#: PM2.5 breakpoint table: "2024" (current) or "2012" (pre-May-2024).
PM25_TABLE = os.getenv("AQICAST_PM25_TABLE", "2024")
#: Negative concentrations down to this (in AQI units, e.g. -15 ug/m3) are instrument noise: kept
#: and counted as 0 by the AQI (EPA practice). Lower values are quarantined.
NEGATIVE_NOISE_FLOOR = _float("AQICAST_NEGATIVE_NOISE_FLOOR", -20.0)
#: City rule: a city's catchment radius, by population (see README "Cities").
METRO_POPULATION = _int("AQICAST_METRO_POPULATION", 1_000_000)
METRO_RADIUS_KM = _float("AQICAST_METRO_RADIUS_KM", 40.0)
CITY_RADIUS_KM = _float("AQICAST_CITY_RADIUS_KM", 15.0)


# --- AWS backend -------------------------------------------------------------------------------
# Names, roles and buckets. Each comes from the environment (AQICAST_<NAME>) or, at run time, from
# the Airflow Variable ``aqicast_<name>`` (lower case); the default is used when neither is set.
# No account id is written anywhere in the code: roles and images are configuration.
AWS_DEFAULTS = {
    "AWS_CONN_ID": "aws_default",
    "AWS_REGION": "us-east-1",
    "S3_LAKE": "s3://aqicast-lake",                 # the lake on the aws backend
    "S3_RAW_ROOT": "s3://",                         # the public source buckets themselves
    "ARTIFACTS": "s3://aqicast-artifacts",          # Glue script, Autopilot data, model artifacts
    "GLUE_JOB": "aqicast-etl",
    "GLUE_ROLE": "aqicast-glue",
    "GLUE_DATABASE": "aqicast_raw",
    "CRAWLER": "aqicast-raw-daily",
    "SAGEMAKER_ROLE_ARN": "",
    "MODEL_GROUP": "aqicast-next-day-aqi",
    "ENDPOINT": "aqicast-next-day-aqi",
    "SERVERLESS_MEMORY_MB": "2048",
    "SERVERLESS_MAX_CONCURRENCY": "5",
    "BEDROCK_IMAGE_MODEL": "amazon.nova-canvas-v1:0",
}


def setting(name: str) -> str:
    """An AWS setting: env ``AQICAST_<NAME>``, else Airflow Variable ``aqicast_<name>`` (only
    inside a running task; never at DAG-parse time), else the default."""
    env = os.getenv(f"AQICAST_{name}")
    if env is not None:
        return env
    try:  # pragma: no cover - needs a task context
        from airflow.sdk import Variable

        return Variable.get(f"aqicast_{name.lower()}", default=AWS_DEFAULTS[name])
    except Exception:  # noqa: BLE001 - outside Airflow, or no Variable backend
        return AWS_DEFAULTS[name]


def template(name: str) -> str:
    """The same setting as a Jinja template, for operator arguments rendered at run time."""
    fallback = os.getenv(f"AQICAST_{name}", AWS_DEFAULTS[name])
    return "{{ var.value.get('aqicast_%s', '%s') }}" % (name.lower(), fallback)


def lake_for(backend_name: str, value: str | None = None) -> str:
    """The lake root of a backend: ``AQICAST_LAKE`` locally, ``AQICAST_S3_LAKE`` on aws."""
    return lake_root(value) if backend_name == "local" else (value or setting("S3_LAKE"))
