"""Per-city daily features for day D, and the target: the city's AQI on D+1.

City AQI (documented in the README): a city's AQI on a day is the **highest** AQI among its
monitors that have a valid AQI that day (AirNow's reporting-area convention); ``aqi_mean`` and
``n_monitors`` record the spread. Pollutant statistics are the mean over the monitors reporting
them. The dominant pollutant is the one of the monitor giving the city AQI.

No leakage. Every feature of D uses data whose local date is <= D:

- lags and rolling windows over the curated partitions of D-7 .. D (bounded look-back, so one
  date's features are rebuilt from 8 curated partitions, never from full history);
- weather from the GSOD stations within ``EtlRules.weather_radius_km`` of the city centre (mean of
  the ``EtlRules.weather_stations`` nearest). GSOD days are UTC days: for a city east of Greenwich the UTC day
  D ends after local midnight (Beijing: 08:00 on D+1), so those cities use UTC day D-1; cities at
  or west of Greenwich use UTC day D, which ends before their local day does;
- the target ``target_aqi`` is the only column that looks at D+1, and is empty until D+1's
  curated partition exists. The run of D therefore also rebuilds D-1's partition to fill it.
"""
from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, NamedTuple

from include.etl.daily import NATIONAL_SCALES, POLLUTANTS, quiet_nan_warnings
from include.catalog import AIR_QUALITY, FEATURES, PROFILE, WEATHER
from include.config import EtlRules
from include.lake import Lake

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

    from include.etl.daily import HourlyMeans

#: Hour windows of local day D summarised from the hourly values (start hour, end hour inclusive).
HOUR_WINDOWS = {"h00_05": (0, 5), "h12_17": (12, 17), "h18_23": (18, 23), "h21_23": (21, 23)}

LOOKBACK_DAYS = 7
LAGS = (1, 2, 3, 7)

CITY_KEYS = ["city_id", "city", "city_country", "city_lat", "city_lon", "city_tz"]
STATS = ["pm25_mean", "pm10_mean", "o3_max8h", "o3_max1h", "co_max8h", "so2_max1h", "no2_max1h",
         "co_mean", "so2_mean", "no2_mean", "o3_mean"]
SUBINDICES = [f"aqi_{p}" for p in POLLUTANTS]
WEATHER_VARS = ["temp_c", "dewp_c", "rh_pct", "max_temp_c", "min_temp_c", "wdsp_ms", "mxspd_ms",
                "pressure_hpa", "prcp_mm", "visib_km"]
WEATHER_FLAGS = ["rain", "fog", "snow", "thunder"]
TARGET = "target_aqi"
#: Each other national scale's city index (``aqi_cn``, ``aqi_in``: the highest among the city's
#: monitors, as for the US AQI), its dominant pollutant there, and its D+1 target.
NATIONAL = [f"aqi_{s}" for s in NATIONAL_SCALES]
NATIONAL_DOMINANT = [f"aqi_{s}_dominant" for s in NATIONAL_SCALES]
NATIONAL_TARGETS = [f"target_aqi_{s}" for s in NATIONAL_SCALES]


def city_daily(aq: "pd.DataFrame") -> "pd.DataFrame":
    """Monitors' daily rows -> one row per (city, date)."""
    import numpy as np
    import pandas as pd

    # Only the columns used (a curated day has ~50, 15 of them text, each copied by every filter,
    # sort and de-duplication below).
    used = [c for c in [*CITY_KEYS, "date", "location_id", "aqi", "dominant_pollutant", *STATS, *SUBINDICES,
                        *NATIONAL, *NATIONAL_DOMINANT] if c in aq]
    aq = aq[used][aq["city_id"].notna()]
    if aq.empty:
        return pd.DataFrame(columns=CITY_KEYS + ["date", "aqi", "aqi_mean", "n_monitors", "dominant_pollutant"]
                            + STATS + SUBINDICES + NATIONAL + NATIONAL_DOMINANT)
    aq = aq.astype({"city_id": "int64"})
    valid = aq[aq["aqi"].notna()]
    top = valid.sort_values(["aqi", "location_id"], ascending=[False, True]).drop_duplicates(["city_id", "date"])
    keys = aq.drop_duplicates(["city_id", "date"])[CITY_KEYS + ["date"]]
    stats = aq.groupby(["city_id", "date"])[STATS + SUBINDICES].mean().reset_index()
    agg = valid.groupby(["city_id", "date"]).agg(aqi_mean=("aqi", "mean"), n_monitors=("aqi", "size")).reset_index()
    out = (keys.merge(top[["city_id", "date", "aqi", "dominant_pollutant"]], on=["city_id", "date"], how="left")
               .merge(agg, on=["city_id", "date"], how="left")
               .merge(stats, on=["city_id", "date"], how="left"))
    for code, col in zip(NATIONAL_SCALES, NATIONAL):  # each scale's city index: its top monitor's
        if col not in aq:
            out[col], out[f"{col}_dominant"] = np.nan, None
            continue
        nat = aq[aq[col].notna()].sort_values([col, "location_id"], ascending=[False, True])
        nat = nat.drop_duplicates(["city_id", "date"])[["city_id", "date", col, f"{col}_dominant"]]
        out = out.merge(nat, on=["city_id", "date"], how="left")
    out["n_monitors"] = out["n_monitors"].fillna(0).astype("int64")
    return out


