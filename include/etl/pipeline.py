"""The ETL for one logical date D: discover raw objects, read, clean, write D's partitions.

Outputs (each replaced atomically, so reruns and backfills are idempotent):

- ``curated/air_quality_daily/date=D/``  one row per location and local day D
- ``curated/weather_daily/date=D/``      one row per GSOD station and UTC day D
- ``curated/measurements_hourly/date=D/`` the accepted measurements behind the daily rows (AQI units)
- ``curated/city_hourly_profile/date=D/`` per city, how D ended (evening windows of the hourly values)
- ``quarantine/<source>/date=D/``        every rejected row with its reason (written even if empty)
- ``features/city_daily/date=D/`` (and D-1) one row per city: features and next-day target
- ``_runs/etl/date=D.json``               what was read, rejected, ignored and which objects failed;
  per source an ``accounting`` of every data line read (``ReadResult.accounting_report``)

Both backends run this same function: in-process on ``local``, inside the Glue job on ``aws``
(``include/glue_job.py``).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from include.etl import gsod, openaq_archive, openaq_fetches
from include.etl.cities import coverage
from include.etl.measurements import concat as concat_measurements
from include.etl.daily import air_quality_daily, hourly_means, row_codes
from include.etl.features import build_features, hourly_city_features
from include.catalog import AIR_QUALITY, MEASUREMENTS, PROFILE, WEATHER, quarantine, run_report
from include.config import EtlRules
from include.etl.rawio import RawRoot, ReadResult
from include.lake import Lake

log = logging.getLogger(__name__)

MEASUREMENT_COLUMNS = ["source", "location_id", "parameter", "unit", "value", "period_hours", "start_local"]

READERS: dict[str, tuple[Callable[[RawRoot, dt.date], list[str]], Callable[..., ReadResult]]] = {
    gsod.SOURCE: (gsod.discover, gsod.read_gsod_day),
    openaq_archive.SOURCE: (openaq_archive.discover, openaq_archive.read_archive_day),
    openaq_fetches.SOURCE: (openaq_fetches.discover, openaq_fetches.read_fetches_day),
}


def discover(raw: RawRoot, day: dt.date) -> dict[str, list[str]]:
    """The raw objects each source would read for ``day`` (the local backend's "crawler")."""
    return {source: find(raw, day) for source, (find, _) in READERS.items()}


def run_etl(day: dt.date, lake: Lake, raw: RawRoot, manifest: dict[str, list[str]] | None = None,
            with_features: bool = True, rules: EtlRules = EtlRules(), reader_processes: int = 1) -> dict:
    """Run the ETL for ``day`` and return the run report (also written to ``_runs/etl``).

    With ``with_features`` it also builds the feature partitions of D and D-1 (whose target, the
    AQI of D, is now known). ``reader_processes=2`` shares the reading with a helper process
    (``read_sources``): the same results, sooner."""
    t0 = time.perf_counter()
    manifest = manifest or discover(raw, day)
    results = read_sources(raw, day, manifest, rules, processes=reader_processes)
    import pandas as pd

    # The sources' rows without their ``file`` (only each source's accounting reads it), text
    # dictionary-encoded where a reader gave it so (``measurements.concat``).
    rows = [r.data.drop(columns="file", errors="ignore") for s, r in results.items() if s != gsod.SOURCE and len(r.data)]
    measurements = concat_measurements(rows) if rows else None
    # With the reader helper still there, it assigns the locations' cities and computes the hourly
    # profile (from the hourly means, ~200 bytes a series) while the daily statistics are computed
    # here, and then writes the largest partition (a global day: 1.4 M rows, ~0.3 s of Arrow,
    # Parquet and zstd); without it, a thread writes that partition meanwhile. Any failure is
    # raised here, once the write has finished.
    frame = measurements[MEASUREMENT_COLUMNS] if measurements is not None else pd.DataFrame(columns=MEASUREMENT_COLUMNS)
    codes = row_codes(measurements) if measurements is not None else None
    helped = _cities_and_profile_helped(measurements, codes, day, rules) if measurements is not None else None
    hourly = hourly_means(measurements, codes) if measurements is not None else None
    if helped is not None:
        helped.send_hourly(hourly)
    written = _written_by_helper(lake, MEASUREMENTS, day, frame) if helped is not None else None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aqicast-write") as writer:
        if written is None:
            written = writer.submit(lake.write_partition, MEASUREMENTS, day, frame).result
        if helped is not None:
            aq = air_quality_daily(measurements, day, rules=rules, codes=codes, hourly=hourly,
                                   cities=helped.cities)
            profile = helped.profile()
        elif measurements is not None:
            aq = air_quality_daily(measurements, day, rules=rules, codes=codes, hourly=hourly)
            profile = hourly_city_features(measurements, aq, day, hourly=hourly)
        else:
            aq = air_quality_daily_empty()
            profile = hourly_city_features(None, aq, day)
        weather = results[gsod.SOURCE].data

        lake.write_partition(AIR_QUALITY, day, aq)
        lake.write_partition(PROFILE, day, profile)
        lake.write_partition(WEATHER, day, weather)
        for source, result in results.items():
            lake.write_partition(quarantine(source), day, result.quarantine)
        # The features read the partitions just written, not the one being written meanwhile.
        features = build_features(lake, day, rules=rules) if with_features else None
        written()

    report = {
        "date": day.isoformat(),
        "seconds": round(time.perf_counter() - t0, 3),
        "outputs": {"air_quality_daily": len(aq), "weather_daily": len(weather)},
        "cities": coverage(aq),
        "sources": {
            source: {
                "objects_read": r.files,
                "rows_kept": len(r.data),
                "rows_quarantined": len(r.quarantine),
                "rows_ignored": sum(r.ignored.values()),
                "ignored_parameters": r.ignored,
                "failed_objects": [f.as_dict() for f in r.failures],
                "quarantine_reasons": _reason_counts(r.quarantine),
                "accounting": r.accounting_report(),
            }
            for source, r in results.items()
        },
    }
    report["failed_objects"] = sum(len(r.failures) for r in results.values())
    if with_features:
        report["features"] = features
    lake.write_json(lake.path(run_report(day)), report)
    for r in results.values():
        for f in r.failures:
            log.error("%s: object failed and was skipped: %s", day, f.error)
    return report


#: The sources a helper process reads when ``read_sources`` has two processes. Before them, it and
#: this process share the archive: its objects are cut into ``ARCHIVE_SLICES`` slices, and each
#: process fetches, inflates and parses the next slice nobody has claimed yet (a counter in shared
#: memory) until none is left, so the split follows whatever each is slowed by. Then the helper
#: reads GSOD while this process puts the archive's rows together and cleans them, and
#: ``SHARED_SOURCES`` are read by whichever of the two gets to them first (claimed like the
#: slices): on a global day the reading's ~7 s of CPU split about evenly over two cores, and a
#: helper slowed down (a cold page cache under GSOD's 12,000 files) does not hold this process up.
#: (Cleaning a share of the rows in the helper as well gained nothing measurable: cleaned rows are
#: plain text, several times the size to send back.)
HELPER_SOURCES = (gsod.SOURCE,)
SHARED_SOURCES = (openaq_fetches.SOURCE,)
ARCHIVE_SLICES = 16
#: The archive slices the helper leaves to this process (of ``ARCHIVE_SLICES``; as many sixteenths
#: of fewer slices: none on a small day): after the slices, the helper's GSOD and fetches (~0.6 s
#: on a global day) outweigh this process's assembling and cleaning (~0.4 s).
HELPER_LEAVES = 3
_DEFAULT_READERS = dict(READERS)
_helper = None  # the helper process's pool (forked once, reused for the following days)
_claims = None  # the archive slices claimed so far (shared with the helper: created before its fork)
_claimed_sources = None  # per ``SHARED_SOURCES`` entry, 1 once a process has claimed it (likewise)


def _read(raw: RawRoot, day: dt.date, manifest: dict[str, list[str]], rules: EtlRules,
          sources) -> dict[str, ReadResult]:
    results = {}
    for source in sources:
        t = time.perf_counter()
        results[source] = READERS[source][1](raw, day, manifest.get(source, []), rules=rules)
        log.info("%s %s: %d rows in %.2fs", day, source, len(results[source].data), time.perf_counter() - t)
    return results


def _read_in_helper(raw: RawRoot, day: dt.date, manifest: dict[str, list[str]], rules: EtlRules) -> dict[str, ReadResult]:
    results = _read(raw, day, manifest, rules, HELPER_SOURCES)
    results.update(_read(raw, day, manifest, rules, _claim_sources()))
    return results


def _claim_sources() -> list[str]:
    """The ``SHARED_SOURCES`` no process has claimed yet, now claimed by this one."""
    mine = []
    with _claimed_sources.get_lock():
        for k, source in enumerate(SHARED_SOURCES):
            if not _claimed_sources[k]:
                _claimed_sources[k] = 1
                mine.append(source)
    return mine


def _no_other_python_threads() -> bool:
    """Whether this process runs no Python thread but this one: only then is the helper forked.

    The native threads an import starts (OpenBLAS's pool, jemalloc's background thread) hold no
    lock while idle and their libraries re-arm them in the child (``pthread_atfork``), as every
    forked pandas worker relies on; a Python thread (a server's, a pool's) may hold any lock."""
    import threading

    return threading.active_count() == 1


def _helper_pool():
    """The helper process, forked the first time it is asked for (None if it cannot be: then
    everything is read here); ``close_helper`` ends it. A fork, not a fresh interpreter: a test's
    or a bench's patches apply in it. It is forked after pandas and pyarrow are imported (this
    module imports them): forked before, it imported them again itself (its first slice's
    pyarrow-to-numpy conversion imports pandas), 0.6 s of CPU that two importing processes took
    longer over than one (the archive's slices were done 0.2 s later)."""
    global _helper, _claims, _claimed_sources
    if _helper is None:
        import multiprocessing
        import warnings
        from concurrent.futures import ProcessPoolExecutor

        if "fork" not in multiprocessing.get_all_start_methods() or not _no_other_python_threads():
            return None
        sweep_shipped()
        _claims = multiprocessing.get_context("fork").Value("i", 0)
        _claimed_sources = multiprocessing.get_context("fork").Array("b", len(SHARED_SOURCES))
        with warnings.catch_warnings():  # Python 3.12 counts the idle native threads above too
            warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
            # The fork method forks the pool's process now, before the pool's own threads start.
            _helper = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                                          initializer=die_with_parent, initargs=(os.getpid(),))
            _helper.submit(int).result()
    return _helper


