"""When to retrain and when a challenger replaces the champion. Pure functions: both backends
(and the tests) call them with plain numbers.

Autopilot jobs cost real money, so the DAG retrains only when one of these holds:
no champion; the champion is older than ``max_model_age_days``; its recent live error has degraded
(live MAE over the last ``live_window_days`` scored forecasts above its validation MAE by more than
``degrade_tolerance``); or a person forces it.

A challenger is Approved only if, on the same recent evaluation window, its MAE beats the
champion's and beats persistence by at least ``promotion_margin`` (relative). Otherwise it is
registered as Rejected with the reason.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from include.config import TrainingSettings

_DEFAULT = TrainingSettings()  # the documented defaults; callers pass the run's settings


@dataclass(frozen=True)
class Decision:
    yes: bool
    reason: str


def should_retrain(*, today: dt.date, champion_trained_through: str | None, champion_validation_mae: float | None,
                   live_mae: float | None, live_days: int, force: bool = False,
                   max_age_days: int = _DEFAULT.max_model_age_days, tolerance: float = _DEFAULT.degrade_tolerance,
                   min_live_days: int = _DEFAULT.min_live_days) -> Decision:
    if force:
        return Decision(True, "retrain forced by the run's parameters")
    if champion_trained_through is None:
        return Decision(True, "no champion model yet")
    age = (today - dt.date.fromisoformat(champion_trained_through)).days
    old = f"{age} day{'' if age == 1 else 's'} old"
    if age > max_age_days:
        return Decision(True, f"champion trained on data through {champion_trained_through}, "
                              f"{old} (limit {max_age_days})")
    if live_mae is not None and live_days >= min_live_days and champion_validation_mae:
        if live_mae > champion_validation_mae * (1 + tolerance):
            return Decision(True, f"live MAE {live_mae:.1f} over the last {live_days} days exceeds validation MAE "
                                  f"{champion_validation_mae:.1f} by more than {tolerance:.0%}")
        return Decision(False, f"champion is {old} and its live MAE {live_mae:.1f} over {live_days} days "
                               f"is within {tolerance:.0%} of its validation MAE {champion_validation_mae:.1f}")
    return Decision(False, f"champion is {old} (limit {max_age_days}); "
                           f"only {live_days} scored live days so far (need {min_live_days} to judge drift)")


def promote_if_better(*, challenger_mae: float, champion_mae: float | None, persistence_mae: float,
                      margin: float = _DEFAULT.promotion_margin) -> Decision:
    """Approve the challenger only if it beats persistence by ``margin`` and beats the champion."""
    needed = persistence_mae * (1 - margin)
    if challenger_mae > needed:
        return Decision(False, f"challenger MAE {challenger_mae:.2f} does not beat persistence MAE "
                               f"{persistence_mae:.2f} by the required {margin:.0%} (needs <= {needed:.2f})")
    if champion_mae is not None and challenger_mae >= champion_mae:
        return Decision(False, f"challenger MAE {challenger_mae:.2f} does not beat champion MAE {champion_mae:.2f}")
    against = f"champion MAE {champion_mae:.2f}" if champion_mae is not None else "no champion"
    return Decision(True, f"challenger MAE {challenger_mae:.2f} beats persistence {persistence_mae:.2f} "
                          f"(by {1 - challenger_mae / persistence_mae:.0%}) and {against}")
