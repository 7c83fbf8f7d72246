"""A backfill under a real Airflow: the api-server (the task workers' Execution API), the
scheduler (LocalExecutor, SQLite) and the dag-processor as subprocesses on a throw-away
AIRFLOW_HOME, and the README's backfill command. Every run succeeds, in date order, and the
partitions equal a sequential ETL of the same days; a day without raw data fails at the quality
gate only."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
HISTORY = (dt.date(2015, 1, 1), dt.date(2015, 1, 25))
DAYS = [dt.date(2015, 1, 27), dt.date(2015, 1, 28)]
NO_DATA = dt.date(2016, 6, 1)  # after the in-repo sample: no raw object for that day
CONF = '{"retrain": "skip"}'


def readme_command(start: dt.date, end: dt.date) -> list[str]:
    """The backfill command of the README ("Running Airflow locally, backfills"), for a range."""
    return ["backfill", "create", "--dag-id", "aqicast_daily", "--from-date", start.isoformat(),
            "--to-date", end.isoformat(), "--max-active-runs", "1", "--reprocess-behavior", "completed",
            "--dag-run-conf", CONF]


def test_the_readme_shows_that_command():
    readme = (ROOT / "README.md").read_text()
    cmd = " ".join(readme_command(dt.date(2016, 2, 1), dt.date(2016, 2, 29))[:-1])
    assert f"airflow {cmd} '{CONF}'" in " ".join(readme.split())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, home: Path, lake: Path):
        self.home, self.lake = home, lake
        port = _free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AQICAST"))},
            "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}",
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API_AUTH__JWT_SECRET": "aqicast-backfill-test",
            # No scheduled runs: unpausing would otherwise create the latest interval's run
            # (yesterday: no data, a failed run). Backfill runs are still started.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # Parsed once: the files do not change during the test (by default again every 30 s)
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
            "AQICAST_BACKEND": "local",
            "AQICAST_LAKE": str(lake),
            "AQICAST_RAW_ROOT": str(ROOT / "data" / "sample" / "raw"),
            "AQICAST_TASK_RETRIES": "0",
            "AQICAST_EVAL_DAYS": "7",
            "AQICAST_MIN_TRAIN_ROWS": "10",
        }
        self.procs: list[subprocess.Popen] = []

    def airflow(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([AIRFLOW, *args], env=self.env, capture_output=True, text=True, check=check,
                              timeout=120, cwd=self.home)

    def start(self) -> None:
        self.airflow("db", "migrate")
        for name, args in (("api-server", ["api-server", "--workers", "1"]), ("scheduler", ["scheduler"]),
                           ("dag-processor", ["dag-processor"])):
            log = open(self.home / f"{name}.log", "w")
            self.procs.append(subprocess.Popen([AIRFLOW, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                               cwd=self.home, start_new_session=True))

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                with _suppress():
                    os.killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in self.procs:
            with _suppress():
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
        for p in self.procs:
            with _suppress():
                os.killpg(p.pid, signal.SIGKILL)  # also the workers left in the group
            with _suppress():
                p.wait(timeout=5)

    def query(self, sql: str, *args) -> list[tuple]:
        con = sqlite3.connect(self.home / "airflow.db", timeout=30)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text()[-3000:] for p in sorted(self.home.glob("*.log")))

    def wait_for(self, what: str, predicate, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                raise AssertionError(f"an Airflow process exited while waiting for {what}\n{self.logs()}")
            if predicate():
                return
            time.sleep(2)
        raise AssertionError(f"timed out waiting for {what}\n{self.logs()}")

    def backfill(self, start: dt.date, end: dt.date, timeout: float) -> int:
        """Create the README's backfill, wait until Airflow marks it complete; its id."""
        before = {r[0] for r in self.query("select id from backfill")}
        for _ in range(20):  # the DAG's first parse may still be settling (DagModel, bundle version)
            out = self.airflow(*readme_command(start, end), check=False)
            if out.returncode == 0:
                break
            time.sleep(3)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        (bid,) = {r[0] for r in self.query("select id from backfill")} - before
        self.wait_for(f"backfill {start}..{end}", lambda: self.query(
            "select completed_at from backfill where id=?", bid)[0][0] is not None, timeout)
        return bid

    def runs(self, backfill_id: int) -> list[tuple]:
        return self.query("select run_id, logical_date, state from dag_run where backfill_id=? order by logical_date",
                          backfill_id)

    def task_states(self, run_id: str) -> dict[str, str]:
        return dict(self.query("select task_id, state from task_instance where run_id=?", run_id))


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], (ProcessLookupError, PermissionError,
                                                          subprocess.TimeoutExpired, OSError))


