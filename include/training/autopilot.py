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
import re
from typing import TYPE_CHECKING

from include.training.dataset import TARGET, between, feature_columns, labelled, matrix

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

CSV = "text/csv;header=present"


def job_name(day: dt.date, run_id: str = "") -> str:
    """A unique, valid AutoML job name (max 32 chars, alphanumerics and hyphens) derived from the date."""
    suffix = re.sub(r"[^0-9a-zA-Z]", "", run_id)[-8:]
    return f"aqicast-{day:%Y%m%d}" + (f"-{suffix}" if suffix else "")


def training_csvs(features: "pd.DataFrame", eval_start: dt.date, eval_end: dt.date) -> tuple[bytes, bytes, list[str]]:
    """(train.csv, validation.csv, feature list): the feature columns plus the target, with a header,
    as Autopilot expects. Train = labelled rows before the window, validation = the window."""
    data = labelled(features)
    cols = feature_columns(data)
    train = data[data["date"] < eval_start.isoformat()]
    val = between(data, eval_start, eval_end)

    def csv(df) -> bytes:
        out = matrix(df, cols)
        out[TARGET] = df[TARGET].to_numpy(dtype=float)
        return out.to_csv(index=False, float_format="%.6g").encode()

    return csv(train), csv(val), cols


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
