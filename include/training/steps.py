"""The training-side steps of the daily pipeline, shared by the CLI and the DAG tasks:
retrain decision -> train challenger -> evaluate against champion and baselines -> register with
the promotion policy's verdict. The AWS backend swaps the trainer (Autopilot) and the registry
(SageMaker); the windows, metrics and policies here are the same.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
from typing import TYPE_CHECKING

from include.etl.features import FEATURES
from include.lake import Lake
from include.training import baselines, policies
from include.training.dataset import TARGET, between, labelled, matrix
from include.training.evaluate import metrics, skill
from include.training.forecast import FORECASTS
from include.training.model import AqiModel, residual_quantiles
from include.training.registry import APPROVED, REJECTED, Registry, champion

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)
EVAL_DAYS = int(os.getenv("AQICAST_EVAL_DAYS", 30))
MIN_TRAIN_ROWS = int(os.getenv("AQICAST_MIN_TRAIN_ROWS", 60))


def load_features(lake: Lake, end: dt.date, start: dt.date | None = None) -> "pd.DataFrame":
    """Stored feature partitions (what the quality gate validated) from ``start`` (default: the
    first one) through ``end``."""
    days = [d for d in lake.partition_days(FEATURES) if d <= end.isoformat() and (start is None or d >= start.isoformat())]
    return lake.read_partitions(FEATURES, days)


def live_error(lake: Lake, version: int, today: dt.date, window: int = policies.LIVE_WINDOW_DAYS) -> tuple[float | None, int]:
    """MAE of the champion's published forecasts that can be scored by ``today``."""
    import pandas as pd

    days = [today - dt.timedelta(days=i) for i in range(1, window + 1)]
    fc = lake.read_partitions(FORECASTS, days)
    if fc.empty:
        return None, 0
    fc = fc[fc["model_version"].astype(str) == str(version)]
    truth = lake.read_partitions(FEATURES, [dt.date.fromisoformat(d) for d in fc["forecast_date"].unique()],
                                 columns=["city_id", "date", "aqi"]) if len(fc) else pd.DataFrame()
    if truth.empty:
        return None, 0
    scored = fc.merge(truth.rename(columns={"date": "forecast_date", "aqi": "actual"}), on=["city_id", "forecast_date"])
    scored = scored[scored["actual"].notna()]
    if scored.empty:
        return None, 0
    return float((scored["actual"] - scored["aqi_pred"]).abs().mean()), int(scored["date"].nunique())


def retrain_decision(lake: Lake, registry: Registry, day: dt.date, force: bool = False) -> policies.Decision:
    champ = champion(registry)
    live, days = live_error(lake, champ.version, day) if champ else (None, 0)
    return policies.should_retrain(
        today=day, champion_trained_through=champ.trained_through if champ else None,
        champion_validation_mae=champ.metrics.get("mae") if champ else None,
        live_mae=live, live_days=days, force=force)


def evaluation_window(day: dt.date, eval_days: int | None = None) -> tuple[dt.date, dt.date]:
    """The most recent ``eval_days`` (default ``EVAL_DAYS``) whose targets are known at the end of ``day``."""
    eval_days = eval_days or EVAL_DAYS
    end = day - dt.timedelta(days=1)
    return end - dt.timedelta(days=eval_days - 1), end


def train_and_register(lake: Lake, registry: Registry, day: dt.date, *, time_budget: float | None = None,
                       trainer=None, eval_days: int | None = None, min_train_rows: int | None = None) -> dict:
    """Train a challenger on features through ``day``, judge it on the recent window, register it."""
    from include.training.train import fit

    trainer = trainer or fit
    min_train_rows = min_train_rows or MIN_TRAIN_ROWS
    data = labelled(load_features(lake, day))
    eval_start, eval_end = evaluation_window(day, eval_days)
    train = data[data["date"] < eval_start.isoformat()]
    holdout = between(data, eval_start, eval_end)
    if len(train) < min_train_rows or holdout.empty:
        return {"trained": False, "reason": f"not enough history: {len(train)} training rows (need {min_train_rows}) "
                                            f"and {len(holdout)} evaluation rows before {day}"}

    fitted = trainer(train, time_budget=time_budget)
    model: AqiModel = fitted.model
    pred = model.predict(holdout)
    challenger = metrics(holdout[TARGET], pred)
    persistence = metrics(holdout[TARGET], baselines.persistence(holdout))
    climatology = metrics(holdout[TARGET], baselines.climatology(holdout, baselines.climatology_table(train)))
    champ = champion(registry)
    champion_metrics = None
    if champ is not None:
        champ_model = AqiModel.from_bytes(registry.load_artifact(champ))
        champion_metrics = metrics(holdout[TARGET], champ_model.predict(holdout))
    decision = policies.promote_if_better(challenger_mae=challenger["mae"], persistence_mae=persistence["mae"],
                                          champion_mae=champion_metrics["mae"] if champion_metrics else None)
    model.residual_quantiles = residual_quantiles(holdout[TARGET], pred)
    if decision.yes:  # deploy the winning configuration refitted on every labelled row through D
        model.estimator.fit(matrix(data, model.features), data[TARGET].to_numpy(dtype=float))

    all_metrics = {
        **challenger, "persistence_mae": persistence["mae"], "climatology_mae": climatology["mae"],
        "skill_vs_persistence": skill(challenger["mae"], persistence["mae"]),
        "skill_vs_climatology": skill(challenger["mae"], climatology["mae"]),
        "champion_mae": champion_metrics["mae"] if champion_metrics else None,
        "persistence_category_accuracy": persistence["category_accuracy"],
    }
    properties = {
        "train_start": str(data["date"].min()), "train_end": str(data["date"].max() if decision.yes else train["date"].max()),
        "eval_start": eval_start.isoformat(), "eval_end": eval_end.isoformat(),
        "features": model.features, "estimator": fitted.estimator, "config": fitted.config,
        "lineage": {FEATURES: [str(data["date"].min()), day.isoformat()]},
        "champion_version": champ.version if champ else None, "residual_quantiles": list(model.residual_quantiles),
        "rows": {"train": len(train), "eval": len(holdout)},
    }
    mv = registry.register(model.to_bytes(), status=APPROVED if decision.yes else REJECTED, metrics=all_metrics,
                           properties=properties, description=decision.reason)
    log.info("registered %s v%d as %s: %s", mv.group, mv.version, mv.status, decision.reason)
    return {"trained": True, "version": mv.version, "status": mv.status, "reason": decision.reason,
            "metrics": all_metrics}

