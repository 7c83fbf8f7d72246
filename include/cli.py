"""``aqicast``: the command line of a data engineer and of the tests. DAG tasks call the same
functions. Output people read is a table; ``--json`` prints machine-readable JSON instead.

    aqicast etl --date 2015-01-10
    aqicast etl --start 2015-01-01 --end 2015-01-31
    aqicast discover --date 2015-01-10
    aqicast check --date 2015-01-10
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from typing import Iterable, Sequence

from include import config


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def days_of(args: argparse.Namespace) -> list[dt.date]:
    """The dates a command covers: ``--date D`` or ``--start D1 --end D2`` (inclusive), widened by
    ``--reprocess-days N`` to re-run the N days before (late data)."""
    if args.date and (args.start or args.end):
        raise SystemExit("give --date, or --start and --end, not both")
    if args.date:
        start = end = args.date
    elif args.start and args.end:
        start, end = args.start, args.end
    else:
        raise SystemExit("give --date D, or --start D1 --end D2")
    if end < start:
        raise SystemExit(f"--end {end} is before --start {start}")
    start -= dt.timedelta(days=getattr(args, "reprocess_days", 0) or 0)
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def format_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.rjust(w) if v.replace(".", "").replace("-", "").isdigit() else v.ljust(w)
                                  for v, w in zip(vals, widths)).rstrip()
    return "\n".join([line(list(columns)), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _common(p: argparse.ArgumentParser, dates: bool = True) -> None:
    p.add_argument("--lake", help="lake root (folder or s3://); default $AQICAST_LAKE or ./var/lake")
    p.add_argument("--raw-root", help="raw root holding the source buckets; default $AQICAST_RAW_ROOT or the in-repo sample")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    if dates:
        p.add_argument("--date", type=parse_day, help="one logical date (YYYY-MM-DD)")
        p.add_argument("--start", type=parse_day, help="first date of a range")
        p.add_argument("--end", type=parse_day, help="last date of a range (inclusive)")


def cmd_discover(args) -> int:
    from include.etl.pipeline import discover
    from include.etl.rawio import RawRoot

    raw = RawRoot(config.raw_root(args.raw_root))
    out = {d.isoformat(): discover(raw, d) for d in days_of(args)}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        rows = [{"date": d, "source": s, "objects": len(p)} for d, m in out.items() for s, p in m.items()]
        print(format_table(rows, ["date", "source", "objects"]))
    return 0


def _etl_day(job: tuple[str, str, str]) -> dict:
    """One day's curated partitions, without features (a process-pool worker)."""
    from include.etl.pipeline import run_etl
    from include.etl.rawio import RawRoot
    from include.lake import Lake

    day, lake_root, raw_root = job
    return run_etl(dt.date.fromisoformat(day), Lake(lake_root), RawRoot(raw_root), with_features=False)


def etl_range(days: list[dt.date], lake_root: str, raw_root: str, jobs: int = 1, quiet: bool = False) -> list[dict]:
    """ETL over ``days``. With ``jobs`` > 1 the days' curated partitions are built in parallel, then
    every day's features in one pass (the same function as the daily build, so the same rows)."""
    from include.etl.features import FEATURES, features_range
    from include.etl.pipeline import run_etl
    from include.etl.rawio import RawRoot
    from include.lake import Lake

    lake = Lake(lake_root)
    if jobs <= 1:
        reports = []
        for day in days:
            reports.append(run_etl(day, lake, RawRoot(raw_root)))
            if not quiet:
                print(f"{day}: done in {reports[-1]['seconds']:.1f}s", file=sys.stderr)
        return reports
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        reports = list(pool.map(_etl_day, [(d.isoformat(), lake_root, raw_root) for d in days], chunksize=8))
    features = features_range(lake, days[0], days[-1])
    for day, frame in features.groupby("date") if len(features) else []:
        lake.write_partition(FEATURES, day, frame.reset_index(drop=True))
    if not quiet:
        print(f"{len(days)} days with {jobs} processes; features built in one pass", file=sys.stderr)
    return reports


