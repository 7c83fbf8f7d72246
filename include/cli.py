"""``aqicast``: the command line of a data engineer and of the tests. Each command builds the
backend once from the settings (``--backend``, ``--lake``, ``--raw-root`` over the environment)
and calls the application layer (``include/app``), the same functions the DAG tasks and the Glue
job call. Output people read is a table; ``--json`` prints machine-readable JSON instead.

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
    p.add_argument("--backend", choices=config.BACKENDS, help="where the step runs; default $AQICAST_BACKEND or local")
    p.add_argument("--lake", help="lake root (folder or s3://); default $AQICAST_LAKE (local) / $AQICAST_S3_LAKE (aws)")
    p.add_argument("--raw-root", help="raw root holding the source buckets; default $AQICAST_RAW_ROOT or the in-repo sample")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    if dates:
        p.add_argument("--date", type=parse_day, help="one logical date (YYYY-MM-DD)")
        p.add_argument("--start", type=parse_day, help="first date of a range")
        p.add_argument("--end", type=parse_day, help="last date of a range (inclusive)")


def settings_of(args: argparse.Namespace) -> config.Settings:
    """The command's settings: the environment, then the flags."""
    overrides = {"backend": args.backend} if getattr(args, "backend", None) else {}
    return config.load(**overrides).with_roots(lake=getattr(args, "lake", None), raw_root=getattr(args, "raw_root", None))


def backend_of(args: argparse.Namespace):
    """The backend, built once per command."""
    from include.backends import build

    return build(settings_of(args))


def cmd_discover(args) -> int:
    from include.etl.pipeline import discover

    raw = backend_of(args).raw
    out = {d.isoformat(): discover(raw, d) for d in days_of(args)}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        rows = [{"date": d, "source": s, "objects": len(p)} for d, m in out.items() for s, p in m.items()]
        print(format_table(rows, ["date", "source", "objects"]))
    return 0


def cmd_etl(args) -> int:
    from include.app import ingest

    backend = backend_of(args)
    progress = None if args.json else (lambda line: print(line, file=sys.stderr))
    reports = ingest.etl(backend, days_of(args), jobs=args.jobs, engine=args.engine, progress=progress)
    if args.json:
        print(json.dumps(reports, indent=2))
    else:
        rows = [
            {"date": r["date"], "source": s, "objects": v["objects_read"], "kept": v["rows_kept"],
             "quarantined": v["rows_quarantined"], "ignored": v["rows_ignored"], "failed objects": len(v["failed_objects"])}
            for r in reports for s, v in r["sources"].items()
        ]
        print(format_table(rows, ["date", "source", "objects", "kept", "quarantined", "ignored", "failed objects"]))
        print(f"\nlake: {backend.lake.root}  (curated/air_quality_daily, curated/weather_daily, quarantine/<source>, _runs/etl)")
        for f in ingest.failed_objects(reports):
            print(f"FAILED OBJECT: {f['error']}", file=sys.stderr)
    return 0


def cmd_check(args) -> int:
    """Run the quality gate for each date; exit 1 if any date fails a critical expectation."""
    from include.app import quality

    backend = backend_of(args)
    results = [quality.gate(backend, day, raise_on_failure=False, data_docs=not args.no_docs) for day in days_of(args)]
    if args.json:
        print(json.dumps([{"date": g.day, "success": g.success, "critical": [f.line() for f in g.critical],
                           "warnings": [f.line() for f in g.warnings], "results": g.results_path,
                           "docs": g.docs_path} for g in results], indent=2))
    else:
        print("\n\n".join(g.summary() for g in results))
    return 0 if all(g.success for g in results) else 1


def cmd_train(args) -> int:
    """Retrain policy, then (if it says so, or --retrain force) train, evaluate and register a challenger."""
    from include.app import training

    backend = backend_of(args)
    mode = "force" if args.force else args.retrain
    outcomes = [training.run(backend, day, mode, budget=args.budget) for day in days_of(args)]
    if args.json:
        print(json.dumps(outcomes, indent=2, default=str))
    else:
        for o in outcomes:
            line = f"{o['date']}: retrain={'yes' if o['retrain'] else 'no'} ({o['why']})"
            if o.get("trained"):
                m = o["metrics"]
                line += f"\n  -> v{o['version']} {o['status']}: {o['reason']}\n  MAE {m['mae']:.1f}, persistence " \
                        f"{m['persistence_mae']:.1f}, skill {m['skill_vs_persistence']:+.0%}"
                if m.get("category_accuracy") is not None:
                    line += f", category accuracy {m['category_accuracy']:.0%}"
                line += f" on {m['n']} days"
            elif o["retrain"]:
                line += f"\n  -> not trained: {o['reason']}"
            print(line)
    return 0


