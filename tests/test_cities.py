"""The documented city rule (README "Cities")."""
from __future__ import annotations

import pandas as pd

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
