"""Daily statistics per location and local day, EPA sub-indices, overall AQI.

From the hourly series of day D (a location's values in AQI units, by the local hour its period
starts in; sub-hourly values are first averaged within their hour):

=========  =======================  ==========================================================
pollutant  statistic (AQI input)    rule
=========  =======================  ==========================================================
pm25/pm10  ``<p>_mean`` 24-h mean   >= ``MIN_HOURS`` (18 of 24, EPA's 75 %) valid hours
o3         ``o3_max8h`` + ``o3_max1h``  max of the 8-h running means; each 8-h window needs 6 of
                                    8 hours and the day 13 of its 17 windows (see below); the
                                    1-h max needs 18 hours; sub-index = the larger of the two
co         ``co_max8h``             as o3 8-h
so2/no2    ``<p>_max1h``            max hourly value, >= 18 hours
=========  =======================  ==========================================================

Approximation: EPA's daily max 8-h uses the 17 windows starting 07:00..23:00, which reach into
the next day. A partition of day D only sees D, so it uses the 17 windows starting 00:00..16:00
(all inside D). This keeps a day's partition independent of D+1 (no late rewrites); on the
Beijing sample the daily max moves by less than the EPA truncation step on most days.

Other national scales (``NATIONAL_COLUMNS``, from the same statistics, see ``include.etl.scales``):
``aqi_cn`` / ``aqi_cn_dominant`` / ``aqi_cn_category`` (China HJ 633-2012: 24-h means of PM, SO2,
NO2, CO with 20 of 24 hours, O3 max 1-h and max 8-h; the dominant is HJ 633's primary pollutant,
None when the AQI is <= 50, ties comma-joined) and ``aqi_in`` / ``aqi_in_dominant`` /
``aqi_in_category`` (India NAQI: 24-h means of PM, NO2, SO2; max 8-h of CO, O3; at least 3
pollutants, one of them PM). They are curated columns only: features do not read them.

Values reported as 24-hour means (e.g. CPCB city means in the realtime fetches) fill
``<p>_mean`` with 24 hours; they give a PM sub-index but no gas sub-index (EPA's gas statistics
are 1-h/8-h maxima, which a 24-h mean cannot stand in for).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from typing import TYPE_CHECKING, Callable, NamedTuple

from include.config import EtlRules
from include.etl import aqi as epa
from include.etl.cities import CITY_COLUMNS, assign_cities
from include.etl.measurements import as_plain_text
from include.etl.scales import scale

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

POLLUTANTS = ("pm25", "pm10", "o3", "co", "so2", "no2")
STAT_COLUMNS = ["pm25_mean", "pm10_mean", "o3_mean", "co_mean", "so2_mean", "no2_mean",
                "o3_max8h", "o3_max1h", "co_max8h", "so2_max1h", "no2_max1h"]
HOUR_COLUMNS = [f"{p}_hours" for p in POLLUTANTS]
AQI_COLUMNS = [f"aqi_{p}" for p in POLLUTANTS]
LOCATION_COLUMNS = ["location_id", "location", "source", "lat", "lon", "country"]
#: Other national scales, each adding ``aqi_<code>``, ``aqi_<code>_dominant``, ``aqi_<code>_category``.
NATIONAL_SCALES = ("cn", "in")
NATIONAL_COLUMNS = [f"aqi_{c}{s}" for c in NATIONAL_SCALES for s in ("", "_dominant", "_category")]


class RowCodes(NamedTuple):
    """Per row of a day's measurements, its location and parameter as codes (into ``locations``
    and ``parameters``, numbered in order of first appearance; -1: missing) and its local start
    hour: computed once (``row_codes``) for the daily statistics, the locations' rows and the
    hourly profile, which each factorised the same text columns of ~1.4 M rows before."""

    location: "np.ndarray"
    locations: "pd.Index"
    parameter: "np.ndarray"
    parameters: "pd.Index"
    hour: "np.ndarray"


def row_codes(m: "pd.DataFrame") -> RowCodes:
    loc_codes, locations = _factorize(m["location_id"])
    par_codes, parameters = _factorize(m["parameter"])
    return RowCodes(loc_codes, locations, par_codes, parameters, m["start_local"].dt.hour.to_numpy())


def _factorize(column: "pd.Series"):
    """``pd.factorize(column)``; for a dictionary-encoded column (from its codes), the distinct
    values as the plain text column would give them (an ``Index`` of the categories' dtype)."""
    import pandas as pd

    codes, distinct = pd.factorize(column)
    if isinstance(column.dtype, pd.CategoricalDtype):
        distinct = pd.Index(distinct.to_numpy(), dtype=column.cat.categories.dtype)
    return codes, distinct


class HourlyMeans(NamedTuple):
    """A day's hourly-or-finer measurements as the hourly means of each series (a location's
    parameter; series numbered in order of first appearance): what the daily statistics and the
    hourly profile (``features.city_profile``) are computed from. About 200 bytes a series
    (a global day: ~60,000 series for 1.4 M rows), cheap to send to another process."""

    location: "np.ndarray"   # per series, its location: a code into ``locations``
    locations: "pd.Index"
    parameter: "np.ndarray"  # per series, its parameter: a code into ``parameters``
    parameters: "pd.Index"
    values: "np.ndarray"     # (series, 24): each local start hour's mean, NaN where none

    def keys(self) -> "pd.DataFrame":
        """Per series, its location_id and parameter."""
        import pandas as pd

        return pd.DataFrame({"location_id": self.locations.take(self.location),
                             "parameter": self.parameters.take(self.parameter)})


def hourly_means(m: "pd.DataFrame", codes: RowCodes | None = None) -> HourlyMeans:
    """The hourly means of the hourly-or-finer rows of ``m`` (``period_hours`` <= 1), negative
    values (instrument noise) counting as 0 (EPA practice). ``codes``: ``row_codes(m)``, if
    computed already."""
    is_hourly = (m["period_hours"] <= 1.0).to_numpy()
    return _hourly_means(m["value"].clip(lower=0.0).to_numpy(dtype=float), None if is_hourly.all() else is_hourly,
                         row_codes(m) if codes is None else codes)


def hourly_matrix(m: "pd.DataFrame", rows: "np.ndarray | None" = None, codes: RowCodes | None = None):
    """Pivot hourly-or-finer measurements to a (series, 24) array of hourly means.

    ``rows``: a boolean mask of the rows of ``m`` to use (default: all of them); cheaper than
    filtering ``m`` first, whose text columns would be copied only to be factorised. ``codes``:
    ``row_codes(m)``, if computed already.
    Returns ``keys`` (a frame of location_id, parameter per series) and the float array.
    """
    means = _hourly_means(m["value"].to_numpy(dtype=float), rows, row_codes(m) if codes is None else codes)
    return means.keys(), means.values


def _hourly_means(value: "np.ndarray", rows: "np.ndarray | None", codes: RowCodes) -> HourlyMeans:
    import numpy as np
    import pandas as pd

    def sel(x):
        return x if rows is None else x[rows]

    # Series = distinct (location_id, parameter) pairs in order of first appearance. Factorising the
    # two columns apart and then their combined codes is much cheaper than a MultiIndex.
    loc_codes, locations, par_codes, parameters, hour = codes
    # (In place where it can be: a global day's 1.4 M rows make each temporary 11 MB.)
    pair = loc_codes.astype(np.int64)
    pair *= len(parameters)
    pair += par_codes
    series, pairs = pd.factorize(sel(pair))
    del pair
    n = len(pairs)
    # bincount adds in row order, exactly like the np.add.at it replaces, only much faster.
    cell = series
    cell *= 24
    cell += sel(hour)
    total = np.bincount(cell, weights=sel(value), minlength=n * 24).astype(np.float64, copy=False).reshape(n, 24)
    count = np.bincount(cell, minlength=n * 24).reshape(n, 24)
    del cell, series
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.divide(total, count, out=total)
    values[count == 0] = np.nan
    return HourlyMeans(pairs // len(parameters), locations, pairs % len(parameters), parameters, values)


def daily_stats(values, rules: EtlRules = EtlRules()):
    """Per series: hours, 24-h mean, max 1-h, max 8-h (NaN where incomplete)."""
    import numpy as np

    valid = ~np.isnan(values)
    hours = valid.sum(axis=1)
    complete = hours >= rules.min_hours
    with np.errstate(invalid="ignore", divide="ignore"), quiet_nan_warnings():
        mean = np.where(complete, np.nanmean(values, axis=1), np.nan)
        max1h = np.where(complete, np.nanmax(values, axis=1), np.nan)
        w_count, w_sum = _window_sums(values, valid)  # the 17 windows starting 00:00..16:00
        w_valid = w_count >= rules.min_hours_per_8h
        w_mean = np.where(w_valid, w_sum / w_count, np.nan)
        ok = w_valid.sum(axis=1) >= rules.min_8h_windows
        max8h = np.where(ok, np.nanmax(w_mean, axis=1), np.nan)
    return hours, mean, max1h, max8h


def _window_sums(values, valid):
    """Per series, for the 17 8-hour windows starting at hours 0..16: the valid hours and the sum
    of the valid values, exactly as ``np.nanmean`` over ``sliding_window_view(values, 8)`` adds
    them (NaN as 0, eight values paired as numpy's pairwise sum pairs them: the same bits,
    tested), from eight shifted views instead of a copied (series, 17, 8) array."""
    import numpy as np

    counts = np.zeros((len(values), 25), dtype=np.int64)
    np.cumsum(valid, axis=1, out=counts[:, 1:])
    z = np.where(valid, values, 0.0)
    s = [z[:, k:k + 17] for k in range(8)]
    return counts[:, 8:25] - counts[:, 0:17], ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))