def die_with_parent(parent: int | None) -> None:
    """A pool worker's initializer (the reader helper's, ``--jobs`` workers'): end when the process
    that started it ends, even killed (a SIGKILL, an out-of-memory kill, an Airflow task timeout
    run no cleanup; a forked worker would otherwise wait for work for ever, holding its memory, or
    finish a partition the killed run had given it). ``parent``: the forking process's pid (None
    when the worker was not forked from it)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):  # no prctl: not Linux
        pass
    if parent is not None and os.getppid() != parent:  # it ended before the line above
        os._exit(1)


def close_helper() -> None:
    """End the helper process (``app.ingest.etl`` does after each range: no pool thread is left
    running when the process forks again, e.g. for ``--jobs 2``)."""
    global _helper
    if _helper is not None:
        _helper.shutdown(cancel_futures=True)  # after an error here, the work still queued is not done
        _helper = None


def read_sources(raw: RawRoot, day: dt.date, manifest: dict[str, list[str]], rules: EtlRules = EtlRules(),
                 processes: int = 1) -> dict[str, ReadResult]:
    """Every source's ``ReadResult`` for ``day`` (in ``READERS`` order). With ``processes=2`` a
    helper process parses its share of the archive's slices and then reads ``HELPER_SOURCES``
    (see there), when it can: a plain ``RawRoot`` (pickled to the helper) and the standard
    readers; otherwise everything is read here, and what the helper could not do (it died) is
    done here (logged)."""
    from concurrent.futures.process import BrokenProcessPool

    global _helper
    pool = None
    if processes >= 2 and type(raw) is RawRoot and READERS == _DEFAULT_READERS:
        pool = _helper_pool()
    if pool is None:
        return _read(raw, day, manifest, rules, READERS)
    archive = openaq_archive.SOURCE
    paths = manifest.get(archive, [])
    slices = _slices(paths, ARCHIVE_SLICES)
    _claims.value = 0  # the helper has finished the day before: no slice is claimed
    _claimed_sources[:] = [0] * len(SHARED_SOURCES)
    shared = pool.submit(_parse_claimed, raw, slices, HELPER_LEAVES * len(slices) // ARCHIVE_SLICES)
    future = pool.submit(_read_in_helper, raw, day, {s: manifest.get(s, []) for s in HELPER_SOURCES + SHARED_SOURCES},
                         rules)
    log.info("%s: the %s objects parsed in %d slices shared with a helper process, which then reads %s "
             "(and %s, unless this process gets there first)", day, archive, len(slices), ", ".join(HELPER_SOURCES),
             ", ".join(SHARED_SOURCES))
    t = time.perf_counter()
    parsed = dict(_parse_claimed(raw, slices))
    try:
        theirs = dict(shared.result())
    except BrokenProcessPool:
        theirs = {}
        log.warning("%s: the reader helper process died; parsing its %s slices here", day, archive)
    log.info("%s %s: %d of %d slices parsed in the helper process", day, archive, len(theirs), len(slices))
    parsed.update(theirs)
    del shared, theirs
    # A slice claimed by a helper that died is parsed here; each is let go once its rows are taken.
    ordered = (parsed.pop(k) if k in parsed else openaq_archive.parse_slice(raw, part) for k, part in enumerate(slices))
    data = READERS[archive][1](raw, day, paths, rules=rules, parsed=ordered)
    results = {archive: data}
    log.info("%s %s: %d rows in %.2fs", day, archive, len(data.data), time.perf_counter() - t)
    results.update(_read(raw, day, manifest, rules, _claim_sources()))
    try:
        results.update(future.result())
    except BrokenProcessPool:
        left = [s for s in HELPER_SOURCES + SHARED_SOURCES if s not in results]
        log.warning("%s: the reader helper process died; reading %s here", day, ", ".join(left))
        _helper = None
        results.update(_read(raw, day, manifest, rules, left))
    return {source: results[source] for source in READERS}


def _slices(paths: list[str], n: int) -> list[list[str]]:
    """``paths`` cut into at most ``n`` consecutive slices, in the order ``RawRoot.cat`` reads them
    (sorted, each once), so the slices' results in order are the whole read's. Paths it would
    expand (a glob, a relative path) stay in one slice."""
    from include.etl.rawio import plain_paths

    if not plain_paths(paths):
        return [list(paths)]
    ordered = sorted(set(paths))
    size = max(1, -(-len(ordered) // n))
    return [ordered[i:i + size] for i in range(0, len(ordered), size)] or [[]]


def _claim(n: int, leave: int = 0) -> int | None:
    """The next archive slice of ``n`` nobody has claimed (this process or the helper), or None;
    None too once only ``leave`` slices are left."""
    with _claims.get_lock():
        k = _claims.value
        if k >= n - leave:
            return None
        _claims.value = k + 1
        return k


def _parse_claimed(raw: RawRoot, slices: list[list[str]], leave: int = 0) -> list[tuple[int, "openaq_archive.Parsed"]]:
    """Claim and parse slices until none is left (in either process): ``(slice number, parsed)``."""
    out = []
    while (k := _claim(len(slices), leave)) is not None:
        out.append((k, openaq_archive.parse_slice(raw, slices[k])))
    return out


def _cities_and_profile_helped(measurements, codes, day: dt.date, rules: EtlRules) -> "_Helped | None":
    """With the reader helper still there (``read_sources`` had two processes): the locations'
    cities and the day's hourly profile computed there (:class:`_Helped`), or None."""
    from include.etl.daily import location_rows

    if _helper is None:
        return None
    log.info("%s: the locations' cities and the hourly profile computed in the helper process", day)
    return _Helped(location_rows(measurements, codes), day, rules)


