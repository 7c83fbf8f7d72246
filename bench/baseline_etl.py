"""Baseline for ``bench/etl_bench.py``: the same day's ETL written the obvious way.

Loop over files; scan each GSOD station (year) file for day D's lines (a substring test, then
``csv.DictReader`` on those);
``csv.DictReader`` over each archive csv.gz; ``json.loads`` each NDJSON line; convert units record
by record in Python; pandas ``groupby`` for the daily statistics; a per-row Python AQI function.
Idiomatic standard-library code, not slow on purpose (an earlier version called ``pandas.read_csv``
once per small file).

    python bench/baseline_etl.py --day 2024-06-15 --raw-root RAW --out OUT   # as a command Output: one row per
location (daily statistics + AQI) and one row per GSOD station (SI units), written as Parquet.

It does *less* than ``run_etl`` (no quarantine, no duplicate/plausibility rules beyond the basics,
no city assignment, no run report), so the comparison favours the baseline.
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import math
import os

import numpy as np
import pandas as pd

from include.etl.aqi import BREAKPOINTS

MOLAR_MASS = {"o3": 48.00, "no2": 46.0055, "so2": 64.066, "co": 28.010}
AQI_UNIT = {"pm25": "ug", "pm10": "ug", "o3": "ppm", "co": "ppm", "so2": "ppb", "no2": "ppb"}
GSOD_MISSING = {"TEMP": 9999.9, "DEWP": 9999.9, "MAX": 9999.9, "MIN": 9999.9, "SLP": 9999.9, "STP": 999.9,
                "VISIB": 999.9, "WDSP": 999.9, "MXSPD": 999.9, "GUST": 999.9, "PRCP": 99.99, "SNDP": 999.9}


# -- per-record conversions ------------------------------------------------------------------
def convert(parameter: str, value: float, unit: str) -> float | None:
    """One value to its AQI unit (ug/m3 for PM, ppm for O3/CO, ppb for SO2/NO2)."""
    u = unit.replace("µ", "u").replace("μ", "u").replace("³", "3").lower()
    if parameter in ("pm25", "pm10"):
        return value if u == "ug/m3" else value * 1000.0 if u == "mg/m3" else None
    if u == "ug/m3":
        ppb = value * 24.45 / MOLAR_MASS[parameter]
    elif u == "mg/m3":
        ppb = value * 1000.0 * 24.45 / MOLAR_MASS[parameter]
    elif u == "ppm":
        ppb = value * 1000.0
    elif u == "ppb":
        ppb = value
    else:
        return None
    return ppb / 1000.0 if AQI_UNIT[parameter] == "ppm" else ppb


def parse_local(text: str) -> dt.datetime:
    """Naive local wall time of an ISO timestamp with offset."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def aqi_one(pollutant: str, conc: float) -> float:
    """EPA sub-index of one concentration (truncate, interpolate, round half up)."""
    if conc is None or (isinstance(conc, float) and math.isnan(conc)):
        return float("nan")
    decimals = {"pm25": 1, "pm10": 0, "o3_8h": 3, "co": 1, "so2": 0, "no2": 0}[pollutant]
    c = math.floor(round(max(conc, 0.0) * 10 ** decimals, 6)) / 10 ** decimals
    rows = BREAKPOINTS[pollutant]
    for c_lo, c_hi, i_lo, i_hi in rows:
        if c_lo <= c <= c_hi:
            return float(math.floor(round((i_hi - i_lo) / (c_hi - c_lo) * (c - c_lo) + i_lo, 6) + 0.5))
    if c > rows[-1][1]:
        return float("nan") if pollutant == "o3_8h" else 500.0
    for (c_lo, c_hi, i_lo, i_hi), nxt in zip(rows, rows[1:]):  # gaps between rows (35.45 -> row of 35.4)
        if c_hi < c < nxt[0]:
            return float(math.floor(round((i_hi - i_lo) / (c_hi - c_lo) * (c - c_lo) + i_lo, 6) + 0.5))
    return float("nan")


