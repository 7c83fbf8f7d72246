"""The aws backend: the S3 lake, SageMaker Model Registry, Autopilot, and the serverless endpoint
for the champion's predictions. Every client comes from one boto3 session: inside Airflow the
glue passes the session of the task's AWS connection; elsewhere the default credential chain."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from include import catalog
from include.backends.base import LakeAndRaw
from include.endpoint_csv import CONTENT_TYPE, decode_predictions, encode_rows

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from include.config import Settings
    from include.training.registry import ModelVersion, SageMakerRegistry


class AwsBackend(LakeAndRaw):
    name = "aws"

    def __init__(self, settings: "Settings", session=None):
        self.settings = settings
        self._session = session

    @functools.cached_property
    def session(self):
        if self._session is not None:
            return self._session
        import boto3

        return boto3.session.Session(region_name=self.settings.aws.region)

    def client(self, service: str):
        return self.session.client(service)

    @functools.cached_property
    def sagemaker(self):
        return self.client("sagemaker")

    @functools.cached_property
    def sagemaker_runtime(self):
        return self.client("sagemaker-runtime")

    @functools.cached_property
    def s3(self):
        return self.client("s3")

    @functools.cached_property
    def registry(self) -> "SageMakerRegistry":
        from include.training.registry import SageMakerRegistry

        return SageMakerRegistry(self.sagemaker, s3_client=self.s3, group=self.settings.model_group,
                                 artifact_prefix=f"{self.settings.aws.artifacts}/{catalog.ARTIFACTS_MODELS}")

    def champion_model(self, champion: "ModelVersion") -> "EndpointModel":
        return EndpointModel(self.sagemaker_runtime, self.settings.aws.endpoint,
                             champion.properties.get("features") or [],
                             champion.properties.get("residual_quantiles") or (0.0, 0.0))


class EndpointModel:
    """The serverless endpoint as a model: the same interface as a local ``AqiModel``."""

    def __init__(self, runtime, endpoint: str, features: list[str], residual_quantiles=(0.0, 0.0)):
        self.runtime, self.endpoint, self.features = runtime, endpoint, list(features)
        self.residual_quantiles = tuple(residual_quantiles)

    def predict(self, frame: "pd.DataFrame"):
        import numpy as np

        from include.forecast.snapshot import feature_rows

        resp = self.runtime.invoke_endpoint(EndpointName=self.endpoint, ContentType=CONTENT_TYPE, Accept=CONTENT_TYPE,
                                            Body=encode_rows(feature_rows(frame, self.features)))
        body = resp["Body"].read()
        values = decode_predictions(body)
        if len(values) != len(frame):
            raise ValueError(f"endpoint {self.endpoint} returned {len(values)} predictions for {len(frame)} rows: "
                             f"{body[:200]!r}")
        return np.clip(np.asarray(values, dtype=float), 0, 500)

    def interval(self, predictions):
        import numpy as np

        lo, hi = self.residual_quantiles
        return np.clip(predictions + lo, 0, 500), np.clip(predictions + hi, 0, 500)