FORECAST_COLUMNS = ["forecast_date", "city", "city_country", "aqi_pred", "interval", "category", "dominant_pollutant",
                    "aqi_today", "model_version"]


def forecast_table(frame) -> str:
    rows = [{**r, "interval": f"{r['aqi_lower']}-{r['aqi_upper']}"} for r in frame.to_dict("records")]
    return format_table(rows, FORECAST_COLUMNS)


def cmd_forecast(args) -> int:
    from include.app import forecasting

    backend = backend_of(args)
    frames = [forecasting.forecast(backend, day) for day in days_of(args)]
    if args.json:
        print(json.dumps([r for f in frames for r in f.to_dict("records")], indent=2, default=str))
    else:
        print("\n\n".join(forecast_table(f) for f in frames))
    return 0


def cmd_backtest(args) -> int:
    from include.training.backtest import backtest

    backend = backend_of(args)
    _, result = backtest(backend.lake, args.start, args.end, retrain_every=args.retrain_every, time_budget=args.budget,
                         min_train_rows=backend.settings.training.min_train_rows)
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

    from include.serving.app import create_app, service_from_settings

    settings = settings_of(args)
    service = service_from_settings(settings)
    print(f"aqicast API on http://{args.host}:{args.port}  (forecasts from {settings.serving_root or settings.lake_root};"
          " docs at /docs)")
    uvicorn.run(create_app(service), host=args.host, port=args.port, log_level="warning")
    return 0


SAMPLE_FIRST, SAMPLE_LAST = dt.date(2013, 3, 1), dt.date(2016, 2, 28)


