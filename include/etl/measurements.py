"""Air-quality measurements in one shape, whatever the source, and the rules that reject rows.

Both OpenAQ readers (archive csv.gz and realtime NDJSON) hand over a frame of *raw* fields as
strings plus a few source facts; :func:`clean` parses, converts to AQI units and applies the
rules, returning kept rows, quarantined rows (with the reason) and counts of ignored rows.
A text column may also come dictionary-encoded (pandas ``category``, as the archive reader hands
it over): a global day repeats a few thousand distinct strings over ~1.4 million rows, so each
text field is then parsed once per distinct value (:func:`_per_distinct`), with the same result,
and the kept rows' text columns stay dictionary-encoded (the same values: :func:`as_plain_text`
spells them out; :func:`concat` puts such frames together; ``lake.parquet_bytes`` writes them as
the plain text they stand for, so a partition's bytes do not depend on it).

Time. OpenAQ stamps a value at the END of its averaging period, in local time with an offset.
A value belongs to the local day on which its period STARTS (EPA's day is the hours beginning
00:00..23:00), so ``start_local = end_local - period``. Only the wall-clock time matters for the
local day, so offsets are validated but not applied.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Callable, NamedTuple

from include.config import EtlRules
from include.etl import quarantine
from include.etl.units import AQI_UNITS, normalize_unit, to_aqi_units

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
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

    par = _coded(df["parameter"], lambda s: s.astype("str").str.strip().str.lower())
    supported = pd.Series(par.per_row([isinstance(p, str) and p in POLLUTANTS for p in par.distinct]), index=df.index)

    filed = pd.Timestamp(day) if folder_date is None else pd.to_datetime(folder_date.reset_index(drop=True))
    times = _times(df["end_local"], df["period_hours"], day, filed, tolerance_days)
    period, start = times.period, times.start

    def strip(s):
        return s.astype("str").str.strip()

    def value_text(mask):  # the value as written, only for the rows a message quotes
        return _per_distinct(df["value"][mask], strip)

    value = _per_distinct(df["value"], lambda s: pd.to_numeric(strip(s), errors="coerce"))
    uni = _coded(df["unit"], lambda s: normalize_unit(s.astype("str")))
    converted = value.to_numpy(dtype=float) * _aqi_factor(par, uni)

    lat = _per_distinct(df["lat"], lambda s: pd.to_numeric(s, errors="coerce"))
    lon = _per_distinct(df["lon"], lambda s: pd.to_numeric(s, errors="coerce"))

    # Which partition owns each row: the one of its local day when the timestamp is readable and
    # near the day its object is filed under; otherwise the partition that read its object
    # (``home``). Only the owner keeps or quarantines a row, so overlapping reads never double it.
    readable, near, is_day = times.readable, times.near, times.is_day
    ours = (readable & near & is_day) | (~(readable & near) & home)
    not_ours = ~ours

    # Rules, first failing one wins. Unsupported parameters are set aside before any rule.
    reject(not_ours, "not ours")
    reject(~supported, "ignored")
    reject(~readable, lambda m: "unparseable timestamp: " + df["end_local"][m].astype("str"))
    reject(~near, lambda m: "timestamp outside the partition's day: local day "
           + times.local_day_at(m).dt.strftime("%Y-%m-%d"))
    reject(~period.isin([DAILY]) & ~((period > 0) & (period <= HOURLY_MAX)),
           lambda m: "unsupported averaging period: " + period[m].astype("str") + " h")
    reject(value.isna(), lambda m: "missing or non-numeric value: " + value_text(m).fillna(""))
    reject(uni.per_row(pd.isna(uni.distinct)) | np.isnan(converted),
           lambda m: "unknown unit " + df["unit"][m].astype("str") + " for " + par.at(m))
    reject(value.isin(SENTINELS), lambda m: "missing-value sentinel " + value_text(m))
    reject(pd.Series(converted < rules.negative_noise_floor * _floor_scale(par), index=df.index),
           lambda m: "negative value below the instrument-noise floor: " + value_text(m))
    too_high = pd.Series(converted > _lookup(par, PLAUSIBLE_MAX), index=df.index)
    reject(too_high, lambda m: "value above physical plausibility: " + value_text(m) + " " + df["unit"][m].astype("str"))
    reject(((lat.abs() > 90) | (lon.abs() > 180)).fillna(False), "coordinates out of range")

    keep = ~has_reason
    every = keep.all()
    kept = df if every else df[keep]  # filter before the text columns are materialised

    def sel(x):  # the kept rows (all of them: the column itself, on the same index object)
        return x if every else x[keep]

    location_id = _coded(kept["location_id"], _as_text)
    # Text stays dictionary-encoded if it came so (spelt out, a global day's ~1.4 M rows would
    # copy each text column's strings once more: ~0.3 s and ~150 MB); ``file`` likewise (as text,
    # ~1.4M copies of ~150-byte paths: 200 MB; only the run report reads it, from its codes).
    out = pd.DataFrame(
        {
            "source": pd.Series(constant_text(source, len(kept)), index=kept.index) if location_id.encoded else source,
            "file": kept["file"],
            "location_id": location_id.kept(None),
            "location": _text(kept["location"]),
            "lat": sel(lat),
            "lon": sel(lon),
            "country": _text(kept["country"]),
            "city_hint": _text(kept["city_hint"]),
            "parameter": par.kept(None if every else keep),
            "unit": uni.kept(None if every else keep),  # as reported (canonical spelling); ``value`` is in the AQI unit
            "value": converted[keep],
            "period_hours": sel(period),
            "start_local": sel(start),
        },
        index=kept.index,
        copy=False,  # the columns are this function's (copy-on-write protects the caller's)
    )

    # Duplicates: the same location, parameter, period start and length, seen twice. Found on
    # codes (equal values, equal codes): what ``out.duplicated(key)`` finds, without hashing text.
    key = ["location_id", "parameter", "start_local", "period_hours"]
    when = ([(sel(times.codes[0]), times.codes[1])] if times.codes is not None
            else [out["start_local"].to_numpy().view("i8"), out["period_hours"].to_numpy()])
    dup = pd.Series(_duplicated_codes([(location_id.codes, len(location_id.distinct)), (sel(par.codes), len(par.distinct)),
                                       *when]), index=out.index)
    if dup.any():
        first = out.groupby(key, sort=False, observed=True)["value"].transform("first")
        same = (out["value"] == first)[dup]
        reason[same.index] = np.where(same, "duplicate record (same value)", "duplicate record (conflicting value)")
        has_reason[same.index] = True
        out = out[~dup]

    # "not ours" and "ignored" were the first two rules, so exactly these rows carry them.
    set_aside = (not_ours | ~supported).to_numpy()
    rejected = pd.Series(has_reason & ~set_aside, index=df.index)
    record_columns = [c for c in df.columns if c not in ("file", "home", "folder_date")]
    q = quarantine.from_frame(source, as_plain_text(df[rejected]), reason[rejected], record_columns)
    ignored = par.at((~supported & ours).to_numpy()).value_counts()
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


class _Times(NamedTuple):
    """Per row: the averaging period (hours; missing: 1), its start (``end_local`` minus the
    period, naive local wall time; NaT if the timestamp is unreadable), whether the timestamp is
    readable, whether its local day is near the day its object is filed under, and whether it is
    the partition's day; ``local_day_at(mask)``: the local day of the rows in ``mask``."""

    period: "pd.Series"
    start: "pd.Series"
    readable: "pd.Series"
    near: "pd.Series"
    is_day: "pd.Series"
    local_day_at: Callable
    #: Per row, a code of its (start, period) (equal values, equal codes), and how many there are;
    #: None when computed row by row.
    codes: "tuple[np.ndarray, int] | None" = None


