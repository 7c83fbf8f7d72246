"""China's Air Quality Index, HJ 633-2012 ("Technical Regulation on Ambient Air Quality Index").

Individual AQI (IAQI) per pollutant, HJ 633 eq. (1), on the standard's Table 1 (contiguous
breakpoints: the IAQI at a breakpoint is the table value, in between it is linear):

    IAQI_P = (IAQI_Hi - IAQI_Lo) / (BP_Hi - BP_Lo) * (C_P - BP_Lo) + IAQI_Lo

and AQI = max(IAQI_1 .. IAQI_n). IAQI and AQI are **rounded up** to an integer (HJ 633: the results
are "全部进位取整数", all carried up to whole numbers): PM2.5 80 µg/m³ -> 106.25 -> 107.

Units: µg/m³, CO mg/m³. Gases at the reference state of the 2018 amendment of GB 3095-2012
(298.15 K, 1013.25 hPa; before 1 Sept 2018: 273 K, which makes the same mixing ratio ~9 % more
µg/m³), i.e. the same 25 °C molar volume `include.etl.units` uses.

Daily AQI (日报, HJ 633 §5.2): SO2, NO2, CO, PM10, PM2.5 24-h means, O3 daily max 1-h and daily
max 8-h moving mean (the 8-h means ending 08:00..24:00, i.e. starting 00:00..16:00: exactly the
windows of ``include.etl.daily``). Two footnotes of Table 1:

- O3 8-h above 800 µg/m³: no 8-h IAQI; the 1-h IAQI is reported (it is part of the daily AQI anyway);
- SO2 1-h above 800 µg/m³: no 1-h IAQI; the 24-h IAQI is reported (1-h SO2 is for hourly reports
  only: ``sub_index("so2_1h", ...)`` returns NaN above 800).

Primary pollutant (首要污染物): when AQI > 50, the pollutant(s) with the largest IAQI; ties are
all primary ("pm25,pm10"); none when AQI <= 50. Above a table's top (IAQI 500) the IAQI is 500 and
``capped`` is set.

Data validity (GB 3095-2012 §8): a 24-h mean needs 20 hourly values (the curated table's 18-hour
minimum is looser, so ``from_daily`` also asks ``<p>_hours >= 20``); the daily max 8-h needs 14 of
the 17 windows (curated: 13, not re-checked here).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from include.categories import SCALE_LEVELS
from include.etl.scales import Level, categorize, piecewise

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

NAME = "cn"

IAQI = (0, 50, 100, 150, 200, 300, 400, 500)

#: HJ 633-2012 Table 1: concentration at each IAQI of `IAQI` (µg/m³; CO mg/m³).
BREAKPOINTS: dict[str, tuple[float, ...]] = {
    "so2_24h": (0, 50, 150, 475, 800, 1600, 2100, 2620),
    "so2_1h": (0, 150, 500, 650, 800),  # above 800: use the 24-h IAQI
    "no2_24h": (0, 40, 80, 180, 280, 565, 750, 940),
    "no2_1h": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "pm10": (0, 50, 150, 250, 350, 420, 500, 600),  # 24-h
    "co_24h": (0, 2, 4, 14, 24, 36, 48, 60),  # mg/m³
    "co_1h": (0, 5, 10, 35, 60, 90, 120, 150),  # mg/m³
    "o3_1h": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "o3_8h": (0, 100, 160, 215, 265, 800),  # above 800: use the 1-h IAQI
    "pm25": (0, 35, 75, 115, 150, 250, 350, 500),  # 24-h
}
UNITS = {k: ("mg/m³" if k.startswith("co") else "µg/m³") for k in BREAKPOINTS}

#: Sub-indices of the daily AQI, in tie order; the pollutant each one names.
POLLUTANTS = ("pm25", "pm10", "o3_8h", "o3_1h", "no2_24h", "so2_24h", "co_24h")
PRIMARY_NAME = {k: k.split("_")[0] for k in BREAKPOINTS}

#: HJ 633-2012 Table 2: levels (一级..六级), English names and colours (RGB of the standard).
LEVELS: tuple[Level, ...] = tuple(Level(*lv) for lv in SCALE_LEVELS["cn"])

_NOT_DEFINED_ABOVE = {"so2_1h", "o3_8h"}  # footnotes: the other averaging period is used instead


def _round_up(x):
    import numpy as np

    return np.ceil(np.round(x, 6))  # 106.0000000001 from float noise stays 106


def sub_index(pollutant: str, conc) -> "tuple[np.ndarray, np.ndarray]":
    """IAQI of ``pollutant`` (a key of `BREAKPOINTS`) for concentrations in `UNITS`: (iaqi, capped)."""
    import numpy as np

    try:
        bp = BREAKPOINTS[pollutant]
    except KeyError:
        raise ValueError(f"unknown pollutant {pollutant!r}; expected one of {sorted(BREAKPOINTS)}") from None
    c = np.asarray(conc, dtype=float)
    x, above = piecewise(c, bp, IAQI[: len(bp)], above="cap")
    iaqi = _round_up(x)
    if pollutant in _NOT_DEFINED_ABOVE:
        return np.where(above, np.nan, iaqi), np.zeros(np.shape(c), dtype=bool)
    return iaqi, above & ~np.isnan(c)


def overall(sub: "pd.DataFrame") -> "tuple[pd.Series, pd.Series]":
    """AQI = max IAQI over the `POLLUTANTS` columns of ``sub``; primary pollutant(s) when AQI > 50.

    Ties name every pollutant with the largest IAQI, in `POLLUTANTS` order, comma-separated
    (O3 1-h and 8-h both name "o3", once).
    """
    import numpy as np
    import pandas as pd

    values = sub.reindex(columns=list(POLLUTANTS)).to_numpy(dtype=float, na_value=np.nan)
    has_any = ~np.isnan(values).all(axis=1)
    aqi = np.where(has_any, np.nanmax(np.where(np.isnan(values), -np.inf, values), axis=1), np.nan)
    primary = []
    for row, top in zip(values, aqi):
        if not top > 50:
            primary.append(None)
            continue
        names = dict.fromkeys(PRIMARY_NAME[p] for p, v in zip(POLLUTANTS, row) if v == top)
        primary.append(",".join(names))
    return (pd.Series(aqi, index=sub.index, name="aqi_cn", dtype=float),
            pd.Series(primary, index=sub.index, name="aqi_cn_dominant", dtype=object))


def category(index) -> "np.ndarray":
    """HJ 633 level name of each AQI (None for NaN)."""
    return categorize(index, LEVELS)


#: The curated statistic (AQI units) feeding each daily sub-index, and its unit there.
DAILY_INPUTS = {
    "pm25": ("pm25_mean", "pm25", "µg/m³"), "pm10": ("pm10_mean", "pm10", "µg/m³"),
    "o3_8h": ("o3_max8h", "o3", "µg/m³"), "o3_1h": ("o3_max1h", "o3", "µg/m³"),
    "no2_24h": ("no2_mean", "no2", "µg/m³"), "so2_24h": ("so2_mean", "so2", "µg/m³"),
    "co_24h": ("co_mean", "co", "mg/m³"),
}
MIN_HOURS_24H = 20  # GB 3095-2012 §8: a 24-h mean needs 20 hourly values


def from_daily(daily: "pd.DataFrame") -> "pd.DataFrame":
    """The daily AQI of each row of the curated daily table (statistics in AQI units)."""
    import numpy as np
    import pandas as pd

    from include.etl.units import from_aqi_units

    out = pd.DataFrame(index=daily.index)
    capped = np.zeros(len(daily), dtype=bool)
    for key, (col, parameter, unit) in DAILY_INPUTS.items():
        conc = from_aqi_units(parameter, daily[col].to_numpy(dtype=float, na_value=np.nan), unit)
        if col.endswith("_mean") and f"{parameter}_hours" in daily:
            conc = np.where(daily[f"{parameter}_hours"].to_numpy() >= MIN_HOURS_24H, conc, np.nan)
        out[key], c = sub_index(key, conc)
        capped |= c
    out["index"], out["dominant"] = overall(out)
    out["category"] = category(out["index"].to_numpy())
    out["capped"] = capped
    return out
