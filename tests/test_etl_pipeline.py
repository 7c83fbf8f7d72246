"""The ETL for a logical date: partitions, idempotency, atomic writes, the run report, the CLI."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import pandas as pd
import pytest

from include.cli import main
from include.catalog import AIR_QUALITY, WEATHER
from include.etl.pipeline import run_etl
from include.lake import Lake


def tree_digest(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "_runs" not in p.parts}


def test_rerun_replaces_partitions_byte_for_byte(sample_raw, lake_root):
    lake = Lake(str(lake_root))
    day = dt.date(2015, 3, 1)
    run_etl(day, lake, sample_raw)
    first = tree_digest(lake_root)
    run_etl(day, lake, sample_raw)
    assert tree_digest(lake_root) == first
    assert not [p for p in lake_root.rglob(".tmp-*")]  # no temp files left behind
    aq = lake.read_partition(AIR_QUALITY, day)
    assert aq["location_id"].is_unique and len(aq) == 4
    assert set(first) == {
        "curated/air_quality_daily/date=2015-03-01/part-00000.parquet",
        "curated/weather_daily/date=2015-03-01/part-00000.parquet",
        "curated/measurements_hourly/date=2015-03-01/part-00000.parquet",
        "curated/city_hourly_profile/date=2015-03-01/part-00000.parquet",
        "features/city_daily/date=2015-03-01/part-00000.parquet",
        "quarantine/noaa-gsod/date=2015-03-01/part-00000.parquet",
        "quarantine/openaq-archive/date=2015-03-01/part-00000.parquet",
        "quarantine/openaq-fetches/date=2015-03-01/part-00000.parquet",
    }


def test_a_date_only_writes_its_own_partitions(sample_raw, lake_root):
    lake = Lake(str(lake_root))
    run_etl(dt.date(2015, 3, 1), lake, sample_raw)
    before = tree_digest(lake_root)
    run_etl(dt.date(2015, 3, 2), lake, sample_raw)
    after = tree_digest(lake_root)
    assert {k for k in after if "2015-03-01" in k} == set(before)
    assert all("2015-03-01" in k or "2015-03-02" in k for k in after)
    # ...except the features of 03-01, rebuilt by 03-02's run to fill their target (AQI of 03-02).
    changed = {k for k in before if after[k] != before[k]}
    assert changed <= {"features/city_daily/date=2015-03-01/part-00000.parquet"}


def test_run_report_names_failed_objects(raw_builder, lake_root):
    raw_builder.copy("openaq-data-archive/records/csv.gz/locationid=9000001")
    bad = raw_builder.write(
        "openaq-data-archive/records/csv.gz/locationid=9000002/year=2015/month=03/location-9000002-20150301.csv.gz",
        b"\x1f\x8b\x08\x00broken")
    lake = Lake(str(lake_root))
    report = run_etl(dt.date(2015, 3, 1), lake, raw_builder.raw)
    assert report["failed_objects"] == 1
    assert report["sources"]["openaq-archive"]["failed_objects"][0]["path"] == str(bad)
    assert report["outputs"]["air_quality_daily"] == 1
    saved = json.loads((lake_root / "_runs/etl/date=2015-03-01.json").read_text())
    assert saved["failed_objects"] == 1


def test_cli_range_writes_every_day_and_prints_a_table(lake_root, capsys):
    assert main(["etl", "--start", "2015-02-27", "--end", "2015-03-01", "--lake", str(lake_root)]) == 0
    out = capsys.readouterr().out
    assert "openaq-archive" in out and "quarantined" in out
    lake = Lake(str(lake_root))
    assert lake.partition_days(AIR_QUALITY) == ["2015-02-27", "2015-02-28", "2015-03-01"]
    assert lake.partition_days(WEATHER) == ["2015-02-27", "2015-02-28", "2015-03-01"]
    weather = lake.read_partitions(WEATHER, ["2015-02-27", "2015-02-28", "2015-03-01"])
    assert len(weather) == 9 and weather.groupby("date").size().eq(3).all()


def test_cli_json_and_reprocess_window(lake_root, capsys):
    assert main(["etl", "--date", "2015-03-03", "--reprocess-days", "2", "--json", "--lake", str(lake_root)]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["date"] for r in reports] == ["2015-03-01", "2015-03-02", "2015-03-03"]
    aq = pd.read_parquet(lake_root / "curated/air_quality_daily/date=2015-03-03/part-00000.parquet")
    assert set(aq["city"]) == {"Beijing"}


def test_the_reader_helper_process_writes_what_one_process_writes(tmp_path):
    """``aqicast etl`` in a fresh process (no other Python thread: the helper is forked) with a
    helper process inflating the archive's objects (one slice each on the sample) and reading
    GSOD, and with everything in one process: the same
    partitions, byte for byte, and the same run reports but for their timing. The days: real
    fetches and GSOD (2014-03-30), the Beijing archive and GSOD over a range (2015-01-10..11)."""
    import os
    import subprocess
    import sys

    def run(processes: int) -> tuple[dict, dict, str]:
        lake = tmp_path / f"lake-{processes}"
        env = {**os.environ, "AQICAST_ETL_READER_PROCESSES": str(processes)}
        logs = ""
        for days in (["--date", "2014-03-30"], ["--start", "2015-01-10", "--end", "2015-01-11"]):
            out = subprocess.run([sys.executable, "-m", "include.cli", "-v", "etl", *days, "--lake", str(lake)],
                                 env=env, capture_output=True, text=True, timeout=300)
            assert out.returncode == 0, out.stderr[-3000:]
            logs += out.stderr
        reports = {p.name: {k: v for k, v in json.loads(p.read_text()).items() if k != "seconds"}
                   for p in (lake / "_runs" / "etl").glob("*.json")}
        return tree_digest(lake), reports, logs

    one, one_reports, one_logs = run(1)
    two, two_reports, two_logs = run(2)
    shared = "slices shared with a helper process"
    assert shared in two_logs and shared not in one_logs
    assert two_logs.count(shared) == 3  # each day (the helper forked once per command)
    helped = "cities and the hourly profile computed in the helper process"
    assert two_logs.count(helped) == 3 and helped not in one_logs
    assert two == one and len(one) == 3 * 8
    assert two_reports == one_reports and len(one_reports) == 3
    assert one_reports["date=2014-03-30.json"]["sources"]["openaq-fetches"]["rows_kept"] > 0


def test_archive_slices_follow_the_order_the_raw_root_reads_them_in():
    from include.etl.pipeline import _slices

    paths = [f"/raw/a/{k:02d}.csv.gz" for k in range(10)]
    assert _slices(list(reversed(paths)) + paths[:3], 3) == [paths[:4], paths[4:8], paths[8:]]
    assert _slices(paths, 20) == [[p] for p in paths]
    assert _slices([], 8) == [[]]
    # Paths the raw root would expand (a glob, an object-store key) are read as one slice.
    assert _slices(["/raw/a/*.csv.gz", "/raw/b.csv.gz"], 8) == [["/raw/a/*.csv.gz", "/raw/b.csv.gz"]]
    assert _slices(["bucket/x.csv.gz", "bucket/y.csv.gz"], 8) == [["bucket/x.csv.gz", "bucket/y.csv.gz"]]


def test_what_a_dying_helper_leaves_undone_is_done_here(tmp_path):
    """The helper process dies on the first archive slice it claims (``os._exit`` in the forked
    child only): that slice and GSOD, which it was to read, are read in the calling process (and
    the fetches, which this process claims first), and the run writes exactly what a one-process
    run writes. In a fresh interpreter:
    the helper is only forked where no other Python thread runs (not in a pytest-xdist worker)."""
    import os
    import subprocess
    import sys

    script = """
