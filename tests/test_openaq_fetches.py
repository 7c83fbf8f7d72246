"""openaq-fetches NDJSON reader on the real fetch objects: mixed units and averaging periods,
missing coordinates/periods, non-ASCII names, days that straddle fetch folders."""
from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest

from include.etl import openaq_fetches
from include.etl.daily import air_quality_daily
from tests.conftest import FIXTURES, SAMPLE_RAW

EXOBJ = "openaq-fetches/realtime-gzipped/2018-06-07/realtime_2018-06-07_exobj.ndjson.gz"
CPCB = "openaq-fetches/realtime/2019-01-10/cpcb_city_day_2019-01-10.ndjson"


def records(rel: str) -> list[dict]:
    data = (SAMPLE_RAW / rel).read_bytes()
    data = gzip.decompress(data) if rel.endswith(".gz") else data
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def test_every_record_lands_in_exactly_one_partition(raw_builder):
    """Partitions D-1, D, D+1 all read the D folder; each record is kept or quarantined by one."""
    raw_builder.copy(EXOBJ)
    days = [dt.date(2018, 6, 5) + dt.timedelta(days=i) for i in range(5)]
    results = [openaq_fetches.read_fetches_day(raw_builder.raw, d) for d in days]
    total = sum(len(r.data) + len(r.quarantine) + sum(r.ignored.values()) for r in results)
    assert total == len(records(EXOBJ)) == 7444
    kept = {d: len(r.data) for d, r in zip(days, results)}
    assert kept[dt.date(2018, 6, 5)] == 0 and kept[dt.date(2018, 6, 6)] > 6000 and kept[dt.date(2018, 6, 7)] > 100


def test_local_day_comes_from_the_period_start(raw_builder):
    raw_builder.copy(EXOBJ)
    data = openaq_fetches.read_fetches_day(raw_builder.raw, dt.date(2018, 6, 7)).data
    # Dhaka, pm25, 1 h: date.local 2018-06-07T05:00+06:00 -> period 04:00-05:00 local on 06-07
    dhaka = data[(data["location"] == "US Diplomatic Post: Dhaka") & (data["parameter"] == "pm25")]
    assert dt.datetime(2018, 6, 7, 4) in set(dhaka["start_local"])
    # A 15-minute value stamped 00:00 local belongs to the previous day (it started at 23:45).
    prev = openaq_fetches.read_fetches_day(raw_builder.raw, dt.date(2018, 6, 6)).data
    assert (prev["start_local"] == dt.datetime(2018, 6, 6, 23, 45)).any()
    assert not (data["start_local"] < dt.datetime(2018, 6, 7)).any()


def test_units_are_converted_and_names_kept(raw_builder):
    raw_builder.copy(EXOBJ)
    src = [r for r in records(EXOBJ) if r["location"] == "La Florida" and r["parameter"] == "co"][0]
    assert src["unit"] == "µg/m³" and src["value"] == 2320.51
    data = openaq_fetches.read_fetches_day(raw_builder.raw, dt.date(2018, 6, 6)).data
    co = data[(data["location"] == "La Florida") & (data["parameter"] == "co")]
    assert co["value"].iloc[0] == pytest.approx(2320.51 * 24.45 / 28.01 / 1000)  # ppm
    ppm = [r for r in records(EXOBJ) if r["unit"] == "ppm" and r["parameter"] == "no2"][0]
    hebrew = data[(data["location"] == ppm["location"]) & (data["parameter"] == "no2")]
    if len(hebrew):
        assert (hebrew["value"] < 5000).all()
    assert data["location"].str.contains("תחנה").any()  # non-ASCII names survive


