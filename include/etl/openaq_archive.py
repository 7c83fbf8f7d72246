"""OpenAQ archive reader: ``openaq-data-archive/records/csv.gz/locationid=<ID>/year=<YYYY>/
month=<MM>/location-<ID>-<YYYYMMDD>.csv.gz`` — one gzip CSV per location and local day.

A day's file holds the 24 hourly periods that start on that local day (``datetime`` = period end,
01:00 .. next day 00:00, with the location's UTC offset). For day D the reader lists the location
folders once, asks for each location's D object (absent = no data that day, not an error), and
parses all bodies in one pyarrow call.
"""
from __future__ import annotations

import datetime as dt
import io
import posixpath
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
    """Check each file's header, then parse all bodies at once. Returns rows (all strings, with a
    ``file`` column), malformed lines ``(file, text, reason)``, and files with a wrong header."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = HEADER.encode()
    bodies, failures = [], []
    owner: dict[str, str] = {}
    for path, data in files.items():
        data = data.removeprefix(b"\xef\xbb\xbf")
        first, _, body = data.partition(b"\n")
        if first.rstrip(b"\r") != header:
            failures.append(FileFailure(path, f"{path}: wrong header {first[:120]!r}, expected {HEADER!r}"))
            continue
        if body and not body.endswith(b"\n"):
            body += b"\n"
        bodies.append(body)
        m = re.search(r"location-([^/]+)-\d{8}\.csv\.gz$", path)
        owner[m.group(1) if m else path] = path
    bad_lines: list[tuple[str, str, str]] = []

    def on_invalid(row) -> str:
        loc = row.text.split(",", 1)[0]
        bad_lines.append((owner.get(loc, ""), row.text,
                          f"malformed line: {row.actual_columns} fields, expected {row.expected_columns}"))
        return "skip"

    if not bodies:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in COLUMNS + ["file"]}), bad_lines, failures
    table = pacsv.read_csv(
        io.BytesIO(b"".join(bodies)),
        read_options=pacsv.ReadOptions(column_names=COLUMNS, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in COLUMNS},
                                             strings_can_be_null=False),
    )
    df = table.to_pandas()
    df["file"] = df["location_id"].map(owner).fillna("")
    return df, bad_lines, failures


def read_archive_day(raw: RawRoot, day: dt.date, paths: list[str] | None = None) -> ReadResult:
    """Read every location's archive object for local day ``day``."""
    import pandas as pd

    paths = discover(raw, day) if paths is None else paths
    fetched, failures = split_fetched(raw.cat(paths), missing_ok=True)
    files, gz_failures = gunzip_many(fetched)
    df, bad_lines, header_failures = parse_bodies(files)
    failures += gz_failures + header_failures

    # A row whose location_id is not its file's id cannot be attributed: quarantine it.
    orphan = df["file"] == ""
    raw_frame = pd.DataFrame(
        {
            "file": df["file"], "location_id": df["location_id"], "location": df["location"],
            "lat": df["lat"], "lon": df["lon"], "country": "", "city_hint": "",
            "parameter": df["parameter"], "unit": df["units"], "value": df["value"],
            "end_local": df["datetime"], "period_hours": "1", "sensors_id": df["sensors_id"],
        }
    )
    kept, q, ignored = measurements.clean(raw_frame[~orphan], SOURCE, day)
    q_orphan = quarantine.from_frame(SOURCE, raw_frame[orphan], "location_id does not match any file of the day",
                                     [c for c in raw_frame.columns if c != "file"])
    return ReadResult(
        data=kept,
        quarantine=quarantine.concat([quarantine.from_lines(SOURCE, bad_lines), q_orphan, q]),
        failures=failures,
        files=len(files) - len(header_failures),
        ignored=ignored,
    )