class _Helped:
    """The locations' cities, assigned in the reader helper as soon as the locations' rows are
    known, and the day's hourly profile, computed there once the hourly means are
    (:meth:`send_hourly`, ~200 bytes a series), while this process computes the hourly means and
    the daily statistics (which need the cities only at their end: :meth:`cities`; then
    :meth:`profile`). What the helper could not do (it died) is done here."""

    def __init__(self, locations, day: dt.date, rules: EtlRules) -> None:
        self.locations, self.day, self.rules, self.hourly = locations, day, rules, None
        self.sent = [_ship((locations, rules))]
        self.futures = [_helper.submit(_shipped, _assign_cities_kept, self.sent[0])]
        self._cities = self._profile = None

    def send_hourly(self, hourly) -> None:
        from concurrent.futures.process import BrokenProcessPool

        self.hourly = hourly
        self.sent.append(_ship((hourly, self.day)))
        try:
            self.futures.append(_helper.submit(_shipped, _profile_of_kept, self.sent[-1]))
        except (BrokenProcessPool, AttributeError):  # it died already (AttributeError: _helper is None)
            pass

    def cities(self):
        """The cities (waiting for the helper's first task only)."""
        from concurrent.futures.process import BrokenProcessPool

        global _helper
        if self._cities is None:
            try:
                self._cities = _unship(self.futures[0].result())
            except BrokenProcessPool:
                log.warning("%s: the reader helper process died; assigning cities and profiling here", self.day)
                _helper = None
                self._cities, self._profile = _cities_and_profile(self.locations, self.hourly, self.day, self.rules)
                self._unlink()
        return self._cities

    def profile(self):
        from concurrent.futures.process import BrokenProcessPool

        global _helper
        cities = self.cities()
        if self._profile is None:
            try:
                if len(self.futures) < 2:
                    raise BrokenProcessPool("the profile was not submitted")
                self._profile = _unship(self.futures[1].result())
            except BrokenProcessPool:
                log.warning("%s: the reader helper process died; profiling here", self.day)
                _helper = None
                self._profile = _profile(cities, self.hourly, self.day)
            self._unlink()
        return self._profile

    def _unlink(self) -> None:
        for path in self.sent:  # if the helper died before reading them
            _unlink(path)


