"""``aqicast run``: the daily DAG in-process with ``dag.test()`` against the project's own Airflow
home (``.airflow/``, SQLite, this repo's dags/ and plugins/), and the run's outcome as task states,
not a log to grep. Task logs go to a file."""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from include import catalog, config

if TYPE_CHECKING:  # pragma: no cover
    from include.lake import Lake


def airflow_env(lake_root: str, raw_root: str) -> dict[str, str]:
    """Environment of the project's local Airflow (also used by ``make airflow``)."""
    home = config.PROJECT_ROOT / ".airflow"
    home.mkdir(exist_ok=True)
    return {"AIRFLOW_HOME": str(home), "AQICAST_BACKEND": "local", "AQICAST_LAKE": lake_root,
            "AQICAST_RAW_ROOT": raw_root,
            "AIRFLOW__CORE__DAGS_FOLDER": str(config.PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(config.PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


@dataclass
class RunResult:
    state: str
    tasks: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state == "success"

    def notes(self, lake: "Lake", day: dt.date) -> list[str]:
        """What a person wants to know about the run, from what the tasks wrote in the lake."""
        out = []
        results = lake.path(catalog.quality_results(day))
        if lake.exists(results):
            out.append(lake.read_json(results).get("summary", "").splitlines()[0])
        decision = lake.path(catalog.retrain_decision(day))
        if lake.exists(decision):
            d = lake.read_json(decision)
            out.append(f"retrain {'yes' if d['retrain'] else 'no'}: {d['reason']}")
            trained = next((t for t in self.tasks if t["task"].startswith("train.")), None)
            if d["retrain"] and trained and trained["state"] == "success":
                from include.training.registry import LocalRegistry

                versions = LocalRegistry(lake, group=config.load().model_group).versions()
                if versions:
                    v = versions[-1]
                    out.append(f"model v{v.version} {v.status}: {v.description}")
        return out


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors too) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_daily(day: dt.date, *, lake_root: str, raw_root: str, log_path: Path, conf: dict | None = None) -> RunResult:
    env = airflow_env(lake_root, raw_root)
    os.environ.update(env)  # before Airflow is first imported in this process
    if not (Path(env["AIRFLOW_HOME"]) / "airflow.db").exists():
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env={**os.environ}, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    with _output_to(log_path):
        bag = DagBag(dag_folder=env["AIRFLOW__CORE__DAGS_FOLDER"])
        if bag.import_errors:
            raise RuntimeError(f"the DAG folder has import errors: {bag.import_errors}")
        dag = bag.get_dag("aqicast_daily")
        # One day in-process, after `aqicast run` ran the earlier days itself, in order: Airflow's
        # depends_on_past (the backfill guard) would make dag.test() wait forever behind an earlier
        # failed run in this Airflow home (dag.test has no deadlock exit for it).
        for t in dag.tasks:
            t.depends_on_past = False
        run = dag.test(
            logical_date=pendulum.datetime(day.year, day.month, day.day, tz="UTC"),
            run_conf={**(conf or {}), "date": day.isoformat()})
    tis = sorted(run.get_task_instances(), key=lambda ti: (ti.start_date is None, ti.start_date or 0, ti.task_id))
    return RunResult(state=str(run.state), tasks=[
        {"task": ti.task_id, "state": str(ti.state), "seconds": f"{ti.duration:.1f}" if ti.duration else ""}
        for ti in tis])
