"""The whole daily run at global scale: every stage of the DAG for the last day of a generated history.

    python bench/global_daily_bench.py                          # 10,000 locations, 14 days, FLAML 60 s
    python bench/global_daily_bench.py --sizes 3000,10000,20000 # growth with the number of locations
    python bench/global_daily_bench.py --locations 3000 --days 8 --budget 20 --no-dag   # quicker

For each size: the history of ``bench/global_history.py`` (cached), the ETL of every day but the last
(``app.ingest.etl``, cached with the lake), then the last day's DAG stages, each in a fresh process
so its wall time and peak RSS (``os.wait4``) are its own, in the DAG's order on the same lake:
``crawl``, ``etl``, ``gate``, ``retrain_policy`` (forced), ``train`` (FLAML with ``--budget``),
``publish``, ``forecast`` (forecasts + serving snapshot); then the API through FastAPI's TestClient
with every city loaded (``/v1/forecast/{id}`` for every city, ``/v1/cities?prefix=`` for every
two-letter prefix of a city name), the share image of every city (first render, then cached) and,
unless ``--no-dag``, the whole DAG with ``dag.test()`` in a fresh Airflow home.

Every child pre-imports numpy, pandas and pyarrow (the base every stage shares) before its clock
starts, so a stage's seconds include its own heavy imports (the gate's Great Expectations, FLAML).
Figures go to ``bench/out/global_daily_bench.json`` and a table; nothing is asserted. The machine
is shared: compare stages of one run (ratios), not runs of different times.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench._common import percentile  # noqa: E402
from bench.global_history import DEFAULT_START, OUT, default_root, generate_history, params_for  # noqa: E402

STEPS = ("crawl", "etl", "gate", "retrain_policy", "train", "publish", "forecast")
TARGETS = {"gate_over_etl": 1.0, "train_over_budget": 1.2, "forecast_s": 10.0, "forecast_p99_ms": 20.0,
           "prefix_p99_ms": 20.0, "image_s": 0.5}


def _backend(lake: str, raw: str, **training):
    from include import config
    from include.backends import build

    base = config.Settings()
    settings = base.replace(local_lake=lake, local_raw_root=raw,
                            training=base.training.__class__(**{**base.training.__dict__, **training}))
    return build(settings)


# =============================================================================================
# Children
# =============================================================================================
def child(a) -> None:
    import numpy  # noqa: F401 - the shared base, imported before the clock starts
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    day = dt.date.fromisoformat(a.day)
    out: dict = {"step": a.child}
    backend = _backend(a.lake, a.raw, eval_days=a.eval_days, min_train_rows=10)
    t = time.perf_counter()
    if a.child == "crawl":
        from include.app import ingest

        out["objects"] = ingest.crawl(backend, day)
    elif a.child == "etl":
        from include.app import ingest

        (report,) = ingest.etl(backend, [day])
        out["outputs"], out["cities"] = report["outputs"], report["cities"]
        out["rows"] = {s: r["rows_kept"] for s, r in report["sources"].items()}
    elif a.child == "gate":
        out.update(_gate(backend, day))
    elif a.child == "retrain_policy":
        from include.app import training

        decision = training.decide(backend, day, "force")
        out["retrain"] = decision.yes
    elif a.child == "train":
        from include.app import training

        outcome = training.train(backend, day, budget=a.budget)
        out["outcome"] = {k: v for k, v in outcome.items() if isinstance(v, (int, float, str, bool, type(None)))}
    elif a.child == "publish":
        from include.app import deploy

        out["published"] = deploy.publish_champion(backend)
    elif a.child == "forecast":
        from include.app import forecasting

        fc = forecasting.forecast(backend, day)
        out["cities"] = len(fc)
        out["methods"] = fc["method"].value_counts().to_dict()
    elif a.child == "serve":
        out.update(_serve(a.lake))
    elif a.child == "dag":
        out.update(_dag(a, day))
    out["seconds"] = time.perf_counter() - t
    out["peak_rss_mb_self"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(a.result).write_text(json.dumps(out, default=str))


def _gate(backend, day) -> dict:
    """The gate as the DAG runs it, with GX's import and each suite timed; which expectations
    saw every row (the gate's own ``coverage``, when it reports one)."""
    t = time.perf_counter()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations  # noqa: F401

    import_s = time.perf_counter() - t
    import include.quality.gate as gate_mod
    from include.app import quality

    suites: dict[str, float] = {}
    original = gate_mod._validate

    def timed(context, name, suite, frame, *rest, **kw):
        t0 = time.perf_counter()
        try:
            return original(context, name, suite, frame, *rest, **kw)
        finally:
            suites[name] = round(time.perf_counter() - t0, 3)

    gate_mod._validate = timed
    result = quality.gate(backend, day, raise_on_failure=False)
    results = backend.lake.read_json(backend.lake.path("quality", f"date={day}", "results.json"))
    return {"gx_import_s": import_s, "suites_s": suites, "success": result.success,
            "summary": result.summary().splitlines()[0], "coverage": results.get("coverage")}


def _serve(lake: str) -> dict:
    from fastapi.testclient import TestClient

    from include.serving.app import create_app
    from include.serving.service import ForecastService
    from include.serving.store import LocalStore
    from include.text import fold

    snapshot = Path(lake) / "serving" / "latest.json"
    client = TestClient(create_app(ForecastService(LocalStore(lake))))
    cities = json.loads(snapshot.read_bytes())["cities"]
    ids = [c["city_id"] for c in cities]
    client.get("/health")  # loads the snapshot and its index
    fc_ms = []
    for _ in range(3):
        for cid in ids:
            t = time.perf_counter()
            r = client.get(f"/v1/forecast/{cid}")
            fc_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
    prefixes = sorted({fold(c["city"])[:2] for c in cities if len(fold(c["city"])) >= 2})
    px_ms = []
    for _ in range(3):
        for p in prefixes:
            t = time.perf_counter()
            r = client.get("/v1/cities", params={"prefix": p})
            px_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
    # A baseline in the same process: the cheapest route, to read the others against.
    base_ms = []
    for _ in range(200):
        t = time.perf_counter()
        client.get("/health")
        base_ms.append((time.perf_counter() - t) * 1000)
    first, again = [], []
    for cid in ids:
        t = time.perf_counter()
        r = client.get(f"/v1/forecast/{cid}/image")
        first.append(time.perf_counter() - t)
        assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
        t = time.perf_counter()
        client.get(f"/v1/forecast/{cid}/image")
        again.append(time.perf_counter() - t)
    cache = [p for p in (Path(lake) / "serving" / "images").rglob("*.png")]
    size = snapshot.stat().st_size
    return {
        "cities": len(ids), "snapshot_bytes": size, "snapshot_bytes_per_city": size / max(len(ids), 1),
        "forecast_ms": {"p50": percentile(fc_ms, 50), "p99": percentile(fc_ms, 99), "n": len(fc_ms)},
        "prefix_ms": {"p50": percentile(px_ms, 50), "p99": percentile(px_ms, 99), "n": len(px_ms), "prefixes": len(prefixes)},
        "health_ms": {"p50": percentile(base_ms, 50), "p99": percentile(base_ms, 99)},
        "image_first_s": {"p50": percentile(first, 50), "p99": percentile(first, 99), "max": max(first), "total": sum(first)},
        "image_cached_s": {"p50": percentile(again, 50), "p99": percentile(again, 99)},
        "image_cache": {"files": len(cache), "bytes": sum(p.stat().st_size for p in cache)},
    }


def _dag(a, day) -> dict:
    """The whole DAG with dag.test() in a fresh Airflow home (the way ``aqicast run`` runs it)."""
    home = tempfile.mkdtemp(prefix="aqicast-bench-airflow-")
    os.environ.update({"AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                       "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                       "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
                       "AQICAST_LAKE": a.lake, "AQICAST_RAW_ROOT": a.raw, "AQICAST_BACKEND": "local",
                       "AQICAST_TASK_RETRIES": "0", "AQICAST_EVAL_DAYS": str(a.eval_days),
                       "AQICAST_MIN_TRAIN_ROWS": "10"})
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    import pendulum

    from tests.sample_lakes import daily_dag_for_test

    dag = daily_dag_for_test()
    t = time.perf_counter()
    log = Path(a.result).with_suffix(".log")
    with open(log, "w") as fh:
        saved = os.dup(1), os.dup(2)
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            run = dag.test(logical_date=pendulum.datetime(day.year, day.month, day.day, tz="UTC"),
                           run_conf={"date": day.isoformat(), "retrain": "force", "train_budget_s": int(a.budget)})
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
    wall = time.perf_counter() - t
    tasks = {ti.task_id: {"state": str(ti.state), "seconds": ti.duration}
             for ti in sorted(run.get_task_instances(), key=lambda ti: ti.start_date or 0)}
    return {"state": str(run.state), "wall_s": wall, "tasks": tasks, "log": str(log)}


def run_child(step: str, lake: str, raw: str, day: dt.date, a, work: Path) -> dict:
    result = work / f"{step}.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", step, "--lake", lake, "--raw", raw,
           "--day", day.isoformat(), "--budget", str(a.budget), "--eval-days", str(a.eval_days), "--result", str(result)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=str(REPO), env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL if step != "dag" else None)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"step {step} failed (exit {os.waitstatus_to_exitcode(status)})")
    out = json.loads(result.read_text())
    out["process_s"] = time.perf_counter() - t
    out["peak_rss_mb"] = usage.ru_maxrss / 1024
    return out


