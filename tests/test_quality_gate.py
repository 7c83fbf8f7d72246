"""The Great Expectations quality gate: a clean day passes; each class of bad data fails (critical)
or warns with a message that says which expectation, how many rows and example values."""
from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pytest

from include.catalog import FEATURES
from include.catalog import AIR_QUALITY, MEASUREMENTS
from include.lake import Lake
from include.quality.gate import QualityGateFailed, run_gate

BEIJING_DAYS = [dt.date(2015, 1, d) for d in range(8, 12)]
INDIA_DAYS = [dt.date(2019, 1, d) for d in range(8, 12)]
DAY, INDIA_DAY = dt.date(2015, 1, 10), dt.date(2019, 1, 10)


@pytest.fixture(scope="module")
def clean_lake(tmp_path_factory, lake_cache) -> Lake:
    from tests.sample_lakes import ingest_sample

    return ingest_sample(tmp_path_factory.mktemp("gate") / "lake", (BEIJING_DAYS[0], BEIJING_DAYS[-1]),
                         (INDIA_DAYS[0], INDIA_DAYS[-1]), cache=lake_cache)


@pytest.fixture
def lake(clean_lake, tmp_path) -> Lake:
    dst = tmp_path / "lake"
    shutil.copytree(clean_lake.root, dst)
    return Lake(str(dst))


def edit(lake: Lake, table: str, day: dt.date, fn) -> None:
    lake.write_partition(table, day, fn(lake.read_partition(table, day)))


def gate(lake: Lake, day: dt.date = DAY):
    return run_gate(lake, day, raise_on_failure=False, data_docs=False)


def test_a_clean_day_passes_and_writes_results_and_docs(lake):
    result = run_gate(lake, DAY)  # raises on a critical failure
    assert result.success and result.critical == [] and result.evaluated > 50
    saved = json.loads((lake_path := lake.path("quality", f"date={DAY}", "results.json")) and
                       open(lake_path).read())
    assert saved["success"] is True
    assert set(saved["validations"]) == {"measurements", "measurement_ranges", "air_quality", "quarantine", "cities",
                                         "features", "features_previous_day"}
    assert open(lake.path("quality", "docs", "index.html")).read().lower().count("<html") >= 1
    # Which expectations saw every row: all of them (nothing is sampled), per validation.
    measured = len(lake.read_partition(MEASUREMENTS, DAY))
    assert saved["coverage"]["measurements"]["rows_validated"] == measured
    assert saved["coverage"]["measurement_ranges"]["rows_validated"] == measured
    assert not any(c["sampled"] for c in saved["coverage"].values())
    assert sum(c["expectations"] for c in saved["coverage"].values()) == result.evaluated


def test_out_of_range_aqi_fails_with_count_and_examples(lake):
    edit(lake, AIR_QUALITY, DAY, lambda df: df.assign(aqi=[612.0, 700.0] + list(df["aqi"][2:])))
    result = gate(lake)
    assert not result.success
    (finding,) = [f for f in result.critical if f.column == "aqi"]
    assert finding.expectation == "expect_column_values_to_be_between"
    assert finding.unexpected == 2 and finding.total == 4 and sorted(finding.examples) == [612.0, 700.0]
    assert "2 of 4 rows (50.0%) unexpected, e.g. [612.0, 700.0]" in result.summary()


def test_duplicated_key_fails(lake):
    edit(lake, AIR_QUALITY, DAY, lambda df: pd.concat([df, df.iloc[:1]], ignore_index=True))
    result = gate(lake)
    assert any(f.expectation == "expect_compound_columns_to_be_unique" and f.column == "location_id,date"
               and f.unexpected == 2 for f in result.critical)


def test_wrong_unit_fails(lake):
    edit(lake, MEASUREMENTS, DAY, lambda df: df.assign(unit=df["unit"].where(df["parameter"] != "pm25", "ppm")))
    result = gate(lake)
    (finding,) = [f for f in result.critical if f.column == "parameter_unit"]
    assert finding.expectation == "expect_column_values_to_be_in_set" and "pm25 ppm" in finding.examples


def test_value_out_of_range_for_its_pollutant_fails(lake):
    def bad(df):
        df.loc[df.index[df["parameter"] == "co"][:3], "value"] = 250.0  # ppm: ug/m3 mistaken for ppm
        return df
    edit(lake, MEASUREMENTS, DAY, bad)
    result = gate(lake)
    (finding,) = [f for f in result.critical if f.column and f.column.startswith("value where") and "co" in f.column]
    assert finding.unexpected == 3 and finding.examples == [250.0, 250.0, 250.0]
    co_rows = int((lake.read_partition(MEASUREMENTS, DAY)["parameter"] == "co").sum())
    assert finding.total == co_rows and f"3 of {co_rows} rows" in finding.line()
    assert finding.table == MEASUREMENTS and finding.column == "value where parameter == 'co'"


def test_missing_column_fails(lake):
    edit(lake, AIR_QUALITY, DAY, lambda df: df.drop(columns=["aqi_category"]))
    result = gate(lake)
    assert any(f.expectation == "expect_table_columns_to_match_set" and f.column == "aqi_category" for f in result.critical)