def _times(end_local: "pd.Series", period_hours: "pd.Series", day: dt.date, filed, tolerance_days: int) -> _Times:
    """:class:`_Times` of the rows. When both columns come dictionary-encoded and every object is
    filed under one day (``filed`` a timestamp), each field is computed once per distinct (end,
    period) pair and spread to the rows: the same values, without a dozen time columns of a
    global day's ~1.4 M rows (~100 MB)."""
    import numpy as np
    import pandas as pd

    def fields(wall_end, period):
        start = wall_end - pd.to_timedelta(period * 3600.0, unit="s")
        local_day = start.dt.normalize()
        near = ((local_day - filed).dt.days.abs() <= tolerance_days).fillna(False)
        return start, local_day, wall_end.notna(), near, local_day == pd.Timestamp(day)

    def parse_period(s):
        return pd.to_numeric(s, errors="coerce").fillna(1.0)

    encoded = (isinstance(end_local.dtype, pd.CategoricalDtype) and isinstance(period_hours.dtype, pd.CategoricalDtype)
               and isinstance(filed, pd.Timestamp))
    if encoded:
        e_codes, e_distinct = _distinct_codes(end_local)
        p_codes, p_distinct = _distinct_codes(period_hours)
        encoded = len(e_distinct) * len(p_distinct) <= 1 << 22
    if not encoded:
        period = _per_distinct(period_hours, parse_period)
        start, local_day, readable, near, is_day = fields(_per_distinct(end_local, _wall_time), period)
        return _Times(period, start, readable, near, is_day, lambda mask: local_day[mask])

    # Every (end, period) pair, end-major: the pair of a row is its end's code x periods + its period's.
    index = end_local.index
    wall_end, per = _wall_time(e_distinct), parse_period(p_distinct)
    pairs = fields(pd.Series(np.repeat(wall_end.to_numpy(), len(per))), pd.Series(np.tile(per.to_numpy(), len(wall_end))))
    pair = e_codes.astype(np.int32) * len(per) + p_codes

    def rows(values: "pd.Series", codes) -> "pd.Series":
        out = values.iloc[codes]
        out.index = index
        return out

    period = rows(per, p_codes)
    start, local_day = rows(pairs[0], pair), pairs[1]
    readable, near, is_day = (pd.Series(p.to_numpy()[pair], index=index) for p in pairs[2:])

    def local_day_at(mask):
        mask = np.asarray(mask, dtype=bool)
        out = local_day.iloc[pair[mask]]
        out.index = index[mask]
        return out

    # The pairs' distinct (start, period) values, numbered: what the duplicate rule compares.
    s_codes, s_distinct = pd.factorize(pairs[0].to_numpy().view("i8"), use_na_sentinel=False)
    p_of_pair = np.tile(np.arange(len(per)), len(wall_end))
    same, distinct = pd.factorize(s_codes.astype(np.int64) * len(per) + pd.factorize(per.to_numpy())[0][p_of_pair])
    codes = same.astype(np.min_scalar_type(-max(len(distinct), 1)))[pair]
    return _Times(period, start, readable, near, is_day, local_day_at, (codes, len(distinct)))


