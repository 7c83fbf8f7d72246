"""Baselines that every model is measured against.

- persistence: tomorrow's AQI = today's AQI;
- climatology: the mean next-day AQI of the city in that calendar month, from training rows only
  (falling back to the city's mean, then the overall mean).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from include.training.dataset import TARGET

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def persistence(df: "pd.DataFrame"):
    return df["aqi"].to_numpy(dtype=float)


def climatology_table(train: "pd.DataFrame") -> dict:
    month = train["date"].str[5:7].astype(int)
    by_month = train.groupby([train["city_id"], month])[TARGET].mean()
    return {
        "by_city_month": {f"{int(c)}-{int(m)}": float(v) for (c, m), v in by_month.items()},
        "by_city": {str(int(c)): float(v) for c, v in train.groupby("city_id")[TARGET].mean().items()},
        "overall": float(train[TARGET].mean()) if len(train) else float("nan"),
    }


def climatology(df: "pd.DataFrame", table: dict):
    import numpy as np

    out = []
    for city, date in zip(df["city_id"], df["date"]):
        month = int(str(date)[5:7])
        value = table["by_city_month"].get(f"{int(city)}-{month}", table["by_city"].get(str(int(city)), table["overall"]))
        out.append(value)
    return np.asarray(out, dtype=float)
