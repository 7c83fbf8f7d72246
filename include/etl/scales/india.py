"""India's National Air Quality Index (NAQI), CPCB 2014 ("National Air Quality Index", CPCB/IIT Kanpur).

Sub-index per pollutant, linear within the breakpoint row (contiguous rows: 30 < PM2.5 <= 60
maps to 50 < I <= 100, which is what CPCB's 31-60 / 51-100 table means for real-valued inputs),
AQI = the largest sub-index, the **prominent pollutant** = the one giving it. Sub-indices and AQI
are rounded half up to an integer.

Averaging (CPCB): PM2.5, PM10, NO2, SO2, NH3, Pb 24-h means; CO and O3 the maximum 8-h mean of the
day. The AQI needs **at least 3 pollutants, one of them PM2.5 or PM10** (else no index); CPCB asks
16 valid hours for a 24-h mean (the curated table asks 18, which is stricter).

Top of the scale: CPCB's Severe row (401-500) is open-ended ("250+"); the index continues with the
slope of the Very Poor row (PM2.5 250..380 -> 400..500, and beyond: CPCB publishes values above
500, up to 2049 in the city-day file). ``capped`` marks inputs above the Severe row's start.

Units: µg/m³, CO mg/m³. Gases converted from the curated ppm/ppb at 25 °C (``include.etl.units``).

Windows: CPCB's daily AQI is the 24 hours of its 4 pm bulletin or, in the city-day file, a day of
hourly values (see bench/cpcb_compare.py); aqicast's curated day is the local calendar day
00:00-24:00 and its max 8-h uses the windows starting 00:00..16:00 (``include.etl.daily``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from include.categories import SCALE_LEVELS
from include.etl.scales import Level, categorize, overall as _overall, piecewise

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

NAME = "in"

INDEX = (0, 50, 100, 200, 300, 400, 500)

#: CPCB NAQI breakpoints: concentration at each index of `INDEX`. The last value (index 500) is
#: the Severe row continued with the Very Poor row's width (the table leaves it open).
BREAKPOINTS: dict[str, tuple[float, ...]] = {
    "pm25": (0, 30, 60, 90, 120, 250, 380),  # 24-h
    "pm10": (0, 50, 100, 250, 350, 430, 510),  # 24-h
    "no2": (0, 40, 80, 180, 280, 400, 520),  # 24-h
    "o3": (0, 50, 100, 168, 208, 748, 1288),  # max 8-h
    "co": (0, 1.0, 2.0, 10, 17, 34, 51),  # max 8-h, mg/m³
    "so2": (0, 40, 80, 380, 800, 1600, 2400),  # 24-h
    "nh3": (0, 200, 400, 800, 1200, 1800, 2400),  # 24-h
    "pb": (0, 0.5, 1.0, 2.0, 3.0, 3.5, 4.0),  # 24-h
}
UNITS = {k: ("mg/m³" if k == "co" else "µg/m³") for k in BREAKPOINTS}

#: Tie order for the prominent pollutant.
POLLUTANTS = ("pm25", "pm10", "no2", "o3", "co", "so2", "nh3", "pb")
MIN_POLLUTANTS = 3

LEVELS: tuple[Level, ...] = tuple(Level(*lv) for lv in SCALE_LEVELS["in"])


def round_half_up(x):
    import numpy as np

    return np.floor(np.round(x, 6) + 0.5)


def raw_sub_index(pollutant: str, conc) -> "tuple[np.ndarray, np.ndarray]":
    """The unrounded sub-index and whether the input is beyond the Severe row's start."""
    import numpy as np

    try:
        bp = BREAKPOINTS[pollutant]
    except KeyError:
        raise ValueError(f"unknown pollutant {pollutant!r}; expected one of {sorted(BREAKPOINTS)}") from None
    c = np.asarray(conc, dtype=float)
    x, _ = piecewise(c, bp, INDEX, above="extrapolate")
    return x, (c > bp[-2]) & ~np.isnan(c)


def sub_index(pollutant: str, conc) -> "tuple[np.ndarray, np.ndarray]":
    """NAQI sub-index of ``pollutant`` (a key of `BREAKPOINTS`) for concentrations in `UNITS`."""
    x, capped = raw_sub_index(pollutant, conc)
    return round_half_up(x), capped


def overall(sub: "pd.DataFrame") -> "tuple[pd.Series, pd.Series]":
    """AQI and prominent pollutant from the `POLLUTANTS` columns of ``sub``; NaN / None unless at
    least 3 sub-indices exist and one of them is PM2.5 or PM10."""
    import numpy as np

    aqi, dominant = _overall(sub, POLLUTANTS, name="aqi_in")
    cols = sub.reindex(columns=list(POLLUTANTS))
    enough = (cols.notna().sum(axis=1) >= MIN_POLLUTANTS) & cols[["pm25", "pm10"]].notna().any(axis=1)
    return aqi.where(enough, np.nan), dominant.where(enough, None)


def category(index) -> "np.ndarray":
    """CPCB category name of each AQI (None for NaN)."""
    return categorize(index, LEVELS)


#: The curated statistic (AQI units) feeding each sub-index and the unit CPCB uses. aqicast has no
#: NH3 or Pb measurements.
DAILY_INPUTS = {
    "pm25": ("pm25_mean", "pm25", "µg/m³"), "pm10": ("pm10_mean", "pm10", "µg/m³"),
    "no2": ("no2_mean", "no2", "µg/m³"), "o3": ("o3_max8h", "o3", "µg/m³"),
    "co": ("co_max8h", "co", "mg/m³"), "so2": ("so2_mean", "so2", "µg/m³"),
}


def from_daily(daily: "pd.DataFrame") -> "pd.DataFrame":
    """The NAQI of each row of the curated daily table (statistics in AQI units)."""
    import numpy as np
    import pandas as pd

    from include.etl.units import from_aqi_units

    out = pd.DataFrame(index=daily.index)
    capped = np.zeros(len(daily), dtype=bool)
    for key, (col, parameter, unit) in DAILY_INPUTS.items():
        conc = from_aqi_units(parameter, daily[col].to_numpy(dtype=float, na_value=np.nan), unit)
        out[key], c = sub_index(key, conc)
        capped |= c
    out["index"], out["dominant"] = overall(out)
    out["category"] = category(out["index"].to_numpy())
    out["capped"] = capped & out["index"].notna().to_numpy()
    return out
