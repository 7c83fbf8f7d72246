"""The CDK stack outputs (``cdk deploy --outputs-file cdk-outputs.json``) as what the upload step
needs: one value, or the ``export AQICAST_...`` lines the MWAA startup script gets.

    python deploy/outputs.py [--file cdk-outputs.json] [--prefix aqicast] get storage.MwaaBucket
    python deploy/outputs.py [--file cdk-outputs.json] [--prefix aqicast] env

Without the file (a dry run before anything is deployed) each value is a placeholder
``<aqicast-storage.MwaaBucket>``, so the printed commands still show where every name comes from."""
from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

#: Settings (``AQICAST_<NAME>``) the deployment sets from the stacks, and the output each comes from.
ENV = {
    "AQICAST_S3_LAKE": ("storage.LakeBucket", "s3://{}"),
    "AQICAST_ARTIFACTS": ("storage.ArtifactsBucket", "s3://{}"),
    "AQICAST_GLUE_ROLE": ("data.GlueRoleName", "{}"),
    "AQICAST_SAGEMAKER_ROLE_ARN": ("data.SageMakerRoleArn", "{}"),
    "AQICAST_GLUE_DATABASE": ("data.GlueDatabaseName", "{}"),
    "AQICAST_GLUE_JOB": ("data.GlueJob", "{}"),
    "AQICAST_CRAWLER": ("data.Crawler", "{}"),
    "AQICAST_MODEL_GROUP": ("data.ModelPackageGroupName", "{}"),
}


def value(outputs: dict | None, prefix: str, ref: str) -> str:
    part, _, key = ref.partition(".")
    stack = f"{prefix}-{part}"
    if outputs is None:
        return f"<{stack}.{key}>"
    try:
        return outputs[stack][key]
    except KeyError:
        raise SystemExit(f"no output {key} of stack {stack} in the outputs file (deploy that stack first)") from None


def env_lines(outputs: dict | None, prefix: str) -> list[str]:
    return [f"export {name}={shlex.quote(fmt.format(value(outputs, prefix, ref)))}" for name, (ref, fmt) in ENV.items()]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--file", default="cdk-outputs.json")
    p.add_argument("--prefix", default="aqicast")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("get").add_argument("ref", help="<stack part>.<output>, e.g. storage.MwaaBucket")
    sub.add_parser("env")
    args = p.parse_args(argv)
    path = Path(args.file)
    outputs = json.loads(path.read_text()) if path.exists() else None
    if args.cmd == "get":
        print(value(outputs, args.prefix, args.ref))
    else:
        print("\n".join(env_lines(outputs, args.prefix)))


if __name__ == "__main__":
    main()