import datetime as dt, json, os, sys
from include.etl import openaq_archive, pipeline
from include.etl.rawio import RawRoot
from include.lake import Lake
from tests.conftest import SAMPLE_RAW
parent, parse = os.getpid(), openaq_archive.parse_slice
def dying(raw, paths):
    if os.getpid() != parent:
        os._exit(3)
    return parse(raw, paths)
openaq_archive.parse_slice = dying
day = dt.date(2015, 1, 10)
for processes, lake in ((2, sys.argv[1]), (1, sys.argv[2])):
    report = pipeline.run_etl(day, Lake(lake), RawRoot(str(SAMPLE_RAW)), reader_processes=processes)
pipeline.close_helper()
"""
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "two"), str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "AQICAST_LOG_LEVEL": "INFO"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "the reader helper process died; parsing its openaq-archive slices here" in out.stderr
    assert "the reader helper process died; reading noaa-gsod here" in out.stderr  # the fetches: this process claimed them
    two, one = tree_digest(tmp_path / "two"), tree_digest(tmp_path / "one")
    assert two == one and len(one) >= 8
    reports = [{k: v for k, v in json.loads((tmp_path / lake / "_runs/etl/date=2015-01-10.json").read_text()).items()
                if k != "seconds"} for lake in ("two", "one")]
    assert reports[0] == reports[1]
    assert reports[0]["sources"]["openaq-archive"]["rows_kept"] > 0 and reports[0]["outputs"]["weather_daily"] > 0


@pytest.mark.parametrize("step, left", [
    ("_assign_cities_kept", ["assigning cities and profiling here", "writing curated/measurements_hourly here"]),
    ("_profile_of_kept", ["; profiling here", "writing curated/measurements_hourly here"]),
    ("_write_partition", ["writing curated/measurements_hourly here"]),
])
def test_a_helper_dying_on_its_work_after_reading_leaves_it_to_this_process(tmp_path, step, left):
    """The helper reads its share and then dies (``os._exit`` in the forked child only) on the
    cities it is given, on the hourly profile it is given next, or on the measurements partition
    it then writes: what it left undone is done here, and the run writes exactly what a
    one-process run writes (fresh interpreter, as above)."""
    import os
    import subprocess
    import sys

    script = f"""
