"""Air-quality measurements in one shape, whatever the source, and the rules that reject rows.

Both OpenAQ readers (archive csv.gz and realtime NDJSON) hand over a frame of *raw* fields as
strings plus a few source facts; :func:`clean` parses, converts to AQI units and applies the
rules, returning kept rows, quarantined rows (with the reason) and counts of ignored rows.
A text column may also come dictionary-encoded (pandas ``category``, as the archive reader hands
it over): a global day repeats a few thousand distinct strings over ~1.4 million rows, so each
text field is then parsed once per distinct value (:func:`_per_distinct`), with the same result.

Time. OpenAQ stamps a value at the END of its averaging period, in local time with an offset.
A value belongs to the local day on which its period STARTS (EPA's day is the hours beginning
00:00..23:00), so ``start_local = end_local - period``. Only the wall-clock time matters for the
local day, so offsets are validated but not applied.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from include.config import EtlRules
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
    rules: EtlRules = EtlRules(),
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
    has_reason = np.zeros(n, dtype=bool)  # reason.notna(), kept alongside (cheaper than asking)

    def reject(mask: "pd.Series", why) -> None:
        """Give rows in ``mask`` (and no reason yet) a reason: a string, or a function building
        one per row from the masked subset (so messages are only formatted for rejected rows)."""
        mask = pd.Series(np.asarray(mask, dtype=bool) & ~has_reason, index=df.index)
        if mask.any():
            reason[mask] = why if isinstance(why, str) else why(mask).astype("str").to_numpy()
            has_reason[mask.to_numpy()] = True

    parameter = _per_distinct(df["parameter"], lambda s: s.astype("str").str.strip().str.lower())
    supported = parameter.isin(POLLUTANTS)

    wall_end = _per_distinct(df["end_local"], _wall_time)
    period = _per_distinct(df["period_hours"], lambda s: pd.to_numeric(s, errors="coerce")).fillna(1.0)
    start = wall_end - pd.to_timedelta(period * 3600.0, unit="s")
    local_day = start.dt.normalize()

    def strip(s):
        return s.astype("str").str.strip()

    value_text = _per_distinct(df["value"], strip)
    value = _per_distinct(df["value"], lambda s: pd.to_numeric(strip(s), errors="coerce"))
    unit = _per_distinct(df["unit"], lambda s: normalize_unit(s.astype("str")))
    converted = value.to_numpy(dtype=float) * _aqi_factor(parameter, unit)

    lat = _per_distinct(df["lat"], lambda s: pd.to_numeric(s, errors="coerce"))
    lon = _per_distinct(df["lon"], lambda s: pd.to_numeric(s, errors="coerce"))

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
    reject(unit.isna() | np.isnan(converted),
           lambda m: "unknown unit " + df["unit"][m].astype("str") + " for " + parameter[m])
    reject(value.isin(SENTINELS), lambda m: "missing-value sentinel " + value_text[m])
    reject(pd.Series(converted < rules.negative_noise_floor * _floor_scale(parameter), index=df.index),
           lambda m: "negative value below the instrument-noise floor: " + value_text[m])
    too_high = pd.Series(converted > _lookup(parameter, PLAUSIBLE_MAX), index=df.index)
    reject(too_high, lambda m: "value above physical plausibility: " + value_text[m] + " " + df["unit"][m].astype("str"))
    reject(((lat.abs() > 90) | (lon.abs() > 180)).fillna(False), "coordinates out of range")

    keep = ~has_reason
    kept = df if keep.all() else df[keep]  # filter before the text columns are materialised
    out = pd.DataFrame(
        {
            "source": source,
            "file": _file_names(kept["file"]),
            "location_id": _per_distinct(kept["location_id"], _as_text),
            "location": _per_distinct(kept["location"], _as_text),
            "lat": lat[keep],
            "lon": lon[keep],
            "country": _per_distinct(kept["country"], _as_text),
            "city_hint": _per_distinct(kept["city_hint"], _as_text),
            "parameter": parameter[keep],
            "unit": unit[keep],  # as reported (canonical spelling); ``value`` is in the AQI unit
            "value": converted[keep],
            "period_hours": period[keep],
            "start_local": start[keep],
        },
        index=kept.index,
    )

    # Duplicates: the same location, parameter, period start and length, seen twice.
    key = ["location_id", "parameter", "start_local", "period_hours"]
    dup = out.duplicated(key, keep="first")
    if dup.any():
        first = out.groupby(key, sort=False)["value"].transform("first")
        same = (out["value"] == first)[dup]
        reason[same.index] = np.where(same, "duplicate record (same value)", "duplicate record (conflicting value)")
        has_reason[same.index] = True
        out = out[~dup]

    # "not ours" and "ignored" were the first two rules, so exactly these rows carry them.
    set_aside = (not_ours | ~supported).to_numpy()
    rejected = pd.Series(has_reason & ~set_aside, index=df.index)
    record_columns = [c for c in df.columns if c not in ("file", "home", "folder_date")]
    q = quarantine.from_frame(source, as_plain_text(df[rejected]), reason[rejected], record_columns)
    ignored = parameter[(~supported & ours).to_numpy()].value_counts()
    assert len(out) + int(rejected.sum()) + int(ignored.sum()) + int(not_ours.sum()) == n
    return out.reset_index(drop=True), q, {str(k): int(v) for k, v in ignored.items()}


#: The noise floor is stated in ug/m3; gases are in ppm/ppb, so it is scaled per AQI unit.
FLOOR_SCALE = {"pm25": 1.0, "pm10": 1.0, "o3": 0.001, "co": 0.01, "so2": 1.0, "no2": 1.0}


def plausible_range(parameter: str, rules: EtlRules = EtlRules()) -> tuple[float, float]:
    """The one definition of a kept value's range in the parameter's AQI unit: from the
    instrument-noise floor to physical plausibility. Cleaning quarantines what is outside it and
    the quality gate expects every curated value inside it (``quality/suites.py``)."""
    return rules.negative_noise_floor * FLOOR_SCALE[parameter], PLAUSIBLE_MAX[parameter]


def _floor_scale(parameter: "pd.Series"):
    import numpy as np

    factor = _lookup(parameter, FLOOR_SCALE)
    return np.where(np.isnan(factor), 1.0, factor)


def _per_distinct(column: "pd.Series", parse) -> "pd.Series":
    """``parse(column)``, evaluated once per distinct value when ``column`` is dictionary-encoded
    (``category``) and spread back to the rows; plain columns are parsed as they are.

    ``parse`` must be elementwise. It sees the categories with the dtype the plain column would
    have (``str``), plus one missing value if the column has any, so results are identical."""
    import numpy as np
    import pandas as pd

    if not isinstance(column.dtype, pd.CategoricalDtype):
        return parse(column)
    distinct = pd.Series(column.cat.categories)
    codes = column.cat.codes.to_numpy()
    if (codes < 0).any():  # missing entries: parse one missing value too and point them at it
        distinct = pd.concat([distinct, pd.Series([None], dtype=distinct.dtype)], ignore_index=True)
        codes = np.where(codes < 0, len(distinct) - 1, codes)
    parsed = parse(distinct)
    out = parsed.iloc[codes]
    out.index = column.index
    return out


def _file_names(file: "pd.Series") -> "pd.Series":
    """The ``file`` column as given, but a dictionary-encoded one as Python strings (``object``):
    as text it would be ~1.4M copies of ~150-byte paths (200 MB), and nothing downstream reads it."""
    import pandas as pd

    return file.astype(object) if isinstance(file.dtype, pd.CategoricalDtype) else file


def _as_text(column: "pd.Series") -> "pd.Series":
    return column.astype("str")


def as_plain_text(df: "pd.DataFrame") -> "pd.DataFrame":
    """``df`` with dictionary-encoded columns back as plain text (for quarantine records)."""
    import pandas as pd

    cat = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    return df.astype({c: df[c].cat.categories.dtype for c in cat}) if cat else df


def _lookup(labels: "pd.Series", mapping: dict):
    """``labels.map(mapping)`` as float64 (NaN where unmapped), one dict lookup per distinct label."""
    import numpy as np
    import pandas as pd

    codes, distinct = pd.factorize(labels)  # code -1 (missing label) takes the trailing NaN
    values = np.array([mapping.get(label, np.nan) for label in distinct] + [np.nan], dtype="float64")
    return values[codes]


def _aqi_factor(parameter: "pd.Series", unit: "pd.Series"):
    """``to_aqi_units(parameter, 1.0, unit)`` per row, computed once per distinct (parameter, unit)
    pair: ``value * factor`` is exactly what ``to_aqi_units(parameter, value, unit)`` computes."""
    import numpy as np
    import pandas as pd

    p_codes, p_distinct = pd.factorize(parameter, use_na_sentinel=False)
    u_codes, u_distinct = pd.factorize(unit, use_na_sentinel=False)
    pair_codes, pairs = pd.factorize(p_codes.astype(np.int64) * len(u_distinct) + u_codes)
    p_of_pair = np.asarray(p_distinct, dtype=object)[pairs // len(u_distinct)]
    u_of_pair = np.asarray(u_distinct, dtype=object)[pairs % len(u_distinct)]
    return to_aqi_units(p_of_pair, 1.0, u_of_pair)[pair_codes]
