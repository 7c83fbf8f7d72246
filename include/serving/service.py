"""The API's logic, independent of the web framework (FastAPI on a server, Mangum on Lambda):
city lookup, the forecast answer, the fallback when the endpoint fails, the share image.

Input safety: a city name is checked (length, characters) before anything else, and it never
becomes part of a path or an S3 key: keys are built from the gazetteer's numeric city id.
"""
from __future__ import annotations

import bisect
import datetime as dt
import difflib
import json
import logging
import re
import threading
import time
from typing import Any, Callable, NamedTuple

from include.catalog import SNAPSHOT_LATEST, share_image
from include.categories import SCALE_CODES, scale_for_country
from include.serving import i18n
from include.serving.store import Store
from include.text import search_key

log = logging.getLogger(__name__)
MAX_NAME = 80
# Letters, combining marks (Devanagari vowel signs, Thai tones...) and digits of any script, spaces
# and the punctuation real place names use (the gazetteer's 34,006 names and their prefixes, tested):
# a name starts with a letter or digit, or an apostrophe before one ("‘Ibrī", "'s-Hertogenbosch"),
# holds / & and – ("Biel/Bienne", "Estate (I & II)", "Rosemont–La Petite-Patrie"), and may end with
# any of them ("Homyel'", and the prefixes "N'" of "N'Djamena", "I-" of "I-n-Tillit"). The marks are
# written out as their own class because Python's \w has no combining marks ("मुंबई").
_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0900-\u0dff" \
         "\u0e31-\u0e3a\u0e47-\u0e4e\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\u3099\u309a\ufe20-\ufe2f"
_NAME_RE = re.compile(rf"^['‘’`]?[^\W_][\w{_MARKS} .,'’‘`()/&\-–]*$", re.UNICODE)


class BadCityName(ValueError):
    """400: the name is too long or has characters no place name has."""


class UnknownCity(LookupError):
    """404: no forecast for that city; ``suggestions`` are close names that have one."""

    def __init__(self, name: str, suggestions: list[str]):
        super().__init__(f"no forecast for city {name!r}")
        self.suggestions = suggestions


class NoScale(LookupError):
    """400: the city has no forecast in the scale asked for."""


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
        nat = c.get("national")
        if nat is not None and not (
                isinstance(nat, dict) and nat.get("scale") in SCALE_CODES
                and all(isinstance(nat.get(k), _NUMBER) and not isinstance(nat.get(k), bool) and _integral(nat.get(k))
                        for k in ("aqi_pred",))
                and all(nat.get(k) is None or (isinstance(nat.get(k), _NUMBER) and _integral(nat.get(k)))
                        for k in ("aqi_lower", "aqi_upper"))
                and isinstance(nat.get("history", []), list)
                and all(v is None or isinstance(v, _NUMBER) for v in nat.get("history", []))
                and isinstance(nat.get("dominant_pollutant"), _OPT_TEXT)):
            raise BadSnapshot(f"{SNAPSHOT_LATEST} is not a snapshot: cities[{i}].national is not a national forecast")
    return snap


def check_name(name: str) -> str:
    import unicodedata

    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise BadCityName("a city name has no control or invisible characters")
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise BadCityName(f"a city name has 1 to {MAX_NAME} characters (got {len(name)})")
    if not _NAME_RE.match(name):
        raise BadCityName("a city name has letters, digits, spaces and . , ' ’ ` ( ) / & - – only")
    return name


