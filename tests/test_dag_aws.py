"""The aws path of the daily DAG, offline: ``dag.test()`` against a moto server (boto3 in the
provider's hooks and s3fs in the lake both talk to it through AWS_ENDPOINT_URL). Asserts the real
requests: crawler targets, the Glue job's arguments, the AutoML V2 job, the registered model
package, the serverless endpoint config, and the forecasts written through the endpoint.

What moto cannot do is filled in at the edges: crawls finish at once (state manager) and report
AWS's SUCCEEDED; the AutoML job completes with an MAE objective; the endpoint's answers are queued.
The rollback path (``update_endpoint``, absent in moto) is tested with botocore's Stubber.
"""
from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
import requests
from botocore.stub import Stubber

pytestmark = pytest.mark.slow

DAY = dt.date(2015, 1, 30)
ROLE = "arn:aws:iam::123456789012:role/aqicast-sagemaker"


@pytest.fixture(scope="module")
def local_lake(tmp_path_factory, lake_cache):
    from tests.sample_lakes import ingest_sample

    return ingest_sample(tmp_path_factory.mktemp("awslake") / "lake", (dt.date(2015, 1, 1), dt.date(2015, 2, 1)),
                         cache=lake_cache)


@pytest.fixture
def aws_env(moto_server, monkeypatch, local_lake):
    """Buckets, the lake as the Glue job would have left it, and moto's missing behaviours."""
    from pathlib import Path

    from moto.glue import models as glue_models
    from moto.moto_api import state_manager
    from moto.sagemaker import models as sm_models

    monkeypatch.setenv("AQICAST_S3_LAKE", "s3://aqicast-lake")
    monkeypatch.setenv("AQICAST_ARTIFACTS", "s3://aqicast-artifacts")
    monkeypatch.setenv("AQICAST_SAGEMAKER_ROLE_ARN", ROLE)
    monkeypatch.setenv("AQICAST_GLUE_ROLE", "aqicast-glue")
    monkeypatch.setenv("AQICAST_TASK_RETRIES", "0")
    monkeypatch.setenv("AQICAST_BACKEND", "aws")  # the deployment's backend: the DAG is built for it
    monkeypatch.setenv("AQICAST_EVAL_DAYS", "7")  # short windows for a month of data (same code paths)
    boto3.client("iam").create_role(RoleName="aqicast-glue", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "glue.amazonaws.com"}}]}))
    s3 = boto3.client("s3")
    for bucket in ("aqicast-lake", "aqicast-artifacts"):
        s3.create_bucket(Bucket=bucket)
    # One PUT per object (s3fs's recursive put costs moto about six times the CPU: ~20 s a month)
    root = Path(local_lake.root)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        s3.put_object(Bucket="aqicast-lake", Key=path.relative_to(root).as_posix(), Body=path.read_bytes())


    # Glue: crawls finish immediately, and report AWS's status word.
    state_manager.set_transition(model_name="glue::crawl", transition={"progression": "immediate"})
    original = glue_models.FakeCrawler.as_dict

    def as_dict(self):
        d = original(self)
        if d.get("LastCrawl", {}).get("Status") == "COMPLETED":
            d["LastCrawl"]["Status"] = "SUCCEEDED"
        return d
    monkeypatch.setattr(glue_models.FakeCrawler, "as_dict", as_dict)

    # AutoML V2: moto never completes a job; complete it with a plausible ensemble candidate.
    create = sm_models.SageMakerModelBackend.create_auto_ml_job_v2

    def create_and_complete(self, *args, **kwargs):
        arn = create(self, *args, **kwargs)
        job = self.auto_ml_jobs[kwargs.get("auto_ml_job_name") or args[0]]
        job.auto_ml_job_status = "Completed"
        job.best_candidate = {**job.best_candidate, "CandidateName": "WeightedEnsemble-L3",
                              "FinalAutoMLJobObjectiveMetric": {"MetricName": "MAE", "Value": 5.0},
                              "InferenceContainers": [{
                                  "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/autogluon-inference:1.1-cpu",
                                  "ModelDataUrl": "s3://aqicast-artifacts/autopilot/out/model.tar.gz",
                                  "Environment": {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label"}}]}
        return arn
    monkeypatch.setattr(sm_models.SageMakerModelBackend, "create_auto_ml_job_v2", create_and_complete)
    yield
    state_manager.unset_transition("glue::crawl")


def queue_endpoint_answers(url: str, bodies: list[str]) -> None:
    requests.post(f"{url}/moto-api/static/sagemaker/endpoint-results",
                  json={"results": [{"Body": b, "ContentType": "text/csv"} for b in bodies]}, timeout=10)


def run_dag(conf: dict):
    from tests.sample_lakes import daily_dag_for_test
    from tests.test_dags import migrate

    migrate()
    dag = daily_dag_for_test()
    import pendulum

    return dag.test(logical_date=pendulum.datetime(DAY.year, DAY.month, DAY.day, tz="UTC"), run_conf=conf)


def test_aws_path_end_to_end_with_real_requests(aws_env, moto_server):
    # The post-deploy check and the batch forecast send the same one-city CSV: one queued answer.
    from tests.aws_calls import assert_least_privilege, record_calls
    from tests.infra_synth import principals

    queue_endpoint_answers(moto_server, ["88"])
    with record_calls() as calls:
        run = run_dag({"retrain": "force"})
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    # Only the aws graph exists, and everything but the rollback ran.
    assert not {"ingest.crawl", "ingest.etl", "train.train_flaml", "deploy.publish_champion"} & set(states)
    assert {t for t, state in states.items() if state != "success"} == {"deploy.rollback"}
    assert states["deploy.rollback"] == "skipped" and states["train.register_candidate"] == "success"

    glue = boto3.client("glue")
    crawler = glue.get_crawler(Name="aqicast-raw-daily")["Crawler"]
    paths = [t["Path"] for t in crawler["Targets"]["S3Targets"]]
    assert "s3://openaq-fetches/realtime/2015-01-30/" in paths and "s3://openaq-fetches/realtime/2015-01-31/" in paths
    assert "s3://noaa-gsod-pds/2015/" in paths and crawler["Role"] == "aqicast-glue"
    assert crawler["RecrawlPolicy"]["RecrawlBehavior"] == "CRAWL_NEW_FOLDERS_ONLY"
    job = glue.get_job(JobName="aqicast-etl")["Job"]
    assert job["GlueVersion"] == "5.0" and job["Command"]["ScriptLocation"] == "s3://aqicast-artifacts/glue/glue_job.py"
    # A Spark job (glueetl) on the configured workers, its packages as AWS recommends on Glue 5.0.
    assert job["Command"]["Name"] == "glueetl" and job["WorkerType"] == "G.1X" and job["NumberOfWorkers"] == 10
    args = job["DefaultArguments"]
    assert args["--additional-python-modules"] == "s3://aqicast-artifacts/glue/requirements-glue.txt"
    assert args["--python-modules-installer-option"] == "-r"
    assert args["--extra-py-files"] == "s3://aqicast-artifacts/glue/aqicast.zip"
    assert states["ingest.glue_etl"] == "success" and "ingest.wait_glue_etl" not in states  # deferred, no sensor
    (job_run,) = glue.get_job_runs(JobName="aqicast-etl")["JobRuns"]
    assert job_run["Arguments"]["--date"] == "2015-01-30"
    assert job_run["Arguments"]["--lake"] == "s3://aqicast-lake" and job_run["Arguments"]["--reprocess-days"] == "0"

    sm = boto3.client("sagemaker")
    (automl,) = sm.list_auto_ml_jobs()["AutoMLJobSummaries"]
    desc = sm.describe_auto_ml_job_v2(AutoMLJobName=automl["AutoMLJobName"])
    assert desc["AutoMLProblemTypeConfig"]["TabularJobConfig"]["Mode"] == "ENSEMBLING"
    assert desc["RoleArn"] == ROLE
    channels = {c["ChannelType"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in desc["AutoMLJobInputDataConfig"]}
    train_key = channels["training"].removeprefix("s3://aqicast-artifacts/") + "train.csv"
    header = boto3.client("s3").get_object(Bucket="aqicast-artifacts", Key=train_key)["Body"].read().decode().split("\n")[0]
    assert header.endswith(",target_aqi") and "aqi_lag1" in header

    (package,) = sm.list_model_packages(ModelPackageGroupName="aqicast-next-day-aqi")["ModelPackageSummaryList"]
    described = sm.describe_model_package(ModelPackageName=package["ModelPackageArn"])
    assert described["ModelApprovalStatus"] == "Approved"
    metrics = json.loads(described["CustomerMetadataProperties"]["metrics"])
    assert metrics["mae"] == 5.0 and metrics["persistence_mae"] > 5.0
    container = described["InferenceSpecification"]["Containers"][0]
    assert container["Image"].endswith("autogluon-inference:1.1-cpu")

    endpoint = sm.describe_endpoint(EndpointName="aqicast-next-day-aqi")
    assert endpoint["EndpointConfigName"] == "aqicast-next-day-aqi-20150130-v1"
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["Containers"][0]["ModelPackageName"] == package["ModelPackageArn"]

    from include.lake import Lake
    forecasts = Lake("s3://aqicast-lake").read_partition("forecasts/city_daily", DAY)
    assert forecasts[["city", "aqi_pred", "method", "model_version"]].to_dict("records") == [
        {"city": "Beijing", "aqi_pred": 88, "method": "model", "model_version": "1"}]
    # Least privilege: every call the DAG's tasks made is allowed to MWAA's execution role (infra/).
    assert_least_privilege(calls, principals()["aqicast-mwaa"], expect={
        "glue:StartCrawler", "glue:StartJobRun", "sagemaker:CreateAutoMLJobV2", "sagemaker:CreateEndpoint",
        "sagemaker:InvokeEndpoint", "s3:PutObject", "iam:PassRole"})


def test_rollback_points_the_endpoint_back_with_update_endpoint():
    from include.backends.sagemaker_endpoint import rollback

    sm = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(sm) as stub:
        stub.add_response("update_endpoint", {"EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e"},
                          {"EndpointName": "aqicast-next-day-aqi", "EndpointConfigName": "aqicast-next-day-aqi-20150129-v3"})
        message = rollback(sm, "aqicast-next-day-aqi", "aqicast-next-day-aqi-20150129-v3")
        stub.assert_no_pending_responses()
    assert "rolled back to aqicast-next-day-aqi-20150129-v3" in message
    assert "nothing to roll back" in rollback(sm, "aqicast-next-day-aqi", None)


def test_aws_backfill_runs_one_glue_job_for_the_range_then_gates_each_day(aws_env):
    """The backfill DAG on aws: one deferrable Glue job run for the whole range (--start/--end),
    then the quality gate mapped over its days, then the summary."""
    from pathlib import Path

    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    from tests.test_dags import migrate

    migrate()
    dag = DagBag(dag_folder=str(Path(__file__).resolve().parent.parent / "dags")).get_dag("aqicast_backfill")
    assert "etl" not in dag.task_dict and dag.task_dict["glue_etl"].deferrable
    run = dag.test(logical_date=pendulum.datetime(2015, 2, 2, tz="UTC"),
                   run_conf={"start": "2015-01-29", "end": "2015-01-30", "engine": "spark"})
    tis = run.get_task_instances()
    assert run.state == "success", {(t.task_id, t.map_index): t.state for t in tis}
    assert sorted(t.map_index for t in tis if t.task_id == "quality_gate") == [0, 1]
    summary = next(t for t in tis if t.task_id == "summary").xcom_pull(task_ids="summary")
    assert summary["days"] == 2 and summary["failed"] == []

    glue = boto3.client("glue")
    (job_run,) = glue.get_job_runs(JobName="aqicast-etl")["JobRuns"]
    assert job_run["Arguments"]["--start"] == "2015-01-29" and job_run["Arguments"]["--end"] == "2015-01-30"
    assert "--date" not in job_run["Arguments"] and job_run["Arguments"]["--lake"] == "s3://aqicast-lake"
    job = glue.get_job(JobName="aqicast-etl")["Job"]
    assert job["Command"]["Name"] == "glueetl" and job["NumberOfWorkers"] == 10 and job["GlueVersion"] == "5.0"
