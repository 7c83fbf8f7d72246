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
#: The city's national scale beside the US AQI (``include.categories.NATIONAL_SCALE``; empty for
#: the cities whose country has none): its code, forecast, interval, category, today's index, and
#: how the value was obtained (``national_method``, see `national_forecast`).
NATIONAL_COLUMNS = ["national_scale", "national_pred", "national_lower", "national_upper", "national_category",
                    "national_today", "national_dominant", "national_method"]
#: Pollutants whose US AQI maps back to one concentration that every scale indexes the same way
#: (24-h mean, µg/m³, in all three scales).
_SAME_STATISTIC = ("pm25", "pm10")


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
    national = national_forecast(f, pred, lo, hi, persistence=model is None)
    return pd.concat([out[COLUMNS], national], axis=1)


def us_to_concentration(pollutant: str, aqi):
    """The 24-h mean concentration (µg/m³) whose US AQI is ``aqi`` (inverse of EPA's equation 1 on
    the 2024 table; the 0.1 µg/m³ gaps between rows are bridged linearly)."""
    import numpy as np

    from include.etl.aqi import breakpoints

    rows = breakpoints(pollutant)
    idx = [v for r in rows for v in (r.i_lo, r.i_hi)]
    conc = [v for r in rows for v in (r.c_lo, r.c_hi)]
    return np.interp(np.asarray(aqi, dtype=float), idx, conc)


def national_forecast(f: "pd.DataFrame", pred, lo, hi, *, persistence: bool) -> "pd.DataFrame":
    """The national-scale forecast of each feature row, derived from the US forecast.

    One model, every scale (measured against a model per scale in the README, "Forecast in the
    local scale"): when today's dominant pollutant is PM2.5 or PM10, the US forecast is turned back
    into the 24-h mean concentration it stands for and indexed on the national scale (the same
    statistic in all three scales, so this is exact up to the model's error): ``national_method``
    "from-us". Otherwise (ozone or a gas dominates, whose statistics differ between scales) and
    without a model: tomorrow's national index = today's ("persistence")."""
    import numpy as np
    import pandas as pd

    from include.categories import scale_for_country
    from include.etl.scales import scale

    n = len(f)
    codes = np.array([scale_for_country(c) for c in f["city_country"]], dtype=object)
    out = pd.DataFrame({c: pd.Series([None] * n, dtype=object) for c in NATIONAL_COLUMNS})
    for code in sorted(set(codes) - {"us"}):
        rows = np.flatnonzero(codes == code)
        today = f[f"aqi_{code}"].to_numpy(dtype=float)[rows] if f"aqi_{code}" in f else np.full(len(rows), np.nan)
        dominant = f["dominant_pollutant"].to_numpy(dtype=object)[rows]
        values, method = {k: today.copy() for k in ("pred", "lower", "upper")}, np.full(len(rows), "persistence", dtype=object)
        if not persistence:
            for pol in _SAME_STATISTIC:
                use = dominant == pol
                if not use.any():
                    continue
                for k, us in (("pred", pred), ("lower", lo), ("upper", hi)):
                    conc = us_to_concentration(pol, np.asarray(us, dtype=float)[rows][use])
                    values[k][use] = scale(code).sub_index(pol, conc)[0]
                method[use] = "from-us"
        keep = ~np.isnan(values["pred"])
        sel = rows[keep]
        out.loc[sel, "national_scale"] = code
        for k in ("pred", "lower", "upper"):
            out.loc[sel, f"national_{k}"] = values[k][keep].astype(int)
        out.loc[sel, "national_category"] = scale(code).category(values["pred"][keep])
        out.loc[sel, "national_today"] = today[keep]
        out.loc[sel, "national_method"] = method[keep]
        if f"aqi_{code}_dominant" in f:
            out.loc[sel, "national_dominant"] = f[f"aqi_{code}_dominant"].to_numpy(dtype=object)[rows][keep]
    for k in ("pred", "lower", "upper"):
        out[f"national_{k}"] = out[f"national_{k}"].astype("Int64")
    out["national_today"] = pd.to_numeric(out["national_today"]).astype("float64")
    return out


def forecast(lake: Lake, day: dt.date, model: Model | None, version=None, arn: str = "") -> "pd.DataFrame":
    """Write ``forecasts/city_daily/date=D`` from D's features, then D's serving snapshot; return
    the forecasts."""
    if not lake.has_partition(FEATURES, day):
        raise FileNotFoundError(f"no features for {day}: run `aqicast etl --date {day}` first")
    out = predict_frame(lake.read_partition(FEATURES, day), model, version, arn)
    lake.write_partition(FORECASTS, day, out)
    publish_snapshot(lake, day, out, model.features if model is not None else None)
    return out