@functools.lru_cache(maxsize=256)
def utc_offset_hours(tz: str, day: dt.date) -> float:
    from zoneinfo import ZoneInfo

    try:
        return dt.datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(tz)).utcoffset().total_seconds() / 3600
    except Exception:  # noqa: BLE001 - unknown zone: assume UTC
        return 0.0


def weather_day_for(tz: str, day: dt.date) -> dt.date:
    """The GSOD (UTC) day whose data is all in the past at the end of local day ``day``."""
    return day - dt.timedelta(days=1) if utc_offset_hours(tz, day) > 0 else day


def city_weather(cities: "pd.DataFrame", weather: "pd.DataFrame", rules: EtlRules = EtlRules()) -> "pd.DataFrame":
    """For each (city, date) row of ``cities`` (with ``weather_date``), the mean weather of the city's
    nearest stations that reported on ``weather_date``; ``<var>_missing`` flags what none had."""
    import numpy as np
    import pandas as pd

    out = cities[["city_id", "date"]].copy()
    w = weather.copy()
    if len(w):
        w["pressure_hpa"] = w["slp_hpa"].fillna(w["stp_hpa"]) if "slp_hpa" in w else np.nan
    cols = WEATHER_VARS + WEATHER_FLAGS
    found = []
    if not (w.empty or cities.empty):
        w = w[w["lat"].notna() & w["lon"].notna()]
        for wdate, group in cities.groupby("weather_date"):
            stations = w[w["date"] == wdate]
            if stations.empty:
                continue
            means = _nearest_station_means(group, stations, cols, rules)
            if means is not None:
                found.append(means)
    # Cities without any station: the same columns and dtypes as when some city has one (float
    # NaN), so a day's partition has one schema whether it is built alone (the daily run, --jobs 1)
    # or with other days that have weather (features_range: --jobs 2, backfills).
    none = pd.DataFrame({c: pd.Series(dtype="int64" if c == "weather_stations" else "float64")
                         for c in ["weather_stations", "weather_km", *cols]})
    out = out.join(pd.concat(found) if found else none)
    out["weather_stations"] = out.get("weather_stations", pd.Series(0, index=out.index)).fillna(0).astype("int64")
    for c in WEATHER_VARS:
        out[f"{c}_missing"] = out[c].isna()
    return out


