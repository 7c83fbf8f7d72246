"""The serving snapshot: everything the API needs for a day, as one small JSON document, so the
API (a Lambda) answers without pandas, Parquet or a model in memory. Written here (the forecast
stage), read by ``include/serving`` (which knows only this document, never the lake's tables).

``serving/forecasts/date=D.json`` and ``serving/latest.json`` (same content), written by the
forecast step after ``forecasts/city_daily/date=D``:

    {"issued_from": D, "forecast_date": D+1, "generated_at": ..., "features": [...champion's order],
     "cities": [{"city_id", "city", "country", "lat", "lon", "tz", "aqi_pred", "aqi_lower",
                 "aqi_upper", "category", "color", "dominant_pollutant", "aqi_today", "method",
                 "model_version", "model_arn", "issued_at",
                 "history": [[date, aqi|null] x 7 (D-6..D)], "x": [feature values|null]}]}
"""
from __future__ import annotations

import datetime as dt
import json
import math
from typing import TYPE_CHECKING

from include.catalog import FEATURES, SNAPSHOT_LATEST, snapshot

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from include.lake import Lake


def _clean(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def build_snapshot(lake: "Lake", day: dt.date, forecasts: "pd.DataFrame", features: list[str] | None) -> dict:
    days = [day - dt.timedelta(days=k) for k in range(6, -1, -1)]
    past = lake.read_partitions(FEATURES, days, columns=["city_id", "date", "aqi"])
    history = {(int(r.city_id), r.date): _clean(r.aqi) for r in past.itertuples()} if len(past) else {}
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
            "history": [[d.isoformat(), history.get((cid, d.isoformat()))] for d in days],
            "x": x_rows.get(cid),
        })
    return {"issued_from": day.isoformat(), "forecast_date": (day + dt.timedelta(days=1)).isoformat(),
            "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "features": features or [], "cities": cities}


def publish_snapshot(lake: "Lake", day: dt.date, forecasts: "pd.DataFrame", features: list[str] | None) -> dict:
    """Write D's snapshot; move ``latest`` only forward (a backfill never replaces newer data)."""
    snap = build_snapshot(lake, day, forecasts, features)
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
