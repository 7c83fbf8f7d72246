"""US EPA Air Quality Index: sub-indices, overall AQI, categories. Vectorised over numpy arrays.

Method and tables: EPA, "Technical Assistance Document for the Reporting of Daily Air Quality -
the Air Quality Index (AQI)", EPA-454/B-24-002, May 2024 (breakpoint table and equation 1).
Inputs are daily statistics already in the table's units (see `include.etl.units.to_aqi_units`):
PM2.5/PM10 24-h mean (µg/m³), O3 max 8-h mean and max 1-h (ppm), CO max 8-h mean (ppm),
SO2/NO2 max 1-h (ppb).

Checked against every row of EPA AirData daily files (tests/test_aqi.py): EPA truncates the
concentration, interpolates linearly within the breakpoint row, and rounds half up.
"""

from __future__ import annotations


from typing import NamedTuple

import numpy as np
import pandas as pd


class Breakpoint(NamedTuple):
    c_lo: float
    c_hi: float
    i_lo: int
    i_hi: int


# EPA TAD May 2024, breakpoint table. The Hazardous rows are single 301-500 rows as in that table.
BREAKPOINTS: dict[str, tuple[Breakpoint, ...]] = {
    "pm25": (  # 24-h, µg/m³ (PM NAAQS review, Feb 2024)
        Breakpoint(0.0, 9.0, 0, 50), Breakpoint(9.1, 35.4, 51, 100), Breakpoint(35.5, 55.4, 101, 150),
        Breakpoint(55.5, 125.4, 151, 200), Breakpoint(125.5, 225.4, 201, 300),
        Breakpoint(225.5, 325.4, 301, 500),
    ),
    "pm10": (  # 24-h, µg/m³
        Breakpoint(0, 54, 0, 50), Breakpoint(55, 154, 51, 100), Breakpoint(155, 254, 101, 150),
        Breakpoint(255, 354, 151, 200), Breakpoint(355, 424, 201, 300), Breakpoint(425, 604, 301, 500),
    ),
    "o3_8h": (  # 8-h, ppm; not defined above 0.200 ppm, where the 1-h value is used instead
        Breakpoint(0.000, 0.054, 0, 50), Breakpoint(0.055, 0.070, 51, 100),
        Breakpoint(0.071, 0.085, 101, 150), Breakpoint(0.086, 0.105, 151, 200),
        Breakpoint(0.106, 0.200, 201, 300),
    ),
    "o3_1h": (  # 1-h, ppm; only defined from AQI 101 (0.125 ppm)
        Breakpoint(0.125, 0.164, 101, 150), Breakpoint(0.165, 0.204, 151, 200),
        Breakpoint(0.205, 0.404, 201, 300), Breakpoint(0.405, 0.604, 301, 500),
    ),
    "co": (  # 8-h, ppm
        Breakpoint(0.0, 4.4, 0, 50), Breakpoint(4.5, 9.4, 51, 100), Breakpoint(9.5, 12.4, 101, 150),
        Breakpoint(12.5, 15.4, 151, 200), Breakpoint(15.5, 30.4, 201, 300), Breakpoint(30.5, 50.4, 301, 500),
    ),
    "so2": (  # 1-h, ppb
        Breakpoint(0, 35, 0, 50), Breakpoint(36, 75, 51, 100), Breakpoint(76, 185, 101, 150),
        Breakpoint(186, 304, 151, 200), Breakpoint(305, 604, 201, 300), Breakpoint(605, 1004, 301, 500),
    ),
    "no2": (  # 1-h, ppb
        Breakpoint(0, 53, 0, 50), Breakpoint(54, 100, 51, 100), Breakpoint(101, 360, 101, 150),
        Breakpoint(361, 649, 151, 200), Breakpoint(650, 1249, 201, 300), Breakpoint(1250, 2049, 301, 500),
    ),
}

# The PM2.5 table in force from Dec 2012 until May 2024 (EPA-454/B-18-007, Sept 2018). Kept because
# EPA data downloaded before May 2024 carries AQI values computed with it.
PM25_2012: tuple[Breakpoint, ...] = (
    Breakpoint(0.0, 12.0, 0, 50), Breakpoint(12.1, 35.4, 51, 100), Breakpoint(35.5, 55.4, 101, 150),
    Breakpoint(55.5, 150.4, 151, 200), Breakpoint(150.5, 250.4, 201, 300),
    Breakpoint(250.5, 350.4, 301, 400), Breakpoint(350.5, 500.4, 401, 500),
)

# Decimal places EPA keeps before looking up the table (TAD: "truncate").
_DECIMALS = {"pm25": 1, "pm10": 0, "o3": 3, "o3_8h": 3, "o3_1h": 3, "co": 1, "so2": 0, "no2": 0}

# Order for picking the dominant pollutant when sub-indices tie.
POLLUTANTS = ("pm25", "pm10", "o3", "no2", "so2", "co")