# -- readers --------------------------------------------------------------------------------
def read_gsod(raw_root: str, day: dt.date) -> pd.DataFrame:
    folder = os.path.join(raw_root, "noaa-gsod-pds", f"{day:%Y}")
    rows = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".csv"):
            continue
        with open(os.path.join(folder, name), newline="", encoding="utf-8") as fh:
            # Only lines naming the day go through the csv module (a plain substring test first).
            header = next(csv.reader([fh.readline()]))
            needle = f'"{day.isoformat()}"'
            todays = [rec for rec in csv.DictReader((line for line in fh if needle in line), fieldnames=header)
                      if rec["DATE"] == day.isoformat()]
        for rec in todays:
            out = {"date": rec["DATE"], "station": rec["STATION"], "name": rec["NAME"].strip()}
            for k in ("LATITUDE", "LONGITUDE", "ELEVATION"):
                out[k.lower()] = float(rec[k]) if rec[k].strip() else None
            si = {}
            for field, missing in GSOD_MISSING.items():
                v = float(rec[field])
                if v == missing:
                    si[field] = None
                    continue
                if field == "STP" and v < 200:
                    v += 1000.0
                si[field] = v
            f2c = lambda f: None if f is None else (f - 32.0) * 5.0 / 9.0  # noqa: E731
            kn = lambda k: None if k is None else k * 0.514444  # noqa: E731
            out.update(temp_c=f2c(si["TEMP"]), dewp_c=f2c(si["DEWP"]), max_temp_c=f2c(si["MAX"]),
                       min_temp_c=f2c(si["MIN"]), slp_hpa=si["SLP"], stp_hpa=si["STP"],
                       visib_km=None if si["VISIB"] is None else si["VISIB"] * 1.609344,
                       wdsp_ms=kn(si["WDSP"]), mxspd_ms=kn(si["MXSPD"]), gust_ms=kn(si["GUST"]),
                       prcp_mm=None if si["PRCP"] is None or rec["PRCP_ATTRIBUTES"].strip() == "I" else si["PRCP"] * 25.4,
                       sndp_mm=None if si["SNDP"] is None else si["SNDP"] * 25.4)
            if out["temp_c"] is not None and out["dewp_c"] is not None:
                t, d = out["temp_c"], out["dewp_c"]
                out["rh_pct"] = 100.0 * math.exp(17.625 * d / (243.04 + d) - 17.625 * t / (243.04 + t))
            else:
                out["rh_pct"] = None
            for i, flag in enumerate(("fog", "rain", "snow", "hail", "thunder", "tornado")):
                out[flag] = rec["FRSHTT"].strip()[i : i + 1] == "1"
            rows.append(out)
    return pd.DataFrame(rows)


def read_archive(raw_root: str, day: dt.date) -> list[dict]:
    base = os.path.join(raw_root, "openaq-data-archive", "records", "csv.gz")
    records = []
    for folder in sorted(os.listdir(base)):
        loc = folder.split("=", 1)[1]
        path = os.path.join(base, folder, f"year={day:%Y}", f"month={day:%m}", f"location-{loc}-{day:%Y%m%d}.csv.gz")
        if not os.path.exists(path):
            continue
        with gzip.open(path, "rt", newline="", encoding="utf-8") as fh:
            for rec in csv.DictReader(fh):
                start = parse_local(rec["datetime"]) - dt.timedelta(hours=1)
                if start.date() != day:
                    continue
                value = convert(rec["parameter"], float(rec["value"]), rec["units"])
                if value is None or value < -20.0:
                    continue
                records.append({"location_id": rec["location_id"], "location": rec["location"],
                                "lat": float(rec["lat"]), "lon": float(rec["lon"]), "parameter": rec["parameter"],
                                "hour": start.hour, "value": max(value, 0.0), "period": 1.0})
    return records


def read_fetches(raw_root: str, day: dt.date) -> list[dict]:
    records = []
    for offset in (-1, 0, 1):
        folder_day = (day + dt.timedelta(days=offset)).isoformat()
        for top in ("realtime", "realtime-gzipped"):
            folder = os.path.join(raw_root, "openaq-fetches", top, folder_day)
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name)
                opener = gzip.open if name.endswith(".gz") else open
                with opener(path, "rt", encoding="utf-8") as fh:
                    for line in fh:
                        if not line.strip():
                            continue
                        rec = json.loads(line)
                        parameter = rec.get("parameter")
                        if parameter not in AQI_UNIT:
                            continue
                        period = rec.get("averagingPeriod") or {"value": 1, "unit": "hours"}
                        hours = period["value"] * (24 if period["unit"].startswith("day") else 1)
                        start = parse_local(rec["date"]["local"]) - dt.timedelta(hours=hours)
                        if start.date() != day:
                            continue
                        value = convert(parameter, float(rec["value"]), rec["unit"])
                        if value is None or value < -20.0:
                            continue
                        coords = rec.get("coordinates") or {}
                        records.append({"location_id": f"fetch:{rec.get('country', '')}:{rec.get('location', '')}",
                                        "location": rec.get("location"), "lat": coords.get("latitude"),
                                        "lon": coords.get("longitude"), "parameter": parameter,
                                        "hour": start.hour, "value": max(value, 0.0), "period": float(hours)})
    return records


