"""The AWS infrastructure (infra/, CDK v2 in Python), checked offline on its synthesised templates:
what each stack creates, IAM policies with listed actions and resource ARNs only, cfn-lint and
checkov clean (every checkov suppression carries its README reason), and a deploy of the templates'
moto-supported resources into moto's CloudFormation."""
from __future__ import annotations

import json
import re
import subprocess

import boto3
import pytest
from moto import mock_aws

from include import catalog
from infra import policies
from tests.aws_calls import NO_RESOURCE
from tests.infra_synth import ROOT, infra_bin, synth

PREFIX = "aqicast"
STACKS = [f"{PREFIX}-{p}" for p in ("storage", "network", "data", "web", "api", "mwaa", "monitoring")]
#: Actions AWS defines without resource-level permissions: the only ones a statement may give on "*".
STAR_OK = NO_RESOURCE | {"cloudwatch:PutMetricData", "ecr:GetAuthorizationToken", "logs:DescribeLogGroups",
                         "s3:GetAccountPublicAccessBlock"}


@pytest.fixture(scope="module")
def cdk_out():
    return synth()


@pytest.fixture(scope="module")
def templates(cdk_out):
    return policies.load_templates(cdk_out)


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def one(template: dict, kind: str) -> dict:
    (res,) = resources(template, kind).values()
    return res["Properties"]


def test_the_app_has_its_stacks_and_no_account_id(templates, cdk_out):
    assert sorted(templates) == sorted(STACKS)
    text = "".join((cdk_out / f"{s}.template.json").read_text() for s in STACKS)
    assert not re.search(r"\b\d{12}\b", text), "an account id is written in a template"


