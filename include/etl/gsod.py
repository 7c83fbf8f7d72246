"""NOAA GSOD reader: ``noaa-gsod-pds/<YYYY>/<STATION>.csv`` — one CSV per station and year.

The production layout (quoted fields, leading blanks, a missing code per field, STP's thousands
digit cut off, attribute counts, FRSHTT) is described in the README. On day D a station's
current-year file holds Jan 1 .. D, so a day's read touches ~12,000 files but needs one line of
each: the reader finds D's line by a byte search (``","<D>",``) and parses only those lines, all
stations at once, with pyarrow. Curated output is in SI units.

Only the ends of a long file are read when they suffice (local raw roots, :meth:`RawRoot.ends`):
its header and its last ``TAIL_BYTES``. A station file is in DATE order (NOAA writes it so), so
when the first complete line of the tail is dated before D, every line of D is in the tail; that
is the daily run's case (D is the file's last day, or one of its last with ``reprocess_days``).
Otherwise (a backfill of a day in the middle of a year file, a short or damaged file, a wrong
header) the whole file is read, as before. On an object store whole files are read.

A *data line* of a station file, for day D, is a line holding D's DATE field (normally one): only
those are read, so only those are accounted for. Lines are attributed to files by position (the
batch is proven per-object consistent, ``rawio.isolate``), and a line whose STATION is not its
file's name is quarantined: a damaged id can never displace another station's row.
"""
from __future__ import annotations

import datetime as dt
import io
import posixpath
import re
from typing import TYPE_CHECKING

from include.config import EtlRules
from include.etl import quarantine
from include.etl.rawio import (Accounting, FileFailure, RawRoot, ReadResult, Unbalanced, count_by, isolate,
                               parse_csv_lines, split_fetched)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SOURCE = "noaa-gsod"
BUCKET = "noaa-gsod-pds"
COLUMNS = [
    "STATION", "DATE", "LATITUDE", "LONGITUDE", "ELEVATION", "NAME", "TEMP", "TEMP_ATTRIBUTES", "DEWP",
    "DEWP_ATTRIBUTES", "SLP", "SLP_ATTRIBUTES", "STP", "STP_ATTRIBUTES", "VISIB", "VISIB_ATTRIBUTES", "WDSP",
    "WDSP_ATTRIBUTES", "MXSPD", "GUST", "MAX", "MAX_ATTRIBUTES", "MIN", "MIN_ATTRIBUTES", "PRCP",
    "PRCP_ATTRIBUTES", "SNDP", "FRSHTT",
]
HEADER = ",".join(f'"{c}"' for c in COLUMNS)

# field: (missing code, factor, offset) to SI: value_si = (value + offset) * factor
_F_TO_C = (9999.9, 5 / 9, -32.0)
MEASURES = {
    "TEMP": ("temp_c", _F_TO_C),
    "DEWP": ("dewp_c", _F_TO_C),
    "MAX": ("max_temp_c", _F_TO_C),
    "MIN": ("min_temp_c", _F_TO_C),
    "SLP": ("slp_hpa", (9999.9, 1.0, 0.0)),
    "STP": ("stp_hpa", (999.9, 1.0, 0.0)),
    "VISIB": ("visib_km", (999.9, 1.609344, 0.0)),
    "WDSP": ("wdsp_ms", (999.9, 0.514444, 0.0)),
    "MXSPD": ("mxspd_ms", (999.9, 0.514444, 0.0)),
    "GUST": ("gust_ms", (999.9, 0.514444, 0.0)),
    "PRCP": ("prcp_mm", (99.99, 25.4, 0.0)),
    "SNDP": ("sndp_mm", (999.9, 25.4, 0.0)),
}
COUNTS = {"TEMP_ATTRIBUTES": "temp_count", "DEWP_ATTRIBUTES": "dewp_count", "SLP_ATTRIBUTES": "slp_count",
          "STP_ATTRIBUTES": "stp_count", "VISIB_ATTRIBUTES": "visib_count", "WDSP_ATTRIBUTES": "wdsp_count"}
