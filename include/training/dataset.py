"""The training table: feature rows with a known target, the model's feature list, splits by date."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

TARGET = "target_aqi"
#: Columns that identify a row or are not numeric inputs; everything else numeric is a feature.
NOT_FEATURES = {"city_id", "city", "city_country", "city_lat", "city_lon", "city_tz", "date", "target_date",
                "weather_date", "dominant_pollutant", TARGET,
                # other national scales: their D+1 targets (never inputs) and dominant pollutants (text)
                "target_aqi_cn", "target_aqi_in", "aqi_cn_dominant", "aqi_in_dominant"}


def feature_columns(df: "pd.DataFrame") -> list[str]:
    """Every column of the feature table except identifiers, text and the target, sorted. Chosen by
    name, not dtype: a partition where a weather column is all-missing must not drop the feature."""
    return sorted(c for c in df.columns if c not in NOT_FEATURES)


def matrix(df: "pd.DataFrame", columns: list[str]) -> "pd.DataFrame":
    """The model input: the listed columns as float (missing columns and values become NaN)."""
    import pandas as pd

    frame = df.reindex(columns=columns)
    return frame.apply(lambda col: pd.to_numeric(col, errors="coerce")).astype("float64")


def labelled(df: "pd.DataFrame") -> "pd.DataFrame":
    """Rows usable for training/evaluation: a target and today's AQI are known."""
    return df[df[TARGET].notna() & df["aqi"].notna()].sort_values(["date", "city_id"], ignore_index=True)


def before(df: "pd.DataFrame", day: dt.date | str) -> "pd.DataFrame":
    """Rows whose target is known strictly before ``day`` (date + 1 < day): safe to train on when
    forecasting from ``day``'s features."""
    limit = (dt.date.fromisoformat(str(day)) - dt.timedelta(days=1)).isoformat()
    return df[df["date"] < limit]


def between(df: "pd.DataFrame", start: dt.date | str, end: dt.date | str) -> "pd.DataFrame":
    return df[(df["date"] >= str(start)) & (df["date"] <= str(end))]
