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


def cmd_etl(args) -> int:
    from include.etl.pipeline import run_etl
    from include.etl.rawio import RawRoot
    from include.lake import Lake

    lake, raw = Lake(config.lake_root(args.lake)), RawRoot(config.raw_root(args.raw_root))
    reports = []
    for day in days_of(args):
        reports.append(run_etl(day, lake, raw))
        if not args.json:
            print(f"{day}: done in {reports[-1]['seconds']:.1f}s", file=sys.stderr)
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


def cmd_run(args) -> int:
    """The daily pipeline on this machine (grows as steps land): ETL for the date range."""
    if not (args.date or args.start):
        args.start, args.end = parse_day("2015-01-01"), parse_day("2015-01-31")
    return cmd_etl(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aqicast", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("discover", help="list the raw objects each source would read for a date (the local crawler)")
    _common(p)
    p.set_defaults(func=cmd_discover)

    p = sub.add_parser("etl", help="ingest raw data into the curated lake for a date or a range")
    _common(p)
    p.add_argument("--reprocess-days", type=int, default=0, help="also re-run the N days before (late data)")
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

    p = sub.add_parser("run", help="run the daily pipeline locally (default: the sample's January 2015)")
    _common(p)
    p.add_argument("--reprocess-days", type=int, default=0)
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: Iterable[str] | None = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
