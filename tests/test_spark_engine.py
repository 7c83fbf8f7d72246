"""The Spark engine (``aqicast etl --engine spark``) and the Glue job over a date range, on one
local[2] session for the module: the same partitions, byte for byte, as the in-process engine.

Runs in ``.venv-glue`` (PySpark 3.5, as Glue 5.0): ``make test-spark``; the main run deselects
the ``spark`` marker."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

pytest.importorskip("pyspark", reason="the Spark tests run in .venv-glue (make test-spark)")
pytestmark = pytest.mark.spark

START, END = dt.date(2015, 3, 1), dt.date(2015, 3, 6)  # with the day before: 7 feature dates, blocks of 2


@pytest.fixture(scope="module")
def spark():
    from include.app.spark_etl import session

    s = session("local[2]", "aqicast-tests")
    yield s
    s.stop()


def tree_digest(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "_runs" not in p.parts}


def run_reports(root) -> dict[str, dict]:
    """The run reports without their timings."""
    out = {}
    for p in sorted((root / "_runs" / "etl").glob("*.json")):
        report = json.loads(p.read_text())
        report.pop("seconds")
        out[p.name] = report
    return out


def _cli(lake, *extra) -> None:
    from include.cli import main

    assert main(["etl", "--lake", str(lake), "--start", START.isoformat(), "--end", END.isoformat(), *extra]) == 0


def test_spark_engine_writes_the_local_engines_partitions(spark, tmp_path, capsys):
    """A day, then a range after it, with each engine: the same partitions byte for byte (the range
    also rebuilds the first day's features, whose target is now known) and the same run reports."""
    from include.cli import main

    local, distributed = tmp_path / "local", tmp_path / "spark"
    for lake, extra in ((local, []), (distributed, ["--engine", "spark"])):
        assert main(["etl", "--lake", str(lake), "--date", "2015-02-28", *extra]) == 0
        _cli(lake, *extra)
    assert "stage 2: features of 7 dates as 4 Spark tasks" in capsys.readouterr().err  # 2+2+2+1 dates
    expected = tree_digest(local)
    assert {k.split("/date=")[0] for k in expected} >= {
        "curated/air_quality_daily", "curated/weather_daily", "curated/measurements_hourly",
        "curated/city_hourly_profile", "features/city_daily", "quarantine/openaq-archive"}
    assert len([k for k in expected if k.startswith("features/")]) == 7
    assert tree_digest(distributed) == expected
    assert run_reports(distributed) == run_reports(local)
    assert not list(distributed.rglob(".tmp-*"))


def test_glue_job_runs_a_date_range_as_spark_tasks(spark, tmp_path, capsys):
    """The Glue job's entry point over --start/--end (here on the local session, the lake a folder)
    writes the same partitions as the CLI's in-process engine."""
    from include import glue_job

    local, glue = tmp_path / "local", tmp_path / "glue"
    _cli(local)
    summary = glue_job.main(["--start", START.isoformat(), "--end", END.isoformat(), "--lake", str(glue),
                             "--raw-root", str(glue_job_sample_raw()), "--backend", "local",
                             "--JOB_NAME", "aqicast-etl", "--job-bookmark-option", "job-bookmark-disable"])
    assert summary["dates"] == [(START + dt.timedelta(days=i)).isoformat() for i in range(6)]
    assert summary["engine"] == "spark"
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == summary
    assert tree_digest(glue) == tree_digest(local)


def glue_job_sample_raw():
    from tests.conftest import SAMPLE_RAW

    return SAMPLE_RAW
