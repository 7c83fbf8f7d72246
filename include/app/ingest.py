"""Ingest: the local crawler and the ETL of a window of days (what the daily run, a backfill and
the Glue job all run)."""
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


def window(day: dt.date, reprocess_days: int = 0) -> list[dt.date]:
    """D and the ``reprocess_days`` before it (late OpenAQ archive data), oldest first."""
    if reprocess_days < 0:
        raise ValueError(f"reprocess_days must be >= 0, not {reprocess_days}")
    return [day - dt.timedelta(days=k) for k in range(reprocess_days, -1, -1)]


def date_range(start: dt.date, end: dt.date) -> list[dt.date]:
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def crawl(backend: "Backend", day: dt.date) -> dict[str, int]:
    """The local "crawler": list D's raw objects per source and keep the manifest in the lake
    (the ETL of D then reads exactly these)."""
    from include.etl.pipeline import discover

    manifest = discover(backend.raw, day)
    backend.lake.write_json(backend.lake.path(catalog.manifest(day)), manifest)
    return {source: len(paths) for source, paths in manifest.items()}


def _manifest(backend: "Backend", day: dt.date) -> dict | None:
    path = backend.lake.path(catalog.manifest(day))
    return backend.lake.read_json(path) if backend.lake.exists(path) else None


ENGINES = ("local", "spark")


def etl(backend: "Backend", days: list[dt.date], *, jobs: int = 1, engine: str = "local",
        progress: Callable[[str], None] | None = None) -> list[dict]:
    """The ETL of ``days`` (sorted, each its own partitions, idempotent): curated tables,
    quarantine, run report and features. A day with a crawler manifest reads exactly its objects.

    With ``jobs`` > 1 the days' curated partitions are built in parallel processes, then every
    day's features in one pass (the same function as the daily build, so the same rows). With
    ``engine="spark"`` both stages run as Spark tasks, one date per task (``app.spark_etl``; on
    the session of ``settings.spark_master``, or Glue's)."""
    from include.etl.pipeline import run_etl

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    days = sorted(days)
    rules = backend.settings.etl
    if engine == "spark":
        from include.app import spark_etl

        reports = spark_etl.etl(backend, days, progress=progress)
    elif jobs <= 1 or len(days) == 1:
        from include.etl.pipeline import close_helper

        reports = []
        try:
            for day in days:
                reports.append(run_etl(day, backend.lake, backend.raw, manifest=_manifest(backend, day), rules=rules,
                                       reader_processes=backend.settings.etl_reader_processes))
                if progress:
                    progress(f"{day}: done in {reports[-1]['seconds']:.1f}s")
        finally:
            close_helper()
    else:
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        from include.etl.pipeline import die_with_parent

        forked = multiprocessing.get_start_method() == "fork"
        with ProcessPoolExecutor(max_workers=jobs, initializer=die_with_parent,
                                 initargs=(os.getpid() if forked else None,)) as pool:
            reports = list(pool.map(_curate_day, [(d.isoformat(), backend.settings) for d in days], chunksize=8))
        record_features(backend, reports, _features_in_one_pass(backend, days))
        if progress:
            progress(f"{len(days)} days with {jobs} processes; features built in one pass")
    for report in reports:
        log.info("ETL %s: %s", report["date"], json.dumps(
            {s: {k: v for k, v in x.items() if k.startswith("rows")} for s, x in report["sources"].items()}))
    for error in failed_objects(reports):
        log.error("raw object failed: %s", error["error"])
    return reports


def _curate_day(job: tuple[str, "Settings"]) -> dict:
    """One day's curated partitions, without features (a process-pool worker)."""
    from include.backends import build
    from include.etl.pipeline import run_etl

    day, settings = job
    backend = build(settings)
    d = dt.date.fromisoformat(day)
    return run_etl(d, backend.lake, backend.raw, manifest=_manifest(backend, d), rules=settings.etl,
                   with_features=False)


def feature_days(backend: "Backend", days: list[dt.date]) -> list[dt.date]:
    """The dates whose features a run of ``days`` (re)builds: the days, and the day before the first
    if its curated partition exists (its target, the AQI of the first day, is now known) -- as the
    per-day ``build_features`` of ``run_etl`` does."""
    before = days[0] - dt.timedelta(days=1)
    return ([before] if backend.lake.has_partition(catalog.AIR_QUALITY, before) else []) + list(days)


def _features_in_one_pass(backend: "Backend", days: list[dt.date]) -> dict[str, int]:
    """Every date of ``feature_days`` from one ``features_range`` pass (the rows the per-day build
    gives, tested), each written as its partition, an empty one for a date without rows."""
    from include.etl.features import features_range, write_days

    fdays = feature_days(backend, days)
    frame = features_range(backend.lake, fdays[0], fdays[-1], backend.settings.etl)
    return write_days(backend.lake, frame, fdays)


def record_features(backend: "Backend", reports: list[dict], written: dict[str, int]) -> None:
    """Give each run report the feature rows written for its date and the day before (what
    ``run_etl`` records when it builds them itself) and save it again."""
    for report in reports:
        d = dt.date.fromisoformat(report["date"])
        prev = (d - dt.timedelta(days=1)).isoformat()
        report["features"] = {k: written[k] for k in (prev, report["date"]) if k in written}
        backend.lake.write_json(backend.lake.path(catalog.run_report(d)), report)


def failed_objects(reports: list[dict]) -> list[dict]:
    return [f for r in reports for s in r["sources"].values() for f in s["failed_objects"]]


def summary(reports: list[dict]) -> dict:
    """What a task log or an XCom keeps of a window's run reports."""
    return {"dates": [r["date"] for r in reports], "failed_objects": len(failed_objects(reports)),
            "air_quality_rows": reports[-1]["outputs"]["air_quality_daily"] if reports else 0}


def etl_range(backend: "Backend", start: dt.date, end: dt.date, *, engine: str = "local", jobs: int = 2) -> dict:
    """The ETL of ``start .. end`` (the backfill DAG's local step) and its summary. With the Spark
    engine and ``settings.spark_python`` set (the Spark venv's interpreter, e.g. ``.venv-glue``),
    the range is submitted like a job: ``aqicast etl --engine spark`` in that interpreter, its run
    reports read back from its JSON output; otherwise in this process."""
    days = date_range(start, end)
    python = backend.settings.spark_python
    if engine == "spark" and python:
        import subprocess

        cmd = [python, "-m", "include.cli", "etl", "--engine", "spark", "--json", "--backend",
               backend.settings.backend, "--start", start.isoformat(), "--end", end.isoformat(),
               "--lake", backend.settings.lake_root, "--raw-root", backend.settings.raw_root]
        log.info("submitting: %s", " ".join(cmd))
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"the Spark ETL failed (exit {done.returncode}): {done.stderr[-3000:]}")
        reports = json.loads(done.stdout)
    else:
        reports = etl(backend, days, jobs=jobs, engine=engine)
    return {**summary(reports), "engine": engine, "days": len(days)}
