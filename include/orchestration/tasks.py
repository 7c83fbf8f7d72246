"""What DAG task bodies use to call the application layer (``include/app``)."""
from __future__ import annotations

import contextlib
import datetime as dt
from typing import TYPE_CHECKING, Any, Iterator

from include import config

if TYPE_CHECKING:  # pragma: no cover
    from include.backends.base import Backend


def partition_date(logical_date: Any, params: dict, run_after: Any = None) -> dt.date:
    """The partition a run works on: ``params.date`` if given, else the logical date, else (for a
    manual or asset-triggered run without one) the day before the run was requested."""
    if params.get("date"):
        return dt.date.fromisoformat(str(params["date"]))
    if logical_date is not None:
        return logical_date.date() if hasattr(logical_date, "date") else dt.date.fromisoformat(str(logical_date)[:10])
    moment = run_after or dt.datetime.now(dt.timezone.utc)
    return moment.date() - dt.timedelta(days=1)


def _variable(name: str) -> str | None:
    from airflow.sdk import Variable

    try:
        return Variable.get(name, default=None)
    except Exception:  # noqa: BLE001 - no Variable backend (dag.test without a DB, a parse)
        return None


def settings() -> config.Settings:
    """The task's settings: the environment, then Airflow Variables ``aqicast_<name>``."""
    return config.load(variable=_variable)


def backend(the_settings: config.Settings | None = None) -> "Backend":
    """The backend of this deployment, built once per task; on aws with the session of the
    task's AWS connection (``aqicast_aws_conn_id``)."""
    from include.backends import build

    s = the_settings or settings()
    if s.backend != "aws":
        return build(s)
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return build(s, session=AwsBaseHook(aws_conn_id=s.aws.conn_id, client_type="sts").get_session(
        region_name=s.aws.region))


def context() -> tuple[dt.date, dict, "Any"]:
    """(partition date, params, the task instance) of the running task."""
    from airflow.sdk import get_current_context

    ctx = get_current_context()
    return partition_date(ctx.get("logical_date"), ctx["params"], ctx["dag_run"].run_after), ctx["params"], ctx["ti"]


@contextlib.contextmanager
def data_failures() -> Iterator[None]:
    """A failed quality gate fails the task without retries (retrying does not fix data), with the
    gate's summary as the failure message."""
    from include.quality.gate import QualityGateFailed

    try:
        yield
    except QualityGateFailed as exc:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(exc)) from None
