"""Glue 5.0 job script (Spark 3.5, Python 3.11): the ETL of a date range with the Spark engine
(``app.ingest.etl(engine="spark")``): one Spark task per date on the job's workers, then one per
date for the features. The daily run passes one date (and its late-data window); the backfill
DAG passes the whole range.

Deployed by ``deploy/mwaa/deploy.sh`` to ``<artifacts>/glue/glue_job.py``, with this project as a
zip (``--extra-py-files``) and its pinned third-party set (``requirements-glue.txt`` without
PySpark, which Glue provides) as a requirements file for ``--additional-python-modules``; see
``glue_job_kwargs`` and ``deploy/mwaa/build.py``.

Arguments: ``(--date D | --start D1 --end D2) --lake s3://... [--raw-root s3://]
[--reprocess-days N]``; Glue adds its own (``--JOB_NAME``, ``--job-bookmark-option``...).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

#: Where deploy/mwaa/deploy.sh puts the job's files under the artifacts bucket.
GLUE_PREFIX = "glue"
SCRIPT = "glue_job.py"
PACKAGE = "aqicast.zip"  # the include package (deploy/mwaa/build.py)
REQUIREMENTS = "requirements-glue.txt"


def glue_paths(artifacts: str) -> dict[str, str]:
    """The S3 locations of the job's script, package zip and requirements file under ``artifacts``."""
    base = f"{artifacts.rstrip('/')}/{GLUE_PREFIX}"
    return {"script": f"{base}/{SCRIPT}", "package": f"{base}/{PACKAGE}", "requirements": f"{base}/{REQUIREMENTS}"}


def glue_job_kwargs(*, artifacts: str, workers: int = 10, worker_type: str = "G.1X") -> dict:
    """``create_job_kwargs`` for the provider's GlueJobOperator: a Glue 5.0 Spark job (``glueetl``)
    with ``workers`` workers (the role is the operator's ``iam_role_name``). Third-party packages:
    Glue 5.0's requirements-file form of ``--additional-python-modules`` (with
    ``--python-modules-installer-option -r``); the project: its ``include`` package as a zip on
    ``--extra-py-files`` (on the driver's and every executor's path)."""
    paths = glue_paths(artifacts)
    return {
        "GlueVersion": "5.0",
        "WorkerType": worker_type,
        "NumberOfWorkers": int(workers),
        "Command": {"Name": "glueetl", "ScriptLocation": paths["script"], "PythonVersion": "3"},
        "DefaultArguments": {
            "--job-language": "python",
            "--additional-python-modules": paths["requirements"],
            "--python-modules-installer-option": "-r",
            "--extra-py-files": paths["package"],
            "--enable-metrics": "true",
            "--enable-spark-ui": "true",
            "--spark-event-logs-path": f"{artifacts.rstrip('/')}/{GLUE_PREFIX}/spark-events/",
            "--enable-continuous-cloudwatch-log": "true",
            "--job-bookmark-option": "job-bookmark-disable",
        },
        "ExecutionProperty": {"MaxConcurrentRuns": 4},
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--date", type=_day, help="one date (the daily run)")
    p.add_argument("--start", type=_day, help="first date of a range (a backfill)")
    p.add_argument("--end", type=_day, help="last date of a range, inclusive")
    p.add_argument("--lake", required=True)
    p.add_argument("--raw-root", default="s3://")
    p.add_argument("--reprocess-days", type=int, default=0)
    p.add_argument("--backend", default="aws", choices=["aws", "local"], help="local: tests on folders")
    args, _unknown = p.parse_known_args(argv)  # Glue adds its own --JOB_ID, --job-bookmark-option...
    if args.date and (args.start or args.end):
        p.error("--date or --start/--end, not both")
    if args.date:
        args.start = args.end = args.date
    if not (args.start and args.end):
        p.error("--date or --start and --end are required")
    return args


def _day(text: str) -> dt.date:
    """A date argument (YYYY-MM-DD)."""
    return dt.date.fromisoformat(text)


def days_of(args: argparse.Namespace) -> list[dt.date]:
    """The range, extended by ``--reprocess-days`` before its first date (late archive data)."""
    from include.app import ingest

    return ingest.date_range(args.start - dt.timedelta(days=args.reprocess_days), args.end)


def main(argv: list[str] | None = None) -> dict:
    """The same ETL step as the CLI and the local DAG task: ``app.ingest.etl`` of the range, with
    the Spark engine on the job's session."""
    from include import config
    from include.app import ingest
    from include.backends import build

    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = config.load(backend=args.backend).with_roots(lake=args.lake, raw_root=args.raw_root)
    reports = ingest.etl(build(settings), days_of(args), engine="spark")
    summary = {**ingest.summary(reports), "engine": "spark"}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":  # pragma: no cover - Glue entry point
    main()
