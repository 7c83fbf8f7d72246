"""Batch forecast for D: one row per city with the predicted AQI of D+1 (``forecasts/city_daily``),
then the serving snapshot.

The model is whatever predicts for the backend (a local ``AqiModel`` or the SageMaker endpoint:
anything with ``features``, ``predict(frame)`` and ``interval(predictions)``); with no champion
yet, persistence (today's AQI), marked as such, so the API always has something honest to serve.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Protocol

from include.catalog import FEATURES, FORECASTS
from include.categories import category_info
from include.forecast.snapshot import publish_snapshot
from include.lake import Lake

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

COLUMNS = ["date", "forecast_date", "city_id", "city", "city_country", "city_lat", "city_lon", "city_tz",
           "aqi_pred", "aqi_lower", "aqi_upper", "category", "color", "dominant_pollutant", "aqi_today",
           "model_version", "model_arn", "method", "issued_at"]


class Model(Protocol):
    features: list[str]

    def predict(self, frame: "pd.DataFrame"): ...
    def interval(self, predictions): ...


def predict_frame(features: "pd.DataFrame", model: Model | None, version=None, arn: str = "") -> "pd.DataFrame":
    """Forecast rows for the feature rows given (any days)."""
    import numpy as np
    import pandas as pd

    f = features[features["aqi"].notna()].reset_index(drop=True)
    if model is not None:
        pred = model.predict(f)
        lo, hi = model.interval(pred)
        method, version = "model", str(version)
    else:
        pred = f["aqi"].to_numpy(dtype=float)
        lo = hi = pred
        method, version, arn = "persistence", "persistence", ""
    aqi = np.round(pred).astype(int)
    info = [category_info(int(a)) for a in aqi]
    out = pd.DataFrame({
        "date": f["date"], "forecast_date": f["target_date"], "city_id": f["city_id"], "city": f["city"],
        "city_country": f["city_country"], "city_lat": f["city_lat"], "city_lon": f["city_lon"], "city_tz": f["city_tz"],
        "aqi_pred": aqi, "aqi_lower": np.round(lo).astype(int), "aqi_upper": np.round(hi).astype(int),
        "category": [i["name"] for i in info], "color": [i["color"] for i in info],
        "dominant_pollutant": f["dominant_pollutant"], "aqi_today": f["aqi"],
        "model_version": version, "model_arn": arn, "method": method,
        "issued_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    })
    return out[COLUMNS]


def forecast(lake: Lake, day: dt.date, model: Model | None, version=None, arn: str = "") -> "pd.DataFrame":
    """Write ``forecasts/city_daily/date=D`` from D's features, then D's serving snapshot; return
    the forecasts."""
    if not lake.has_partition(FEATURES, day):
        raise FileNotFoundError(f"no features for {day}: run `aqicast etl --date {day}` first")
    out = predict_frame(lake.read_partition(FEATURES, day), model, version, arn)
    lake.write_partition(FORECASTS, day, out)
    publish_snapshot(lake, day, out, model.features if model is not None else None)
    return out