FRSHTT = ("fog", "rain", "snow", "hail", "thunder", "tornado")
#: Plausible ranges in the file's units; a row outside is quarantined (a corrupt line, not weather).
RANGES = {"TEMP": (-130, 140), "DEWP": (-130, 120), "MAX": (-130, 140), "MIN": (-130, 140),
          "SLP": (850, 1090), "STP": (400, 1090), "VISIB": (0, 100), "WDSP": (0, 200), "MXSPD": (0, 200),
          "GUST": (0, 250), "PRCP": (0, 40), "SNDP": (0, 500), "LATITUDE": (-90, 90), "LONGITUDE": (-180, 180)}
_STATION_RE = r"^[0-9A-Z]{11}$"
#: Station files fetched per ``cat`` call (bounds the bytes held at once).
READ_BATCH = 500
#: The ends of a station file read first (the header line is ~330 bytes; a line ~230).
HEAD_BYTES = 1024
TAIL_BYTES = 8192
_DATE_AT = re.compile(rb'"[^"\n]*","(\d{4}-\d\d-\d\d)",')


def discover(raw: RawRoot, day: dt.date) -> list[str]:
    """Station files of ``day``'s year (each holds Jan 1 .. the latest day)."""
    return [p for p in raw.ls(BUCKET, f"{day:%Y}") if p.endswith(".csv")]


def day_lines(data: bytes, day: dt.date) -> list[bytes]:
    """The lines of ``data`` whose DATE field is ``day`` (normally one)."""
    needle = f'","{day.isoformat()}",'.encode()
    out = []
    pos = data.find(needle)
    while pos != -1:
        start = data.rfind(b"\n", 0, pos) + 1
        end = data.find(b"\n", pos)
        end = len(data) if end == -1 else end
        out.append(data[start:end].rstrip(b"\r"))
        pos = data.find(needle, end)
    return out


def _fetch_day_parts(raw: RawRoot, paths: list[str], day: dt.date) -> dict[str, bytes | Exception]:
    """``raw.cat(paths)``, except that a file whose ends provably hold all of D's lines is given as
    its header line and the complete lines of its tail (:func:`day_part`): the same lines for
    :func:`day_lines`, and the same header."""
    ends = raw.ends(paths, HEAD_BYTES, TAIL_BYTES)
    if ends is None:
        return raw.cat(paths)
    out: dict[str, bytes | Exception | None] = {}
    for path, got in ends.items():
        out[path] = day_part(*got, day) if isinstance(got, tuple) else got
    whole = [p for p, v in out.items() if v is None]
    if whole:
        out.update(raw.cat(whole))
    return out


def day_part(head: bytes, tail: bytes, day: dt.date) -> bytes | None:
    """The header line of a station file (from its first bytes ``head``) and the complete lines of
    its last bytes ``tail``, when these hold every line of ``day``: the header is GSOD's and the
    tail's first complete line is dated before ``day`` (the file being in DATE order). ``None``:
    the whole file must be read."""
    end = head.find(b"\n")
    if end == -1 or head[:end].rstrip(b"\r").removeprefix(b"\xef\xbb\xbf") != HEADER.encode():
        return None
    start = tail.find(b"\n") + 1
    first = _DATE_AT.match(tail, start) if start else None
    if first is None or first.group(1) >= day.isoformat().encode():
        return None
    return head[:end + 1] + tail[start:]


