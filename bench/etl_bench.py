"""ETL benchmark: one global-size day in the production raw formats, ``run_etl`` vs a baseline.

    python bench/etl_bench.py                       # ~10,000 locations, ~12,000 stations, 2024-06-15
    python bench/etl_bench.py --quick               # smoke run: 300 locations, 400 stations
    python bench/etl_bench.py --locations 5000 --stations 6000 --day 2024-03-01 --no-baseline

1. Generates (into ``bench/out/raw-<hash>/``, reused when the parameters are the same) one day D:

   * OpenAQ archive: one ``location-<ID>-<YYYYMMDD>.csv.gz`` per location for local day D, 6
     parameters x 24 end-of-hour stamps (01:00 .. next 00:00) with the location's UTC offset. Each
     location clones a real daily file of the in-repo Beijing archive sample (its value strings and
     its missing hours; PM2.5 is taken from days with 24 hours). Locations sit around gazetteer
     cities (population-weighted), offsets from the city's time zone on D.
   * NOAA GSOD: one current-year file ``noaa-gsod-pds/<YYYY>/<ID>.csv`` per station with Jan 1 .. D,
     each row's measurement fields copied verbatim from a real sample row of the same day of year
     (real quoting, %6.1f fields, STP 5-character rule, missing codes), ~0.5 % of days absent.
   * openaq-fetches: one ``realtime-gzipped/D/*.ndjson.gz`` object: the real 2018-06-07 fetch
     object's records, re-dated to D and replicated under suffixed location names (each of its
     (location, parameter, time) keys once: the real object repeats 905 of them).

2. Runs ``run_etl`` and the baseline (``bench/baseline_etl.py``) each in a fresh subprocess (peak RSS
   from ``os.wait4``), then a third instrumented ``run_etl`` run for the time breakdown.
3. Prints a table and writes ``bench/out/etl_bench.json``. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SAMPLE_RAW = REPO / "data" / "sample" / "raw"
OUT = REPO / "bench" / "out"
GENERATOR_VERSION = 5

ARCHIVE_HEADER = "location_id,sensors_id,location,datetime,lat,lon,parameter,units,value"
PARAMETERS = ("pm25", "pm10", "o3", "no2", "so2", "co")  # sensor index 1..6, file order
SAMPLE_ARCHIVE_LOCATIONS = ("9000001", "9000002", "9000003")  # UCI multi-site: all 6 parameters
SAMPLE_FETCH = SAMPLE_RAW / "openaq-fetches" / "realtime-gzipped" / "2018-06-07" / "realtime_2018-06-07_exobj.ndjson.gz"
NAME_SUFFIXES = ("Station", "Centre", "North", "South", "East", "West", "Airport", "Park", "Road", "School",
                 "Hospital", "Port", "Stadium", "University", "Market", "Bridge")
_GSOD_ROW = re.compile(r'^"([^"]*)","([^"]*)",([^,]*),([^,]*),([^,]*),"([^"]*)",(.*)$')


# =============================================================================================
# Generation
# =============================================================================================
def _gz(data: bytes) -> bytes:
    """gzip like the sample lake (level 9, mtime 0, OS=unix): byte-identical to its objects."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def _short(x: float, decimals: int) -> str:
    """Shortest decimal of ``x`` rounded to ``decimals`` ("39.982", "-106.584702", "12")."""
    s = f"{x:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def load_archive_templates() -> "np.ndarray":
    """Real daily profiles: array (n_days, 6 parameters, 24 hours) of value strings ('' = missing)."""
    import numpy as np

    base = SAMPLE_RAW / "openaq-data-archive" / "records" / "csv.gz"
    days = []
    for loc in SAMPLE_ARCHIVE_LOCATIONS:
        for path in sorted((base / f"locationid={loc}").rglob("*.csv.gz")):
            slots = [[""] * 24 for _ in PARAMETERS]
            for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()[1:]:
                f = line.split(",")
                hour = int(f[3][11:13])  # end of the period: 01..23, then 00 of the next day
                slots[PARAMETERS.index(f[6])][(hour - 1) % 24] = f[8]
            days.append(slots)
    return np.array(days, dtype=object)


def load_gsod_templates(day: dt.date) -> list[list[str | None]]:
    """Real GSOD series starting Jan 1 that have day D's day of year: per series, the measurement
    part of each row (TEMP .. FRSHTT, verbatim) by day-of-year index (None = absent)."""
    doy = day.timetuple().tm_yday
    series = []
    for path in sorted((SAMPLE_RAW / "noaa-gsod-pds").glob("*/*.csv")):
        lines = path.read_text(encoding="utf-8").splitlines()[1:]
        by_doy: list[str | None] = [None] * 366
        for line in lines:
            m = _GSOD_ROW.match(line)
            by_doy[dt.date.fromisoformat(m.group(2)).timetuple().tm_yday - 1] = m.group(7)
        if by_doy[0] is not None and by_doy[doy - 1] is not None:
            series.append(by_doy)
    if not series:
        raise SystemExit(f"no sample GSOD series covers Jan 1 and day-of-year {doy}")
    return series


