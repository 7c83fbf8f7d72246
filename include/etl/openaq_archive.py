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
from typing import TYPE_CHECKING

from include.etl import measurements, quarantine
from include.etl.rawio import FileFailure, RawRoot, ReadResult, gunzip_many, split_fetched

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SOURCE = "openaq-archive"
BUCKET = "openaq-data-archive"
PREFIX = "records/csv.gz"
HEADER = "location_id,sensors_id,location,datetime,lat,lon,parameter,units,value"
COLUMNS = HEADER.split(",")
_LOCATION_DIR = re.compile(r"locationid=([^/]+)$")


def object_path(raw: RawRoot, location_id: str, day: dt.date) -> str:
    return raw.path(
        BUCKET, PREFIX, f"locationid={location_id}", f"year={day:%Y}", f"month={day:%m}",
        f"location-{location_id}-{day:%Y%m%d}.csv.gz",
    )


def discover(raw: RawRoot, day: dt.date) -> list[str]:
    """Candidate objects for ``day``: one per location folder (most locations report daily)."""
    locations = [m.group(1) for p in raw.ls(BUCKET, PREFIX) if (m := _LOCATION_DIR.search(p))]
    return [object_path(raw, loc, day) for loc in locations]


def parse_bodies(files: dict[str, bytes]) -> tuple["pd.DataFrame", list[tuple[str, str, str]], list[FileFailure]]:
    """Check each file's header, then parse all bodies at once. Returns rows (text columns, with a
    ``file`` column), malformed lines ``(file, text, reason)``, and files with a wrong header.

    Every column is read as dictionary-encoded text (pandas ``category``): a day repeats a few
    thousand distinct strings (ids, timestamps, values) over ~1.4M rows, so this is several times
    smaller than plain strings and lets ``measurements.clean`` parse each distinct value once.
    The original text is kept, so quarantine reasons quote values exactly as the file has them."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv

    bodies, owner, failures = _bodies(files)
    bad_lines: list[tuple[str, str, str]] = []

    def on_invalid(row) -> str:
        loc = row.text.split(",", 1)[0]
        bad_lines.append((owner.get(loc, ""), row.text,
                          f"malformed line: {row.actual_columns} fields, expected {row.expected_columns}"))
        return "skip"

    if not any(len(b) for b in bodies):  # no file, or header-only files: a day without values
        return pd.DataFrame({c: pd.Series(dtype="str") for c in COLUMNS + ["file"]}), bad_lines, failures
    text = pa.dictionary(pa.int32(), pa.string())
    table = pacsv.read_csv(
        pa.py_buffer(b"".join(bodies)),
        read_options=pacsv.ReadOptions(column_names=COLUMNS, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(column_types={c: text for c in COLUMNS}, strings_can_be_null=False),
    )
    del bodies
    df = table.to_pandas()
    del table
    df["file"] = _file_of(df["location_id"], owner)
    return df, bad_lines, failures


def _bodies(files: dict[str, bytes]) -> tuple[list, dict[str, str], list[FileFailure]]:
    """The body of each file with the right header (a view into its bytes, not a copy), the file
    of each location id, and the files whose header is wrong."""
    header = HEADER.encode()
    bodies, failures = [], []
    owner: dict[str, str] = {}
    for path, data in files.items():
        start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        end = data.find(b"\n", start)
        end = len(data) if end == -1 else end
        first = data[start:end]
        if first.rstrip(b"\r") != header:
            failures.append(FileFailure(path, f"{path}: wrong header {first[:120]!r}, expected {HEADER!r}"))
            continue
        bodies.append(memoryview(data)[end + 1:])
        if end + 1 < len(data) and not data.endswith(b"\n"):
            bodies.append(b"\n")
        m = re.search(r"location-([^/]+)-\d{8}\.csv\.gz$", path)
        owner[m.group(1) if m else path] = path
    return bodies, owner, failures


def _file_of(location_id: "pd.Series", owner: dict[str, str]) -> "pd.Series":
    """The file of each row, by its location id ("" if no file of the day has that id); looked up
    once per distinct id."""
    import pandas as pd

    codes, distinct = pd.factorize(location_id)
    files = pd.Categorical(pd.Series([owner.get(loc, "") for loc in distinct], dtype="str"))
    return pd.Series(files.take(codes), index=location_id.index)


def read_archive_day(raw: RawRoot, day: dt.date, paths: list[str] | None = None) -> ReadResult:
    """Read every location's archive object for local day ``day``."""
    import pandas as pd

    paths = discover(raw, day) if paths is None else paths
    fetched, failures = split_fetched(raw.cat(paths), missing_ok=True)
    files, gz_failures = gunzip_many(fetched)
    del fetched  # the compressed bytes are no longer needed
    df, bad_lines, header_failures = parse_bodies(files)
    n_files = len(files) - len(header_failures)
    del files
    failures += gz_failures + header_failures

    # A row whose location_id is not its file's id cannot be attributed: quarantine it.
    orphan = (df["file"] == "").to_numpy()
    n = len(df)
    raw_frame = pd.DataFrame(
        {
            "file": df["file"], "location_id": df["location_id"], "location": df["location"],
            "lat": df["lat"], "lon": df["lon"], "country": _constant("", n), "city_hint": _constant("", n),
            "parameter": df["parameter"], "unit": df["units"], "value": df["value"],
            "end_local": df["datetime"], "period_hours": _constant("1", n), "sensors_id": df["sensors_id"],
        }
    )
    del df
    kept, q, ignored = measurements.clean(raw_frame[~orphan] if orphan.any() else raw_frame, SOURCE, day)
    q_orphan = quarantine.from_frame(SOURCE, measurements.as_plain_text(raw_frame[orphan]),
                                     "location_id does not match any file of the day",
                                     [c for c in raw_frame.columns if c != "file"])
    return ReadResult(
        data=kept,
        quarantine=quarantine.concat([quarantine.from_lines(SOURCE, bad_lines), q_orphan, q]),
        failures=failures,
        files=n_files,
        ignored=ignored,
    )


def _constant(text: str, n: int) -> "pd.Categorical":
    """A text column holding ``text`` on all ``n`` rows, dictionary-encoded (one byte per row)."""
    import numpy as np
    import pandas as pd

    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([text], dtype="str"))
