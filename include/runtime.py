"""What the DAG tasks call: each function is one task's body, so ``dags/`` only declares and wires.
Backends differ only here, at the edges (which lake, which registry, which trainer/endpoint).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING, Any

from include import config

if TYPE_CHECKING:  # pragma: no cover
    from include.lake import Lake

log = logging.getLogger(__name__)
CHAMPION_POINTER = "serving/champion.json"


# -- dates and handles -------------------------------------------------------------------------------
def partition_date(logical_date: Any, params: dict, run_after: Any = None) -> str:
    """The partition a run works on: ``params.date`` if given, else the logical date, else (for a
    manual or asset-triggered run without one) the day before the run was requested."""
    if params.get("date"):
        return dt.date.fromisoformat(str(params["date"])).isoformat()
    if logical_date is not None:
        return logical_date.date().isoformat() if hasattr(logical_date, "date") else str(logical_date)[:10]
    moment = run_after or dt.datetime.now(dt.timezone.utc)
    return (moment.date() - dt.timedelta(days=1)).isoformat()


def lake(backend: str) -> "Lake":
    from include.lake import Lake

    return Lake(config.lake_for(backend))


def raw_root(backend: str):
    from include.etl.rawio import RawRoot

    return RawRoot(config.raw_root() if backend == "local" else config.setting("S3_RAW_ROOT"))


def registry(backend: str, the_lake: "Lake"):
    from include.training.registry import LocalRegistry, SageMakerRegistry

    if backend == "local":
        return LocalRegistry(the_lake, group=config.setting("MODEL_GROUP"))
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook

    conn_id = config.setting("AWS_CONN_ID")
    return SageMakerRegistry(SageMakerHook(aws_conn_id=conn_id).conn, s3_client=S3Hook(aws_conn_id=conn_id).conn,
                             group=config.setting("MODEL_GROUP"),
                             artifact_prefix=f"{config.setting('ARTIFACTS')}/models")


# -- ingest (local backend; aws runs the crawler and the Glue job) --------------------------------------
def crawl_local(day: str) -> dict:
    """The local "crawler": list D's raw objects per source and keep the manifest in the lake."""
    from include.etl.pipeline import discover

    the_lake = lake("local")
    manifest = discover(raw_root("local"), dt.date.fromisoformat(day))
    the_lake.write_json(the_lake.path("_runs/manifest", f"date={day}.json"), manifest)
    return {source: len(paths) for source, paths in manifest.items()}


def etl_local(day: str, reprocess_days: int) -> dict:
    """ETL of D (reusing the crawler's manifest) and of the ``reprocess_days`` before it (late data)."""
    from include.etl.pipeline import run_etl

    the_lake, raw = lake("local"), raw_root("local")
    d = dt.date.fromisoformat(day)
    pointer = the_lake.path("_runs/manifest", f"date={day}.json")
    manifest = the_lake.read_json(pointer) if the_lake.exists(pointer) else None
    reports = [run_etl(d - dt.timedelta(days=k), the_lake, raw) for k in range(reprocess_days, 0, -1)]
    reports.append(run_etl(d, the_lake, raw, manifest=manifest))
    for r in reports:
        log.info("ETL %s: %s", r["date"], json.dumps({s: {k: v for k, v in x.items() if k.startswith("rows")}
                                                       for s, x in r["sources"].items()}))
    failed = [f["error"] for r in reports for s in r["sources"].values() for f in s["failed_objects"]]
    for error in failed:
        log.error("raw object failed: %s", error)
    return {"dates": [r["date"] for r in reports], "failed_objects": len(failed),
            "air_quality_rows": reports[-1]["outputs"]["air_quality_daily"]}


# -- shared steps ---------------------------------------------------------------------------------------
def quality_gate(day: str, backend: str) -> dict:
    from include.quality.gate import QualityGateFailed, run_gate

    try:
        result = run_gate(lake(backend), dt.date.fromisoformat(day))
    except QualityGateFailed as exc:
        from airflow.sdk.exceptions import AirflowFailException  # a data failure: retrying will not fix it

        raise AirflowFailException(str(exc)) from None
    return {"success": result.success, "warnings": [f.line() for f in result.warnings], "docs": result.docs_path}


def retrain_branch(day: str, backend: str, mode: str) -> str:
    """Branch: which training task runs (or none), with the policy's reason in the log."""
    from include.training.policies import Decision
    from include.training.steps import retrain_decision

    the_lake = lake(backend)
    if mode == "skip":
        decision = Decision(False, "training skipped by the run's parameters")
    else:
        decision = retrain_decision(the_lake, registry(backend, the_lake), dt.date.fromisoformat(day),
                                    force=mode == "force")
    log.info("retrain %s: %s", "yes" if decision.yes else "no", decision.reason)
    if not decision.yes:
        return "skip_training"
    return "train_local" if backend == "local" else "aws_train.export_training_data"