def _places(rng, n: int, day: dt.date):
    """``n`` points around gazetteer cities (weighted by sqrt(population)), 4 % anywhere on land-ish
    latitudes. Returns lat, lon, UTC offset (minutes on D), city name, country code."""
    import numpy as np
    import zoneinfo

    from include.etl.cities import gazetteer

    g = gazetteer()
    w = np.sqrt(g["city_population"].to_numpy(dtype=float))
    pick = rng.choice(len(g), size=n, p=w / w.sum())
    r_km = 25.0 * np.sqrt(rng.random(n))
    bearing = rng.random(n) * 2 * np.pi
    lat0, lon0 = g["city_lat"].to_numpy()[pick], g["city_lon"].to_numpy()[pick]
    lat = np.clip(lat0 + r_km * np.cos(bearing) / 111.2, -89.9, 89.9)
    lon = lon0 + r_km * np.sin(bearing) / (111.2 * np.maximum(np.cos(np.radians(lat0)), 0.05))
    lon = (lon + 180.0) % 360.0 - 180.0
    offsets = np.zeros(n, dtype=int)
    noon = dt.datetime.combine(day, dt.time(12))
    tz_offset: dict[str, int] = {}
    for i, tz in enumerate(g["city_tz"].to_numpy()[pick]):
        if tz not in tz_offset:
            try:
                tz_offset[tz] = int(noon.replace(tzinfo=zoneinfo.ZoneInfo(tz)).utcoffset().total_seconds() // 60)
            except Exception:  # noqa: BLE001 - unknown zone name: fall back to solar time below
                tz_offset[tz] = 10_000
        offsets[i] = tz_offset[tz]
    remote = rng.random(n) < 0.04
    lat[remote] = rng.uniform(-55, 70, remote.sum())
    lon[remote] = rng.uniform(-180, 180, remote.sum())
    solar = (np.round(lon / 15.0) * 60).astype(int)
    offsets = np.where(remote | (offsets == 10_000), solar, offsets)
    names = np.where(remote, "Remote", g["city"].to_numpy()[pick]).astype(object)
    countries = np.where(remote, "", g["city_country"].to_numpy()[pick]).astype(object)
    return lat, lon, offsets, names, countries


def _offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def generate_archive(raw: Path, day: dt.date, n: int, rng) -> dict:
    import numpy as np

    templates = load_archive_templates()
    complete_pm25 = np.flatnonzero([(t[0] != "").all() for t in templates])
    pick = rng.choice(complete_pm25, size=n)
    ids = np.sort(rng.choice(3_000_000, size=n, replace=False) + 1)
    lat, lon, offsets, cities, _ = _places(rng, n, day)
    suffix = rng.choice(len(NAME_SUFFIXES), size=n)
    number = rng.integers(0, 40, size=n)
    base = raw / "openaq-data-archive" / "records" / "csv.gz"
    stamps = [dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=h) for h in range(1, 25)]
    stamp_text = [s.strftime("%Y-%m-%dT%H:%M:%S") for s in stamps]
    rows = files = nbytes = raw_bytes = 0
    for i in range(n):
        lid = int(ids[i])
        name = f"{cities[i]} {NAME_SUFFIXES[suffix[i]]}" + (f" {number[i]}" if number[i] > 20 else "")
        name = name.replace(",", " ").replace('"', "")
        off = _offset_text(int(offsets[i]))
        dts = [s + off for s in stamp_text]
        head = f"{lid},"
        mid = f",{name}-{lid},"
        lat_lon = f",{_short(lat[i], 6)},{_short(lon[i], 6)},"
        lines = [ARCHIVE_HEADER]
        for k, parameter in enumerate(PARAMETERS):
            values = templates[pick[i], k]
            pre = f"{head}{lid * 10 + k + 1}{mid}"
            post = f"{lat_lon}{parameter},µg/m³,"
            lines += [f"{pre}{dts[h]}{post}{v}" for h, v in enumerate(values) if v]
        body = ("\n".join(lines) + "\n").encode("utf-8")
        folder = base / f"locationid={lid}" / f"year={day:%Y}" / f"month={day:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        data = _gz(body)
        (folder / f"location-{lid}-{day:%Y%m%d}.csv.gz").write_bytes(data)
        rows += len(lines) - 1
        files += 1
        nbytes += len(data)
        raw_bytes += len(body)
    return {"files": files, "rows": rows, "bytes": nbytes, "uncompressed_bytes": raw_bytes,
            "location_ids": [str(x) for x in ids]}