import datetime as dt, os, sys
from include.etl import pipeline
from include.etl.rawio import RawRoot
from include.lake import Lake
from tests.conftest import SAMPLE_RAW
parent, step = os.getpid(), pipeline.{step}
def dying(*args):
    if os.getpid() != parent:
        os._exit(3)
    return step(*args)
pipeline.{step} = dying
day = dt.date(2015, 1, 10)
for processes, lake in ((2, sys.argv[1]), (1, sys.argv[2])):
    pipeline.run_etl(day, Lake(lake), RawRoot(str(SAMPLE_RAW)), reader_processes=processes)
pipeline.close_helper()
"""
    import glob
    import tempfile

    shipped = os.path.join("/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir(), "aqicast-*.pickle")
    before = set(glob.glob(shipped))
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "two"), str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "AQICAST_LOG_LEVEL": "INFO"})
    assert out.returncode == 0, out.stderr[-3000:]
    for message in left:
        assert f"the reader helper process died{message}" in out.stderr if message.startswith(";") else \
            f"the reader helper process died; {message}" in out.stderr
    if step != "_assign_cities_kept":
        assert "assigning cities and profiling here" not in out.stderr
    if step == "_write_partition":
        assert "profiling here" not in out.stderr
    assert set(glob.glob(shipped)) <= before  # what was shipped to the helper is not left behind
    two, one = tree_digest(tmp_path / "two"), tree_digest(tmp_path / "one")
    assert two == one and len(one) >= 8 and any("city_hourly_profile" in k for k in one)
    reports = [{k: v for k, v in json.loads((tmp_path / lake / "_runs/etl/date=2015-01-10.json").read_text()).items()
                if k != "seconds"} for lake in ("two", "one")]
    assert reports[0] == reports[1] and reports[0]["cities"]["with_city"] > 0


def test_batch_commands_do_not_ask_numpy_for_huge_pages(monkeypatch):
    """Unless ``NUMPY_MADVISE_HUGEPAGE`` says otherwise: numpy's switch off where numpy is imported
    already, the variable set before it is (a fresh process, as the console script starts)."""
    import subprocess
    import sys

    import numpy._core.multiarray as multiarray

    import include.cli as cli

    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    before = multiarray._set_madvise_hugepage(True)
    try:
        cli._no_numpy_huge_pages()
        assert multiarray._set_madvise_hugepage(True) is False  # it was off
        monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")  # told otherwise: left alone
        cli._no_numpy_huge_pages()
        assert multiarray._set_madvise_hugepage(True) is True
    finally:
        multiarray._set_madvise_hugepage(before)
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE")
    fresh = subprocess.run([sys.executable, "-c", "import os, sys; import include.cli as c; assert 'numpy' not in sys.modules; "
                            "c._no_numpy_huge_pages(); import numpy._core.multiarray as m; "
                            "print(os.environ['NUMPY_MADVISE_HUGEPAGE'], m._set_madvise_hugepage(True))"],
                           capture_output=True, text=True, timeout=60)
    assert fresh.stdout.split() == ["0", "False"], fresh.stderr[-2000:]


def test_batch_commands_tune_glibc_malloc_unless_told_otherwise(monkeypatch):
    import ctypes

    import include.cli as cli

    calls = []

    class Libc:
        def mallopt(self, param, value):
            calls.append((param.value, value.value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: Libc())
    monkeypatch.setattr(cli.sys, "platform", "linux")
    for k in [k for k in __import__("os").environ if k.startswith("MALLOC_")]:
        monkeypatch.delenv(k)
    cli._batch_allocator()
    assert dict(calls) == {-3: 32 << 20, -1: 1 << 30, -2: 64 << 20}  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_TOP_PAD
    calls.clear()
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")  # the user tunes malloc: leave it alone
    cli._batch_allocator()
    assert calls == []
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    monkeypatch.setattr(ctypes, "CDLL", lambda name: object())  # a C library without mallopt (musl)
    cli._batch_allocator()
    assert calls == []


def test_a_failed_write_in_the_helper_fails_the_run_with_its_error(tmp_path):
    """The helper's write of the measurements partition fails (in the forked child only): the run
    fails with that write's own error (a ``LakeWriteError`` naming the partition), as a failed
    write in this process does, and leaves nothing half-written (fresh interpreter, as above)."""
    import os
    import subprocess
    import sys

    script = """
