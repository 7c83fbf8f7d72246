"""
# aqicast backfill

The ETL and the quality gate for a **range of days**, triggered by hand (Params `start`, `end`,
`engine`): years of worldwide history at once, without running the daily DAG once per day. The
daily DAG stays as it is (and `airflow backfill create` on it still works for short ranges).

| stage | local backend | aws backend |
|---|---|---|
| ETL of the range | in-process (`engine=local`, 2 processes) or Spark (`engine=spark`: `aqicast etl --engine spark` submitted to the Spark venv set by `AQICAST_SPARK_PYTHON`, else in this process) | one Glue 5.0 Spark job run for the whole range (`include/glue_job.py --start --end`), deferrable |
| quality gate | one mapped task per day (bounded concurrency) | same |
| summary | days passed / failed; fails the run if any day failed | same |

Every task body calls one function of `include/app` (as the `aqicast` CLI does).
"""
from __future__ import annotations

import pendulum
from airflow.sdk import Param, TriggerRule, dag, task

from include import config

SETTINGS = config.load()  # environment only at parse time
BACKEND = SETTINGS.backend
#: Quality-gate days checked at once per run (each is a GX run reading a day's partitions).
GATE_CONCURRENCY = 4
DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": SETTINGS.task_retries,
    "retry_delay": pendulum.duration(minutes=2),
    "execution_timeout": pendulum.duration(hours=12),
}


def _aws(name: str, value: str) -> str:
    return config.variable_template(name, value)


def glue_etl():
    """One Glue job run for the whole range (the daily DAG's job definition and arguments)."""
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

    from include.glue_job import glue_job_kwargs, glue_paths

    a = SETTINGS.aws
    artifacts = _aws("ARTIFACTS", a.artifacts)
    return GlueJobOperator(
        task_id="glue_etl", job_name=_aws("GLUE_JOB", a.glue_job), script_location=glue_paths(artifacts)["script"],
        script_args={"--start": "{{ params.start }}", "--end": "{{ params.end }}",
                     "--lake": _aws("S3_LAKE", a.s3_lake), "--raw-root": _aws("S3_RAW_ROOT", a.raw_root)},
        create_job_kwargs=glue_job_kwargs(artifacts=artifacts, workers=a.glue_workers, worker_type=a.glue_worker_type),
        iam_role_name=_aws("GLUE_ROLE", a.glue_role), wait_for_completion=True, deferrable=True, waiter_delay=60,
        waiter_max_attempts=24 * 60, aws_conn_id=_aws("AWS_CONN_ID", a.conn_id),
        doc_md="Glue 5.0 Spark job over the range: one Spark task per date, then one per date's features.",
    )


@dag(
    dag_id="aqicast_backfill",
    description=f"ETL and quality gate of a range of days ({BACKEND} backend)",
    schedule=None,
    start_date=pendulum.datetime(2013, 3, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two backfills of overlapping ranges would write the same partitions
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["aqicast", "air-quality", "backfill", BACKEND],
    params={
        "start": Param("2015-01-01", type="string", format="date", description="first day of the range"),
        "end": Param("2015-01-31", type="string", format="date", description="last day of the range (inclusive)"),
        "engine": Param("local", enum=["local", "spark"],
                        description="local backend: in-process or Spark; the aws backend always runs the Glue job"),
    },
)
def aqicast_backfill():
    @task
    def resolve_range() -> list[str]:
        """The range's days, oldest first (fails on an end before the start)."""
        import datetime as dt

        from airflow.sdk import get_current_context

        from include.app import ingest

        p = get_current_context()["params"]
        days = ingest.date_range(dt.date.fromisoformat(p["start"]), dt.date.fromisoformat(p["end"]))
        return [d.isoformat() for d in days]

    @task
    def etl() -> dict:
        """The range's curated partitions and features with the chosen engine."""
        import datetime as dt

        from airflow.sdk import get_current_context

        from include.app import ingest
        from include.orchestration import tasks

        p = get_current_context()["params"]
        return ingest.etl_range(tasks.backend(), dt.date.fromisoformat(p["start"]), dt.date.fromisoformat(p["end"]),
                                engine=p["engine"])

    @task(retries=0, max_active_tis_per_dagrun=GATE_CONCURRENCY)
    def quality_gate(day: str) -> dict:
        """Great Expectations on one day's partitions (a critical failure fails this day's task)."""
        import datetime as dt

        from include.app import quality
        from include.orchestration import tasks

        with tasks.data_failures():
            result = quality.gate(tasks.backend(), dt.date.fromisoformat(day), data_docs=False)
        return {"date": day, "success": result.success, "warnings": len(result.warnings)}

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def summary(days: list[str], gates: list[dict]) -> dict:
        """Days passed and failed; the run fails if any day failed its gate."""
        from airflow.sdk.exceptions import AirflowFailException

        passed = sorted(g["date"] for g in gates if g and g.get("success"))
        failed = sorted(set(days) - set(passed))
        out = {"days": len(days), "passed": len(passed), "failed": failed,
               "warnings": sum(g.get("warnings", 0) for g in gates if g)}
        if failed:
            raise AirflowFailException(f"quality gate failed for {len(failed)} of {len(days)} days: {failed[:20]}")
        return out

    days = resolve_range()
    step = glue_etl() if BACKEND == "aws" else etl()
    gates = quality_gate.expand(day=days)
    days >> step >> gates
    summary(days, gates)


aqicast_backfill()
