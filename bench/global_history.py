"""A deterministic global history in the production raw formats: N consecutive days of a world-size day.

    python bench/global_history.py --days 14 --locations 10000 --out DIR   # DIR = the raw root
    python bench/global_history.py --days 10 --locations 300 --cities 30   # default DIR: bench/out/history-<hash>

``generate_history(raw_root, start, days, locations, seed, ...)`` writes, under ``raw_root`` (one folder
per S3 bucket, exactly the real layouts; see ``bench/etl_bench.py`` for the formats):

* ``openaq-data-archive/records/csv.gz/locationid=<ID>/year=/month=/location-<ID>-<YYYYMMDD>.csv.gz``:
  one file per location and local day, 6 parameters x the 24 end-of-hour stamps 01:00 .. next 00:00
  with the location's UTC offset on that day (from its city's time zone, so DST changes show).
* ``noaa-gsod-pds/<YYYY>/<station>.csv``: current-year files holding Jan 1 .. the last day. A
  real bucket on day D holds the prefix of each file up to D; the ETL of D reads only D's line, so
  one raw root serves every day of the history (``gsod_as_of`` cuts the files to an earlier day).
* ``openaq-fetches/realtime-gzipped/<D>/realtime_<D>_bench.ndjson.gz``: per day, the real
  2018-06-07 fetch object's records re-dated to D (replicated under ``"<name> #k"`` names past its
  size), keeping only records of local day D so consecutive folders never repeat a record.

**Cities.** ``cities`` gazetteer cities (default 2.6 % of ``locations``: 260 at 10,000) in
``countries`` countries (default 57 at 260 cities), chosen deterministically: the most populous
city of each of the ``countries`` countries with the largest cities, then the next most populous
cities of those countries (at most ``4 x cities / countries`` per country), skipping a city within
80 km of one already chosen (so catchments do not merge). Locations are spread over the cities in
proportion to sqrt(population) (at least one each), inside 80 % of the city rule's catchment
radius; 4 % of locations are *remote* (uniform latitude -55..70, outside every catchment mostly).
Fetch records keep their real coordinates and names (Dhaka, Israel's network, ...).

**Values with day-to-day persistence, from the real samples.** Each city follows a stretch of
consecutive real days of the in-repo Beijing archive sample (UCI multi-site, 2013-03 .. 2016-02),
starting at a city's own random day: day k of the history uses real day start+k, so the day-to-day
dynamics are real. Each location reads one of the three real sites (same real day: they are
correlated as real neighbours are) scaled by a level = city level x location level (log-normal,
median 0.45 x Beijing; clipped to 0.05 .. 1.2 so no value passes physical plausibility) times a
small per-location-day noise (log sd 0.08). Missing hours and missing days stay as in the real
file. Fetch values (real locations) are scaled by exp(AR(1)) per location (phi 0.7, sd 0.3).
GSOD rows are copied verbatim from real sample rows of the same day of year (``etl_bench``).

Deterministic per parameters (including ``seed``); the result is cached: ``raw_root/_generated.json``
holds the parameters and a rerun with the same ones returns at once.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import math
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.etl_bench import (  # noqa: E402 - after the path set-up
    ARCHIVE_HEADER, NAME_SUFFIXES, PARAMETERS, SAMPLE_ARCHIVE_LOCATIONS, SAMPLE_FETCH, SAMPLE_RAW,
    _gz, _key as _fetch_key, _offset_text, _short, generate_gsod, reused, write_fetch_object)

OUT = REPO / "bench" / "out"
HISTORY_VERSION = 1
DEFAULT_START = dt.date(2024, 6, 2)  # 14 days end on 2024-06-15, etl_bench's day
REAL_FETCH_DAY = dt.date(2018, 6, 6)  # the local day most of the real 2018-06-07 object's records belong to
REMOTE_SHARE = 0.04
MIN_CITY_SEPARATION_KM = 80.0


# =============================================================================================
# Real inputs
# =============================================================================================
def load_real_days() -> tuple[list[dt.date], dict[str, dict[dt.date, list[list[str]]]]]:
    """The real UCI multi-site archive days: the calendar of days present at every site, and per
    site ``{local day: [6 parameters][24 hours] value strings ('' = missing)}``."""
    base = SAMPLE_RAW / "openaq-data-archive" / "records" / "csv.gz"
    by_site: dict[str, dict[dt.date, list[list[str]]]] = {}
    for loc in SAMPLE_ARCHIVE_LOCATIONS:
        days: dict[dt.date, list[list[str]]] = {}
        for path in sorted((base / f"locationid={loc}").rglob("*.csv.gz")):
            slots = [[""] * 24 for _ in PARAMETERS]
            for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()[1:]:
                f = line.split(",")
                slots[PARAMETERS.index(f[6])][(int(f[3][11:13]) - 1) % 24] = f[8]
            days[dt.date.fromisoformat(f"{path.name[-15:-11]}-{path.name[-11:-9]}-{path.name[-9:-7]}")] = slots
        by_site[loc] = days
    first = min(min(d) for d in by_site.values())
    last = max(max(d) for d in by_site.values())
    calendar = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return calendar, by_site


def load_real_fetch() -> list[dict]:
    text = gzip.decompress(SAMPLE_FETCH.read_bytes()).decode("utf-8")
    return [json.loads(line) for line in text.split("\n") if line.strip()]


# =============================================================================================
# Cities and places
# =============================================================================================
def choose_cities(cities: int, countries: int):
    """The history's cities: a gazetteer frame (most populous first), see the module docstring."""
    import numpy as np

    from include.etl.cities import _unit_vectors, gazetteer

    g = gazetteer()  # sorted by population, descending
    codes = list(dict.fromkeys(g["city_country"].tolist()))[:countries]
    cap = max(1, math.ceil(4 * cities / max(countries, 1)))
    vec = _unit_vectors(g["city_lat"], g["city_lon"])
    min_chord = 2 * math.sin(MIN_CITY_SEPARATION_KM / 6371.0088 / 2)
    chosen: list[int] = []
    per_country: dict[str, int] = {}

    def far_enough(i: int) -> bool:
        return not chosen or float(np.min(np.linalg.norm(vec[chosen] - vec[i], axis=1))) > min_chord

    country = g["city_country"].to_numpy()
    for code in codes:  # the largest city of each country first
        i = int(np.flatnonzero(country == code)[0])
        if far_enough(i):
            chosen.append(i)
            per_country[code] = 1
    for i in np.flatnonzero(np.isin(country, codes)):
        if len(chosen) >= cities:
            break
        i = int(i)
        if i in chosen or per_country.get(country[i], 0) >= cap or not far_enough(i):
            continue
        chosen.append(i)
        per_country[country[i]] = per_country.get(country[i], 0) + 1
    return g.iloc[sorted(chosen[:cities])].reset_index(drop=True)


