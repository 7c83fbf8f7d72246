"""NOAA GSOD S3 CSV reader: real rows, missing codes, STP's cut-off digit, SI units, bad lines."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from include.etl import gsod
from tests.conftest import FIXTURES

EXCERPT = (FIXTURES / "real" / "gsod_s3_format_excerpt_4rows.csv").read_text()
HEADER, *ROWS = EXCERPT.splitlines()


def f_to_c(f: float) -> float:
    return (f - 32) * 5 / 9


def write_station_files(rb, year: str, rows: list[str]) -> None:
    by_station: dict[str, list[str]] = {}
    for row in rows:
        by_station.setdefault(row.split(",")[0].strip('"'), []).append(row)
    for station, lines in by_station.items():
        rb.write(f"noaa-gsod-pds/{year}/{station}.csv", "\n".join([HEADER, *lines]) + "\n")


def test_real_s3_rows_are_parsed_to_si_units(raw_builder):
    write_station_files(raw_builder, "2025", ROWS)
    result = gsod.read_gsod_day(raw_builder.raw, dt.date(2025, 1, 1))
    assert result.failures == [] and result.quarantine.empty
    (row,) = result.data.to_dict("records")
    assert row["station"] == "A5125600451"  # 11 characters, letters allowed
    assert row["temp_c"] == pytest.approx(f_to_c(34.8))
    assert row["dewp_c"] == pytest.approx(f_to_c(22.6))
    assert math.isnan(row["slp_hpa"])  # 9999.9 = missing
    assert row["stp_hpa"] == pytest.approx(976.8)
    assert row["visib_km"] == pytest.approx(9.8 * 1.609344)
    assert row["wdsp_ms"] == pytest.approx(6.3 * 0.514444)
    assert row["gust_ms"] == pytest.approx(18.1 * 0.514444)
    assert row["max_temp_c"] == pytest.approx(f_to_c(42.8)) and row["max_temp_derived"]
    assert math.isnan(row["prcp_mm"])  # 0.00 with flag I: nothing was reported, not "dry"
    assert row["prcp_flag"] == "I"
    assert row["temp_count"] == 20 and row["slp_count"] == 0
    assert row["lat"] == pytest.approx(36.6985) and row["elevation_m"] == pytest.approx(411.2)
    assert 0 < row["rh_pct"] < 100


def test_flags_and_precipitation_of_a_rain_day(raw_builder):
    write_station_files(raw_builder, "2025", ROWS)
    (row,) = gsod.read_gsod_day(raw_builder.raw, dt.date(2025, 8, 23)).data.to_dict("records")
    assert row["station"] == "54511099999"
    assert math.isnan(row["stp_hpa"])  # 999.9 is STP's missing code
    assert math.isnan(row["gust_ms"])
    assert row["prcp_mm"] == pytest.approx(0.15 * 25.4)
    assert row["rain"] and not row["fog"] and not row["snow"]
    assert not row["max_temp_derived"] and row["min_temp_derived"]


def test_stp_thousands_digit_is_restored(sample_raw):
    # Sample row: "99900199999","2014-01-01",... STP "011.4" -> 1011.4 mb
    data = gsod.read_gsod_day(sample_raw, dt.date(2014, 1, 1)).data.set_index("station")
    assert data.loc["99900199999", "stp_hpa"] == pytest.approx(1011.4)
    assert data.loc["99900199999", "temp_c"] == pytest.approx(f_to_c(38.1))
    assert len(data) == 3  # three stations report on 2014-01-01


def test_only_the_days_line_is_used_from_a_year_file(sample_raw):
    days = [dt.date(2014, 1, 1), dt.date(2014, 7, 15), dt.date(2014, 12, 31)]
    for day in days:
        data = gsod.read_gsod_day(sample_raw, day).data
        assert set(data["date"]) == {day.isoformat()}
        assert data["station"].is_unique


def test_bad_lines_are_quarantined_with_reasons_and_good_ones_kept(raw_builder):
    good = ROWS[0]
    fields = good.split('","')
    non_numeric = good.replace('"  34.8"', '"  3x.8"').replace("A5125600451", "A5125600452")
    short = '"A5125600453","2025-01-01","36.6","-93.4"'
    bad_id = good.replace("A5125600451", "A51256")
    hot = good.replace('"  34.8"', '" 234.8"').replace("A5125600451", "A5125600454")
    assert len(fields) == 28
    write_station_files(raw_builder, "2025", [good, good])  # duplicate station-day
    for name, line in [("A5125600452", non_numeric), ("A5125600453", short), ("A5125600455", bad_id),
                       ("A5125600454", hot)]:
        raw_builder.write(f"noaa-gsod-pds/2025/{name}.csv", HEADER + "\n" + line + "\n")
    result = gsod.read_gsod_day(raw_builder.raw, dt.date(2025, 1, 1))
    assert list(result.data["station"]) == ["A5125600451"]
    reasons = sorted(result.quarantine["reason"])
    assert reasons == sorted([
        "duplicate station-day", "non-numeric TEMP", "malformed line: 4 fields, expected 28",
        "invalid station id", "TEMP out of range",
    ])
    malformed = result.quarantine[result.quarantine["reason"].str.startswith("malformed")].iloc[0]
    assert malformed["record"] == short and malformed["file"].endswith("A5125600453.csv")


def test_a_file_with_a_wrong_header_fails_alone(raw_builder):
    write_station_files(raw_builder, "2025", ROWS[:1])
    broken = raw_builder.write("noaa-gsod-pds/2025/72503394728.csv", "STATION;DATE;TEMP\n1;2;3\n")
    result = gsod.read_gsod_day(raw_builder.raw, dt.date(2025, 1, 1))
    assert len(result.data) == 1
    assert len(result.failures) == 1
    assert result.failures[0].path.endswith("72503394728.csv")
    assert "wrong header" in result.failures[0].error and str(broken.name) in result.failures[0].error


# -- reading only the ends of a long current-year file --------------------------------------------
SAMPLE_YEAR_FILES = [f"noaa-gsod-pds/2014/{s}.csv" for s in ("99900199999", "99900299999", "99900399999")]


def _current_year_files(raw_builder, last: dt.date, extra: dict[str, list[str]] | None = None) -> None:
    """The sample's 2014 station files as they stand on ``last`` (Jan 1 .. last), plus ``extra``
    lines appended per station."""
    for rel in SAMPLE_YEAR_FILES:
        header, *lines = raw_builder.read_text(rel).splitlines()
        lines = [ln for ln in lines if ln.split(",")[1].strip('"') <= last.isoformat()]
        lines += (extra or {}).get(rel, [])
        raw_builder.write(rel, "\n".join([header, *lines]) + "\n")


def _whole_file_read(raw, day):
    """The reader as it was before ranged reads: every file read whole."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(raw), "ends", lambda self, paths, head, tail: None)
        return gsod.read_gsod_day(raw, day)