import datetime as dt, os, sys
from include.etl import pipeline
from include.etl.rawio import RawRoot
from include.lake import Lake, LakeWriteError
from tests.conftest import SAMPLE_RAW
parent, write = os.getpid(), Lake.write_partition
def failing(self, table, day, df):
    if os.getpid() != parent and table == "curated/measurements_hourly":
        raise LakeWriteError(f"could not write {table} in lake {self.root}: No space left on device", table)
    return write(self, table, day, df)
Lake.write_partition = failing
try:
    pipeline.run_etl(dt.date(2015, 1, 10), Lake(sys.argv[1]), RawRoot(str(SAMPLE_RAW)), reader_processes=2)
except LakeWriteError as exc:
    print("failed:", exc)
pipeline.close_helper()
"""
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "lake")], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "failed: could not write curated/measurements_hourly" in out.stdout and "No space left" in out.stdout
    assert not (tmp_path / "lake" / "curated" / "measurements_hourly").exists()
    assert not (tmp_path / "lake" / "_runs").exists()  # no run report: the run did not succeed


def test_what_a_killed_run_shipped_to_its_helper_is_swept():
    """``pipeline.sweep_shipped`` removes the shared-memory files of processes that have ended (a
    killed run's arguments and results: that folder is RAM) and keeps a live process's."""
    import os
    import subprocess
    import sys

    from include.etl import pipeline

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(ended.stdout)
    folder = pipeline._ship_folder()
    mine = pipeline._ship({"hourly": list(range(10))})
    assert os.path.basename(mine).startswith(f"aqicast-{os.getpid()}-")
    stale = os.path.join(folder or __import__("tempfile").gettempdir(), f"aqicast-{dead_pid}-x1y2z3.pickle")
    with open(stale, "wb") as f:
        f.write(b"left by a killed run")
    try:
        assert pipeline.sweep_shipped() >= 1
        assert not os.path.exists(stale) and os.path.exists(mine)
        assert pipeline._unship(mine) == {"hourly": list(range(10))} and not os.path.exists(mine)
    finally:
        for path in (stale, mine):
            if os.path.exists(path):
                os.unlink(path)
