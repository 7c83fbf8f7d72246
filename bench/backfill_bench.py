"""Backfill benchmark: the ETL of N consecutive days with each engine, and a paper projection to Glue.

    python bench/backfill_bench.py --spark-python .venv-glue/bin/python   # 7, 14, 28 global days
    python bench/backfill_bench.py --days 7,14 --locations 3000          # smaller
    python bench/backfill_bench.py --quick                                # smoke sizes

1. Generates (or reuses) the world history of ``bench/global_history.py`` for the longest N days
   (default 10,000 OpenAQ locations around 260 cities, 12,000 GSOD stations, 30,000 fetch records
   a day; cached under ``bench/out/history-<hash>``, shared with ``global_daily_bench``): one
   archive csv.gz per location and local day, one fetch object per day, GSOD current-year files
   holding Jan 1 .. the last day (a backfill today reads the complete files of the real bucket).
2. Runs, each in a fresh process through the command line, for each N: ``aqicast etl --start
   --end`` in-process (``--jobs 1``, ``--jobs 2``) and with ``--engine spark`` (local[2]). All
   engines run in ``--spark-python``'s environment (the Spark venv, which also has everything the
   in-process engine needs), so they share its installed bytecode. Peak memory is sampled every
   0.2 s over the process tree (psutil): the driver (the ``aqicast`` process), the JVM, and the
   largest worker (a pool process or a PySpark worker).
3. Prints a table, writes ``bench/out/backfill_bench.json`` and a paper projection to Glue 5.0
   from the measured per-date CPU cost. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.global_history import DEFAULT_START as START, OUT  # noqa: E402
#: AWS Glue's price for Spark jobs (Glue 2.0 and later), us-east-1, per DPU-hour billed per second
#: (1-minute minimum); AWS's long-standing list price (aws.amazon.com/glue/pricing), as of this
#: README's writing (2026-12); G.1X = 1 DPU (4 vCPU, 16 GB) per worker, one of them the driver.
GLUE_PRICE_PER_DPU_HOUR = 0.44
GLUE_CORES_PER_WORKER = 4
GLUE_STARTUP_S = 60  # Glue 5.0 job start (AWS quotes "under a minute" for Glue 4.0+ Spark jobs)


def generate(days: int, locations: int, stations: int | None = None, fetch_records: int | None = None,
             seed: int = 0) -> dict:
    """The world history of ``bench/global_history.py`` (cached under ``bench/out/history-<hash>``,
    shared with ``global_daily_bench``): one archive csv.gz per location and local day, one fetch
    object per day, GSOD current-year files holding Jan 1 .. the last day (a backfill today reads
    the complete files, as on the real bucket), per-location persistence from the real sample."""
    from bench.global_history import default_root, generate_history, params_for

    params = params_for(START, days, locations, seed, stations, fetch_records)
    info = generate_history(default_root(params), START, days, locations, seed, stations=stations,
                            fetch_records=fetch_records, progress=True)
    records = {d["date"]: d["archive"]["rows"] + d["fetches"]["rows"] + params["stations"] for d in info["per_day"]}
    return {"params": params, "raw_root": info["raw_root"], "records_per_day": records}


def _sample(pid: int, peaks: dict, stop: threading.Event) -> None:
    import psutil

    root = psutil.Process(pid)
    while not stop.is_set():
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            return
        for p in procs:
            try:
                rss = p.memory_info().rss / 2**20
                role = "driver" if p.pid == pid else "jvm" if p.name() == "java" else "worker"
            except psutil.Error:
                continue
            peaks[role] = max(peaks.get(role, 0.0), rss)
        stop.wait(0.2)


def run(cmd: list[str]) -> dict:
    import resource

    stop, peaks = threading.Event(), {}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = threading.Thread(target=_sample, args=(proc.pid, peaks, stop), daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err.decode()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the process tree's CPU (reaped descendants)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), **{f"peak_{k}_mb": round(v) for k, v in peaks.items()}}


def projection(per_date_cpu_s: float, features_per_date_s: float) -> list[dict]:
    """Wall time, DPU-hours and dollars of a Glue 5.0 backfill on paper: each executor core runs one
    date at a time (the measured CPU seconds of one date), dates spread evenly, plus job start."""
    rows = []
    for years in (1, 10):
        dates = 365 * years
        for workers in (10, 50):
            cores = (workers - 1) * GLUE_CORES_PER_WORKER  # one worker is the driver
            waves = -(-dates // cores)
            wall = GLUE_STARTUP_S + waves * (per_date_cpu_s + features_per_date_s)
            dpu_hours = workers * wall / 3600
            rows.append({"years": years, "dates": dates, "workers": workers, "wall_h": round(wall / 3600, 2),
                         "dpu_hours": round(dpu_hours, 1), "usd": round(dpu_hours * GLUE_PRICE_PER_DPU_HOUR, 2)})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--days", default="7,14,28", help="comma-separated range lengths (default 7,14,28)")
    p.add_argument("--locations", type=int, default=10_000)
    p.add_argument("--stations", type=int, default=None, help="GSOD stations (default 1.2 x locations)")
    p.add_argument("--fetch-records", type=int, default=None, help="fetch records per day (default 3 x locations)")
    p.add_argument("--spark-python", default=sys.executable, help="the Spark venv's interpreter (.venv-glue/bin/python)")
    p.add_argument("--engines", default="local-jobs1,local-jobs2,spark-local2")
    p.add_argument("--per-date-cpu-s", type=float, default=None,
                   help="CPU seconds of one global-size date for the projection (default: bench/out/etl_cli_bench.json)")
    p.add_argument("--quick", action="store_true", help="3 days, 200 locations")
    args = p.parse_args(argv)
    if args.quick:
        args.days, args.locations = "3", 200
    lengths = sorted(int(x) for x in args.days.split(","))
    info = generate(lengths[-1], args.locations, args.stations, args.fetch_records)
    aqicast = str(Path(args.spark_python).with_name("aqicast"))
    engines = {"local-jobs1": ["--jobs", "1"], "local-jobs2": ["--jobs", "2"], "spark-local2": ["--engine", "spark"]}
    results = []
    work = Path(tempfile.mkdtemp(prefix="backfill-bench-", dir=OUT))
    try:
        for n in lengths:
            end = START + dt.timedelta(days=n - 1)
            records = sum(v for d, v in info["records_per_day"].items() if d <= end.isoformat())
            for name in args.engines.split(","):
                lake = work / f"lake-{name}-{n}"
                r = run([aqicast, "etl", "--start", START.isoformat(), "--end", end.isoformat(),
                         "--raw-root", info["raw_root"], "--lake", str(lake), *engines[name]])
                shutil.rmtree(lake, ignore_errors=True)
                r.update(engine=name, days=n, days_per_s=round(n / r["wall_s"], 3), records=records,
                         records_per_s=round(records / r["wall_s"]))
                results.append(r)
                print(json.dumps(r), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    by = {(r["engine"], r["days"]): r for r in results}
    ratio = {n: round(by[("spark-local2", n)]["wall_s"] / by[("local-jobs2", n)]["wall_s"], 2)
             for n in lengths if ("spark-local2", n) in by and ("local-jobs2", n) in by}
    cli = OUT / "etl_cli_bench.json"
    per_date = args.per_date_cpu_s or (json.loads(cli.read_text())["aqicast etl"]["cpu_s"]["best"] if cli.exists() else 10.0)
    out = {"params": info["params"], "results": results, "spark_over_local_jobs2": ratio,
           "machine": {"cpus": os.cpu_count(), "load_avg_1m_at_end": os.getloadavg()[0]},
           "projection": {"per_date_cpu_s": per_date, "price_usd_per_dpu_hour": GLUE_PRICE_PER_DPU_HOUR,
                          "rows": projection(per_date, 0.1 * per_date)}}
    (OUT / "backfill_bench.json").write_text(json.dumps(out, indent=2))
    print(f"\n{'engine':<14}{'days':>5}{'wall s':>9}{'cpu s':>8}{'days/s':>8}{'rec/s':>10}{'driver MB':>11}{'jvm MB':>8}{'worker MB':>11}")
    for r in results:
        print(f"{r['engine']:<14}{r['days']:>5}{r['wall_s']:>9.1f}{r.get('cpu_s', 0):>8.1f}{r['days_per_s']:>8.3f}{r['records_per_s']:>10,}"
              f"{r.get('peak_driver_mb', 0):>11,}{r.get('peak_jvm_mb', 0):>8,}{r.get('peak_worker_mb', 0):>11,}")
    print(f"spark local[2] / in-process --jobs 2: {ratio}")
    print(f"\nGlue 5.0 projection (G.1X, ${GLUE_PRICE_PER_DPU_HOUR}/DPU-hour, {per_date:.1f} CPU-s per global date):")
    for row in out["projection"]["rows"]:
        print(f"  {row['years']:>2} y, {row['workers']:>2} workers: {row['wall_h']:>6.2f} h, "
              f"{row['dpu_hours']:>7.1f} DPU-h, ${row['usd']:,.2f}")
    print(f"\nwritten: {OUT / 'backfill_bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
