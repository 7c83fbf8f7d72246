"""Publishing the champion where the API's predictions come from.

- local: a pointer file (``serving/champion.json``) the local API and the forecast read;
- aws: the serverless endpoint. The DAG's SageMaker operators create the model, config and
  endpoint from ``endpoint_plan``; ``verify_endpoint`` checks it answers; ``rollback_endpoint``
  points it back if the update or the check failed.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from include import catalog

if TYPE_CHECKING:  # pragma: no cover
    from include.backends.base import Backend

log = logging.getLogger(__name__)


def publish_champion(backend: "Backend") -> dict:
    from include.training.registry import champion

    champ = champion(backend.registry)
    pointer = {"version": champ.version if champ else None, "arn": champ.arn if champ else None,
               "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    backend.lake.write_json(backend.lake.path(catalog.CHAMPION_POINTER), pointer)
    log.info("local endpoint serves %s", pointer["arn"] or "persistence (no approved model yet)")
    return pointer


def endpoint_plan(backend: "Backend", day: dt.date) -> dict | None:
    from include.backends import sagemaker_endpoint

    return sagemaker_endpoint.plan(backend, day.isoformat())


def verify_endpoint(backend: "Backend", day: dt.date, plan: dict) -> list[float]:
    from include.backends import sagemaker_endpoint

    frame = backend.lake.read_partition(catalog.FEATURES, day)
    preds = sagemaker_endpoint.verify(backend, frame, plan["features"])
    log.info("endpoint answered %s", preds)
    return preds


def rollback_endpoint(backend: "Backend", plan: dict | None) -> str:
    from include.backends import sagemaker_endpoint

    message = sagemaker_endpoint.rollback(backend.sagemaker, backend.settings.aws.endpoint,
                                          (plan or {}).get("previous_config"))
    log.error("%s", message)
    return message
