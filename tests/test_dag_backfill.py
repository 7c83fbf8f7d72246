"""The backfill DAG (``aqicast_backfill``) through ``dag.test()`` on the local backend: the range's
partitions with the in-process engine, the quality gate mapped over its days, and the summary.
(The aws backend's run, with moto, is in tests/test_dag_aws.py.)"""
from __future__ import annotations

import datetime as dt
import hashlib

import pendulum
import pytest

pytestmark = pytest.mark.slow


def backfill_dag():
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(Path(__file__).resolve().parent.parent / "dags")).get_dag("aqicast_backfill")


def digest(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.parquet"))}


def test_local_backfill_writes_the_range_and_gates_every_day(tmp_path, monkeypatch):
    from include.cli import main
    from tests.test_dags import migrate

    lake = tmp_path / "lake"
    monkeypatch.setenv("AQICAST_LAKE", str(lake))
    monkeypatch.setenv("AQICAST_BACKEND", "local")
    monkeypatch.setenv("AQICAST_TASK_RETRIES", "0")
    migrate()
    dag = backfill_dag()
    assert dag.params["engine"] == "local" and dag.timetable.__class__.__name__ == "NullTimetable"  # manual only
    gate = dag.task_dict["quality_gate"]
    assert gate.max_active_tis_per_dagrun == 4 and gate.retries == 0
    run = dag.test(logical_date=pendulum.datetime(2015, 3, 4, tz="UTC"),
                   run_conf={"start": "2015-03-01", "end": "2015-03-03", "engine": "local"})
    tis = run.get_task_instances()
    assert run.state == "success", {(t.task_id, t.map_index): t.state for t in tis}
    assert sorted(t.map_index for t in tis if t.task_id == "quality_gate") == [0, 1, 2]
    summary = next(t for t in tis if t.task_id == "summary").xcom_pull(task_ids="summary")
    assert summary["days"] == 3 and summary["passed"] == 3 and summary["failed"] == []
    etl = next(t for t in tis if t.task_id == "etl").xcom_pull(task_ids="etl")
    assert etl["dates"] == ["2015-03-01", "2015-03-02", "2015-03-03"] and etl["engine"] == "local"
    # The same partitions as the CLI's in-process ETL of the range (the DAG's: 2 processes).
    assert main(["etl", "--lake", str(tmp_path / "cli"), "--start", "2015-03-01", "--end", "2015-03-03",
                 "--jobs", "2"]) == 0
    assert digest(lake) == digest(tmp_path / "cli") and len(digest(lake)) > 20


def test_a_range_ending_before_it_starts_fails_at_once(tmp_path, monkeypatch):
    from tests.test_dags import migrate

    monkeypatch.setenv("AQICAST_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("AQICAST_BACKEND", "local")
    monkeypatch.setenv("AQICAST_TASK_RETRIES", "0")
    migrate()
    run = backfill_dag().test(logical_date=pendulum.datetime(2015, 3, 5, tz="UTC"),
                              run_conf={"start": "2015-03-02", "end": "2015-03-01", "engine": "local"})
    states = {t.task_id: t.state for t in run.get_task_instances()}
    assert run.state == "failed" and states["resolve_range"] == "failed"
    assert not (tmp_path / "lake").exists()


GLUE_PYTHON = __import__("pathlib").Path(__file__).resolve().parent.parent / ".venv-glue" / "bin" / "python"


@pytest.mark.skipif(not GLUE_PYTHON.exists(),
                    reason=f"no Spark venv at {GLUE_PYTHON} (make venv-glue builds it; make test does before this suite)")
def test_local_backfill_with_the_spark_engine_submits_to_the_spark_venv(tmp_path, monkeypatch):
    """engine=spark: the DAG's etl task submits ``aqicast etl --engine spark`` to the interpreter
    in AQICAST_SPARK_PYTHON (the .venv-glue Spark venv, not this one), reads its run reports back,
    and the gates pass on what it wrote: the in-process engine's partitions, byte for byte."""
    from include.cli import main
    from tests.test_dags import migrate

    lake = tmp_path / "lake"
    monkeypatch.setenv("AQICAST_LAKE", str(lake))
    monkeypatch.setenv("AQICAST_BACKEND", "local")
    monkeypatch.setenv("AQICAST_TASK_RETRIES", "0")
    monkeypatch.setenv("AQICAST_SPARK_PYTHON", str(GLUE_PYTHON))
    migrate()
    run = backfill_dag().test(logical_date=pendulum.datetime(2015, 3, 4, tz="UTC"),
                              run_conf={"start": "2015-03-01", "end": "2015-03-02", "engine": "spark"})
    tis = run.get_task_instances()
    assert run.state == "success", {(t.task_id, t.map_index): t.state for t in tis}
    etl = next(t for t in tis if t.task_id == "etl").xcom_pull(task_ids="etl")
    assert etl["engine"] == "spark" and etl["dates"] == ["2015-03-01", "2015-03-02"] and etl["days"] == 2
    summary = next(t for t in tis if t.task_id == "summary").xcom_pull(task_ids="summary")
    assert summary["days"] == 2 and summary["passed"] == 2
    assert main(["etl", "--lake", str(tmp_path / "cli"), "--start", "2015-03-01", "--end", "2015-03-02"]) == 0
    assert digest(lake) == digest(tmp_path / "cli") and len(digest(lake)) > 10