def _distinct_codes(column: "pd.Series") -> tuple["np.ndarray", "pd.Series"]:
    """A dictionary-encoded column as codes into its distinct values (the categories, with the
    dtype the plain column would have, plus one missing value if the column has any)."""
    import numpy as np
    import pandas as pd

    distinct = pd.Series(column.cat.categories)
    codes = column.cat.codes.to_numpy()
    if (codes < 0).any():  # missing entries: one missing value too, and they point at it
        distinct = pd.concat([distinct, pd.Series([None], dtype=distinct.dtype)], ignore_index=True)
        codes = np.where(codes < 0, len(distinct) - 1, codes)
    return codes, distinct


def _per_distinct(column: "pd.Series", parse) -> "pd.Series":
    """``parse(column)``, evaluated once per distinct value when ``column`` is dictionary-encoded
    (``category``) and spread back to the rows; plain columns are parsed as they are.

    ``parse`` must be elementwise. It sees the categories with the dtype the plain column would
    have (``str``), plus one missing value if the column has any, so results are identical."""
    import numpy as np
    import pandas as pd

    if not isinstance(column.dtype, pd.CategoricalDtype):
        return parse(column)
    codes, distinct = _distinct_codes(column)
    parsed = parse(distinct)
    out = parsed.iloc[codes]
    out.index = column.index
    return out