def _same_result(a, b) -> None:
    import pandas as pd

    pd.testing.assert_frame_equal(a.data, b.data, check_exact=True)
    pd.testing.assert_frame_equal(a.quarantine, b.quarantine, check_exact=True)
    assert [f.as_dict() for f in a.failures] == [f.as_dict() for f in b.failures]
    assert a.files == b.files and a.accounting == b.accounting


def test_the_daily_run_reads_only_the_ends_of_long_station_files(raw_builder, monkeypatch):
    day = dt.date(2014, 6, 15)
    _current_year_files(raw_builder, day)
    seen = []
    real = gsod.day_part
    monkeypatch.setattr(gsod, "day_part", lambda head, tail, d: seen.append(real(head, tail, d)) or seen[-1])
    got = gsod.read_gsod_day(raw_builder.raw, day)
    assert len(seen) == 3 and all(part is not None for part in seen)  # all three from their tails
    assert all(len(part) < 10_000 for part in seen)
    assert sorted(got.data["station"]) == ["99900199999", "99900299999", "99900399999"]
    _same_result(got, _whole_file_read(raw_builder.raw, day))
    # The days before D (reprocess_days) are in the tail too; days far back are not: whole files.
    for back in (1, 7, 60):
        seen.clear()
        earlier = day - dt.timedelta(days=back)
        got = gsod.read_gsod_day(raw_builder.raw, earlier)
        assert all(part is None for part in seen) == (back == 60)
        assert set(got.data["date"]) == {earlier.isoformat()}
        _same_result(got, _whole_file_read(raw_builder.raw, earlier))


