"""Lakes built from the in-repo sample for tests and benchmarks (no side effects on import):
``ingest_sample`` runs the ETL over date ranges; ``build_serving_lake`` adds forecasts for the
serving tests (web page, API schema) and the API bench: eight days of the Indian cities, then the
forecast step, which publishes ``serving/latest.json`` (no champion yet: persistence, a fallback).

Each takes an optional ``cache`` (a ``LakeCache``, the tests' ``lake_cache`` fixture): the lake is
then built once per test session, shared by the xdist workers, and ``root`` gets a copy of it."""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

SAMPLE_RAW = Path(__file__).resolve().parent.parent / "data" / "sample" / "raw"
DAY = dt.date(2019, 1, 11)
# The Beijing histories from 2015-01-01 of the modules that use one (features, the scheduler's
# backfill, the daily DAG local and on aws, training): a ``LakeCache`` builds a longer one through
# the shorter ones and keeps each on its way, so the session runs the ETL of those days once.
BEIJING_START = dt.date(2015, 1, 1)
BEIJING_ENDS = (dt.date(2015, 1, 12), dt.date(2015, 1, 25), dt.date(2015, 1, 29), dt.date(2015, 2, 1),
                dt.date(2015, 3, 31))


def local_backend(root, *, group: str | None = None, **training):
    """The local backend on the lake at ``root`` and the in-repo sample, with the model group and
    training settings a test needs (e.g. ``eval_days=7``)."""
    from include import config
    from include.backends import build

    base = config.Settings()
    settings = base.replace(local_lake=str(root), local_raw_root=str(SAMPLE_RAW),
                            model_group=group or base.model_group,
                            training=base.training.__class__(**{**base.training.__dict__, **training}))
    return build(settings)


# A lake is a recipe: steps ("etl", day) and ("forecast", day), run in order on an empty lake.

def _etl_steps(*ranges) -> list[list[str]]:
    from include.app import ingest

    return [["etl", d.isoformat()] for start, end in ranges for d in ingest.date_range(start, end)]


def _run(root, steps) -> None:
    """The steps on the lake at ``root``: the ETL one day after the other, as ``app.ingest.etl``
    runs a range (on one backend), each forecast on a backend of its own."""
    from include.app import ingest
    from include.app.forecasting import forecast

    backend = None
    for op, day in steps:
        if op == "etl":
            backend = backend or local_backend(root)
            ingest.etl(backend, [dt.date.fromisoformat(day)])
        else:
            backend = None
            forecast(local_backend(root), dt.date.fromisoformat(day))


def _lake(root, steps, cache: "LakeCache | None"):
    from include.lake import Lake

    if cache is None:
        _run(root, steps)
    else:
        cache.copy(steps, root)
    return Lake(str(root))


def ingest_sample(root, *ranges, cache: "LakeCache | None" = None):
    """A lake at ``root`` with the ETL (curated tables, features) run over each inclusive
    ``(start, end)`` date range of the in-repo sample, in date order (the CLI's and the DAG's
    ETL step, ``app.ingest.etl``)."""
    return _lake(root, _etl_steps(*ranges), cache)


def two_country_serving_lake(root, days: int, beijing: dt.date, india: dt.date, cache: "LakeCache | None" = None):
    """The sample's Beijing and Indian days, ``days`` of history before each, forecast for both
    days: India's day is the latest snapshot, Beijing's an older snapshot of its own."""
    steps = _etl_steps((beijing - dt.timedelta(days=days), beijing), (india - dt.timedelta(days=days), india))
    # India first: no champion, persistence marked as a fallback; then Beijing, an older day that
    # must not replace the latest snapshot.
    return _lake(root, steps + [["forecast", india.isoformat()], ["forecast", beijing.isoformat()]], cache)


def build_serving_lake(root: str | Path, day: dt.date = DAY, days: int = 8, cache: "LakeCache | None" = None) -> str:
    steps = _etl_steps((day - dt.timedelta(days=days - 1), day)) + [["forecast", day.isoformat()]]
    return _lake(root, steps, cache).root


