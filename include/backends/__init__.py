"""Backends: where the same steps run. A backend is built once per command or task from the
settings and handed to the application layer (``include/app``):

| edge | ``local`` (default) | ``aws`` |
|---|---|---|
| lake, raw root | a folder (or any fsspec URL) | S3 |
| registry | file registry in the lake | SageMaker Model Registry |
| trainer | FLAML, in-process | Autopilot AutoML V2 (a job) |
| champion's predictions | the registered model, in-process | the serverless endpoint |
| publishing the champion | a pointer file the local API reads | endpoint update, verified, rolled back on failure |

Nothing else differs: readers, rules, features, the quality gate, the verdict and the forecast are
the same code on both.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from include.backends.base import Backend
    from include.config import Settings


def build(settings: "Settings", **edges) -> "Backend":
    """The backend ``settings.backend`` names. ``edges`` go to its constructor (e.g. the aws
    backend's ``session``: a boto3 session from an Airflow connection)."""
    if settings.backend == "aws":
        from include.backends.aws import AwsBackend

        return AwsBackend(settings, **edges)
    from include.backends.local import LocalBackend

    return LocalBackend(settings, **edges)