@pytest.fixture(scope="module")
def stack(tmp_path_factory, lake_cache):
    """The running stack, on a lake with the curated history of January until a day before the
    backfill range (the beginning of the Beijing history other modules use, built once per session;
    got while Airflow starts: the tasks read the lake only when they run)."""
    from tests.sample_lakes import ingest_sample

    base = tmp_path_factory.mktemp("backfill")
    s = Stack(base / "airflow", base / "lake")
    s.home.mkdir()
    try:
        s.start()
        s.history = ingest_sample(base / "history", HISTORY, cache=lake_cache)
        shutil.copytree(s.history.root, s.lake)
        s.wait_for("the DAG to be serialized", lambda: s.query(
            "select count(*) from serialized_dag where dag_id='aqicast_daily'")[0][0] > 0, 120)
        assert s.airflow("dags", "unpause", "aqicast_daily").returncode == 0
        yield s
    finally:
        s.stop()


def partitions(root: Path, before: dt.date) -> dict[str, str]:
    """curated/* and features/city_daily partitions (contents) with a date before ``before``."""
    out = {}
    for p in sorted(root.rglob("*.parquet")):
        rel = p.relative_to(root)
        if rel.parts[0] not in ("curated", "features"):
            continue
        day = next(x for x in rel.parts if x.startswith("date="))[5:]
        if dt.date.fromisoformat(day) < before:
            out[str(rel)] = pd.read_parquet(p).to_json(date_format="iso")
    return out


def test_a_backfill_under_the_scheduler_runs_in_date_order_and_equals_a_sequential_run(stack, tmp_path):
    bid = stack.backfill(DAYS[0], DAYS[-1], timeout=480)
    runs = stack.runs(bid)
    assert [r[1][:10] for r in runs] == [d.isoformat() for d in DAYS]
    assert [r[2] for r in runs] == ["success"] * len(DAYS), (runs, stack.logs())
    for run_id, _, _ in runs:
        states = stack.task_states(run_id)
        assert "failed" not in states.values(), states
        assert not [t for t in states if "aws" in t or "glue" in t or "automl" in t]
        assert states["ingest.etl"] == "success" and states["forecast"] == "success"
    # Date order: each day's ETL started after the previous day's ETL ended.
    etl = stack.query("select t.start_date, t.end_date from task_instance t join dag_run r on t.run_id = r.run_id "
                      "and t.dag_id = r.dag_id where r.backfill_id=? and t.task_id='ingest.etl' "
                      "order by r.logical_date", bid)
    assert all(etl[i][0] >= etl[i - 1][1] for i in range(1, len(etl))), etl

    # The reference: the same days, one after the other, in-process, on a copy of the history.
    from include.app import ingest
    from tests.sample_lakes import local_backend

    reference = tmp_path / "reference"
    shutil.copytree(stack.history.root, reference)
    ingest.etl(local_backend(reference), DAYS)
    got, want = partitions(stack.lake, NO_DATA), partitions(reference, NO_DATA)
    assert sorted(got) == sorted(want)
    assert any("features/city_daily/date=2015-01-28" in k for k in got)
    assert [k for k in got if got[k] != want[k]] == []
    for d in DAYS:
        assert (stack.lake / "forecasts" / "city_daily" / f"date={d}").exists()


def test_a_day_without_data_fails_at_the_quality_gate_only(stack):
    bid = stack.backfill(NO_DATA, NO_DATA, timeout=240)
    ((run_id, _, state),) = stack.runs(bid)
    states = stack.task_states(run_id)
    assert state == "failed", states
    assert [t for t, s in states.items() if s == "failed"] == ["quality_gate"], states
    assert states["ingest.etl"] == "success" and states["forecast"] == "upstream_failed"
    assert not [t for t in states if "aws" in t or "glue" in t or "automl" in t]
    # The failure message is the gate's summary (AirflowFailException(str(summary))).
    logs = "\n".join(p.read_text() for p in stack.home.rglob("*.log") if "quality_gate" in str(p))
    assert "empty partition" in logs, logs[-2000:]