def generate_gsod(raw: Path, day: dt.date, n: int, rng, places=None) -> dict:
    """``n`` current-year station files (Jan 1 .. D); ``places`` = ``(lat, lon, city names, country
    codes)`` of the stations, default ``_places`` (around gazetteer cities)."""
    import numpy as np

    series = load_gsod_templates(day)
    n_days = day.timetuple().tm_yday
    usaf = rng.choice(np.arange(10_000, 1_000_000), size=n, replace=False)
    wban = np.where(rng.random(n) < 0.8, 99999, rng.integers(0, 99999, size=n))
    ids = np.array([f"{u:06d}{w:05d}" for u, w in zip(usaf, wban)])
    order = np.argsort(ids)
    ids = ids[order]
    src = rng.integers(0, len(series), size=n)
    absent = rng.random((n, n_days)) < 0.005
    absent[:, -1] = False  # every station has day D
    if places is None:
        lat, lon, _, cities, countries = _places(rng, n, day)
    else:
        lat, lon, cities, countries = places
    elev = np.round(rng.gamma(1.5, 250.0, size=n), 1)
    no_meta = rng.random(n) < 0.03
    no_elev = rng.random(n) < 0.05
    dates = [(dt.date(day.year, 1, 1) + dt.timedelta(days=d)).isoformat() for d in range(n_days)]
    folder = raw / "noaa-gsod-pds" / f"{day:%Y}"
    folder.mkdir(parents=True, exist_ok=True)
    from include.etl.gsod import HEADER

    rows = nbytes = 0
    for i in range(n):
        sid = ids[i]
        if no_meta[i]:
            meta = ",,"
        else:
            meta = f'"{_short(lat[i], 3)}","{_short(lon[i], 3)}",'
        meta += "" if (no_meta[i] or no_elev[i]) else f'"{_short(elev[i], 1)}"'
        name = _ascii(f"{cities[i]} AIRPORT, {countries[i]}".upper()).replace('"', "")
        head = f'"{sid}","'
        tail = f'",{meta},"{name}",'
        s = series[src[i]]
        lines = [HEADER]
        for d in range(n_days):
            if absent[i, d] or s[d] is None:  # absent days stay absent, as in the real series
                continue
            lines.append(f"{head}{dates[d]}{tail}{s[d]}")
        body = ("\n".join(lines) + "\n").encode("utf-8")
        (folder / f"{sid}.csv").write_bytes(body)
        rows += len(lines) - 1
        nbytes += len(body)
    return {"files": n, "rows": rows, "rows_for_day": n, "bytes": nbytes, "station_ids": [str(s) for s in ids]}


def _key(rec: dict) -> tuple:
    """The ETL's identity of a fetch measurement: (country, location, parameter, local end, period)."""
    return (rec.get("country"), rec.get("location"), rec.get("parameter"), rec["date"]["local"][:19],
            json.dumps(rec.get("averagingPeriod"), sort_keys=True))


def generate_fetches(raw: Path, day: dt.date, n: int) -> dict:
    """``n`` records re-dated from the real 2018-06-07 fetch object (same key order and shapes).

    That object (fetched on 2018-06-07) mostly holds values of local day 2018-06-06; records are
    shifted by D - 2018-06-06 so that most of them belong to D, and the object is put in folder D.
    Past the first 7,444 records the object repeats with suffixed location names (``"<name> #2"``)."""
    if n <= 0:
        return {"files": 0, "rows": 0, "bytes": 0}
    real = gzip.decompress(SAMPLE_FETCH.read_bytes()).decode("utf-8").split("\n")
    real = [json.loads(line) for line in real if line.strip()]
    # The real object repeats 905 (country, location, parameter, time, period) keys: Israel's network
    # lists stations under two regions (same or other coordinates). The ETL keeps the first of each
    # key and quarantines the rest (12 % of the object); replicated, that would be 12 % of every
    # generated day's fetch rows, so each key is taken once.
    seen: set = set()
    real = [r for r in real if not (_key(r) in seen or seen.add(_key(r)))]
    delta = day - dt.date(2018, 6, 6)

    def shift(text: str) -> str:
        return (dt.datetime.fromisoformat(text[:19]) + delta).strftime("%Y-%m-%dT%H:%M:%S") + text[19:]

    out = []
    for k in range(n):
        rec = json.loads(json.dumps(real[k % len(real)]))
        rep = k // len(real)
        rec["date"] = {"utc": shift(rec["date"]["utc"]), "local": shift(rec["date"]["local"])}
        if rep:
            rec["location"] = f"{rec['location']} #{rep}"
        out.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
    return write_fetch_object(raw, day, out)