def _nearest_station_means(group: "pd.DataFrame", stations: "pd.DataFrame", cols: list[str],
                           rules: EtlRules) -> "pd.DataFrame | None":
    """Per city of ``group`` with a station within ``rules.weather_radius_km``: the number of stations
    used (the ``rules.weather_stations`` nearest in range), the nearest one's distance and the nanmean of
    ``cols`` over them (None if no city has one). Ties in distance go to the earlier station row."""
    import numpy as np
    import pandas as pd
    from include.etl.cities import EARTH_RADIUS_KM, _chord, _unit_vectors, pairs_within

    sv = _unit_vectors(stations["lat"], stations["lon"])
    cv = _unit_vectors(group["city_lat"], group["city_lon"])
    # Candidate pairs (the radius padded so rounding can only add pairs), then the exact distance
    # rule on each pair.
    city, station, chord = pairs_within(cv, sv, _chord(rules.weather_radius_km))
    if not len(city):
        return None
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(chord / 2, 1.0))
    keep = km <= rules.weather_radius_km
    if not keep.any():
        return None
    city, station, km = city[keep], station[keep], km[keep]
    order = np.lexsort((station, km, city))  # per city: nearest first, ties to the earlier station
    city, station, km = city[order], station[order], km[order]
    starts = np.flatnonzero(np.r_[True, city[1:] != city[:-1]])
    rank = np.arange(len(city)) - np.repeat(starts, np.diff(np.r_[starts, len(city)]))
    used = rank < rules.weather_stations
    city, station, km, rank = city[used], station[used], km[used], rank[used]
    # A (city, rank, variable) array, NaN where a city has fewer stations; nanmean over rank.
    found, slot = np.unique(city, return_inverse=True)
    values = stations[cols].astype("float64").to_numpy()
    stacked = np.full((len(found), rules.weather_stations, len(cols)), np.nan)
    stacked[slot, rank] = values[station]
    with np.errstate(invalid="ignore"), quiet_nan_warnings():
        mean = np.nanmean(stacked, axis=1)
    return pd.DataFrame(
        {"weather_stations": np.bincount(slot).astype(np.int64), "weather_km": km[rank == 0],
         **{c: mean[:, j] for j, c in enumerate(cols)}},
        index=group.index[found],
    )




