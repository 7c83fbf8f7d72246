"""The DAG folder: imports cleanly, follows the conventions, stays cheap to parse."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "pyarrow", "great_expectations", "sagemaker", "flaml", "sklearn", "lightgbm", "PIL", "numpy")


@lru_cache(maxsize=1)
def migrate() -> None:
    """A migrated metadata DB in this session's AIRFLOW_HOME (dag.test needs one)."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True,
                   env={**os.environ})


def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_dags_import_without_errors_and_follow_conventions():
    bag = dagbag()
    assert bag.import_errors == {}
    assert "aqicast_daily" in bag.dags
    for dag_id, dag in bag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md and len(dag.doc_md) > 200, f"{dag_id} has no documentation"
        assert dag.max_active_runs == 1 or dag_id != "aqicast_daily"
        for t in dag.tasks:
            assert t.owner == "data-platform", f"{t.task_id} has no owner"
            assert t.retries is not None, f"{t.task_id} has no retries"
    daily = bag.dags["aqicast_daily"]
    assert set(daily.params.keys()) >= {"retrain", "reprocess_days", "date"}
    assert daily.description and "local backend" in daily.description
    assert daily.task_dict["quality_gate"].retries == 0  # a data failure is not retried


PARSE = textwrap.dedent("""
    import json, sys, time
    sys.path[:0] = [{root!r}, {plugins!r}]
    t = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder={folder!r})
    print(json.dumps({{"seconds": time.perf_counter() - t, "errors": len(bag.import_errors),
                       "heavy": sorted(m for m in {heavy!r} if m in sys.modules)}}))
""")


def parse(folder: Path) -> dict:
    code = PARSE.format(root=str(ROOT), plugins=str(ROOT / "plugins"), folder=str(folder), heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env={**os.environ}, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_parsing_stays_cheap(tmp_path):
    """No heavy library is imported at parse time; parsing costs little more than an empty DAG."""
    (tmp_path / "empty_dag.py").write_text(
        "import pendulum\nfrom airflow.sdk import dag, task\n"
        "@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1), tags=['x'])\n"
        "def empty():\n    @task\n    def t():\n        pass\n    t()\nempty()\n")
    baseline = parse(tmp_path)
    ours = parse(ROOT / "dags")
    assert ours["errors"] == 0 and baseline["errors"] == 0
    assert ours["heavy"] == [], f"heavy modules imported at parse time: {ours['heavy']}"
    # The bound leaves room for the Amazon provider's operator modules (boto3), nothing heavier.
    assert ours["seconds"] < baseline["seconds"] + 4.0, (ours, baseline)


def test_every_task_is_documented_and_the_steps_that_read_earlier_days_wait_for_them():
    """doc_md on every task (TaskFlow takes the docstring); depends_on_past exactly on the steps
    that read what earlier days wrote, so a backfill is correct at any --max-active-runs."""
    daily = dagbag().dags["aqicast_daily"]
    for t in daily.tasks:
        assert t.doc_md and t.doc_md.strip(), f"{t.task_id} has no doc_md"
    past = sorted(t.task_id for t in daily.tasks if t.depends_on_past)
    assert past == ["forecast", "ingest.etl", "retrain_policy", "train.train_flaml"]
    assert all(daily.task_dict[t].ignore_first_depends_on_past for t in past)


def test_a_manual_run_has_the_interval_of_its_partition():
    """The data interval shown beside a manual run's logical date D is [D, D+1): the partition."""
    import pendulum

    from include.orchestration.timetable import DailyPartitionTimetable

    tt = dagbag().dags["aqicast_daily"].timetable
    assert isinstance(tt, DailyPartitionTimetable)
    d = pendulum.datetime(2016, 2, 27, tz="UTC")
    interval = tt.infer_manual_data_interval(run_after=d)
    assert (interval.start, interval.end) == (d, d.add(days=1))
    assert "partition" in tt.description and "partition" in tt.summary
    later = tt.infer_manual_data_interval(run_after=d.add(hours=13, minutes=5))
    assert (later.start, later.end) == (d, d.add(days=1))
    # Scheduled runs keep the daily cron intervals: the run for D is for [D, D+1).
    from airflow.timetables.base import DataInterval, TimeRestriction

    nxt = tt.next_dagrun_info(last_automated_data_interval=DataInterval(d.subtract(days=1), d),
                              restriction=TimeRestriction(earliest=None, latest=None, catchup=True))
    assert (nxt.logical_date, nxt.data_interval.end) == (d, d.add(days=1))


def test_the_dag_serializes_with_its_timetable_through_the_plugin():
    """The scheduler and the API server see the DAG through its serialized form: the custom
    timetable round-trips (the plugin registers it) and keeps its manual interval."""
    import pendulum
    from airflow.serialization.serialized_objects import DagSerialization

    daily = dagbag().dags["aqicast_daily"]
    data = DagSerialization.to_dict(daily)
    assert data["dag"]["timetable"]["__type"] == "include.orchestration.timetable.DailyPartitionTimetable"
    back = DagSerialization.from_dict(data)
    d = pendulum.datetime(2016, 2, 27, tz="UTC")
    assert back.timetable.infer_manual_data_interval(run_after=d).start == d
    assert back.description == daily.description and "local backend" in back.description
    assert {t.task_id: t.depends_on_past for t in back.tasks}["ingest.etl"] is True