class LakeCache:
    """Sample lakes built once per test session under ``root`` and shared by the session's xdist
    workers; every user gets a copy (``copy``), so a test may write to its lake.

    A recipe is built from a copy of the longest recipe already built that it starts with (the
    Beijing history of one module is the beginning of another's); a build keeps a copy of each
    ``checkpoints`` recipe and each requested recipe it passes through (their requesters wait for
    it), and a request for a recipe being built waits for it. ``index.json``, read and written
    under an exclusive ``flock`` of ``index.lock``, holds each recipe's steps and state:
    ``building`` (``by`` a process; ``progress`` steps done, ``publish`` the recipes to copy on the
    way), ``done`` (in ``<key>/``) or ``failed`` (its requesters fail too, as when its builder
    died)."""

    POLL_S = 0.2

    def __init__(self, root: str | Path, checkpoints=None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        #: recipes a build keeps on its way when it passes through them (the Beijing histories)
        self.checkpoints = [[list(s) for s in c] for c in checkpoints] if checkpoints is not None else [
            _etl_steps((BEIJING_START, end)) for end in BEIJING_ENDS]

    @staticmethod
    def key(steps) -> str:
        return hashlib.sha256(json.dumps(steps).encode()).hexdigest()[:16]

    @contextlib.contextmanager
    def _index(self):
        import fcntl

        with open(self.root / "index.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path = self.root / "index.json"
            index = json.loads(path.read_text()) if path.exists() else {}
            yield index
            tmp = self.root / f"index.json.{os.getpid()}"
            tmp.write_text(json.dumps(index))
            os.replace(tmp, path)

    def copy(self, steps, dest) -> Path:
        """A copy of the recipe's lake at ``dest`` (built, or waited for, first)."""
        steps = [list(s) for s in steps]
        key = self.key(steps)
        while True:
            with self._index() as index:
                plan = self._plan(index, key, steps)
            if plan == "wait":
                time.sleep(self.POLL_S)
                continue
            if plan != "done":
                self._build(key, steps, *plan[1:])
            break
        shutil.copytree(self.root / key, dest)
        return Path(dest)

    def _plan(self, index: dict, key: str, steps: list):
        """What to do about ``steps`` now (under the index lock): "done", "wait", or ("build", the
        key of the recipe to start from or None, its number of steps)."""
        entry = index.get(key)
        if entry is not None:
            if entry["state"] == "done":
                return "done"
            self._check(entry)
            return "wait"
        for other in index.values():  # a build on its way through this recipe copies it there
            if (other["state"] == "building" and "progress" in other and other["progress"] < len(steps)
                    and other["steps"][:len(steps)] == steps):
                self._check(other)
                other["publish"].append(key)
                index[key] = {"steps": steps, "state": "building", "by": other["by"]}
                return "wait"
        for other in index.values():  # a shorter recipe this one starts with, still being built
            if other["state"] == "building" and steps[:len(other["steps"])] == other["steps"]:
                self._check(other)
                return "wait"
        starts = [k for k, e in index.items() if e["state"] == "done" and steps[:len(e["steps"])] == e["steps"]]
        start = max(starts, key=lambda k: len(index[k]["steps"]), default=None)
        done = len(index[start]["steps"]) if start else 0
        on_the_way = {self.key(c): c for c in self.checkpoints if done < len(c) < len(steps) and steps[:len(c)] == c}
        on_the_way = {k: c for k, c in on_the_way.items() if k not in index}
        for k, c in on_the_way.items():
            index[k] = {"steps": c, "state": "building", "by": os.getpid()}
        index[key] = {"steps": steps, "state": "building", "by": os.getpid(), "progress": done,
                      "publish": list(on_the_way)}
        return "build", start, done

    @staticmethod
    def _check(entry: dict) -> None:
        if entry["state"] == "failed":
            raise RuntimeError(f"building a sample lake failed in process {entry['by']} (see its error)")
        try:
            os.kill(entry["by"], 0)
        except ProcessLookupError:
            raise RuntimeError(f"process {entry['by']} died while building a sample lake") from None

    def _build(self, key: str, steps: list, start: str | None, done: int) -> None:
        work = self.root / f"work-{key}"
        shutil.rmtree(work, ignore_errors=True)
        try:
            if start is not None:
                shutil.copytree(self.root / start, work)
            for i in range(done, len(steps)):
                _run(work, [steps[i]])
                with self._index() as index:  # copy the recipes asked for on the way, before the next step
                    entry = index[key]
                    entry["progress"] = i + 1
                    for other in [k for k in entry["publish"] if len(index[k]["steps"]) == i + 1]:
                        self._store(work, other)
                        index[other]["state"] = "done"
                        entry["publish"].remove(other)
            os.replace(work, self.root / key)
            with self._index() as index:
                index[key]["state"] = "done"
        except BaseException:
            with self._index() as index:
                for k in [key, *index[key].get("publish", [])]:
                    index[k]["state"] = "failed"
            raise

    def _store(self, work: Path, key: str) -> None:
        tmp = self.root / f"tmp-{key}"
        shutil.copytree(work, tmp)
        os.replace(tmp, self.root / key)


def daily_dag_for_test():
    """The daily DAG as dag.test() runs it in a test: depends_on_past off, as ``aqicast run`` does
    (dag.test has no way out of a past dependency on an earlier failed run of another test; the
    scheduler-backed backfill test covers depends_on_past)."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(Path(__file__).resolve().parent.parent / "dags")).get_dag("aqicast_daily")
    for t in dag.tasks:
        t.depends_on_past = False
    return dag