def _rolling(grid: "pd.DataFrame", window: int, min_periods: int, how: str) -> "pd.DataFrame":
    """``grid.rolling(window, min_periods).<how>()`` of a (date x city) grid, column by column, in
    one call: the columns laid end to end as one series whose windows stop at their column's first
    row. pandas' kernels restart their running sums where a window does not overlap the previous
    one, i.e. at each column's first row, so every value is the one of the column-wise rolling
    (tested) -- without pandas' per-column loop (25,000 columns on a global day)."""
    import numpy as np
    import pandas as pd
    from pandas.api.indexers import BaseIndexer

    values = grid.to_numpy(dtype="float64")
    n, m = values.shape
    end = np.arange(1, n * m + 1, dtype=np.int64)
    start = np.maximum(end - window, (end - 1) // n * n) if n else end

    class ColumnBounds(BaseIndexer):
        def get_window_bounds(self, num_values=0, min_periods=None, center=None, closed=None, step=None):
            return start, end

    flat = pd.Series(values.T.reshape(-1))
    out = getattr(flat.rolling(ColumnBounds(window_size=window), min_periods=min_periods), how)()
    return pd.DataFrame(out.to_numpy().reshape(m, n).T, index=grid.index, columns=grid.columns)


def hourly_city_features(measurements: "pd.DataFrame", aq: "pd.DataFrame", day: dt.date,
                         hourly: "HourlyMeans | None" = None) -> "pd.DataFrame":
    """How day D ended, per city: the hourly values of the city's monitors (mean over monitors per
    hour; for PM2.5 also the max), summarised by windows of local day D. The evening of D is the
    best evidence about D+1 that a daily mean hides (e.g. a front arriving at 20:00).

    Per pollutant p: ``p_h00_05 / p_h12_17 / p_h18_23 / p_h21_23`` (window means), ``p_last`` (the
    last valid hour among 20..23), ``p_hmax`` (highest hour), ``p_trend`` (h18_23 - h00_05); plus
    ``pm25max_h18_23`` and the PM2.5 sub-indices of both evening means. Uses only local day D.
    Computed once per day by the ETL into ``curated/city_hourly_profile`` (vectorised: a global day
    has 1.4 M hourly values). The same as ``city_profile(monitor_hours(daily.hourly_means(
    measurements)), ...)`` with each monitor's city from ``aq``: how ``pipeline.run_etl`` computes
    it in its helper process, from the hourly means (the daily statistics' too) alone.
    ``hourly``: ``daily.hourly_means(measurements)``, if computed already."""
    from include.etl.daily import hourly_means

    if measurements is None or measurements.empty or aq is None or aq.empty:
        return city_profile(None, None, day)
    monitors = monitor_hours(hourly_means(measurements) if hourly is None else hourly)
    return city_profile(monitors, _city_of(aq, monitors.locations), day)


class MonitorHours(NamedTuple):
    """Per monitor (a location with hourly values; numbered in order of first appearance among the
    hourly rows), its hourly mean per pollutant (``POLLUTANTS`` order) and local start hour."""

    values: "np.ndarray"  # (monitors, pollutants, 24), NaN where none
    locations: "pd.Index"


def monitor_hours(hourly: "HourlyMeans") -> MonitorHours:
    """The hourly means of ``daily.hourly_means`` laid out per monitor and pollutant (another
    parameter's series are left out)."""
    import numpy as np
    import pandas as pd

    # The series are numbered in order of first appearance among the hourly rows, so their
    # locations are too, numbered in order of first appearance.
    monitor, first = pd.factorize(hourly.location)
    pollutant = _positions(hourly.parameters, POLLUTANTS)[hourly.parameter]
    values = np.full((len(first), len(POLLUTANTS), 24), np.nan)
    ours = pollutant >= 0
    values[monitor[ours], pollutant[ours]] = hourly.values[ours]
    return MonitorHours(values, hourly.locations.take(first))


def city_profile(monitors: MonitorHours | None, loc_city: "np.ndarray | None", day: dt.date) -> "pd.DataFrame":
    """``hourly_city_features`` from the ``monitors``' hourly means and each monitor's city id
    (``loc_city``, float, NaN: none); ``monitors=None``: the empty profile."""
    import numpy as np
    import pandas as pd

    from include.etl.aqi import sub_index

    columns = [f"{p}_{stat}" for p in POLLUTANTS for stat in (*HOUR_WINDOWS, "last", "hmax", "trend")]
    columns += ["pm25max_h18_23", "aqi_pm25_h18_23", "aqi_pm25max_h18_23"]

    def empty():
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in ["city_id", "date", *columns]})

    if monitors is None or not len(monitors.locations) or np.isnan(loc_city).all():
        return empty()
    monitor, n_par = monitors.values, len(POLLUTANTS)

    # The mean and max over each city's monitors of their hourly means.
    city_codes, cities = pd.factorize(loc_city)  # per monitor
    n_city = len(cities)
    has = ~np.isnan(monitor)
    # Per city, over its monitors: sums and counts (bincount adds in monitor order, as np.add.at
    # did) and maxima. Monitors without a city (code -1) are left out.
    in_city = city_codes >= 0
    cc = city_codes[in_city]
    cell = ((cc * (n_par * 24))[:, None] + np.arange(n_par * 24)).ravel()
    size = n_city * n_par * 24
    c_sum = np.bincount(cell, weights=np.where(has, monitor, 0.0)[in_city].ravel(), minlength=size)
    c_sum = c_sum.reshape(n_city, n_par, 24)
    c_cnt = np.bincount(cell, weights=has[in_city].ravel(), minlength=size).reshape(n_city, n_par, 24)
    order = np.argsort(cc, kind="stable")
    starts = np.flatnonzero(np.r_[True, cc[order][1:] != cc[order][:-1]])
    c_max = np.full((n_city, n_par, 24), -np.inf)
    c_max[cc[order][starts]] = np.maximum.reduceat(np.where(has, monitor, -np.inf)[in_city][order], starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), quiet_nan_warnings():
        mean = c_sum / c_cnt
        c_max[np.isinf(c_max)] = np.nan
        stats = {name: np.nanmean(mean[:, :, a:b + 1], axis=2) for name, (a, b) in HOUR_WINDOWS.items()}
        late = mean[:, :, 20:24]
        last_idx = 3 - np.argmax(~np.isnan(late[:, :, ::-1]), axis=2)
        stats["last"] = np.take_along_axis(late, last_idx[:, :, None], axis=2)[:, :, 0]
        stats["hmax"] = np.nanmax(mean, axis=2)
        stats["trend"] = stats["h18_23"] - stats["h00_05"]
        pm25max = np.nanmean(c_max[:, POLLUTANTS.index("pm25"), 18:24], axis=1)
    out = {"city_id": cities.astype("int64"), "date": day.isoformat()}
    for j, p in enumerate(POLLUTANTS):
        for stat in (*HOUR_WINDOWS, "last", "hmax", "trend"):
            out[f"{p}_{stat}"] = stats[stat][:, j]
    out["pm25max_h18_23"] = pm25max
    out["aqi_pm25_h18_23"] = sub_index("pm25", out["pm25_h18_23"])[0]
    out["aqi_pm25max_h18_23"] = sub_index("pm25", pm25max)[0]
    return pd.DataFrame(out)[["city_id", "date", *columns]].sort_values("city_id", ignore_index=True)


