"""AutoML V2 for Airflow: the Amazon provider only has the V1 operator (``create_auto_ml_job``),
which AWS no longer recommends, moto does not implement, and whose HPO pipelines cannot run on a
serverless endpoint. These use the provider's ``SageMakerHook`` (its connection and retries).

Pattern: ``SageMakerAutoMLV2Operator`` starts the job and returns its name;
``SageMakerAutoMLV2Sensor(deferrable=True)`` waits in the triggerer
(:class:`SageMakerAutoMLV2Trigger`, ``describe_auto_ml_job_v2`` through the provider's aiobotocore
client), holding no worker slot, and returns the best candidate. The operator can also wait
itself (``wait_for_completion=True``), deferring to the same trigger.

Retries reattach: the job name is derived from the DAG run (``include.training.autopilot.job_name``:
dag_id, logical date, run id; not the try number), so a retried ``start_automl`` finds the job its
first try started and waits for it instead of starting a second one. Only a job that failed or
was stopped is started again, under the name with the try number appended.

Judging and registering the candidate is the application layer's
(``include.app.training.register_autopilot_candidate``), the same verdict as the local backend's.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, AsyncIterator, Sequence

from airflow.exceptions import AirflowException
from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.sdk import BaseOperator, BaseSensorOperator
from airflow.triggers.base import BaseTrigger, TriggerEvent

DONE, FAILED = "Completed", ("Failed", "Stopped")


class SageMakerAutoMLV2Trigger(BaseTrigger):
    """Polls ``describe_auto_ml_job_v2`` every ``poll_interval`` seconds in the triggerer; one event:
    ``{"status": "success" | "error", "job_name", "message"}``."""

    def __init__(self, job_name: str, aws_conn_id: str | None = "aws_default", poll_interval: float = 60,
                 max_attempts: int = 720, region_name: str | None = None):
        super().__init__()
        self.job_name, self.aws_conn_id, self.region_name = job_name, aws_conn_id, region_name
        self.poll_interval, self.max_attempts = poll_interval, max_attempts

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"job_name": self.job_name, "aws_conn_id": self.aws_conn_id, "poll_interval": self.poll_interval,
                 "max_attempts": self.max_attempts, "region_name": self.region_name})

    def hook(self) -> SageMakerHook:
        return SageMakerHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        async with await self.hook().get_async_conn() as client:
            for attempt in range(1, self.max_attempts + 1):
                desc = await client.describe_auto_ml_job_v2(AutoMLJobName=self.job_name)
                status = desc["AutoMLJobStatus"]
                if status == DONE:
                    yield TriggerEvent({"status": "success", "job_name": self.job_name, "message": status})
                    return
                if status in FAILED:
                    yield TriggerEvent({"status": "error", "job_name": self.job_name,
                                        "message": f"AutoML job {self.job_name} {status}: "
                                                   f"{desc.get('FailureReason', 'no reason given')}"})
                    return
                self.log.info("AutoML job %s: %s / %s (poll %d)", self.job_name, status,
                              desc.get("AutoMLJobSecondaryStatus"), attempt)
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.poll_interval)
        yield TriggerEvent({"status": "error", "job_name": self.job_name,
                            "message": f"AutoML job {self.job_name} not done after {self.max_attempts} polls"})


def _event_or_fail(event: dict[str, Any] | None) -> str:
    if not event or event.get("status") != "success":
        raise AirflowException((event or {}).get("message") or "AutoML trigger ended without an event")
    return event["job_name"]


class SageMakerAutoMLV2Operator(BaseOperator):
    """Start an AutoML V2 job from a complete ``create_auto_ml_job_v2`` request, or reattach to
    the one a previous try of this task started (same name); return the job's name."""

    template_fields: Sequence[str] = ("request",)
    ui_color = "#ff9900"

    def __init__(self, *, request: dict, aws_conn_id: str | None = "aws_default", wait_for_completion: bool = False,
                 deferrable: bool = True, check_interval: int = 60, max_wait_s: int = 4 * 3600, **kwargs: Any):
        super().__init__(**kwargs)
        self.request, self.aws_conn_id = request, aws_conn_id
        self.wait_for_completion, self.deferrable = wait_for_completion, deferrable
        self.check_interval, self.max_wait_s = check_interval, max_wait_s

    def execute(self, context) -> str:
        hook = SageMakerHook(aws_conn_id=self.aws_conn_id)
        try_number = getattr(context.get("ti"), "try_number", 1) if context else 1
        name = start_or_reattach(hook.conn, self.request, try_number, self.log)
        if self.wait_for_completion:
            if self.deferrable:
                self.defer(trigger=SageMakerAutoMLV2Trigger(name, self.aws_conn_id, self.check_interval,
                                                            max(1, self.max_wait_s // max(1, self.check_interval))),
                           method_name="execute_complete", timeout=dt.timedelta(seconds=self.max_wait_s))
            import time

            deadline = time.monotonic() + self.max_wait_s
            while not job_done(hook, name):
                if time.monotonic() > deadline:
                    raise AirflowException(f"AutoML job {name} did not finish within {self.max_wait_s}s")
                time.sleep(self.check_interval)
        return name

    def execute_complete(self, context, event: dict[str, Any] | None = None) -> str:
        return _event_or_fail(event)


def start_or_reattach(sm, request: dict, try_number: int, log) -> str:
    """Create the job, or reattach to the run's job a previous try created (in progress or
    completed); a failed or stopped one is started again as ``<name>-t<try>``."""
    name = request["AutoMLJobName"]
    existing = _describe(sm, name)
    if existing is not None and existing["AutoMLJobStatus"] in FAILED:
        log.warning("AutoML job %s %s (%s): starting it again as try %d", name, existing["AutoMLJobStatus"],
                    existing.get("FailureReason", "no reason given"), try_number)
        name = f"{name[:28]}-t{try_number}"[:32]
        request = {**request, "AutoMLJobName": name}
        existing = _describe(sm, name)
    if existing is not None and existing["AutoMLJobStatus"] not in FAILED:
        log.info("Reattached to AutoML V2 job %s (%s), started by an earlier try", name, existing["AutoMLJobStatus"])
        return name
    try:
        sm.create_auto_ml_job_v2(**request)
    except sm.exceptions.ResourceInUse:  # a concurrent try won the race: wait for that one
        log.info("AutoML V2 job %s already exists: reattached", name)
        return name
    log.info("Started AutoML V2 job %s (%s)", name, request["AutoMLProblemTypeConfig"]["TabularJobConfig"].get("Mode"))
    return name


def _describe(sm, name: str) -> dict | None:
    try:
        return sm.describe_auto_ml_job_v2(AutoMLJobName=name)
    except sm.exceptions.ResourceNotFound:
        return None
    except sm.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("ResourceNotFound", "ValidationException"):
            return None  # SageMaker answers ValidationException for an unknown AutoML job name
        raise


class SageMakerAutoMLV2Sensor(BaseSensorOperator):
    """Wait for an AutoML V2 job; return its best candidate (name, containers, objective).
    ``deferrable=True`` (default): wait in the triggerer; else poke in ``reschedule`` mode."""

    template_fields: Sequence[str] = ("job_name",)

    def __init__(self, *, job_name: str, aws_conn_id: str | None = "aws_default", deferrable: bool = True,
                 **kwargs: Any):
        kwargs.setdefault("mode", "reschedule")
        super().__init__(**kwargs)
        self.job_name, self.aws_conn_id, self.deferrable = job_name, aws_conn_id, deferrable

    def execute(self, context):
        if not self.deferrable:
            return super().execute(context)
        hook = SageMakerHook(aws_conn_id=self.aws_conn_id)
        if job_done(hook, self.job_name):
            return self._candidate(hook)
        self.defer(trigger=SageMakerAutoMLV2Trigger(self.job_name, self.aws_conn_id, self.poke_interval,
                                                    max(1, int(self.timeout // max(1, self.poke_interval)))),
                   method_name="execute_complete", timeout=dt.timedelta(seconds=self.timeout))

    def execute_complete(self, context, event: dict[str, Any] | None = None) -> dict:
        _event_or_fail(event)
        return self._candidate(SageMakerHook(aws_conn_id=self.aws_conn_id))

    def _candidate(self, hook: SageMakerHook) -> dict:
        from include.training.autopilot import best_candidate

        return best_candidate(hook.conn.describe_auto_ml_job_v2(AutoMLJobName=self.job_name))

    def poke(self, context):
        from airflow.sdk.bases.sensor import PokeReturnValue

        hook = SageMakerHook(aws_conn_id=self.aws_conn_id)
        if not job_done(hook, self.job_name):
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._candidate(hook))


def job_done(hook: SageMakerHook, name: str) -> bool:
    """True when the job completed; an Airflow failure if it failed or was stopped."""
    from include.training.autopilot import AutoMLJobFailed, job_done as done

    try:
        return done(hook.conn, name)
    except AutoMLJobFailed as exc:
        raise AirflowException(str(exc)) from None