@contextlib.contextmanager
def quiet_nan_warnings():
    """Silence numpy's all-NaN-slice warnings (expected: incomplete series become NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def location_rows(m: "pd.DataFrame", codes: RowCodes | None = None) -> "pd.DataFrame":
    """One row per location of the measurements ``m`` (its first row's ``LOCATION_COLUMNS`` and
    ``city_hint``), indexed by location_id, in order of first appearance: what its city is
    assigned from. ``codes``: ``row_codes(m)``, if computed already."""
    import numpy as np

    if codes is None or (codes.location < 0).any():
        first_rows = ~m["location_id"].duplicated().to_numpy()
    else:  # codes are numbered in order of first appearance: a first row's exceeds all before it
        loc = codes.location
        first_rows = np.empty(len(loc), dtype=bool)
        first_rows[:1] = True
        first_rows[1:] = loc[1:] > np.maximum.accumulate(loc)[:-1]
    # 10,000 positions taken from 7 columns, not 7 columns of ~1.4 M rows filtered by a mask.
    return as_plain_text(m[LOCATION_COLUMNS + ["city_hint"]].iloc[np.flatnonzero(first_rows)]).set_index("location_id")


def air_quality_daily(m: "pd.DataFrame", day: dt.date, *, rules: EtlRules = EtlRules(),
                      pm25_table: str | None = None, codes: RowCodes | None = None,
                      hourly: HourlyMeans | None = None,
                      cities: "Callable[[], pd.DataFrame] | None" = None) -> "pd.DataFrame":
    """One row per location for ``day``: statistics, hour counts, sub-indices, AQI, city.

    ``codes``: ``row_codes(m)``, ``hourly``: ``hourly_means(m)``, if computed already. ``cities``: a function giving
    ``assign_cities(location_rows(m))`` (each location's city depends on its own row only),
    called once the statistics are computed (``pipeline.run_etl`` has them assigned meanwhile in
    its helper process)."""
    import numpy as np
    import pandas as pd

    pm25_table = pm25_table or rules.pm25_table
    hourly = hourly_means(m, codes) if hourly is None else hourly
    is_daily = (m["period_hours"] == 24.0).to_numpy()

    stats = []
    if len(hourly.values):
        hours, mean, max1h, max8h = daily_stats(hourly.values, rules)
        stats.append(hourly.keys().assign(hours=hours, mean=mean, max1h=max1h, max8h=max8h))
    if is_daily.any():  # 24-hour means (noise negatives count as 0 here too)
        daily = as_plain_text(m.loc[is_daily, ["location_id", "parameter"]]).assign(
            value=m.loc[is_daily, "value"].clip(lower=0.0))
        d = daily.groupby(["location_id", "parameter"], as_index=False)["value"].mean()
        stats.append(d.rename(columns={"value": "mean"}).assign(hours=24, max1h=np.nan, max8h=np.nan))
    if not stats:
        return empty_frame()
    s = pd.concat(stats, ignore_index=True).drop_duplicates(["location_id", "parameter"], keep="first")
    wide = s.pivot(index="location_id", columns="parameter", values=["mean", "max1h", "max8h", "hours"])
    wide.columns = [f"{p}_{stat}" for stat, p in wide.columns]
    wide = wide.reindex(columns=[f"{p}_{s_}" for p in POLLUTANTS for s_ in ("mean", "max1h", "max8h", "hours")])

    out = pd.DataFrame(index=wide.index)
    for col in STAT_COLUMNS:
        out[col] = wide[col].astype("float64")
    for p in POLLUTANTS:
        out[f"{p}_hours"] = wide[f"{p}_hours"].fillna(0).astype("int16")

    out["aqi_pm25"], c1 = epa.sub_index("pm25", out["pm25_mean"].to_numpy(), pm25_table=pm25_table)
    out["aqi_pm10"], c2 = epa.sub_index("pm10", out["pm10_mean"].to_numpy())
    out["aqi_o3"], c3 = epa.ozone_sub_index(out["o3_max8h"].to_numpy(), out["o3_max1h"].to_numpy())
    out["aqi_co"], c4 = epa.sub_index("co", out["co_max8h"].to_numpy())
    out["aqi_so2"], c5 = epa.sub_index("so2", out["so2_max1h"].to_numpy())
    out["aqi_no2"], c6 = epa.sub_index("no2", out["no2_max1h"].to_numpy())
    out["aqi"], out["dominant_pollutant"] = epa.overall_aqi(out)
    out["aqi_capped"] = c1 | c2 | c3 | c4 | c5 | c6
    out["aqi_category"] = epa.category(out["aqi"].to_numpy())
    out["pm25_table"] = pm25_table
    for code in NATIONAL_SCALES:  # China HJ 633 and India NAQI beside the US AQI (include/etl/scales)
        nat = scale(code).from_daily(out)
        out[f"aqi_{code}"] = nat["index"]
        out[f"aqi_{code}_dominant"] = nat["dominant"]
        out[f"aqi_{code}_category"] = nat["category"]

    out = location_rows(m, codes).join(out, how="inner")
    cities = assign_cities(out, rules) if cities is None else cities().loc[out.index]
    out = pd.concat([out.reset_index(), cities.reset_index(drop=True)], axis=1).drop(columns=["city_hint"])
    out.insert(0, "date", day.isoformat())
    return out.sort_values("location_id", ignore_index=True)[COLUMNS]


COLUMNS = (["date"] + LOCATION_COLUMNS + CITY_COLUMNS + STAT_COLUMNS + HOUR_COLUMNS + AQI_COLUMNS
           + ["aqi", "dominant_pollutant", "aqi_category", "aqi_capped", "pm25_table"] + NATIONAL_COLUMNS)


def empty_frame() -> "pd.DataFrame":
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