class NameIndex:
    """Every city of a snapshot by every name it has, built once per snapshot: the gazetteer name,
    the GeoNames id and the alternate names of the names document (any script), all as
    :func:`include.text.search_key` keys (case- and accent-insensitive).

    ``exact`` answers a full name in one dict lookup; ``keys`` (sorted) answers a prefix with a
    bisection; ``suggest`` (on a miss only) adds close spellings of the gazetteer names. Where two
    cities share a key, the one with today's AQI known wins, then the first in the snapshot."""

    def __init__(self, cities: list[dict], names: dict[str, dict]):
        self.cities = cities
        self.exact: dict[str, dict] = {}
        self.display: dict[int, dict[str, str]] = {}
        pairs: set[tuple[str, int]] = set()
        by_id = {c["city_id"]: c for c in cities}
        ranked = sorted(range(len(cities)), key=lambda i: (cities[i].get("aqi_today") is None, i))
        for i in ranked:
            c = cities[i]
            extra = names.get(str(c["city_id"])) or {}
            keys = [search_key(c["city"]), *(k for k in extra.get("keys", ()) if isinstance(k, str))]
            for k in dict.fromkeys(k for k in keys if k):
                self.exact.setdefault(k, c)
                pairs.add((k, i))
            self.exact.setdefault(str(c["city_id"]), c)
            zh = extra.get("zh-Hans")
            if isinstance(zh, str) and zh.strip():
                self.display[c["city_id"]] = {"zh-Hans": zh}
        self.keys = sorted(pairs)
        self.by_id = by_id
        self.main = {}
        for c in cities:
            self.main.setdefault(search_key(c["city"]), c)
        self.main_keys = sorted((search_key(c["city"]), i) for i, c in enumerate(cities))
        self.alphabetical = sorted(cities, key=lambda c: (search_key(c["city"]), c["country"] or "", c["city_id"]))

    def name(self, c: dict, lang: str) -> str:
        """The city's name in ``lang`` where the gazetteer has it, else its gazetteer name."""
        return self.display.get(c["city_id"], {}).get(lang, c["city"])

    def find(self, name: str) -> dict | None:
        return self.exact.get(name if name.isdigit() else search_key(name))

    def prefix(self, text: str, limit: int) -> list[dict]:
        """Cities with a name starting with ``text`` (all cities, by name, for an empty prefix)."""
        key = search_key(text)
        if not key:
            return self.alphabetical[:limit]
        found: dict[int, dict] = {}  # gazetteer names first (alphabetical), then alternate names
        for keys in (self.main_keys, self.keys):
            for j in range(bisect.bisect_left(keys, (key, -1)), len(keys)):  # no copy of the list
                k, i = keys[j]
                if not k.startswith(key) or len(found) >= limit:
                    break
                found.setdefault(self.cities[i]["city_id"], self.cities[i])
        return list(found.values())

    def suggest(self, name: str, n: int = 5) -> list[dict]:
        key = search_key(name)
        close = difflib.get_close_matches(key, list(self.main), n=n, cutoff=0.6)
        starts = self.prefix(key[:3], n) if len(key) >= 3 else []
        out = list({c["city_id"]: c for c in [self.main[k] for k in close] + starts}.values())
        return out[:n]