# -- daily statistics -------------------------------------------------------------------------
def _max8h(series: pd.Series) -> float:
    """Max of the 8-h running means starting 00:00..16:00 (6 of 8 hours, 13 of 17 windows)."""
    full = series.reindex(range(24))
    means = full.rolling(8, min_periods=6).mean().iloc[7:24]
    return means.max() if means.notna().sum() >= 13 else float("nan")


def daily(records: list[dict], day: dt.date) -> pd.DataFrame:
    m = pd.DataFrame(records)
    hourly = m[m["period"] <= 1.0].groupby(["location_id", "parameter", "hour"], as_index=False)["value"].mean()
    stats = hourly.groupby(["location_id", "parameter"]).agg(mean=("value", "mean"), max1h=("value", "max"),
                                                               hours=("value", "count")).reset_index()
    stats.loc[stats["hours"] < 18, ["mean", "max1h"]] = np.nan
    gases = hourly[hourly["parameter"].isin(["o3", "co"])]
    max8h = gases.groupby(["location_id", "parameter"]).apply(lambda g: _max8h(g.set_index("hour")["value"]))
    stats = stats.merge(max8h.rename("max8h").reset_index(), on=["location_id", "parameter"], how="left")
    day24 = m[m["period"] == 24.0].groupby(["location_id", "parameter"], as_index=False)["value"].mean()
    day24 = day24.rename(columns={"value": "mean"}).assign(hours=24)
    stats = pd.concat([stats, day24], ignore_index=True).drop_duplicates(["location_id", "parameter"])
    wide = stats.pivot(index="location_id", columns="parameter", values=["mean", "max1h", "max8h", "hours"])
    wide.columns = [f"{p}_{s}" for s, p in wide.columns]
    wide = wide.reset_index()
    for col in ("pm25_mean", "pm10_mean", "o3_max8h", "co_max8h", "so2_max1h", "no2_max1h"):
        if col not in wide:
            wide[col] = np.nan

    def row_aqi(row) -> pd.Series:
        sub = {"pm25": aqi_one("pm25", row["pm25_mean"]), "pm10": aqi_one("pm10", row["pm10_mean"]),
               "o3": aqi_one("o3_8h", row["o3_max8h"]), "co": aqi_one("co", row["co_max8h"]),
               "so2": aqi_one("so2", row["so2_max1h"]), "no2": aqi_one("no2", row["no2_max1h"])}
        valid = {k: v for k, v in sub.items() if not math.isnan(v)}
        best = max(valid, key=valid.get) if valid else None
        return pd.Series({**{f"aqi_{k}": v for k, v in sub.items()},
                          "aqi": valid[best] if best else float("nan"), "dominant_pollutant": best})

    wide = pd.concat([wide, wide.apply(row_aqi, axis=1)], axis=1)
    meta = m.drop_duplicates("location_id")[["location_id", "location", "lat", "lon"]]
    out = meta.merge(wide, on="location_id", how="inner")
    out.insert(0, "date", day.isoformat())
    return out.sort_values("location_id", ignore_index=True)


def run_baseline(day: dt.date, raw_root: str, out_dir: str | None = None) -> dict:
    """The whole baseline day; returns the frames (and writes them as Parquet if ``out_dir``)."""
    weather = read_gsod(raw_root, day)
    records = read_archive(raw_root, day) + read_fetches(raw_root, day)
    aq = daily(records, day)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        aq.to_parquet(os.path.join(out_dir, "air_quality_daily.parquet"), index=False)
        weather.to_parquet(os.path.join(out_dir, "weather_daily.parquet"), index=False)
    return {"air_quality": aq, "weather": weather, "measurements": len(records)}


if __name__ == "__main__":  # the command-line form, timed side by side with `aqicast etl` (etl_bench --cli)
    import argparse
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p = argparse.ArgumentParser()
    p.add_argument("--day", required=True, type=dt.date.fromisoformat)
    p.add_argument("--raw-root", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    result = run_baseline(a.day, a.raw_root, a.out)
    print(json.dumps({"air_quality_daily": len(result["air_quality"]), "weather_daily": len(result["weather"])}))
