"""The Spark engine of the ETL: the same functions as the in-process engine, one date per Spark task.

Stage 1 is an RDD of dates: each task builds one date's curated partitions (readers, cleaning,
AQI, hourly profile, quarantine, run report) with ``run_etl(..., with_features=False)`` on an
executor, which reads the raw objects and writes the lake itself (atomic partition writes, so a
retried or speculative task rewrites the same bytes). Stage 2 starts once every date's curated
partitions exist: each task builds one date's features with ``features_for`` (its window of
curated partitions D-7..D+1). The driver only schedules and collects the run reports.

Why an RDD of dates and not ``mapInPandas``: the unit of work is a date whose inputs are files and
whose outputs are partitions, not rows; there is nothing for Spark's Arrow serialisation to move
between stages (the lake is the exchange), no schema to declare for the output, and the executor
runs exactly the code the local engine runs. Spark contributes what a home-made pool does not: the
cluster (Glue workers), task retries, speculation, the Spark UI and event logs.

PySpark is imported inside the functions: only the Spark environment (``.venv-glue``, Glue 5.0)
has it.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING, Callable

from include import catalog

if TYPE_CHECKING:  # pragma: no cover
    from include.backends.base import Backend
    from include.config import Settings

log = logging.getLogger(__name__)


def session(master: str, app_name: str = "aqicast-etl"):
    """The running Spark session (Glue's, or one already started: then ``master`` is ignored), else
    a new one on ``master`` whose Python workers run this interpreter."""
    import os
    import sys

    from pyspark.sql import SparkSession

    # PySpark's SparkContext takes the workers' interpreter from PYSPARK_PYTHON (else "python3" on
    # the PATH, which is not this venv): this interpreter, unless the deployment set one.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (SparkSession.builder.master(master).appName(app_name)
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.task.maxFailures", "4")
            .getOrCreate())


def _curate(job: tuple[str, "Settings"]) -> str:
    """Stage 1 task: one date's curated partitions and run report (no features)."""
    from include.app.ingest import _curate_day

    return json.dumps(_curate_day(job))


def _features(job: tuple[str, "Settings"]) -> tuple[str, int]:
    """Stage 2 task: one date's feature partition from its curated window (D-7 .. D+1)."""
    from include.backends import build
    from include.etl.features import features_for

    day, settings = job
    backend = build(settings)
    frame = features_for(backend.lake, dt.date.fromisoformat(day), settings.etl)
    backend.lake.write_partition(catalog.FEATURES, day, frame)
    return day, len(frame)


def feature_days(backend: "Backend", days: list[dt.date]) -> list[dt.date]:
    """The dates whose features a run of ``days`` (re)builds: the days, and the day before the first
    if its curated partition exists (its target, the AQI of the first day, is now known) -- as the
    in-process engine's per-day ``build_features``."""
    before = days[0] - dt.timedelta(days=1)
    return ([before] if backend.lake.has_partition(catalog.AIR_QUALITY, before) else []) + list(days)


def etl(backend: "Backend", days: list[dt.date], *, spark=None,
        progress: Callable[[str], None] | None = None) -> list[dict]:
    """Curated partitions of every date as Spark tasks, then every date's features as Spark tasks.
    Returns the run reports (oldest first), each with the feature rows it wrote (``features``)."""
    days = sorted(days)
    spark = spark or session(backend.settings.spark_master)
    sc = spark.sparkContext
    settings = backend.settings
    jobs = [(d.isoformat(), settings) for d in days]
    sc.setJobDescription(f"aqicast curated partitions of {len(days)} dates")
    reports = [json.loads(r) for r in sc.parallelize(jobs, numSlices=len(jobs)).map(_curate).collect()]
    if progress:
        progress(f"stage 1: curated partitions of {len(days)} dates as Spark tasks")
    fdays = [(d.isoformat(), settings) for d in feature_days(backend, days)]
    sc.setJobDescription(f"aqicast features of {len(fdays)} dates")
    written = dict(sc.parallelize(fdays, numSlices=len(fdays)).map(_features).collect())
    if progress:
        progress(f"stage 2: features of {len(fdays)} dates as Spark tasks")
    for report in reports:
        d = dt.date.fromisoformat(report["date"])
        prev = (d - dt.timedelta(days=1)).isoformat()
        report["features"] = {k: written[k] for k in (prev, report["date"]) if k in written}
        backend.lake.write_json(backend.lake.path(catalog.run_report(d)), report)  # as run_etl writes it
    return reports