def _written_by_helper(lake: Lake, table: str, day: dt.date, frame):
    """With the reader helper still there and a plain ``Lake`` (pickled to the helper): the
    partition ``table`` of ``day`` written there, after the work already given to it. Returns a
    function that waits for the write (raising its error; written here if the helper died
    meanwhile), or None."""
    from concurrent.futures.process import BrokenProcessPool

    if _helper is None or type(lake) is not Lake:
        return None
    sent = _ship((lake, table, day, frame))
    future = _helper.submit(_shipped, _write_partition, sent)

    def result():
        global _helper
        try:
            return _unship(future.result())
        except BrokenProcessPool:
            log.warning("%s: the reader helper process died; writing %s here", day, table)
            _helper = None
            return lake.write_partition(table, day, frame)
        finally:
            _unlink(sent)

    return result


def _write_partition(lake: Lake, table: str, day: dt.date, frame) -> str:
    return lake.write_partition(table, day, frame)


def _ship(obj) -> str:
    """``obj`` pickled into a file in shared memory (``/dev/shm`` where there is one), for the
    other process to :func:`_unship`. Sent through the pool's pipe instead, the ~14 MB of a global
    day's hourly means arrived ~0.1 s late: the pool's threads write a pipe 64 KB at a time, each
    time waiting for the GIL that this process's computation holds."""
    import pickle
    import tempfile

    fd, path = tempfile.mkstemp(prefix=f"{_SHIPPED}{os.getpid()}-", suffix=".pickle", dir=_ship_folder())
    with os.fdopen(fd, "wb") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


