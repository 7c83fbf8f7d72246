"""Glue and SageMaker: the Glue role (the ETL job and the crawler run as it), the Glue database the
crawler catalogues into, the SageMaker execution role (Autopilot's jobs and the serverless
endpoint's model) and the model package group of the registry.

The Glue job and the crawler themselves are *not* created here: the DAG upserts both on every run
(``aws_ingest`` in ``dags/aqicast_daily.py``: the crawler's targets are the day's objects, the job's
definition is ``include/glue_job.glue_job_kwargs`` next to the script it runs), so their definition
lives in one place, in the code that is tested with them. This stack grants exactly those names."""
from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from include import catalog
from infra.stacks.common import AWS, RAW_BUCKETS, SETTINGS, Context, allow, arn, policy, s3_arn
from infra.stacks.storage import StorageStack

KMS_DATA = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]


def glue_names(ctx: Context) -> dict[str, str]:
    """The names the DAG gives the Glue job, the crawler and the database (the defaults of
    ``include/config.AwsSettings`` when the prefix is ``aqicast``)."""
    same = ctx.prefix == "aqicast"
    return {"job": AWS.glue_job if same else ctx.name("etl"), "crawler": AWS.crawler if same else ctx.name("raw-daily"),
            "database": AWS.glue_database if same else f"{ctx.prefix}_raw"}


class DataStack(cdk.Stack):
    def __init__(self, scope: Construct, id_: str, *, ctx: Context, storage: StorageStack, **kw) -> None:
        super().__init__(scope, id_, description="aqicast: Glue role and database, SageMaker role and model registry", **kw)
        names = glue_names(ctx)
        lake, artifacts, key = storage.lake.bucket_name, storage.artifacts.bucket_name, storage.key.key_arn
        self.database = glue.CfnDatabase(self, "RawDatabase", catalog_id=cdk.Aws.ACCOUNT_ID,
                                         database_input=glue.CfnDatabase.DatabaseInputProperty(
                                             name=names["database"], description="aqicast raw sources (crawler)"))

        # -- the Glue role: the ETL job and the crawler ------------------------------------------------
        self.glue_role = iam.Role(self, "GlueRole", role_name=ctx.name("glue"),
                                  assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
                                  description="aqicast Glue ETL job and crawler")
        raw = [s3_arn(b) for b in RAW_BUCKETS]
        policy(self, "GluePolicy", self.glue_role, [
            allow("ReadRawSources", ["s3:GetObject"], [s3_arn(b, "*") for b in RAW_BUCKETS]),
            allow("ListRawSources", ["s3:ListBucket"], raw),
            allow("LakeReadWrite", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                  [s3_arn(lake, "*")]),
            allow("LakeList", ["s3:ListBucket", "s3:GetBucketLocation"], [s3_arn(lake), s3_arn(artifacts)]),
            allow("GlueCode", ["s3:GetObject"], [s3_arn(artifacts, f"{catalog.ARTIFACTS_GLUE}/*")]),
            allow("GlueTemp", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                  [s3_arn(artifacts, f"{catalog.ARTIFACTS_GLUE}/tmp/*")]),
            allow("DataKey", KMS_DATA, [key]),
            allow("CrawlerCatalog", ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable",
                                     "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions",
                                     "glue:BatchGetPartition", "glue:BatchCreatePartition", "glue:UpdatePartition",
                                     "glue:BatchUpdatePartition"],
                  [arn("glue", "catalog"), arn("glue", f"database/{names['database']}"),
                   arn("glue", f"table/{names['database']}/*")]),
            allow("GlueLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                  [arn("logs", "log-group:/aws-glue/*"), arn("logs", "log-group:/aws-glue/*:log-stream:*")]),
            allow("GlueMetrics", ["cloudwatch:PutMetricData"], ["*"], StringEquals={"cloudwatch:namespace": "Glue"}),
        ])

        # -- the SageMaker role: Autopilot's jobs and the endpoint's model --------------------------------
        self.sagemaker_role = iam.Role(self, "SageMakerRole", role_name=ctx.name("sagemaker"),
                                       assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                                       description="aqicast Autopilot jobs and the serverless endpoint's model")
        jobs = [arn("sagemaker", f"{kind}/*") for kind in ("training-job", "processing-job", "transform-job")]
        policy(self, "SageMakerPolicy", self.sagemaker_role, [
            allow("AutopilotData", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                  [s3_arn(artifacts, f"{catalog.ARTIFACTS_AUTOPILOT}/*")]),
            allow("ModelArtifacts", ["s3:GetObject"], [s3_arn(artifacts, f"{catalog.ARTIFACTS_MODELS}/*")]),
            allow("ArtifactsList", ["s3:ListBucket", "s3:GetBucketLocation"], [s3_arn(artifacts)]),
            allow("DataKey", KMS_DATA, [key]),
            allow("AutopilotJobs", ["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob",
                                    "sagemaker:CreateTransformJob", "sagemaker:DescribeTrainingJob",
                                    "sagemaker:DescribeProcessingJob", "sagemaker:DescribeTransformJob",
                                    "sagemaker:StopTrainingJob", "sagemaker:StopProcessingJob",
                                    "sagemaker:StopTransformJob", "sagemaker:AddTags"], jobs),
            allow("PassItself", ["iam:PassRole"], [self.sagemaker_role.role_arn],
                  StringEquals={"iam:PassedToService": "sagemaker.amazonaws.com"}),
            allow("PullImages", ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                  [f"arn:{cdk.Aws.PARTITION}:ecr:{cdk.Aws.REGION}:*:repository/*"]),
            allow("EcrToken", ["ecr:GetAuthorizationToken"], ["*"]),
            allow("SageMakerLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                                    "logs:DescribeLogStreams"],
                  [arn("logs", "log-group:/aws/sagemaker/*"), arn("logs", "log-group:/aws/sagemaker/*:log-stream:*")]),
            allow("SageMakerMetrics", ["cloudwatch:PutMetricData"], ["*"],
                  StringLike={"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}),
        ])
        self.model_group = sagemaker.CfnModelPackageGroup(
            self, "ModelPackageGroup", model_package_group_name=SETTINGS.model_group,
            model_package_group_description="aqicast next-day AQI per city")
        for name, value in (("GlueRoleName", self.glue_role.role_name), ("GlueRoleArn", self.glue_role.role_arn),
                            ("SageMakerRoleArn", self.sagemaker_role.role_arn),
                            ("GlueDatabaseName", names["database"]), ("GlueJob", names["job"]),
                            ("Crawler", names["crawler"]), ("ModelPackageGroupName", SETTINGS.model_group)):
            cdk.CfnOutput(self, name, value=value)
