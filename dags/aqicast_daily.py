"""
# aqicast daily

Tomorrow's AQI for every city, from the logical date's data. **One logical date = one partition**:
every task reads and replaces the partitions of that date, so reruns and backfills are idempotent.

The graph is built for the deployment's backend (`AQICAST_BACKEND`, `local` by default, `aws` on
MWAA): the shared stages are the same, the backend's task groups are plugged in, so the graph you
see is the one that runs.

| stage | local backend | aws backend |
|---|---|---|
| ingest | list D's raw objects into a manifest, in-process ETL | Glue crawler + Glue 5.0 job (`include/glue_job.py`) |
| quality gate | Great Expectations suites (a critical failure fails the run) | same |
| retrain policy | no champion / too old / live error degraded / forced (skips training otherwise) | same |
| train | FLAML, judged and registered in the file registry | Autopilot AutoML V2 (ENSEMBLING), judged the same way, SageMaker Model Registry |
| deploy | point the local API at the champion | serverless endpoint, verified, rolled back on failure |
| forecast | champion model -> forecasts + serving snapshot | the endpoint -> same |

Every task body calls one function of `include/app` (the same functions as the `aqicast` CLI).
Params: `retrain` (auto/force/skip), `reprocess_days` (late data), `date` (the partition of a
manual run), `train_budget_s` (local AutoML budget).
"""
from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Asset, Param, TaskGroup, TriggerRule, dag, task

from include import catalog, config
from include.orchestration.timetable import DailyPartitionTimetable

SETTINGS = config.load()  # environment only at parse time: never an Airflow Variable here
BACKEND = SETTINGS.backend
_START = pendulum.datetime(2013, 3, 1, tz="UTC")

# Assets for lineage in the UI (data-aware scheduling hooks onto them too).
CURATED = Asset(name="aqicast.curated.air_quality_daily", uri=f"aqicast://lake/{catalog.AIR_QUALITY}")
FEATURES = Asset(name="aqicast.features.city_daily", uri=f"aqicast://lake/{catalog.FEATURES}")
MODELS = Asset(name="aqicast.registry.model_versions", uri="aqicast://registry/model_versions")
FORECASTS = Asset(name="aqicast.forecasts.city_daily", uri=f"aqicast://lake/{catalog.FORECASTS}")

# The steps that read what earlier days wrote wait for the same step of the previous day (Airflow's
# depends_on_past: the previous run's instance succeeded or was skipped; the first run of a DAG and
# the first day of a backfill pass). ETL: D's features read curated D-7..D and refill D-1's
# target; the retrain policy reads the forecasts of D-1..; training reads every earlier feature;
# forecast publishes the serving snapshot, which must end on the latest day. So a backfill is
# correct whatever its --max-active-runs. ignore_first_depends_on_past: a task new to the graph
# (or a DB that ran the other backend's graph) does not wait for a run that never had it.
READS_PAST = {"depends_on_past": True, "ignore_first_depends_on_past": True}

PARTITION = "{{ ti.xcom_pull(task_ids='resolve_partition') }}"
DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": SETTINGS.task_retries,
    "retry_delay": pendulum.duration(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": pendulum.duration(minutes=30),
    "execution_timeout": pendulum.duration(hours=2),
}


def aws(name: str) -> str:
    """An aws setting rendered at run time (Airflow Variable ``aqicast_<name>``, else the environment's)."""
    field = {"AWS_CONN_ID": "conn_id", "S3_RAW_ROOT": "raw_root"}.get(name, name.lower())
    return config.variable_template(name, getattr(SETTINGS.aws, field))


