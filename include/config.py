"""Typed settings, loaded once per command or task and passed in.

Every knob of the project is a field here, read from the environment (``AQICAST_<NAME>``) with a
documented default; nothing else in ``include/`` reads ``os.environ``. On the aws backend, inside
a running Airflow task, a name that is not in the environment may come from the Airflow Variable
``aqicast_<name>`` (lower case): the Airflow glue passes that lookup to :func:`load`.

Cheap to import (no pandas/pyarrow), so DAG files may use it at parse time.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable, Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The in-repo sample of the production buckets (each top folder is one S3 bucket).
SAMPLE_RAW_ROOT = PROJECT_ROOT / "data" / "sample" / "raw"
#: Where the local backend keeps its lake unless told otherwise (git-ignored).
DEFAULT_LAKE_ROOT = PROJECT_ROOT / "var" / "lake"
#: Derived files that are rebuilt when absent (the gazetteer frame, ``etl/cities.py``); git-ignored.
#: A read-only install just builds them in memory on every run.
CACHE_DIR = PROJECT_ROOT / "var" / "cache"
BACKENDS = ("local", "aws")


def _env(name: str, **kw):
    """A settings field read from ``AQICAST_<name>``."""
    return field(metadata={"env": name}, **kw)


@dataclass(frozen=True)
class EtlRules:
    """Cleaning, completeness and city rules of the ETL (README "AQI", "Cities")."""
    #: Hours a daily statistic needs (EPA: 75 % of 24).
    min_hours: int = _env("MIN_HOURS", default=18)
    #: 8-hour windows a daily max-8h needs out of the 17 that fit in the local day (75 %).
    min_8h_windows: int = _env("MIN_8H_WINDOWS", default=13)
    #: Hours an 8-hour window needs (EPA: 6 of 8).
    min_hours_per_8h: int = _env("MIN_HOURS_PER_8H", default=6)
    #: PM2.5 breakpoint table: "2024" (current) or "2012" (pre-May-2024).
    pm25_table: str = _env("PM25_TABLE", default="2024")
    #: Negative concentrations down to this (in AQI units, e.g. -15 ug/m3) are instrument noise:
    #: kept and counted as 0 by the AQI (EPA practice). Lower values are quarantined.
    negative_noise_floor: float = _env("NEGATIVE_NOISE_FLOOR", default=-20.0)
    #: City rule: a city's catchment radius, by population.
    metro_population: int = _env("METRO_POPULATION", default=1_000_000)
    metro_radius_km: float = _env("METRO_RADIUS_KM", default=40.0)
    city_radius_km: float = _env("CITY_RADIUS_KM", default=15.0)
    #: A city's weather: the mean of the ``weather_stations`` nearest GSOD stations within the radius.
    weather_radius_km: float = _env("WEATHER_RADIUS_KM", default=50.0)
    weather_stations: int = _env("WEATHER_STATIONS", default=3)


@dataclass(frozen=True)
class QualityRules:
    """Thresholds of the quality gate (README "Data quality")."""
    max_quarantine_share: float = _env("MAX_QUARANTINE_SHARE", default=0.10)
    warn_quarantine_share: float = _env("WARN_QUARANTINE_SHARE", default=0.02)
    max_row_drop: float = _env("MAX_ROW_DROP", default=0.5)          # critical beyond this
    warn_row_change: float = _env("WARN_ROW_CHANGE", default=0.2)    # warning beyond this
    min_fresh_share: float = _env("MIN_FRESH_SHARE", default=0.8)
    min_weather_share: float = _env("MIN_WEATHER_SHARE", default=0.5)
    #: Warn when the share of locations without a city rises by more than this against D-1.
    warn_city_share_jump: float = _env("WARN_CITY_SHARE_JUMP", default=0.05)


@dataclass(frozen=True)
class TrainingSettings:
    """Training, evaluation, retrain and promotion policies (README "Model")."""
    eval_days: int = _env("EVAL_DAYS", default=30)
    min_train_rows: int = _env("MIN_TRAIN_ROWS", default=60)
    time_budget_s: float = _env("TRAIN_BUDGET_S", default=60.0)
    estimators: str = _env("ESTIMATORS", default="lgbm")    # comma-separated FLAML estimators
    seed: int = _env("SEED", default=7)
    max_model_age_days: int = _env("MAX_MODEL_AGE_DAYS", default=30)
    degrade_tolerance: float = _env("DEGRADE_TOLERANCE", default=0.25)
    live_window_days: int = _env("LIVE_WINDOW_DAYS", default=14)
    min_live_days: int = _env("MIN_LIVE_DAYS", default=7)
    promotion_margin: float = _env("PROMOTION_MARGIN", default=0.02)

    @property
    def estimator_list(self) -> list[str]:
        return [e.strip() for e in self.estimators.split(",") if e.strip()]


@dataclass(frozen=True)
class AwsSettings:
    """Names, roles and buckets of the aws backend. No account id is written in the code."""
    conn_id: str = _env("AWS_CONN_ID", default="aws_default")
    region: str = _env("AWS_REGION", default="us-east-1")
    s3_lake: str = _env("S3_LAKE", default="s3://aqicast-lake")          # the lake on aws
    raw_root: str = _env("S3_RAW_ROOT", default="s3://")                 # the public source buckets
    artifacts: str = _env("ARTIFACTS", default="s3://aqicast-artifacts")  # Glue code, Autopilot data, models
    glue_job: str = _env("GLUE_JOB", default="aqicast-etl")
    glue_role: str = _env("GLUE_ROLE", default="aqicast-glue")
    #: Glue job capacity: G.1X workers (1 DPU each; one is the driver) for the daily and backfill runs.
    glue_workers: int = _env("GLUE_WORKERS", default=10)
    glue_worker_type: str = _env("GLUE_WORKER_TYPE", default="G.1X")
    glue_database: str = _env("GLUE_DATABASE", default="aqicast_raw")
    crawler: str = _env("CRAWLER", default="aqicast-raw-daily")
    sagemaker_role_arn: str = _env("SAGEMAKER_ROLE_ARN", default="")
    endpoint: str = _env("ENDPOINT", default="aqicast-next-day-aqi")
    serverless_memory_mb: int = _env("SERVERLESS_MEMORY_MB", default=2048)
    serverless_max_concurrency: int = _env("SERVERLESS_MAX_CONCURRENCY", default=5)
    #: The share image's background model (README "Share image model"): Stability AI Stable Image
    #: Core; amazon.nova-canvas-v1:0 and amazon.titan-image-generator-v2:0 are Legacy on Bedrock.
    bedrock_image_model: str = _env("BEDROCK_IMAGE_MODEL", default="stability.stable-image-core-v1:1")
    #: Its request format: "stability" or "nova" (Nova Canvas / Titan v2); empty = from the model id.
    bedrock_image_family: str = _env("BEDROCK_IMAGE_FAMILY", default="")
    #: Bedrock's region for the image model (Stability's image models are served in us-west-2).
    bedrock_region: str = _env("BEDROCK_REGION", default="us-west-2")


@dataclass(frozen=True)
class Settings:
    backend: str = _env("BACKEND", default="local")
    #: The local backend's lake (a folder, or s3:// for a local run against S3).
    local_lake: str = _env("LAKE", default=str(DEFAULT_LAKE_ROOT))
    #: The local backend's raw root (the source buckets as folders).
    local_raw_root: str = _env("RAW_ROOT", default=str(SAMPLE_RAW_ROOT))
    #: Where the API reads snapshots (default: the backend's lake).
    serving_root: str = _env("SERVING_ROOT", default="")
    #: How often the API re-checks the published snapshot, seconds.
    snapshot_ttl_s: float = _env("SNAPSHOT_TTL_S", default=60.0)
    model_group: str = _env("MODEL_GROUP", default="aqicast-next-day-aqi")
    task_retries: int = _env("TASK_RETRIES", default=2)
    #: The Spark engine's master when no session is active (on Glue the job's session is used).
    spark_master: str = _env("SPARK_MASTER", default="local[2]")
    #: Processes reading one day's raw objects in the in-process engine (``--jobs 1``): 2 reads
    #: GSOD and the fetches in a forked helper while the archive is read (1: all in one process).
    etl_reader_processes: int = _env("ETL_READER_PROCESSES", default=2)
    #: The interpreter of the Spark environment (``.venv-glue/bin/python``) for a local Spark run
    #: submitted as a subprocess (the backfill DAG's ``engine=spark``); empty: the current one.
    spark_python: str = _env("SPARK_PYTHON", default="")
    etl: EtlRules = field(default_factory=EtlRules)
    quality: QualityRules = field(default_factory=QualityRules)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    aws: AwsSettings = field(default_factory=AwsSettings)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"AQICAST_BACKEND must be one of {BACKENDS}, not {self.backend!r}")

    @property
    def lake_root(self) -> str:
        """The lake of the configured backend."""
        return self.local_lake if self.backend == "local" else self.aws.s3_lake

    @property
    def raw_root(self) -> str:
        return self.local_raw_root if self.backend == "local" else self.aws.raw_root

    def with_roots(self, *, lake: str | None = None, raw_root: str | None = None) -> "Settings":
        """The same settings with the backend's lake and/or raw root replaced (CLI flags)."""
        out = self
        if lake:
            out = (dataclasses.replace(out, local_lake=lake) if out.backend == "local"
                   else dataclasses.replace(out, aws=dataclasses.replace(out.aws, s3_lake=lake)))
        if raw_root:
            out = (dataclasses.replace(out, local_raw_root=raw_root) if out.backend == "local"
                   else dataclasses.replace(out, aws=dataclasses.replace(out.aws, raw_root=raw_root)))
        return out

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


