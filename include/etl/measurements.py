"""Air-quality measurements in one shape, whatever the source, and the rules that reject rows.

Both OpenAQ readers (archive csv.gz and realtime NDJSON) hand over a frame of *raw* fields as
strings plus a few source facts; :func:`clean` parses, converts to AQI units and applies the
rules, returning kept rows, quarantined rows (with the reason) and counts of ignored rows.

Time. OpenAQ stamps a value at the END of its averaging period, in local time with an offset.
A value belongs to the local day on which its period STARTS (EPA's day is the hours beginning
00:00..23:00), so ``start_local = end_local - period``. Only the wall-clock time matters for the
local day, so offsets are validated but not applied.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from include import config
from include.etl import quarantine
from include.etl.units import AQI_UNITS, normalize_unit, to_aqi_units

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

POLLUTANTS = tuple(AQI_UNITS)

#: Columns every reader provides (strings unless noted).
RAW_COLUMNS = [
    "file", "location_id", "location", "lat", "lon", "country", "city_hint",
    "parameter", "unit", "value", "end_local", "period_hours",
]
#: Codes that mean "no value" in OpenAQ feeds (the StateAir/AirNow -999 convention).
SENTINELS = (-999.0, -9999.0, -99.0)
#: Values above these (AQI units) are physically implausible for ambient air.
PLAUSIBLE_MAX = {"pm25": 1500.0, "pm10": 3000.0, "o3": 0.8, "co": 60.0, "so2": 2000.0, "no2": 3000.0}
#: Averaging periods (hours) the daily statistics understand: sub-hourly/hourly, and 24-hour means.
HOURLY_MAX = 1.0
DAILY = 24.0

_SUFFIX_RE = r"^(\.\d+)?(Z|[+-]\d\d:?\d\d)?$"


def _wall_time(end_local: "pd.Series") -> "pd.Series":
    """Parse ``YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM]`` to naive local wall time (NaT if malformed)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(end_local.astype("str").fillna(""), type=pa.string())
    wall = pc.strptime(pc.utf8_slice_codeunits(arr, 0, 19), format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True)
    suffix_ok = pc.match_substring_regex(pc.utf8_slice_codeunits(arr, 19, 64), _SUFFIX_RE)
    wall = pc.if_else(pc.fill_null(suffix_ok, False), wall, pa.scalar(None, wall.type))
    return pd.Series(wall.to_pandas(), index=end_local.index).astype("datetime64[s]")


