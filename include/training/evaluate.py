"""Forecast metrics: MAE, RMSE, EPA category accuracy, and skill against baselines
(skill = 1 - MAE_model / MAE_baseline: 0.3 means 30 % lower error than the baseline)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from include.etl.aqi import category

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def metrics(y_true, y_pred) -> dict:
    import numpy as np

    y, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    ok = ~(np.isnan(y) | np.isnan(p))
    y, p = y[ok], p[ok]
    if not len(y):
        return {"n": 0, "mae": None, "rmse": None, "category_accuracy": None}
    return {
        "n": int(len(y)),
        "mae": float(np.mean(np.abs(y - p))),
        "rmse": float(np.sqrt(np.mean((y - p) ** 2))),
        "category_accuracy": float(np.mean(category(np.round(y)) == category(np.round(p)))),
    }


def skill(model_mae: float | None, baseline_mae: float | None) -> float | None:
    if model_mae is None or not baseline_mae:
        return None
    return float(1.0 - model_mae / baseline_mae)


def report(frame: "pd.DataFrame", truth: str = "target_aqi") -> dict:
    """Metrics of every ``pred_*`` column of ``frame``, overall and per city, with skills of
    ``pred_model`` against ``pred_persistence`` and ``pred_climatology``."""
    preds = [c for c in frame.columns if c.startswith("pred_")]

    def block(df) -> dict:
        out = {c[5:]: metrics(df[truth], df[c]) for c in preds}
        if "model" in out:
            for base in ("persistence", "climatology"):
                if base in out:
                    out["model"][f"skill_vs_{base}"] = skill(out["model"]["mae"], out[base]["mae"])
        return out

    per_city = {str(city): {"city": str(g["city"].iloc[0]), **block(g)} for city, g in frame.groupby("city_id")}
    return {"overall": block(frame), "per_city": per_city}
