"""The Spark engine of the ETL: the same functions as the in-process engine, one date per Spark task.

Stage 1 is an RDD of dates: each task builds one date's curated partitions (readers, cleaning,
AQI, hourly profile, quarantine, run report) with ``run_etl(..., with_features=False)`` on an
executor, which reads the raw objects and writes the lake itself (atomic partition writes, so a
retried or speculative task rewrites the same bytes). Stage 2 starts once every date's curated
partitions exist: each task builds the features of a block of consecutive dates with
``features_range`` (one read of the block's window of curated partitions, first-7 .. last+1: the
same rows as each date alone). The driver only schedules and collects the run reports.

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


def _features(job: tuple[list[str], "Settings"]) -> list[tuple[str, int]]:
    """Stage 2 task: the feature partitions of a block of consecutive dates, from one read of
    the block's curated window (first - 7 .. last + 1) and one pass of ``features_range``, the
    function of the in-process engine (the same rows as each date alone, ``features_for``); a
    date without rows gets the empty partition, as the daily build writes it."""
    from include.backends import build
    from include.etl.features import features_range, write_days

    block, settings = job
    backend = build(settings)
    frame = features_range(backend.lake, dt.date.fromisoformat(block[0]), dt.date.fromisoformat(block[-1]),
                           settings.etl)
    return list(write_days(backend.lake, frame, block).items())


#: Stage 2's largest block of dates per task (its window's curated partitions are in memory at once).
MAX_FEATURE_BLOCK = 31


def feature_blocks(days: list[dt.date], parallelism: int) -> list[list[str]]:
    """Consecutive ``days`` in blocks: about two per core of the cluster, at most
    ``MAX_FEATURE_BLOCK`` dates each (a date per task read its window of 10 partitions again for
    each date: at 3,000 locations ~0.8 s a date more than the in-process engine)."""
    size = min(MAX_FEATURE_BLOCK, max(1, -(-len(days) // max(1, 2 * parallelism))))
    names = [d.isoformat() for d in days]
    return [names[i:i + size] for i in range(0, len(names), size)]


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
    from include.app.ingest import feature_days, record_features

    fdays = feature_days(backend, days)
    blocks = [(b, settings) for b in feature_blocks(fdays, sc.defaultParallelism)]
    sc.setJobDescription(f"aqicast features of {len(fdays)} dates")
    written = dict(w for ws in sc.parallelize(blocks, numSlices=len(blocks)).map(_features).collect() for w in ws)
    if progress:
        progress(f"stage 2: features of {len(fdays)} dates as {len(blocks)} Spark tasks (blocks of consecutive dates)")
    record_features(backend, reports, written)  # as run_etl records and writes them
    return reports
