"""Publishing the champion on aws: the serverless endpoint's configs, the check after an update,
and the rollback. Every resource name derives from the endpoint name, the partition date and the
model version, so runs never collide. (Inference itself is ``aws.EndpointModel`` in the batch
forecast and ``serving.aws.endpoint_predictor`` in the API, with one wire format.)"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from include.backends.aws import AwsBackend

log = logging.getLogger(__name__)


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


def plan(backend: "AwsBackend", day: str) -> dict | None:
    """What the endpoint update will create, or None if the endpoint already serves the champion
    or there is no champion."""
    from include.training.registry import champion

    champ = champion(backend.registry)
    aws = backend.settings.aws
    if champ is None:
        log.info("no approved model: the endpoint stays as it is")
        return None
    if serving_package(backend.sagemaker, aws.endpoint) == champ.arn:
        log.info("endpoint %s already serves %s", aws.endpoint, champ.arn)
        return None
    name = resource_name(aws.endpoint, day, champ.version)
    return {
        "model": model_config(name, champ.arn, aws.sagemaker_role_arn),
        "endpoint_config": endpoint_config(name, name, aws.serverless_memory_mb, aws.serverless_max_concurrency),
        "endpoint": {"EndpointName": aws.endpoint, "EndpointConfigName": name},
        "previous_config": current_config(backend.sagemaker, aws.endpoint),
        "package": champ.arn,
        "features": champ.properties.get("features") or [],
    }


def verify(backend: "AwsBackend", frame: "pd.DataFrame", features: list[str]) -> list[float]:
    """A smoke test after an update: the endpoint answers with one AQI per row, inside 0..500."""
    from include.backends.aws import EndpointModel

    model = EndpointModel(backend.sagemaker_runtime, backend.settings.aws.endpoint, features)
    return [float(p) for p in model.predict(frame.head(3))]


def rollback(sm, endpoint: str, previous_config: str | None) -> str:
    """Point the endpoint back at its previous config (or say there was none)."""
    if not previous_config:
        return f"endpoint {endpoint} had no previous config: nothing to roll back to"
    sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=previous_config)
    return f"endpoint {endpoint} rolled back to {previous_config}"