def read_gsod_day(raw: RawRoot, day: dt.date, paths: list[str] | None = None,
                  rules: EtlRules = EtlRules()) -> ReadResult:  # no ETL rule applies to GSOD
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    paths = discover(raw, day) if paths is None else paths
    header = HEADER.encode()
    lines, line_file, failures, header_failures = [], [], [], []
    n_files = 0
    # A station file holds the whole year but only D's line is needed: read the files in batches
    # and keep just those lines, so at most one batch of files is in memory (not ~450 MB).
    # Sorted and de-duplicated first: the order (and set) one ``cat`` of all paths would give.
    ordered = sorted(set(paths))
    for i in range(0, len(ordered), READ_BATCH):
        files, batch_failures = split_fetched(_fetch_day_parts(raw, ordered[i:i + READ_BATCH], day))
        failures += batch_failures
        n_files += len(files)
        for path, data in files.items():
            first = data[: data.find(b"\n")].rstrip(b"\r").removeprefix(b"\xef\xbb\xbf")
            found = day_lines(data, day)
            if first != header:
                header_failures.append(FileFailure(
                    path, f"{path}: wrong header {first[:120]!r}, expected the GSOD CSV header", len(found)))
                continue
            lines += found
            line_file += [path] * len(found)
        del files
    failures += header_failures  # after the read failures, as one read of all files reported them
    n_files -= len(header_failures)

    columns = {c: pa.string() for c in COLUMNS}
    stem = [posixpath.basename(p)[:-4] for p in line_file]

    def parse_batch(batch: list[int]) -> tuple:
        invalid = []

        def on_invalid(row) -> str:
            invalid.append((row.text, f"malformed line: {row.actual_columns} fields, expected {row.expected_columns}"))
            return "skip"

        table = pacsv.read_csv(
            io.BytesIO(header + b"\n" + b"\n".join(lines[k] for k in batch) + b"\n"),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(column_types=columns, strings_can_be_null=False),
        )
        # One line per row: rows + malformed lines must be the batch's lines, each row in its place
        # (a malformed line cannot be placed, so it is isolated first).
        if table.num_rows + len(invalid) != len(batch) or (invalid and len(batch) > 1):
            raise Unbalanced("rows do not match the lines")
        if len(batch) == 1:
            return table, batch if not invalid else [], [(batch[0], t, r) for t, r in invalid]
        stations = table.column("STATION").to_pylist()
        if any(s.strip() != stem[k] for s, k in zip(stations, batch)):
            raise Unbalanced("a row is not in its place")
        return table, batch, []

    def parse_alone(k: int) -> tuple:
        good, bad = parse_csv_lines([lines[k]], len(COLUMNS))
        table = pa.table({c: pa.array([row[j] for row in good], pa.string()) for j, c in enumerate(COLUMNS)})
        return table, [k] * len(good), [(k, t, r) for _, t, r in bad]

    parts = isolate(list(range(len(lines))), parse_batch, parse_alone) if lines else []
    table = pa.concat_tables([t for t, _, _ in parts]) if parts else pa.table({c: pa.array([], pa.string()) for c in COLUMNS})
    owner = np.array([k for _, rows, _ in parts for k in rows], dtype=np.int64)
    bad = [(line_file[k], t, r) for _, _, b in parts for k, t, r in b]
    df = table.to_pandas()
    df["file"] = np.array(line_file, dtype=object)[owner] if len(owner) else []
    df["stem"] = np.array(stem, dtype=object)[owner] if len(owner) else []
    weather, q = to_curated(df, day)
    parsed, rejected = count_by(df["file"]), count_by(q["file"])
    return ReadResult(
        data=weather,
        quarantine=quarantine.concat([quarantine.from_lines(SOURCE, bad), q]),
        failures=failures,
        files=n_files,
        accounting=Accounting(lines=count_by(line_file), parsed=parsed, malformed=count_by(f for f, _, _ in bad),
                              kept={f: n - rejected.get(f, 0) for f, n in parsed.items()}),
    )


