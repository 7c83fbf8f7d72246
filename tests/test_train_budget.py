"""The training budget is the train step's wall time: FLAML searches for what remains of it after
loading the features and importing FLAML, less a share kept for the refit and the verdict; FLAML's
own refit of the winner (which ours replaces) is off."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from include.training import train


def test_search_budget_is_what_remains_of_the_step():
    now = time.monotonic()
    assert train.search_budget(60, None) == pytest.approx(60 * (1 - train.AFTER_SEARCH_SHARE))
    assert train.search_budget(60, now - 20) == pytest.approx(60 * (1 - train.AFTER_SEARCH_SHARE) - 20, abs=0.5)
    assert train.search_budget(10, now - 30) == 1.0  # overspent already: FLAML still fits its starting point


def test_fit_hands_flaml_the_remaining_budget_and_no_refit_of_its_own(monkeypatch):
    from flaml import AutoML

    seen = {}
    real_fit = AutoML.fit

    def spy(self, *args, **kwargs):
        seen.update(kwargs)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(AutoML, "fit", spy)
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({
        "date": pd.date_range("2024-01-01", periods=n, freq="D").date, "city_id": 1,
        "aqi": rng.uniform(20, 150, n), "aqi_lag1": rng.uniform(20, 150, n), "pm25_mean": rng.uniform(5, 60, n),
    })
    frame["target_aqi"] = frame["aqi"] * 0.8 + 10
    fitted = train.fit(frame, time_budget=3, estimators=["lgbm"], features=["aqi", "aqi_lag1", "pm25_mean"],
                       started=time.monotonic() - 1.0)
    assert seen["retrain_full"] is False
    assert 0 < seen["time_budget"] <= 3 * (1 - train.AFTER_SEARCH_SHARE) - 1.0 + 1e-6
    pred = fitted.model.predict(frame)
    assert np.isfinite(pred).all() and len(pred) == n


def test_openmp_threads_yield_unless_the_user_says_otherwise(monkeypatch):
    from include.training.model import yielding_threads

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    yielding_threads()
    import os

    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    yielding_threads()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