def _parse(kind, text: str):
    kind = {"int": int, "float": float, "str": str}.get(kind, kind) if isinstance(kind, str) else kind
    return kind(float(text)) if kind is int and "." in text else kind(text)


def _load(cls, env: Mapping[str, str], variable: Callable[[str], str | None] | None, overrides: dict):
    values = {}
    for f in fields(cls):
        if "env" not in f.metadata:  # a nested group
            values[f.name] = _load(f.default_factory, env, variable, overrides.get(f.name, {}))  # type: ignore[misc]
            continue
        name = f.metadata["env"]
        if f.name in overrides:
            values[f.name] = overrides[f.name]
            continue
        text = env.get(f"AQICAST_{name}")
        if text is None and variable is not None:
            text = variable(f"aqicast_{name.lower()}")
        if text is not None:
            kind = f.type if not isinstance(f.type, str) else f.type.split("|")[0].strip()
            values[f.name] = _parse(kind, text)
    return cls(**values)


def load(env: Mapping[str, str] | None = None, *, variable: Callable[[str], str | None] | None = None,
         **overrides) -> Settings:
    """Settings from ``env`` (default ``os.environ``); ``variable(name)`` is asked for names the
    environment does not set (Airflow Variables inside a task). ``overrides`` win over both,
    e.g. ``load(backend="aws")``."""
    backend = overrides.get("backend")
    if backend is not None:
        overrides["backend"] = str(backend).lower()
    settings = _load(Settings, os.environ if env is None else env, variable, overrides)
    return settings.replace(backend=settings.backend.lower()) if settings.backend != settings.backend.lower() else settings


def variable_template(name: str, fallback: str) -> str:
    """An aws setting as a Jinja template for operator arguments rendered at run time: the
    Airflow Variable ``aqicast_<name>`` if set, else the value known at parse time."""
    return "{{ var.value.get('aqicast_%s', '%s') }}" % (name.lower(), fallback)
