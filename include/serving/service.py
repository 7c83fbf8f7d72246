"""The API's logic, independent of the web framework (FastAPI on a server, Mangum on Lambda):
city lookup, the forecast answer, the fallback when the endpoint fails, the share image.

Input safety: a city name is checked (length, characters) before anything else, and it never
becomes part of a path or an S3 key: keys are built from the gazetteer's numeric city id.
"""
from __future__ import annotations

import datetime as dt
import difflib
import json
import logging
import re
import threading
import time
from typing import Any, Callable, NamedTuple

from include.catalog import SNAPSHOT_LATEST, share_image
from include.categories import category_info
from include.serving.store import Store
from include.text import fold as _fold

log = logging.getLogger(__name__)
MAX_NAME = 80
# Letters and digits of any script, spaces and the punctuation real place names use.
_NAME_RE = re.compile(r"^[^\W_](?:[\w .,'’‘()\-]*[\w.)])?$", re.UNICODE)


class BadCityName(ValueError):
    """400: the name is too long or has characters no place name has."""


class UnknownCity(LookupError):
    """404: no forecast for that city; ``suggestions`` are close names that have one."""

    def __init__(self, name: str, suggestions: list[str]):
        super().__init__(f"no forecast for city {name!r}")
        self.suggestions = suggestions


class NoForecasts(RuntimeError):
    """503: nothing has been published yet."""


class BadSnapshot(NoForecasts):
    """503: the published snapshot cannot be used (corrupt or truncated JSON, wrong schema,
    unreadable) and no good one was loaded before."""


DEFAULT_TTL_S = 60.0  # Settings.snapshot_ttl_s (AQICAST_SNAPSHOT_TTL_S) through service_from_settings
_TEXT, _OPT_TEXT = (str,), (str, type(None))
_NUMBER = (int, float)
# What the answers read from each city of a snapshot, and the JSON types they accept.
CITY_FIELDS: dict[str, tuple[type, ...]] = {
    "city_id": (int,), "city": _TEXT, "country": _OPT_TEXT, "aqi_pred": _NUMBER,
    "aqi_lower": _NUMBER + (type(None),), "aqi_upper": _NUMBER + (type(None),),
    "dominant_pollutant": _OPT_TEXT, "method": _OPT_TEXT, "model_version": _OPT_TEXT, "issued_at": _OPT_TEXT,
    "history": (list,),
}


def _integral(value) -> bool:
    return value is None or (isinstance(value, _NUMBER) and not isinstance(value, bool) and float(value).is_integer())


