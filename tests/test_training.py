"""Training, registration with the promotion policy, forecasts and the backtest, on real Beijing
data (a quarter of 2015 ingested from the in-repo sample)."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from include.cli import main
from include.etl.aqi import category
from include.lake import Lake
from include.training.backtest import backtest
from include.app import forecasting, training
from include.catalog import FORECASTS
from include.training.model import AqiModel
from include.training.registry import APPROVED, REJECTED, champion
from include.training.train import Fitted
from tests.sample_lakes import local_backend

START, END = dt.date(2015, 1, 1), dt.date(2015, 3, 31)
KW = dict(eval_days=21, min_train_rows=30)


def backend_for(lake, group: str):
    return local_backend(lake.root, group=group, **KW)


@pytest.fixture(scope="module")
def lake(tmp_path_factory, lake_cache) -> Lake:
    from tests.sample_lakes import ingest_sample

    return ingest_sample(tmp_path_factory.mktemp("training") / "lake", (START, END), cache=lake_cache)


class Constant:
    """A deliberately useless model: always predicts the same AQI."""

    def __init__(self, value: float):
        self.value = value

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.full(len(X), self.value)


def constant_trainer(value: float):
    def trainer(train, time_budget=None, **_):
        return Fitted(model=AqiModel(Constant(value), ["aqi"]), config={"value": value}, estimator="constant")
    return trainer


class Persistence:
    """Tomorrow = today, slightly shrunk toward the mean: a plausible, cheap real model."""

    def fit(self, X, y):
        self.mean = float(np.nanmean(y))
        return self

    def predict(self, X):
        today = X["aqi"].to_numpy(dtype=float)
        return 0.8 * today + 0.2 * self.mean


def shrunk_persistence_trainer(train, time_budget=None, **_):
    from include.training.dataset import TARGET, matrix

    est = Persistence().fit(matrix(train, ["aqi"]), train[TARGET].to_numpy())
    return Fitted(model=AqiModel(est, ["aqi"]), config={}, estimator="shrunk-persistence")


def test_flaml_trains_registers_and_forecasts(lake, tmp_path):
    backend = backend_for(lake, "flaml-test")
    registry = backend.registry
    outcome = training.train(backend, END, budget=4)
    assert outcome["trained"] and outcome["status"] in (APPROVED, REJECTED)
    (version,) = registry.versions()
    m = version.metrics
    assert m["n"] == 21 and m["mae"] > 0 and m["persistence_mae"] > 0
    assert m["skill_vs_persistence"] == pytest.approx(1 - m["mae"] / m["persistence_mae"])
    assert version.properties["eval_end"] == "2015-03-30" and version.properties["eval_start"] == "2015-03-10"
    assert version.properties["lineage"]["features/city_daily"] == ["2015-01-01", "2015-03-31"]
    assert "aqi_lag1" in version.properties["features"] and "temp_c" in version.properties["features"]
    model = AqiModel.from_bytes(registry.load_artifact(version))
    assert model.features == version.properties["features"]
    if version.status == REJECTED:
        assert "does not beat" in version.description


def test_promotion_approves_a_good_model_and_rejects_a_worse_one(lake):
    backend = backend_for(lake, "policy-test")
    registry = backend.registry
    first = training.train(backend, END, trainer=shrunk_persistence_trainer)
    assert first["status"] == APPROVED, first["reason"]
    worse = training.train(backend, END, trainer=constant_trainer(100.0))
    assert worse["status"] == REJECTED
    assert "does not beat persistence" in worse["reason"]
    assert champion(registry).version == 1
    v2 = registry.versions()[1]
    assert v2.status == REJECTED and v2.description == worse["reason"]


def test_retrain_policy_reads_the_registry(lake):
    backend = backend_for(lake, "retrain-test")
    assert training.decide(backend, END).reason == "no champion model yet"
    assert training.decide(backend, END, "skip").reason == "training skipped by the run's parameters"
    assert training.decide(backend, END, "force").yes
    training.train(backend, END, trainer=shrunk_persistence_trainer)
    fresh = training.decide(backend, END)
    assert not fresh.yes and "1 day old" in fresh.reason  # trained through 03-30, the last known target
    later = training.decide(backend, END + dt.timedelta(days=45))
    assert later.yes and "46 days old" in later.reason
    assert lake.read_json(lake.path("_runs/retrain", f"date={END + dt.timedelta(days=45)}.json"))["retrain"] is True


def test_forecast_writes_one_row_per_city_with_category_and_interval(lake):
    backend = backend_for(lake, "forecast-test")
    day = dt.date(2015, 3, 30)
    fallback = forecasting.forecast(backend, day)  # no champion yet: persistence, labelled as such
    assert list(fallback["method"]) == ["persistence"] and list(fallback["model_version"]) == ["persistence"]
    training.train(backend, END, trainer=shrunk_persistence_trainer)
    out = forecasting.forecast(backend, day)
    (row,) = out.to_dict("records")
    assert row["city"] == "Beijing" and row["date"] == "2015-03-30" and row["forecast_date"] == "2015-03-31"
    assert row["model_version"] == "1" and row["method"] == "model"
    assert row["category"] == category(np.array([row["aqi_pred"]]))[0]
    assert row["aqi_lower"] <= row["aqi_pred"] <= row["aqi_upper"]
    assert row["color"].startswith("#")
    assert lake.read_partition(FORECASTS, day)["aqi_pred"].tolist() == [row["aqi_pred"]]


def test_backtest_reports_skill_against_baselines(lake, capsys):
    predictions, result = backtest(lake, dt.date(2015, 3, 1), dt.date(2015, 3, 30), retrain_every=10,
                                   trainer=shrunk_persistence_trainer, min_train_rows=30)
    assert result["config"]["origins"] == 3 and len(predictions) == 30
    # No row is forecast by a model that trained on its target: origins are before the rows they forecast.
    assert (predictions["origin"] <= predictions["date"]).all()
    overall = result["overall"]
    assert overall["persistence"]["n"] == 30
    expected = 1 - overall["model"]["mae"] / overall["persistence"]["mae"]
    assert overall["model"]["skill_vs_persistence"] == pytest.approx(expected)
    saved = json.loads(open(lake.path("backtests", "2015-03-01_2015-03-30", "metrics.json")).read())
    assert saved["overall"]["model"]["mae"] == pytest.approx(overall["model"]["mae"])


def test_cli_train_forecast(lake, capsys):
    assert main(["forecast", "--date", "2015-03-30", "--lake", lake.root]) == 0
    assert "Beijing" in capsys.readouterr().out


def test_cli_train_skip_and_backend_flag(lake, capsys, monkeypatch):
    monkeypatch.setenv("AQICAST_BACKEND", "aws")  # the flag wins over the environment
    assert main(["train", "--backend", "local", "--date", "2015-03-30", "--lake", lake.root, "--retrain", "skip"]) == 0
    assert "retrain=no (training skipped by the run's parameters)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "--backend", "gcp", "--date", "2015-03-30"])


def test_a_search_that_finishes_no_trial_fits_the_starting_configuration(lake, monkeypatch):
    """FLAML returns without a model when no trial ends inside the budget (a global history on a busy
    machine): the challenger is then the known-good starting configuration, not a crashed task."""
    import flaml

    from include.training.dataset import TARGET
    from include.training.train import STARTING_POINTS, fit

    monkeypatch.setattr(flaml.AutoML, "fit", lambda self, *a, **k: None)  # the budget ran out before any trial
    train = lake.read_partitions("features/city_daily", [START + dt.timedelta(days=k) for k in range(60)])
    train = train[train[TARGET].notna()]
    fitted = fit(train, time_budget=5)
    assert fitted.estimator == "lgbm" and fitted.config == STARTING_POINTS["lgbm"]
    booster = fitted.model.estimator
    assert booster.get_params()["objective"] == "regression_l1" and booster.get_params()["max_bin"] == 255
    pred = fitted.model.predict(train)
    assert len(pred) == len(train) and np.isfinite(pred).all() and pred.std() > 0