# -- local task groups ------------------------------------------------------------------------------
def local_ingest() -> TaskGroup:
    with TaskGroup("ingest", tooltip="crawl and ETL in-process") as group:
        @task
        def crawl() -> dict:
            """D's raw objects per source, kept as the manifest the ETL reads."""
            from include.app import ingest
            from include.orchestration import tasks

            day, _, _ = tasks.context()
            return ingest.crawl(tasks.backend(), day)

        @task(outlets=[CURATED, FEATURES], **READS_PAST)
        def etl() -> dict:
            """Readers -> curated daily tables (+ quarantine) -> city features for D (and D-1's target)."""
            from include.app import ingest
            from include.orchestration import tasks

            day, params, _ = tasks.context()
            return ingest.summary(ingest.etl(tasks.backend(), ingest.window(day, int(params["reprocess_days"]))))

        crawl() >> etl()
    return group


def local_train() -> TaskGroup:
    with TaskGroup("train", tooltip="FLAML challenger, judged and registered") as group:
        @task(outlets=[MODELS], execution_timeout=pendulum.duration(minutes=30), **READS_PAST)
        def train_flaml() -> dict:
            """FLAML challenger, judged on the recent window, registered Approved or Rejected."""
            from include.app import training
            from include.orchestration import tasks

            day, params, _ = tasks.context()
            return training.train(tasks.backend(), day, budget=float(params["train_budget_s"]))

        train_flaml()
    return group


def local_deploy() -> TaskGroup:
    with TaskGroup("deploy", tooltip="the local API serves the registry's champion") as group:
        @task(trigger_rule=TriggerRule.NONE_FAILED)
        def publish_champion() -> dict:
            """The local "endpoint update": the local API serves the registry's champion."""
            from include.app import deploy
            from include.orchestration import tasks

            return deploy.publish_champion(tasks.backend())

        publish_champion()
    return group


# -- aws task groups ---------------------------------------------------------------------------------
def aws_ingest() -> TaskGroup:
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
    from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerRunOperator

    from include.glue_job import glue_job_kwargs, glue_paths

    conn = aws("AWS_CONN_ID")
    script = glue_paths(aws("ARTIFACTS"))["script"]
    with TaskGroup("ingest", tooltip="Glue crawler and Glue ETL job") as group:
        @task
        def crawler_config() -> dict:
            """The crawler's targets: D's objects of each source."""
            from include.etl.crawler import crawler_config as make
            from include.orchestration import tasks

            day, _, _ = tasks.context()
            a = tasks.settings().aws
            return make(day, name=a.crawler, role=a.glue_role, database=a.glue_database)

        @task
        def upsert_crawler(cfg: dict) -> str:
            """Create the crawler, or update its targets to D's objects."""
            from airflow.providers.amazon.aws.hooks.glue_crawler import GlueCrawlerHook

            from include.orchestration import tasks

            hook = GlueCrawlerHook(aws_conn_id=tasks.settings().aws.conn_id)
            if hook.has_crawler(cfg["Name"]):
                hook.update_crawler(**{k: v for k, v in cfg.items() if k != "Tags"})
            else:
                hook.create_crawler(**cfg)
            return cfg["Name"]

        crawler = upsert_crawler(crawler_config())
        # Deferrable: the crawl is waited for in the triggerer, holding no worker slot; a retry that
        # finds the crawler still running waits for that crawl instead of failing.
        run_crawler = GlueCrawlerRunOperator(task_id="run_crawler", crawler_name=crawler, wait_for_completion=True,
                                             deferrable=True, fail_on_already_running=False, poll_interval=60,
                                             aws_conn_id=conn, execution_timeout=dt.timedelta(hours=1),
                                             doc_md="Crawl D's raw objects (deferred until the crawl ends).")
        glue_etl = GlueJobOperator(
            task_id="glue_etl", job_name=aws("GLUE_JOB"), script_location=script,
            script_args={"--date": PARTITION, "--lake": aws("S3_LAKE"), "--raw-root": aws("S3_RAW_ROOT"),
                         "--reprocess-days": "{{ params.reprocess_days | string }}"},
            create_job_kwargs=glue_job_kwargs(artifacts=aws("ARTIFACTS"), workers=SETTINGS.aws.glue_workers,
                                              worker_type=SETTINGS.aws.glue_worker_type),
            iam_role_name=aws("GLUE_ROLE"), wait_for_completion=True, deferrable=True, waiter_delay=60,
            waiter_max_attempts=24 * 60, aws_conn_id=conn, outlets=[CURATED, FEATURES], **READS_PAST,
            doc_md="Glue 5.0 Spark job (`include/glue_job.py`): the same `app.ingest.etl` as the local backend "
                   "with the Spark engine, curated tables and features for D (and D-1's target) in the S3 lake. "
                   "Deferrable: the triggerer waits for the run, no worker slot does.",
        )
        run_crawler >> glue_etl
    return group


