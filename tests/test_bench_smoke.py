"""Smoke test of bench/etl_bench.py at tiny sizes: the generated day is in formats run_etl reads,
and the baseline computes the same PM2.5 daily means. No timings are checked."""
from __future__ import annotations

import datetime as dt
import gzip

import pytest

from bench.baseline_etl import run_baseline
from bench.etl_bench import ARCHIVE_HEADER, generate
from include.etl.gsod import HEADER as GSOD_HEADER
from include.etl.pipeline import run_etl
from include.etl.rawio import RawRoot
from include.lake import Lake

DAY = dt.date(2024, 6, 15)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    info = generate(out, DAY, locations=20, stations=30, fetch_records=300, seed=7)
    lake = Lake(str(out / "lake"))
    report = run_etl(DAY, lake, RawRoot(info["raw_root"]))
    return info, lake, report


def test_generated_files_look_like_production(generated):
    info, _, _ = generated
    from pathlib import Path

    raw = Path(info["raw_root"])
    archive = sorted((raw / "openaq-data-archive").rglob("*.csv.gz"))
    assert len(archive) == 20
    lines = gzip.decompress(archive[0].read_bytes()).decode("utf-8").split("\n")
    assert lines[0] == ARCHIVE_HEADER and lines[-1] == ""
    first = lines[1].split(",")
    assert first[3][11:19] == "01:00:00" and first[7] == "µg/m³"  # period END stamps from 01:00
    gsod = sorted((raw / "noaa-gsod-pds" / "2024").glob("*.csv"))
    assert len(gsod) == 30
    text = gsod[0].read_text().split("\n")
    assert text[0] == GSOD_HEADER and text[1].startswith(f'"{gsod[0].stem}","2024-01-01",')
    assert f'","{DAY.isoformat()}",' in text[-2]


def test_run_etl_reads_every_generated_location_and_station(generated):
    info, lake, report = generated
    aq = lake.read_partition("curated/air_quality_daily", DAY)
    ids = set(info["archive"]["location_ids"])
    ours = aq[aq["location_id"].isin(ids)]
    assert len(ours) == len(ids) and ours["location_id"].is_unique
    assert (ours["pm25_hours"] == 24).all()
    weather = lake.read_partition("curated/weather_daily", DAY)
    assert sorted(weather["station"]) == sorted(info["gsod"]["station_ids"])
    assert report["failed_objects"] == 0


def test_baseline_pm25_means_equal_run_etl(generated, tmp_path):
    info, lake, _ = generated
    aq = lake.read_partition("curated/air_quality_daily", DAY)
    base = run_baseline(DAY, info["raw_root"], str(tmp_path / "baseline"))["air_quality"]
    both = aq.merge(base, on="location_id", suffixes=("", "_b"))
    assert set(info["archive"]["location_ids"]) <= set(both["location_id"])
    valid = both["pm25_mean"].notna()
    assert valid.sum() >= 20
    assert (both["pm25_mean"][valid] - both["pm25_mean_b"][valid]).abs().max() < 0.01
    assert (both["pm25_mean"].isna() == both["pm25_mean_b"].isna()).all()