def place_locations(rng, n: int, city_frame):
    """Per location: city row (-1 = remote), lat, lon. Inside 80 % of the catchment radius."""
    import numpy as np

    from include.etl.cities import catchment_radius_km

    k = len(city_frame)
    n_remote = int(round(n * REMOTE_SHARE)) if n > k else 0
    w = np.sqrt(city_frame["city_population"].to_numpy(dtype=float))
    counts = np.ones(k, dtype=int) if n - n_remote >= k else np.zeros(k, dtype=int)
    counts += rng.multinomial(n - n_remote - int(counts.sum()), w / w.sum())
    city = np.concatenate([np.repeat(np.arange(k), counts), np.full(n_remote, -1)])
    radius = 0.8 * catchment_radius_km(city_frame["city_population"].to_numpy())
    r_km = np.where(city >= 0, radius[np.maximum(city, 0)], 0.0) * np.sqrt(rng.random(n))
    bearing = rng.random(n) * 2 * np.pi
    lat0 = city_frame["city_lat"].to_numpy()[np.maximum(city, 0)]
    lon0 = city_frame["city_lon"].to_numpy()[np.maximum(city, 0)]
    lat = np.clip(lat0 + r_km * np.cos(bearing) / 111.2, -89.9, 89.9)
    lon = lon0 + r_km * np.sin(bearing) / (111.2 * np.maximum(np.cos(np.radians(lat0)), 0.05))
    remote = city < 0
    lat[remote] = rng.uniform(-55, 70, remote.sum())
    lon[remote] = rng.uniform(-180, 180, remote.sum())
    lon = (lon + 180.0) % 360.0 - 180.0
    return city, lat, lon