def reused(raw: Path, params: dict) -> dict | None:
    """The description of a raw root generated earlier with the same parameters, else None."""
    stamp = raw / "_generated.json"
    if stamp.exists():
        info = json.loads(stamp.read_text())
        if info.get("params") == params:
            return {**info, "reused": True}
    return None


def write_fetch_object(raw: Path, day: dt.date, lines: list[str]) -> dict:
    """Day D's fetch object (NDJSON lines, realtime-gzipped) in the bucket's layout."""
    body = "\n".join(lines).encode("utf-8")  # no trailing newline, like the real object
    folder = raw / "openaq-fetches" / "realtime-gzipped" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    data = _gz(body)
    (folder / f"realtime_{day.isoformat()}_bench.ndjson.gz").write_bytes(data)
    return {"files": 1, "rows": len(lines), "bytes": len(data), "uncompressed_bytes": len(body)}


def generate(out_dir: Path | str, day: dt.date, locations: int, stations: int, fetch_records: int,
             seed: int = 20240615, reuse: bool = True) -> dict:
    """Generate (or reuse) the raw root for ``day``; returns its description (``raw_root``, counts)."""
    import numpy as np

    params = {"version": GENERATOR_VERSION, "day": day.isoformat(), "locations": locations, "stations": stations,
              "fetch_records": fetch_records, "seed": seed}
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    raw = Path(out_dir) / f"raw-{key}"
    if reuse and (info := reused(raw, params)):
        return info
    if raw.exists():
        shutil.rmtree(raw)
    raw.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    info = {"params": params, "raw_root": str(raw)}
    info["archive"] = generate_archive(raw, day, locations, rng)
    info["gsod"] = generate_gsod(raw, day, stations, rng)
    info["fetches"] = generate_fetches(raw, day, fetch_records)
    info["generation_seconds"] = round(time.perf_counter() - t0, 1)
    (raw / "_generated.json").write_text(json.dumps(info))
    info["reused"] = False
    return info


def describe(info: dict) -> dict:
    a, g, f = info["archive"], info["gsod"], info["fetches"]
    return {
        "files": a["files"] + g["files"] + f["files"],
        "archive_rows": a["rows"], "gsod_rows_in_files": g["rows"], "gsod_rows_for_day": g["rows_for_day"],
        "fetch_records": f["rows"],
        "records_for_day": a["rows"] + g["rows_for_day"] + f["rows"],
        "records_scanned": a["rows"] + g["rows"] + f["rows"],
        "bytes_on_disk": a["bytes"] + g["bytes"] + f["bytes"],
        "bytes_uncompressed": a["uncompressed_bytes"] + g["bytes"] + f.get("uncompressed_bytes", 0),
    }


# =============================================================================================
# Children: one measured run each
# =============================================================================================
def _instrument(timings: dict, rss: dict) -> None:
    """Wrap the ETL's stages with wall-clock timers (keyed by the reader running at the time) and
    note the process's peak RSS after each top-level stage."""
    import functools
    import importlib

    import pandas as pd
    import pyarrow.csv
    import pyarrow.json

    from include import lake as lake_mod
    from include.etl import cities, daily, gsod, measurements, openaq_archive, openaq_fetches, pipeline, quarantine, rawio

    try:
        features = importlib.import_module("include.etl.features")
    except ImportError:  # pragma: no cover - older trees without features
        features = None
    current = ["etl"]

    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def wrap(owner, name, label, scope=True, note_rss=False):
        if owner is None or not hasattr(owner, name):
            return
        fn = getattr(owner, name)

        @functools.wraps(fn)
        def timed(*a, **k):
            key = f"{current[0]} / {label}" if scope else label
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timings[key] = timings.get(key, 0.0) + time.perf_counter() - t
                if note_rss:
                    rss[key] = round(peak_mb())

        setattr(owner, name, timed)

    def reader(source, fn):
        @functools.wraps(fn)
        def timed(*a, **k):
            current[0] = source
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timings[f"{source} (reader total)"] = time.perf_counter() - t
                rss[f"{source} (reader total)"] = round(peak_mb())
                current[0] = "etl"
        return timed

    for source, (find, read) in list(pipeline.READERS.items()):
        pipeline.READERS[source] = (find, reader(source, read))
    wrap(pipeline, "discover", "discover (ls)", scope=False)
    wrap(rawio.RawRoot, "cat", "raw.cat (read bytes)")
    wrap(gsod, "day_lines", "day_lines (byte search)")
    wrap(gsod, "to_curated", "to_curated")
    wrap(pyarrow.csv, "read_csv", "pyarrow.csv.read_csv")
    wrap(pyarrow.json, "read_json", "pyarrow.json.read_json")
    wrap(openaq_archive, "gunzip_many", "gunzip_many")
    wrap(openaq_archive, "parse_inflated", "parse_inflated (csv -> arrow)")
    wrap(openaq_archive, "_assemble", "_assemble (arrow -> pandas)")
    wrap(openaq_fetches, "parse_ndjson", "parse_ndjson")
    wrap(measurements, "clean", "measurements.clean")
    wrap(measurements, "_wall_time", "measurements._wall_time")
    wrap(quarantine, "from_frame", "quarantine.from_frame")
    wrap(pipeline, "air_quality_daily", "air_quality_daily", scope=False, note_rss=True)
    wrap(daily, "hourly_matrix", "daily.hourly_matrix", scope=False)
    wrap(daily, "assign_cities", "daily.assign_cities", scope=False)
    wrap(cities, "gazetteer", "cities.gazetteer (load)", scope=False)
    wrap(lake_mod.Lake, "write_partition", "lake.write_partition", scope=False, note_rss=True)
    wrap(pipeline, "build_features", "build_features", scope=False, note_rss=True)
    wrap(features, "city_weather", "features.city_weather", scope=False)
    wrap(features, "compute_features", "features.compute_features", scope=False)
    wrap(pd, "concat", "pandas.concat")


