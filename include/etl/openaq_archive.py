"""OpenAQ archive reader: ``openaq-data-archive/records/csv.gz/locationid=<ID>/year=<YYYY>/
month=<MM>/location-<ID>-<YYYYMMDD>.csv.gz`` — one gzip CSV per location and local day.

A day's file holds the 24 hourly periods that start on that local day (``datetime`` = period end,
01:00 .. next day 00:00, with the location's UTC offset). For day D the reader lists the location
folders once, asks for each location's D object (absent = no data that day, not an error), and
parses all bodies in one pyarrow call.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from include.config import EtlRules
from include.etl import measurements, quarantine
from include.etl.rawio import (Accounting, FileFailure, RawRoot, ReadResult, Unbalanced, count_by, csv_data_lines,
                               data_line_list, gunzip_many, isolate, parse_csv_lines, split_fetched)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

SOURCE = "openaq-archive"
BUCKET = "openaq-data-archive"
PREFIX = "records/csv.gz"
HEADER = "location_id,sensors_id,location,datetime,lat,lon,parameter,units,value"
COLUMNS = HEADER.split(",")
_LOCATION_DIR = re.compile(r"locationid=([^/]+)$")
_OBJECT_NAME = re.compile(r"location-([^/]+)-\d{8}\.csv\.gz$")


def object_path(raw: RawRoot, location_id: str, day: dt.date) -> str:
    return raw.path(
        BUCKET, PREFIX, f"locationid={location_id}", f"year={day:%Y}", f"month={day:%m}",
        f"location-{location_id}-{day:%Y%m%d}.csv.gz",
    )


def discover(raw: RawRoot, day: dt.date) -> list[str]:
    """Candidate objects for ``day``: one per location folder (most locations report daily)."""
    locations = [m.group(1) for p in raw.ls(BUCKET, PREFIX) if (m := _LOCATION_DIR.search(p))]
    # ``object_path`` of each, spelt out: no part starts with "/" (an id holds none), so the join
    # is plain concatenation (10,000 joins of six parts are most of the listing's time otherwise).
    folder = raw.path(BUCKET, PREFIX)
    if not folder or folder.endswith("/"):
        return [object_path(raw, loc, day) for loc in locations]
    middle, end = f"/year={day:%Y}/month={day:%m}/location-", f"-{day:%Y%m%d}.csv.gz"
    return [f"{folder}/locationid={loc}{middle}{loc}{end}" for loc in locations]


@dataclass
class _Object:
    path: str
    location_id: str
    chunks: list  # the body (a view into the inflated bytes), plus b"\n" if its last line had none
    lines: int    # data lines (``rawio.csv_data_lines``)
    number: int = 0  # position among its slice's objects (rows are attributed to it)


@dataclass
class Inflated:
    """Some of a day's objects, fetched and inflated (:func:`inflate`): the bodies, in path
    order, each one's data lines after its first line, and the objects that could not be read
    or inflated."""

    files: dict[str, bytes]
    fetch_failures: list[FileFailure]
    gzip_failures: list[FileFailure]
    lines: dict[str, int]


def inflate(raw: RawRoot, paths: list[str]) -> Inflated:
    """Fetch and inflate ``paths`` (an absent object is no data that day, not a failure)."""
    fetched, fetch_failures = split_fetched(raw.cat(paths), missing_ok=True)
    files, gzip_failures = gunzip_many(fetched, count_lines=_body_lines)
    return Inflated(files, fetch_failures, gzip_failures, {path: _body_lines(data) for path, data in files.items()})


@dataclass
class _Part:
    """Rows of some objects: a text table, each row's object (its number among the objects of the
    slice), the rows whose location_id is not their object's, and malformed lines
    ``(file, text, reason)``."""

    table: object
    owner: "np.ndarray"
    foreign: "np.ndarray"
    bad: list


@dataclass
class Parsed:
    """One slice of a day's objects, fetched, inflated and parsed (:func:`parse_slice`; plain
    data, so a helper process can send it back): the objects with the right header and their data
    lines (in the order they are numbered), the rows, what failed, and how many objects were read."""

    lines: dict[str, int]
    parts: list[_Part]
    fetch_failures: list[FileFailure]
    gzip_failures: list[FileFailure]
    header_failures: list[FileFailure]
    files_read: int


def parse_slice(raw: RawRoot, paths: list[str]) -> Parsed:
    """Fetch, inflate and parse ``paths``: a slice of the day's objects, in the order
    ``RawRoot.cat`` reads them (``pipeline.read_sources`` shares a day's slices between this
    process and a helper one; ``read_archive_day`` puts the slices' rows together)."""
    return parse_inflated(inflate(raw, paths))


def parse_inflated(inflated: Inflated) -> Parsed:
    """Check each file's header, then parse the bodies in batches proven per-object safe
    (``rawio.isolate``), each row attributed to its object by position, so a damaged id cannot
    move a row to another file. A *data line* is a line after the header, empty lines excluded
    (``rawio.csv_data_lines``).

    Every column is read as dictionary-encoded text: a day repeats a few thousand distinct
    strings (ids, timestamps, values) over ~1.4M rows, so this is several times smaller than
    plain strings (and cheap to send between processes), and ``measurements.clean`` parses each
    distinct value once. The original text is kept, so quarantine reasons quote values exactly
    as the file has them."""
    objects, header_failures = _bodies(inflated.files, inflated.lines)
    for k, o in enumerate(objects):
        o.number = k
    todo = [o for o in objects if o.lines]
    parts = isolate(todo, _parse_batch, _parse_alone) if todo else []
    return Parsed({o.path: o.lines for o in objects}, parts,
                  inflated.fetch_failures, inflated.gzip_failures, header_failures, len(inflated.files))


def _assemble(slices: Iterable[Parsed]):
    """The day's rows from its parsed slices, in slice order: ``(frame, bad_lines, totals)``, the
    frame with text columns (pandas ``category``), ``file`` and ``foreign``; ``totals`` the
    slices' failures, data lines and objects read, put together."""
    import numpy as np
    import pandas as pd

    paths: list[str] = []
    lines: dict[str, int] = {}
    tables, owners, foreigns, bad_lines = [], [], [], []
    fetch_failures, gzip_failures, header_failures, files_read = [], [], [], 0
    for s in slices:
        base = len(paths)
        for part in s.parts:
            tables.append(part.table)
            owners.append(part.owner + base)
            foreigns.append(part.foreign)
            bad_lines += part.bad
        paths += s.lines  # the slice's objects, in the order they are numbered
        lines.update(s.lines)
        fetch_failures += s.fetch_failures
        gzip_failures += s.gzip_failures
        header_failures += s.header_failures
        files_read += s.files_read
    totals = {"lines": lines, "failures": fetch_failures + gzip_failures + header_failures,
              "header_failures": header_failures, "files_read": files_read}
    if not tables:  # no file, or header-only files: a day without values
        empty = pd.DataFrame({c: pd.Series(dtype="str") for c in COLUMNS + ["file"]})
        return empty.assign(foreign=pd.Series(dtype=bool)), [], totals
    df = _categorical_frame(tables)
    del tables
    owner = np.concatenate(owners).astype(np.int32)
    foreign = np.concatenate(foreigns).astype(bool)
    df["file"] = pd.Categorical.from_codes(owner, categories=pd.Index(paths, dtype="str"))
    df["foreign"] = foreign
    return df, bad_lines, totals


def _categorical_frame(tables: list) -> "pd.DataFrame":
    """The parts' dictionary-encoded tables, one after the other, as a frame of pandas categoricals:
    ``pa.concat_tables(tables).unify_dictionaries().to_pandas()`` (the same categories in the same
    order: each part's dictionary values as they first appear), without its two intermediate
    copies of every column's indices (a global day: 9 columns of 1.4 M rows)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    columns = {}
    for name in tables[0].column_names:
        chunks = [chunk for t in tables for chunk in t.column(name).chunks]
        codes, categories = pd.factorize(pa.concat_arrays([c.dictionary for c in chunks]).to_numpy(zero_copy_only=False))
        # The code dtype pandas gives that many categories.
        n = len(categories)
        dtype = np.int8 if n < 127 else np.int16 if n < 32767 else np.int32 if n < 2**31 - 1 else np.int64
        out, row, first = np.empty(sum(len(c) for c in chunks), dtype=dtype), 0, 0
        for chunk in chunks:
            to_code = codes[first:first + len(chunk.dictionary)].astype(dtype)
            first += len(chunk.dictionary)
            indices = chunk.indices.fill_null(0).to_numpy(zero_copy_only=False)
            part = out[row:row + len(chunk)]
            np.take(to_code, indices, out=part)
            if chunk.null_count:  # a missing value: code -1
                part[chunk.is_null().to_numpy(zero_copy_only=False)] = -1
            row += len(chunk)
        columns[name] = pd.Categorical.from_codes(out, categories=pd.Index(categories, dtype="str"), validate=False)
    return pd.DataFrame(columns)


def _text_schema():
    import pyarrow as pa

    text = pa.dictionary(pa.int32(), pa.string())
    return text, pa.schema([(c, text) for c in COLUMNS])


def _parse_batch(batch: list[_Object]) -> _Part:
    """One pyarrow parse of the batch's bodies, proven to give each object exactly its data lines
    (else :class:`rawio.Unbalanced`, and ``isolate`` splits the batch)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    text, _ = _text_schema()
    invalid = []

    def on_invalid(row) -> str:
        invalid.append((row.text, row.actual_columns, row.expected_columns))
        return "skip"

    table = pacsv.read_csv(
        pa.py_buffer(b"".join(c for o in batch for c in o.chunks)),
        read_options=pacsv.ReadOptions(column_names=COLUMNS, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(column_types={c: text for c in COLUMNS}, strings_can_be_null=False),
    )
    position = {o.location_id: k for k, o in enumerate(batch)}
    if len(batch) == 1:
        invalid_owner = np.zeros(len(invalid), dtype=np.int64)
    else:
        invalid_owner = np.array([position.get(t.split(",", 1)[0], -1) for t, _, _ in invalid], dtype=np.int64)
        if (invalid_owner < 0).any():
            raise Unbalanced("a malformed line names no object of the batch")
    valid = np.array([o.lines for o in batch]) - np.bincount(invalid_owner, minlength=len(batch))
    if (valid < 0).any() or valid.sum() != table.num_rows:
        raise Unbalanced("rows do not match the objects' data lines")
    owner = np.repeat(np.arange(len(batch)), valid)
    claimed = _claimed(table.column("location_id"), position)
    foreign = claimed != owner
    if len(batch) > 1 and foreign.any():
        raise Unbalanced("a row's location_id is not its object's")
    number = np.array([o.number for o in batch])
    bad = [(batch[k].path, t, f"malformed line: {a} fields, expected {e}") for k, (t, a, e) in zip(invalid_owner, invalid)]
    return _Part(table, number[owner], foreign, bad)


def _parse_alone(obj: _Object) -> _Part:
    """The slow path for an object no batch could vouch for: line by line."""
    import numpy as np
    import pyarrow as pa

    _, schema = _text_schema()
    good, bad = parse_csv_lines(data_line_list(b"".join(obj.chunks)), len(COLUMNS))
    columns = list(zip(*good)) if good else [[] for _ in COLUMNS]
    table = pa.table({c: pa.array(list(v), pa.string()).dictionary_encode() for c, v in zip(COLUMNS, columns)},
                     schema=schema)
    foreign = np.array([row[0] != obj.location_id for row in good], dtype=bool)
    return _Part(table, np.full(len(good), obj.number), foreign, [(obj.path, t, r) for _, t, r in bad])


def _claimed(location_id, position: dict[str, int]) -> "np.ndarray":
    """Per row, the batch position of the object its location_id names (-1: none), looked up once
    per distinct id of each chunk."""
    import numpy as np

    out = []
    for chunk in location_id.chunks:
        lookup = np.array([position.get(v, -1) for v in chunk.dictionary.to_pylist()] + [-1], dtype=np.int64)
        idx = chunk.indices.to_numpy(zero_copy_only=False)
        out.append(lookup[idx] if len(idx) else np.zeros(0, dtype=np.int64))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _bodies(files: dict[str, bytes], lines: dict[str, int]) -> tuple[list[_Object], list[FileFailure]]:
    """Each file with the right header (its body a view into its bytes, not a copy, and its data
    lines from ``lines``, counted by ``_body_lines``) and the files whose header is wrong (empty,
    whitespace or binary objects among them)."""
    header = HEADER.encode()
    objects, failures = [], []
    for path, data in files.items():
        start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        end = data.find(b"\n", start)
        end = len(data) if end == -1 else end
        first = data[start:end]
        body = memoryview(data)[end + 1:]
        if first.rstrip(b"\r") != header:
            failures.append(FileFailure(path, f"{path}: wrong header {first[:120]!r}, expected {HEADER!r}",
                                        lines[path]))
            continue
        chunks = [body]
        if end + 1 < len(data) and not data.endswith(b"\n"):
            chunks.append(b"\n")
        # The id in the object's name (``[^/]+``: within the last path component, so only it is searched).
        m = _OBJECT_NAME.search(path, path.rfind("/") + 1)
        objects.append(_Object(path, m.group(1) if m else path, chunks, lines[path]))
    return objects, failures


def read_archive_day(raw: RawRoot, day: dt.date, paths: list[str] | None = None,
                     rules: EtlRules = EtlRules(), parsed: Iterable[Parsed] | None = None) -> ReadResult:
    """Read every location's archive object for local day ``day``.

    ``parsed``: the objects of ``paths`` already parsed, as consecutive slices in the order
    ``RawRoot.cat`` reads them (:func:`parse_slice` of each; ``pipeline.read_sources`` shares
    them between two processes). By default they are parsed here, in one slice."""
    import pandas as pd

    paths = discover(raw, day) if paths is None else paths
    df, bad_lines, totals = _assemble((parse_slice(raw, paths) for _ in (0,)) if parsed is None else parsed)
    lines, failures = totals["lines"], totals["failures"]
    n_files = totals["files_read"] - len(totals["header_failures"])

    # A row whose location_id is not its file's id (a damaged id) cannot be trusted: quarantine it.
    foreign = df["foreign"].to_numpy()
    n = len(df)
    constant = measurements.constant_text
    raw_frame = pd.DataFrame(
        {
            "file": df["file"], "location_id": df["location_id"], "location": df["location"],
            "lat": df["lat"], "lon": df["lon"], "country": constant("", n), "city_hint": constant("", n),
            "parameter": df["parameter"], "unit": df["units"], "value": df["value"],
            "end_local": df["datetime"], "period_hours": constant("1", n), "sensors_id": df["sensors_id"],
        }
    )
    parsed = df["file"].value_counts(sort=False)
    del df
    kept, q, ignored = measurements.clean(raw_frame[~foreign] if foreign.any() else raw_frame, SOURCE, day, rules=rules)
    q_foreign = quarantine.from_frame(SOURCE, measurements.as_plain_text(raw_frame[foreign]),
                                      "location_id does not match its file",
                                      [c for c in raw_frame.columns if c != "file"])
    return ReadResult(
        data=kept,
        quarantine=quarantine.concat([quarantine.from_lines(SOURCE, bad_lines), q_foreign, q]),
        failures=failures,
        files=n_files,
        ignored=ignored,
        accounting=Accounting(lines=lines, parsed={str(k): int(v) for k, v in parsed.items() if v},
                              malformed=count_by(f for f, _, _ in bad_lines)),
    )


def _body_lines(data: bytes) -> int:
    """Data lines after an object's first line, counted as ``_bodies`` counts them (a body that is
    the rest of the bytes after the first line end; none without one), without copying it."""
    end = data.find(b"\n")
    return 0 if end == -1 else csv_data_lines(data, end + 1)