def cmd_run(args) -> int:
    """The daily pipeline, locally: bootstrap the sample's history once (the in-process ETL over
    the range), then run the daily DAG for the last day in-process (``dag.test()``) and print
    each task's state and tomorrow's forecast per city."""
    import time

    from include import catalog
    from include.app import ingest
    from include.orchestration import local_airflow

    settings = settings_of(args)
    if settings.backend != "local":
        raise SystemExit("aqicast run drives the local backend; on aws the DAG runs on MWAA")
    backend = backend_of(args)
    lake = backend.lake
    day = args.date or SAMPLE_LAST
    first = args.start or SAMPLE_FIRST
    have = set(lake.partition_days(catalog.FEATURES))
    todo = [d for d in ingest.date_range(first, day - dt.timedelta(days=1)) if d.isoformat() not in have] if first < day else []
    t0 = time.perf_counter()
    if todo:
        print(f"[1/2] Bootstrapping history: ETL of {len(todo)} days ({todo[0]} .. {todo[-1]}) into {lake.root} ...",
              flush=True)
        ingest.etl(backend, ingest.date_range(todo[0], todo[-1]), jobs=2)
        print(f"      done in {time.perf_counter() - t0:.0f}s", flush=True)
    else:
        print(f"[1/2] History already in {lake.root} ({len(have)} days of features)", flush=True)

    log_path = config.PROJECT_ROOT / "var" / "logs" / f"aqicast_daily_{day}.log"
    print(f"[2/2] The aqicast_daily DAG for {day}, in-process (dag.test; task logs: {log_path}) ...", flush=True)
    t1 = time.perf_counter()
    result = local_airflow.run_daily(day, lake_root=lake.root, raw_root=backend.settings.raw_root, log_path=log_path,
                                     conf={"retrain": args.retrain})
    print(format_table(result.tasks, ["task", "state", "seconds"]))
    for line in result.notes(lake, day):
        print("      " + line)
    print(f"      DAG run {result.state} in {time.perf_counter() - t1:.0f}s", flush=True)
    if not result.ok:
        print(f"See {log_path}", file=sys.stderr)
        return 1
    fc = lake.read_partition(catalog.FORECASTS, day)
    print(f"\nTomorrow's air quality ({(day + dt.timedelta(days=1)).isoformat()}), issued from {day}:\n")
    print(forecast_table(fc))
    print(f"""
Outputs:
  lake            {lake.root}
  forecasts       {lake.partition_file(catalog.FORECASTS, day)}
  features        {lake.partition_dir(catalog.FEATURES, day)}
  quality report  {lake.path(catalog.quality_results(day))}
  data docs       {lake.path(catalog.QUALITY, "docs", "index.html")}
  model registry  {lake.path(catalog.REGISTRY)}
  task logs       {log_path}
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
    p.add_argument("--engine", choices=["local", "spark"], default="local",
                   help="local: in-process (default); spark: one Spark task per date on $AQICAST_SPARK_MASTER "
                        "(default local[2]; needs PySpark: make venv-glue)")
    p.set_defaults(func=cmd_etl)

    p = sub.add_parser("check", help="run the data-quality gate (Great Expectations) for a date or a range")
    _common(p)
    p.add_argument("--no-docs", action="store_true", help="skip building Data Docs")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("train", help="apply the retrain policy; train, evaluate and register a challenger")
    _common(p)
    p.add_argument("--retrain", choices=["auto", "force", "skip"], default="auto",
                   help="auto: the retrain policy decides (default); force; skip")
    p.add_argument("--force", action="store_true", help="same as --retrain force")
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
    p.add_argument("--backend", choices=config.BACKENDS, help="default $AQICAST_BACKEND or local")
    p.add_argument("--lake", help="lake root; default $AQICAST_LAKE or ./var/lake")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("run", help="bootstrap the sample's history, then run the daily DAG in-process for the last day")
    _common(p)
    p.add_argument("--retrain", choices=["auto", "force", "skip"], default="auto", help="the DAG's retrain Param")
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


def entry() -> int:
    """The ``aqicast`` console script (and ``python -m include.cli``): ``main``, then ``gc.freeze``,
    so that the interpreter's exit skips its garbage-collection passes over every object the
    imports made (~750 modules after an ETL: 0.25 s of a global day's command; refcounting still
    frees what it frees, nothing is left unwritten: every output is closed and renamed by then).
    Tests call ``main``, in a process that goes on."""
    import gc

    if sys.argv[1:2] != ["serve"]:
        _batch_allocator()
        _no_numpy_huge_pages()
    rc = main()
    gc.freeze()
    return rc


#: glibc ``mallopt`` parameters (``malloc.h``) and the values a batch command runs with.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_BATCH_MALLOC = {_M_MMAP_THRESHOLD: 32 << 20, _M_TRIM_THRESHOLD: 1 << 30, _M_TOP_PAD: 64 << 20}


def _batch_allocator() -> None:
    """Let glibc's malloc keep and reuse the memory a batch command frees, instead of handing every
    large array back to the kernel and faulting in (and zeroing) fresh pages for the next one.

    A global day's ETL allocates and frees column-sized arrays (1.4 M rows: 11 MB each) hundreds of
    times; by default each is its own ``mmap``, and the kernel's page clearing was ~15 % of the
    command's CPU. Arrays up to 32 MB now come from the heap, which is trimmed only past 1 GB free
    (the process ends soon after anyway). Not for ``serve`` (a long-running process), not where
    glibc is not the C library, and not when ``MALLOC_*`` environment variables tune it already."""
    import ctypes
    import os

    if sys.platform != "linux" or any(k.startswith("MALLOC_") for k in os.environ):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return
    for param, value in _BATCH_MALLOC.items():
        mallopt(ctypes.c_int(param), ctypes.c_int(value))


def _no_numpy_huge_pages() -> None:
    """Ask numpy not to advise transparent huge pages for its arrays (``NUMPY_MADVISE_HUGEPAGE=0``;
    unless that variable is set): each huge-page fault zeroes 2 MB at once, also of arrays freed
    soon after, and page zeroing was a fifth of a global day's CPU. Measured through the command
    line on these 2-core VMs: 2.97 -> 2.78 s wall, system time 1.04 -> 0.69 s (8 alternating
    pairs; 25 % more, smaller, page faults). Not for ``serve``."""
    import os

    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    if "numpy" not in sys.modules:
        os.environ["NUMPY_MADVISE_HUGEPAGE"] = "0"
        return
    import importlib

    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):  # imported already: its switch
        try:
            importlib.import_module(module)._set_madvise_hugepage(False)
            return
        except (ImportError, AttributeError):
            continue


if __name__ == "__main__":  # pragma: no cover
    sys.exit(entry())
