"""openaq-fetches reader: ``openaq-fetches/realtime/<date>/*.ndjson`` and
``realtime-gzipped/<date>/*.ndjson.gz`` — newline-delimited JSON, one measurement per record.

Records carry ``date.local`` (END of the averaging period, with offset), ``averagingPeriod``
(15 min, 1 h or 24 h; sometimes absent: then 1 h, OpenAQ's realtime default), ``coordinates``
(sometimes absent: the city is then found by name), mixed units and non-ASCII names.

Folders are named by fetch date, so a local day's values can sit in the folder of the day before
or after. Partition D reads folders D-1, D and D+1 and keeps what belongs to D; a record more than
a day away from its folder is quarantined by its folder's partition (see ``measurements.clean``).

Fast path: pyarrow's multithreaded JSON reader with an explicit schema, one object at a time (so
an object only ever affects its own records). A file it cannot parse (a broken line, a value of
the wrong type), or whose record count is not its data line count (two objects on one line), is
re-read line by line so only the bad records are quarantined and the rest still load. A leading
UTF-8 BOM is dropped; CRLF line ends are JSON whitespace.

A *data line* is a line (split at ``\n``) holding more than JSON whitespace
(``rawio.ndjson_data_lines``). Partition D reads the objects of folders D-1..D+1, so a data line
read by D is one of: kept, quarantined or ignored by D; or *out of partition*: a record whose
local day belongs to another partition, or a malformed line of a D-1/D+1 object (the partition of
its folder quarantines it). Unreadable objects are reported by the partition of their folder.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import posixpath
from typing import TYPE_CHECKING

from include.config import EtlRules
from include.etl import measurements, quarantine
from include.etl.rawio import Accounting, FileFailure, RawRoot, ReadResult, UnreadableObject, gunzip, ndjson_data_lines

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SOURCE = "openaq-fetches"
BUCKET = "openaq-fetches"
FOLDERS = ("realtime", "realtime-gzipped")
FLAT = ["date_local", "date_utc", "parameter", "location", "value", "unit", "city", "country",
        "source_name", "period_value", "period_unit", "latitude", "longitude"]
_UNIT_HOURS = {"hours": 1.0, "hour": 1.0, "minutes": 1 / 60, "minute": 1 / 60, "days": 24.0, "day": 24.0}


def _schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("date", pa.struct([("utc", pa.string()), ("local", pa.string())])),
            ("parameter", pa.string()),
            ("location", pa.string()),
            ("value", pa.float64()),
            ("unit", pa.string()),
            ("city", pa.string()),
            ("country", pa.string()),
            ("sourceName", pa.string()),
            ("averagingPeriod", pa.struct([("value", pa.float64()), ("unit", pa.string())])),
            ("coordinates", pa.struct([("latitude", pa.float64()), ("longitude", pa.float64())])),
        ]
    )


def discover(raw: RawRoot, day: dt.date) -> list[str]:
    """Fetch objects of the folders of ``day`` - 1 .. ``day`` + 1."""
    paths = []
    for offset in (-1, 0, 1):
        folder = (day + dt.timedelta(days=offset)).isoformat()
        for top in FOLDERS:
            paths += [p for p in raw.ls(BUCKET, top, folder) if p.endswith((".ndjson", ".ndjson.gz", ".json", ".json.gz"))]
    return paths


def folder_of(path: str) -> str:
    return posixpath.basename(posixpath.dirname(path))


def _flatten_arrow(table) -> "pd.DataFrame":
    import pyarrow.compute as pc
    import pandas as pd

    date = table.column("date")
    period = table.column("averagingPeriod")
    coords = table.column("coordinates")
    cols = {
        "date_local": pc.struct_field(date, "local"),
        "date_utc": pc.struct_field(date, "utc"),
        "parameter": table.column("parameter"),
        "location": table.column("location"),
        "value": pc.cast(table.column("value"), "string"),
        "unit": table.column("unit"),
        "city": table.column("city"),
        "country": table.column("country"),
        "source_name": table.column("sourceName"),
        "period_value": pc.struct_field(period, "value"),
        "period_unit": pc.struct_field(period, "unit"),
        "latitude": pc.struct_field(coords, "latitude"),
        "longitude": pc.struct_field(coords, "longitude"),
    }
    return pd.DataFrame({k: v.to_pandas() for k, v in cols.items()})


def _flatten_dicts(records: list[dict]) -> "pd.DataFrame":
    """Records parsed one by one (the slow path) in the fast path's shape: text fields as text (a
    number or list where text belongs becomes its JSON), numeric fields as numbers or missing, so
    a record of the wrong shape is judged by the rules instead of breaking the day."""
    import pandas as pd

    def get(r, a, b=None):
        v = r.get(a)
        if b is None:
            return v
        return v.get(b) if isinstance(v, dict) else None

    def text(v):
        return v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False)

    def number(v):
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    return pd.DataFrame(
        {
            "date_local": [text(get(r, "date", "local")) for r in records],
            "date_utc": [text(get(r, "date", "utc")) for r in records],
            "parameter": [text(get(r, "parameter")) for r in records],
            "location": [text(get(r, "location")) for r in records],
            "value": [None if get(r, "value") is None else str(get(r, "value")) for r in records],
            "unit": [text(get(r, "unit")) for r in records],
            "city": [text(get(r, "city")) for r in records],
            "country": [text(get(r, "country")) for r in records],
            "source_name": [text(get(r, "sourceName")) for r in records],
            "period_value": [number(get(r, "averagingPeriod", "value")) for r in records],
            "period_unit": [text(get(r, "averagingPeriod", "unit")) for r in records],
            "latitude": [number(get(r, "coordinates", "latitude")) for r in records],
            "longitude": [number(get(r, "coordinates", "longitude")) for r in records],
        },
        dtype="object",
    )


def parse_ndjson(path: str, data: bytes, lines: int | None = None) -> tuple["pd.DataFrame", list[tuple[str, str, str]]]:
    """Records of one NDJSON object as flat string-ish columns, plus malformed lines. ``lines``:
    its data lines (``rawio.ndjson_data_lines`` after a byte-order mark), if counted already."""
    import pyarrow.json as pajson

    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        table = pajson.read_json(
            io.BytesIO(data),
            read_options=pajson.ReadOptions(block_size=1 << 24),
            parse_options=pajson.ParseOptions(explicit_schema=_schema(), unexpected_field_behavior="ignore",
                                              newlines_in_values=False),
        )
        table.validate(full=True)  # the JSON reader does not check UTF-8; a full validation does
        if table.num_rows == (ndjson_data_lines(data) if lines is None else lines):  # else e.g. two records on one line
            return _flatten_arrow(table), []
    except Exception:  # noqa: BLE001 - any parse failure: find the bad lines the slow way
        pass
    good, bad = [], []
    for number, raw_line in enumerate(data.split(b"\n"), start=1):
        if not raw_line.strip(b" \t\r"):
            continue
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad.append((f"{path}:{number}", raw_line.decode("utf-8", errors="backslashreplace")[:2000],
                        f"malformed JSON line: invalid UTF-8 ({exc.reason})"))
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not a JSON object")
        except (ValueError, RecursionError) as exc:
            bad.append((f"{path}:{number}", line[:2000], f"malformed JSON line: {exc}"))
            continue
        good.append(rec)
    return _flatten_dicts(good), bad


def fetch_location_ids(country: "pd.Series", location: "pd.Series", lat: "pd.Series", lon: "pd.Series") -> "pd.Series":
    """A fetch record's location: ``fetch:<country>:<name>@<lat>,<lon>`` (5 decimals, about 1 m), or
    ``fetch:<country>:<name>`` when the record has no coordinates. The name alone is not an identity:
    the real 2018-06-07 object lists 362 Israeli stations under a name another station at other
    coordinates also has (and 549 stations twice, once under a region without coordinates)."""
    import pandas as pd

    base = "fetch:" + country.fillna("").astype("str") + ":" + location.fillna("").astype("str")
    lat, lon = pd.to_numeric(lat, errors="coerce"), pd.to_numeric(lon, errors="coerce")
    has = (lat.notna() & lon.notna()).to_numpy()
    if not has.any():
        return base
    where = "@" + lat[has].map("{:.5f}".format) + "," + lon[has].map("{:.5f}".format)
    out = base.copy()
    out[has] = base[has] + where
    return out


def read_fetches_day(raw: RawRoot, day: dt.date, paths: list[str] | None = None,
                     rules: EtlRules = EtlRules()) -> ReadResult:
    import numpy as np
    import pandas as pd

    paths = discover(raw, day) if paths is None else paths
    failures: list[FileFailure] = []
    frames, bad_lines = [], []
    accounting = Accounting()
    fetched = raw.cat(paths)
    for path in paths:
        data = fetched.get(path)
        if isinstance(data, Exception) or data is None:
            failures.append(FileFailure(path, f"{path}: cannot read ({data!r})"))
            continue
        try:
            if path.endswith(".gz"):
                data = gunzip(path, data, count_lines=ndjson_data_lines)
        except UnreadableObject as exc:
            failures.append(FileFailure(path, str(exc), exc.lines))
            continue
        accounting.lines[path] = ndjson_data_lines(data.removeprefix(b"\xef\xbb\xbf"))
        df, bad = parse_ndjson(path, data, accounting.lines[path])
        accounting.parsed[path] = len(df)
        df["file"] = path
        df["folder"] = folder_of(path)
        frames.append(df)
        if bad:
            (accounting.malformed if folder_of(path) == day.isoformat() else accounting.elsewhere)[path] = len(bad)
        bad_lines += [(f, t, r) for f, t, r in bad if folder_of(path) == day.isoformat()]
    if frames:
        df = pd.concat(frames, ignore_index=True)
    else:
        df = _flatten_dicts([]).assign(file=pd.Series(dtype="str"), folder=pd.Series(dtype="str"))

    # (as float64: mapping no unit at all would otherwise give a text column)
    unit_hours = df["period_unit"].astype("str").str.lower().map(_UNIT_HOURS).astype("float64")
    hours = pd.to_numeric(df["period_value"], errors="coerce") * unit_hours
    location_id = fetch_location_ids(df["country"], df["location"], df["latitude"], df["longitude"])
    raw_frame = pd.DataFrame(
        {
            "file": df["file"], "location_id": location_id, "location": df["location"],
            "lat": df["latitude"], "lon": df["longitude"], "country": df["country"], "city_hint": df["city"],
            # Missing unit or timestamp as "" (not null): the rules quote them in the reason.
            "parameter": df["parameter"], "unit": df["unit"].fillna(""), "value": df["value"],
            "end_local": df["date_local"].fillna(""), "period_hours": hours.where(hours.notna(), np.nan),
            "date_utc": df["date_utc"], "source_name": df["source_name"],
        }
    )
    home = df["folder"] == day.isoformat()
    # A record without a parameter can be neither measured nor "ignored" (the rules count ignored
    # rows per parameter): its object's partition quarantines it here.
    no_parameter = df["parameter"].isna().to_numpy()
    q_no_parameter = quarantine.from_frame(
        SOURCE, raw_frame[no_parameter & home.to_numpy()], "missing parameter",
        [c for c in raw_frame.columns if c != "file"])
    if no_parameter.any():
        raw_frame, home, df = raw_frame[~no_parameter], home[~no_parameter], df[~no_parameter]
    kept, q, ignored = measurements.clean(raw_frame, SOURCE, day, rules=rules, home=home,
                                          folder_date=pd.to_datetime(df["folder"], errors="coerce"), tolerance_days=1)
    return ReadResult(
        data=kept,
        quarantine=quarantine.concat([quarantine.from_lines(SOURCE, bad_lines), q_no_parameter, q]),
        failures=[f for f in failures if folder_of(f.path) == day.isoformat()],
        files=len(paths) - len(failures),
        ignored=ignored,
        accounting=accounting,
    )
