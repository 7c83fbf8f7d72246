"""The aws backend's training edges: export the training data for Autopilot, and judge the
finished challenger with the same windows and promotion policy as the local backend."""
from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from include.training import baselines, policies
from include.training.autopilot import automl_v2_request, job_name, training_csvs
from include.training.dataset import TARGET, between, feature_columns, labelled
from include.training.evaluate import metrics, skill
from include.training.steps import evaluation_window, load_features

if TYPE_CHECKING:  # pragma: no cover
    from include.lake import Lake


def export_training_data(lake: "Lake", s3, day: dt.date, *, artifacts: str, role_arn: str, run_id: str = "") -> dict:
    """Write train/validation CSVs to ``<artifacts>/autopilot/<job>/`` and return the V2 request."""
    name = job_name(day, run_id)
    start, end = evaluation_window(day)
    train_csv, val_csv, features = training_csvs(load_features(lake, day), start, end)
    bucket, _, prefix = artifacts.removeprefix("s3://").partition("/")
    base = "/".join(p for p in (prefix, "autopilot", name) if p)
    s3.put_object(Bucket=bucket, Key=f"{base}/train/train.csv", Body=train_csv)
    s3.put_object(Bucket=bucket, Key=f"{base}/validation/validation.csv", Body=val_csv)
    s3.put_object(Bucket=bucket, Key=f"{base}/features.json", Body=json.dumps(features).encode())
    root = f"s3://{bucket}/{base}"
    return automl_v2_request(name=name, train_uri=f"{root}/train/", validation_uri=f"{root}/validation/",
                             output_uri=f"{root}/output/", role_arn=role_arn, tags={"partition": day.isoformat()})


def judge_challenger(lake: "Lake", day: dt.date, candidate: dict, champion_version, champion_predict=None) -> dict:
    """Decide Approved/Rejected for Autopilot's best candidate. Autopilot's objective (MAE) was
    measured on our validation channel, which is exactly the evaluation window; persistence and
    the champion (``champion_predict(frame) -> predictions``, e.g. the endpoint) are scored on the
    same rows. Returns the decision and the registry metadata (same keys as the local registry)."""
    start, end = evaluation_window(day)
    data = labelled(load_features(lake, day))
    holdout = between(data, start, end)
    challenger_mae = float(candidate["value"]) if candidate.get("objective") == "MAE" and candidate.get("value") is not None else None
    persistence = metrics(holdout[TARGET], baselines.persistence(holdout))
    champion_mae = None
    if champion_predict is not None and champion_version is not None and len(holdout):
        champion_mae = metrics(holdout[TARGET], champion_predict(holdout))["mae"]
    if challenger_mae is None:
        decision = policies.Decision(False, f"Autopilot reported no MAE for {candidate.get('candidate')} "
                                            f"(objective {candidate.get('objective')})")
    else:
        decision = policies.promote_if_better(challenger_mae=challenger_mae, champion_mae=champion_mae,
                                              persistence_mae=persistence["mae"])
    train_end = data[data["date"] < start.isoformat()]["date"].max() if len(data) else None
    m = {"mae": challenger_mae, "n": len(holdout), "persistence_mae": persistence["mae"], "champion_mae": champion_mae,
         "skill_vs_persistence": skill(challenger_mae, persistence["mae"]),
         "persistence_category_accuracy": persistence["category_accuracy"]}
    props = {"train_start": str(data["date"].min()) if len(data) else None, "train_end": str(train_end),
             "eval_start": start.isoformat(), "eval_end": end.isoformat(), "estimator": candidate.get("candidate"),
             "features": feature_columns(data),  # the CSV column order Autopilot trained on
             "champion_version": champion_version, "lineage": {"features/city_daily": [str(data["date"].min()), day.isoformat()]}}
    containers = candidate.get("containers") or [{}]
    metadata = {"metrics": json.dumps(m, default=str), "properties": json.dumps(props, default=str),
                "artifact": containers[0].get("ModelDataUrl", "")}
    return {"approved": decision.yes, "reason": decision.reason, "customer_metadata": metadata,
            "image": containers[0].get("Image", ""), "model_url": containers[0].get("ModelDataUrl", ""),
            # merged over the provider's create_model_package request: keep the candidate's
            # environment (the ensemble container needs it) and our metrics/lineage
            "extras": {"InferenceSpecification": {"Containers": containers, "SupportedContentTypes": ["text/csv"],
                                                  "SupportedResponseMIMETypes": ["text/csv"]},
                       "CustomerMetadataProperties": metadata}}
