"""AutoML V2 for Airflow: the Amazon provider only has the V1 operator (``create_auto_ml_job``),
which AWS no longer recommends, moto does not implement, and whose HPO pipelines cannot run on a
serverless endpoint. These use the provider's ``SageMakerHook`` (its connection and retries).

Pattern: ``SageMakerAutoMLV2Operator(wait_for_completion=False)`` starts the job and returns its
name; ``SageMakerAutoMLV2Sensor`` (``mode="reschedule"``) waits without holding a worker slot and
returns the best candidate. Judging and registering the candidate is the application layer's
(``include.app.training.register_autopilot_candidate``), the same verdict as the local backend's.
"""
from __future__ import annotations

from typing import Any, Sequence

from airflow.exceptions import AirflowException
from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.sdk import BaseOperator, BaseSensorOperator

class SageMakerAutoMLV2Operator(BaseOperator):
    """Start an AutoML V2 job from a complete ``create_auto_ml_job_v2`` request."""

    template_fields: Sequence[str] = ("request",)
    ui_color = "#ff9900"

    def __init__(self, *, request: dict, aws_conn_id: str | None = "aws_default", wait_for_completion: bool = False,
                 check_interval: int = 60, max_wait_s: int = 4 * 3600, **kwargs: Any):
        super().__init__(**kwargs)
        self.request, self.aws_conn_id = request, aws_conn_id
        self.wait_for_completion, self.check_interval, self.max_wait_s = wait_for_completion, check_interval, max_wait_s

    def execute(self, context) -> str:
        hook = SageMakerHook(aws_conn_id=self.aws_conn_id)
        name = self.request["AutoMLJobName"]
        hook.conn.create_auto_ml_job_v2(**self.request)
        self.log.info("Started AutoML V2 job %s (%s)", name,
                      self.request["AutoMLProblemTypeConfig"]["TabularJobConfig"].get("Mode"))
        if self.wait_for_completion:
            import time

            deadline = time.monotonic() + self.max_wait_s
            while not job_done(hook, name):
                if time.monotonic() > deadline:
                    raise AirflowException(f"AutoML job {name} did not finish within {self.max_wait_s}s")
                time.sleep(self.check_interval)
        return name


class SageMakerAutoMLV2Sensor(BaseSensorOperator):
    """Wait for an AutoML V2 job; return its best candidate (name, containers, objective)."""

    template_fields: Sequence[str] = ("job_name",)

    def __init__(self, *, job_name: str, aws_conn_id: str | None = "aws_default", **kwargs: Any):
        kwargs.setdefault("mode", "reschedule")
        super().__init__(**kwargs)
        self.job_name, self.aws_conn_id = job_name, aws_conn_id

    def poke(self, context):
        from airflow.sdk.bases.sensor import PokeReturnValue

        from include.training.autopilot import best_candidate

        hook = SageMakerHook(aws_conn_id=self.aws_conn_id)
        if not job_done(hook, self.job_name):
            return False
        return PokeReturnValue(is_done=True, xcom_value=best_candidate(
            hook.conn.describe_auto_ml_job_v2(AutoMLJobName=self.job_name)))


def job_done(hook: SageMakerHook, name: str) -> bool:
    """True when the job completed; an Airflow failure if it failed or was stopped."""
    from include.training.autopilot import AutoMLJobFailed, job_done as done

    try:
        return done(hook.conn, name)
    except AutoMLJobFailed as exc:
        raise AirflowException(str(exc)) from None
