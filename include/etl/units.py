"""Pollutant names and unit conversion to the units the US EPA AQI tables are written in.

Sources report the same pollutant in different units (OpenAQ: µg/m³ or ppm; EPA AirData: ppb for
SO2/NO2, ppm for O3/CO; some European feeds mg/m³ for CO), and spell the units in many ways. Everything
is converted once, here, before any AQI is computed.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

#: Pollutant parameter names used throughout aqicast (OpenAQ spelling).
PARAMETERS = ("pm25", "pm10", "o3", "co", "so2", "no2")

#: The unit each pollutant's EPA breakpoint table is expressed in.
AQI_UNITS = {"pm25": "µg/m³", "pm10": "µg/m³", "o3": "ppm", "co": "ppm", "so2": "ppb", "no2": "ppb"}

#: Molar masses in g/mol, for µg/m³ <-> ppb.
MOLAR_MASS = {"o3": 48.00, "no2": 46.0055, "so2": 64.066, "co": 28.010}

#: Molar volume of an ideal gas in litres at 25 °C and 1 atm: EPA's reference conditions,
#: giving ppb = µg/m³ × 24.45 / molar mass.
MOLAR_VOLUME_25C = 24.45

_CANONICAL = {"ug/m3": "µg/m³", "mg/m3": "mg/m³", "ppm": "ppm", "ppb": "ppb"}


def _canonical_unit(raw: object) -> str | None:
    """One unit spelling -> canonical unit, or None if unknown."""
    if not isinstance(raw, str):
        return None
    # NFKC folds '³' to '3' and the micro sign (U+00B5) to Greek mu (U+03BC); casefold lowers both.
    s = unicodedata.normalize("NFKC", raw).casefold().replace("μ", "u").replace(" ", "")
    # EPA AirData qualifies PM mass with LC/SC (local vs standard conditions); the AQI uses either.
    for suffix in ("lc", "sc"):
        if s.endswith(suffix) and s[: -len(suffix)] in _CANONICAL:
            s = s[: -len(suffix)]
    s = s.replace("m-3", "/m3").replace("m^3", "m3").replace("//", "/")
    return _CANONICAL.get(s)


def normalize_unit(units: pd.Series) -> pd.Series:
    """Map the unit spellings found in real data to "µg/m³", "mg/m³", "ppm" or "ppb" (else NA).

    Only the distinct spellings are parsed (there are a handful per source), then mapped back.
    """
    import pandas as pd

    units = pd.Series(units)
    lookup = {u: _canonical_unit(u) for u in units.dropna().unique()}
    return units.map(lookup).astype("string")


def _factor(parameter: str, unit: str) -> float | None:
    """Multiplier taking `unit` to the AQI unit of `parameter`, or None when that is impossible."""
    target = AQI_UNITS[parameter]
    if parameter not in MOLAR_MASS:  # particles: mass concentrations only
        return {"µg/m³": 1.0, "mg/m³": 1000.0}.get(unit)
    to_ppb = {
        "ppb": 1.0,
        "ppm": 1000.0,
        "µg/m³": MOLAR_VOLUME_25C / MOLAR_MASS[parameter],
        "mg/m³": 1000.0 * MOLAR_VOLUME_25C / MOLAR_MASS[parameter],
    }[unit]
    return to_ppb / 1000.0 if target == "ppm" else to_ppb


def from_aqi_units(parameter: str, value, unit: str) -> np.ndarray:
    """The inverse of `to_aqi_units` for one parameter: values in its AQI unit -> `unit`.

    For the national scales written in mass concentrations (China HJ 633, India NAQI: µg/m³, CO in
    mg/m³). Gases use the same 25 °C / 1 atm molar volume as `to_aqi_units`, which is also China's
    reference state since the GB 3095-2012 amendment of 2018 (298.15 K, 1013.25 hPa).
    """
    import numpy as np

    canonical = _canonical_unit(unit)
    factor = _factor(parameter, canonical) if parameter in AQI_UNITS and canonical else None
    if factor is None:
        raise ValueError(f"cannot express {parameter!r} in {unit!r}")
    return np.asarray(value, dtype=float) / factor


def to_aqi_units(parameter, value, unit) -> np.ndarray:
    """Convert each value to its parameter's AQI unit (see `AQI_UNITS`).

    `parameter`, `value` and `unit` broadcast against each other (scalars or arrays/Series).
    NaN where the unit is unknown, the parameter is unknown, or the pair makes no physical sense
    (e.g. ppm for pm25).
    """
    import numpy as np
    import pandas as pd

    p, v, u = np.broadcast_arrays(
        np.asarray(parameter, dtype=object), np.asarray(value, dtype=float), np.asarray(unit, dtype=object)
    )
    # Factorise both label columns, then look the few distinct (parameter, unit) pairs up in a
    # small factor matrix; code -1 (missing) lands on the extra NaN row/column.
    p_codes, p_uniques = pd.factorize(p.ravel())
    u_codes, u_uniques = pd.factorize(u.ravel())
    canonical = normalize_unit(pd.Series(u_uniques, dtype=object)).fillna("").tolist()
    factors = np.full((len(p_uniques) + 1, len(u_uniques) + 1), np.nan)
    for i, par in enumerate(p_uniques):
        for j, un in enumerate(canonical):
            if par in AQI_UNITS and un and (f := _factor(par, un)) is not None:
                factors[i, j] = f
    return (v.ravel() * factors[p_codes, u_codes]).reshape(v.shape)