def _duplicated_codes(columns: list) -> "np.ndarray":
    """``DataFrame(columns).duplicated(keep="first")`` for numeric key columns, each given as
    values (factorised here) or as ``(codes, n)`` (codes already in ``0 .. n-1``, equal values
    equal codes): the codes combined into one integer per row (when that cannot overflow)."""
    import numpy as np
    import pandas as pd

    coded = [c if isinstance(c, tuple) else pd.factorize(c, use_na_sentinel=False) for c in columns]
    sizes = [max(c[1] if isinstance(c[1], int) else len(c[1]), 1) for c in coded]
    if float(np.prod(sizes, dtype=float)) >= 2.0 ** 62:
        return pd.DataFrame({i: c[0] for i, c in enumerate(coded)}).duplicated(keep="first").to_numpy()
    key = np.zeros(len(coded[0][0]), dtype=np.int64)
    for (codes, _), n in zip(coded, sizes):
        key = key * n + codes
    return pd.Series(key).duplicated(keep="first").to_numpy()


class _Coded:
    """A parsed text column as codes: ``distinct[codes]`` is the parsed column row by row (a missing
    value is one of the distinct values), equal values have equal codes. The rows themselves are
    spelt out only where asked (:meth:`at`, :meth:`kept`): a dictionary-encoded column's rows are
    its codes, which is what a kept column stays."""

    def __init__(self, codes: "np.ndarray", distinct: "np.ndarray", rows: "pd.Series | None" = None,
                 parsed: "pd.Series | None" = None, parsed_codes: "np.ndarray | None" = None,
                 index: "pd.Index | None" = None) -> None:
        self.codes, self.distinct = codes, distinct
        self._rows, self._parsed, self._parsed_codes, self._index = rows, parsed, parsed_codes, index

    @property
    def encoded(self) -> bool:
        """Whether the column came dictionary-encoded (and its kept rows stay so)."""
        return self._rows is None

    def per_row(self, per_distinct) -> "np.ndarray":
        """Values given per distinct value, spread to the rows."""
        import numpy as np

        return np.asarray(per_distinct)[self.codes] if len(self.codes) else np.asarray(per_distinct)[:0]

    def at(self, mask) -> "pd.Series":
        """The parsed rows where ``mask`` (a boolean array or Series aligned with the rows) holds."""
        import numpy as np

        mask = np.asarray(mask, dtype=bool)
        if self._rows is not None:
            return self._rows[mask]
        rows = self._parsed.iloc[self._parsed_codes[mask]]
        rows.index = self._index[mask]
        return rows

    def kept(self, mask) -> "pd.Series":
        """The rows where ``mask`` holds (None: all of them), as text, or for an encoded column as
        a ``category`` of the same values (its categories of the text's dtype)."""
        import numpy as np
        import pandas as pd

        if self._rows is not None:
            return self._rows if mask is None else self._rows[mask]
        codes, index = (self.codes, self._index) if mask is None else (self.codes[mask], self._index[mask])
        missing = pd.isna(self.distinct)
        values = self.distinct
        if missing.any():  # a missing value is no category: code -1
            remap = (np.cumsum(~missing) - 1)
            remap[missing] = -1
            codes, values = remap[codes], values[~missing]
        categories = pd.Index(values, dtype=self._parsed.dtype)
        return pd.Series(pd.Categorical.from_codes(codes, categories=categories, validate=False), index=index)


def _coded(column: "pd.Series", parse) -> _Coded:
    """:func:`_per_distinct` as codes: a dictionary-encoded column is coded from its categories (no
    text is hashed per row, none is spelt out), a plain one by factorising the parsed rows."""
    import numpy as np
    import pandas as pd

    if not isinstance(column.dtype, pd.CategoricalDtype):
        rows = parse(column)
        codes, distinct = pd.factorize(rows, use_na_sentinel=False)
        return _Coded(codes, np.asarray(distinct, dtype=object), rows=rows)
    codes, distinct = _distinct_codes(column)
    parsed = parse(distinct)
    merged, values = pd.factorize(parsed, use_na_sentinel=False)  # a parse may merge values
    # The row codes in the smallest integer type that holds them (a global day: 1.4 M rows).
    merged = merged.astype(np.min_scalar_type(-max(len(values), 1)))
    return _Coded(merged[codes], np.asarray(values, dtype=object), parsed=parsed, parsed_codes=codes,
                  index=column.index)


