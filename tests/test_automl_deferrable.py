"""AutoML V2 in the triggerer and retries that reattach, offline against a moto server (the
trigger's aiobotocore client and the operator's boto3 client both talk to it over HTTP)."""
from __future__ import annotations

import asyncio
import datetime as dt
import re

import boto3
import pytest

from include.training.autopilot import automl_v2_request, job_name

ROLE = "arn:aws:iam::123456789012:role/aqicast-sagemaker"


def request(name: str) -> dict:
    root = f"s3://aqicast-artifacts/autopilot/{name}"
    return automl_v2_request(name=name, train_uri=f"{root}/train/", validation_uri=f"{root}/validation/",
                             output_uri=f"{root}/output/", role_arn=ROLE)


def set_status(name: str, status: str, reason: str | None = None) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sagemaker.models import sagemaker_backends

    job = sagemaker_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].auto_ml_jobs[name]
    job.auto_ml_job_status = status
    if reason:
        job.failure_reason = reason


def first_event(trigger, on_poll=None):
    """Run the trigger as the triggerer would, until its first event; ``on_poll`` runs between polls."""
    async def main():
        gen = trigger.run()
        task = asyncio.ensure_future(gen.__anext__())
        if on_poll is not None:
            await asyncio.sleep(trigger.poll_interval * 1.5)
            on_poll()
        event = await asyncio.wait_for(task, timeout=30)
        await gen.aclose()
        return event.payload

    return asyncio.run(main())


def test_job_names_derive_from_the_run_not_the_try():
    day = dt.date(2015, 3, 31)
    scheduled = job_name(day, "aqicast_daily/scheduled__2015-03-31T00:00:00+00:00")
    assert scheduled == job_name(day, "aqicast_daily/scheduled__2015-03-31T00:00:00+00:00")  # a retry: same job
    others = {job_name(day, "aqicast_daily/manual__2026-11-28T19:00:00.123456+00:00"),
              job_name(day, "aqicast_daily/manual__2026-11-28T19:00:01.123456+00:00"),
              job_name(day, "aqicast_daily_v2/scheduled__2015-03-31T00:00:00+00:00")}
    assert len(others | {scheduled}) == 4
    for name in others | {scheduled}:
        assert re.fullmatch(r"aqicast-20150331-[0-9a-f]{10}", name) and len(name) <= 32


def test_trigger_polls_until_the_job_completes(moto_server):
    from aqicast_plugins.sagemaker_automl import SageMakerAutoMLV2Trigger

    sm = boto3.client("sagemaker")
    sm.create_auto_ml_job_v2(**request("aqicast-20150331-aaaa"))
    trigger = SageMakerAutoMLV2Trigger("aqicast-20150331-aaaa", aws_conn_id=None, poll_interval=0.2, max_attempts=100)
    event = first_event(trigger, on_poll=lambda: set_status("aqicast-20150331-aaaa", "Completed"))
    assert event == {"status": "success", "job_name": "aqicast-20150331-aaaa", "message": "Completed"}
    # the triggerer re-creates triggers from serialize(): the same trigger comes back
    path, kwargs = trigger.serialize()
    assert path == "aqicast_plugins.sagemaker_automl.SageMakerAutoMLV2Trigger"
    assert kwargs == {"job_name": "aqicast-20150331-aaaa", "aws_conn_id": None, "poll_interval": 0.2,
                      "max_attempts": 100, "region_name": None}


def test_trigger_reports_a_failed_job_and_a_job_that_never_ends(moto_server):
    from aqicast_plugins.sagemaker_automl import SageMakerAutoMLV2Trigger

    sm = boto3.client("sagemaker")
    sm.create_auto_ml_job_v2(**request("aqicast-20150331-bbbb"))
    set_status("aqicast-20150331-bbbb", "Failed", "ClientError: no rows in the validation channel")
    event = first_event(SageMakerAutoMLV2Trigger("aqicast-20150331-bbbb", aws_conn_id=None, poll_interval=0.1))
    assert event["status"] == "error" and "Failed: ClientError: no rows" in event["message"]
    sm.create_auto_ml_job_v2(**request("aqicast-20150331-cccc"))
    event = first_event(SageMakerAutoMLV2Trigger("aqicast-20150331-cccc", aws_conn_id=None, poll_interval=0.05,
                                                  max_attempts=3))
    assert event["status"] == "error" and "not done after 3 polls" in event["message"]


def test_sensor_and_operator_defer_to_the_trigger(moto_server):
    from airflow.exceptions import AirflowException, TaskDeferred

    from aqicast_plugins.sagemaker_automl import (
        SageMakerAutoMLV2Operator,
        SageMakerAutoMLV2Sensor,
        SageMakerAutoMLV2Trigger,
    )

    sm = boto3.client("sagemaker")
    sm.create_auto_ml_job_v2(**request("aqicast-20150331-dddd"))
    sensor = SageMakerAutoMLV2Sensor(task_id="wait", job_name="aqicast-20150331-dddd", aws_conn_id=None,
                                     poke_interval=300, timeout=6 * 3600)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, SageMakerAutoMLV2Trigger) and deferred.value.method_name == "execute_complete"
    assert (trigger.job_name, trigger.poll_interval, trigger.max_attempts) == ("aqicast-20150331-dddd", 300, 72)
    set_status("aqicast-20150331-dddd", "Completed")
    candidate = sensor.execute_complete({}, {"status": "success", "job_name": "aqicast-20150331-dddd"})
    assert candidate["status"] == "Completed"
    with pytest.raises(AirflowException, match="Stopped"):
        sensor.execute_complete({}, {"status": "error", "job_name": "x", "message": "AutoML job x Stopped: by user"})

    op = SageMakerAutoMLV2Operator(task_id="automl", request=request("aqicast-20150331-eeee"), aws_conn_id=None,
                                   wait_for_completion=True, check_interval=60, max_wait_s=3600)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    assert deferred.value.trigger.job_name == "aqicast-20150331-eeee" and deferred.value.trigger.max_attempts == 60
    assert op.execute_complete({}, {"status": "success", "job_name": "aqicast-20150331-eeee"}) == "aqicast-20150331-eeee"


class Try:
    def __init__(self, n: int):
        self.try_number = n


def test_a_retry_reattaches_to_the_running_job_and_restarts_only_a_failed_one(moto_server):
    from aqicast_plugins.sagemaker_automl import SageMakerAutoMLV2Operator

    sm = boto3.client("sagemaker")
    name = job_name(dt.date(2015, 3, 31), "aqicast_daily/scheduled__2015-03-31T00:00:00+00:00")
    op = SageMakerAutoMLV2Operator(task_id="start_automl", request=request(name), aws_conn_id=None)
    assert op.execute({"ti": Try(1)}) == name
    assert op.execute({"ti": Try(2)}) == name  # the worker died after create: try 2 waits for that job
    assert [j["AutoMLJobName"] for j in sm.list_auto_ml_jobs()["AutoMLJobSummaries"]] == [name]

    set_status(name, "Completed")
    assert op.execute({"ti": Try(3)}) == name  # a completed job is not trained again either
    set_status(name, "Failed", "AlgorithmError")
    again = op.execute({"ti": Try(4)})
    assert again == f"{name}-t4" and len(again) <= 32
    assert sorted(j["AutoMLJobName"] for j in sm.list_auto_ml_jobs()["AutoMLJobSummaries"]) == [name, again]
    assert op.execute({"ti": Try(4)}) == again  # and that one is reattached to in turn
    assert len(sm.list_auto_ml_jobs()["AutoMLJobSummaries"]) == 2
