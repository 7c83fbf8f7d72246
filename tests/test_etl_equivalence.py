"""The vectorised ETL steps give exactly what the straightforward per-row rules give.

Each test runs a small reference implementation of the documented rule (the per-location or
per-city loop the fast code replaced) next to the real function, on real gazetteer places.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from include.etl import cities, daily, features, measurements


def _places(n: int, seed: int, spread_km: float = 60.0):
    """``n`` points scattered around gazetteer cities (and a few in the open sea)."""
    rng = np.random.default_rng(seed)
    g = cities.gazetteer()
    pick = rng.choice(len(g), size=n)
    r_km, bearing = spread_km * np.sqrt(rng.random(n)), rng.random(n) * 2 * np.pi
    lat0, lon0 = g["city_lat"].to_numpy()[pick], g["city_lon"].to_numpy()[pick]
    lat = np.clip(lat0 + r_km * np.cos(bearing) / 111.2, -89.9, 89.9)
    lon = lon0 + r_km * np.sin(bearing) / (111.2 * np.maximum(np.cos(np.radians(lat0)), 0.05))
    lat[: n // 20], lon[: n // 20] = 0.0, -140.0  # open Pacific: no city
    return g, pick, lat, lon


# ---------------------------------------------------------------------------------------------
# Cities: rule 2 (catchment, named city first, else most populous) and rule 3 (name only)
# ---------------------------------------------------------------------------------------------
def _assign_by_loop(locations: pd.DataFrame) -> list:
    g = cities.gazetteer()
    out = []
    glat, glon = g["city_lat"].to_numpy(), g["city_lon"].to_numpy()
    radius, keys = cities.catchment_radius_km(g["city_population"].to_numpy()), g["key"].to_numpy()
    from scipy.spatial import cKDTree  # the reference: a KD-tree, the ETL's candidate pairs come from a grid

    tree = cKDTree(cities._city_vectors())
    for lat, lon, hint, country in locations[["lat", "lon", "city_hint", "country"]].itertuples(index=False):
        hint = cities._fold(hint) if isinstance(hint, str) and hint not in ("", "nan", "None") else ""
        country = country if isinstance(country, str) and len(country) == 2 else ""
        if pd.isna(lat) or pd.isna(lon):
            rows = [i for i in range(len(g)) if hint and keys[i] == hint]
            in_country = [i for i in rows if g["city_country"].iat[i] == country]
            out.append((in_country or rows or [-1])[0])
            continue
        point = cities._unit_vectors([lat], [lon])
        cand = np.sort(np.asarray(tree.query_ball_point(point[0], r=cities._chord(cities.EtlRules().metro_radius_km)), dtype=int))
        d = cities._distance_km(np.linalg.norm(cities._unit_vectors(glat[cand], glon[cand]) - point, axis=1))
        inside = cand[d <= radius[cand]]
        named = inside[keys[inside] == hint] if hint else inside[:0]
        out.append(named[0] if len(named) else inside[0] if len(inside) else -1)
    return [None if i < 0 else int(g["city_id"].iat[i]) for i in out]


def test_city_assignment_equals_the_per_location_rule():
    g, pick, lat, lon = _places(3000, seed=1)
    rng = np.random.default_rng(2)
    near_name = g["city"].to_numpy()[pick]
    other_name = g["city"].to_numpy()[rng.choice(len(g), size=len(pick))]
    hint = np.where(rng.random(len(pick)) < 0.5, near_name, np.where(rng.random(len(pick)) < 0.5, other_name, ""))
    hint = np.where(rng.random(len(pick)) < 0.1, [h.upper() for h in hint], hint)  # folding
    country = np.where(rng.random(len(pick)) < 0.7, g["city_country"].to_numpy()[pick], "")
    no_xy = rng.random(len(pick)) < 0.1
    locations = pd.DataFrame({"lat": np.where(no_xy, np.nan, lat), "lon": np.where(no_xy, np.nan, lon),
                              "city_hint": hint, "country": country}, index=np.arange(len(pick)) * 3)
    got = cities.assign_cities(locations)
    assert list(got.index) == list(locations.index)
    assert [None if pd.isna(c) else int(c) for c in got["city_id"]] == _assign_by_loop(locations)
    assert got["city_id"].notna().sum() > len(pick) // 2  # the sample exercises both outcomes


# ---------------------------------------------------------------------------------------------
# Weather: mean of the WEATHER_STATIONS nearest stations within WEATHER_RADIUS_KM
# ---------------------------------------------------------------------------------------------
def _weather_by_loop(group: pd.DataFrame, stations: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    sv = cities._unit_vectors(stations["lat"], stations["lon"])
    cv = cities._unit_vectors(group["city_lat"], group["city_lon"])
    km = 2 * cities.EARTH_RADIUS_KM * np.arcsin(np.minimum(np.linalg.norm(cv[:, None, :] - sv[None, :, :], axis=2) / 2, 1.0))
    order = np.argsort(km, axis=1, kind="stable")[:, : features.EtlRules().weather_stations]
    values = stations[cols].astype("float64").to_numpy()
    rows = {}
    for i, idx in enumerate(group.index):
        near = [j for j in order[i] if km[i, j] <= features.EtlRules().weather_radius_km]
        if near:
            with np.errstate(invalid="ignore"), features.quiet_nan_warnings():
                rows[idx] = (len(near), km[i, near[0]], *np.nanmean(values[near], axis=0))
    return pd.DataFrame.from_dict(rows, orient="index", columns=["weather_stations", "weather_km", *cols])


def test_city_weather_equals_the_nearest_station_rule():
    g, pick, lat, lon = _places(1500, seed=3, spread_km=45.0)
    rng = np.random.default_rng(4)
    stations = pd.DataFrame({"lat": lat, "lon": lon, "date": "2024-06-14"})
    stations.loc[10:40, ["lat", "lon"]] = stations.loc[10:40, ["lat", "lon"]].to_numpy()[::-1]
    stations = pd.concat([stations, stations.iloc[100:160]], ignore_index=True)  # co-located: ties
    cols = features.WEATHER_VARS + features.WEATHER_FLAGS
    for c in cols:
        stations[c] = np.where(rng.random(len(stations)) < 0.2, np.nan, rng.normal(10, 5, len(stations)))
    stations["slp_hpa"], stations["stp_hpa"] = stations.pop("pressure_hpa"), np.nan
    city_rows = g.iloc[np.unique(pick)[:800]]
    group = pd.DataFrame({"city_id": city_rows["city_id"].to_numpy(), "date": "2024-06-15",
                          "city_lat": city_rows["city_lat"].to_numpy(), "city_lon": city_rows["city_lon"].to_numpy(),
                          "weather_date": "2024-06-14"}, index=np.arange(len(city_rows)) + 7)

    got = features.city_weather(group, stations)
    w = stations.assign(pressure_hpa=stations["slp_hpa"].fillna(stations["stp_hpa"]))
    expected = _weather_by_loop(group, w, cols)
    assert 50 < len(expected) < len(group)  # some cities have stations in range, some not
    found = got.loc[expected.index, expected.columns].astype({"weather_stations": "int64"})
    pd.testing.assert_frame_equal(found, expected.astype({"weather_stations": "int64"}), check_exact=True)
    assert (got.drop(expected.index)["weather_stations"] == 0).all()


# ---------------------------------------------------------------------------------------------
# Daily: the hourly pivot
# ---------------------------------------------------------------------------------------------
def test_hourly_matrix_equals_multiindex_pivot():
    rng = np.random.default_rng(5)
    n = 20_000
    m = pd.DataFrame({
        "location_id": pd.Series(rng.integers(0, 300, n).astype(str), dtype="str"),
        "parameter": pd.Series(rng.choice(["pm25", "o3", "co"], n), dtype="str"),
        "start_local": pd.Timestamp("2024-06-15") + pd.to_timedelta(rng.integers(0, 24 * 60, n), unit="min"),
        "value": rng.random(n) * 100,
    })
    keys, values = daily.hourly_matrix(m)
    codes, uniques = pd.factorize(pd.MultiIndex.from_arrays([m["location_id"], m["parameter"]]))
    total, count = np.zeros((len(uniques), 24)), np.zeros((len(uniques), 24))
    hour = m["start_local"].dt.hour.to_numpy()
    np.add.at(total, (codes, hour), m["value"].to_numpy())
    np.add.at(count, (codes, hour), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(count > 0, total / count, np.nan)
    pd.testing.assert_frame_equal(keys, pd.DataFrame(list(uniques), columns=["location_id", "parameter"]))
    np.testing.assert_array_equal(values, expected)
    # A row mask gives what filtering the frame first gives (a location only in masked-out rows too).
    rows = (m["location_id"] != "7").to_numpy() & (rng.random(n) < 0.7)
    masked_keys, masked = daily.hourly_matrix(m, rows)
    filtered_keys, filtered = daily.hourly_matrix(m[rows].reset_index(drop=True))
    pd.testing.assert_frame_equal(masked_keys, filtered_keys)
    np.testing.assert_array_equal(masked, filtered)
    assert "7" not in set(masked_keys["location_id"])


# ---------------------------------------------------------------------------------------------
# Measurements: dictionary-encoded text is cleaned exactly like plain text
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("orphan_na", [False, True])
def test_clean_gives_the_same_result_for_dictionary_encoded_text(orphan_na):
    rng = np.random.default_rng(6)
    n = 4000
    values = np.array(["12.5", " 7 ", "-999", "-500", "n/a", "", "5000", "0.03", "-3.0", "1e2"])
    stamps = np.array(["2024-06-15T01:00:00+08:00", "2024-06-16T00:00:00+08:00", "2024-06-15T13:30:00Z",
                       "yesterday", "2024-06-17T05:00:00-05:00", "2024-06-15T09:00:00.000+05:30"])
    raw = pd.DataFrame({
        "file": rng.choice(["a.csv.gz", "b.csv.gz"], n),
        "location_id": rng.integers(0, 40, n).astype(str),
        "location": rng.choice(["Dongsi", "Zürich Ost", "Park"], n),
        "lat": rng.choice(["39.9", "91", "x", "-33.86"], n),
        "lon": rng.choice(["116.4", "151.2", "200"], n),
        "country": rng.choice(["CN", "", "CH"], n),
        "city_hint": rng.choice(["", "Beijing", "Zurich"], n),
        "parameter": rng.choice(["pm25", " PM10", "o3", "co", "bc", "no2", "so2"], n),
        "unit": rng.choice(["µg/m³", "ppm", "ppb", "furlongs", "mg/m3"], n),
        "value": rng.choice(values, n),
        "end_local": rng.choice(stamps, n),
        "period_hours": rng.choice(["1", "24", "0.25", "3"], n),
        "sensors_id": rng.integers(0, 99, n).astype(str),
    }).astype("str")
    if orphan_na:  # missing text in a dictionary-encoded column must parse like missing text
        raw.loc[::7, "value"] = None
        raw.loc[::11, "unit"] = None
    day = dt.date(2024, 6, 15)
    plain = measurements.clean(raw, "openaq-archive", day)
    encoded = measurements.clean(raw.astype("category"), "openaq-archive", day)
    # Same rows and values; the kept text stays dictionary-encoded (``file`` too: read by the run
    # report alone), and spelt out it is the plain result, dtypes included.
    text = ["source", "file", "location_id", "location", "country", "city_hint", "parameter", "unit"]
    assert all(isinstance(encoded[0][c].dtype, pd.CategoricalDtype) for c in text)
    assert not any(isinstance(t, pd.CategoricalDtype) for t in plain[0].dtypes)
    pd.testing.assert_frame_equal(measurements.as_plain_text(encoded[0]).astype({"file": "str"}), plain[0],
                                  check_exact=True)
    pd.testing.assert_frame_equal(encoded[1], plain[1], check_exact=True)
    assert encoded[2] == plain[2]
    assert len(plain[0]) and len(plain[1]) and plain[2]  # kept, quarantined and ignored rows all occur


def test_eight_hour_window_sums_are_numpys_nanmean_bit_for_bit():
    """``daily._window_sums`` (eight shifted views) against ``np.nanmean`` over the sliding
    windows it replaces: the same valid-hour counts and, divided, the same means to the bit
    (NaN where a window has no value), on series with missing hours, all-missing series and a
    series of equal values."""
    from numpy.lib.stride_tricks import sliding_window_view

    rng = np.random.default_rng(11)
    values = rng.gamma(2.0, 40.0, (5000, 24)) * rng.choice([1e-3, 1.0, 1e3], (5000, 1))
    values[rng.random(values.shape) < 0.25] = np.nan
    values[:50] = np.nan
    values[50] = 35.4
    windows = sliding_window_view(values, 8, axis=1)[:, :17, :]
    with np.errstate(invalid="ignore", divide="ignore"), daily.quiet_nan_warnings():
        expected = np.nanmean(windows, axis=2)
        count, total = daily._window_sums(values, ~np.isnan(values))
        got = total / count
    np.testing.assert_array_equal(count, (~np.isnan(windows)).sum(axis=2))
    np.testing.assert_array_equal(got, expected)  # equal NaNs, and every other value to the bit


# ---------------------------------------------------------------------------------------------
# The daily step as run_etl splits it with its reader helper
# ---------------------------------------------------------------------------------------------
def _day_measurements(day: dt.date) -> pd.DataFrame:
    from include.etl import pipeline
    from include.etl.rawio import RawRoot
    from tests.conftest import SAMPLE_RAW

    raw = RawRoot(str(SAMPLE_RAW))
    results = pipeline.read_sources(raw, day, pipeline.discover(raw, day))
    return measurements.concat([r.data.drop(columns="file") for s, r in results.items()
                                if s != "noaa-gsod" and len(r.data)])


@pytest.mark.parametrize("day, daily_means", [("2014-03-30", False), ("2015-01-10", False), ("2018-06-07", True)])
def test_the_daily_step_split_with_the_helper_gives_the_same_rows(day, daily_means):
    """With a reader helper, ``run_etl`` has the locations' cities and the hourly profile computed
    there, from the locations' rows and the hourly means alone (``pipeline._cities_and_profile``
    of ``daily.location_rows`` and ``daily.hourly_means``, with the row codes the daily
    statistics share, ``daily.row_codes``), pickled as the helper receives them: the same daily
    rows and profile as the one-process path, to the bit. On the sample's real days (archive and
    fetches: text dictionary-encoded and plain), and with one location's rows turned into 24-hour
    means (not in the hourly means)."""
    import pickle

    from include.config import EtlRules
    from include.etl import pipeline

    d = dt.date.fromisoformat(day)
    m = _day_measurements(d)
    if daily_means:
        first = m["location_id"] == m["location_id"].iloc[len(m) // 2]
        m.loc[first, "period_hours"] = 24.0
    aq = daily.air_quality_daily(m, d)
    profile = features.hourly_city_features(m, aq, d)

    codes = daily.row_codes(m)
    pd.testing.assert_frame_equal(daily.location_rows(m, codes), daily.location_rows(m), check_exact=True)
    hourly = daily.hourly_means(m, codes)
    args = pickle.loads(pickle.dumps((daily.location_rows(m, codes), hourly, d, EtlRules())))
    cities, split_profile = pipeline._cities_and_profile(*args)
    split = daily.air_quality_daily(m, d, codes=codes, hourly=hourly, cities=lambda: cities)
    pd.testing.assert_frame_equal(split, aq, check_exact=True)
    pd.testing.assert_frame_equal(split_profile, profile, check_exact=True)
    assert len(aq) and len(profile) and aq["city_id"].notna().any()
    hourly_locations = set(args[1].keys()["location_id"])
    assert (m.loc[first, "location_id"].iloc[0] not in hourly_locations) if daily_means else \
        hourly_locations == set(m["location_id"])
    # Text dictionary-encoded (the archive's) or spelt out: the same rows.
    plain = measurements.as_plain_text(m)
    assert any(isinstance(t, pd.CategoricalDtype) for t in m.dtypes) == (day != "2018-06-07")
    pd.testing.assert_frame_equal(daily.air_quality_daily(plain, d), aq, check_exact=True)
    pd.testing.assert_frame_equal(features.hourly_city_features(plain, aq, d), profile, check_exact=True)


def test_the_hourly_profile_equals_a_plain_pandas_reference():
    """``features.hourly_city_features`` (from the hourly means the daily statistics use) against
    a direct pandas computation of its definition, on a real sample day with some values made
    sub-hourly (two quarter-hours averaged within their hour), some negative (counted as 0) and
    one location's rows turned into 24-hour means (not hourly: left out)."""
    from include.etl.aqi import sub_index

    d = dt.date(2014, 3, 30)
    m = measurements.as_plain_text(_day_measurements(d))
    quarter = m.sample(frac=0.1, random_state=3).assign(period_hours=0.25)
    quarter["start_local"] += pd.Timedelta(minutes=15)
    quarter["value"] *= 1.7
    m = pd.concat([m, quarter], ignore_index=True)
    m.loc[m.sample(frac=0.02, random_state=4).index, "value"] = -0.5
    m.loc[m["location_id"] == m["location_id"].iloc[0], "period_hours"] = 24.0
    aq = daily.air_quality_daily(m, d)
    got = features.hourly_city_features(m, aq, d).set_index("city_id")

    h = m[m["period_hours"] <= 1.0].merge(aq[["location_id", "city_id"]].dropna(), on="location_id")
    h = h.assign(hour=h["start_local"].dt.hour, value=h["value"].clip(lower=0.0))
    monitor = h.groupby(["city_id", "location_id", "parameter", "hour"])["value"].mean()
    city = monitor.groupby(["city_id", "parameter", "hour"]).agg(["mean", "max"])
    assert len(got) == h["city_id"].nunique() and len(got) >= 2
    for (city_id, p), g in city.groupby(level=["city_id", "parameter"]):
        mean = g["mean"].droplevel([0, 1]).reindex(range(24))
        row = got.loc[int(city_id)]
        for name, (a, b) in features.HOUR_WINDOWS.items():
            np.testing.assert_allclose(row[f"{p}_{name}"], mean.loc[a:b].mean(), rtol=1e-12)
        late = mean.loc[20:23].dropna()
        np.testing.assert_allclose(row[f"{p}_last"], late.iloc[-1] if len(late) else np.nan, rtol=1e-12)
        np.testing.assert_allclose(row[f"{p}_hmax"], mean.max(), rtol=1e-12)
        np.testing.assert_allclose(row[f"{p}_trend"], mean.loc[18:23].mean() - mean.loc[0:5].mean(), rtol=1e-12)
        if p == "pm25":
            top = g["max"].droplevel([0, 1]).reindex(range(24)).loc[18:23].mean()
            np.testing.assert_allclose(row["pm25max_h18_23"], top, rtol=1e-12)
            np.testing.assert_allclose(row["aqi_pm25max_h18_23"], sub_index("pm25", np.array([top]))[0][0])
            np.testing.assert_allclose(row["aqi_pm25_h18_23"],
                                       sub_index("pm25", np.array([mean.loc[18:23].mean()]))[0][0])


