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
