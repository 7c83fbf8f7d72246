"""Model registry round trips: the file-based registry in the lake and SageMaker Model Registry
(under moto), with the same semantics."""
from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from include.lake import Lake
from include.training.registry import APPROVED, PENDING, REJECTED, LocalRegistry, SageMakerRegistry, champion

PROPS = {"train_start": "2013-03-01", "train_end": "2015-06-30", "features": ["aqi", "aqi_lag1"],
         "lineage": {"features/city_daily": ["2013-03-01", "2015-06-30"]}}


def exercise(registry) -> None:
    assert registry.versions() == [] and champion(registry) is None
    v1 = registry.register(b"model-one", status=APPROVED, metrics={"mae": 30.5}, properties=PROPS,
                           description="first model")
    v2 = registry.register(b"model-two", status=REJECTED, metrics={"mae": 35.0}, properties=PROPS,
                           description="challenger MAE 35.00 does not beat champion MAE 30.50")
    assert [v.version for v in registry.versions()] == [1, 2]
    assert champion(registry).version == 1
    again = registry.versions()[1]
    assert again.status == REJECTED and again.metrics == {"mae": 35.0} and again.properties == PROPS
    assert "does not beat" in again.description
    assert registry.load_artifact(v1) == b"model-one" and registry.load_artifact(v2) == b"model-two"

    registry.set_status(2, APPROVED, "approved by a person after review")
    assert champion(registry).version == 2
    assert registry.versions()[1].properties == PROPS  # metadata survives a status change
    registry.set_status(2, REJECTED, "rolled back")
    registry.set_status(1, PENDING, "awaiting review")
    assert champion(registry) is None
    with pytest.raises(ValueError):
        registry.set_status(1, "Maybe", "not a SageMaker status")


def test_local_registry_round_trip(tmp_path):
    exercise(LocalRegistry(Lake(str(tmp_path / "lake"))))
    assert (tmp_path / "lake/registry/aqicast-next-day-aqi/v0001/package.json").exists()


@mock_aws
def test_sagemaker_registry_round_trip():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="aqicast-models")
    sm = boto3.client("sagemaker", region_name="us-east-1")
    registry = SageMakerRegistry(sm, s3_client=s3, artifact_prefix="s3://aqicast-models/registry",
                                 image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/autopilot:latest")
    exercise(registry)
    packages = sm.list_model_packages(ModelPackageGroupName="aqicast-next-day-aqi")["ModelPackageSummaryList"]
    assert len(packages) == 2
    described = sm.describe_model_package(ModelPackageName=packages[0]["ModelPackageArn"])
    assert described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"].startswith("s3://aqicast-models/registry/")
