"""Faults while the ETL writes the lake, with the real command (``python -m include.cli etl``) in
subprocesses:

* SIGKILL at random moments of the write phase (seeded): afterwards every partition and run
  report is either the old one or the new one, every Parquet file and JSON document reads, and a
  rerun gives exactly a clean run's partitions (and removes the killed run's temp files).
  The normal suite kills ``AQICAST_FAULT_KILLS`` runs (default 3); for many seeds run e.g.
  ``AQICAST_FAULT_KILLS=100 pytest tests/test_faults_etl.py -k sigkill -s``.
* Two ETL runs of the same date at once on the same lake: both exit 0, the result equals one run.
* An unusable lake root (a file where the folder should be, a parent that is a file, a root that
  /proc or /sys will not create, real failures even as root):
  ``aqicast: error: lake root ... is not writable: ...`` on one line, exit 2, no traceback.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from include.lake import PART, TMP_PREFIX, Lake, LakeError, LakeWriteError

REPO = Path(__file__).resolve().parents[1]
SAMPLE_RAW = REPO / "data" / "sample" / "raw"
DAY = "2013-03-05"  # a small day of the sample with rows in every curated table
TABLES = ["curated/air_quality_daily", "curated/measurements_hourly", "curated/city_hourly_profile",
          "curated/weather_daily", "quarantine/noaa-gsod", "quarantine/openaq-archive",
          "quarantine/openaq-fetches", "features/city_daily"]
RUN_REPORT = f"_runs/etl/date={DAY}.json"
KILLS = int(os.getenv("AQICAST_FAULT_KILLS", "3"))
RERUNS = int(os.getenv("AQICAST_FAULT_RERUNS", "1"))
WRITE_WINDOW_S = 0.6  # the write phase of this day takes ~0.3 s on 2 cores: kills land in it or just after


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "AQICAST_RAW_ROOT": str(SAMPLE_RAW)}


def etl_cmd(lake: Path) -> list[str]:
    return [sys.executable, "-m", "include.cli", "etl", "--date", DAY, "--lake", str(lake), "--raw-root", str(SAMPLE_RAW)]


def snapshot(lake: Path) -> dict[str, object]:
    """Every object of the lake by relative path: Parquet as bytes (after checking it reads), JSON
    parsed (run reports without their timing); temp files are listed separately by the caller."""
    out: dict[str, object] = {}
    for f in sorted(lake.rglob("*")):
        if not f.is_file() or f.name.startswith(TMP_PREFIX):
            continue
        rel = str(f.relative_to(lake))
        data = f.read_bytes()
        if f.suffix == ".parquet":
            pq.read_table(f)  # readable, whole
            out[rel] = data
        elif f.suffix == ".json":
            doc = json.loads(data)
            doc.pop("seconds", None)
            out[rel] = doc
        else:
            out[rel] = data
    return out


def temp_files(lake: Path) -> list[Path]:
    return sorted(lake.rglob(f"{TMP_PREFIX}*"))


def write_old_state(lake: Path) -> dict:
    """The lake as an earlier run left it: a (different) partition per table and a run report."""
    import pandas as pd

    old = Lake(str(lake))
    for table in TABLES:
        old.write_partition(table, DAY, pd.DataFrame({"old": [1, 2, 3]}))
    old.write_json(old.path(RUN_REPORT), {"date": DAY, "old": True})
    return snapshot(lake)


def readers_see(lake: Path) -> dict[str, int]:
    """What the lake's own readers see: the days listed per table and the rows they read."""
    lk = Lake(str(lake))
    rows = {}
    for table in TABLES:
        days = lk.partition_days(table)
        assert days in ([], [DAY]), (table, days)
        if days:
            rows[table] = len(lk.read_partition(table, DAY))
    lk.read_json(lk.path(RUN_REPORT))
    return rows


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """A clean run's lake: the function ``aqicast etl --date D`` runs, uninterrupted, in-process
    (the partitions are byte-for-byte the same as the command's, see the concurrent test)."""
    import datetime as dt

    from include.etl.pipeline import run_etl
    from include.etl.rawio import RawRoot

    lake = tmp_path_factory.mktemp("reference") / "lake"
    run_etl(dt.date.fromisoformat(DAY), Lake(str(lake)), RawRoot(str(SAMPLE_RAW)))
    ref = snapshot(lake)
    assert {f"{t}/date={DAY}/{PART}" for t in TABLES} | {RUN_REPORT} <= set(ref)
    assert not temp_files(lake)
    return ref