def _utc_offsets(tz_names, lon, day: dt.date):
    """Minutes east of UTC at local noon of ``day`` per location (solar time when no zone)."""
    import numpy as np
    import zoneinfo

    noon = dt.datetime.combine(day, dt.time(12))
    cache: dict[str, int | None] = {}
    out = np.empty(len(lon), dtype=int)
    for i, tz in enumerate(tz_names):
        if tz not in cache:
            try:
                cache[tz] = int(noon.replace(tzinfo=zoneinfo.ZoneInfo(tz)).utcoffset().total_seconds() // 60) if tz else None
            except Exception:  # noqa: BLE001 - unknown zone name
                cache[tz] = None
        out[i] = cache[tz] if cache[tz] is not None else int(round(lon[i] / 15.0) * 60)
    return out


# =============================================================================================
# Writers
# =============================================================================================
def _scaled(value: str, factor: float) -> str:
    return f"{float(value) * factor:.1f}"


def write_archive_day(raw: Path, day: dt.date, locs: dict, real: dict, day_index: int, rng) -> dict:
    """One local day's archive files for every location that has a real day to follow."""
    import numpy as np

    calendar, by_site = real
    n = len(locs["ids"])
    noise = np.exp(rng.normal(0.0, 0.08, size=n))
    tz = locs["tz"]
    offsets = _utc_offsets(tz, locs["lon"], day)
    stamps = [(dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%S")
              for h in range(1, 25)]
    base = raw / "openaq-data-archive" / "records" / "csv.gz"
    files = rows = nbytes = 0
    for i in range(n):
        real_day = calendar[locs["real_start"][i] + day_index]
        slots = by_site[locs["site"][i]].get(real_day)
        if slots is None:  # the real site has no file that day: neither has this location
            continue
        lid = int(locs["ids"][i])
        factor = float(locs["level"][i] * noise[i])
        off = _offset_text(int(offsets[i]))
        lat_lon = f",{_short(locs['lat'][i], 6)},{_short(locs['lon'][i], 6)},"
        mid = f",{locs['names'][i]}-{lid},"
        lines = [ARCHIVE_HEADER]
        for k, parameter in enumerate(PARAMETERS):
            pre = f"{lid},{lid * 10 + k + 1}{mid}"
            post = f"{lat_lon}{parameter},µg/m³,"
            lines += [f"{pre}{stamps[h]}{off}{post}{_scaled(v, factor)}" for h, v in enumerate(slots[k]) if v]
        if len(lines) == 1:
            continue
        folder = base / f"locationid={lid}" / f"year={day:%Y}" / f"month={day:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        data = _gz(("\n".join(lines) + "\n").encode("utf-8"))
        (folder / f"location-{lid}-{day:%Y%m%d}.csv.gz").write_bytes(data)
        files += 1
        rows += len(lines) - 1
        nbytes += len(data)
    return {"files": files, "rows": rows, "bytes": nbytes}


def _fetch_template(real: list[dict], n: int) -> list[tuple[int, int]]:
    """(real record index, replica) for ``n`` records of one day: the real records of local day
    2018-06-06, each (location, parameter, time, period) once, then replicas ``#1``, ``#2`` ..."""
    seen: set = set()
    base = []
    for i, rec in enumerate(real):
        key = _fetch_key(rec)
        if rec["date"]["local"][:10] == REAL_FETCH_DAY.isoformat() and key not in seen:
            seen.add(key)
            base.append(i)
    return [(base[k % len(base)], k // len(base)) for k in range(n)]


def _round_like(original, value: float):
    if isinstance(original, int):
        return int(round(value))
    text = repr(float(original))
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 4
    return round(value, max(decimals, 1))


def write_fetch_day(raw: Path, day: dt.date, real: list[dict], template: list[tuple[int, int]], ar: dict) -> dict:
    if not template:
        return {"files": 0, "rows": 0, "bytes": 0}
    delta = day - REAL_FETCH_DAY

    def shift(text: str) -> str:
        return (dt.datetime.fromisoformat(text[:19]) + delta).strftime("%Y-%m-%dT%H:%M:%S") + text[19:]

    out = []
    for i, rep in template:
        rec = json.loads(json.dumps(real[i]))
        name = rec["location"] if not rep else f"{rec['location']} #{rep}"
        rec["date"] = {"utc": shift(rec["date"]["utc"]), "local": shift(rec["date"]["local"])}
        rec["location"] = name
        if isinstance(rec.get("value"), (int, float)) and rec["value"] > 0:
            rec["value"] = _round_like(real[i]["value"], rec["value"] * math.exp(ar[(rec.get("country"), name)]))
        out.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
    report = write_fetch_object(raw, day, out)
    return {k: report[k] for k in ("files", "rows", "bytes")}


def gsod_as_of(raw_root: Path | str, day: dt.date, out: Path | str) -> Path:
    """A copy of the GSOD bucket as it stood on ``day``: each current-year file cut after ``day``'s row."""
    src = Path(raw_root) / "noaa-gsod-pds" / f"{day:%Y}"
    dst = Path(out) / "noaa-gsod-pds" / f"{day:%Y}"
    dst.mkdir(parents=True, exist_ok=True)
    stop = f'","{(day + dt.timedelta(days=1)).isoformat()}"'
    for path in sorted(src.glob("*.csv")):
        text = path.read_text(encoding="utf-8")
        cut = text.find(stop)
        (dst / path.name).write_text(text if cut < 0 else text[: text.rfind("\n", 0, cut) + 1], encoding="utf-8")
    return Path(out)


# =============================================================================================
# The history
# =============================================================================================
def params_for(start: dt.date, days: int, locations: int, seed: int, stations: int | None = None,
               fetch_records: int | None = None, cities: int | None = None, countries: int | None = None) -> dict:
    """The full, defaulted parameter set (the cache key)."""
    cities = cities if cities is not None else max(1, round(locations * 0.026))
    countries = countries if countries is not None else max(1, min(cities, round(cities * 57 / 260)))
    return {"version": HISTORY_VERSION, "start": start.isoformat(), "days": days, "locations": locations,
            "seed": seed, "stations": stations if stations is not None else round(locations * 1.2),
            "fetch_records": fetch_records if fetch_records is not None else 3 * locations,
            "cities": cities, "countries": countries}


def generate_history(raw_root: Path | str, start: dt.date = DEFAULT_START, days: int = 14, locations: int = 10_000,
                     seed: int = 0, *, stations: int | None = None, fetch_records: int | None = None,
                     cities: int | None = None, countries: int | None = None, reuse: bool = True,
                     progress: bool = False) -> dict:
    """Write the history into ``raw_root`` (or reuse it); returns its summary (JSON-able dict):
    ``params``, ``raw_root``, ``days`` (ISO dates), ``cities`` (the chosen gazetteer cities:
    ``city_id, city, city_country``), per-day ``archive``/``fetches`` counts, ``gsod`` counts,
    ``reused``."""
    import numpy as np

    params = params_for(start, days, locations, seed, stations, fetch_records, cities, countries)
    raw = Path(raw_root)
    stamp = raw / "_generated.json"
    if reuse and (info := reused(raw, params)):
        return info
    last = start + dt.timedelta(days=days - 1)
    if last.year != start.year:
        raise ValueError("the history must stay within one calendar year (GSOD current-year files)")
    if raw.exists():
        shutil.rmtree(raw)
    raw.mkdir(parents=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    city_frame = choose_cities(params["cities"], params["countries"])

    # Locations: city, coordinates, name, real site and stretch, level.
    calendar, by_site = load_real_days()
    n = locations
    city, lat, lon = place_locations(rng, n, city_frame)
    ids = np.sort(rng.choice(3_000_000, size=n, replace=False) + 1)
    city_start = rng.integers(0, len(calendar) - days + 1, size=len(city_frame))
    city_level = np.exp(rng.normal(math.log(0.45), 0.5, size=len(city_frame)))
    remote_start = rng.integers(0, len(calendar) - days + 1, size=n)
    level = np.where(city >= 0, city_level[np.maximum(city, 0)], np.exp(rng.normal(math.log(0.3), 0.5, size=n)))
    level = np.clip(level * np.exp(rng.normal(0.0, 0.25, size=n)), 0.05, 1.2)
    suffix = rng.choice(len(NAME_SUFFIXES), size=n)
    number = rng.integers(0, 40, size=n)
    city_names = np.where(city >= 0, city_frame["city"].to_numpy()[np.maximum(city, 0)], "Remote")
    names = [f"{c} {NAME_SUFFIXES[s]}" + (f" {k}" if k > 20 else "") for c, s, k in zip(city_names, suffix, number)]
    locs = {
        "ids": ids, "lat": lat, "lon": lon,
        "names": [nm.replace(",", " ").replace('"', "") for nm in names],
        "tz": [city_frame["city_tz"].iloc[c] if c >= 0 else "" for c in city],
        "site": [SAMPLE_ARCHIVE_LOCATIONS[s] for s in rng.integers(0, len(SAMPLE_ARCHIVE_LOCATIONS), size=n)],
        "real_start": np.where(city >= 0, city_start[np.maximum(city, 0)], remote_start),
        "level": level,
    }

    # GSOD stations: a third next to the history's cities (so each has weather), the rest worldwide.
    n_st = params["stations"]
    near = min(n_st, max(len(city_frame), n_st // 3))
    st_city = np.arange(near) % len(city_frame)
    st_r = 30.0 * np.sqrt(rng.random(near))
    st_b = rng.random(near) * 2 * np.pi
    st_lat0 = city_frame["city_lat"].to_numpy()[st_city]
    st_lat = np.concatenate([np.clip(st_lat0 + st_r * np.cos(st_b) / 111.2, -89.9, 89.9), rng.uniform(-55, 70, n_st - near)])
    st_lon = np.concatenate([city_frame["city_lon"].to_numpy()[st_city]
                             + st_r * np.sin(st_b) / (111.2 * np.maximum(np.cos(np.radians(st_lat0)), 0.05)),
                             rng.uniform(-180, 180, n_st - near)])
    st_lon = (st_lon + 180.0) % 360.0 - 180.0
    st_names = np.concatenate([city_frame["city"].to_numpy()[st_city], np.full(n_st - near, "Field")]).astype(object)
    st_cc = np.concatenate([city_frame["city_country"].to_numpy()[st_city], np.full(n_st - near, "")]).astype(object)
    perm = rng.permutation(n_st)  # station ids are random: do not let the near ones sort first
    gsod = generate_gsod(raw, last, n_st, rng, places=(st_lat[perm], st_lon[perm], st_names[perm], st_cc[perm]))
    gsod.pop("station_ids", None)

    # Fetch records: the real object's, AR(1) on log value per location.
    real_fetch = load_real_fetch()
    template = _fetch_template(real_fetch, params["fetch_records"])
    fetch_locations = sorted({(real_fetch[i].get("country"), real_fetch[i]["location"] if not r else
                               f"{real_fetch[i]['location']} #{r}") for i, r in template})
    ar_state = dict(zip(fetch_locations, rng.normal(0.0, 0.3, size=len(fetch_locations))))

    per_day = []
    for k in range(days):
        day = start + dt.timedelta(days=k)
        t = time.perf_counter()
        if k:
            shocks = rng.normal(0.0, 0.3 * math.sqrt(1 - 0.7 ** 2), size=len(fetch_locations))
            ar_state = {key: 0.7 * v + e for (key, v), e in zip(ar_state.items(), shocks)}
        archive = write_archive_day(raw, day, locs, (calendar, by_site), k, rng)
        fetches = write_fetch_day(raw, day, real_fetch, template, ar_state)
        per_day.append({"date": day.isoformat(), "archive": archive, "fetches": fetches,
                        "seconds": round(time.perf_counter() - t, 2)})
        if progress:
            print(f"  {day}: {archive['files']:,} archive files, {archive['rows']:,} rows, "
                  f"{fetches['rows']:,} fetch records ({time.perf_counter() - t:.1f}s)", flush=True)

    located = city >= 0
    info = {
        "params": params, "raw_root": str(raw),
        "days": [d["date"] for d in per_day],
        "cities": city_frame[["city_id", "city", "city_country"]].astype({"city_id": int}).to_dict("records"),
        "countries": sorted(set(city_frame["city_country"])),
        "locations": {"total": n, "around_cities": int(located.sum()), "remote": int((~located).sum())},
        "per_day": per_day, "gsod": gsod,
        "totals": {"archive_files": sum(d["archive"]["files"] for d in per_day),
                   "archive_rows": sum(d["archive"]["rows"] for d in per_day),
                   "fetch_records": sum(d["fetches"]["rows"] for d in per_day),
                   "bytes": sum(d["archive"]["bytes"] + d["fetches"]["bytes"] for d in per_day) + gsod["bytes"]},
        "generation_seconds": round(time.perf_counter() - t0, 1),
    }
    stamp.write_text(json.dumps(info, default=str))
    info["reused"] = False
    return info


def default_root(params: dict, out: Path | str = OUT) -> Path:
    """``<out>/history-<hash of the parameters>``: where the CLI and benches cache a history."""
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    return Path(out) / f"history-{key}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--start", default=DEFAULT_START.isoformat(), help=f"first day (default {DEFAULT_START})")
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--locations", type=int, default=10_000)
    p.add_argument("--stations", type=int, help="GSOD stations (default 1.2 x locations)")
    p.add_argument("--fetch-records", type=int, help="fetch records per day (default 3 x locations)")
    p.add_argument("--cities", type=int, help="cities (default 2.6 %% of locations)")
    p.add_argument("--countries", type=int, help="countries (default 57 per 260 cities)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="the raw root to write (default bench/out/history-<hash>)")
    p.add_argument("--regenerate", action="store_true", help="generate again even if the same data exists")
    a = p.parse_args(argv)
    start = dt.date.fromisoformat(a.start)
    params = params_for(start, a.days, a.locations, a.seed, a.stations, a.fetch_records, a.cities, a.countries)
    root = Path(a.out) if a.out else default_root(params)
    info = generate_history(root, start, a.days, a.locations, a.seed, stations=a.stations,
                            fetch_records=a.fetch_records, cities=a.cities, countries=a.countries,
                            reuse=not a.regenerate, progress=True)
    t = info["totals"]
    print(f"{'reused' if info['reused'] else 'generated'} {info['raw_root']}: {len(info['days'])} days "
          f"{info['days'][0]} .. {info['days'][-1]}, {info['locations']['total']:,} locations around "
          f"{len(info['cities'])} cities in {len(info['countries'])} countries; {t['archive_files']:,} archive files "
          f"({t['archive_rows']:,} rows), {t['fetch_records']:,} fetch records, {info['gsod']['files']:,} GSOD files; "
          f"{t['bytes'] / 1e6:,.1f} MB" + ("" if info["reused"] else f" in {info['generation_seconds']} s"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
