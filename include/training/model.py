"""The deployable model: a fitted regressor plus the facts needed to use it (feature list,
prediction-interval residuals). Pickled without FLAML, so loading it needs only lightgbm/sklearn."""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from include.training.dataset import matrix

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

INTERVAL = (0.1, 0.9)  # an 80 % prediction interval from validation residuals


def yielding_threads() -> None:
    """Make OpenMP's idle threads sleep instead of spinning, before LightGBM's runtime loads. With
    spinning threads a 2-thread LightGBM fit on a busy 2-core machine (an MWAA worker running other
    tasks, the test suite) took 25-30 s instead of 5.6 s (the world history's 2,925 x 113 rows); on
    an idle machine it costs nothing measurable. A value set by the user wins."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


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
        yielding_threads()  # unpickling imports LightGBM
        return pickle.loads(data)  # noqa: S301 - our own registry's artifacts only


def residual_quantiles(y_true, y_pred) -> tuple[float, float]:
    import numpy as np

    r = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)
    r = r[~np.isnan(r)]
    if not len(r):
        return (0.0, 0.0)
    lo, hi = np.quantile(r, INTERVAL)
    return (float(lo), float(hi))