def breakpoints(pollutant: str, pm25_table: str = "2024") -> tuple[Breakpoint, ...]:
    """The breakpoint rows used for `pollutant` (pm25_table: "2024" or "2012")."""
    if pollutant == "pm25" and pm25_table != "2024":
        if pm25_table != "2012":
            raise ValueError(f"pm25_table must be '2024' or '2012', not {pm25_table!r}")
        return PM25_2012
    try:
        return BREAKPOINTS[pollutant]
    except KeyError:
        raise ValueError(f"unknown pollutant {pollutant!r}; expected one of {sorted(BREAKPOINTS)}") from None


def truncate(pollutant: str, conc) -> np.ndarray:
    """Drop digits beyond the table's precision, as EPA does (35.47 -> 35.4, never 35.5).

    The scaled value is rounded to 6 decimals first so that 35.4 stored as 35.39999999 stays 35.4.
    """
    scale = 10.0 ** _DECIMALS[pollutant]
    c = np.asarray(conc, dtype=float)
    return np.floor(np.round(c * scale, 6)) / scale


def sub_index(pollutant: str, conc, *, pm25_table: str = "2024") -> tuple[np.ndarray, np.ndarray]:
    """AQI sub-index for one pollutant: returns (aqi as float64 with NaN, capped flag).

    Negative readings count as 0 (instrument noise around zero; EPA reports AQI 0 for them).
    Above the top breakpoint the AQI is 500 and `capped` is True. Undefined -> NaN: missing input,
    1-h ozone below 0.125 ppm, 8-h ozone above 0.200 ppm (use the 1-h value, `ozone_sub_index`).
    """
    rows = np.array(breakpoints(pollutant, pm25_table), dtype=float)
    c_lo, c_hi, i_lo, i_hi = rows.T
    shape = np.shape(conc)
    c = truncate(pollutant, np.clip(np.atleast_1d(np.asarray(conc, dtype=float)), 0.0, None))

    row = np.searchsorted(c_lo, c, side="right") - 1  # NaN sorts last, excluded below
    defined = ~np.isnan(c) & (row >= 0)
    r = np.clip(row, 0, len(rows) - 1)
    x = (i_hi[r] - i_lo[r]) / (c_hi[r] - c_lo[r]) * (c - c_lo[r]) + i_lo[r]
    aqi = np.where(defined, np.floor(np.round(x, 6) + 0.5), np.nan)  # round half up

    above = defined & (c > c_hi[-1])
    aqi[above] = np.nan if pollutant == "o3_8h" else 500.0
    capped = above if pollutant != "o3_8h" else np.zeros_like(above)
    return aqi.reshape(shape), capped.reshape(shape)


def ozone_sub_index(o3_8h, o3_1h=None) -> tuple[np.ndarray, np.ndarray]:
    """Ozone sub-index: the larger of the 8-h and the 1-h sub-index, each where it is defined.

    EPA reports the 8-h ozone AQI, but where the 1-h table gives a higher value (some areas with
    short, sharp peaks) the higher one is used; above 0.200 ppm 8-h only the 1-h value exists.
    """
    a8, _ = sub_index("o3_8h", o3_8h)
    if o3_1h is None:
        return a8, np.zeros(np.shape(a8), dtype=bool)
    a1, capped1 = sub_index("o3_1h", o3_1h)
    aqi = np.fmax(a8, a1)
    return aqi, capped1 & (aqi == a1)


def overall_aqi(sub: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Overall AQI = max of the sub-indices `aqi_<pollutant>`; dominant = the pollutant giving it.

    Missing columns count as missing data. Ties go to the first in `POLLUTANTS` order. Rows with
    no sub-index at all get AQI NaN and dominant None.
    """
    cols = [f"aqi_{p}" for p in POLLUTANTS]
    values = sub.reindex(columns=cols).to_numpy(dtype=float, na_value=np.nan)
    has_any = ~np.isnan(values).all(axis=1)
    first_max = np.argmax(np.where(np.isnan(values), -np.inf, values), axis=1)  # first on ties
    aqi = np.where(has_any, values[np.arange(len(values)), first_max], np.nan)
    dominant = np.where(has_any, np.array(POLLUTANTS, dtype=object)[first_max], None)
    return (
        pd.Series(aqi, index=sub.index, name="aqi", dtype=float),
        pd.Series(dominant, index=sub.index, name="dominant_pollutant", dtype=object),
    )


from include.categories import CATEGORIES, SENSITIVE_GROUPS, Category  # noqa: E402,F401
from include.categories import category_info as _category_info  # noqa: E402

_UPPERS = np.array([c.upper for c in CATEGORIES[:-1]], dtype=float)
_NAMES = np.array([c.name for c in CATEGORIES], dtype=object)


def _category_index(aqi) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(aqi, dtype=float)
    # AQI values are integers; anything in (50, 51) is already above Good. Above 500 stays Hazardous.
    return np.searchsorted(_UPPERS, a, side="left"), np.isnan(a)


def category(aqi) -> np.ndarray:
    """Category name for each AQI value (None for NaN)."""
    idx, missing = _category_index(aqi)
    return np.where(missing, None, _NAMES[np.minimum(idx, len(_NAMES) - 1)])


def category_info(aqi) -> dict:
    """Everything about the category of one AQI value: name, range, colour, health texts."""
    if np.ndim(aqi) != 0:
        raise ValueError(f"category_info needs one AQI value, got {aqi!r}")
    return _category_info(float(aqi))