def child(args) -> None:
    """One measured run in this (fresh) process; writes its figures to ``args.result``."""
    import datetime as _dt

    day = _dt.date.fromisoformat(args.day)
    t_imp = time.perf_counter()
    # Warm-up import (untimed): the libraries every variant needs.
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401
    import pyarrow.csv  # noqa: F401
    import pyarrow.json  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    if args.child.startswith("aqicast"):
        from include.etl.pipeline import run_etl
        from include.etl.rawio import RawRoot
        from include.lake import Lake
    else:
        from bench.baseline_etl import run_baseline
    import_seconds = time.perf_counter() - t_imp
    rss_after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lake_root = Path(args.work) / f"lake-{args.child}"
    shutil.rmtree(lake_root, ignore_errors=True)
    timings: dict[str, float] = {}
    rss: dict[str, float] = {}
    result: dict = {"variant": args.child}
    if args.child == "aqicast-instrumented":
        _instrument(timings, rss)
    profiler = None
    if args.child == "aqicast-profile":
        import cProfile

        profiler = cProfile.Profile()

    t0 = time.perf_counter()
    cpu0 = time.process_time()
    if args.child.startswith("aqicast"):
        if profiler:
            profiler.enable()
        kwargs = {"with_features": False} if args.child == "aqicast-nofeatures" else {}
        report = run_etl(day, Lake(str(lake_root)), RawRoot(args.raw), **kwargs)
        if profiler:
            profiler.disable()
        result["report"] = report
    else:
        out = run_baseline(day, args.raw, str(lake_root))
        result["report"] = {"outputs": {"air_quality_daily": len(out["air_quality"]), "weather_daily": len(out["weather"])},
                            "measurements_kept": out["measurements"]}
    result["seconds"] = time.perf_counter() - t0
    result["cpu_seconds"] = time.process_time() - cpu0
    result["import_seconds"] = import_seconds
    result["rss_after_import_mb"] = rss_after_import / 1024
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["lake"] = str(lake_root)
    if timings:
        result["timings"] = {k: round(v, 3) for k, v in sorted(timings.items(), key=lambda kv: -kv[1])}
        result["peak_rss_mb_after"] = rss
    if profiler:
        import io
        import pstats

        s = io.StringIO()
        pstats.Stats(profiler, stream=s).sort_stats("cumulative").print_stats(40)
        result["profile_top"] = s.getvalue()
    Path(args.result).write_text(json.dumps(result, default=str))


def run_child(variant: str, raw_root: str, day: dt.date, work: Path) -> dict:
    """Run one variant in a fresh interpreter; peak RSS of that child from ``wait4``."""
    result = work / f"result-{variant}.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--raw", raw_root,
           "--day", day.isoformat(), "--work", str(work), "--result", str(result)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=str(REPO))
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{variant} run failed with exit code {proc.returncode}")
    out = json.loads(result.read_text())
    out["process_wall_seconds"] = wall
    out["wait4_maxrss_mb"] = usage.ru_maxrss / 1024
    return out