def cmd_etl(args) -> int:
    from include.lake import Lake

    lake = Lake(config.lake_root(args.lake))
    reports = etl_range(days_of(args), lake.root, config.raw_root(args.raw_root), jobs=args.jobs, quiet=args.json)
    failed = [f for r in reports for s in r["sources"].values() for f in s["failed_objects"]]
    if args.json:
        print(json.dumps(reports, indent=2))
    else:
        rows = [
            {"date": r["date"], "source": s, "objects": v["objects_read"], "kept": v["rows_kept"],
             "quarantined": v["rows_quarantined"], "ignored": v["rows_ignored"], "failed objects": len(v["failed_objects"])}
            for r in reports for s, v in r["sources"].items()
        ]
        print(format_table(rows, ["date", "source", "objects", "kept", "quarantined", "ignored", "failed objects"]))
        print(f"\nlake: {lake.root}  (curated/air_quality_daily, curated/weather_daily, quarantine/<source>, _runs/etl)")
        for f in failed:
            print(f"FAILED OBJECT: {f['error']}", file=sys.stderr)
    return 0


def cmd_check(args) -> int:
    """Run the quality gate for each date; exit 1 if any date fails a critical expectation."""
    from include.lake import Lake
    from include.quality.gate import run_gate

    lake = Lake(config.lake_root(args.lake))
    results = [run_gate(lake, day, raise_on_failure=False, data_docs=not args.no_docs) for day in days_of(args)]
    if args.json:
        print(json.dumps([{"date": g.day, "success": g.success, "critical": [f.line() for f in g.critical],
                           "warnings": [f.line() for f in g.warnings], "results": g.results_path,
                           "docs": g.docs_path} for g in results], indent=2))
    else:
        print("\n\n".join(g.summary() for g in results))
    return 0 if all(g.success for g in results) else 1


def _registry(lake):
    from include.training.registry import LocalRegistry

    return LocalRegistry(lake)


def cmd_train(args) -> int:
    """Retrain policy, then (if it says so, or --force) train, evaluate and register a challenger."""
    from include.lake import Lake
    from include.training.steps import retrain_decision, train_and_register

    lake = Lake(config.lake_root(args.lake))
    registry = _registry(lake)
    outcomes = []
    for day in days_of(args):
        decision = retrain_decision(lake, registry, day, force=args.force)
        outcome = {"date": day.isoformat(), "retrain": decision.yes, "why": decision.reason}
        if decision.yes:
            outcome.update(train_and_register(lake, registry, day, time_budget=args.budget))
        outcomes.append(outcome)
    if args.json:
        print(json.dumps(outcomes, indent=2, default=str))
    else:
        for o in outcomes:
            line = f"{o['date']}: retrain={'yes' if o['retrain'] else 'no'} ({o['why']})"
            if o.get("trained"):
                m = o["metrics"]
                line += (f"\n  -> v{o['version']} {o['status']}: {o['reason']}\n  MAE {m['mae']:.1f}, persistence "
                         f"{m['persistence_mae']:.1f}, skill {m['skill_vs_persistence']:+.0%}, category accuracy "
                         f"{m['category_accuracy']:.0%} on {m['n']} days")
            elif o["retrain"]:
                line += f"\n  -> not trained: {o['reason']}"
            print(line)
    return 0


def cmd_forecast(args) -> int:
    from include.lake import Lake
    from include.training.forecast import forecast

    lake = Lake(config.lake_root(args.lake))
    frames = [forecast(lake, _registry(lake), day) for day in days_of(args)]
    rows = [r for f in frames for r in f.to_dict("records")]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(format_table([{**r, "interval": f"{r['aqi_lower']}-{r['aqi_upper']}", "model": r["model_version"]}
                            for r in rows],
                           ["forecast_date", "city", "city_country", "aqi_pred", "interval", "category",
                            "aqi_today", "model"]))
    return 0


