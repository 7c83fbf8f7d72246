"""Fuzz: damage one to three real objects of a small sample day and check that nothing else moves.

Two scenarios from the in-repo sample: 2014-03-30 (three OpenAQ archive csv.gz objects, three
GSOD station files, the real Beijing SPARTAN gzipped fetch object) and 2019-01-10 (plain NDJSON
CPCB objects in folders 01-09..01-11). A seeded ``random.Random`` picks the objects and the damage:
byte flips, truncation, unbalanced quotes, NUL bytes, a UTF-8 BOM, CRLF line ends, invalid UTF-8,
an extra or a missing column, a 10 MB line, an empty or whitespace-only object, a gzip member
that is not gzip. Every case asserts:

* the untouched objects' rows (measurements, daily AQI rows of their locations, weather) are
  identical to a clean read's;
* each damaged object is named as failed, or its bad rows are quarantined with a reason, or it
  still reads to exactly what it holds (CRLF and a BOM must read as if absent);
* the accounting balances per object and per source (no unaccounted line).

``make test`` runs ``AQICAST_FUZZ_CASES`` (default 60) cases, ``make fuzz`` 5,000. A failure
prints its seed: ``AQICAST_FUZZ_SEED=<seed> AQICAST_FUZZ_CASES=1`` replays it.
"""
from __future__ import annotations

import datetime as dt
import gzip
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from include.etl import gsod, openaq_archive, openaq_fetches
from include.etl.daily import air_quality_daily
from include.etl.rawio import RawRoot
from tests.conftest import SAMPLE_RAW

# pyarrow cannot hand a malformed line that is not UTF-8 to the invalid-row handler and says so on
# stderr; the batch then fails its line count and is split (the case this file checks).
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

CASES = int(os.getenv("AQICAST_FUZZ_CASES", "60"))
FIRST_SEED = int(os.getenv("AQICAST_FUZZ_SEED", "1000"))
CHUNKS = 8
TEN_MB = 10 * 1024 * 1024

SCENARIOS = {
    dt.date(2014, 3, 30): [
        *[f"openaq-data-archive/records/csv.gz/locationid={i}/year=2014/month=03/location-{i}-20140330.csv.gz"
          for i in (9000001, 9000002, 9000003)],
        *[f"noaa-gsod-pds/2014/{s}.csv" for s in ("99900199999", "99900299999", "99900399999")],
        "openaq-fetches/realtime-gzipped/2014-03-30/realtime_2014-03-30_beijing_spartan.ndjson.gz",
    ],
    dt.date(2019, 1, 10): [f"openaq-fetches/realtime/2019-01-{d:02d}/cpcb_city_day_2019-01-{d:02d}.ndjson"
                           for d in (9, 10, 11)],
}
READERS = {"archive": openaq_archive.read_archive_day, "gsod": gsod.read_gsod_day,
           "fetches": openaq_fetches.read_fetches_day}


def reader_of(rel: str) -> str:
    return "archive" if rel.startswith("openaq-data-archive") else "gsod" if rel.startswith("noaa") else "fetches"


# ------------------------------------------------------------------------------------------------
# Damage (on the inflated text of a .gz object, re-compressed, unless the damage is to the gzip)
# ------------------------------------------------------------------------------------------------
def _pos(rng, data: bytes) -> int:
    return rng.randrange(len(data) + 1)


def _line_starts(data: bytes) -> list[int]:
    return [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A and i + 1 < len(data)]


def _edit_line(rng, data: bytes, edit) -> bytes:
    lines = data.split(b"\n")
    k = rng.randrange(1, max(2, len(lines) - 1)) if len(lines) > 2 else 0
    lines[k] = edit(lines[k])
    return b"\n".join(lines)


