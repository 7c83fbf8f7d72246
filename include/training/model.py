"""The deployable model: a fitted regressor plus the facts needed to use it (feature list,
prediction-interval residuals). Pickled without FLAML, so loading it needs only lightgbm/sklearn."""
from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from include.training.dataset import matrix

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

INTERVAL = (0.1, 0.9)  # an 80 % prediction interval from validation residuals


@dataclass
class AqiModel:
    estimator: Any
    features: list[str]
    residual_quantiles: tuple[float, float] = (0.0, 0.0)
    info: dict = field(default_factory=dict)

    def predict(self, df: "pd.DataFrame"):
        import numpy as np

        return np.clip(self.estimator.predict(matrix(df, self.features)), 0.0, 500.0)

    def interval(self, predictions):
        import numpy as np

        lo, hi = self.residual_quantiles
        return np.clip(predictions + lo, 0, 500), np.clip(predictions + hi, 0, 500)

    def to_bytes(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_bytes(data: bytes) -> "AqiModel":
        return pickle.loads(data)  # noqa: S301 - our own registry's artifacts only


def residual_quantiles(y_true, y_pred) -> tuple[float, float]:
    import numpy as np

    r = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)
    r = r[~np.isnan(r)]
    if not len(r):
        return (0.0, 0.0)
    lo, hi = np.quantile(r, INTERVAL)
    return (float(lo), float(hi))
