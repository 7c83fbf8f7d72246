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
from typing import Any, Callable

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


class ForecastService:
    """Reads the latest snapshot from ``store`` (re-checked every ``ttl_s`` seconds)."""

    def __init__(self, store: Store, *, ttl_s: float = 60.0,
                 predict: Callable[[list[str], list[Any]], float] | None = None,
                 background: Callable[[dict, dict], bytes | None] | None = None):
        self.store, self.ttl_s = store, ttl_s
        self.predict = predict          # aws: the SageMaker endpoint, fed with the city's features
        self.background = background    # aws: Amazon Bedrock illustration
        self._snap: dict | None = None
        self._index: dict[str, dict] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    # -- data -------------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        now = time.monotonic()
        if self._snap is None or now - self._loaded_at > self.ttl_s:
            with self._lock:
                if self._snap is None or now - self._loaded_at > self.ttl_s:
                    data = self.store.get(SNAPSHOT_LATEST)
                    if data is not None:
                        snap = json.loads(data)
                        self._index = self._build_index(snap)
                        self._snap = snap
                    self._loaded_at = now
        if self._snap is None:
            raise NoForecasts("no forecasts have been published yet: run the daily pipeline (make run)")
        return self._snap

    @staticmethod
    def _build_index(snap: dict) -> dict[str, dict]:
        index: dict[str, dict] = {}
        for c in sorted(snap["cities"], key=lambda c: -(c.get("aqi_today") is not None)):
            index.setdefault(_fold(c["city"]), c)
            index.setdefault(str(c["city_id"]), c)
        return index

    def cities(self, prefix: str = "", limit: int = 20) -> list[dict]:
        snap = self.snapshot()
        key = _fold(check_name(prefix)) if prefix else ""
        found = [c for c in snap["cities"] if _fold(c["city"]).startswith(key)]
        found.sort(key=lambda c: (_fold(c["city"]), c["country"]))
        return [{"city_id": c["city_id"], "city": c["city"], "country": c["country"]} for c in found[:limit]]

    def find(self, name: str) -> dict:
        self.snapshot()
        name = check_name(name)
        hit = self._index.get(name if name.isdigit() else _fold(name))
        if hit is None:
            names = sorted({c["city"] for c in self._snap["cities"]})
            folded = {_fold(n): n for n in names}
            close = difflib.get_close_matches(_fold(name), list(folded), n=5, cutoff=0.6)
            starts = [n for f, n in folded.items() if f.startswith(_fold(name)[:3])] if len(name) >= 3 else []
            raise UnknownCity(name, list(dict.fromkeys([folded[c] for c in close] + starts))[:5])
        return hit

    # -- answers ----------------------------------------------------------------------------------
    def forecast(self, name: str) -> dict:
        snap = self.snapshot()
        c = self.find(name)
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
        fc = self.forecast(name)
        c = self.find(name)
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
