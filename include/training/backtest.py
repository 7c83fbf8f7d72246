"""Rolling-origin backtest: how good would the forecasts have been?

Origins every ``retrain_every`` days from ``start``. At each origin o a model is trained only on
rows whose target was known before o (trained "at the end of day o-1"), then forecasts each day d
in o .. o+k-1 from d's features (target: AQI of d+1). Persistence and climatology (from the same
training rows) are scored on the same rows. Output: ``backtests/<run>/predictions.parquet`` and
``metrics.json`` (MAE, RMSE, category accuracy, skill vs persistence and climatology, overall and
per city).
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from include.lake import Lake, parquet_bytes
from include.training import baselines
from include.training.dataset import TARGET, before, between, labelled
from include.training.evaluate import report
from include.training.steps import load_features

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)


def backtest(lake: Lake, start: dt.date, end: dt.date, *, retrain_every: int = 30, time_budget: float = 20,
             trainer=None, min_train_rows: int = 60) -> tuple["pd.DataFrame", dict]:
    import pandas as pd

    from include.training.train import fit

    trainer = trainer or fit
    data = labelled(load_features(lake, end))
    if data.empty:
        raise ValueError(f"no labelled feature rows through {end}: run `aqicast etl` over the period first")
    frames = []
    origin = start
    while origin <= end:
        last = min(origin + dt.timedelta(days=retrain_every - 1), end)
        train = before(data, origin)
        test = between(data, origin, last)
        if len(train) < min_train_rows or test.empty:
            log.warning("origin %s: %d training rows, %d test rows: skipped", origin, len(train), len(test))
            origin = last + dt.timedelta(days=1)
            continue
        fitted = trainer(train, time_budget=time_budget)
        clim = baselines.climatology_table(train)
        frames.append(pd.DataFrame({
            "date": test["date"].to_numpy(), "target_date": test["target_date"].to_numpy(),
            "city_id": test["city_id"].to_numpy(), "city": test["city"].to_numpy(),
            TARGET: test[TARGET].to_numpy(), "pred_model": fitted.model.predict(test),
            "pred_persistence": baselines.persistence(test), "pred_climatology": baselines.climatology(test, clim),
            "origin": origin.isoformat(), "estimator": fitted.estimator, "train_rows": len(train),
        }))
        log.info("origin %s: trained %s on %d rows, forecast %d rows", origin, fitted.estimator, len(train), len(test))
        origin = last + dt.timedelta(days=1)
    if not frames:
        raise ValueError(f"no origin between {start} and {end} had {min_train_rows}+ training rows")
    predictions = pd.concat(frames, ignore_index=True)
    result = report(predictions)
    result["config"] = {"start": start.isoformat(), "end": end.isoformat(), "retrain_every": retrain_every,
                        "time_budget_s": time_budget, "origins": len(frames), "rows": len(predictions)}
    run = f"{start.isoformat()}_{end.isoformat()}"
    lake.put_bytes(lake.path("backtests", run, "predictions.parquet"), parquet_bytes(predictions))
    lake.write_json(lake.path("backtests", run, "metrics.json"), result)
    result["path"] = lake.url(lake.path("backtests", run))
    return predictions, result

