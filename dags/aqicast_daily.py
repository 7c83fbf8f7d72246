"""
# aqicast daily

Tomorrow's AQI for every city, from the logical date's data. **One logical date = one partition**:
every task reads and replaces the partitions of that date, so reruns and backfills are idempotent.

| stage | local backend (default) | aws backend |
|---|---|---|
| crawl | list D's raw objects into a manifest | Glue crawler (create/update, run, sensor) |
| ETL | in-process readers, AQI, features | Glue 5.0 job running `include/etl/glue_job.py` |
| quality gate | Great Expectations suites (critical fails the run) | same |
| retrain policy | no champion / too old / live error degraded / forced | same |
| train + register | FLAML, file registry | Autopilot AutoML V2 (ENSEMBLING), SageMaker Model Registry |
| endpoint update | point the local API at the champion | serverless endpoint, verified, rolled back on failure |
| forecast | champion model | the endpoint |

Params: `backend` (local/aws), `retrain` (auto/force/skip), `reprocess_days` (late data),
`date` (override the partition for a manual run), `train_budget_s`.
"""
from __future__ import annotations

import os

import pendulum
from airflow.sdk import Asset, Param, TaskGroup, dag, get_current_context, task
from airflow.sdk import CronDataIntervalTimetable, TriggerRule

from aqicast_plugins.sagemaker_automl import (
    RegisterModelVersionOperator,
    SageMakerAutoMLV2Operator,
    SageMakerAutoMLV2Sensor,
)
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerRunOperator
from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerEndpointConfigOperator,
    SageMakerEndpointOperator,
    SageMakerModelOperator,
)
from airflow.providers.amazon.aws.sensors.glue import GlueJobSensor
from airflow.providers.amazon.aws.sensors.glue_crawler import GlueCrawlerSensor
from airflow.providers.amazon.aws.utils.sagemaker import ApprovalStatus

from include import config
from include.etl.glue_job import glue_job_kwargs

_BACKEND = os.getenv("AQICAST_BACKEND", "local")
_START = pendulum.datetime(2013, 3, 1, tz="UTC")

# Assets for lineage in the UI (data-aware scheduling hooks onto them too).
CURATED = Asset(name="aqicast.curated.air_quality_daily", uri="aqicast://lake/curated/air_quality_daily")
FEATURES = Asset(name="aqicast.features.city_daily", uri="aqicast://lake/features/city_daily")
MODELS = Asset(name="aqicast.registry.model_versions", uri="aqicast://registry/model_versions")
FORECASTS = Asset(name="aqicast.forecasts.city_daily", uri="aqicast://lake/forecasts/city_daily")

PARTITION = "{{ ti.xcom_pull(task_ids='resolve_partition') }}"

DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": int(os.getenv("AQICAST_TASK_RETRIES", 2)),
    "retry_delay": pendulum.duration(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": pendulum.duration(minutes=30),
    "execution_timeout": pendulum.duration(hours=2),
}


def _ctx() -> tuple[str, str, dict]:
    """(partition date, backend, params) of the running task."""
    from include.runtime import partition_date

    ctx = get_current_context()
    params = ctx["params"]
    return partition_date(ctx.get("logical_date"), params, ctx["dag_run"].run_after), params["backend"], params


