"""Train a challenger with FLAML (the local stand-in for SageMaker Autopilot).

Regression on the next-day AQI, MAE objective, time-aware validation: FLAML tunes on the training
rows with a holdout of the most recent rows (``split_type="time"``); the caller measures the result
on a later evaluation window that neither tuning nor fitting has seen. The best configuration is
then refitted on all rows. Estimators: LightGBM, random forest, extra trees (no GPU libraries).
FLAML is imported here only: with mlflow installed its import takes several seconds.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from include.config import TrainingSettings
from include.training.dataset import TARGET, feature_columns, matrix
from include.training.model import AqiModel, yielding_threads

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)
#: Where the search starts: a configuration that held up on the Beijing backtest (README "Model").
#: FLAML keeps it unless it finds better on the time-ordered holdout.
STARTING_POINTS = {"lgbm": {"n_estimators": 400, "learning_rate": 0.03, "num_leaves": 15, "min_child_samples": 20,
                            "colsample_bytree": 0.8, "reg_lambda": 1.0, "reg_alpha": 1 / 1024,
                            "log_max_bin": 8}}
#: Absolute error, like the metric: AQI days with huge spikes should not dominate the fit.
CUSTOM_HP = {"lgbm": {"objective": {"domain": "regression_l1"}}}
_DEFAULT = TrainingSettings()


@dataclass
class Fitted:
    model: AqiModel
    config: dict
    estimator: str


#: Share of the budget kept for what follows the search: our two refits of the winner (on the
#: training rows for the verdict, then on every labelled row), the verdict, the registry. On the
#: 10,000-location history one refit is ~2-6 s of a 60 s budget.
AFTER_SEARCH_SHARE = 0.25
#: Longest training of one FLAML trial, as a share of the budget (``train_time_limit``).
TRIAL_SHARE = 0.1


def search_budget(time_budget: float, started: float | None) -> float:
    """FLAML's budget: what remains of the step's ``time_budget`` after its start (``started``, a
    ``time.monotonic()``: loading the features, importing FLAML), less ``AFTER_SEARCH_SHARE`` of it
    for the refit and the verdict; at least 1 s (FLAML then fits at least its starting point)."""
    spent = time.monotonic() - started if started is not None else 0.0
    return max(1.0, time_budget * (1 - AFTER_SEARCH_SHARE) - spent)


def fit(train: "pd.DataFrame", *, time_budget: float | None = None, seed: int = _DEFAULT.seed,
        features: list[str] | None = None, estimators: list[str] | None = None,
        started: float | None = None) -> Fitted:
    """Search with FLAML on ``train`` (sorted by date) and return the best model, refitted on all of
    it. ``time_budget`` is the whole step's (from ``started``, default now), not only the search's."""
    started = time.monotonic() if started is None else started
    os.environ.setdefault("MLFLOW_TRACKING_URI", "file:///dev/null")  # never log runs anywhere
    yielding_threads()
    from flaml import AutoML
    logging.getLogger("flaml").setLevel(logging.WARNING)

    estimators = estimators or _DEFAULT.estimator_list
    train = train.sort_values(["date", "city_id"], kind="stable")
    features = features or feature_columns(train)
    budget = time_budget or _DEFAULT.time_budget_s
    automl = AutoML()
    automl.fit(
        X_train=matrix(train, features), y_train=train[TARGET].to_numpy(dtype=float),
        task="regression", metric="mae", time_budget=search_budget(budget, started),
        # No trial may train longer than a tenth of the budget, so each refit of the winner is
        # bounded too (a 947-tree, 1,023-bin winner took 125 s of a 60 s budget to refit twice).
        train_time_limit=budget * TRIAL_SHARE,
        estimator_list=estimators, eval_method="holdout", split_type="time", split_ratio=0.2,
        starting_points={k: v for k, v in STARTING_POINTS.items() if k in estimators},
        custom_hp={k: v for k, v in CUSTOM_HP.items() if k in estimators},
        # retrain_full=False: FLAML's own refit of the winner would be thrown away by ours below.
        seed=seed, n_jobs=2, verbose=0, retrain_full=False, log_file_name="", mlflow_logging=False,
    )
    # FLAML's own preprocessing may drop columns; refit the winning configuration on our matrix so
    # the deployed model is a plain lightgbm/sklearn object that takes the documented feature list.
    from sklearn.base import clone

    if automl.model is None:
        # No trial finished inside the budget (a large history on a busy machine): FLAML returns
        # without a model. Fit the known-good starting configuration instead of failing the run.
        log.warning("FLAML finished no trial within %.0f s; fitting the starting configuration", budget)
        name, config, loss, estimator = "lgbm", dict(STARTING_POINTS["lgbm"]), float("nan"), starting_estimator(seed)
    else:
        name, config, loss = automl.best_estimator, dict(automl.best_config), float(automl.best_loss)
        estimator = clone(automl.model.estimator)
    estimator.fit(matrix(train, features), train[TARGET].to_numpy(dtype=float))
    model = AqiModel(estimator=estimator, features=features,
                     info={"estimator": name, "config": config, "flaml_best_loss": loss})
    return Fitted(model=model, config=config, estimator=name)


def starting_estimator(seed: int = _DEFAULT.seed):
    """LightGBM with ``STARTING_POINTS["lgbm"]`` and the absolute-error objective, as FLAML builds it."""
    yielding_threads()
    from lightgbm import LGBMRegressor

    config = dict(STARTING_POINTS["lgbm"])
    max_bin = (1 << config.pop("log_max_bin")) - 1  # FLAML's encoding of max_bin
    return LGBMRegressor(objective="regression_l1", max_bin=max_bin, random_state=seed, n_jobs=2, verbose=-1, **config)