def _text(column: "pd.Series") -> "pd.Series":
    """A text column as text (``_as_text``); a dictionary-encoded one whose categories are text
    already stays as it is (the same values)."""
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype) and column.cat.categories.dtype == "str":
        return column
    return _per_distinct(column, _as_text)


def constant_text(text: str, n: int) -> "pd.Categorical":
    """A text column holding ``text`` on all ``n`` rows, dictionary-encoded (one byte per row)."""
    import numpy as np
    import pandas as pd

    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([text], dtype="str"))


def _as_text(column: "pd.Series") -> "pd.Series":
    return column.astype("str")


def as_plain_text(df: "pd.DataFrame") -> "pd.DataFrame":
    """``df`` with dictionary-encoded columns back as plain text (for quarantine records)."""
    import pandas as pd

    cat = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    return df.astype({c: df[c].cat.categories.dtype for c in cat}) if cat else df


def concat(frames: "list[pd.DataFrame]") -> "pd.DataFrame":
    """``pd.concat(frames, ignore_index=True)`` of kept measurements, a dictionary-encoded column
    staying so (its categories united with the other frames' values) where the frames' text is of
    one dtype: the same values as concatenating them spelt out (``as_plain_text``)."""
    import pandas as pd
    from pandas.api.types import union_categoricals

    def text_dtype(column):
        return column.cat.categories.dtype if isinstance(column.dtype, pd.CategoricalDtype) else column.dtype

    columns = list(frames[0].columns) if frames else []
    encoded = [c for c in columns if any(isinstance(f[c].dtype, pd.CategoricalDtype) for f in frames)]
    if not encoded or any(list(f.columns) != columns for f in frames):
        return pd.concat([as_plain_text(f) for f in frames] if encoded else frames, ignore_index=True)
    out = pd.concat([f.drop(columns=encoded) for f in frames], ignore_index=True)
    for c in encoded:
        parts = [f[c] for f in frames]
        if len({text_dtype(p) for p in parts}) == 1:
            out[c] = union_categoricals([p.array if isinstance(p.dtype, pd.CategoricalDtype) else pd.Categorical(p)
                                         for p in parts])
        else:
            out[c] = pd.concat([as_plain_text(p.to_frame())[c] for p in parts], ignore_index=True)
    return out[columns]


def _lookup(labels: "pd.Series | _Coded", mapping: dict):
    """``labels.map(mapping)`` as float64 (NaN where unmapped), one dict lookup per distinct label."""
    import numpy as np
    import pandas as pd

    if isinstance(labels, _Coded):
        return labels.per_row(np.array([mapping.get(label, np.nan) for label in labels.distinct], dtype="float64"))
    codes, distinct = pd.factorize(labels)  # code -1 (missing label) takes the trailing NaN
    values = np.array([mapping.get(label, np.nan) for label in distinct] + [np.nan], dtype="float64")
    return values[codes]


def _aqi_factor(parameter: "pd.Series | _Coded", unit: "pd.Series | _Coded"):
    """``to_aqi_units(parameter, 1.0, unit)`` per row, computed once per distinct (parameter, unit)
    pair: ``value * factor`` is exactly what ``to_aqi_units(parameter, value, unit)`` computes."""
    import numpy as np
    import pandas as pd

    def codes_of(labels):
        if isinstance(labels, _Coded):
            return labels.codes, labels.distinct
        return pd.factorize(labels, use_na_sentinel=False)

    p_codes, p_distinct = codes_of(parameter)
    u_codes, u_distinct = codes_of(unit)
    pair_codes, pairs = pd.factorize(p_codes.astype(np.int64) * len(u_distinct) + u_codes)
    p_of_pair = np.asarray(p_distinct, dtype=object)[pairs // len(u_distinct)]
    u_of_pair = np.asarray(u_distinct, dtype=object)[pairs % len(u_distinct)]
    return to_aqi_units(p_of_pair, 1.0, u_of_pair)[pair_codes]