@dag(
    dag_id="aqicast_daily",
    # Interval [D 00:00, D+1 00:00) UTC, run after it closes: logical date = the partition D, so a
    # backfill from D1 to D2 is exactly the partitions D1..D2. Late data: the reprocess_days Param.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=_START,
    catchup=False,
    max_active_runs=1,  # a day's features read D-7..D+1: backfills run in date order
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["aqicast", "air-quality", "forecast"],
    params={
        "backend": Param(_BACKEND, enum=["local", "aws"], description="where every step runs"),
        "retrain": Param("auto", enum=["auto", "force", "skip"], description="auto = the retrain policy decides"),
        "reprocess_days": Param(0, type="integer", minimum=0, maximum=7,
                                description="also re-run the N days before (late OpenAQ archive data: use 3)"),
        "date": Param(None, type=["null", "string"], format="date", description="partition to run (manual runs)"),
        "train_budget_s": Param(60, type="integer", minimum=5, maximum=3600, description="local AutoML budget"),
    },
)
def aqicast_daily():
    @task
    def resolve_partition() -> str:
        """The partition date: params.date, else the logical date (data interval start)."""
        return _ctx()[0]

    @task.branch
    def choose_backend() -> str:
        return "local_ingest.crawl" if _ctx()[1] == "local" else "aws_ingest.crawler_config"

    with TaskGroup("local_ingest", tooltip="crawl and ETL in-process") as local_ingest:
        @task
        def crawl() -> dict:
            from include.runtime import crawl_local

            return crawl_local(_ctx()[0])

        @task(outlets=[CURATED, FEATURES])
        def etl() -> dict:
            """Readers -> curated daily tables (+ quarantine) -> city features for D (and D-1's target)."""
            from include.runtime import etl_local

            day, _, params = _ctx()
            return etl_local(day, int(params["reprocess_days"]))

        crawl() >> etl()

    with TaskGroup("aws_ingest", tooltip="Glue crawler and Glue ETL job") as aws_ingest:
        @task
        def crawler_config() -> dict:
            from include.etl.crawler import crawler_config as make

            return make(pendulum.parse(_ctx()[0]).date(), name=config.setting("CRAWLER"),
                        role=config.setting("GLUE_ROLE"), database=config.setting("GLUE_DATABASE"))

        @task
        def upsert_crawler(cfg: dict) -> str:
            """Create the crawler, or update its targets to D's objects."""
            from airflow.providers.amazon.aws.hooks.glue_crawler import GlueCrawlerHook

            hook = GlueCrawlerHook(aws_conn_id=config.setting("AWS_CONN_ID"))
            if hook.has_crawler(cfg["Name"]):
                hook.update_crawler(**{k: v for k, v in cfg.items() if k != "Tags"})
            else:
                hook.create_crawler(**cfg)
            return cfg["Name"]

        crawler = upsert_crawler(crawler_config())
        run_crawler = GlueCrawlerRunOperator(task_id="run_crawler", crawler_name=crawler, wait_for_completion=False,
                                             aws_conn_id=config.template("AWS_CONN_ID"))
        wait_crawler = GlueCrawlerSensor(task_id="wait_crawler", crawler_name=crawler, mode="reschedule",
                                         poke_interval=60, timeout=3600, aws_conn_id=config.template("AWS_CONN_ID"))
        glue_etl = GlueJobOperator(
            task_id="glue_etl",
            job_name=config.template("GLUE_JOB"),
            script_location=config.template("ARTIFACTS") + "/glue/glue_job.py",
            script_args={"--date": PARTITION, "--lake": config.template("S3_LAKE"),
                         "--raw-root": config.template("S3_RAW_ROOT"),
                         "--reprocess-days": "{{ params.reprocess_days | string }}"},
            create_job_kwargs=glue_job_kwargs(script_location=config.template("ARTIFACTS") + "/glue/glue_job.py",
                                              extra_py_files=config.template("ARTIFACTS") + "/glue/aqicast.zip"),
            iam_role_name=config.template("GLUE_ROLE"),
            wait_for_completion=False, aws_conn_id=config.template("AWS_CONN_ID"), outlets=[CURATED, FEATURES],
        )
        wait_etl = GlueJobSensor(task_id="wait_glue_etl", job_name=config.template("GLUE_JOB"), run_id=glue_etl.output,
                                 mode="reschedule", poke_interval=60, aws_conn_id=config.template("AWS_CONN_ID"))
        run_crawler >> wait_crawler >> glue_etl >> wait_etl

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, retries=0)
    def quality_gate() -> dict:
        """Great Expectations on D's partitions: a critical failure fails the run with a summary."""
        from include.runtime import quality_gate as gate

        day, backend, _ = _ctx()
        return gate(day, backend)

    @task.branch
    def retrain_policy() -> str:
        """Train only when needed: no champion, champion too old, live error degraded, or forced."""
        from include.runtime import retrain_branch

        day, backend, params = _ctx()
        return retrain_branch(day, backend, params["retrain"])

    @task(outlets=[MODELS], execution_timeout=pendulum.duration(minutes=30))
    def train_local() -> dict:
        """FLAML challenger, judged on the recent window, registered Approved or Rejected."""
        from include.runtime import train_local as train

        day, _, params = _ctx()
        return train(day, float(params["train_budget_s"]))

    @task
    def skip_training() -> str:
        return "no training today (see the retrain_policy log for why)"

    with TaskGroup("aws_train", tooltip="Autopilot AutoML V2 and SageMaker Model Registry") as aws_train:
        @task
        def export_training_data() -> dict:
            """Features -> train/validation CSVs in S3 (time-aware windows) -> the AutoML V2 request."""
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            from include.runtime import lake
            from include.training.aws_steps import export_training_data as export

            day, _, _ = _ctx()
            return export(lake("aws"), S3Hook(aws_conn_id=config.setting("AWS_CONN_ID")).conn,
                          pendulum.parse(day).date(), artifacts=config.setting("ARTIFACTS"),
                          role_arn=config.setting("SAGEMAKER_ROLE_ARN"), run_id=get_current_context()["run_id"])

        start_automl = SageMakerAutoMLV2Operator(task_id="start_automl", request=export_training_data(),
                                                 aws_conn_id=config.template("AWS_CONN_ID"))
        wait_automl = SageMakerAutoMLV2Sensor(task_id="wait_automl", job_name=start_automl.output, poke_interval=300,
                                              timeout=6 * 3600, aws_conn_id=config.template("AWS_CONN_ID"))

        @task.branch
        def judge_challenger(candidate: dict) -> str:
            """Same window and promotion policy as local: beat the champion and persistence."""
            from include.runtime import judge_aws_challenger

            outcome = judge_aws_challenger(_ctx()[0], candidate)
            ti = get_current_context()["ti"]
            for key in ("reason", "image", "model_url", "extras"):
                ti.xcom_push(key=key, value=outcome[key])
            return "aws_train.register_approved" if outcome["approved"] else "aws_train.register_rejected"

        judged = judge_challenger(wait_automl.output)
        for approval, task_id in ((ApprovalStatus.APPROVED, "register_approved"),
                                  (ApprovalStatus.REJECTED, "register_rejected")):
            judged >> RegisterModelVersionOperator(
                task_id=task_id,
                image_uri=judged["image"],
                model_url=judged["model_url"],
                package_group_name=config.template("MODEL_GROUP"),
                package_desc=judged["reason"],
                model_approval=approval,  # the enum, not a string
                extras=judged["extras"],  # the candidate's containers and our metrics/lineage metadata
                aws_conn_id=config.template("AWS_CONN_ID"), outlets=[MODELS],
            )

    @task.branch(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def choose_deploy() -> str:
        return "publish_local_champion" if _ctx()[1] == "local" else "aws_deploy.champion_package"

    @task
    def publish_local_champion() -> dict:
        """The local "endpoint update": the local API serves the registry's champion."""
        from include.runtime import publish_local_champion as publish

        return publish()

    with TaskGroup("aws_deploy", tooltip="serverless endpoint update with check and rollback"):
        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def champion_package() -> dict | None:
            """Continue only if the registry's champion is not what the endpoint serves already."""
            from include.runtime import endpoint_plan

            the_plan = endpoint_plan(_ctx()[0])
            if the_plan:
                ti = get_current_context()["ti"]
                for key in ("model", "endpoint_config", "endpoint"):
                    ti.xcom_push(key=key, value=the_plan[key])
            return the_plan

        plan = champion_package()
        create_model = SageMakerModelOperator(task_id="create_model", config=plan["model"],
                                              aws_conn_id=config.template("AWS_CONN_ID"))
        create_config = SageMakerEndpointConfigOperator(task_id="create_endpoint_config",
                                                        config=plan["endpoint_config"],
                                                        aws_conn_id=config.template("AWS_CONN_ID"))
        # operation="create" updates an existing endpoint in place (the provider switches to update).
        update_endpoint = SageMakerEndpointOperator(task_id="update_endpoint", config=plan["endpoint"],
                                                    operation="create", wait_for_completion=True,
                                                    aws_conn_id=config.template("AWS_CONN_ID"))

        @task
        def verify_endpoint() -> list[float]:
            """Smoke test: the endpoint answers D's features with AQIs in 0..500."""
            from include.runtime import verify_aws_endpoint

            return verify_aws_endpoint(_ctx()[0])

        @task(trigger_rule=TriggerRule.ONE_FAILED, retries=0)
        def rollback(the_plan: dict) -> str:
            """Runs only if the update or its check failed: back to the previous endpoint config."""
            from include.runtime import rollback_aws_endpoint

            return rollback_aws_endpoint(the_plan)

        checked = verify_endpoint()
        plan >> create_model >> create_config >> update_endpoint >> checked
        [update_endpoint, checked] >> rollback(plan)

    @task(outlets=[FORECASTS], trigger_rule=TriggerRule.NONE_FAILED)
    def forecast() -> list[dict]:
        """Tomorrow's AQI per city, written to forecasts/city_daily/date=D."""
        from include.runtime import forecast as run_forecast

        day, backend, _ = _ctx()
        return run_forecast(day, backend)

    partition = resolve_partition()
    branch = choose_backend()
    gate = quality_gate()
    policy = retrain_policy()
    deploy = choose_deploy()
    local_train, skipped = train_local(), skip_training()
    partition >> branch >> [local_ingest, aws_ingest] >> gate >> policy >> [local_train, skipped, aws_train]
    [local_train, skipped, aws_train] >> deploy >> [published := publish_local_champion(), plan]
    # Forecast after whichever deploy ran; with no new model the aws deploy is skipped, not failed.
    [published, checked] >> forecast()


aqicast_daily()