def compare_outputs(aqicast_lake: str, baseline_lake: str, day: dt.date) -> dict:
    """PM2.5 daily means of the two outputs, location by location."""
    import pandas as pd

    from include.lake import Lake

    aq = Lake(aqicast_lake).read_partition("curated/air_quality_daily", day)
    base = pd.read_parquet(Path(baseline_lake) / "air_quality_daily.parquet")
    both = aq[["location_id", "pm25_mean", "aqi_pm25"]].merge(
        base[["location_id", "pm25_mean", "aqi_pm25"]], on="location_id", suffixes=("", "_baseline"))
    valid = both["pm25_mean"].notna() & both["pm25_mean_baseline"].notna()
    diff = (both["pm25_mean"] - both["pm25_mean_baseline"]).abs()[valid]
    nan_mismatch = int((both["pm25_mean"].isna() != both["pm25_mean_baseline"].isna()).sum())
    aqi_equal = (both["aqi_pm25"] == both["aqi_pm25_baseline"]) | (both["aqi_pm25"].isna() & both["aqi_pm25_baseline"].isna())
    return {
        "locations_aqicast": len(aq), "locations_baseline": len(base), "locations_compared": int(valid.sum()),
        "pm25_mean_max_abs_diff": float(diff.max()) if len(diff) else float("nan"),
        "pm25_nan_mismatches": nan_mismatch,
        "aqi_pm25_equal_fraction": float(aqi_equal.mean()) if len(both) else float("nan"),
        "weather_rows_aqicast": len(Lake(aqicast_lake).read_partition("curated/weather_daily", day)),
        "weather_rows_baseline": len(pd.read_parquet(Path(baseline_lake) / "weather_daily.parquet")),
    }


def _has_features_flag() -> bool:
    """Whether this tree's ``run_etl`` also builds features (and can be told not to)."""
    import inspect

    from include.etl.pipeline import run_etl

    return "with_features" in inspect.signature(run_etl).parameters


def _warm_cache(raw_root: str) -> float:
    """Read every raw file once so both variants start with the same (warm) page cache."""
    t = time.perf_counter()
    for dirpath, _, names in os.walk(raw_root):
        for n in names:
            with open(os.path.join(dirpath, n), "rb") as fh:
                while fh.read(1 << 22):
                    pass
    return time.perf_counter() - t


# =============================================================================================
# Through the command line: `aqicast etl --date D` vs the baseline script, imports included
# =============================================================================================
def run_command(cmd: list[str]) -> dict:
    """One command in a fresh process: wall time, CPU (user + system) and peak RSS from ``wait4``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=str(REPO), stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "user_s": round(usage.ru_utime, 2), "sys_s": round(usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024)}


def cli_comparison(raw_root: str, day: dt.date, work: Path, repeats: int) -> dict:
    """``aqicast etl --date D`` and ``python bench/baseline_etl.py`` alternately, ``repeats`` times
    each, with this interpreter's environment (so its installed bytecode); best and median of each."""
    import statistics

    aqicast = str(Path(sys.executable).with_name("aqicast"))
    runs: dict[str, list[dict]] = {"aqicast etl": [], "baseline script": []}
    for i in range(repeats):
        lake = work / f"cli-lake-{i}"
        runs["aqicast etl"].append(run_command([aqicast, "etl", "--date", day.isoformat(), "--raw-root", raw_root,
                                                "--lake", str(lake)]))
        shutil.rmtree(lake, ignore_errors=True)
        runs["baseline script"].append(run_command([sys.executable, str(REPO / "bench" / "baseline_etl.py"), "--day",
                                                    day.isoformat(), "--raw-root", raw_root, "--out", str(work / "cli-base")]))
    out = {}
    for name, rs in runs.items():
        out[name] = {k: {"best": min(r[k] for r in rs), "median": statistics.median(r[k] for r in rs)}
                     for k in ("wall_s", "cpu_s", "peak_rss_mb")}
        out[name]["runs"] = rs
    a, b = out["aqicast etl"], out["baseline script"]
    out["speedup_wall_best"] = round(b["wall_s"]["best"] / a["wall_s"]["best"], 2)
    out["speedup_cpu_best"] = round(b["cpu_s"]["best"] / a["cpu_s"]["best"], 2)
    return out


def _print_cli(c: dict) -> None:
    print("\n" + "=" * 78)
    print("through the command line (fresh processes, imports included; best of the runs):")
    print(f"{'command':<18}{'wall s':>9}{'cpu s':>9}{'peak RSS MB':>13}")
    for name in ("aqicast etl", "baseline script"):
        x = c[name]
        print(f"{name:<18}{x['wall_s']['best']:>9.2f}{x['cpu_s']['best']:>9.2f}{x['peak_rss_mb']['best']:>13,.0f}")
    print(f"speedup baseline/aqicast: wall {c['speedup_wall_best']:.1f}x, cpu {c['speedup_cpu_best']:.1f}x")
    print("=" * 78)