def _city_of(aq: "pd.DataFrame", locations) -> "np.ndarray":
    """The city id (float, NaN: none) of each of ``locations`` per the daily rows ``aq``."""
    import numpy as np
    import pandas as pd

    keys = pd.Index(aq["location_id"].astype(str))
    cities = pd.to_numeric(aq["city_id"], errors="coerce").astype("float64").to_numpy()
    if not keys.is_unique:  # one row per location normally; else the last row wins, as in a dict
        city_of = dict(zip(keys, cities))
        return np.array([city_of.get(x, np.nan) for x in locations], dtype="float64")
    at = keys.get_indexer(locations)
    return np.where(at >= 0, cities[at], np.nan) if len(at) else np.zeros(0, dtype="float64")


def _positions(distinct, labels: tuple[str, ...]) -> "np.ndarray":
    """Each distinct value's position in ``labels`` (-1: none), and a trailing -1 for code -1."""
    import numpy as np

    return np.array([labels.index(v) if v in labels else -1 for v in distinct] + [-1], dtype=np.int8)


def compute_features(history: "pd.DataFrame", weather: "pd.DataFrame", days: list[dt.date],
                     hourly: "pd.DataFrame | None" = None, rules: EtlRules = EtlRules()) -> "pd.DataFrame":
    """Features for ``days`` from city-daily ``history`` (must cover each day's look-back and D+1),
    curated ``weather`` (covering the weather days) and ``hourly`` city summaries of the days
    themselves. Pure: the same inputs give the same rows."""
    import numpy as np
    import pandas as pd

    if history.empty:
        return pd.DataFrame()
    h = history.copy()
    h["date"] = pd.to_datetime(h["date"])
    wanted = pd.to_datetime(pd.Series(days))
    base = h[h["date"].isin(wanted)].copy()
    if base.empty:
        return pd.DataFrame()

    # Lags and rolling windows on a (date x city) grid: missing days are NaN, never shifted over.
    first = wanted.min() - pd.Timedelta(days=LOOKBACK_DAYS)
    grid_dates = pd.date_range(first, wanted.max() + pd.Timedelta(days=1))
    def grid(col):
        return h.pivot_table(index="date", columns="city_id", values=col, aggfunc="first").reindex(grid_dates)

    aqi = grid("aqi")
    pm25 = grid("pm25_mean")
    derived = {}
    for k in LAGS:
        derived[f"aqi_lag{k}"] = aqi.shift(k)
        derived[f"pm25_lag{k}"] = pm25.shift(k)
    derived["aqi_roll3_mean"] = _rolling(aqi, 3, 1, "mean")
    derived["aqi_roll7_mean"] = _rolling(aqi, 7, 1, "mean")
    derived["aqi_roll7_std"] = _rolling(aqi, 7, 2, "std")
    derived["aqi_roll7_max"] = _rolling(aqi, 7, 1, "max")
    derived["pm25_roll7_mean"] = _rolling(pm25, 7, 1, "mean")
    derived["aqi_days_seen7"] = _rolling(aqi.notna(), 7, 1, "sum")
    derived[TARGET] = aqi.shift(-1)  # the only look-ahead: D+1's AQI, as the label
    for col, target in zip(NATIONAL, NATIONAL_TARGETS):  # and each national scale's D+1 index
        if col in h:
            derived[target] = grid(col).shift(-1)
    long = pd.concat({name: g.stack(future_stack=True) for name, g in derived.items()}, axis=1)
    long.index.names = ["date", "city_id"]
    base = base.merge(long.reset_index(), on=["date", "city_id"], how="left")
    base["aqi_delta1"] = base["aqi"] - base["aqi_lag1"]

    # How each day ended (evening hours of local day D).
    if hourly is not None and "city_id" in hourly:
        if len(hourly):
            evening = hourly.assign(date=pd.to_datetime(hourly["date"]), city_id=hourly["city_id"].astype("int64"))
            base = base.merge(evening, on=["date", "city_id"], how="left")
        else:  # days without hourly values: the columns exist, empty
            base = base.assign(**{c: np.nan for c in hourly.columns if c not in ("city_id", "date")})

    # Weather of each city's leakage-free GSOD day.
    base["weather_date"] = [weather_day_for(tz, d.date()).isoformat() for tz, d in zip(base["city_tz"], base["date"])]
    wx = city_weather(base, weather, rules)
    base = base.join(wx.drop(columns=["city_id", "date"]))

    # Calendar.
    doy = base["date"].dt.day_of_year
    base["day_of_week"] = base["date"].dt.day_of_week
    base["month"] = base["date"].dt.month
    base["doy_sin"] = np.sin(2 * np.pi * doy / 365.25)
    base["doy_cos"] = np.cos(2 * np.pi * doy / 365.25)
    base["is_weekend"] = base["day_of_week"] >= 5

    base["target_date"] = (base["date"] + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d")
    base["date"] = base["date"].dt.strftime("%Y-%m-%d")
    return base.sort_values(["date", "city_id"], ignore_index=True)


def build_features(lake: Lake, day: dt.date, *, refill_previous: bool = True,
                   rules: EtlRules = EtlRules()) -> dict[str, int]:
    """Write ``features/city_daily`` for ``day`` (target empty if D+1 is unknown) and, by default,
    rebuild ``day - 1`` so its target is filled now that ``day`` is known."""
    targets = [day - dt.timedelta(days=1), day] if refill_previous else [day]
    targets = [d for d in targets if lake.has_partition(AIR_QUALITY, d)]
    if not targets:
        return {}
    # Both days from one read of their shared window (D-8 .. D+1) and one pass of the same
    # function as the per-day build (``features_range``: identical rows per day, tested).
    frame = (features_range(lake, targets[0], targets[-1], rules) if len(targets) > 1
             else features_for(lake, targets[0], rules))
    return write_days(lake, frame, targets)


def write_days(lake: Lake, frame: "pd.DataFrame", days: list[dt.date | str]) -> dict[str, int]:
    """Write each of ``days``' rows of a features frame as its partition (a day without rows gets
    the empty one, as ``features_for`` gives it); the rows written per day."""
    written = {}
    for d in days:
        day = d if isinstance(d, str) else d.isoformat()
        part = frame[frame["date"] == day].reset_index(drop=True) if len(frame) else frame
        part = part if len(part) else empty_features()
        lake.write_partition(FEATURES, day, part)
        written[day] = len(part)
    return written


def features_for(lake: Lake, day: dt.date, rules: EtlRules = EtlRules()) -> "pd.DataFrame":
    """Features of one day from its bounded window of curated partitions (D-7 .. D+1)."""
    days = [day + dt.timedelta(days=i) for i in range(-LOOKBACK_DAYS, 2)]
    aq = lake.read_partitions(AIR_QUALITY, days)
    history = city_daily(aq)
    weather = lake.read_partitions(WEATHER, [day - dt.timedelta(days=1), day])
    hourly = lake.read_partitions(PROFILE, [day])
    out = compute_features(history, weather, [day], hourly, rules)
    return out if len(out) else empty_features()


def empty_features() -> "pd.DataFrame":
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype="float64") for c in ["city_id", "date", "aqi", TARGET]})


def features_range(lake: Lake, start: dt.date, end: dt.date, rules: EtlRules = EtlRules()) -> "pd.DataFrame":
    """Features of every day in ``start .. end`` in one pass (training, backtests, backfills).
    Same function as the per-day build, so both give identical rows (tested)."""
    n = (end - start).days
    days = [start + dt.timedelta(days=i) for i in range(n + 1)]
    window = [start + dt.timedelta(days=i) for i in range(-LOOKBACK_DAYS, n + 2)]
    aq = lake.read_partitions(AIR_QUALITY, window)
    history = city_daily(aq)
    weather = lake.read_partitions(WEATHER, [start - dt.timedelta(days=1)] + days)
    hourly = lake.read_partitions(PROFILE, days)
    return compute_features(history, weather, days, hourly, rules)
