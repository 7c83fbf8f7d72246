"""The SageMaker serverless endpoint (aws backend): configs, verification, rollback, and batch
forecasts through the endpoint. Every resource name derives from the endpoint name, the partition
date and the model version, so runs never collide."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from include.training.dataset import matrix

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def resource_name(endpoint: str, day: str, version) -> str:
    """``<endpoint>-<yyyymmdd>-v<version>`` (SageMaker names: <= 63 chars, alphanumerics and hyphens)."""
    return f"{endpoint}-{day.replace('-', '')}-v{version}"[:63]


def model_config(name: str, package_arn: str, role_arn: str) -> dict:
    return {"ModelName": name, "Containers": [{"ModelPackageName": package_arn}], "ExecutionRoleArn": role_arn,
            "Tags": [{"Key": "project", "Value": "aqicast"}]}


def endpoint_config(name: str, model_name: str, memory_mb: int, max_concurrency: int) -> dict:
    """A serverless endpoint config: one variant, no instances to manage."""
    return {"EndpointConfigName": name,
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": model_name,
                                    "ServerlessConfig": {"MemorySizeInMB": int(memory_mb),
                                                         "MaxConcurrency": int(max_concurrency)}}],
            "Tags": [{"Key": "project", "Value": "aqicast"}]}


def current_config(sm, endpoint: str) -> str | None:
    """The endpoint's current config name (None if the endpoint does not exist yet)."""
    try:
        return sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    except sm.exceptions.ClientError:
        return None


def serving_package(sm, endpoint: str) -> str | None:
    """The model package the endpoint serves now (None if no endpoint)."""
    config = current_config(sm, endpoint)
    if not config:
        return None
    variant = sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]
    model = sm.describe_model(ModelName=variant["ModelName"])
    containers = model.get("Containers") or [model.get("PrimaryContainer", {})]
    return containers[0].get("ModelPackageName")


def rollback(sm, endpoint: str, previous_config: str | None) -> str:
    """Point the endpoint back at its previous config (or say there was none)."""
    if not previous_config:
        return f"endpoint {endpoint} had no previous config: nothing to roll back to"
    sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=previous_config)
    return f"endpoint {endpoint} rolled back to {previous_config}"


def invoke(runtime, endpoint: str, frame: "pd.DataFrame", features: list[str]):
    """Predictions for ``frame`` from the endpoint (CSV in, one number per line out)."""
    import numpy as np

    body = matrix(frame, features).to_csv(index=False, header=False, float_format="%.6g").encode()
    resp = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=body)
    text = resp["Body"].read().decode().strip()
    values = [float(x.split(",")[0]) for x in text.replace("\r", "").split("\n") if x.strip()]
    if len(values) != len(frame):
        raise ValueError(f"endpoint {endpoint} returned {len(values)} predictions for {len(frame)} rows: {text[:200]!r}")
    return np.clip(np.asarray(values), 0, 500)


def verify(runtime, endpoint: str, frame: "pd.DataFrame", features: list[str]) -> list[float]:
    """A smoke test after an update: the endpoint answers with one AQI per row, inside 0..500."""
    preds = invoke(runtime, endpoint, frame.head(3), features)
    return [float(p) for p in preds]


class EndpointModel:
    """Adapter so the batch forecast can use the endpoint like a local model."""

    def __init__(self, runtime, endpoint: str, features: list[str], residual_quantiles=(0.0, 0.0)):
        self.runtime, self.endpoint, self.features = runtime, endpoint, features
        self.residual_quantiles = tuple(residual_quantiles)

    def predict(self, frame):
        return invoke(self.runtime, self.endpoint, frame, self.features)

    def interval(self, predictions):
        import numpy as np

        lo, hi = self.residual_quantiles
        return np.clip(predictions + lo, 0, 500), np.clip(predictions + hi, 0, 500)


def forecast_with_endpoint(lake, registry, day: dt.date):
    """The aws batch forecast: D's features through the endpoint; the champion's metadata gives
    the feature order and the interval. Falls back to persistence if there is no champion."""
    from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook

    from include import config
    from include.etl.features import FEATURES
    from include.training.forecast import FORECASTS, predict_frame
    from include.training.registry import champion

    champ = champion(registry)
    features = lake.read_partition(FEATURES, day)
    model = None
    if champ is not None:
        runtime = SageMakerHook(aws_conn_id=config.setting("AWS_CONN_ID")).get_session().client("sagemaker-runtime")
        model = EndpointModel(runtime, config.setting("ENDPOINT"), champ.properties.get("features") or [],
                              champ.properties.get("residual_quantiles") or (0.0, 0.0))
    out = predict_frame(features, model, champ.version if champ else None, champ.arn if champ else "")
    lake.write_partition(FORECASTS, day, out)
    from include.serving.snapshot import publish_snapshot

    publish_snapshot(lake, day, out, model.features if model else None)
    return out
