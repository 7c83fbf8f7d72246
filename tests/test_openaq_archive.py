"""OpenAQ archive csv.gz reader and daily statistics on real Beijing rows."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from pandas import testing as pd_testing

from include.etl import openaq_archive
from include.etl.daily import air_quality_daily

DAY = dt.date(2015, 1, 10)
REL = "openaq-data-archive/records/csv.gz/locationid={id}/year=2015/month=01/location-{id}-20150110.csv.gz"


def raw_rows(rb, location_id: int) -> list[dict]:
    return list(csv.DictReader(io.StringIO(rb.read_text(REL.format(id=location_id)))))


def test_reads_all_locations_of_the_day(sample_raw):
    result = openaq_archive.read_archive_day(sample_raw, DAY)
    assert result.failures == [] and result.quarantine.empty
    assert sorted(result.data["location_id"].unique()) == ["9000001", "9000002", "9000003", "9000004"]
    # 3 sites x 6 parameters x 24 h + the embassy's 24 h of PM2.5
    assert len(result.data) == 3 * 6 * 24 + 24
    # Hour-ending stamps: 01:00 .. next 00:00 are the periods starting 00:00 .. 23:00 of the day.
    starts = result.data["start_local"]
    assert starts.min() == dt.datetime(2015, 1, 10, 0) and starts.max() == dt.datetime(2015, 1, 10, 23)


def test_daily_statistics_and_aqi_against_an_independent_computation(raw_builder, sample_raw):
    rows = raw_rows(raw_builder, 9000001)
    by_param: dict[str, list[float]] = {}
    for r in rows:
        by_param.setdefault(r["parameter"], []).append(float(r["value"]))
    daily = air_quality_daily(openaq_archive.read_archive_day(sample_raw, DAY).data, DAY).set_index("location_id")
    site = daily.loc["9000001"]
    pm25 = sum(by_param["pm25"]) / len(by_param["pm25"])
    assert site["pm25_mean"] == pytest.approx(pm25)
    assert site["pm25_hours"] == 24
    # EPA: truncate to 0.1, interpolate in 125.5-225.4 -> 201-300 (2024 table), round.
    c = int(pm25 * 10) / 10
    expected = round((300 - 201) / (225.4 - 125.5) * (c - 125.5) + 201) if c >= 125.5 else None
    if expected is not None:
        assert site["aqi_pm25"] == expected
    # Gases arrive in ug/m3 and are converted at 25 C: ppb = ug/m3 x 24.45 / molar mass.
    assert site["no2_max1h"] == pytest.approx(max(by_param["no2"]) * 24.45 / 46.0055)
    assert site["so2_max1h"] == pytest.approx(max(by_param["so2"]) * 24.45 / 64.066)
    assert site["o3_max1h"] == pytest.approx(max(by_param["o3"]) * 24.45 / 48.0 / 1000)
    co = [v * 24.45 / 28.01 / 1000 for v in by_param["co"]]
    assert site["co_max8h"] == pytest.approx(max(sum(co[i:i + 8]) / 8 for i in range(17)))
    assert site["aqi"] == max(site[f"aqi_{p}"] for p in ("pm25", "pm10", "o3", "co", "so2", "no2"))
    assert site["dominant_pollutant"] == "pm25"
    assert site["city"] == "Beijing" and site["city_tz"] == "Asia/Shanghai"


def _with_rows(rb, extra: list[str], location_id: int = 9000002) -> None:
    rel = REL.format(id=location_id)
    text = rb.read_text(rel)
    rb.write(rel, text + "".join(line + "\n" for line in extra), gz=True)


def test_bad_rows_are_quarantined_with_a_reason(raw_builder):
    raw_builder.copy("openaq-data-archive/records/csv.gz/locationid=9000001")
    good = raw_rows(raw_builder, 9000002)[0]
    row = lambda **kw: ",".join(str({**good, **kw}[c]) for c in openaq_archive.COLUMNS)
    loc = "9000002,90000021,Dongsi-9000002"
    _with_rows(raw_builder, [
        row(parameter="pm10", units="furlongs", value="10.0"),                     # unknown unit
        row(parameter="pm25", datetime="2015-01-10T05:30:00+08:00", value="-999"),  # sentinel
        row(parameter="pm25", datetime="2015-01-10T05:45:00+08:00", value="-500"),  # far below noise
        row(parameter="pm25", datetime="2015-01-11T09:00:00+08:00", value="5.0"),   # another day
        row(parameter="pm25", datetime="yesterday", value="5.0"),                    # unparseable time
        row(parameter="pm25", datetime="2015-01-10T06:15:00+08:00", value="n/a"),   # non-numeric
        row(parameter="pm25", datetime="2015-01-10T06:30:00+08:00", value="5000"),  # implausible
        row(),                                                                        # duplicate
        f"{loc},2015-01-10T07:00:00+08:00,39.9",                                      # malformed line
        row(parameter="bc", units="µg/m³", value="3.0"),                             # not an AQI pollutant
        row(parameter="pm25", datetime="2015-01-10T06:45:00+08:00", value="-3.0"),  # noise: kept
    ])
    result = openaq_archive.read_archive_day(raw_builder.raw, DAY)
    reasons = result.quarantine["reason"].tolist()
    expected = [
        "malformed line: 5 fields, expected 9",
        "unknown unit furlongs for pm10",
        "missing-value sentinel -999",
        "negative value below the instrument-noise floor: -500",
        "timestamp outside the partition's day: local day 2015-01-11",
        "unparseable timestamp: yesterday",
        "missing or non-numeric value: n/a",
        "value above physical plausibility: 5000 µg/m³",
        "duplicate record (same value)",
    ]
    assert sorted(reasons) == sorted(expected)
    assert set(result.quarantine["file"]) == {str(raw_builder.root / REL.format(id=9000002))}
    assert result.ignored == {"bc": 1}
    kept = result.data[result.data["location_id"] == "9000002"]
    assert (kept["value"] == 0.0).sum() == 0 and (kept["value"] == -3.0).sum() == 1  # noise kept as is
    daily = air_quality_daily(result.data, DAY).set_index("location_id")
    assert daily.loc["9000002", "pm25_hours"] == 24  # the 06:45 value shares hour 6 with a real one


def test_unreadable_objects_fail_alone_and_are_named(raw_builder):
    raw_builder.copy("openaq-data-archive/records/csv.gz/locationid=9000001")
    raw_builder.copy("openaq-data-archive/records/csv.gz/locationid=9000002")
    good = (raw_builder.root / REL.format(id=9000002)).read_bytes()
    truncated = raw_builder.write(REL.format(id=9000002), good[: len(good) // 2])
    wrong = raw_builder.write(REL.format(id=9000003), "id;when;what\n1;2;3\n", gz=True)
    result = openaq_archive.read_archive_day(raw_builder.raw, DAY)
    assert set(result.data["location_id"]) == {"9000001"}
    errors = {f.path: f.error for f in result.failures}
    assert set(errors) == {str(truncated), str(wrong)}
    assert "unreadable gzip" in errors[str(truncated)] and str(truncated) in errors[str(truncated)]
    assert "wrong header" in errors[str(wrong)]


def test_incomplete_days_give_no_statistic(raw_builder):
    raw_builder.copy("openaq-data-archive/records/csv.gz/locationid=9000004")
    rel = REL.format(id=9000004)
    lines = raw_builder.read_text(rel).splitlines()
    raw_builder.write(rel, "\n".join(lines[:18]) + "\n", gz=True)  # header + 17 hours
    result = openaq_archive.read_archive_day(raw_builder.raw, DAY)
    (row,) = air_quality_daily(result.data, DAY).to_dict("records")
    assert row["pm25_hours"] == 17
    assert row["pm25_mean"] != row["pm25_mean"]  # NaN: fewer than 18 of 24 hours (EPA 75 %)
    assert row["aqi"] != row["aqi"]


def test_header_only_files_are_a_day_without_values(raw_builder):
    raw_builder.write(REL.format(id=9000001), openaq_archive.HEADER + "\n", gz=True)
    raw_builder.write(REL.format(id=9000002), openaq_archive.HEADER, gz=True)
    result = openaq_archive.read_archive_day(raw_builder.raw, DAY)
    assert result.failures == [] and result.data.empty and result.quarantine.empty and result.files == 2


def test_a_day_without_any_air_quality_still_writes_its_partitions(tmp_path, sample_raw):
    from include.etl.pipeline import run_etl
    from include.lake import Lake

    lake = Lake(str(tmp_path / "lake"))
    report = run_etl(dt.date(2010, 1, 5), lake, sample_raw)  # before the sample's monitors
    assert report["outputs"]["air_quality_daily"] == 0
    assert lake.read_partition("curated/air_quality_daily", dt.date(2010, 1, 5)).empty


def test_a_day_read_in_slices_is_the_day_read_whole(raw_builder):
    """Two processes share the archive in slices (``pipeline._slices``, each fetched, inflated and
    parsed by ``openaq_archive.parse_slice``). Slices of one and of two objects, with a damaged gzip,
    a wrong header, a malformed line, a foreign row and a missing object among them, give exactly
    the rows, quarantine, failures, counts and accounting of the one-slice read."""
    from include.etl.pipeline import _slices

    for loc in ("9000001", "9000002", "9000003", "9000004"):
        raw_builder.copy(f"openaq-data-archive/records/csv.gz/locationid={loc}")
    good = raw_rows(raw_builder, 9000002)[0]
    row = lambda **kw: ",".join(str({**good, **kw}[c]) for c in openaq_archive.COLUMNS)
    _with_rows(raw_builder, ["9000002,90000021,Dongsi-9000002,2015-01-10T07:00:00+08:00,39.9",  # malformed
                             row(location_id="9000001")])                                        # foreign
    broken = raw_builder.write(REL.format(id=9000005), b"\x1f\x8b\x08\x00broken")
    wrong = raw_builder.write(REL.format(id=9000006), "id;when;what\n1;2;3\n", gz=True)
    raw_builder.write(REL.format(id=9000007).replace("location-9000007-20150110", "location-9000007-20150111"),
                      openaq_archive.HEADER + "\n", gz=True)  # its D object is missing
    paths = openaq_archive.discover(raw_builder.raw, DAY)
    assert len(paths) == 7

    whole = openaq_archive.read_archive_day(raw_builder.raw, DAY, paths)
    assert {f.path for f in whole.failures} == {str(broken), str(wrong)}
    assert len(whole.quarantine) == 2 and whole.files == 4  # 9000001-4; 9000007 has no object for D
    for n in (7, 4, 2):
        slices = _slices(list(reversed(paths)) + paths[:2], n)  # any order, repeats: cat's order, once each
        assert sum(len(s) for s in slices) == 7 and len(slices) == n
        parsed = [openaq_archive.parse_slice(raw_builder.raw, s) for s in slices]
        parsed = __import__("pickle").loads(__import__("pickle").dumps(parsed))  # as the helper sends them
        parts = openaq_archive.read_archive_day(raw_builder.raw, DAY, paths, parsed=iter(parsed))
        pd_testing.assert_frame_equal(parts.data, whole.data)
        pd_testing.assert_frame_equal(parts.quarantine, whole.quarantine)
        assert parts.failures == whole.failures and parts.files == whole.files and parts.ignored == whole.ignored
        assert parts.accounting_report() == whole.accounting_report()