def kill_once(lake: Path, seed: int) -> dict:
    """Start the ETL on ``lake`` (holding the old state), wait until it starts writing (a temp file
    or a new inode in the first partition it writes), sleep a seeded random time within the write
    window, SIGKILL it."""
    rng = random.Random(seed)
    delay = rng.uniform(0, WRITE_WINDOW_S)
    first = lake / TABLES[0] / f"date={DAY}"
    inode = (first / PART).stat().st_ino
    proc = subprocess.Popen(etl_cmd(lake), env=env(), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            names = os.listdir(first)
            if len(names) > 1 or (first / PART).stat().st_ino != inode:
                break
            time.sleep(0.001)
        time.sleep(delay)
        exited_before = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    return {"seed": seed, "delay_s": round(delay, 3), "exited_before_kill": exited_before, "rc": proc.returncode,
            "orphans": survivors(lake)}


def survivors(lake: Path, wait_s: float = 10.0) -> int:
    """Processes still running a command on ``lake`` (the killed command's reader helper, say)
    once ``wait_s`` has passed; 0 as soon as there is none."""
    def running() -> int:
        n = 0
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    n += str(lake).encode() in f.read()
            except OSError:
                continue
        return n

    deadline = time.monotonic() + wait_s
    while (n := running()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return n


def rows(state: dict) -> int:
    import pyarrow as pa

    return sum(pq.read_table(pa.BufferReader(v)).num_rows for k, v in state.items() if k.endswith(".parquet"))


def classify(state: dict, old: dict, ref: dict) -> str:
    new = sum(1 for k, v in state.items() if ref.get(k) == v and old.get(k) != v)
    if new == 0:
        return "all old"
    return "all new" if all(ref.get(k) == v for k, v in state.items() if k in ref) else "mixed"


def test_sigkill_during_etl_leaves_old_or_new_partitions_and_rerun_repairs(tmp_path, reference):
    template = tmp_path / "old"
    old = write_old_state(template)
    lakes = [tmp_path / f"kill-{seed}" for seed in range(KILLS)]
    for lake in lakes:
        shutil.copytree(template, lake)
    with ThreadPoolExecutor(2) as pool:  # two at a time on 2 cores
        kills = list(pool.map(lambda a: kill_once(*a), [(lake, seed) for seed, lake in enumerate(lakes)]))

    outcomes, strays = {}, 0
    assert [k["orphans"] for k in kills] == [0] * KILLS, "a killed command's helper process ends with it"
    for lake, kill in zip(lakes, kills):
        state = snapshot(lake)  # every Parquet file and JSON document under the lake reads
        for rel, value in state.items():
            assert value == old.get(rel) or value == reference.get(rel), f"seed {kill['seed']}: {rel} is neither old nor new"
        assert set(old) <= set(state), f"seed {kill['seed']}: a partition disappeared"
        readers_see(lake)
        tmps = temp_files(lake)
        strays += len(tmps)
        kill.update(outcome=classify(state, old, reference), temp_files=len(tmps))
        outcomes[kill["outcome"]] = outcomes.get(kill["outcome"], 0) + 1

    # Rerun on the killed lakes that are furthest from a clean state (temp files, mixed).
    order = sorted(range(KILLS), key=lambda i: (-kills[i]["temp_files"], kills[i]["outcome"] != "mixed"))
    rerun = [lakes[i] for i in order[:RERUNS]]
    done = [subprocess.run(etl_cmd(lake), env=env(), cwd=REPO, capture_output=True, text=True, timeout=120)
            for lake in rerun]
    rows_lost = 0
    for lake, d in zip(rerun, done):
        assert d.returncode == 0, d.stderr
        repaired = snapshot(lake)
        assert {k: v for k, v in repaired.items() if k in reference} == reference
        assert not temp_files(lake), "the rerun removes the killed run's temp files"
        rows_lost += rows(reference) - rows(repaired)
    print(f"\n{KILLS} SIGKILLs in the write phase: outcomes {outcomes}, "
          f"{sum(k['exited_before_kill'] for k in kills)} finished before the signal, {strays} temp files left "
          f"(ignored by readers); no partial or unreadable partition; {len(rerun)} reruns equal a clean run, "
          f"rows lost {rows_lost}")
    for k in kills:
        print("  ", k)


def test_two_concurrent_runs_equal_one_run(tmp_path, reference):
    lake = tmp_path / "lake"
    env_ = env()
    procs = [subprocess.Popen(etl_cmd(lake), env=env_, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    assert snapshot(lake) == reference
    assert not temp_files(lake)


def test_unusable_lake_root_is_one_line_exit_2(tmp_path, capsys):
    from include.cli import main

    empty_raw = tmp_path / "raw"  # nothing to read: the command reaches its first write at once
    empty_raw.mkdir()
    afile = tmp_path / "not-a-folder"
    afile.write_text("a file where the lake folder should be")
    # the real command, in a subprocess
    done = subprocess.run([sys.executable, "-m", "include.cli", "etl", "--date", DAY, "--lake", str(afile),
                           "--raw-root", str(empty_raw)], env=env(), cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"aqicast: error: lake root {afile} is not writable: it is a file, not a folder\n"
    assert done.stdout == ""
    # main() in-process: a parent that is a file, a root /proc will not create
    for root, why in [(afile / "sub" / "lake", f"{afile} is a file, not a folder"),
                      ("/proc/aqicast-no-such/lake", "cannot create it (No such file or directory)")]:
        assert main(["etl", "--date", DAY, "--lake", str(root), "--raw-root", str(empty_raw)]) == 2
        err = capsys.readouterr().err
        assert err == f"aqicast: error: lake root {root} is not writable: {why}\n"
    assert afile.read_text().startswith("a file")  # untouched


@pytest.mark.parametrize("root", ["/proc/aqicast-no-such/lake", "/sys/aqicast-lake"])
def test_root_that_cannot_be_created(root):
    """Real failures even as root: /proc refuses new folders (ENOENT), /sys too (EPERM)."""
    import pandas as pd

    if os.path.isdir(os.path.dirname(root)) and os.access(os.path.dirname(root), os.W_OK):
        try:
            os.makedirs(root)
        except OSError:
            pass
        else:  # pragma: no cover - a system where this is writable
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip(f"{root} is writable here")
    with pytest.raises(LakeError, match=rf"^lake root {root} is not writable: cannot create it \(.+\)$"):
        Lake(root).write_partition("curated/weather_daily", DAY, pd.DataFrame({"a": [1]}))
    with pytest.raises(LakeError, match="not writable"):
        Lake(root).check_writable()


def test_write_error_names_the_partition(tmp_path):
    """A write that fails below a good root (here: the partition folder is a file) names the object."""
    import pandas as pd

    lake = Lake(str(tmp_path / "lake"))
    blocker = tmp_path / "lake" / "curated" / "weather_daily" / f"date={DAY}"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("in the way")
    with pytest.raises(LakeWriteError) as info:
        lake.write_partition("curated/weather_daily", DAY, pd.DataFrame({"a": [1]}))
    assert str(info.value).startswith(f"could not write curated/weather_daily/date={DAY}/{PART} in lake ")
    assert info.value.path == lake.partition_file("curated/weather_daily", DAY)


def test_temp_files_of_dead_writers_are_removed_by_the_next_write(tmp_path):
    import pandas as pd

    from include.lake import STALE_TMP_S, _HOST

    lake = Lake(str(tmp_path / "lake"))
    lake.write_partition("t", DAY, pd.DataFrame({"a": [1]}))
    folder = Path(lake.partition_dir("t", DAY))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    names = {"dead": f"{TMP_PREFIX}{_HOST}-{dead.pid}-{'0' * 32}-{PART}",
             "alive": f"{TMP_PREFIX}{_HOST}-{os.getpid()}-{'1' * 32}-{PART}",
             "other_host_recent": f"{TMP_PREFIX}elsewhere-1-{'2' * 32}-{PART}",
             "ancient": f"{TMP_PREFIX}elsewhere-1-{'3' * 32}-{PART}",
             "old_style": f"{TMP_PREFIX}{'4' * 32}-{PART}"}
    for name in names.values():
        (folder / name).write_bytes(b"half a parqu")
    past = time.time() - STALE_TMP_S - 60
    os.utime(folder / names["ancient"], (past, past))
    assert lake.partition_days("t") == [DAY] and len(lake.read_partition("t", DAY)) == 1  # readers ignore them
    lake.write_partition("t", DAY, pd.DataFrame({"a": [1, 2]}))
    left = {p.name for p in folder.iterdir()}
    assert left == {PART, names["alive"], names["other_host_recent"], names["old_style"]}


def test_killing_a_range_with_two_processes_ends_its_workers(tmp_path):
    """``aqicast etl --start --end --jobs 2`` SIGKILLed while its two worker processes curate days:
    none of them outlives it (each ends with the process that forked it)."""
    lake = tmp_path / "jobs"
    cmd = [sys.executable, "-m", "include.cli", "etl", "--start", "2014-01-01", "--end", "2014-03-31", "--jobs", "2",
           "--lake", str(lake)]
    proc = subprocess.Popen(cmd, env=env(), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(lake.glob("curated/air_quality_daily/date=*")):
            assert proc.poll() is None, "the range finished before it could be killed"
            time.sleep(0.05)
        workers = survivors(lake, wait_s=0) - 1  # the command itself too
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    assert workers >= 1 and survivors(lake) == 0
