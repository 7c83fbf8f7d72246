"""Features: city AQI rule, lags, weather, the next-day target, and no leakage."""
from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest

from include.catalog import AIR_QUALITY, FEATURES, WEATHER
from include.etl.features import TARGET, features_for, features_range
from include.lake import Lake

START, END = dt.date(2015, 1, 1), dt.date(2015, 1, 12)
DAY = dt.date(2015, 1, 10)


@pytest.fixture(scope="module")
def built_lake(tmp_path_factory, lake_cache) -> Lake:
    from tests.sample_lakes import ingest_sample

    return ingest_sample(tmp_path_factory.mktemp("features") / "lake", (START, END), cache=lake_cache)


def copy_lake(lake: Lake, tmp_path) -> Lake:
    dst = tmp_path / "copy"
    shutil.copytree(lake.root, dst)
    return Lake(str(dst))


def test_city_aqi_is_the_highest_monitor_and_target_is_next_day(built_lake):
    f = built_lake.read_partition(FEATURES, DAY)
    assert len(f) == 1 and f.loc[0, "city"] == "Beijing"
    aq = built_lake.read_partition(AIR_QUALITY, DAY)
    nxt = built_lake.read_partition(AIR_QUALITY, DAY + dt.timedelta(days=1))
    assert f.loc[0, "aqi"] == aq["aqi"].max()
    assert f.loc[0, "n_monitors"] == aq["aqi"].notna().sum()
    assert f.loc[0, TARGET] == nxt["aqi"].max()
    prev = built_lake.read_partition(AIR_QUALITY, DAY - dt.timedelta(days=1))
    assert f.loc[0, "aqi_lag1"] == prev["aqi"].max()
    assert f.loc[0, "aqi_delta1"] == f.loc[0, "aqi"] - f.loc[0, "aqi_lag1"]


def test_target_is_empty_until_the_next_day_exists_then_filled(built_lake):
    last = built_lake.read_partition(FEATURES, END)
    assert last[TARGET].isna().all()
    before_last = built_lake.read_partition(FEATURES, END - dt.timedelta(days=1))
    assert before_last[TARGET].notna().all()  # rebuilt by END's run


def test_weather_uses_the_leakage_free_gsod_day(built_lake):
    f = built_lake.read_partition(FEATURES, DAY)
    # Beijing is UTC+8: the GSOD (UTC) day D runs until 08:00 local on D+1, so D-1 is used.
    assert f.loc[0, "weather_date"] == "2015-01-09"
    w = built_lake.read_partition(WEATHER, dt.date(2015, 1, 9))
    assert f.loc[0, "temp_c"] == pytest.approx(w["temp_c"].mean())
    assert f.loc[0, "weather_stations"] == 3 and not f.loc[0, "temp_c_missing"]


def test_no_leakage_perturbing_the_future_changes_only_the_target(built_lake, tmp_path):
    lake = copy_lake(built_lake, tmp_path)
    before = features_for(lake, DAY)
    for d in (DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)):
        aq = lake.read_partition(AIR_QUALITY, d)
        aq[["aqi", "pm25_mean", "aqi_pm25"]] = aq[["aqi", "pm25_mean", "aqi_pm25"]] * 3 + 7
        lake.write_partition(AIR_QUALITY, d, aq)
        w = lake.read_partition(WEATHER, d)
        w[["temp_c", "dewp_c", "wdsp_ms"]] = w[["temp_c", "dewp_c", "wdsp_ms"]] + 25
        lake.write_partition(WEATHER, d, w)
        m = lake.read_partition("curated/measurements_hourly", d)
        lake.write_partition("curated/measurements_hourly", d, m.assign(value=m["value"] * 5 + 3))
    w = lake.read_partition(WEATHER, DAY)  # UTC day D reaches into local D+1 in Beijing
    w[["temp_c", "dewp_c"]] += 25
    lake.write_partition(WEATHER, DAY, w)
    after = features_for(lake, DAY)
    assert after[TARGET].iloc[0] != before[TARGET].iloc[0]
    pd.testing.assert_frame_equal(after.drop(columns=[TARGET]), before.drop(columns=[TARGET]))


def test_evening_hours_summarise_the_days_hourly_values(built_lake):
    f = built_lake.read_partition(FEATURES, DAY)
    m = built_lake.read_partition("curated/measurements_hourly", DAY)
    pm = m[(m["parameter"] == "pm25")].assign(hour=lambda x: pd.to_datetime(x["start_local"]).dt.hour)
    hourly = pm.groupby("hour")["value"].mean()  # mean over Beijing's monitors, per hour
    assert f.loc[0, "pm25_h18_23"] == pytest.approx(hourly.loc[18:23].mean())
    assert f.loc[0, "pm25_last"] == pytest.approx(hourly.loc[23])
    assert f.loc[0, "pm25max_h18_23"] == pytest.approx(pm.groupby("hour")["value"].max().loc[18:23].mean())
    assert f.loc[0, "pm25_trend"] == pytest.approx(hourly.loc[18:23].mean() - hourly.loc[0:5].mean())


def test_look_back_is_bounded(built_lake, tmp_path):
    lake = copy_lake(built_lake, tmp_path)
    before = features_for(lake, DAY)
    for d in (dt.date(2015, 1, 1), dt.date(2015, 1, 2)):  # older than D-7
        shutil.rmtree(lake.partition_dir(AIR_QUALITY, d))
        shutil.rmtree(lake.partition_dir(WEATHER, d))
    pd.testing.assert_frame_equal(features_for(lake, DAY), before)