def test_dictionary_encoded_measurements_concatenate_and_write_as_their_text():
    """``measurements.concat`` of the archive's kept rows (text dictionary-encoded) and the
    fetches' (plain) keeps the encoding with the same values as concatenating them spelt out, and
    ``lake.parquet_bytes`` writes either frame to the same bytes: a partition does not depend on
    how its frame held its text."""
    from include.lake import parquet_bytes

    archive, fetches = _day_measurements(dt.date(2014, 3, 30)), _day_measurements(dt.date(2018, 6, 7))
    assert isinstance(archive["location_id"].dtype, pd.CategoricalDtype)
    assert not any(isinstance(t, pd.CategoricalDtype) for t in fetches.dtypes)
    both = measurements.concat([archive, fetches])
    spelt = pd.concat([measurements.as_plain_text(archive), fetches], ignore_index=True)
    assert isinstance(both["location_id"].dtype, pd.CategoricalDtype) and len(both) == len(archive) + len(fetches)
    pd.testing.assert_frame_equal(measurements.as_plain_text(both), spelt, check_exact=True)
    assert parquet_bytes(both) == parquet_bytes(spelt)
    assert parquet_bytes(archive) == parquet_bytes(measurements.as_plain_text(archive))


def test_the_archive_parts_become_the_categoricals_arrow_would_give():
    """``openaq_archive._categorical_frame`` of parts with different dictionaries (real sample
    objects parsed apart, one with a missing value): what concatenating the tables, unifying their
    dictionaries and converting to pandas gives, the same categories in the same order."""
    import pyarrow as pa

    from include.etl import openaq_archive
    from include.etl.rawio import RawRoot
    from tests.conftest import SAMPLE_RAW

    raw = RawRoot(str(SAMPLE_RAW))
    paths = openaq_archive.discover(raw, dt.date(2014, 3, 30))[:3] + openaq_archive.discover(raw, dt.date(2015, 1, 10))[:3]
    tables = [part.table for p in paths for part in openaq_archive.parse_slice(raw, [p]).parts]
    assert len(tables) >= 4
    value = tables[1].column("value").combine_chunks()
    with_null = pa.DictionaryArray.from_arrays(pa.array([None] + value.indices.to_pylist()[1:], pa.int32()),
                                               value.dictionary)
    tables[1] = tables[1].set_column(tables[1].column_names.index("value"), "value", with_null)
    got = openaq_archive._categorical_frame(tables)
    expected = pa.concat_tables(tables).unify_dictionaries().to_pandas()
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    for c in got.columns:
        assert got[c].cat.categories.equals(expected[c].cat.categories)
        assert got[c].cat.codes.dtype == expected[c].cat.codes.dtype
    assert got["value"].isna().sum() == 1