#: The name of what ``_ship`` writes starts with this and the writer's pid.
_SHIPPED = "aqicast-"


def _ship_folder() -> str | None:
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def sweep_shipped() -> int:
    """Remove what ``_ship`` wrote in processes that have ended (a killed run's arguments and
    results: the shared-memory folder is RAM); done when a helper is forked. Returns how many."""
    import glob
    import tempfile

    removed = 0
    for path in glob.glob(os.path.join(_ship_folder() or tempfile.gettempdir(), f"{_SHIPPED}*-*.pickle")):
        pid = os.path.basename(path)[len(_SHIPPED):].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:  # ended: nobody will read it
            _unlink(path)
            removed += 1
        except PermissionError:  # another user's live process
            pass
    return removed


def _unship(path: str):
    """The object :func:`_ship` wrote to ``path`` (the file is removed)."""
    import pickle

    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    finally:
        _unlink(path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _shipped(function, path: str) -> str:
    """In the helper: ``function`` of the arguments shipped to ``path``, its result shipped back."""
    return _ship(function(*_unship(path)))


def _cities_and_profile(locations, hourly, day: dt.date, rules: EtlRules):
    """``cities.assign_cities`` and ``features.city_profile`` from the locations' rows and the
    hourly means alone: what ``air_quality_daily`` and ``hourly_city_features`` give."""
    from include.etl.cities import assign_cities

    cities = assign_cities(locations, rules)  # indexed like ``locations``: by location_id
    return cities, _profile(cities, hourly, day)


def _profile(cities, hourly, day: dt.date):
    """``features.city_profile`` of the hourly means with each monitor's city from ``cities``."""
    from include.etl.features import _city_of, city_profile, monitor_hours

    monitors = monitor_hours(hourly)
    return city_profile(monitors, _city_of(cities[["city_id"]].reset_index(), monitors.locations), day)


#: In the helper: the cities a day's first task assigned, for its next task's profile (the
#: helper runs its tasks one after the other).
_kept: dict = {}


def _assign_cities_kept(locations, rules: EtlRules):
    from include.etl.cities import assign_cities

    _kept["cities"] = assign_cities(locations, rules)
    return _kept["cities"]


def _profile_of_kept(hourly, day: dt.date):
    return _profile(_kept.pop("cities"), hourly, day)


def _reason_counts(q) -> dict[str, int]:
    if q is None or q.empty:
        return {}
    # Group messages by their fixed part ("value above physical plausibility: 2000 ..." -> "value above ...").
    return {str(k): int(v) for k, v in q["reason"].str.split(":").str[0].value_counts().items()}


def air_quality_daily_empty():
    from include.etl.daily import empty_frame

    return empty_frame()