def train_local(day: str, budget: float | None) -> dict:
    from include.training.steps import train_and_register

    the_lake = lake("local")
    outcome = train_and_register(the_lake, registry("local", the_lake), dt.date.fromisoformat(day), time_budget=budget)
    log.info("training outcome: %s", json.dumps(outcome, default=str))
    return outcome


def publish_local_champion() -> dict:
    """The local "endpoint update": point the local API at the champion (a pointer in the lake)."""
    from include.training.registry import champion

    the_lake = lake("local")
    champ = champion(registry("local", the_lake))
    pointer = {"version": champ.version if champ else None, "arn": champ.arn if champ else None,
               "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    the_lake.write_json(the_lake.path(CHAMPION_POINTER), pointer)
    return pointer


def forecast(day: str, backend: str) -> list[dict]:
    from include.training.forecast import forecast as run_forecast

    the_lake = lake(backend)
    if backend == "aws":
        from include.serving.endpoint import forecast_with_endpoint

        out = forecast_with_endpoint(the_lake, registry(backend, the_lake), dt.date.fromisoformat(day))
    else:
        out = run_forecast(the_lake, registry(backend, the_lake), dt.date.fromisoformat(day))
    cols = ["forecast_date", "city", "aqi_pred", "category", "model_version"]
    log.info("forecasts for %s:\n%s", day, out[cols].to_string(index=False))
    return out[cols].to_dict("records")


# -- aws edges ------------------------------------------------------------------------------------------
def _sagemaker():
    from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook

    hook = SageMakerHook(aws_conn_id=config.setting("AWS_CONN_ID"))
    return hook.conn, hook.get_session().client("sagemaker-runtime")


def judge_aws_challenger(day: str, candidate: dict) -> dict:
    """Score Autopilot's best candidate against persistence and the serving champion."""
    from include.serving.endpoint import invoke
    from include.training.aws_steps import judge_challenger
    from include.training.registry import champion

    the_lake = lake("aws")
    champ = champion(registry("aws", the_lake))
    predict = None
    if champ is not None:
        _, runtime = _sagemaker()
        features = champ.properties.get("features") or []
        predict = lambda frame: invoke(runtime, config.setting("ENDPOINT"), frame, features)  # noqa: E731
    outcome = judge_challenger(the_lake, dt.date.fromisoformat(day), candidate,
                               champ.version if champ else None, predict)
    log.info("challenger %s: %s", "APPROVED" if outcome["approved"] else "REJECTED", outcome["reason"])
    return outcome


def endpoint_plan(day: str) -> dict | None:
    """What the endpoint update will create, or None (short-circuit) if the endpoint already
    serves the champion or there is no champion."""
    from include.serving.endpoint import current_config, endpoint_config, model_config, resource_name, serving_package
    from include.training.registry import champion

    sm, _ = _sagemaker()
    champ = champion(registry("aws", lake("aws")))
    endpoint = config.setting("ENDPOINT")
    if champ is None:
        log.info("no approved model: the endpoint stays as it is")
        return None
    if serving_package(sm, endpoint) == champ.arn:
        log.info("endpoint %s already serves %s", endpoint, champ.arn)
        return None
    name = resource_name(endpoint, day, champ.version)
    return {
        "model": model_config(name, champ.arn, config.setting("SAGEMAKER_ROLE_ARN")),
        "endpoint_config": endpoint_config(name, name, int(config.setting("SERVERLESS_MEMORY_MB")),
                                           int(config.setting("SERVERLESS_MAX_CONCURRENCY"))),
        "endpoint": {"EndpointName": endpoint, "EndpointConfigName": name},
        "previous_config": current_config(sm, endpoint),
        "package": champ.arn,
        "features": champ.properties.get("features") or [],
    }


def verify_aws_endpoint(day: str) -> list[float]:
    from airflow.sdk import get_current_context

    from include.etl.features import FEATURES
    from include.serving.endpoint import verify

    plan = get_current_context()["ti"].xcom_pull(task_ids="aws_deploy.champion_package")
    _, runtime = _sagemaker()
    frame = lake("aws").read_partition(FEATURES, dt.date.fromisoformat(day))
    preds = verify(runtime, config.setting("ENDPOINT"), frame, plan["features"])
    log.info("endpoint answered %s", preds)
    return preds


def rollback_aws_endpoint(plan: dict | None) -> str:
    from include.serving.endpoint import rollback

    sm, _ = _sagemaker()
    message = rollback(sm, config.setting("ENDPOINT"), (plan or {}).get("previous_config"))
    log.error("%s", message)
    return message
