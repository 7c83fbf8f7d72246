"""Model registry with SageMaker Model Registry semantics, for both backends.

A *model package group* holds numbered *versions*; each version has an artifact, metrics, a
training window, the feature list, lineage (the partitions it learned from) and an approval status:
``PendingManualApproval``, ``Approved`` or ``Rejected`` (with a description saying why).
The **champion** is the newest Approved version.

``LocalRegistry`` keeps it in the lake (``registry/<group>/v<NNNN>/{package.json,model.pkl}``);
``SageMakerRegistry`` keeps the same facts in SageMaker (``CustomerMetadataProperties`` and
``ModelMetrics``) with the artifact in S3, so the promotion policy runs unchanged on either.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
import socket
from dataclasses import asdict, dataclass, field
from typing import Protocol

from include.catalog import REGISTRY
from include.config import Settings
from include.lake import Lake

PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
GROUP = Settings().model_group  # the default; backends pass the configured group


@dataclass
class ModelVersion:
    group: str
    version: int
    status: str
    created: str
    metrics: dict = field(default_factory=dict)
    properties: dict = field(default_factory=dict)  # training window, features, lineage, config...
    description: str = ""
    artifact: str = ""
    arn: str = ""

    @property
    def trained_through(self) -> str | None:
        return self.properties.get("train_end")

    def as_dict(self) -> dict:
        return asdict(self)


class Registry(Protocol):
    group: str

    def register(self, artifact: bytes, *, status: str, metrics: dict, properties: dict,
                 description: str = "", container: dict | None = None) -> ModelVersion: ...
    def versions(self) -> list[ModelVersion]: ...
    def set_status(self, version: int, status: str, description: str) -> ModelVersion: ...
    def load_artifact(self, version: ModelVersion) -> bytes: ...


def champion(registry: Registry) -> ModelVersion | None:
    approved = [v for v in registry.versions() if v.status == APPROVED]
    return max(approved, key=lambda v: v.version) if approved else None


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, not {status!r}")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class LocalRegistry:
    """File-based registry in the lake (local folder or S3 via fsspec).

    Concurrent registrations never share a version: a number is claimed by creating
    ``v<NNNN>/claim.json`` exclusively (``O_CREAT | O_EXCL`` on a local disk, a conditional PUT
    ``If-None-Match: *`` on S3); whoever loses tries the next number. ``package.json`` is written
    last, so a version is visible only once complete; a registration that dies after its claim
    leaves a gap in the numbering, never a half version. Limitation: on S3 this relies on S3's
    conditional writes (AWS S3 since August 2024, moto); a store that ignores ``If-None-Match``
    would give back the old race (two writers may claim the same number).
    """

    CLAIM = "claim.json"
    MAX_CLAIM_ATTEMPTS = 1000

    def __init__(self, lake: Lake, group: str = GROUP):
        self.lake, self.group = lake, group

    def _taken(self) -> list[int]:
        """Every version number with a folder, complete or only claimed."""
        base = self._dir()
        if not self.lake.fs.exists(base):
            return []
        numbers = []
        for entry in self.lake.fs.ls(base, detail=False):
            name = posixpath.basename(entry.rstrip("/"))
            if name.startswith("v") and name[1:].isdigit():
                numbers.append(int(name[1:]))
        return numbers

    def _claim_version(self) -> int:
        number = max(self._taken(), default=0) + 1
        claim = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "claimed": _now()}).encode()
        for _ in range(self.MAX_CLAIM_ATTEMPTS):
            if self.lake.put_new(posixpath.join(self._dir(number), self.CLAIM), claim):
                return number
            number += 1
        raise RuntimeError(f"could not claim a version of {self.group} after {self.MAX_CLAIM_ATTEMPTS} attempts")

    def _dir(self, version: int | None = None) -> str:
        base = self.lake.path(REGISTRY, self.group)
        return base if version is None else posixpath.join(base, f"v{version:04d}")

    def versions(self) -> list[ModelVersion]:
        base = self._dir()
        if not self.lake.fs.exists(base):
            return []
        out = []
        for entry in sorted(self.lake.fs.ls(base, detail=False)):
            meta = posixpath.join(entry, "package.json")
            if posixpath.basename(entry).startswith("v") and self.lake.exists(meta):
                out.append(ModelVersion(**self.lake.read_json(meta)))
        return sorted(out, key=lambda v: v.version)

    def register(self, artifact: bytes, *, status: str, metrics: dict, properties: dict,
                 description: str = "", container: dict | None = None) -> ModelVersion:
        _check_status(status)
        number = self._claim_version()
        folder = self._dir(number)
        artifact_path = posixpath.join(folder, "model.pkl")
        self.lake.put_bytes(artifact_path, artifact)
        mv = ModelVersion(group=self.group, version=number, status=status, created=_now(), metrics=metrics,
                          properties=properties, description=description, artifact=self.lake.url(artifact_path),
                          arn=f"local:model-package/{self.group}/{number}")
        self.lake.write_json(posixpath.join(folder, "package.json"), mv.as_dict())  # written last: the commit point
        return mv

    def set_status(self, version: int, status: str, description: str) -> ModelVersion:
        _check_status(status)
        meta = posixpath.join(self._dir(version), "package.json")
        mv = ModelVersion(**self.lake.read_json(meta))
        mv.status, mv.description = status, description
        self.lake.write_json(meta, mv.as_dict())
        return mv

    def load_artifact(self, version: ModelVersion) -> bytes:
        return self.lake.get_bytes(posixpath.join(self._dir(version.version), "model.pkl"))


class SageMakerRegistry:
    """The same registry on SageMaker Model Registry (boto3). Metrics and properties are kept as
    ``CustomerMetadataProperties`` (string values, JSON where structured) so they round-trip."""

    def __init__(self, client, *, s3_client, group: str = GROUP, artifact_prefix: str, image_uri: str = ""):
        self.sm, self.s3, self.group = client, s3_client, group
        self.artifact_prefix = artifact_prefix.rstrip("/")
        self.image_uri = image_uri

    def ensure_group(self) -> None:
        try:
            self.sm.describe_model_package_group(ModelPackageGroupName=self.group)
        except self.sm.exceptions.ClientError:
            self.sm.create_model_package_group(ModelPackageGroupName=self.group,
                                               ModelPackageGroupDescription="aqicast next-day AQI per city")

    def versions(self) -> list[ModelVersion]:
        try:
            pages = self.sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=self.group)
            summaries = [s for page in pages for s in page["ModelPackageSummaryList"]]
        except self.sm.exceptions.ClientError:
            return []
        return sorted((self._describe(s["ModelPackageArn"]) for s in summaries), key=lambda v: v.version)

    def _describe(self, arn: str) -> ModelVersion:
        d = self.sm.describe_model_package(ModelPackageName=arn)
        props = d.get("CustomerMetadataProperties", {})
        return ModelVersion(
            group=self.group, version=int(d.get("ModelPackageVersion", 0)), status=d["ModelApprovalStatus"],
            created=str(d.get("CreationTime", "")), metrics=json.loads(props.get("metrics", "{}")),
            properties=json.loads(props.get("properties", "{}")), description=d.get("ApprovalDescription", ""),
            artifact=props.get("artifact", ""), arn=arn)

    def register(self, artifact: bytes | None, *, status: str, metrics: dict, properties: dict,
                 description: str = "", container: dict | None = None) -> ModelVersion:
        """A new version. ``container``: the inference container(s) that serve it (Autopilot's
        candidate: image, artifact, environment); without one, ``artifact`` is uploaded and served
        by ``image_uri``."""
        _check_status(status)
        self.ensure_group()
        containers = container if isinstance(container, list) else [container] if container else None
        if containers is None:
            if artifact is None:
                raise ValueError("register needs an artifact or a container")
            key = f"{self.artifact_prefix}/{self.group}/{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%f}/model.pkl"
            bucket, _, name = key.removeprefix("s3://").partition("/")
            self.s3.put_object(Bucket=bucket, Key=name, Body=artifact)
            containers = [{"Image": self.image_uri, "ModelDataUrl": key}]
        key = containers[0].get("ModelDataUrl", "")
        resp = self.sm.create_model_package(
            ModelPackageGroupName=self.group,
            ModelPackageDescription=description[:1000] or "aqicast challenger",
            ModelApprovalStatus=status,
            InferenceSpecification={"Containers": containers, "SupportedContentTypes": ["text/csv"],
                                    "SupportedResponseMIMETypes": ["text/csv"]},
            CustomerMetadataProperties=self._props(metrics, properties, key),
        )
        if description:
            self.sm.update_model_package(ModelPackageArn=resp["ModelPackageArn"], ModelApprovalStatus=status,
                                         ApprovalDescription=description[:1000],
                                         CustomerMetadataProperties=self._props(metrics, properties, key))
        return self._describe(resp["ModelPackageArn"])

    @staticmethod
    def _props(metrics: dict, properties: dict, artifact: str) -> dict:
        return {"metrics": json.dumps(metrics, default=str), "properties": json.dumps(properties, default=str),
                "artifact": artifact}

    def set_status(self, version: int, status: str, description: str) -> ModelVersion:
        _check_status(status)
        mv = next(v for v in self.versions() if v.version == version)
        # update_model_package replaces CustomerMetadataProperties unless they are passed again.
        self.sm.update_model_package(ModelPackageArn=mv.arn, ModelApprovalStatus=status,
                                     ApprovalDescription=description[:1000],
                                     CustomerMetadataProperties=self._props(mv.metrics, mv.properties, mv.artifact))
        return self._describe(mv.arn)

    def load_artifact(self, version: ModelVersion) -> bytes:
        bucket, _, name = version.artifact.removeprefix("s3://").partition("/")
        return self.s3.get_object(Bucket=bucket, Key=name)["Body"].read()
