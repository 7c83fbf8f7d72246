"""The SageMaker Autopilot (AutoML V2) path, offline against moto: the request shape (regression,
MAE, ENSEMBLING, time-aware validation channel), the operator and sensor, the CSV export."""
from __future__ import annotations

import datetime as dt
import io

import boto3
import pandas as pd
import pytest
from moto import mock_aws

from include.training.autopilot import automl_v2_request, best_candidate, job_name, training_csvs

REQUEST = dict(name="aqicast-20150331", train_uri="s3://lake/autopilot/aqicast-20150331/train/",
               validation_uri="s3://lake/autopilot/aqicast-20150331/validation/",
               output_uri="s3://lake/autopilot/aqicast-20150331/output/",
               role_arn="arn:aws:iam::123456789012:role/aqicast-sagemaker")


def force_status(name: str, status: str) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sagemaker.models import sagemaker_backends

    sagemaker_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].auto_ml_jobs[name].auto_ml_job_status = status


def test_request_shape():
    r = automl_v2_request(**REQUEST)
    tab = r["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    assert tab["Mode"] == "ENSEMBLING" and tab["ProblemType"] == "Regression" and tab["TargetAttributeName"] == "target_aqi"
    assert r["AutoMLJobObjective"] == {"MetricName": "MAE"}
    assert [c["ChannelType"] for c in r["AutoMLJobInputDataConfig"]] == ["training", "validation"]
    assert all(c["ContentType"] == "text/csv;header=present" for c in r["AutoMLJobInputDataConfig"])
    assert isinstance(tab["CompletionCriteria"]["MaxAutoMLJobRuntimeInSeconds"], int)
    assert job_name(dt.date(2015, 3, 31)) == "aqicast-20150331"  # names per run: tests/test_automl_deferrable.py


@mock_aws
def test_moto_accepts_the_request_and_the_operator_and_sensor_drive_it():
    from aqicast_plugins.sagemaker_automl import SageMakerAutoMLV2Operator, SageMakerAutoMLV2Sensor

    request = automl_v2_request(**REQUEST)
    started = SageMakerAutoMLV2Operator(task_id="automl", request=request, aws_conn_id=None).execute({})
    assert started == "aqicast-20150331"
    sm = boto3.client("sagemaker", region_name="us-east-1")
    desc = sm.describe_auto_ml_job_v2(AutoMLJobName=started)
    tab = desc["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    assert tab["Mode"] == "ENSEMBLING" and desc["AutoMLJobObjective"]["MetricName"] == "MAE"
    assert desc["RoleArn"] == REQUEST["role_arn"]

    sensor = SageMakerAutoMLV2Sensor(task_id="wait", job_name=started, aws_conn_id=None)
    assert sensor.poke({}) is False  # moto leaves the job InProgress until told otherwise
    force_status(started, "Completed")
    done = sensor.poke({})
    assert done.is_done and done.xcom_value["status"] == "Completed"

    from airflow.exceptions import AirflowException

    failed = automl_v2_request(**{**REQUEST, "name": "aqicast-failed"})
    SageMakerAutoMLV2Operator(task_id="automl2", request=failed, aws_conn_id=None).execute({})
    force_status("aqicast-failed", "Failed")
    with pytest.raises(AirflowException, match="aqicast-failed Failed"):
        SageMakerAutoMLV2Sensor(task_id="wait2", job_name="aqicast-failed", aws_conn_id=None).poke({})


def test_best_candidate_reads_the_single_ensemble_container():
    desc = {"AutoMLJobStatus": "Completed", "BestCandidate": {
        "CandidateName": "WeightedEnsemble-L2", "FinalAutoMLJobObjectiveMetric": {"MetricName": "MAE", "Value": 21.5},
        "InferenceContainers": [{"Image": "ecr/autogluon", "ModelDataUrl": "s3://out/model.tar.gz", "Environment": {}}]}}
    best = best_candidate(desc)
    assert best["candidate"] == "WeightedEnsemble-L2" and len(best["containers"]) == 1 and best["value"] == 21.5


def test_training_csvs_use_the_time_windows():
    rows = []
    for i in range(40):
        day = dt.date(2015, 1, 1) + dt.timedelta(days=i)
        rows.append({"city_id": 1, "city": "Beijing", "date": day.isoformat(), "aqi": 100 + i,
                     "aqi_lag1": 99 + i, "temp_c": 1.5, "dominant_pollutant": "pm25", "target_aqi": 101 + i})
    from include.config import TrainingSettings
    from include.training.verdict import evaluation_split

    split = evaluation_split(pd.DataFrame(rows), dt.date(2015, 2, 9), TrainingSettings(eval_days=9))  # window Jan 31..Feb 8
    train, val, cols = training_csvs(split)
    t, v = pd.read_csv(io.BytesIO(train)), pd.read_csv(io.BytesIO(val))
    assert list(t.columns) == cols + ["target_aqi"] and "city" not in cols and "dominant_pollutant" not in cols
    assert len(t) == 30 and len(v) == 9
    assert t["aqi"].max() < v["aqi"].min()  # validation is strictly later than training
