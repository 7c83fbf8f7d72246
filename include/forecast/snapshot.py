"""The serving snapshot: everything the API needs for a day, as one small JSON document, so the
API (a Lambda) answers without pandas, Parquet or a model in memory. Written here (the forecast
stage), read by ``include/serving`` (which knows only this document, never the lake's tables).

``serving/forecasts/date=D.json`` and ``serving/latest.json`` (same content), written by the
forecast step after ``forecasts/city_daily/date=D``:

    {"issued_from": D, "forecast_date": D+1, "generated_at": ..., "features": [...champion's order],
     "cities": [{"city_id", "city", "country", "lat", "lon", "tz", "aqi_pred", "aqi_lower",
                 "aqi_upper", "category", "color", "dominant_pollutant", "aqi_today", "method",
                 "model_version", "model_arn", "issued_at",
                 "history": [[date, aqi|null] x 7 (D-6..D)], "x": [feature values|null],
                 "national": null | {"scale": "cn"|"in", "aqi_pred", "aqi_lower", "aqi_upper",
                              "dominant_pollutant", "aqi_today", "method",
                              "history": [index|null x 7 (D-6..D)]}}],
     "names": "serving/names/<digest>.json"}

``national`` is the forecast in the city's country's own scale (China HJ 633, India NAQI), for
the cities of a country that has one: the API's ``?scale=`` picks it (default) or the US AQI.

The names document (``serving/names/<digest>.json``, content-addressed, so a snapshot and its names
always agree and an unchanged gazetteer is not rewritten) holds every city's search keys in every
script and its Simplified Chinese name: {"cities": {"<city_id>": {"keys": [...], "zh-Hans": ...}}}.
The API builds its name index from it once per snapshot; the snapshot itself stays small.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from typing import TYPE_CHECKING

from include.catalog import FEATURES, SNAPSHOT_LATEST, names_document, snapshot

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from include.lake import Lake


def _clean(value):
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def build_snapshot(lake: "Lake", day: dt.date, forecasts: "pd.DataFrame", features: list[str] | None) -> dict:
    days = [day - dt.timedelta(days=k) for k in range(6, -1, -1)]
    past = _history_rows(lake, days)
    history = {(int(r["city_id"]), r["date"]): r for r in past.to_dict("records")} if len(past) else {}
    today = lake.read_partition(FEATURES, day) if lake.has_partition(FEATURES, day) else None
    x_rows = {}
    if features and today is not None and len(today):
        x_rows = {int(cid): row for cid, row in zip(today["city_id"], feature_rows(today, features))}
    cities = []
    for r in forecasts.to_dict("records"):
        cid = int(r["city_id"])
        cities.append({
            "city_id": cid, "city": r["city"], "country": r["city_country"], "lat": _clean(r["city_lat"]),
            "lon": _clean(r["city_lon"]), "tz": r["city_tz"],
            **{k: _clean(r[k]) for k in ("aqi_pred", "aqi_lower", "aqi_upper", "category", "color",
                                         "dominant_pollutant", "aqi_today", "method", "model_version",
                                         "model_arn", "issued_at")},
            "history": [[d.isoformat(), _clean(history.get((cid, d.isoformat()), {}).get("aqi"))] for d in days],
            "x": x_rows.get(cid),
            "national": _national(r, cid, days, history),
        })
    return {"issued_from": day.isoformat(), "forecast_date": (day + dt.timedelta(days=1)).isoformat(),
            "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "features": features or [], "cities": cities}


def _history_rows(lake: "Lake", days: list[dt.date]) -> "pd.DataFrame":
    """Each past day's city AQI and national indices (partitions written before the national
    columns existed give the AQI only)."""
    import pandas as pd

    from include.etl.features import NATIONAL

    frames = []
    for d in days:
        if not lake.has_partition(FEATURES, d):
            continue
        try:
            frames.append(lake.read_partition(FEATURES, d, ["city_id", "date", "aqi", *NATIONAL]))
        except Exception:  # noqa: BLE001 - an older partition without the national columns
            frames.append(lake.read_partition(FEATURES, d, ["city_id", "date", "aqi"]))
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["city_id", "date", "aqi"])


def _national(r: dict, cid: int, days: list[dt.date], history: dict) -> dict | None:
    code = _clean(r.get("national_scale"))
    if not code or _clean(r.get("national_pred")) is None:
        return None
    return {"scale": code, "aqi_pred": _clean(r["national_pred"]), "aqi_lower": _clean(r["national_lower"]),
            "aqi_upper": _clean(r["national_upper"]), "dominant_pollutant": _clean(r["national_dominant"]),
            "aqi_today": _clean(r["national_today"]), "method": _clean(r["national_method"]),
            "history": [_clean(history.get((cid, d.isoformat()), {}).get(f"aqi_{code}")) for d in days]}


def publish_names(lake: "Lake", city_ids) -> str:
    """Write (once) the names document of these cities; its key."""
    import hashlib

    from include.etl.cities import city_names

    names = {str(cid): v for cid, v in sorted(city_names(city_ids).items())}
    data = json.dumps({"cities": names}, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    key = names_document(hashlib.sha256(data).hexdigest()[:20])
    if not lake.exists(lake.path(key)):
        lake.put_bytes(lake.path(key), data)
    return key


def publish_snapshot(lake: "Lake", day: dt.date, forecasts: "pd.DataFrame", features: list[str] | None) -> dict:
    """Write D's snapshot (and its names document); move ``latest`` only forward (a backfill never
    replaces newer data)."""
    snap = build_snapshot(lake, day, forecasts, features)
    snap["names"] = publish_names(lake, [c["city_id"] for c in snap["cities"]])
    data = json.dumps(snap, ensure_ascii=False, separators=(",", ":")).encode()
    lake.put_bytes(lake.path(snapshot(day)), data)
    latest = lake.path(SNAPSHOT_LATEST)
    current = lake.read_json(latest)["issued_from"] if lake.exists(latest) else ""
    if day.isoformat() >= current:
        lake.put_bytes(latest, data)
    return snap


def feature_rows(frame: "pd.DataFrame", features: list[str]) -> list[list]:
    """Each row's values in ``features`` order, as the endpoint takes them (None where missing)."""
    from include.training.dataset import matrix

    return [[_clean(v) for v in row] for row in matrix(frame, features).itertuples(index=False)]
