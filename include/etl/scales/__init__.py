"""National air-quality scales beside the US EPA AQI: one small module per scale, one interface.

=========  ==========================================  ======================================
scale      module                                      index
=========  ==========================================  ======================================
``us``     ``include.etl.scales.us`` (wraps ``aqi``)   US EPA AQI (EPA-454/B-24-002)
``cn``     ``include.etl.scales.china``                China AQI, HJ 633-2012 (IAQI per pollutant)
``in``     ``include.etl.scales.india``                India National AQI (CPCB, 2014)
=========  ==========================================  ======================================

Every scale module provides (the `Scale` protocol):

- ``NAME``, ``POLLUTANTS`` (tie order for the dominant pollutant), ``LEVELS`` (`Level` rows);
- ``sub_index(pollutant, conc) -> (index, capped)``: float arrays (NaN where undefined) for
  concentrations already in the scale's own units and averaging (``UNITS``);
- ``overall(sub) -> (index, dominant)``: the overall index of a frame of sub-indices whose columns
  are named after ``POLLUTANTS`` (missing columns = missing data) and the pollutant giving it;
- ``category(index) -> names`` (None for NaN);
- ``from_daily(daily) -> frame`` with ``index``, ``dominant``, ``category``, ``capped`` and one
  column per sub-index: the scale applied to aqicast's curated daily statistics (AQI units: µg/m³
  for PM, ppm for O3/CO, ppb for SO2/NO2; see ``include.etl.daily``), with the scale's own
  averaging rules and unit conversion.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class Level:
    """One category of a scale: its official English name, index range and colour."""

    name: str
    lower: int
    upper: int | None  # None: open-ended top level
    color: str


class Scale(Protocol):  # pragma: no cover - a typing aid
    NAME: str
    POLLUTANTS: tuple[str, ...]
    LEVELS: tuple[Level, ...]

    def sub_index(self, pollutant: str, conc) -> "tuple[np.ndarray, np.ndarray]": ...
    def overall(self, sub: "pd.DataFrame") -> "tuple[pd.Series, pd.Series]": ...
    def category(self, index) -> "np.ndarray": ...
    def from_daily(self, daily: "pd.DataFrame") -> "pd.DataFrame": ...


_MODULES = {"us": "include.etl.scales.us", "cn": "include.etl.scales.china", "in": "include.etl.scales.india"}
SCALES = tuple(_MODULES)


def scale(code: str) -> ModuleType:
    """The module of scale ``code`` ("us", "cn", "in")."""
    try:
        return importlib.import_module(_MODULES[code])
    except KeyError:
        raise ValueError(f"unknown scale {code!r}; expected one of {SCALES}") from None


# ---- helpers shared by the piecewise-linear scales ------------------------------------------

def piecewise(conc, bp, idx, *, above: str = "cap"):
    """Linear interpolation on contiguous segments (bp[k], bp[k+1]] -> (idx[k], idx[k+1]].

    Negative readings count as 0. Above the last breakpoint: ``above="cap"`` gives the top index,
    ``"extrapolate"`` continues with the last segment's slope. Returns (unrounded index, capped).
    """
    import numpy as np

    bp = np.asarray(bp, dtype=float)
    idx = np.asarray(idx, dtype=float)
    c = np.clip(np.asarray(conc, dtype=float), 0.0, None)
    k = np.clip(np.searchsorted(bp, c, side="left") - 1, 0, len(bp) - 2)
    x = idx[k] + (c - bp[k]) * (idx[k + 1] - idx[k]) / (bp[k + 1] - bp[k])
    capped = c > bp[-1]
    if above == "cap":
        x = np.where(capped, idx[-1], x)
    return x, capped


def overall(sub: "pd.DataFrame", pollutants, *, name: str) -> "tuple[pd.Series, pd.Series]":
    """Max of the sub-indices (columns named after ``pollutants``) and the first pollutant giving it."""
    import numpy as np
    import pandas as pd

    values = sub.reindex(columns=list(pollutants)).to_numpy(dtype=float, na_value=np.nan)
    has_any = ~np.isnan(values).all(axis=1)
    first = np.argmax(np.where(np.isnan(values), -np.inf, values), axis=1)
    index = np.where(has_any, values[np.arange(len(values)), first], np.nan)
    dominant = np.where(has_any, np.array(pollutants, dtype=object)[first], None)
    return (pd.Series(index, index=sub.index, name=name, dtype=float),
            pd.Series(dominant, index=sub.index, name=f"{name}_dominant", dtype=object))


def categorize(index, levels) -> "np.ndarray":
    """Level name of each (integer) index; None for NaN. The top level is open-ended."""
    import numpy as np

    a = np.asarray(index, dtype=float)
    uppers = np.array([lv.upper for lv in levels[:-1]], dtype=float)
    names = np.array([lv.name for lv in levels], dtype=object)
    k = np.minimum(np.searchsorted(uppers, a, side="left"), len(names) - 1)
    return np.where(np.isnan(a), None, names[k])
