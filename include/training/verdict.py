"""One challenger verdict for both backends: the same evaluation window, the same metrics, the same
promotion policy and the same registry metadata, whether the challenger is a local FLAML model
(scored here on the window) or an Autopilot candidate (whose objective was measured on exactly
that window, sent as its validation channel).

    split = evaluation_split(features, day, settings)     # train rows | the recent window
    verdict = judge(split, challenger=..., champion=...)   # Approved / Rejected + why + metadata
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from include.catalog import FEATURES
from include.config import TrainingSettings
from include.training import baselines, policies
from include.training.dataset import TARGET, between, labelled
from include.training.evaluate import metrics, skill

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Predict = Callable[["pd.DataFrame"], "object"]


@dataclass
class Split:
    """Labelled features through ``day``: ``train`` = before the evaluation window, ``holdout`` =
    the most recent ``eval_days`` whose targets are known at the end of ``day``."""
    day: dt.date
    data: "pd.DataFrame"
    train: "pd.DataFrame"
    holdout: "pd.DataFrame"
    eval_start: dt.date
    eval_end: dt.date

    def enough(self, min_train_rows: int) -> str | None:
        """Why this split cannot judge a challenger, or None."""
        if len(self.train) < min_train_rows or self.holdout.empty:
            return (f"not enough history: {len(self.train)} training rows (need {min_train_rows}) "
                    f"and {len(self.holdout)} evaluation rows before {self.day}")
        return None


def evaluation_window(day: dt.date, eval_days: int) -> tuple[dt.date, dt.date]:
    end = day - dt.timedelta(days=1)
    return end - dt.timedelta(days=eval_days - 1), end


def evaluation_split(features: "pd.DataFrame", day: dt.date, settings: TrainingSettings) -> Split:
    data = labelled(features)
    start, end = evaluation_window(day, settings.eval_days)
    return Split(day=day, data=data, train=data[data["date"] < start.isoformat()],
                 holdout=between(data, start, end), eval_start=start, eval_end=end)


@dataclass
class Challenger:
    """What a trainer produced. ``predict`` scores the window here (local); ``reported_mae`` is the
    trainer's own objective on the same window (Autopilot)."""
    estimator: str
    features: list[str]
    predict: Predict | None = None
    reported_mae: float | None = None
    config: dict = field(default_factory=dict)


@dataclass
class Champion:
    version: int
    predict: Predict


@dataclass
class Verdict:
    approved: bool
    reason: str
    metrics: dict
    properties: dict
    holdout_predictions: "object" = None

    @property
    def status(self) -> str:
        from include.training.registry import APPROVED, REJECTED

        return APPROVED if self.approved else REJECTED


def judge(split: Split, challenger: Challenger, champion: Champion | None,
          settings: TrainingSettings = TrainingSettings()) -> Verdict:
    holdout, y = split.holdout, split.holdout[TARGET]
    persistence = metrics(y, baselines.persistence(holdout))
    climatology = metrics(y, baselines.climatology(holdout, baselines.climatology_table(split.train)))
    pred = None
    if challenger.predict is not None:
        pred = challenger.predict(holdout)
        scored = metrics(y, pred)
    else:
        scored = {"n": len(holdout), "mae": challenger.reported_mae, "rmse": None, "category_accuracy": None}
    champion_mae = metrics(y, champion.predict(holdout))["mae"] if champion is not None and len(holdout) else None

    if scored["mae"] is None:
        decision = policies.Decision(False, f"no MAE for challenger {challenger.estimator} on the evaluation window")
    else:
        decision = policies.promote_if_better(challenger_mae=scored["mae"], persistence_mae=persistence["mae"],
                                              champion_mae=champion_mae, margin=settings.promotion_margin)
    all_metrics = {
        **scored, "persistence_mae": persistence["mae"], "climatology_mae": climatology["mae"],
        "skill_vs_persistence": skill(scored["mae"], persistence["mae"]),
        "skill_vs_climatology": skill(scored["mae"], climatology["mae"]),
        "champion_mae": champion_mae,
        "persistence_category_accuracy": persistence["category_accuracy"],
    }
    data = split.data
    first = str(data["date"].min()) if len(data) else None
    properties = {
        "train_start": first,
        # an approved local model is refitted on every labelled row through D (see steps)
        "train_end": str(split.train["date"].max()) if len(split.train) else None,
        "eval_start": split.eval_start.isoformat(), "eval_end": split.eval_end.isoformat(),
        "features": list(challenger.features), "estimator": challenger.estimator, "config": challenger.config,
        "lineage": {FEATURES: [first, split.day.isoformat()]},
        "champion_version": champion.version if champion else None,
        "rows": {"train": len(split.train), "eval": len(holdout)},
    }
    return Verdict(decision.yes, decision.reason, all_metrics, properties, pred)