def to_curated(df: "pd.DataFrame", day: dt.date) -> tuple["pd.DataFrame", "pd.DataFrame"]:
    """GSOD fields (strings) to SI columns; rows breaking a rule go to quarantine."""
    import pandas as pd

    reason = pd.Series(pd.NA, index=df.index, dtype="object")

    def reject(mask, why: str) -> None:
        mask = mask & reason.isna()
        reason[mask] = why

    num = {}
    for col in list(MEASURES) + list(COUNTS) + ["LATITUDE", "LONGITUDE", "ELEVATION"]:
        text = df[col].str.strip()
        num[col] = _numeric(text)
        reject(num[col].isna() & (text != ""), f"non-numeric {col}")
    station = df["STATION"].str.strip()
    reject(~station.str.match(_STATION_RE), "invalid station id")
    if "stem" in df:
        reject(station != df["stem"], "STATION does not match its file name")
    reject(df["DATE"] != day.isoformat(), "DATE is not the partition's day")
    frshtt = df["FRSHTT"].str.strip()
    reject(~frshtt.str.match(r"^[01]{6}$"), "invalid FRSHTT")

    si = {}
    for col, (name, (missing, factor, offset)) in MEASURES.items():
        v = num[col].mask(num[col] == missing)
        if col == "STP":
            v = v.mask(v < 200, v + 1000.0)  # "011.4" is 1011.4 mb: the thousands digit is cut off
        lo, hi = RANGES[col]
        reject(((v < lo) | (v > hi)).fillna(False), f"{col} out of range")
        si[name] = (v + offset) * factor
    for col in ("LATITUDE", "LONGITUDE"):
        lo, hi = RANGES[col]
        reject(((num[col] < lo) | (num[col] > hi)).fillna(False), f"{col} out of range")

    # PRCP flag I: nothing was reported, so 0.00 means "unknown", not "dry".
    si["prcp_mm"] = si["prcp_mm"].mask(df["PRCP_ATTRIBUTES"].str.strip() == "I")
    reject(station.duplicated(keep="first"), "duplicate station-day")

    out = pd.DataFrame(
        {
            "date": day.isoformat(),
            "station": station,
            "name": df["NAME"].str.strip(),
            "lat": num["LATITUDE"],
            "lon": num["LONGITUDE"],
            "elevation_m": num["ELEVATION"],
            **si,
            **{name: num[col].astype("Int16") for col, name in COUNTS.items()},
            "max_temp_derived": df["MAX_ATTRIBUTES"].str.strip() == "*",
            "min_temp_derived": df["MIN_ATTRIBUTES"].str.strip() == "*",
            "prcp_flag": df["PRCP_ATTRIBUTES"].str.strip(),
        }
    )
    digits = frshtt.where(frshtt.str.match(r"^[01]{6}$"), "000000")
    for i, name in enumerate(FRSHTT):
        out[name] = digits.str[i] == "1"
    out["rh_pct"] = relative_humidity(out["temp_c"], out["dewp_c"])
    bad = reason.notna()
    q = quarantine.from_frame(SOURCE, df[bad], reason[bad], COLUMNS)
    return out[~bad].reset_index(drop=True), q


#: Plain decimal numbers (and integers, at most 18 digits: no int64 overflow), which Arrow's cast
#: parses to exactly what ``pd.to_numeric`` gives.
_PLAIN_INTEGER = r"^[+-]?[0-9]{1,18}$"
_PLAIN_DECIMAL = r"^[+-]?[0-9]+\.[0-9]+$|^[+-]?[0-9]{1,18}$"


def _numeric(text: "pd.Series") -> "pd.Series":
    """``pd.to_numeric(text, errors="coerce")``: a column of plain decimal numbers (GSOD's
    "76.9", "-23.699", "9999.9", "24") is parsed by Arrow's cast, ten times faster, to the same
    correctly rounded doubles (and to int64 when every value is an integer, as ``to_numeric``
    does; tested bit for bit); a column with anything else (empty, malformed) by pandas."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.array(text)
    if len(values) and not values.null_count:
        for pattern, kind in ((_PLAIN_INTEGER, pa.int64()), (_PLAIN_DECIMAL, pa.float64())):
            if pc.all(pc.match_substring_regex(values, pattern)).as_py():
                return pd.Series(pc.cast(values, kind).to_numpy(), index=text.index)
    return pd.to_numeric(text, errors="coerce")


def relative_humidity(temp_c, dewp_c):
    """Relative humidity (%) from temperature and dew point (Magnus formula, Alduchov-Eskridge)."""
    import numpy as np

    a, b = 17.625, 243.04
    return 100.0 * np.exp(a * dewp_c / (b + dewp_c) - a * temp_c / (b + temp_c))
