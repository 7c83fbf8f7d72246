"""Least privilege, proven on real runs: the AWS API calls the Glue job and the API Lambda make
against a moto server are recorded (``tests/aws_calls.py``) and each must be allowed by the
synthesised policy of the role they run as in AWS (``aqicast-glue``, ``aqicast-api``); the DAG's
aws path does the same for ``aqicast-mwaa`` in ``tests/test_dag_aws.py``. The recorder and the
evaluator are tested too, so an empty recording or an over-lenient match cannot pass."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import boto3
import pytest

from infra import policies
from tests.aws_calls import Request, assert_least_privilege, record_calls, requests_for
from tests.infra_synth import principals as infra_principals

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_RAW = ROOT / "data" / "sample" / "raw"
DAY = dt.date(2015, 1, 30)


@pytest.fixture(scope="module")
def principals():
    return infra_principals()


def test_the_evaluator_denies_what_the_policies_do_not_grant(principals):
    glue, api = principals["aqicast-glue"], principals["aqicast-api"]
    assert glue.trust == ("glue.amazonaws.com",) and api.trust == ("lambda.amazonaws.com",)
    assert policies.allowed(glue, "s3:PutObject", "arn:aws:s3:::aqicast-lake/curated/x/part-0.parquet")
    assert not policies.allowed(glue, "s3:PutObject", "arn:aws:s3:::openaq-fetches/realtime/x.ndjson")
    assert not policies.allowed(glue, "s3:PutObject", "arn:aws:s3:::aqicast-lakehouse/x")
    assert not policies.allowed(api, "s3:PutObject", "arn:aws:s3:::aqicast-lake/serving/latest.json")
    assert policies.allowed(api, "s3:PutObject", "arn:aws:s3:::aqicast-lake/serving/images/date=2019-01-11/1.png")
    assert not policies.allowed(api, "s3:DeleteObject", "arn:aws:s3:::aqicast-lake/serving/images/x.png")
    mwaa = principals["aqicast-mwaa"]
    role = "arn:aws:iam::123456789012:role/aqicast-glue"
    assert policies.allowed(mwaa, "iam:PassRole", role, {"iam:PassedToService": "glue.amazonaws.com"})
    assert not policies.allowed(mwaa, "iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not policies.allowed(mwaa, "iam:PassRole", role)  # no context key: the condition fails


def test_the_recorder_maps_calls_to_iam_requests():
    assert requests_for("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "serving/"}, None) == [
        Request("s3:ListBucket", "arn:aws:s3:::b", (("s3:prefix", "serving/"),), "s3.ListObjectsV2")]
    (req, passrole) = requests_for("glue", "CreateJob", {"Name": "aqicast-etl", "Role": "aqicast-glue"}, None)
    assert req.resource == "arn:aws:glue:us-east-1:123456789012:job/aqicast-etl"
    assert passrole.action == "iam:PassRole" and passrole.ctx == {"iam:PassedToService": "glue.amazonaws.com"}
    copy = requests_for("s3", "CopyObject", {"Bucket": "b", "Key": "k2", "CopySource": "a/k1"}, None)
    assert [(r.action, r.resource) for r in copy] == [("s3:PutObject", "arn:aws:s3:::b/k2"),
                                                       ("s3:GetObject", "arn:aws:s3:::a/k1")]


def _upload_day(s3, day: dt.date) -> None:
    """D's raw objects of the sample, in the public buckets' layout, plus the GSOD year."""
    stamps = (day.isoformat(), f"{day:%Y%m%d}")
    for path in sorted(SAMPLE_RAW.rglob("*")):
        rel = path.relative_to(SAMPLE_RAW).as_posix()
        bucket, _, key = rel.partition("/")
        if path.is_file() and (any(s in key for s in stamps) or key.startswith(f"{day:%Y}/")
                               and bucket == "noaa-gsod-pds"):
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())


@pytest.mark.slow
@pytest.mark.spark  # the Glue job runs the Spark engine: in .venv-glue (make test-spark)
def test_the_glue_job_needs_only_what_the_glue_role_allows(moto_server, monkeypatch, principals):
    from include import glue_job

    s3 = boto3.client("s3")
    for bucket in ("aqicast-lake", "aqicast-artifacts", "openaq-fetches", "noaa-gsod-pds", "openaq-data-archive"):
        s3.create_bucket(Bucket=bucket)
    _upload_day(s3, DAY)
    monkeypatch.setenv("AQICAST_ARTIFACTS", "s3://aqicast-artifacts")
    with record_calls() as rec:
        summary = glue_job.main(["--date", DAY.isoformat(), "--lake", "s3://aqicast-lake", "--raw-root", "s3://",
                                 "--JOB_ID", "j_1"])
    assert summary and any(k.startswith("curated/") for k in
                           (o["Key"] for o in s3.list_objects_v2(Bucket="aqicast-lake")["Contents"]))
    assert_least_privilege(rec, principals["aqicast-glue"], expect={"s3:GetObject", "s3:PutObject", "s3:ListBucket"})


@pytest.mark.slow
def test_the_api_lambda_needs_only_what_its_role_allows(moto_server, monkeypatch, principals, tmp_path):
    import importlib

    from tests.sample_lakes import build_serving_lake

    lake = Path(build_serving_lake(tmp_path / "lake", days=2))  # a short history: the same calls
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="aqicast-lake")
    for path in sorted((lake / "serving").rglob("*.json")):
        s3.put_object(Bucket="aqicast-lake", Key=path.relative_to(lake).as_posix(), Body=path.read_bytes())
    monkeypatch.setenv("AQICAST_BACKEND", "aws")
    monkeypatch.setenv("AQICAST_S3_LAKE", "s3://aqicast-lake")
    with record_calls() as rec:
        import include.serving.lambda_handler as lh

        lh = importlib.reload(lh)
        city = json.loads(lh.handler(event("/v1/cities"), None)["body"])[0]["city"]
        answers = [lh.handler(event(p), None) for p in ("/health", f"/v1/forecast/{city}", f"/v1/forecast/{city}/image")]
    assert [a["statusCode"] for a in answers] == [200, 200, 307]
    assert_least_privilege(rec, principals["aqicast-api"], expect={"s3:GetObject", "s3:PutObject"})


def event(path: str) -> dict:
    """An API Gateway HTTP API (payload 2.0) GET event."""
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "headers": {"host": "abc123.execute-api.us-east-1.amazonaws.com"},
            "requestContext": {"accountId": "123456789012", "apiId": "abc123", "stage": "$default", "requestId": "id",
                               "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "routeKey": "$default",
                               "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9",
                                        "userAgent": "test"}, "time": "01/Dec/2026:19:00:00 +0000",
                               "timeEpoch": 1796151600000},
            "isBase64Encoded": False}
