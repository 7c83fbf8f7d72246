"""The training-side steps on a lake and a registry (no backend, no Airflow): read the validated
features, the champion's live error, the retrain decision, and a local challenger's training.
The application layer (``include/app/training.py``) strings them together for both backends.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from include.catalog import FEATURES, FORECASTS
from include.config import TrainingSettings
from include.lake import Lake
from include.training import policies
from include.training.dataset import TARGET, matrix
from include.training.model import AqiModel, residual_quantiles
from include.training.registry import Registry, champion
from include.training.verdict import Challenger, Split

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)
RETRAIN_MODES = ("auto", "force", "skip")


def load_features(lake: Lake, end: dt.date, start: dt.date | None = None) -> "pd.DataFrame":
    """Stored feature partitions (what the quality gate validated) from ``start`` (default: the
    first one) through ``end``."""
    days = [d for d in lake.partition_days(FEATURES) if d <= end.isoformat() and (start is None or d >= start.isoformat())]
    return lake.read_partitions(FEATURES, days)


def live_error(lake: Lake, version: int, today: dt.date, window: int) -> tuple[float | None, int]:
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


def retrain_decision(lake: Lake, registry: Registry, day: dt.date, mode: str = "auto",
                     settings: TrainingSettings = TrainingSettings()) -> policies.Decision:
    """``mode``: ``auto`` (the retrain policy decides), ``force`` or ``skip``."""
    if mode not in RETRAIN_MODES:
        raise ValueError(f"retrain mode must be one of {RETRAIN_MODES}, not {mode!r}")
    if mode == "skip":
        return policies.Decision(False, "training skipped by the run's parameters")
    champ = champion(registry)
    live, days = live_error(lake, champ.version, day, settings.live_window_days) if champ else (None, 0)
    return policies.should_retrain(
        today=day, champion_trained_through=champ.trained_through if champ else None,
        champion_validation_mae=champ.metrics.get("mae") if champ else None,
        live_mae=live, live_days=days, force=mode == "force", max_age_days=settings.max_model_age_days,
        tolerance=settings.degrade_tolerance, min_live_days=settings.min_live_days)


class LocalChallenger:
    """A FLAML challenger trained on the split's training rows (the local stand-in for Autopilot)."""

    def __init__(self, split: Split, *, time_budget: float | None, settings: TrainingSettings, trainer=None,
                 started: float | None = None):
        from include.training.train import fit

        fitted = (trainer or fit)(split.train, time_budget=time_budget or settings.time_budget_s,
                                  seed=settings.seed, estimators=settings.estimator_list, started=started)
        self.model: AqiModel = fitted.model
        self.challenger = Challenger(estimator=fitted.estimator, features=self.model.features,
                                     predict=self.model.predict, config=fitted.config)

    def artifact(self, split: Split, approved: bool, holdout_predictions) -> bytes:
        """The model to register: its interval from the window's residuals and, if approved, the
        winning configuration refitted on every labelled row through D."""
        self.model.residual_quantiles = residual_quantiles(split.holdout[TARGET], holdout_predictions)
        if approved:
            self.model.estimator.fit(matrix(split.data, self.model.features), split.data[TARGET].to_numpy(dtype=float))
        return self.model.to_bytes()
