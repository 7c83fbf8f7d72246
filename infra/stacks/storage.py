"""The buckets: the lake, the artifacts (Glue code, Autopilot scratch, models), the MWAA environment's
bucket (dags/, plugins.zip, requirements.txt, startup.sh) and the access-log bucket they log to.

All: a customer managed KMS key with rotation (the log bucket: SSE-S3, which S3 log delivery needs),
versioning, public access blocked, TLS-only bucket policies (``aws:SecureTransport``), old versions
and incomplete uploads expired. The lifecycle prefixes come from ``include/catalog.py``."""
from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from include import catalog
from infra.stacks.common import Context, key_policy, skip


class StorageStack(cdk.Stack):
    def __init__(self, scope: Construct, id_: str, *, ctx: Context, **kw) -> None:
        super().__init__(scope, id_, description="aqicast: lake, artifacts and MWAA buckets", **kw)
        self.key = kms.Key(self, "DataKey", alias=f"alias/{ctx.prefix}-data", enable_key_rotation=True, policy=key_policy(),
                           description="aqicast buckets (lake, artifacts, MWAA)",
                           removal_policy=cdk.RemovalPolicy.RETAIN)
        common = dict(block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True, versioned=True,
                      object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                      removal_policy=cdk.RemovalPolicy.RETAIN)
        housekeeping = s3.LifecycleRule(id="old-versions-and-uploads", abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                                        noncurrent_version_expiration=cdk.Duration.days(30))
        self.logs = s3.Bucket(self, "AccessLogs", encryption=s3.BucketEncryption.S3_MANAGED,
                              bucket_name=f"{ctx.prefix}-logs-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}",
                              lifecycle_rules=[housekeeping, s3.LifecycleRule(id="logs", expiration=cdk.Duration.days(ctx.log_days))],
                              **common)
        skip(self.logs, "CKV_AWS_18")

        def bucket(logical: str, name: str, rules: list[s3.LifecycleRule]) -> s3.Bucket:
            return s3.Bucket(self, logical, bucket_name=name, encryption=s3.BucketEncryption.KMS,
                             encryption_key=self.key, bucket_key_enabled=True, server_access_logs_bucket=self.logs,
                             server_access_logs_prefix=f"{logical.lower()}/", lifecycle_rules=[housekeeping, *rules],
                             **common)

        self.lake = bucket("Lake", f"{ctx.prefix}-lake-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}", [
            s3.LifecycleRule(id="quarantine", prefix=f"{catalog.QUARANTINE}/", expiration=cdk.Duration.days(ctx.quarantine_days)),
            s3.LifecycleRule(id="share-images", prefix=f"{catalog.IMAGES}/", expiration=cdk.Duration.days(ctx.images_days)),
        ])
        self.artifacts = bucket("Artifacts", f"{ctx.prefix}-artifacts-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}", [
            s3.LifecycleRule(id="autopilot-scratch", prefix=f"{catalog.ARTIFACTS_AUTOPILOT}/",
                             expiration=cdk.Duration.days(ctx.autopilot_days)),
        ])
        # MWAA requires its bucket's name to start with "airflow-".
        self.mwaa = bucket("Mwaa", f"airflow-{ctx.prefix}-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}", [])
        for name, b in (("LakeBucket", self.lake), ("ArtifactsBucket", self.artifacts), ("MwaaBucket", self.mwaa),
                        ("LogsBucket", self.logs)):
            cdk.CfnOutput(self, name, value=b.bucket_name)
        cdk.CfnOutput(self, "DataKeyArn", value=self.key.key_arn)
