"""Forecast in the local scale: one model for every scale, or one model per scale? Both on the same
rolling-origin backtest (``include.training.backtest``'s protocol), scored on each national index.

    python bench/scale_backtest.py --lake /tmp/lake --start 2015-03-01 --end 2015-05-30
    python bench/scale_backtest.py                      # builds a Beijing lake from the sample first

At each origin (every ``--retrain-every`` days) models are trained on the rows whose target was
known before it, then score the days up to the next origin:

- **from-us** (what the forecast step does, ``include.forecast.predict.national_forecast``): the US
  AQI model, its forecast turned back into the PM concentration it stands for and indexed on the
  national scale; days whose dominant pollutant is not PM keep today's national index;
- **per-scale**: the same trainer (FLAML, same budget and features) on the national target
  (``target_aqi_<scale>``);
- **persistence**: today's national index.

Reported: MAE, the national category hit rate, training seconds, rows; ``bench/out/scale_backtest.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
OUT = REPO / "bench" / "out"
sys.path.insert(0, str(REPO / "bench"))
from _common import write_report  # noqa: E402


def score(y, p, code: str) -> dict:
    import numpy as np

    from include.etl.scales import scale

    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    ok = ~(np.isnan(y) | np.isnan(p))
    y, p = y[ok], p[ok]
    cat = scale(code).category
    return {"n": int(len(y)), "mae": float(np.mean(np.abs(y - p))) if len(y) else None,
            "category_hit": float(np.mean(cat(np.round(y)) == cat(np.round(p)))) if len(y) else None}


def run(lake_root: str, start: dt.date, end: dt.date, code: str, retrain_every: int, budget: float) -> dict:
    import numpy as np
    import pandas as pd

    from include.forecast.predict import national_forecast
    from include.lake import Lake
    from include.training.dataset import TARGET, before, between
    from include.training.steps import load_features
    from include.training.train import fit

    target = f"target_aqi_{code}"
    data = load_features(Lake(lake_root), end)
    data = data[data[TARGET].notna() & data["aqi"].notna() & data[target].notna()]
    data = data.sort_values(["date", "city_id"], ignore_index=True)
    rows, seconds = [], {"from-us": 0.0, "per-scale": 0.0}
    origin = start
    while origin <= end:
        last = min(origin + dt.timedelta(days=retrain_every - 1), end)
        train, test = before(data, origin), between(data, origin, last).reset_index(drop=True)
        if len(train) < 30 or test.empty:
            origin = last + dt.timedelta(days=1)
            continue
        t0 = time.perf_counter()
        us = fit(train, time_budget=budget).model
        seconds["from-us"] += time.perf_counter() - t0
        pred = us.predict(test)
        lo, hi = us.interval(pred)
        derived = national_forecast(test, pred, lo, hi, persistence=False)
        t0 = time.perf_counter()
        own = fit(train.assign(**{TARGET: train[target]}), time_budget=budget).model
        seconds["per-scale"] += time.perf_counter() - t0
        rows.append(pd.DataFrame({
            "date": test["date"], "y": test[target].to_numpy(dtype=float),
            "from_us": derived["national_pred"].astype("float64").to_numpy(),
            "method": derived["national_method"].to_numpy(),
            "per_scale": np.round(own.predict(test)), "persistence": test[f"aqi_{code}"].to_numpy(dtype=float),
            "origin": origin.isoformat(), "train_rows": len(train)}))
        origin = last + dt.timedelta(days=1)
    if not rows:
        raise SystemExit("no origin had 30+ training rows: widen the lake's date range")
    p = pd.concat(rows, ignore_index=True)
    pm = p["method"] == "from-us"
    return {
        "scale": code, "start": start.isoformat(), "end": end.isoformat(), "origins": int(p["origin"].nunique()),
        "rows": len(p), "retrain_every": retrain_every, "time_budget_s": budget,
        "share_pm_dominant": float(pm.mean()),
        "all_days": {k: score(p["y"], p[k], code) for k in ("from_us", "per_scale", "persistence")},
        "pm_dominant_days": {k: score(p.loc[pm, "y"], p.loc[pm, k], code) for k in ("from_us", "per_scale", "persistence")},
        "train_seconds": seconds,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lake", help="a lake with features over the period (default: build Beijing from the sample)")
    ap.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2015, 3, 1))
    ap.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2015, 5, 30))
    ap.add_argument("--scale", default="cn", choices=["cn", "in"])
    ap.add_argument("--retrain-every", type=int, default=30)
    ap.add_argument("--time-budget", type=float, default=10.0)
    ap.add_argument("--out", default=str(OUT / "scale_backtest.json"))
    args = ap.parse_args(argv)
    lake = args.lake
    if lake is None:
        from tests.sample_lakes import ingest_sample

        lake = ingest_sample(Path(tempfile.mkdtemp(prefix="aqicast-scale-bt-")) / "lake",
                             (args.start - dt.timedelta(days=67), args.end + dt.timedelta(days=1))).root
    result = run(lake, args.start, args.end, args.scale, args.retrain_every, args.time_budget)
    print(f"\n{args.scale} scale, {result['rows']} city-days, {result['origins']} origins "
          f"({result['share_pm_dominant']:.0%} PM-dominant days)")
    print(f"{'method':14} {'MAE':>7} {'category':>9}   {'MAE, PM days':>12} {'category':>9}")
    for k in ("from_us", "per_scale", "persistence"):
        a, b = result["all_days"][k], result["pm_dominant_days"][k]
        print(f"{k:14} {a['mae']:>7.1f} {a['category_hit']:>9.0%}   {b['mae'] or float('nan'):>12.1f} "
              f"{(b['category_hit'] or 0):>9.0%}")
    print("training seconds:", {k: round(v, 1) for k, v in result["train_seconds"].items()})
    write_report(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
