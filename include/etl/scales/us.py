"""The US EPA AQI (``include.etl.aqi``) behind the common `Scale` interface."""
from __future__ import annotations

from typing import TYPE_CHECKING

from include.categories import SCALE_LEVELS
from include.etl import aqi as _epa
from include.etl.scales import Level

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

NAME = "us"
POLLUTANTS = _epa.POLLUTANTS
BREAKPOINTS = _epa.BREAKPOINTS
UNITS = {"pm25": "µg/m³", "pm10": "µg/m³", "o3_8h": "ppm", "o3_1h": "ppm", "co": "ppm", "so2": "ppb", "no2": "ppb"}
LEVELS = tuple(Level(*lv) for lv in SCALE_LEVELS["us"])
sub_index = _epa.sub_index
category = _epa.category


def overall(sub: "pd.DataFrame") -> "tuple[pd.Series, pd.Series]":
    """Overall AQI of a frame whose columns are named after `POLLUTANTS`."""
    return _epa.overall_aqi(sub.rename(columns={p: f"aqi_{p}" for p in POLLUTANTS}))


def from_daily(daily: "pd.DataFrame", pm25_table: str = "2024") -> "pd.DataFrame":
    """The US AQI of each row of the curated daily table (the same rules as ``include.etl.daily``)."""
    import numpy as np
    import pandas as pd

    out = pd.DataFrame(index=daily.index)
    col = lambda c: daily[c].to_numpy(dtype=float, na_value=np.nan)  # noqa: E731
    out["pm25"], c1 = _epa.sub_index("pm25", col("pm25_mean"), pm25_table=pm25_table)
    out["pm10"], c2 = _epa.sub_index("pm10", col("pm10_mean"))
    out["o3"], c3 = _epa.ozone_sub_index(col("o3_max8h"), col("o3_max1h"))
    out["co"], c4 = _epa.sub_index("co", col("co_max8h"))
    out["so2"], c5 = _epa.sub_index("so2", col("so2_max1h"))
    out["no2"], c6 = _epa.sub_index("no2", col("no2_max1h"))
    out["index"], out["dominant"] = overall(out)
    out["category"] = category(out["index"].to_numpy())
    out["capped"] = c1 | c2 | c3 | c4 | c5 | c6
    return out