def cmd_backtest(args) -> int:
    from include.lake import Lake
    from include.training.backtest import backtest

    lake = Lake(config.lake_root(args.lake))
    _, result = backtest(lake, args.start, args.end, retrain_every=args.retrain_every, time_budget=args.budget)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    rows = []
    for name, block in [("all cities", result["overall"])] + [(v["city"], v) for v in result["per_city"].values()]:
        for method in ("model", "persistence", "climatology"):
            m = block[method]
            rows.append({"scope": name, "method": method, "days": m["n"], "MAE": f"{m['mae']:.1f}",
                         "RMSE": f"{m['rmse']:.1f}", "category acc.": f"{m['category_accuracy']:.0%}",
                         "skill vs persistence": f"{m['skill_vs_persistence']:+.1%}" if method == "model" else "",
                         "skill vs climatology": f"{m['skill_vs_climatology']:+.1%}" if method == "model" else ""})
    print(format_table(rows, ["scope", "method", "days", "MAE", "RMSE", "category acc.", "skill vs persistence",
                              "skill vs climatology"]))
    print(f"\n{result['config']['origins']} origins, retrained every {args.retrain_every} days; results: {result['path']}")
    return 0


def cmd_serve(args) -> int:
    """The API and web page on this machine (the local stand-in for Lambda + API Gateway)."""
    import uvicorn

    from include.serving.app import create_app
    from include.serving.service import ForecastService
    from include.serving.store import store_for

    root = config.lake_root(args.lake)
    print(f"aqicast API on http://{args.host}:{args.port}  (forecasts from {root}; docs at /docs)")
    uvicorn.run(create_app(ForecastService(store_for(root))), host=args.host, port=args.port, log_level="warning")
    return 0


SAMPLE_FIRST, SAMPLE_LAST = dt.date(2013, 3, 1), dt.date(2016, 2, 28)


