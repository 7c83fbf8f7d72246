"""Recompute India's NAQI from CPCB's city-day means and compare with CPCB's published AQI.

    python -m bench.cpcb_compare [path/to/city_day.csv]

The file (tests/fixtures/india_cpcb/city_day_2015-2019.csv, Kaggle "Air Quality Data in India",
CPCB data) has per city and day the 24-h means of each pollutant and the published ``AQI`` /
``AQI_Bucket``. A day's mean is all it has: CPCB's CO and O3 sub-indices use the max 8-h mean and
its 24-h sub-indices come from hourly running means, neither of which can be rebuilt from a mean.
So the comparison measures how far a daily-means recomputation gets, which rule explains the
published numbers best, and classifies what remains. Not a timing: ``tests/test_cpcb_compare.py``
asserts the numbers this prints.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from include.etl.scales import india

DEFAULT = Path(__file__).resolve().parents[1] / "tests/fixtures/india_cpcb/city_day_2015-2019.csv"

#: File column -> NAQI pollutant.
COLUMNS = {"PM2.5": "pm25", "PM10": "pm10", "NO2": "no2", "SO2": "so2", "NH3": "nh3", "CO": "co", "O3": "o3"}
DAILY_24H = ("pm25", "pm10", "no2", "so2", "nh3")


@dataclass(frozen=True)
class Rule:
    """One way of recomputing the published AQI from the city-day means."""

    name: str
    nitrogen: str = "NO2"  # the column standing in for NO2: "NO2" or "NOx"
    nh3: bool = True  # NH3 counted
    benzene: bool = False  # benzene as an extra pollutant (only counts towards the 3-pollutant rule)
    prev_weight: float = 0.0  # 24-h pollutants: weight of D-1's mean (0.5 ~ the day's mean of 24-h running means)
    prev_max: bool = False  # 24-h pollutants: the larger of D-1's and D's mean (~ the day's highest running mean)
    min_three: bool = True  # CPCB's 3-pollutant rule (one of them PM)
    cap500: bool = False  # cap the index at 500 (CPCB's published values are not capped)


PLAIN = Rule("plain: day means, NO2, NH3, 3-pollutant rule")
CANDIDATES = (
    PLAIN,
    replace(PLAIN, name="NOx for NO2", nitrogen="NOx"),
    replace(PLAIN, name="without NH3", nh3=False),
    replace(PLAIN, name="benzene counts for the 3-pollutant rule", benzene=True),
    replace(PLAIN, name="no 3-pollutant rule", min_three=False),
    replace(PLAIN, name="capped at 500", cap500=True),
    *(replace(PLAIN, name=f"24-h pollutants: {w:g} x D-1 + {1 - w:g} x D", prev_weight=w)
      for w in (0.25, 0.375, 0.5, 0.625)),
    replace(PLAIN, name="24-h pollutants: max(D-1, D)", prev_max=True),
)


def read(path: Path = DEFAULT) -> pd.DataFrame:
    df = pd.read_csv(path, parse_dates=["Date"])
    return df.sort_values(["City", "Date"], ignore_index=True)


def recompute(df: pd.DataFrame, rule: Rule) -> pd.DataFrame:
    """Sub-indices (unrounded max -> rounded AQI), AQI and prominent pollutant under ``rule``."""
    conc = {p: df[c].to_numpy(dtype=float) for c, p in COLUMNS.items()}
    conc["no2"] = df[rule.nitrogen].to_numpy(dtype=float)
    if rule.prev_weight or rule.prev_max:
        g = df.groupby("City")
        consecutive = (g["Date"].diff() == pd.Timedelta(days=1)).to_numpy()
        for p in DAILY_24H:
            col = rule.nitrogen if p == "no2" else next(c for c, q in COLUMNS.items() if q == p)
            prev = g[col].shift(1).to_numpy(dtype=float)
            blend = (np.fmax(prev, conc[p]) if rule.prev_max
                     else rule.prev_weight * prev + (1 - rule.prev_weight) * conc[p])
            conc[p] = np.where(consecutive & ~np.isnan(prev), blend, conc[p])  # no D-1: D alone
    if not rule.nh3:
        conc.pop("nh3")
    sub = pd.DataFrame({p: india.sub_index(p, c)[0] for p, c in conc.items()}, index=df.index)
    aqi, dominant = india.overall(sub) if rule.min_three else _no_rule(sub)
    if rule.benzene:  # benzene has no NAQI breakpoints: it can only make a day count
        n = sub.notna().sum(axis=1) + df["Benzene"].notna()
        ok = (n >= 3) & sub[["pm25", "pm10"]].notna().any(axis=1)
        aqi0, dom0 = _no_rule(sub)
        aqi, dominant = aqi0.where(ok), dom0.where(ok, None)
    if rule.cap500:
        aqi = aqi.clip(upper=500)
    return sub.assign(aqi=aqi, dominant=dominant, category=india.category(aqi.to_numpy()))


def _no_rule(sub):
    from include.etl.scales import overall

    return overall(sub, india.POLLUTANTS, name="aqi_in")


def rates(df: pd.DataFrame, ours: pd.DataFrame) -> dict:
    """Match rates over the rows where CPCB published an AQI (ours missing = a mismatch)."""
    pub = df["AQI"]
    has = pub.notna()
    diff = (ours["aqi"] - pub)[has]
    same_bucket = (pd.Series(ours["category"], index=df.index) == df["AQI_Bucket"])[has]
    return {"rows": int(len(df)), "published": int(has.sum()),
            "exact": round(float((diff == 0).mean()), 4),
            "within5": round(float((diff.abs() <= 5).mean()), 4),
            "same_bucket": round(float(same_bucket.mean()), 4)}


def mismatch_classes(df: pd.DataFrame, ours: pd.DataFrame) -> dict[str, int]:
    """Every row falls in exactly one class."""
    pub, aqi = df["AQI"], ours["aqi"]
    close = (aqi - pub).abs() <= 5
    sub = ours[[p for p in india.POLLUTANTS if p in ours]]
    n_sub = sub.notna().sum(axis=1)
    has_pm = sub[["pm25", "pm10"]].notna().any(axis=1)
    co_o3 = ours["dominant"].isin(["co", "o3"])
    classes = {
        "both missing": pub.isna() & aqi.isna(),
        "published, ours missing: fewer than 3 pollutants": pub.notna() & aqi.isna() & (n_sub < 3),
        "published, ours missing: no PM2.5/PM10": pub.notna() & aqi.isna() & (n_sub >= 3) & ~has_pm,
        "ours, not published": pub.isna() & aqi.notna(),
        "exact": aqi == pub,
        "within 5": close & (aqi != pub),
        "off > 5, ours led by CO/O3 (daily mean for an 8-h max)": ~close & aqi.notna() & pub.notna() & co_o3,
        "off > 5, published higher, ours led by PM/NO2/SO2/NH3": ~close & ~co_o3 & (pub > aqi + 5),
        "off > 5, published lower, ours led by PM/NO2/SO2/NH3": ~close & ~co_o3 & (pub < aqi - 5),
    }
    counts = {k: int(v.sum()) for k, v in classes.items()}
    assert sum(counts.values()) == len(df), counts
    return counts


def published_bucket_consistent(df: pd.DataFrame) -> float:
    """Share of published rows whose AQI_Bucket is the NAQI category of their own AQI."""
    has = df["AQI"].notna()
    return round(float((india.category(df.loc[has, "AQI"].to_numpy()) == df.loc[has, "AQI_Bucket"]).mean()), 4)


def best_rule(df: pd.DataFrame) -> Rule:
    """The combination (nitrogen column x NH3 x D-1 weight) reproducing most published values
    within 5 (ties: the first, i.e. the simpler rule)."""
    grid = [Rule(f"{n}, NH3 {'in' if h else 'out'}, 24-h = {w:g} x D-1 + {1 - w:g} x D", nitrogen=n, nh3=h,
                 prev_weight=w)
            for w in (0.0, 0.25, 0.375, 0.5, 0.625) for n in ("NO2", "NOx") for h in (True, False)]
    return max(grid, key=lambda r: rates(df, recompute(df, r))["within5"])


def report(path: Path = DEFAULT) -> dict:
    df = read(path)
    out = {"candidates": {r.name: rates(df, recompute(df, r)) for r in CANDIDATES}}
    best = best_rule(df)
    ours_best = recompute(df, best)
    out["plain"] = {**rates(df, recompute(df, PLAIN)), "classes": mismatch_classes(df, recompute(df, PLAIN))}
    out["best"] = {"rule": best.name, **rates(df, ours_best), "classes": mismatch_classes(df, ours_best)}
    out["published_bucket_consistent"] = published_bucket_consistent(df)
    return out


def main(argv: list[str]) -> None:
    r = report(Path(argv[0]) if argv else DEFAULT)
    print("rule | exact | within 5 | same bucket")
    for name, v in r["candidates"].items():
        print(f"{name} | {v['exact']:.2%} | {v['within5']:.2%} | {v['same_bucket']:.2%}")
    for key in ("plain", "best"):
        v = r[key]
        print(f"\n{key}: {v.get('rule', PLAIN.name)}  (published rows {v['published']} of {v['rows']})")
        print(f"exact {v['exact']:.2%}, within 5 {v['within5']:.2%}, same bucket {v['same_bucket']:.2%}")
        for cls, n in v["classes"].items():
            print(f"  {cls}: {n}")
    print(f"\npublished AQI_Bucket = NAQI category of the published AQI: {r['published_bucket_consistent']:.2%}")


if __name__ == "__main__":
    main(sys.argv[1:])