def test_ranged_reads_find_duplicates_and_damage_in_the_tail_and_fall_back_on_a_bad_head(raw_builder):
    day = dt.date(2014, 6, 15)
    rel = SAMPLE_YEAR_FILES[0]
    last = [ln for ln in raw_builder.read_text(rel).splitlines() if f'"{day.isoformat()}"' in ln][0]
    _current_year_files(raw_builder, day, {rel: [last, last[:40]]})  # a duplicate day, a cut line
    got = gsod.read_gsod_day(raw_builder.raw, day)
    assert sorted(got.quarantine["reason"]) == ["duplicate station-day", "malformed line: 4 fields, expected 28"]
    _same_result(got, _whole_file_read(raw_builder.raw, day))
    # A long file with a wrong header fails whole, its lines of D counted over the whole file.
    broken = SAMPLE_YEAR_FILES[1]
    raw_builder.write(broken, "STATION;DATE\n" + "\n".join(raw_builder.read_text(broken).splitlines()[1:]) + "\n")
    got = gsod.read_gsod_day(raw_builder.raw, day)
    assert [f.path.endswith(broken) for f in got.failures] == [True] and got.failures[0].lines == 1
    _same_result(got, _whole_file_read(raw_builder.raw, day))


def test_day_part_needs_the_header_and_a_tail_that_starts_before_the_day():
    day = dt.date(2025, 1, 2)
    head = (HEADER + "\n" + ROWS[0][:200]).encode()
    before = ROWS[0].replace("2025-01-01", "2024-12-31")
    assert gsod.day_part(head, f"xx\n{before}\n{ROWS[0]}\n".encode(), day) == f"{HEADER}\n{before}\n{ROWS[0]}\n".encode()
    assert gsod.day_part(head, f"xx\n{ROWS[0].replace('2025-01-01', '2025-01-02')}\n".encode(), day) is None
    assert gsod.day_part(head, f"{before}\n".encode(), day) is None  # no complete line after the first
    assert gsod.day_part(HEADER.encode()[:100], f"xx\n{before}\n".encode(), day) is None  # no header line
    assert gsod.day_part(b"STATION\n", f"xx\n{before}\n".encode(), day) is None


def test_gsod_numbers_parse_as_pandas_parses_them():
    """``gsod._numeric`` (Arrow's cast for columns of plain decimals) against ``pd.to_numeric(...,
    errors="coerce")``: the same doubles bit for bit on random GSOD-like decimals, int64 for a
    column of integers, and pandas itself for a column with anything else (empty, malformed)."""
    import numpy as np

    from include.etl.gsod import _numeric

    rng = np.random.default_rng(9)
    ints, fracs = rng.integers(-10**6, 10**6, 60_000), rng.integers(0, 1000, 60_000)
    decimals = pd.Series([f"{i}.{f:0{d}d}" for i, f, d in zip(ints, fracs % 10**3, rng.integers(1, 4, 60_000))]
                         + ["9999.9", "999.9", "99.99", "0.00", "-0.0", "+1.5"], dtype="str")
    got, expected = _numeric(decimals), pd.to_numeric(decimals, errors="coerce")
    assert got.dtype == expected.dtype == "float64"
    np.testing.assert_array_equal(got.to_numpy().view("i8"), expected.to_numpy().view("i8"))
    counts = pd.Series(["24", "0", "-3", "7"], dtype="str")
    pd.testing.assert_series_equal(_numeric(counts), pd.to_numeric(counts, errors="coerce"))
    for odd in (["1.5", ""], ["1.5", "abc"], ["1e3", "2"], ["12345678901234567890", "1"], ["nan", "1.0"], []):
        column = pd.Series(odd, dtype="str")
        pd.testing.assert_series_equal(_numeric(column), pd.to_numeric(column, errors="coerce"), check_index_type=False)