def airflow_env(lake_root: str) -> dict:
    """Environment for the project's local Airflow: AIRFLOW_HOME inside the project (git-ignored),
    SQLite, this repo's dags/ and plugins/, no example DAGs."""
    import os

    home = config.PROJECT_ROOT / ".airflow"
    home.mkdir(exist_ok=True)
    venv_bin = str(config.PROJECT_ROOT / ".venv" / "bin")
    return {**os.environ, "AIRFLOW_HOME": str(home), "AQICAST_LAKE": lake_root,
            "AIRFLOW__CORE__DAGS_FOLDER": str(config.PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(config.PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "")}


def cmd_run(args) -> int:
    """The daily pipeline, locally, through Airflow: bootstrap the sample's history once (fast
    in-process ETL), then run the DAG for the last day with `airflow dags test` and print tomorrow's
    forecast per city."""
    import subprocess
    import time

    from include.etl.features import FEATURES
    from include.lake import Lake
    from include.training.forecast import FORECASTS

    lake = Lake(config.lake_root(args.lake))
    day = args.date or SAMPLE_LAST
    first = args.start or SAMPLE_FIRST
    have = set(lake.partition_days(FEATURES))
    history = [first + dt.timedelta(days=i) for i in range((day - first).days)]
    todo = [d for d in history if d.isoformat() not in have]
    t0 = time.perf_counter()
    if todo:
        print(f"[1/3] Bootstrapping history: ETL of {len(todo)} days ({todo[0]} .. {todo[-1]}) into {lake.root} ...",
              flush=True)
        etl_range([todo[0] + dt.timedelta(days=i) for i in range((todo[-1] - todo[0]).days + 1)],
                  lake.root, config.raw_root(args.raw_root), jobs=2, quiet=True)
        print(f"      done in {time.perf_counter() - t0:.0f}s", flush=True)
    else:
        print(f"[1/3] History already in {lake.root} ({len(have)} days of features)", flush=True)

    env = airflow_env(lake.root)
    home = env["AIRFLOW_HOME"]
    logs = config.PROJECT_ROOT / "var" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    if not (config.PROJECT_ROOT / ".airflow" / "airflow.db").exists():
        print(f"[2/3] Creating the Airflow metadata DB in {home} ...", flush=True)
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log_path = logs / f"aqicast_daily_{day}.log"
    conf = json.dumps({"backend": "local", "retrain": "auto"})
    print(f"[3/3] airflow dags test aqicast_daily {day}  (log: {log_path})", flush=True)
    t1 = time.perf_counter()
    with open(log_path, "w") as log_file:
        done = subprocess.run([sys.executable, "-m", "airflow", "dags", "test", "aqicast_daily", day.isoformat(),
                               "-c", conf], env=env, stdout=log_file, stderr=subprocess.STDOUT)
    text = log_path.read_text(errors="replace")
    ok = done.returncode == 0 and "state=success" in text
    import re

    for line in text.splitlines():
        if any(k in line for k in ("Quality gate", "retrain yes", "retrain no", "training outcome", "[DAG TEST] end task")):
            message = re.sub(r"\s+\[[\w.]+\]\s+loc=\S+.*$", "", line.split("] ", 1)[-1])  # drop logger and location
            print("      " + message.replace("[DAG TEST] end task task_id=", "done: ").replace(" map_index=-1", "")[:300])
    print(f"      DAG run {'succeeded' if ok else 'FAILED'} in {time.perf_counter() - t1:.0f}s", flush=True)
    if not ok:
        print(f"See {log_path}", file=sys.stderr)
        return 1
    fc = lake.read_partition(FORECASTS, day)
    print(f"\nTomorrow's air quality ({(day + dt.timedelta(days=1)).isoformat()}), issued from {day}:\n")
    rows = [{**r, "interval": f"{r['aqi_lower']}-{r['aqi_upper']}"} for r in fc.to_dict("records")]
    print(format_table(rows, ["forecast_date", "city", "city_country", "aqi_pred", "interval", "category",
                              "dominant_pollutant", "aqi_today", "model_version"]))
    print(f"""
Outputs:
  lake            {lake.root}
  forecasts       {lake.partition_file(FORECASTS, day)}
  features        {lake.partition_dir(FEATURES, day)}
  quality report  {lake.path("quality", f"date={day}", "results.json")}
  data docs       {lake.path("quality", "docs", "index.html")}
  model registry  {lake.path("registry")}
  Airflow log     {log_path}
Total {time.perf_counter() - t0:.0f}s. Browse the runs: make airflow""")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aqicast", description="Tomorrow's air quality (US EPA AQI) per city: "
                                     "ingest, check, train, forecast, serve. Every DAG task calls these same functions.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("discover", help="list the raw objects each source would read for a date (the local crawler)")
    _common(p)
    p.set_defaults(func=cmd_discover)

    p = sub.add_parser("etl", help="ingest raw data into the curated lake for a date or a range")
    _common(p)
    p.add_argument("--reprocess-days", type=int, default=0, help="also re-run the N days before (late data)")
    p.add_argument("--jobs", type=int, default=1, help="processes for a range (bootstraps, backfills); default 1")
    p.set_defaults(func=cmd_etl)

    p = sub.add_parser("check", help="run the data-quality gate (Great Expectations) for a date or a range")
    _common(p)
    p.add_argument("--no-docs", action="store_true", help="skip building Data Docs")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("train", help="apply the retrain policy; train, evaluate and register a challenger")
    _common(p)
    p.add_argument("--force", action="store_true", help="train even if the retrain policy says no")
    p.add_argument("--budget", type=float, default=None, help="AutoML time budget in seconds (default $AQICAST_TRAIN_BUDGET_S or 60)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("forecast", help="write tomorrow's forecast per city with the champion model")
    _common(p)
    p.set_defaults(func=cmd_forecast)

    p = sub.add_parser("backtest", help="rolling-origin backtest with skill against persistence and climatology")
    _common(p)
    p.add_argument("--retrain-every", type=int, default=30, help="days between retrains (default 30)")
    p.add_argument("--budget", type=float, default=20, help="AutoML time budget per retrain, seconds (default 20)")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("serve", help="serve the API and web page locally")
    p.add_argument("--lake", help="lake root; default $AQICAST_LAKE or ./var/lake")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("run", help="bootstrap the sample's history, then run the daily DAG through Airflow for the last day")
    _common(p)
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: Iterable[str] | None = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from include.lake import LakeError

    try:
        return args.func(args)
    except LakeError as exc:  # an unusable lake root or a failed write: one line, not a traceback
        print(f"aqicast: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