class _Loaded(NamedTuple):
    snap: dict
    index: NameIndex
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
                    self._loaded, self._problem = _Loaded(snap, NameIndex(snap["cities"], self._names(snap)), data), None
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

    def _names(self, snap: dict) -> dict[str, dict]:
        """The snapshot's names document; empty (gazetteer names only, with a warning) when it is
        missing or unreadable: search by alternate names must not take the API down."""
        key = snap.get("names")
        if not isinstance(key, str):
            return {}
        try:
            data = self.store.get(key)
            doc = json.loads(data) if data is not None else None
        except Exception as exc:  # noqa: BLE001
            log.warning("names document %s unreadable (%s): searching by gazetteer names only", key, exc)
            return {}
        if not isinstance(doc, dict) or not isinstance(doc.get("cities"), dict):
            log.warning("names document %s missing or not a names document: searching by gazetteer names only", key)
            return {}
        return {k: v for k, v in doc["cities"].items() if isinstance(v, dict)}

    def cities(self, prefix: str = "", limit: int = 20, lang: str = "en") -> list[dict]:
        index = self._state().index
        found = index.prefix(check_name(prefix) if prefix else "", limit)
        return [{"city_id": c["city_id"], "city": index.name(c, lang), "country": c["country"],
                 "gazetteer_name": c["city"]} for c in found]

    def find(self, name: str, state: _Loaded | None = None, lang: str = "en") -> dict:
        state = state or self._state()
        name = check_name(name)
        hit = state.index.find(name)
        if hit is None:
            raise UnknownCity(name, [state.index.name(c, lang) for c in state.index.suggest(name)])
        return hit

    # -- answers ----------------------------------------------------------------------------------
    def forecast(self, name: str, state: _Loaded | None = None, *, lang: str = "en", scale: str | None = None) -> dict:
        """Tomorrow's forecast for ``name`` in ``lang``, on ``scale`` (default: the city's national
        scale where it has one, else the US AQI); ``scales`` carries every scale the city has."""
        state = state or self._state()
        snap, c = state.snap, self.find(name, state, lang)
        us = self._us(snap, c)
        nat = c.get("national") if isinstance(c.get("national"), dict) else None
        values = {"us": us}
        if nat and nat.get("scale") in SCALE_CODES and nat.get("aqi_pred") is not None:
            values[nat["scale"]] = {"aqi": int(nat["aqi_pred"]), "aqi_range": [nat.get("aqi_lower"), nat.get("aqi_upper")],
                                    "dominant_pollutant": nat.get("dominant_pollutant"), "method": nat.get("method"),
                                    "history": nat.get("history") or []}
        wanted = scale or scale_for_country(c["country"])
        if wanted not in values:
            if scale is not None:
                raise NoScale(f"no {scale!r} forecast for {c['city']}: this city has {', '.join(sorted(values))}")
            wanted = "us"  # the national value is missing today: the US AQI
        v = values[wanted]
        info = i18n.level_text(wanted, v["aqi"], lang)
        history = [d for d, _ in c["history"]]
        series = v["history"] if wanted != "us" else [a for _, a in c["history"]]
        series = list(series) + [None] * (len(history) - len(series))
        return {
            "city": state.index.name(c, lang), "gazetteer_name": c["city"], "city_id": c["city_id"], "country": c["country"],
            "lang": lang, "scale": wanted, "scale_label": i18n.SCALE_LABELS[wanted][lang],
            "forecast_date": snap["forecast_date"], "issued_from": snap["issued_from"], "issued_at": c["issued_at"],
            "aqi": v["aqi"], "aqi_range": v["aqi_range"], "category": info["name"], "color": info["color"],
            "dominant_pollutant": v["dominant_pollutant"] if wanted != "us" else c["dominant_pollutant"],
            "health": {k: info[k] for k in ("general", "sensitive_groups", "who_is_concerned", "effects", "official", "source")},
            "scales": {k: self._scale_value(k, x, lang) for k, x in values.items()},
            "model_version": c["model_version"], "method": c["method"], **self._fallback(us, v, wanted, lang),
            "history": [{"date": d, "aqi": a} for d, a in zip(history, series)],
            "image_url": f"/v1/forecast/{c['city_id']}/image?scale={wanted}&lang={lang}",
        }

    @staticmethod
    def _scale_value(code: str, v: dict, lang: str) -> dict:
        level = i18n.level_text(code, v["aqi"], lang)
        return {"aqi": v["aqi"], "aqi_range": v["aqi_range"], "category": level["name"], "color": level["color"],
                "label": i18n.SCALE_LABELS[code][lang]}

    @staticmethod
    def _fallback(us: dict, v: dict, wanted: str, lang: str) -> dict:
        """The US forecast's fallback state; on a national scale also when its value is today's."""
        if wanted == "us" or v.get("method") != "persistence" or us["fallback"]:
            return {"fallback": us["fallback"], "fallback_reason": us["fallback_reason"]}
        return {"fallback": True, "fallback_reason": f"tomorrow's {i18n.SCALE_LABELS[wanted]['en']} is today's: the "
                                                     "model's forecast converts to it only when PM2.5 or PM10 dominates"}

    def _us(self, snap: dict, c: dict) -> dict:
        """The US AQI forecast: the live endpoint where there is one, else the batch forecast."""
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
        return {"aqi": aqi, "aqi_range": [c["aqi_lower"], c["aqi_upper"]], "dominant_pollutant": c["dominant_pollutant"],
                "fallback": fallback, "fallback_reason": reason, "history": [a for _, a in c["history"]]}

    def image(self, name: str, *, lang: str = "en", scale: str | None = None) -> tuple[bytes | None, str | None]:
        """The share PNG (bytes) or, where the store can presign, its URL. Cached per (city, date,
        scale, language)."""
        state = self._state()
        fc = self.forecast(name, state, lang=lang, scale=scale)
        c = self.find(name, state)
        key = share_image(fc["issued_from"], c["city_id"], fc["scale"], lang)  # never the raw name
        data = self.store.get(key)
        if data is None:
            from include.serving.image import render_share_image

            # the illustration's mood follows the EPA category in English, whatever the card's scale and language
            mood = {**fc, "category": i18n.level_text("us", fc["scales"]["us"]["aqi"], "en")["name"]}
            background = self.background(c, mood) if self.background else None
            history = [(dt.date.fromisoformat(h["date"]), h["aqi"]) for h in fc["history"]]
            data = render_share_image(city=fc["city"], country=c["country"], day=dt.date.fromisoformat(fc["forecast_date"]),
                                      aqi=fc["aqi"], dominant=fc["dominant_pollutant"], history=history,
                                      background=background, ascii_city=c["city"], scale=fc["scale"], lang=lang)
            self.store.put(key, data, "image/png")
        url = self.store.url(key)
        return (None, url) if url else (data, None)