DAMAGES = {
    "byte_flips": lambda rng, d: bytes(b if rng.random() > 3 / max(len(d), 1) else rng.randrange(256) for b in d)
    if len(d) < 4096 else _flip_some(rng, d),
    "truncate": lambda rng, d: d[:_pos(rng, d)],
    "unbalanced_quote": lambda rng, d: (d[:(p := _pos(rng, d))] + b'"' + d[p:]) if rng.random() < 0.5
    else d + b'9000002,90000021,"Dongsi,broken\n',
    "nul_bytes": lambda rng, d: (d[:(p := _pos(rng, d))] + b"\x00" * rng.randint(1, 3) + d[p:]),
    "bom": lambda rng, d: b"\xef\xbb\xbf" + d,
    "crlf": lambda rng, d: d.replace(b"\n", b"\r\n"),
    "invalid_utf8": lambda rng, d: (d[:(p := _pos(rng, d))] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xfe\xff"]) + d[p:]),
    "extra_column": lambda rng, d: _edit_line(rng, d, lambda line: line + b',"x"'),
    "missing_column": lambda rng, d: _edit_line(rng, d, lambda line: line.rsplit(b",", 1)[0]),
    "ten_mb_line": lambda rng, d: (lambda s: d[:s] + rng.choice([b"x", b"1,", b'"']) * (TEN_MB // 2) + b"\n" + d[s:])(
        rng.choice(_line_starts(d))),
    "empty": lambda rng, d: b"",
    "whitespace": lambda rng, d: rng.choice([b" ", b"\n\n", b" \t\r\n  \n"]),
}
GZIP_DAMAGES = {
    "not_gzip": lambda rng, z: rng.choice([b"plain text, not gzip\n", bytes(rng.randrange(256) for _ in range(64))]),
    "gzip_byte_flip": lambda rng, z: _flip_some(rng, z, start=10),
}
#: How often each damage is drawn (the 10 MB line is slow to build and parse: rarer).
WEIGHTS = {**{k: 10 for k in DAMAGES}, "ten_mb_line": 1, **{k: 6 for k in GZIP_DAMAGES}}
TRANSPARENT = {"bom", "crlf"}


def _flip_some(rng, data: bytes, start: int = 0) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if len(out) > start:
            i = rng.randrange(start, len(out))
            out[i] = (out[i] + rng.randrange(1, 256)) % 256
    return bytes(out)


def damage(rng: random.Random, rel: str, raw: bytes) -> tuple[str, bytes]:
    names = [k for k in WEIGHTS if rel.endswith(".gz") or k not in GZIP_DAMAGES]
    kind = rng.choices(names, weights=[WEIGHTS[k] for k in names])[0]
    if kind in GZIP_DAMAGES:
        return kind, GZIP_DAMAGES[kind](rng, raw)
    text = gzip.decompress(raw) if rel.endswith(".gz") else raw
    text = DAMAGES[kind](rng, text)
    return kind, gzip.compress(text, mtime=0) if rel.endswith(".gz") else text


# ------------------------------------------------------------------------------------------------
# Reading a day and comparing
# ------------------------------------------------------------------------------------------------
@dataclass
class Day:
    results: dict
    measurements: pd.DataFrame
    daily: pd.DataFrame


def read_day(raw: RawRoot, day: dt.date, clean: Day | None = None, only: set[str] | None = None) -> Day:
    """Read the day; with ``clean`` and ``only``, readers of untouched sources reuse the clean
    results (a reader only ever reads its own source's objects), which keeps cases fast."""
    results = {name: read(raw, day) if clean is None or name in only else clean.results[name]
               for name, read in READERS.items()}
    frames = [results[k].data for k in ("archive", "fetches") if len(results[k].data)]
    m = pd.concat(frames, ignore_index=True) if frames else results["archive"].data
    if clean is not None and only == {"gsod"}:
        return Day(results, m, clean.daily)
    return Day(results, m, air_quality_daily(m, day) if len(m) else pd.DataFrame())


def rows_of(df: pd.DataFrame, mask) -> pd.DataFrame:
    out = df[mask].drop(columns=[c for c in ("file",) if c in df]).astype("str")
    return out.sort_values(list(out.columns)).reset_index(drop=True)


def check_case(root: Path, day: dt.date, clean: Day, seed: int) -> list[str]:
    rng = random.Random(seed)
    objects = SCENARIOS[day]
    chosen = rng.sample(objects, rng.choice([1, 1, 1, 2, 3]))
    kinds = {}
    for rel in chosen:
        kinds[rel], data = damage(rng, rel, (SAMPLE_RAW / rel).read_bytes())
        (root / rel).write_bytes(data)
    try:
        got = read_day(RawRoot(str(root)), day, clean, {reader_of(rel) for rel in chosen})
    finally:
        for rel in chosen:
            shutil.copyfile(SAMPLE_RAW / rel, root / rel)
    where = f"seed {seed}, {day}: {kinds}"
    path = {rel: str(root / rel) for rel in objects}
    damaged = {path[rel] for rel in chosen}

    # Fetch records of different objects can be duplicates of each other (same location, parameter
    # and period): one is kept, the other quarantined as a duplicate. That is the duplicate rule
    # working across objects by design, so such rows are exempt from "untouched means identical".
    dup = got.results["fetches"].quarantine
    dup_files = set(dup[dup["reason"].str.startswith("duplicate")]["file"])
    for rel in objects:
        p, name = path[rel], reader_of(rel)
        if p in damaged:
            continue
        if name == "gsod":
            station = Path(rel).stem
            a, b = clean.results["gsod"].data, got.results["gsod"].data
            assert rows_of(a, a["station"] == station).equals(rows_of(b, b["station"] == station)), where
            continue
        if name == "fetches" and dup_files - {p}:
            continue
        a, b = clean.results[name].data, got.results[name].data
        assert rows_of(a, a["file"] == p).equals(rows_of(b, b["file"] == p)), f"{where}: rows of {rel} changed"
        # The daily rows of locations fed only by untouched objects.
        if name == "archive" and len(clean.daily):
            loc = rel.split("locationid=")[1].split("/")[0]
            assert rows_of(clean.daily, clean.daily["location_id"] == loc).equals(
                rows_of(got.daily, got.daily["location_id"] == loc)), f"{where}: daily row of {loc} changed"

    for name, result in got.results.items():
        report = result.accounting_report(max_objects=10_000)
        assert report["rows_unaccounted"] == 0, f"{where}: {name} {report}"
        failed = {f.path for f in result.failures}
        listed = {o["path"]: o for o in report["objects"]}
        assert result.quarantine["reason"].str.len().gt(0).all()
        for rel in chosen:
            if reader_of(rel) != name or path[rel] not in result.accounting.lines and path[rel] not in failed:
                continue
            p = path[rel]
            if p in failed:
                assert any(f.path == p and p in f.error for f in result.failures), where
                continue
            if kinds[rel] in TRANSPARENT:
                assert p not in listed, f"{where}: {rel} should read as if undamaged: {listed.get(p)}"
                before = clean.results[name]
                mask_a = before.data["file"] == p if "file" in before.data else before.data["station"] == Path(rel).stem
                mask_b = result.data["file"] == p if "file" in result.data else result.data["station"] == Path(rel).stem
                assert rows_of(before.data, mask_a).equals(rows_of(result.data, mask_b)), f"{where}: {rel} changed"
    return list(kinds.values())


@pytest.fixture(scope="module")
def scenario_roots(tmp_path_factory):
    out = {}
    for day, objects in SCENARIOS.items():
        root = tmp_path_factory.mktemp(f"fuzz-{day}")
        for rel in objects:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(SAMPLE_RAW / rel, root / rel)
        out[day] = (root, read_day(RawRoot(str(root)), day))
    return out


def test_the_clean_scenarios_read_everything(scenario_roots):
    for day, (_, clean) in scenario_roots.items():
        for name, result in clean.results.items():
            assert result.failures == [] and result.quarantine.empty, (day, name)
            assert result.accounting_report()["rows_unaccounted"] == 0
        assert len(clean.measurements) > 40


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_damaged_objects_only_affect_themselves(scenario_roots, chunk):
    seeds = [FIRST_SEED + i for i in range(CASES) if i % CHUNKS == chunk]
    seen: dict[str, int] = {}
    for seed in seeds:
        day = list(SCENARIOS)[seed % len(SCENARIOS)]
        root, clean = scenario_roots[day]
        for kind in check_case(root, day, clean, seed):
            seen[kind] = seen.get(kind, 0) + 1
    print(f"chunk {chunk}: {len(seeds)} cases, damages {dict(sorted(seen.items()))}")
