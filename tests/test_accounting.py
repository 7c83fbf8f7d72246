"""Nothing lost: the exact repro of issue 10 (an unbalanced quote in one archive object must not
swallow the other locations' rows), the run report's per-object accounting, and the gate's
critical "every row read is accounted for" expectation."""
from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest

from include.catalog import AIR_QUALITY, MEASUREMENTS
from include.etl.pipeline import run_etl
from include.lake import Lake

DAY = dt.date(2015, 1, 10)
ARCHIVE = "openaq-data-archive/records/csv.gz"
REL = ARCHIVE + "/locationid={id}/year=2015/month=01/location-{id}-20150110.csv.gz"


def _day_raw(rb):
    for loc in (9000001, 9000002, 9000003, 9000004):
        rb.copy(REL.format(id=loc))
    for station in ("99900199999", "99900299999", "99900399999"):
        rb.copy(f"noaa-gsod-pds/2015/{station}.csv")


def _rows(lake: Lake, table: str):
    df = lake.read_partition(table, DAY)
    return df.sort_values(list(df.columns[:4])).reset_index(drop=True)


@pytest.fixture
def clean_and_broken(raw_builder, tmp_path):
    _day_raw(raw_builder)
    clean = Lake(str(tmp_path / "clean"))
    run_etl(DAY, clean, raw_builder.raw, with_features=False)
    path = raw_builder.root / REL.format(id=9000002)
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()) + b'9000002,90000021,"Dongsi,broken\n'))
    broken = Lake(str(tmp_path / "broken"))
    report = run_etl(DAY, broken, raw_builder.raw)
    return clean, broken, report, str(path)


def test_an_unbalanced_quote_only_costs_its_own_line(clean_and_broken):
    clean, broken, report, path = clean_and_broken
    for table in (AIR_QUALITY, MEASUREMENTS):
        before, after = _rows(clean, table), _rows(broken, table)
        assert len(after) == len(before)
        for loc in ("9000001", "9000003", "9000004"):
            assert after[after["location_id"] == loc].reset_index(drop=True).equals(
                before[before["location_id"] == loc].reset_index(drop=True))
    acc = report["sources"]["openaq-archive"]["accounting"]
    assert acc["rows_unaccounted"] == 0
    assert acc["lines_read"] == 457 == acc["rows_kept"] + acc["rows_quarantined"]
    (obj,) = acc["objects"]  # the damaged object is named, with its own counts
    assert obj == {"path": path, "lines": 145, "kept": 144, "quarantined": 1, "set_aside": 0, "unaccounted": 0}
    q = broken.read_partition("quarantine/openaq-archive", DAY)
    assert q["reason"].str.startswith("malformed line").all() and list(q["file"]) == [path]
    assert q["record"][0].strip() == '9000002,90000021,"Dongsi,broken'


def test_the_gate_passes_the_accounting_of_the_repro_and_fails_a_lost_row(clean_and_broken):
    from include.quality.gate import run_gate

    _, broken, _, _ = clean_and_broken
    result = run_gate(broken, DAY, raise_on_failure=False, data_docs=False)
    accounting = [f for f in result.findings if "accounted for" in f.why]
    assert accounting == []
    # A report that cannot account for a row fails the gate, critically.
    path = broken.path("_runs/etl", f"date={DAY}.json")
    report = json.loads(open(path).read())
    report["sources"]["openaq-archive"]["accounting"]["rows_unaccounted"] = 3
    broken.write_json(path, report)
    result = run_gate(broken, DAY, raise_on_failure=False, data_docs=False)
    (finding,) = [f for f in result.critical if "accounted for" in f.why]
    assert finding.column == "rows_unaccounted" and finding.examples == [3]


def test_failed_objects_carry_their_lines_and_fetch_days_balance(raw_builder, tmp_path):
    _day_raw(raw_builder)
    good = gzip.decompress((raw_builder.root / REL.format(id=9000003)).read_bytes())
    raw_builder.write(REL.format(id=9000003), gzip.compress(good)[:-40])  # truncated gzip
    raw_builder.write(REL.format(id=9000004), b"not gzip at all")
    report = run_etl(DAY, Lake(str(tmp_path / "lake")), raw_builder.raw, with_features=False)
    src = report["sources"]["openaq-archive"]
    failed = {f["path"].rsplit("/", 1)[-1]: f for f in src["failed_objects"]}
    assert set(failed) == {"location-9000003-20150110.csv.gz", "location-9000004-20150110.csv.gz"}
    assert 0 < failed["location-9000003-20150110.csv.gz"]["lines"] <= 144
    assert failed["location-9000004-20150110.csv.gz"]["lines"] is None  # nothing readable
    acc = src["accounting"]
    assert acc["objects_failed"] == 2 and acc["failed_objects_lines_unknown"] == 1
    assert acc["lines_read"] == 288 == acc["rows_kept"] and acc["rows_unaccounted"] == 0


def test_fetch_records_of_other_days_are_out_of_partition(raw_builder, tmp_path):
    raw_builder.copy("openaq-fetches/realtime-gzipped/2018-06-07")
    for day in (dt.date(2018, 6, 6), dt.date(2018, 6, 7), dt.date(2018, 6, 8)):
        acc = run_etl(day, Lake(str(tmp_path / str(day))), raw_builder.raw, with_features=False)[
            "sources"]["openaq-fetches"]["accounting"]
        assert acc["lines_read"] == 7444
        assert acc["lines_read"] == (acc["rows_kept"] + acc["rows_quarantined"] + acc["rows_ignored"]
                                     + acc["rows_out_of_partition"])
        assert acc["rows_unaccounted"] == 0 and acc["rows_out_of_partition"] > 0