def test_bulk_build_equals_the_daily_partitions(built_lake):
    bulk = features_range(built_lake, dt.date(2015, 1, 8), END)
    daily = built_lake.read_partitions(FEATURES, [dt.date(2015, 1, d) for d in range(8, 13)])
    cols = list(daily.columns)
    pd.testing.assert_frame_equal(bulk[cols].reset_index(drop=True), daily.reset_index(drop=True),
                                  check_dtype=False)


def test_missing_days_are_not_shifted_over(built_lake, tmp_path):
    lake = copy_lake(built_lake, tmp_path)
    shutil.rmtree(lake.partition_dir(AIR_QUALITY, DAY - dt.timedelta(days=1)))
    f = features_for(lake, DAY)
    assert np.isnan(f.loc[0, "aqi_lag1"])
    assert f.loc[0, "aqi_lag2"] == built_lake.read_partition(FEATURES, DAY).loc[0, "aqi_lag2"]


def test_rolling_in_one_call_equals_pandas_column_by_column():
    """The features' rolling windows over a (date x city) grid, computed as one series, give every
    value of pandas' column-wise ``rolling`` exactly (NaN gaps, short grids, one row)."""
    import numpy as np

    from include.etl.features import _rolling

    rng = np.random.default_rng(0)
    for n, m in [(9, 5), (30, 300), (1, 3), (16, 1000)]:
        a = rng.gamma(2, 30, (n, m))
        a[rng.random((n, m)) < 0.3] = np.nan
        grid = pd.DataFrame(a, index=pd.date_range("2024-01-01", periods=n), columns=np.arange(m) * 7)
        for window, min_periods, how in [(3, 1, "mean"), (7, 1, "mean"), (7, 2, "std"), (7, 1, "max")]:
            expected = getattr(grid.rolling(window, min_periods=min_periods), how)()
            pd.testing.assert_frame_equal(_rolling(grid, window, min_periods, how), expected, check_exact=True)
        pd.testing.assert_frame_equal(_rolling(grid.notna(), 7, 1, "sum"),
                                      grid.notna().rolling(7, min_periods=1).sum(), check_exact=True)


def test_one_schema_whether_a_day_is_built_alone_or_in_a_range(tmp_path):
    """2014-03-29: the sample's Beijing monitors, but no GSOD station within the weather radius of
    any city that day. Built alone (``--jobs 1``: the daily build) or in one pass with days that
    have weather (``--jobs 2``: ``features_range``), its weather columns are float NaN either way,
    and every partition has the same schema and rows."""
    import pyarrow.parquet as pq

    from include.cli import main

    # Then a later range: its first day's eve (03-31) gets its target; 04-01/02 have no air quality.
    for start, end in (("2014-03-29", "2014-03-31"), ("2014-04-01", "2014-04-02")):
        for jobs in (1, 2):
            assert main(["etl", "--lake", str(tmp_path / f"jobs{jobs}"), "--start", start, "--end", end,
                         "--jobs", str(jobs)]) == 0
    one, two = tmp_path / "jobs1", tmp_path / "jobs2"
    parts = sorted(p.relative_to(one) for p in one.rglob("*.parquet"))
    assert parts == sorted(p.relative_to(two) for p in two.rglob("*.parquet")) and len(parts) > 20
    for rel in parts:
        assert pq.read_schema(one / rel).equals(pq.read_schema(two / rel)), rel
        pd.testing.assert_frame_equal(pd.read_parquet(one / rel), pd.read_parquet(two / rel), check_exact=True)
    # The same run reports too (the feature rows each date's run wrote), but for their timing.
    import json

    def reports(lake):
        return {p.name: {k: v for k, v in json.loads(p.read_text()).items() if k != "seconds"}
                for p in (lake / "_runs" / "etl").glob("*.json")}

    assert reports(one) == reports(two) and len(reports(one)) == 5
    assert set(reports(two)["date=2014-04-01.json"]["features"]) == {"2014-03-31", "2014-04-01"}  # the eve rebuilt
    alone = pd.read_parquet(one / "features/city_daily/date=2014-03-29/part-00000.parquet")
    assert len(alone) and alone["weather_km"].isna().all() and alone["temp_c"].dtype == "float64"
    assert (alone["weather_stations"] == 0).all() and alone["temp_c_missing"].all()


def test_the_spark_engine_builds_features_in_blocks_of_consecutive_dates():
    """Stage 2 of the Spark engine: every date once, in order, in blocks of consecutive dates
    (about two per core, at most ``MAX_FEATURE_BLOCK``); each block is one ``features_range``."""
    from include.app.spark_etl import MAX_FEATURE_BLOCK, feature_blocks

    start = dt.date(2024, 1, 1)
    for n, cores, expected in ((1, 2, 1), (7, 2, 4), (28, 2, 4), (29, 2, 4), (3650, 36, 118)):
        days = [start + dt.timedelta(days=i) for i in range(n)]
        blocks = feature_blocks(days, cores)
        assert [d for b in blocks for d in b] == [d.isoformat() for d in days]
        assert all(1 <= len(b) <= MAX_FEATURE_BLOCK for b in blocks)
        assert len(blocks) == expected
    assert [len(b) for b in feature_blocks([start + dt.timedelta(days=i) for i in range(28)], 2)] == [7, 7, 7, 7]