def parse_snapshot(data: bytes) -> dict:
    """The snapshot document, checked for everything the answers use; :class:`BadSnapshot` (with
    a one-line reason) if it is not valid JSON or not a snapshot."""
    try:
        snap = json.loads(data)
    except UnicodeDecodeError as exc:
        raise BadSnapshot(f"{SNAPSHOT_LATEST} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise BadSnapshot(f"{SNAPSHOT_LATEST} is not valid JSON, corrupt or truncated ({exc.msg} at line {exc.lineno} "
                          f"column {exc.colno}, {len(data)} bytes)") from None
    if not isinstance(snap, dict):
        raise BadSnapshot(f"{SNAPSHOT_LATEST} is not a snapshot: a JSON {type(snap).__name__}, not an object")
    for key in ("issued_from", "forecast_date"):
        if not isinstance(snap.get(key), str):
            raise BadSnapshot(f"{SNAPSHOT_LATEST} is not a snapshot: {key!r} is missing or not a date")
    if not isinstance(snap.get("cities"), list):
        raise BadSnapshot(f"{SNAPSHOT_LATEST} is not a snapshot: 'cities' is missing or not a list")
    for i, c in enumerate(snap["cities"]):
        if not isinstance(c, dict):
            raise BadSnapshot(f"{SNAPSHOT_LATEST} is not a snapshot: cities[{i}] is not an object")
        for key, types in CITY_FIELDS.items():
            if key not in c or not isinstance(c[key], types) or isinstance(c[key], bool):
                raise BadSnapshot(f"{SNAPSHOT_LATEST} is not a snapshot: cities[{i}].{key} is missing or of the wrong type")
        if not all(_integral(c[k]) for k in ("aqi_pred", "aqi_lower", "aqi_upper")) or not c["city"].strip():
            raise BadSnapshot(f"{SNAPSHOT_LATEST} is not a snapshot: cities[{i}] has a non-integer AQI or an empty name")
        if not all(isinstance(h, list) and len(h) == 2 and isinstance(h[0], str)
                   and (h[1] is None or isinstance(h[1], _NUMBER)) for h in c["history"]):
            raise BadSnapshot(f"{SNAPSHOT_LATEST} is not a snapshot: cities[{i}].history is not [[date, aqi], ...]")
    return snap


def check_name(name: str) -> str:
    import unicodedata

    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise BadCityName("a city name has no control or invisible characters")
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise BadCityName(f"a city name has 1 to {MAX_NAME} characters (got {len(name)})")
    if not _NAME_RE.match(name):
        raise BadCityName("a city name has letters, digits, spaces and . , ' ( ) - only")
    return name


class _Loaded(NamedTuple):
    snap: dict
    index: dict[str, dict]
    raw: bytes


class ForecastService:
    """Reads the latest snapshot from ``store``, re-checked every ``ttl_s`` seconds (default
    ``Settings.snapshot_ttl_s``, ``$AQICAST_SNAPSHOT_TTL_S``, default 60).

    Bad state, chosen behaviour:

    * no snapshot and none loaded before: :class:`NoForecasts` (503, "run the daily pipeline");
    * a snapshot that is corrupt, truncated, of the wrong schema or unreadable, and none loaded
      before: :class:`BadSnapshot` (503) with the reason in one line;
    * a good snapshot was loaded before and the new one is bad or gone: keep serving the last good
      one and log a warning (once per distinct problem), so a bad publication never takes the API
      down; the next good snapshot is picked up at the next re-check.

    Readers never see half a file as long as writers replace it atomically (``Lake.put_bytes``,
    ``LocalStore.put``: temp file + rename; one PUT on S3); a half file written in place would be
    rejected by :func:`parse_snapshot` like any corrupt one. A snapshot (with its city index) is
    swapped in as one object, so a request never mixes two snapshots.
    """

    def __init__(self, store: Store, *, ttl_s: float | None = None,
                 predict: Callable[[list[str], list[Any]], float] | None = None,
                 background: Callable[[dict, dict], bytes | None] | None = None):
        self.store = store
        self.ttl_s = DEFAULT_TTL_S if ttl_s is None else float(ttl_s)
        self.predict = predict          # aws: the SageMaker endpoint, fed with the city's features
        self.background = background    # aws: Amazon Bedrock illustration
        self._loaded: _Loaded | None = None
        self._problem: NoForecasts | None = None
        self._loaded_at = 0.0
        self._checked = False
        self._lock = threading.Lock()

    # -- data -------------------------------------------------------------------------------------
    def _state(self) -> _Loaded:
        if not self._checked or time.monotonic() - self._loaded_at > self.ttl_s:
            with self._lock:
                if not self._checked or time.monotonic() - self._loaded_at > self.ttl_s:
                    self._refresh()
                    self._loaded_at, self._checked = time.monotonic(), True
        state = self._loaded
        if state is None:
            raise self._problem or NoForecasts("no forecasts have been published yet: run the daily pipeline (make run)")
        return state

    def _refresh(self) -> None:
        try:
            data = self.store.get(SNAPSHOT_LATEST)
        except Exception as exc:  # noqa: BLE001 - an unreadable store is a bad state, not a crash
            problem: NoForecasts = BadSnapshot(f"{SNAPSHOT_LATEST} could not be read ({type(exc).__name__}: {exc})")
        else:
            if data is None:
                problem = NoForecasts("no forecasts have been published yet: run the daily pipeline (make run)")
            elif self._loaded is not None and data == self._loaded.raw:
                self._problem = None  # unchanged (or the good one is back)
                return
            else:
                try:
                    snap = parse_snapshot(data)
                    self._loaded, self._problem = _Loaded(snap, self._build_index(snap), data), None
                    return
                except BadSnapshot as exc:
                    problem = exc
        if self._loaded is not None:
            if str(problem) != str(self._problem):
                log.warning("%s; still serving the last good snapshot (issued from %s)", problem,
                            self._loaded.snap["issued_from"])
        elif str(problem) != str(self._problem) and isinstance(problem, BadSnapshot):
            log.warning("%s; answering 503 until a good snapshot is published", problem)
        self._problem = problem

    def snapshot(self) -> dict:
        return self._state().snap

    @staticmethod
    def _build_index(snap: dict) -> dict[str, dict]:
        index: dict[str, dict] = {}
        for c in sorted(snap["cities"], key=lambda c: -(c.get("aqi_today") is not None)):
            index.setdefault(_fold(c["city"]), c)
            index.setdefault(str(c["city_id"]), c)
        return index

    def cities(self, prefix: str = "", limit: int = 20) -> list[dict]:
        snap = self._state().snap
        key = _fold(check_name(prefix)) if prefix else ""
        found = [c for c in snap["cities"] if _fold(c["city"]).startswith(key)]
        found.sort(key=lambda c: (_fold(c["city"]), c["country"]))
        return [{"city_id": c["city_id"], "city": c["city"], "country": c["country"]} for c in found[:limit]]

    def find(self, name: str, state: _Loaded | None = None) -> dict:
        state = state or self._state()
        name = check_name(name)
        hit = state.index.get(name if name.isdigit() else _fold(name))
        if hit is None:
            names = sorted({c["city"] for c in state.snap["cities"]})
            folded = {_fold(n): n for n in names}
            close = difflib.get_close_matches(_fold(name), list(folded), n=5, cutoff=0.6)
            starts = [n for f, n in folded.items() if f.startswith(_fold(name)[:3])] if len(name) >= 3 else []
            raise UnknownCity(name, list(dict.fromkeys([folded[c] for c in close] + starts))[:5])
        return hit

    # -- answers ----------------------------------------------------------------------------------
    def forecast(self, name: str, state: _Loaded | None = None) -> dict:
        state = state or self._state()
        snap, c = state.snap, self.find(name, state)
        aqi, fallback, reason = c["aqi_pred"], c["method"] != "model", None
        if fallback:
            reason = "no approved model yet: persistence (tomorrow = today)"
        if self.predict is not None and c.get("x") is not None and snap.get("features"):
            try:
                aqi = int(round(min(max(self.predict(snap["features"], c["x"]), 0), 500)))
                fallback, reason = False, None
            except Exception as exc:  # noqa: BLE001 - the endpoint failing must not fail the answer
                log.warning("endpoint failed for %s, serving the batch forecast: %s", c["city"], exc)
                fallback, reason = True, f"live model unavailable ({type(exc).__name__}); batch forecast of {snap['issued_from']}"
        info = category_info(aqi)
        return {
            "city": c["city"], "city_id": c["city_id"], "country": c["country"],
            "forecast_date": snap["forecast_date"], "issued_from": snap["issued_from"], "issued_at": c["issued_at"],
            "aqi": aqi, "aqi_range": [c["aqi_lower"], c["aqi_upper"]], "category": info["name"], "color": info["color"],
            "dominant_pollutant": c["dominant_pollutant"],
            "health": {"general": info["advice_general"], "sensitive_groups": info["advice_sensitive"],
                       "who_is_concerned": info["who_is_concerned"], "effects": info["health_effects"]},
            "model_version": c["model_version"], "method": c["method"], "fallback": fallback, "fallback_reason": reason,
            "history": [{"date": d, "aqi": a} for d, a in c["history"]],
            "image_url": f"/v1/forecast/{c['city_id']}/image",
        }

    def image(self, name: str) -> tuple[bytes | None, str | None]:
        """The share PNG (bytes) or, where the store can presign, its URL. Cached per (city, date)."""
        state = self._state()
        fc = self.forecast(name, state)
        c = self.find(name, state)
        key = share_image(fc["issued_from"], c["city_id"])  # never the raw name
        data = self.store.get(key)
        if data is None:
            from include.serving.image import render_share_image

            background = self.background(c, fc) if self.background else None
            history = [(dt.date.fromisoformat(h["date"]), h["aqi"]) for h in fc["history"]]
            data = render_share_image(city=c["city"], country=c["country"], day=dt.date.fromisoformat(fc["forecast_date"]),
                                      aqi=fc["aqi"], dominant=fc["dominant_pollutant"], history=history,
                                      background=background, ascii_city=c["city"])
            self.store.put(key, data, "image/png")
        url = self.store.url(key)
        return (None, url) if url else (data, None)