# =============================================================================================
# One size
# =============================================================================================
def run_size(locations: int, a) -> dict:
    start = dt.date.fromisoformat(a.start)
    params = params_for(start, a.days, locations, a.seed)
    root = default_root(params)
    t = time.perf_counter()
    info = generate_history(root, start, a.days, locations, a.seed, progress=True)
    print(f"[{locations:,}] history {info['raw_root']} ({'reused' if info['reused'] else f'{time.perf_counter() - t:.0f} s'}): "
          f"{len(info['cities'])} cities in {len(info['countries'])} countries", flush=True)
    days = [dt.date.fromisoformat(d) for d in info["days"]]
    lake = str(root.parent / (root.name.replace("history-", "lake-")))
    backend = _backend(lake, info["raw_root"])
    missing = [d for d in days[:-1] if not backend.lake.exists(backend.lake.path("_runs/etl", f"date={d}.json"))]
    history_s = None
    if missing:
        from include.app import ingest

        t = time.perf_counter()
        ingest.etl(backend, missing, jobs=a.jobs)
        history_s = time.perf_counter() - t
        print(f"[{locations:,}] ETL of {len(missing)} history days: {history_s:.0f} s", flush=True)
    # A fresh start for the day itself: no model, no forecasts of an earlier bench run.
    import shutil

    for sub in ("registry", "serving", "forecasts", "_runs/retrain", "quality"):
        shutil.rmtree(Path(lake) / sub, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="global-bench-", dir=OUT))
    steps: dict[str, dict] = {}
    for step in STEPS + ("serve",) + (() if a.no_dag else ("dag",)):
        steps[step] = run_child(step, lake, info["raw_root"], days[-1], a, work)
        print(f"[{locations:,}] {step:15} {steps[step]['seconds']:8.2f} s   peak RSS {steps[step]['peak_rss_mb']:7.0f} MB",
              flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return {"locations": locations, "params": params, "history": {k: info[k] for k in ("cities", "countries", "locations", "totals")},
            "history_etl_s": history_s, "steps": steps}


def summarise(r: dict, budget: float) -> dict:
    s = r["steps"]
    serve = s["serve"]
    gate, etl = s["gate"], s["etl"]
    return {
        "locations": r["locations"], "cities": serve["cities"],
        "etl_s": etl["seconds"], "gate_s": gate["seconds"], "gate_gx_import_s": gate["gx_import_s"],
        "gate_over_etl": gate["seconds"] / etl["seconds"],
        "gate_without_import_over_etl": (gate["seconds"] - gate["gx_import_s"]) / etl["seconds"],
        "train_s": s["train"]["seconds"], "train_over_budget": s["train"]["seconds"] / budget,
        "forecast_s": s["forecast"]["seconds"],
        "forecast_p99_ms": serve["forecast_ms"]["p99"], "prefix_p99_ms": serve["prefix_ms"]["p99"],
        "health_p99_ms": serve["health_ms"]["p99"],
        "snapshot_bytes_per_city": serve["snapshot_bytes_per_city"],
        "image_first_p99_s": serve["image_first_s"]["p99"], "image_first_max_s": serve["image_first_s"]["max"],
        "image_cached_p99_s": serve["image_cached_s"]["p99"],
        "image_cache_bytes": serve["image_cache"]["bytes"],
        "peak_rss_mb": {k: v["peak_rss_mb"] for k, v in s.items()},
        "dag_wall_s": s["dag"]["wall_s"] if "dag" in s else None,
        "dag_tasks_s": {k: v["seconds"] for k, v in s["dag"]["tasks"].items()} if "dag" in s else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--locations", type=int, default=10_000)
    p.add_argument("--sizes", help="comma-separated location counts (growth), e.g. 3000,10000,20000")
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--start", default=DEFAULT_START.isoformat())
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", type=float, default=60.0, help="FLAML budget in seconds (default 60)")
    p.add_argument("--eval-days", type=int, default=3, help="evaluation window of the short history (default 3)")
    p.add_argument("--jobs", type=int, default=2, help="processes for the history's ETL")
    p.add_argument("--no-dag", action="store_true", help="skip the whole-DAG dag.test() run")
    for internal in ("--child", "--lake", "--raw", "--day", "--result"):
        p.add_argument(internal, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        child(a)
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = [int(x) for x in a.sizes.split(",")] if a.sizes else [a.locations]
    runs = [run_size(n, a) for n in sizes]
    table = [summarise(r, a.budget) for r in runs]
    result = {"machine": {"cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg()}, "budget_s": a.budget,
              "days": a.days, "targets": TARGETS, "runs": runs, "summary": table}
    name = "global_daily_bench.json" if not a.sizes else f"global_daily_bench-{a.sizes.replace(',', '-')}.json"
    (OUT / name).write_text(json.dumps(result, indent=2, default=str))
    cols = [("locations", "{:,}"), ("cities", "{:,}"), ("etl_s", "{:.1f}"), ("gate_s", "{:.1f}"), ("gate_gx_import_s", "{:.1f}"),
            ("train_s", "{:.1f}"), ("forecast_s", "{:.2f}"), ("forecast_p99_ms", "{:.1f}"), ("prefix_p99_ms", "{:.1f}"),
            ("image_first_p99_s", "{:.3f}"), ("image_cache_bytes", "{:,}"), ("dag_wall_s", "{}")]
    print("\n" + " | ".join(c for c, _ in cols))
    for row in table:
        print(" | ".join(f.format(row[c]) if row[c] is not None else "-" for c, f in cols))
    for row in table:
        print(f"\n[{row['locations']:,}] peak RSS per step (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in row["peak_rss_mb"].items()))
        if row["dag_tasks_s"]:
            print(f"[{row['locations']:,}] dag.test() {row['dag_wall_s']:.0f} s: " +
                  ", ".join(f"{k} {v:.1f}" for k, v in row["dag_tasks_s"].items() if v is not None))
    print(f"\nwritten: {OUT / name} (load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