# =============================================================================================
# Main
# =============================================================================================
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--day", default="2024-06-15", help="logical date D (default 2024-06-15)")
    p.add_argument("--locations", type=int, default=10_000, help="OpenAQ archive locations (default 10000)")
    p.add_argument("--stations", type=int, default=12_000, help="GSOD stations (default 12000)")
    p.add_argument("--fetch-records", type=int, default=30_000, help="realtime NDJSON records in D's folder (0: none)")
    p.add_argument("--seed", type=int, default=20240615)
    p.add_argument("--quick", action="store_true", help="smoke sizes: 300 locations, 400 stations, 2000 fetch records")
    p.add_argument("--out", default=str(OUT), help="where generated data and results go (default bench/out)")
    p.add_argument("--no-baseline", action="store_true", help="skip the baseline run")
    p.add_argument("--no-breakdown", action="store_true", help="skip the instrumented run_etl run")
    p.add_argument("--profile", action="store_true", help="also run run_etl under cProfile (top 40 by cumulative time)")
    p.add_argument("--regenerate", action="store_true", help="generate again even if the same data exists")
    p.add_argument("--cli", type=int, default=0, metavar="N",
                   help="only the command-line comparison, N runs each: `aqicast etl --date D` vs the baseline script")
    p.add_argument("--raw-root", help="use this generated raw root (e.g. a cached bench/out/raw-<hash>)")
    # internal: one measured child run
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--raw", help=argparse.SUPPRESS)
    p.add_argument("--work", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if args.quick:
        args.locations, args.stations, args.fetch_records = 300, 400, 2000

    day = dt.date.fromisoformat(args.day)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    if args.raw_root:
        info = json.loads((Path(args.raw_root) / "_generated.json").read_text())
        info["reused"], info["raw_root"] = True, args.raw_root
        day = dt.date.fromisoformat(info["params"]["day"])
    else:
        info = generate(out, day, args.locations, args.stations, args.fetch_records, args.seed, reuse=not args.regenerate)
    size = describe(info)
    print(f"data: {info['raw_root']} ({'reused' if info['reused'] else f'generated in {time.perf_counter() - t:.1f}s'})")
    print(f"  {size['files']:,} files, {size['bytes_on_disk'] / 1e6:,.1f} MB on disk "
          f"({size['bytes_uncompressed'] / 1e6:,.1f} MB uncompressed)")
    print(f"  archive: {info['archive']['files']:,} csv.gz, {info['archive']['rows']:,} rows, {info['archive']['bytes'] / 1e6:.1f} MB")
    print(f"  gsod:    {info['gsod']['files']:,} csv, {info['gsod']['rows']:,} rows ({info['gsod']['rows_for_day']:,} for D), "
          f"{info['gsod']['bytes'] / 1e6:.1f} MB")
    print(f"  fetches: {info['fetches']['files']} ndjson.gz, {info['fetches']['rows']:,} records, {info['fetches']['bytes'] / 1e6:.1f} MB")
    warm = _warm_cache(info["raw_root"])
    print(f"  page cache warmed in {warm:.1f}s")

    work = Path(tempfile.mkdtemp(prefix="etl-bench-", dir=out))
    if args.cli:
        try:
            cli = cli_comparison(info["raw_root"], day, work, args.cli)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        cli.update(day=day.isoformat(), size=size, machine={"cpus": os.cpu_count(), "python": sys.version.split()[0],
                                                           "load_avg_1m_at_end": os.getloadavg()[0]})
        (out / "etl_cli_bench.json").write_text(json.dumps(cli, indent=2))
        _print_cli(cli)
        print(f"\nwritten: {out / 'etl_cli_bench.json'}")
        return 0
    runs: dict[str, dict] = {}
    try:
        variants = ["aqicast"] + (["aqicast-nofeatures"] if _has_features_flag() else []) + \
                   ([] if args.no_baseline else ["baseline"]) + \
                   ([] if args.no_breakdown else ["aqicast-instrumented"]) + (["aqicast-profile"] if args.profile else [])
        for v in variants:
            print(f"running {v} ...", flush=True)
            runs[v] = run_child(v, info["raw_root"], day, work)
            print(f"  {runs[v]['seconds']:.2f}s, peak RSS {runs[v]['wait4_maxrss_mb']:.0f} MB", flush=True)
        comparison = compare_outputs(runs["aqicast"]["lake"], runs["baseline"]["lake"], day) if "baseline" in runs else None
    finally:
        shutil.rmtree(work, ignore_errors=True)

    a = runs["aqicast"]
    result = {
        "day": day.isoformat(), "params": info["params"], "raw_root": info["raw_root"], "size": size,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "aqicast": _summary(a, size),
        "targets": {"seconds": 20, "peak_rss_mb": 2048, "speedup_vs_baseline": 10},
    }
    if "aqicast-nofeatures" in runs:
        result["aqicast_without_features"] = _summary(runs["aqicast-nofeatures"], size)
    if "baseline" in runs:
        b = runs["baseline"]
        result["baseline"] = _summary(b, size)
        result["speedup"] = b["seconds"] / a["seconds"]
        if "aqicast-nofeatures" in runs:
            result["speedup_without_features"] = b["seconds"] / runs["aqicast-nofeatures"]["seconds"]
        result["memory_ratio_baseline_over_aqicast"] = b["wait4_maxrss_mb"] / a["wait4_maxrss_mb"]
        result["comparison"] = comparison
    if "aqicast-instrumented" in runs:
        r = runs["aqicast-instrumented"]
        result["breakdown_seconds"] = r.get("timings", {})
        result["breakdown_run_seconds"] = r["seconds"]
        result["breakdown_peak_rss_mb_after"] = r.get("peak_rss_mb_after", {})
    if "aqicast-profile" in runs:
        result["profile_top"] = runs["aqicast-profile"].get("profile_top")
        (out / "etl_profile.txt").write_text(result["profile_top"] or "")
    (out / "etl_bench.json").write_text(json.dumps(result, indent=2, default=str))
    _print_table(result)
    print(f"\nwritten: {out / 'etl_bench.json'}")
    return 0


def _summary(run: dict, size: dict) -> dict:
    s = run["seconds"]
    return {
        "seconds": round(s, 3), "cpu_seconds": round(run["cpu_seconds"], 3),
        "records_for_day_per_s": round(size["records_for_day"] / s), "records_scanned_per_s": round(size["records_scanned"] / s),
        "mb_scanned_per_s": round(size["bytes_on_disk"] / 1e6 / s, 1),
        "peak_rss_mb": round(run["wait4_maxrss_mb"], 1), "rss_after_import_mb": round(run["rss_after_import_mb"], 1),
        "import_seconds": round(run["import_seconds"], 3), "outputs": run["report"].get("outputs"),
        "report": run["report"],
    }


def _print_table(r: dict) -> None:
    s = r["size"]
    print("\n" + "=" * 78)
    print(f"ETL benchmark, day {r['day']} ({r['machine']['cpus']} CPUs, Python {r['machine']['python']})")
    print(f"input: {s['files']:,} files, {s['bytes_on_disk'] / 1e6:,.1f} MB; records for D {s['records_for_day']:,} "
          f"(archive {s['archive_rows']:,} + GSOD {s['gsod_rows_for_day']:,} + fetch {s['fetch_records']:,}); "
          f"rows scanned {s['records_scanned']:,}")
    print("-" * 78)
    cols = ["variant", "wall s", "cpu s", "rec(D)/s", "MB/s", "peak RSS MB", "aq rows", "wx rows"]
    print(f"{cols[0]:<10}{cols[1]:>9}{cols[2]:>9}{cols[3]:>11}{cols[4]:>8}{cols[5]:>13}{cols[6]:>9}{cols[7]:>9}")
    for name, label in (("aqicast", "aqicast"), ("aqicast_without_features", "aqicast-nf"), ("baseline", "baseline")):
        if name not in r:
            continue
        x = r[name]
        name = label
        o = x["outputs"] or {}
        print(f"{name:<10}{x['seconds']:>9.2f}{x['cpu_seconds']:>9.2f}{x['records_for_day_per_s']:>11,}"
              f"{x['mb_scanned_per_s']:>8.1f}{x['peak_rss_mb']:>13,.0f}{o.get('air_quality_daily', 0):>9,}{o.get('weather_daily', 0):>9,}")
    if "speedup" in r:
        c = r["comparison"]
        print("-" * 78)
        print(f"speedup baseline/aqicast: {r['speedup']:.1f}x"
              + (f" (without features: {r['speedup_without_features']:.1f}x)" if "speedup_without_features" in r else "")
              + f"   memory baseline/aqicast: {r['memory_ratio_baseline_over_aqicast']:.2f}x")
        print(f"PM2.5 daily mean, {c['locations_compared']:,} locations: max |aqicast - baseline| = "
              f"{c['pm25_mean_max_abs_diff']:.3g}; NaN mismatches {c['pm25_nan_mismatches']}; "
              f"AQI(pm25) equal {c['aqi_pm25_equal_fraction']:.2%}")
    t = r["targets"]
    a = r["aqicast"]
    print(f"targets (not asserted): < {t['seconds']} s -> {a['seconds']:.1f} s; < {t['peak_rss_mb']} MB -> "
          f"{a['peak_rss_mb']:.0f} MB" + (f"; >= {t['speedup_vs_baseline']}x -> {r['speedup']:.1f}x" if "speedup" in r else ""))
    if r.get("breakdown_seconds"):
        print("-" * 78)
        print(f"run_etl breakdown (instrumented run: {r['breakdown_run_seconds']:.2f}s; nested stages overlap):")
        peaks = r.get("breakdown_peak_rss_mb_after", {})
        for k, v in r["breakdown_seconds"].items():
            if v >= 0.01:
                print(f"  {v:8.2f}s  {k}" + (f"   (peak RSS so far {peaks[k]:,.0f} MB)" if k in peaks else ""))
    print("=" * 78)


if __name__ == "__main__":
    sys.exit(main())
