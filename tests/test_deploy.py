"""``make deploy``'s script in dry-run mode: without AWS credentials it prints every command (the
stacks, in order, the uploads to the MWAA and artifacts buckets, the MWAA stack's object-version
parameters, the web page) and changes nothing; and the stack outputs become the startup script's
settings."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def dry_run(tmp_path, **env) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.update({"HOME": str(tmp_path), "DRY_RUN": "1", "PYTHON": sys.executable, "PATH": "/usr/bin:/bin",
                  "OUTPUTS": str(tmp_path / "cdk-outputs.json"), **env})
    out = subprocess.run(["bash", str(ROOT / "deploy" / "deploy-aws.sh")], env=clean, cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert out.returncode == 0, out.stdout
    return out.stdout


def test_dry_run_lists_stacks_uploads_and_parameters_without_credentials(tmp_path):
    before = sorted(p.name for p in ROOT.iterdir())
    text = dry_run(tmp_path)
    cdk = [line for line in text.splitlines() if line.startswith("+ ") and "/cdk " in line]
    assert len(cdk) == 2
    first, mwaa = cdk
    order = ["aqicast-storage", "aqicast-network", "aqicast-data", "aqicast-web", "aqicast-api", "aqicast-monitoring"]
    assert first.split(" deploy ", 1)[1].split(" --")[0].split() == order
    assert " deploy aqicast-mwaa " in mwaa
    for param in ("PluginsS3ObjectVersion=<version of plugins.zip>", "RequirementsS3ObjectVersion=<version of requirements.txt>",
                  "StartupScriptS3ObjectVersion=<version of startup.sh>", "EnvironmentClass=mw1.small"):
        assert f"aqicast-mwaa:{param}" in mwaa
    assert "aws s3 sync dist/mwaa/dags s3://<aqicast-storage.MwaaBucket>/dags/ --delete" in text
    for key in ("plugins.zip", "requirements.txt", "startup.sh"):
        assert f"aws s3api put-object --bucket <aqicast-storage.MwaaBucket> --key {key} --body dist/mwaa/{key}" in text
    assert "aws s3 cp dist/glue/glue_job.py s3://<aqicast-storage.ArtifactsBucket>/glue/glue_job.py" in text
    assert "export AQICAST_S3_LAKE='s3://<aqicast-storage.LakeBucket>'" in text
    assert "aws s3 cp dist/web/index.html s3://<aqicast-web.SiteBucket>/index.html" in text
    assert "create-invalidation --distribution-id <aqicast-web.DistributionId>" in text
    assert sorted(p.name for p in ROOT.iterdir()) == before and not list(tmp_path.glob("cdk-outputs*"))


def test_an_existing_vpc_skips_the_network_stack(tmp_path):
    text = dry_run(tmp_path, CDK_CONTEXT="-c vpc_id=vpc-1 -c subnet_ids=subnet-a,subnet-b -c security_group_id=sg-1")
    assert "aqicast-network" not in text and "-c vpc_id=vpc-1" in text


def test_stack_outputs_become_the_startup_settings(tmp_path):
    outputs = {"aqicast-storage": {"LakeBucket": "aqicast-lake-1-eu", "ArtifactsBucket": "aqicast-artifacts-1-eu"},
               "aqicast-data": {"GlueRoleName": "aqicast-glue", "SageMakerRoleArn": "arn:aws:iam::1:role/aqicast-sagemaker",
                                "GlueDatabaseName": "aqicast_raw", "GlueJob": "aqicast-etl", "Crawler": "aqicast-raw-daily",
                                "ModelPackageGroupName": "aqicast-next-day-aqi"}}
    (tmp_path / "o.json").write_text(json.dumps(outputs))
    lines = subprocess.run([sys.executable, str(ROOT / "deploy" / "outputs.py"), "--file", str(tmp_path / "o.json"), "env"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    env = dict(line.removeprefix("export ").split("=", 1) for line in lines)
    from include import config

    settings = config.load({k: v.strip("'") for k, v in env.items()}, backend="aws")
    assert settings.lake_root == "s3://aqicast-lake-1-eu" and settings.aws.artifacts == "s3://aqicast-artifacts-1-eu"
    assert settings.aws.sagemaker_role_arn == "arn:aws:iam::1:role/aqicast-sagemaker"
    assert settings.model_group == "aqicast-next-day-aqi" and settings.aws.glue_role == "aqicast-glue"