def test_empty_and_missing_partitions_fail(lake):
    edit(lake, AIR_QUALITY, DAY, lambda df: df.iloc[:0])
    result = gate(lake)
    assert any(f.expectation == "expect_table_row_count_to_be_between" and f.table == AIR_QUALITY
               for f in result.critical)
    shutil.rmtree(lake.partition_dir(MEASUREMENTS, DAY))
    result = gate(lake)
    assert any(f.expectation == "partition_exists" and f.table == MEASUREMENTS for f in result.critical)
    with pytest.raises(QualityGateFailed, match="FAILED for 2015-01-10"):
        run_gate(lake, DAY, data_docs=False)


def test_sudden_drop_in_row_count_fails_and_small_change_warns(lake):
    full = lake.read_partition(FEATURES, INDIA_DAY)
    assert len(full) >= 10
    baseline = gate(lake, INDIA_DAY)
    assert baseline.success
    # India has no GSOD station in the sample: weather coverage is a warning, and warnings never block.
    assert any("weather coverage" in f.why for f in baseline.warnings)

    lake.write_partition(FEATURES, INDIA_DAY, full.iloc[: int(len(full) * 0.75)])
    warned = gate(lake, INDIA_DAY)
    assert warned.success and any("row count changed" in f.why for f in warned.warnings)

    lake.write_partition(FEATURES, INDIA_DAY, full.iloc[:5])
    failed = gate(lake, INDIA_DAY)
    assert any("row count dropped" in f.why for f in failed.critical)


def test_missing_target_where_the_next_day_is_known_fails(lake):
    prev = DAY - dt.timedelta(days=1)
    edit(lake, FEATURES, prev, lambda df: df.assign(target_aqi=float("nan")))
    result = gate(lake)
    assert any(f.suite == "features_previous_day" and f.column == "target_aqi" for f in result.critical)


def test_high_quarantine_share_fails(lake):
    path = lake.path("_runs/etl", f"date={DAY}.json")
    report = json.loads(open(path).read())
    q = lake.read_partition("quarantine/openaq-archive", DAY)
    bad = pd.DataFrame({"source": "openaq-archive", "file": "x", "record": "{}", "reason": "unknown unit"}, index=range(200))
    lake.write_partition("quarantine/openaq-archive", DAY, pd.concat([q, bad], ignore_index=True))
    result = gate(lake)
    assert report["sources"]["openaq-archive"]["rows_kept"] == 456
    assert any(f.suite == "quarantine" and f.severity == "critical" for f in result.critical)
    assert "rows rejected" in result.summary()


def test_the_etl_and_the_gate_share_one_range_rule(raw_builder, tmp_path):
    """Small negatives the ETL keeps as instrument noise pass the gate (they used to fail it: the
    two rule sets disagreed, and real OpenAQ data has such values every day); a value below the
    noise floor is quarantined by the ETL and, if it reached curated anyway, fails the gate."""
    from include.etl.measurements import plausible_range
    from include.etl.pipeline import run_etl

    rel = "openaq-data-archive/records/csv.gz/locationid=9000001/year=2015/month=01/location-9000001-20150110.csv.gz"
    lines = raw_builder.read_text(rel).splitlines()
    no2 = [i for i, line in enumerate(lines) if ",no2," in line]
    for i, value in zip(no2, ["-5.0", "-7.5", "-60.0"]):  # ug/m3: -2.7 and -4.0 ppb are noise; -31.9 ppb is not
        lines[i] = lines[i].rsplit(",", 1)[0] + "," + value
    raw_builder.write(rel, "\n".join(lines) + "\n", gz=True)
    lake = Lake(str(tmp_path / "lake"))
    run_etl(DAY, lake, raw_builder.raw)

    kept = lake.read_partition(MEASUREMENTS, DAY)
    negatives = kept[(kept["parameter"] == "no2") & (kept["value"] < 0)]["value"].round(1).tolist()
    assert sorted(negatives) == [-4.0, -2.7]
    quarantined = lake.read_partition("quarantine/openaq-archive", DAY)
    assert quarantined["reason"].str.contains("negative value below the instrument-noise floor: -60.0").any()
    low, high = plausible_range("no2")
    assert (low, high) == (-20.0, 3000.0)
    assert not [f for f in gate(lake).critical if f.table == MEASUREMENTS]

    edit(lake, MEASUREMENTS, DAY, lambda df: df.assign(value=df["value"].where(df["parameter"] != "no2", low - 1.0)))
    (finding,) = [f for f in gate(lake).critical if f.table == MEASUREMENTS]
    assert "no2" in finding.line() and "noise floor -20" in finding.why


def test_the_run_report_counts_the_city_rule_and_the_gate_warns_on_a_jump(lake):
    from include.etl.cities import coverage

    report = lake.read_json(lake.path("_runs/etl", f"date={DAY}.json"))
    cities = report["cities"]
    assert cities["locations"] == len(lake.read_partition(AIR_QUALITY, DAY)) == cities["with_city"] == 4
    assert cities["share_without_city"] == 0.0
    assert gate(lake).success and not [f for f in gate(lake).warnings if f.suite == "cities"]

    # Two monitors lose their city: one has no coordinates (and its name matches nothing), one is at sea.
    aq = lake.read_partition(AIR_QUALITY, DAY)
    aq.loc[0, ["lat", "lon"]] = None
    aq.loc[0:1, ["city_id", "city"]] = None
    counted = coverage(aq)
    assert counted["without_city"] == {"no_coordinates_no_name_match": 1, "outside_every_catchment": 1}
    lake.write_json(lake.path("_runs/etl", f"date={DAY}.json"), {**report, "cities": counted})
    (warning,) = [f for f in gate(lake).warnings if f.suite == "cities"]
    assert warning.severity == "warning" and "without a city rose" in warning.why