def test_buckets_encrypted_versioned_private_tls_only_with_lifecycle_from_the_catalog(templates):
    storage = templates[f"{PREFIX}-storage"]
    buckets = resources(storage, "AWS::S3::Bucket") | resources(templates[f"{PREFIX}-web"], "AWS::S3::Bucket")
    assert len(buckets) == 5
    deny_http = {}
    for t in (storage, templates[f"{PREFIX}-web"]):
        for pol in resources(t, "AWS::S3::BucketPolicy").values():
            for st in pol["Properties"]["PolicyDocument"]["Statement"]:
                if st["Effect"] == "Deny" and st.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                    deny_http[pol["Properties"]["Bucket"]["Ref"]] = st["Action"]
    for logical, b in buckets.items():
        p = b["Properties"]
        assert p["VersioningConfiguration"] == {"Status": "Enabled"}, logical
        assert p["PublicAccessBlockConfiguration"] == {k: True for k in (
            "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")}, logical
        sse = p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
        assert sse["SSEAlgorithm"] in ("aws:kms", "AES256"), logical
        assert deny_http.get(logical) == "s3:*", f"{logical} accepts plain HTTP"
    kms = [b for b in buckets.values() if "KMSMasterKeyID" in
           b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]]
    assert len(kms) == 3  # lake, artifacts, MWAA

    def rules(logical_prefix: str) -> dict[str, dict]:
        (bucket,) = [b for k, b in resources(storage, "AWS::S3::Bucket").items() if k.startswith(logical_prefix)]
        return {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    lake, artifacts = rules("Lake"), rules("Artifacts")
    assert lake["quarantine"]["Prefix"] == f"{catalog.QUARANTINE}/" and lake["quarantine"]["ExpirationInDays"] == 90
    assert lake["share-images"]["Prefix"] == f"{catalog.IMAGES}/"
    assert artifacts["autopilot-scratch"]["Prefix"] == f"{catalog.ARTIFACTS_AUTOPILOT}/"
    mwaa_bucket = [b for k, b in resources(storage, "AWS::S3::Bucket").items() if k.startswith("Mwaa")][0]
    assert json.dumps(mwaa_bucket["Properties"]["BucketName"]).startswith('{"Fn::Join": ["", ["airflow-')


def test_mwaa_environment_runs_the_build_on_airflow_3_3_1(templates):
    t = templates[f"{PREFIX}-mwaa"]
    env = one(t, "AWS::MWAA::Environment")
    assert env["AirflowVersion"] == "3.3.1"
    for key, param in (("PluginsS3ObjectVersion", "PluginsS3ObjectVersion"),
                       ("RequirementsS3ObjectVersion", "RequirementsS3ObjectVersion"),
                       ("StartupScriptS3ObjectVersion", "StartupScriptS3ObjectVersion")):
        assert env[key] == {"Ref": param} and "Default" not in t["Parameters"][param]
    assert env["EnvironmentClass"] == {"Ref": "EnvironmentClass"}
    assert "mw1.small" in t["Parameters"]["EnvironmentClass"]["AllowedValues"]
    assert (env["DagS3Path"], env["PluginsS3Path"], env["RequirementsS3Path"], env["StartupScriptS3Path"]) == (
        "dags", "plugins.zip", "requirements.txt", "startup.sh")
    assert len(env["NetworkConfiguration"]["SubnetIds"]) == 2
    startup = (ROOT / "deploy" / "mwaa" / "startup.sh").read_text()
    assert "export AQICAST_BACKEND=aws" in startup


def test_the_api_serves_the_apps_routes_with_throttling_and_cors_for_the_page(templates):
    from include.serving.app import create_app
    from include.serving.service import ForecastService
    from include.serving.store import LocalStore

    t = templates[f"{PREFIX}-api"]
    fn = one(t, "AWS::Lambda::Function")
    assert fn["Runtime"] == "python3.12" and fn["Handler"] == "include.serving.lambda_handler.handler"
    assert fn["Environment"]["Variables"]["AQICAST_BACKEND"] == "aws"
    app_routes = {f"GET {r.path}" for r in create_app(ForecastService(LocalStore(ROOT))).routes
                  if "GET" in getattr(r, "methods", ()) and r.path != "/"}
    assert {r["Properties"]["RouteKey"] for r in resources(t, "AWS::ApiGatewayV2::Route").values()} == app_routes
    stage = one(t, "AWS::ApiGatewayV2::Stage")
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0 and stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    cors = one(t, "AWS::ApiGatewayV2::Api")["CorsConfiguration"]
    assert cors["AllowMethods"] == ["GET"] and "ImportValue" in json.dumps(cors["AllowOrigins"])  # the distribution


def test_alarms_go_to_the_topic_and_everything_is_tagged(templates):
    t = templates[f"{PREFIX}-monitoring"]
    alarms = {a["Properties"]["MetricName"]: a["Properties"] for a in resources(t, "AWS::CloudWatch::Alarm").values()}
    assert {"DAGDurationFailed", "Errors", "Throttles", "5xx", "Invocation5XXErrors", "Invocation4XXErrors"} <= set(alarms)
    (topic,) = resources(t, "AWS::SNS::Topic")
    assert all(a["AlarmActions"] == [{"Ref": topic}] for a in alarms.values())
    assert alarms["DAGDurationFailed"]["Namespace"] == "AmazonMWAA"
    for name, tmpl in templates.items():
        for logical, res in tmpl["Resources"].items():
            tags = res.get("Properties", {}).get("Tags")
            if isinstance(tags, list):
                assert {"Key": "project", "Value": "aqicast"} in tags, (name, logical)


def test_every_policy_lists_its_actions_and_resource_arns(templates):
    """No ``*`` action (nor ``service:*``), no NotAction/NotResource, no managed policy; Resource
    ``*`` only for actions AWS defines without resource-level permissions (key policies: ``*`` is
    the key itself); every Allow on a resource names ARNs."""
    resolver = policies.Resolver(templates)
    seen = 0
    for stack, logical, kind, doc in policies.policy_documents(templates):
        for st in doc["Statement"]:
            seen += 1
            where = f"{stack}/{logical} {st.get('Sid', '')}"
            assert "NotAction" not in st and "NotResource" not in st, where
            if st["Effect"] != "Allow":
                continue
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            assert all(a != "*" and not a.endswith(":*") for a in actions), where
            if kind == "trust":
                assert set(st["Principal"]) == {"Service"}, where
                continue
            res = resolver.resolve(stack, st["Resource"])
            res = res if isinstance(res, list) else [res]
            if kind == "key":
                assert res == ["*"], where
                continue
            for r in res:
                assert r.startswith("arn:aws:") or (r == "*" and set(actions) <= STAR_OK), (where, r, actions)
    assert seen > 40
    for t in templates.values():
        for role in resources(t, "AWS::IAM::Role").values():
            assert not role["Properties"].get("ManagedPolicyArns")


def test_cfn_lint_is_clean(cdk_out):
    files = [str(cdk_out / f"{s}.template.json") for s in STACKS]
    out = subprocess.run([str(infra_bin("cfn-lint")), *files], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_checkov_passes_and_every_suppression_has_its_readme_reason(cdk_out, templates):
    from infra.suppressions import SUPPRESSIONS

    files = [a for s in STACKS for a in ("-f", str(cdk_out / f"{s}.template.json"))]
    out = subprocess.run([str(infra_bin("checkov")), *files, "--framework", "cloudformation", "-o", "json",
                          "--skip-download"], capture_output=True, text=True)
    reports = json.loads(out.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [(c["check_id"], c["resource"], c["file_path"]) for r in reports for c in r["results"]["failed_checks"]]
    assert not failed, failed
    skipped = [c for r in reports for c in r["results"]["skipped_checks"]]
    assert skipped and sum(r["summary"]["passed"] for r in reports) > 100
    readme = (ROOT / "README.md").read_text()
    for c in skipped:
        assert c["check_result"]["suppress_comment"] == SUPPRESSIONS[c["check_id"]], c["check_id"]
    for check_id, reason in SUPPRESSIONS.items():
        assert f"| {check_id} | {reason} |" in readme, f"README does not list {check_id}"


def moto_template(template: dict) -> dict:
    """The template with only the resources moto's CloudFormation models (and none that refers to a
    dropped one), without CDK's bootstrap-version parameter and rule."""
    from moto.cloudformation.parsing import get_model_map

    supported = set(get_model_map())
    res = dict(template["Resources"])
    keep = {k for k, v in res.items() if v["Type"] in supported}
    while True:
        dropped = set(res) - keep
        bad = {k for k in keep if any(f'"{d}"' in json.dumps(res[k]) for d in dropped)}
        if not bad:
            break
        keep -= bad
    out = {"Resources": {k: json.loads(json.dumps(res[k])) for k in keep}}
    for k in keep:
        r = out["Resources"][k]
        r.pop("Metadata", None)
        if r["Type"] == "AWS::KMS::Key":  # moto reads a key's tags in KMS's API shape (TagKey/TagValue)
            r["Properties"]["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in r["Properties"].get("Tags", [])]
    dropped = set(res) - keep
    out["Outputs"] = {k: o for k, o in template.get("Outputs", {}).items()
                      if not any(f'"{d}"' in json.dumps(o) for d in dropped)}
    out["Parameters"] = {k: p for k, p in template.get("Parameters", {}).items() if k != "BootstrapVersion"}
    return out


@mock_aws
def test_moto_deploys_the_supported_resources(templates):
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    for name in (f"{PREFIX}-storage", f"{PREFIX}-data", f"{PREFIX}-monitoring"):
        body = moto_template(templates[name])
        cfn.create_stack(StackName=name, TemplateBody=json.dumps(body), Capabilities=["CAPABILITY_NAMED_IAM"])
        assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    buckets = {b["Name"] for b in boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"]}
    assert {f"aqicast-lake-123456789012-us-east-1", "aqicast-artifacts-123456789012-us-east-1",
            "airflow-aqicast-123456789012-us-east-1", "aqicast-logs-123456789012-us-east-1"} <= buckets
    s3 = boto3.client("s3", region_name="us-east-1")
    # moto applies a bucket's encryption and tags from the template (not its versioning or lifecycle)
    sse = s3.get_bucket_encryption(Bucket="aqicast-lake-123456789012-us-east-1")["ServerSideEncryptionConfiguration"]
    assert sse["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    tags = s3.get_bucket_tagging(Bucket="aqicast-lake-123456789012-us-east-1")["TagSet"]
    assert {"Key": "project", "Value": "aqicast"} in tags
    iam = boto3.client("iam")
    for role in ("aqicast-glue", "aqicast-sagemaker"):
        inline = iam.list_role_policies(RoleName=role)["PolicyNames"]
        assert inline, role
        doc = iam.get_role_policy(RoleName=role, PolicyName=inline[0])["PolicyDocument"]
        assert all(st["Resource"] for st in doc["Statement"])
    assert boto3.client("sns", region_name="us-east-1").list_topics()["Topics"]


def test_the_readme_iam_table_is_the_synthesised_policies(cdk_out):
    """README "Deploy to AWS" shows every role's statements as the templates have them (generated by
    scripts/iam_table.py); a policy change without regenerating it fails here."""
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "iam_table.py"), "--cdk-out", str(cdk_out),
                          "--check", str(ROOT / "README.md")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    readme = (ROOT / "README.md").read_text()
    for role in ("aqicast-mwaa", "aqicast-glue", "aqicast-sagemaker", "aqicast-api"):
        assert f"| {role} |" in readme
