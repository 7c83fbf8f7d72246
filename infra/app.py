"""The aqicast AWS deployment as a CDK v2 app (Python). ``make synth`` writes ``cdk.out/``;
``make deploy`` deploys it with the pinned CDK CLI (``infra/package.json``), see README "Deploy to AWS".

    .venv-infra/bin/python infra/app.py [-c name=value ...]   # synthesise into cdk.out (or $CDK_OUTDIR)

Stacks (names ``<prefix>-<part>``, prefix ``aqicast``): storage, network (unless an existing VPC is
given), data (Glue + SageMaker), web, api, mwaa, monitoring. No account id is written anywhere: the
stacks are environment-agnostic and take the account and region they are deployed to."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk  # noqa: E402

from infra.stacks.api import ApiStack  # noqa: E402
from infra.stacks.common import Context  # noqa: E402
from infra.stacks.data import DataStack  # noqa: E402
from infra.stacks.monitoring import MonitoringStack  # noqa: E402
from infra.stacks.mwaa import MwaaStack, environment_name  # noqa: E402
from infra.stacks.network import NetworkStack  # noqa: E402
from infra.stacks.storage import StorageStack  # noqa: E402
from infra.stacks.web import WebStack  # noqa: E402

#: The order ``make deploy`` deploys them in (mwaa last: it needs the uploaded S3 object versions).
PARTS = ("storage", "network", "data", "web", "api", "mwaa", "monitoring")


def build(app: cdk.App) -> dict[str, cdk.Stack]:
    ctx = Context.of(app)
    lambda_zip = Path(ctx.lambda_zip)
    lambda_zip = lambda_zip if lambda_zip.is_absolute() else ROOT / lambda_zip
    if not lambda_zip.exists():
        raise SystemExit(f"{lambda_zip} is missing: build it with `make lambda` (or pass -c lambda_zip=...)")
    stacks: dict[str, cdk.Stack] = {}
    storage = stacks["storage"] = StorageStack(app, ctx.name("storage"), ctx=ctx)
    if ctx.vpc_id:
        if len(ctx.subnet_ids) != 2 or not ctx.security_group_id:
            raise SystemExit("an existing VPC needs -c subnet_ids=<two private subnets> -c security_group_id=sg-...")
        subnets, security_group = list(ctx.subnet_ids), ctx.security_group_id
    else:
        network = stacks["network"] = NetworkStack(app, ctx.name("network"), ctx=ctx)
        subnets, security_group = network.private_subnet_ids, network.security_group.security_group_id
    data = stacks["data"] = DataStack(app, ctx.name("data"), ctx=ctx, storage=storage)
    web = stacks["web"] = WebStack(app, ctx.name("web"), ctx=ctx, storage=storage)
    api = stacks["api"] = ApiStack(app, ctx.name("api"), ctx=ctx, storage=storage, web=web, lambda_zip=lambda_zip)
    stacks["mwaa"] = MwaaStack(app, ctx.name("mwaa"), ctx=ctx, storage=storage, data=data,
                               subnet_ids=subnets, security_group_id=security_group)
    stacks["monitoring"] = MonitoringStack(app, ctx.name("monitoring"), ctx=ctx, api=api,
                                           environment_name=environment_name(ctx))
    tags = cdk.Tags.of(app)
    tags.add("project", "aqicast")
    tags.add("cost-center", str(app.node.try_get_context("cost_center") or "aqicast"))
    tags.add("environment", str(app.node.try_get_context("stage") or "prod"))
    tags.add("managed-by", "cdk")
    return stacks


def context(argv: list[str]) -> dict:
    """``infra/cdk.json``'s context, with ``-c name=value`` from the command line on top (the CDK CLI
    passes its own through ``CDK_CONTEXT_JSON``, which cdk.App reads)."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description="synthesise the aqicast stacks")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("-o", "--output", help="cloud assembly folder (default $CDK_OUTDIR or cdk.out)")
    args = parser.parse_args(argv)
    values = json.loads((ROOT / "infra" / "cdk.json").read_text())["context"]
    values.update(dict(item.split("=", 1) for item in args.context))
    if args.output:
        os.environ["CDK_OUTDIR"] = args.output
    os.environ.setdefault("CDK_OUTDIR", str(ROOT / "cdk.out"))
    return values


def main(argv: list[str] | None = None) -> cdk.App:
    # Under the CDK CLI (CDK_CONTEXT_JSON set) its -c values win over these defaults (cdk.App's rule).
    extra = context([] if "CDK_CONTEXT_JSON" in os.environ else (sys.argv[1:] if argv is None else argv))
    app = cdk.App(context=extra, outdir=os.environ.get("CDK_OUTDIR") or str(ROOT / "cdk.out"))
    build(app)
    assembly = app.synth()
    print(f"synthesised {', '.join(s.stack_name for s in assembly.stacks)} into {assembly.directory}")
    return app


if __name__ == "__main__":
    main()