def aws_train() -> TaskGroup:
    from aqicast_plugins.sagemaker_automl import SageMakerAutoMLV2Operator, SageMakerAutoMLV2Sensor

    conn = aws("AWS_CONN_ID")
    with TaskGroup("train", tooltip="Autopilot AutoML V2, judged and registered in SageMaker Model Registry") as group:
        @task(**READS_PAST)
        def export_training_data() -> dict:
            """Features -> train/validation CSVs in S3 (the evaluation split) -> the AutoML V2 request."""
            from include.app import training
            from include.orchestration import tasks

            day, _, ti = tasks.context()
            # the job name derives from the run (dag_id, run id), not the try: a retry reattaches
            return training.export(tasks.backend(), day, run_id=f"{ti.dag_id}/{ti.run_id}")

        start_automl = SageMakerAutoMLV2Operator(task_id="start_automl", request=export_training_data(),
                                                 aws_conn_id=conn,
                                                 doc_md="Start the Autopilot AutoML V2 job (ENSEMBLING) on the exported CSVs.")
        wait_automl = SageMakerAutoMLV2Sensor(task_id="wait_automl", job_name=start_automl.output, poke_interval=300,
                                              timeout=6 * 3600, aws_conn_id=conn, deferrable=True,
                                              doc_md="Wait (deferred, in the triggerer) for the AutoML V2 job; "
                                                     "its best candidate goes to the verdict.")

        @task(outlets=[MODELS])
        def register_candidate(candidate: dict) -> dict:
            """The same verdict as the local backend: beat the champion and persistence on the window."""
            from include.app import training
            from include.orchestration import tasks

            day, _, _ = tasks.context()
            return training.register_candidate(tasks.backend(), day, candidate)

        register_candidate(wait_automl.output)
    return group


def aws_deploy() -> TaskGroup:
    from airflow.providers.amazon.aws.operators.sagemaker import (
        SageMakerEndpointConfigOperator,
        SageMakerEndpointOperator,
        SageMakerModelOperator,
    )

    conn = aws("AWS_CONN_ID")
    with TaskGroup("deploy", tooltip="serverless endpoint update with check and rollback") as group:
        @task.short_circuit(ignore_downstream_trigger_rules=False, trigger_rule=TriggerRule.NONE_FAILED)
        def champion_package() -> dict | None:
            """Continue only if the registry's champion is not what the endpoint serves already."""
            from include.app import deploy
            from include.orchestration import tasks

            day, _, ti = tasks.context()
            the_plan = deploy.endpoint_plan(tasks.backend(), day)
            for key in ("model", "endpoint_config", "endpoint"):
                if the_plan:
                    ti.xcom_push(key=key, value=the_plan[key])
            return the_plan

        plan = champion_package()
        create_model = SageMakerModelOperator(task_id="create_model", config=plan["model"], aws_conn_id=conn,
                                              doc_md="SageMaker model of the champion's package.")
        create_config = SageMakerEndpointConfigOperator(task_id="create_endpoint_config",
                                                        config=plan["endpoint_config"], aws_conn_id=conn,
                                                        doc_md="Serverless endpoint config for that model.")
        # operation="create" updates an existing endpoint in place (the provider switches to update).
        update_endpoint = SageMakerEndpointOperator(task_id="update_endpoint", config=plan["endpoint"],
                                                    operation="create", wait_for_completion=True, deferrable=True,
                                                    aws_conn_id=conn,
                                                    doc_md="Point the serverless endpoint at the new config (in place).")

        @task
        def verify_endpoint(the_plan: dict) -> list[float]:
            """Smoke test: the endpoint answers D's features with AQIs in 0..500."""
            from include.app import deploy
            from include.orchestration import tasks

            day, _, _ = tasks.context()
            return deploy.verify_endpoint(tasks.backend(), day, the_plan)

        @task(trigger_rule=TriggerRule.ONE_FAILED, retries=0)
        def rollback(the_plan: dict) -> str:
            """Runs only if the update or its check failed: back to the previous endpoint config."""
            from include.app import deploy
            from include.orchestration import tasks

            return deploy.rollback_endpoint(tasks.backend(), the_plan)

        checked = verify_endpoint(plan)
        plan >> create_model >> create_config >> update_endpoint >> checked
        [update_endpoint, checked] >> rollback(plan)
    return group


