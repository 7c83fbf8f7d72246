"""SageMaker Autopilot (AutoML V2) for the ``aws`` backend: training-data export and the request.

Why V2 and ENSEMBLING: ensembling mode produces ONE inference container (an AutoGluon ensemble),
which a serverless endpoint can host; HPO mode produces multi-container pipelines, which serverless
endpoints do not support. The provider's ``SageMakerAutoMLOperator`` uses the V1 API, so the
request is built here (plain boto3 shape, tested against moto) and sent by
``aqicast_plugins.sagemaker_automl.SageMakerAutoMLV2Operator``.

The windows are the local backend's: Autopilot trains on the rows before the evaluation window
and validates on that window (a separate ``validation`` channel keeps validation time-aware instead
of Autopilot's random split).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import TYPE_CHECKING

from include import catalog
from include.training.dataset import TARGET, feature_columns, matrix

if TYPE_CHECKING:  # pragma: no cover
    from include.training.verdict import Challenger, Split

CSV = "text/csv;header=present"


def job_name(day: dt.date, run_id: str = "") -> str:
    """A valid AutoML job name (max 32 chars, alphanumerics and hyphens) derived from the partition
    date and the DAG run (``run_id``: "<dag_id>/<run_id>" inside Airflow), never from the try: a
    retry computes the same name and reattaches to the job its first try started; another run of
    the same day (a manual re-run) gets another name."""
    if not run_id:
        return f"aqicast-{day:%Y%m%d}"
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:10]
    return f"aqicast-{day:%Y%m%d}-{digest}"


def training_csvs(split: "Split") -> tuple[bytes, bytes, list[str]]:
    """(train.csv, validation.csv, feature list): the feature columns plus the target, with a header,
    as Autopilot expects. Train = the split's training rows, validation = its evaluation window
    (the window every challenger is judged on, see ``verdict.py``)."""
    cols = feature_columns(split.data)

    def csv(df) -> bytes:
        out = matrix(df, cols)
        out[TARGET] = df[TARGET].to_numpy(dtype=float)
        return out.to_csv(index=False, float_format="%.6g").encode()

    return csv(split.train), csv(split.holdout), cols


def export_training_data(split: "Split", s3, *, artifacts: str, role_arn: str, run_id: str = "") -> dict:
    """Write train/validation CSVs to ``<artifacts>/autopilot/<job>/`` and return the V2 request."""
    name = job_name(split.day, run_id)
    train_csv, val_csv, features = training_csvs(split)
    bucket, _, prefix = artifacts.removeprefix("s3://").partition("/")
    base = "/".join(p for p in (prefix, catalog.ARTIFACTS_AUTOPILOT, name) if p)
    s3.put_object(Bucket=bucket, Key=f"{base}/train/train.csv", Body=train_csv)
    s3.put_object(Bucket=bucket, Key=f"{base}/validation/validation.csv", Body=val_csv)
    s3.put_object(Bucket=bucket, Key=f"{base}/features.json", Body=json.dumps(features).encode())
    root = f"s3://{bucket}/{base}"
    return automl_v2_request(name=name, train_uri=f"{root}/train/", validation_uri=f"{root}/validation/",
                             output_uri=f"{root}/output/", role_arn=role_arn, tags={"partition": split.day.isoformat()})


def automl_v2_request(*, name: str, train_uri: str, validation_uri: str, output_uri: str, role_arn: str,
                      max_job_runtime_s: int = 3600, max_candidate_runtime_s: int = 900, max_candidates: int = 20,
                      tags: dict[str, str] | None = None) -> dict:
    """The ``create_auto_ml_job_v2`` request: tabular regression on ``target_aqi``, MAE objective,
    ENSEMBLING mode, explicit training and validation channels."""
    def channel(kind: str, uri: str) -> dict:
        return {"ChannelType": kind, "ContentType": CSV, "CompressionType": "None",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}}

    return {
        "AutoMLJobName": name,
        "AutoMLJobInputDataConfig": [channel("training", train_uri), channel("validation", validation_uri)],
        "OutputDataConfig": {"S3OutputPath": output_uri},
        "AutoMLProblemTypeConfig": {"TabularJobConfig": {
            "TargetAttributeName": TARGET,
            "ProblemType": "Regression",
            "Mode": "ENSEMBLING",
            "CompletionCriteria": {"MaxCandidates": max_candidates,
                                   "MaxRuntimePerTrainingJobInSeconds": max_candidate_runtime_s,
                                   "MaxAutoMLJobRuntimeInSeconds": max_job_runtime_s},
        }},
        "AutoMLJobObjective": {"MetricName": "MAE"},
        "RoleArn": role_arn,
        "Tags": [{"Key": k, "Value": v} for k, v in sorted({"project": "aqicast", **(tags or {})}.items())],
    }


def best_candidate(description: dict) -> dict:
    """The facts the registry needs from ``describe_auto_ml_job_v2`` of a completed job."""
    best = description.get("BestCandidate") or {}
    containers = best.get("InferenceContainers") or []
    metric = best.get("FinalAutoMLJobObjectiveMetric") or {}
    return {"candidate": best.get("CandidateName"), "containers": containers,
            "objective": metric.get("MetricName"), "value": metric.get("Value"),
            "status": description.get("AutoMLJobStatus")}


DONE, FAILED = {"Completed"}, {"Failed", "Stopped"}


class AutoMLJobFailed(RuntimeError):
    """The AutoML job failed or was stopped (the message has SageMaker's reason)."""


def job_done(sm, name: str) -> bool:
    """True when the job completed; raise ``AutoMLJobFailed`` if it failed or was stopped."""
    desc = sm.describe_auto_ml_job_v2(AutoMLJobName=name)
    status = desc["AutoMLJobStatus"]
    if status in FAILED:
        raise AutoMLJobFailed(f"AutoML job {name} {status}: {desc.get('FailureReason', 'no reason given')}")
    return status in DONE


def challenger_of(candidate: dict) -> "Challenger":
    """Autopilot's best candidate as a challenger: its MAE objective was measured on our validation
    channel, which is exactly the evaluation window."""
    from include.training.verdict import Challenger

    mae = candidate.get("value") if candidate.get("objective") == "MAE" else None
    return Challenger(estimator=str(candidate.get("candidate")), features=list(candidate.get("features") or []),
                      reported_mae=float(mae) if mae is not None else None)