def test_cpcb_daily_means_give_pm_aqi_and_cities(sample_raw):
    day = dt.date(2019, 1, 10)
    result = openaq_fetches.read_fetches_day(sample_raw, day)
    src = {(r["city"], r["parameter"]): r for r in records(CPCB)}
    daily = air_quality_daily(result.data, day).set_index("location")
    delhi = daily.loc["Delhi"]
    assert delhi["pm25_mean"] == pytest.approx(src[("Delhi", "pm25")]["value"])
    assert delhi["pm25_hours"] == 24
    c = int(src[("Delhi", "pm25")]["value"] * 10) / 10
    assert 125.5 <= c <= 225.4  # Very Unhealthy row of the 2024 table: 201-300
    assert delhi["aqi_pm25"] == int((300 - 201) / (225.4 - 125.5) * (c - 125.5) + 201 + 0.5)
    # CO arrives in mg/m3: ppm = mg/m3 x 24.45 / 28.01; a 24-h mean gives no (8-h) CO sub-index.
    assert delhi["co_mean"] == pytest.approx(src[("Delhi", "co")]["value"] * 24.45 / 28.01)
    assert delhi["aqi_co"] != delhi["aqi_co"]
    assert delhi["city"] == "Delhi" and delhi["city_tz"] == "Asia/Kolkata"
    # Talcher has no coordinates in the feed: its city is found by name.
    talcher = [r for r in records(CPCB) if r["city"] == "Talcher"]
    if talcher:
        assert "coordinates" not in talcher[0]
        assert daily.loc["Talcher", "city_country"] == "IN"


def test_records_without_period_or_coordinates(raw_builder):
    raw_builder.copy(EXOBJ)
    no_period = [r for r in records(EXOBJ) if "averagingPeriod" not in r]
    no_coords = [r for r in records(EXOBJ) if "coordinates" not in r]
    assert no_period and no_coords
    data = openaq_fetches.read_fetches_day(raw_builder.raw, dt.date(2018, 6, 6)).data
    names = set(data["location"])
    assert {r["location"] for r in no_period} & names
    assert {r["location"] for r in no_coords} & names


def test_a_malformed_line_is_quarantined_and_the_rest_loads(raw_builder):
    lines = (FIXTURES / "real" / "realtime_2018-06-07_stockholm_series.ndjson").read_text().splitlines()
    broken = lines[:5] + ['{"date":{"utc":"2018-06-07T03:00:00.000Z", "local": '] + lines[5:]
    wrong_type = json.loads(lines[6])
    wrong_type["value"] = "twelve"
    broken.append(json.dumps(wrong_type))
    raw_builder.write("openaq-fetches/realtime/2018-06-07/fetch.ndjson", "\n".join(broken))
    results = [openaq_fetches.read_fetches_day(raw_builder.raw, dt.date(2018, 6, d)) for d in (6, 7, 8)]
    reasons = sorted(r for res in results for r in res.quarantine["reason"].str.split(":").str[0])
    assert reasons == ["malformed JSON line", "missing or non-numeric value"]
    assert all(res.failures == [] for res in results)
    assert sum(len(res.data) for res in results) == len(lines)


def test_a_truncated_gzip_fails_alone(raw_builder):
    raw_builder.copy(EXOBJ)
    good = (raw_builder.root / EXOBJ).read_bytes()
    bad = raw_builder.write("openaq-fetches/realtime-gzipped/2018-06-07/broken.ndjson.gz", good[:1000])
    result = openaq_fetches.read_fetches_day(raw_builder.raw, dt.date(2018, 6, 7))
    assert [f.path for f in result.failures] == [str(bad)]
    assert len(result.data) > 100


def test_stations_sharing_a_name_are_told_apart_by_their_coordinates(raw_builder):
    """The real 2018-06-07 object lists Israeli stations under a name another station at other
    coordinates also has: keyed by (country, name) alone, 911 of its records were "duplicates" (12 %
    of the day, over the gate's 10 % quarantine rule). With the coordinates in the identity only
    the records that really repeat a station's period remain duplicates."""
    raw_builder.copy(EXOBJ)
    day = dt.date(2018, 6, 6)
    result = openaq_fetches.read_fetches_day(raw_builder.raw, day)
    reasons = result.quarantine["reason"].value_counts()
    duplicates = int(reasons[reasons.index.str.startswith("duplicate record")].sum())
    assert duplicates <= 4, reasons
    kept = len(result.data)
    assert len(result.quarantine) / (kept + len(result.quarantine)) < 0.01
    ids = result.data.drop_duplicates("location_id")
    shared = ids.groupby(["country", "location"])["location_id"].nunique()
    several = shared[shared > 1]
    assert len(several) >= 10 and set(several.index.get_level_values("country")) == {"IL"}  # one name, several stations
    with_coords = ids.dropna(subset=["lat"])
    assert with_coords["location_id"].str.fullmatch(r"fetch:[A-Z]{2}:.*@-?\d+\.\d{5},-?\d+\.\d{5}").all()
    assert not ids[ids["lat"].isna()]["location_id"].str.contains("@").any()