GROUPS = {
    "local": {"ingest": local_ingest, "train": local_train, "deploy": local_deploy},
    "aws": {"ingest": aws_ingest, "train": aws_train, "deploy": aws_deploy},
}[BACKEND]


@dag(
    dag_id="aqicast_daily",
    description=f"Tomorrow's AQI per city from day D's weather and air-quality data ({BACKEND} backend)",
    # Interval [D 00:00, D+1 00:00) UTC, run after it closes: logical date = the partition D, so a
    # backfill from D1 to D2 is exactly the partitions D1..D2; a manual run's interval is its logical
    # date's day too (include/orchestration/timetable.py). Late data: the reprocess_days Param.
    schedule=DailyPartitionTimetable(),
    start_date=_START,
    catchup=False,
    max_active_runs=1,  # scheduled runs one at a time; backfills have their own limit (READS_PAST)
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["aqicast", "air-quality", "forecast", BACKEND],
    params={
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
        from include.orchestration import tasks

        return tasks.context()[0].isoformat()

    @task(retries=0)
    def quality_gate() -> dict:
        """Great Expectations on D's partitions: a critical failure fails the run with a summary."""
        from include.app import quality
        from include.orchestration import tasks

        day, _, _ = tasks.context()
        with tasks.data_failures():
            result = quality.gate(tasks.backend(), day)
        return {"success": result.success, "warnings": [f.line() for f in result.warnings], "docs": result.docs_path}

    @task.short_circuit(ignore_downstream_trigger_rules=False, **READS_PAST)
    def retrain_policy() -> bool:
        """Train only when needed: no champion, champion too old, live error degraded, or forced.
        When it says no, the training tasks are skipped (the log says why); deploy and forecast run."""
        from include.app import training
        from include.orchestration import tasks

        day, params, _ = tasks.context()
        return training.decide(tasks.backend(), day, params["retrain"]).yes

    @task(outlets=[FORECASTS], trigger_rule=TriggerRule.NONE_FAILED, **READS_PAST)
    def forecast() -> list[dict]:
        """Tomorrow's AQI per city -> forecasts/city_daily/date=D and the serving snapshot."""
        from include.app import forecasting
        from include.orchestration import tasks

        day, _, _ = tasks.context()
        out = forecasting.forecast(tasks.backend(), day)
        return out[forecasting.LOG_COLUMNS].head(20).to_dict("records")

    ingest, gate, policy = GROUPS["ingest"](), quality_gate(), retrain_policy()
    train, deploy = GROUPS["train"](), GROUPS["deploy"]()
    resolve_partition() >> ingest >> gate >> policy >> train >> deploy >> forecast()


aqicast_daily()
