"""The forecast stage: D's features through the champion (the backend's model or endpoint) ->
``forecasts/city_daily/date=D`` and the serving snapshot."""
from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from include.backends.base import Backend

log = logging.getLogger(__name__)
LOG_COLUMNS = ["forecast_date", "city", "aqi_pred", "category", "model_version"]


def forecast(backend: "Backend", day: dt.date) -> "pd.DataFrame":
    from include.forecast.predict import forecast as publish
    from include.training.registry import champion

    champ = champion(backend.registry)
    model = backend.champion_model(champ) if champ is not None else None
    out = publish(backend.lake, day, model, champ.version if champ else None, champ.arn if champ else "")
    log.info("forecasts for %s (%d cities):\n%s", day, len(out), out[LOG_COLUMNS].head(50).to_string(index=False))
    return out