def clean(
    raw: "pd.DataFrame",
    source: str,
    day: dt.date,
    *,
    home: "pd.Series | bool" = True,
    folder_date: "pd.Series | None" = None,  # None: every object is filed under ``day``
    tolerance_days: int = 0,
) -> tuple["pd.DataFrame", "pd.DataFrame", dict[str, int]]:
    """Parse, convert and check raw measurement fields for partition ``day``.

    A row whose local day is not ``day`` belongs to another partition. It is quarantined here only
    if this partition is its ``home`` (the object it came from is ``day``'s) and it lies more than
    ``tolerance_days`` from ``folder_date`` (the day its object is filed under), i.e. no partition
    would ever pick it up; otherwise it is left to the partition of its own day.

    Returns ``(kept, quarantined, ignored)``; ``ignored`` counts rows of parameters the AQI does not
    use (``bc``, ``pm1``...), which are valid data, not errors, and stay in the raw zone.
    """
    import numpy as np
    import pandas as pd

    df = raw.reset_index(drop=True)
    n = len(df)
    home = pd.Series(home, index=df.index) if not isinstance(home, pd.Series) else home.reset_index(drop=True)
    reason = pd.Series(pd.NA, index=df.index, dtype="object")

    def reject(mask: "pd.Series", why) -> None:
        """Give rows in ``mask`` (and no reason yet) a reason: a string, or a function building
        one per row from the masked subset (so messages are only formatted for rejected rows)."""
        mask = mask & reason.isna()
        if mask.any():
            reason[mask] = why if isinstance(why, str) else why(mask).astype("str").to_numpy()

    parameter = df["parameter"].astype("str").str.strip().str.lower()
    supported = parameter.isin(POLLUTANTS)

    wall_end = _wall_time(df["end_local"])
    period = pd.to_numeric(df["period_hours"], errors="coerce").fillna(1.0)
    start = wall_end - pd.to_timedelta(period * 3600.0, unit="s")
    local_day = start.dt.normalize()

    value_text = df["value"].astype("str").str.strip()
    value = pd.to_numeric(value_text, errors="coerce")
    unit = normalize_unit(df["unit"].astype("str"))
    converted = pd.Series(to_aqi_units(parameter.to_numpy(), value.to_numpy(), unit.to_numpy()), index=df.index)

    lat = pd.to_numeric(df["lat"], errors="coerce")
    lon = pd.to_numeric(df["lon"], errors="coerce")

    # Which partition owns each row: the one of its local day when the timestamp is readable and
    # near the day its object is filed under; otherwise the partition that read its object
    # (``home``). Only the owner keeps or quarantines a row, so overlapping reads never double it.
    is_day = local_day == pd.Timestamp(day)
    filed = pd.Timestamp(day) if folder_date is None else pd.to_datetime(folder_date.reset_index(drop=True))
    distance = (local_day - filed).dt.days.abs()
    near = (distance <= tolerance_days).fillna(False)
    readable = wall_end.notna()
    ours = (readable & near & is_day) | (~(readable & near) & home)
    not_ours = ~ours

    # Rules, first failing one wins. Unsupported parameters are set aside before any rule.
    reject(not_ours, "not ours")
    reject(~supported, "ignored")
    reject(~readable, lambda m: "unparseable timestamp: " + df["end_local"][m].astype("str"))
    reject(~near, lambda m: "timestamp outside the partition's day: local day " + local_day[m].dt.strftime("%Y-%m-%d"))
    reject(~period.isin([DAILY]) & ~((period > 0) & (period <= HOURLY_MAX)),
           lambda m: "unsupported averaging period: " + period[m].astype("str") + " h")
    reject(value.isna(), lambda m: "missing or non-numeric value: " + value_text[m].fillna(""))
    reject(unit.isna() | converted.isna(),
           lambda m: "unknown unit " + df["unit"][m].astype("str") + " for " + parameter[m])
    reject(value.isin(SENTINELS), lambda m: "missing-value sentinel " + value_text[m])
    reject(converted < config.NEGATIVE_NOISE_FLOOR * _floor_scale(parameter),
           lambda m: "negative value below the instrument-noise floor: " + value_text[m])
    too_high = converted > parameter.map(PLAUSIBLE_MAX).astype("float64")
    reject(too_high, lambda m: "value above physical plausibility: " + value_text[m] + " " + df["unit"][m].astype("str"))
    reject(((lat.abs() > 90) | (lon.abs() > 180)).fillna(False), "coordinates out of range")

    keep = reason.isna()
    out = pd.DataFrame(
        {
            "source": source,
            "file": df["file"],
            "location_id": df["location_id"].astype("str"),
            "location": df["location"].astype("str"),
            "lat": lat,
            "lon": lon,
            "country": df["country"].astype("str"),
            "city_hint": df["city_hint"].astype("str"),
            "parameter": parameter,
            "unit": unit,  # as reported (canonical spelling); ``value`` is in the AQI unit
            "value": converted,
            "period_hours": period,
            "start_local": start,
        }
    )[keep]

    # Duplicates: the same location, parameter, period start and length, seen twice.
    key = ["location_id", "parameter", "start_local", "period_hours"]
    dup = out.duplicated(key, keep="first")
    if dup.any():
        first = out.groupby(key, sort=False)["value"].transform("first")
        same = (out["value"] == first)[dup]
        reason[same.index] = np.where(same, "duplicate record (same value)", "duplicate record (conflicting value)")
        out = out[~dup]

    rejected = reason.notna() & ~reason.isin(["ignored", "not ours"])
    record_columns = [c for c in df.columns if c not in ("file", "home", "folder_date")]
    q = quarantine.from_frame(source, df[rejected], reason[rejected], record_columns)
    ignored = parameter[reason == "ignored"].value_counts()
    assert len(out) + int(rejected.sum()) + int(ignored.sum()) + int((reason == "not ours").sum()) == n
    return out.reset_index(drop=True), q, {str(k): int(v) for k, v in ignored.items()}


def _floor_scale(parameter: "pd.Series") -> "pd.Series":
    """The noise floor is stated in ug/m3; gases are in ppm/ppb, so scale it per AQI unit."""
    scale = {"pm25": 1.0, "pm10": 1.0, "o3": 0.001, "co": 0.01, "so2": 1.0, "no2": 1.0}
    return parameter.map(scale).astype("float64").fillna(1.0)
