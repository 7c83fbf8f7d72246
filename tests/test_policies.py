"""Promotion and retrain policies (pure functions)."""
from __future__ import annotations

import datetime as dt

from include.training.policies import promote_if_better, should_retrain

TODAY = dt.date(2015, 6, 30)


def test_a_worse_challenger_is_rejected():
    d = promote_if_better(challenger_mae=30.0, champion_mae=25.0, persistence_mae=40.0, margin=0.02)
    assert not d.yes and "does not beat champion MAE 25.00" in d.reason


def test_a_challenger_must_beat_persistence_by_the_margin():
    d = promote_if_better(challenger_mae=39.5, champion_mae=None, persistence_mae=40.0, margin=0.02)
    assert not d.yes and "persistence" in d.reason and "39.20" in d.reason
    assert promote_if_better(challenger_mae=39.1, champion_mae=None, persistence_mae=40.0, margin=0.02).yes


def test_a_better_challenger_is_approved_with_the_reason():
    d = promote_if_better(challenger_mae=20.0, champion_mae=25.0, persistence_mae=40.0)
    assert d.yes and "beats persistence 40.00 (by 50%) and champion MAE 25.00" in d.reason
    assert not promote_if_better(challenger_mae=25.0, champion_mae=25.0, persistence_mae=40.0).yes  # a tie keeps the champion


def test_retrain_when_there_is_no_champion_or_it_is_forced():
    assert should_retrain(today=TODAY, champion_trained_through=None, champion_validation_mae=None,
                          live_mae=None, live_days=0).yes
    forced = should_retrain(today=TODAY, champion_trained_through="2015-06-29", champion_validation_mae=20,
                            live_mae=20, live_days=14, force=True)
    assert forced.yes and "forced" in forced.reason


def test_retrain_when_the_champion_is_too_old():
    d = should_retrain(today=TODAY, champion_trained_through="2015-05-01", champion_validation_mae=20,
                       live_mae=18, live_days=14, max_age_days=30)
    assert d.yes and "60 days old" in d.reason


def test_retrain_when_live_error_degrades_and_not_otherwise():
    degraded = should_retrain(today=TODAY, champion_trained_through="2015-06-20", champion_validation_mae=20,
                              live_mae=26, live_days=10, tolerance=0.25)
    assert degraded.yes and "live MAE 26.0" in degraded.reason
    healthy = should_retrain(today=TODAY, champion_trained_through="2015-06-20", champion_validation_mae=20,
                             live_mae=24, live_days=10, tolerance=0.25)
    assert not healthy.yes and "within 25%" in healthy.reason
    too_few = should_retrain(today=TODAY, champion_trained_through="2015-06-20", champion_validation_mae=20,
                             live_mae=60, live_days=3, min_live_days=7)
    assert not too_few.yes and "only 3 scored live days" in too_few.reason
