"""The Amazon MWAA environment (Airflow 3.3.1) and its execution role.

The environment runs what ``deploy/mwaa/build.py`` builds, from the MWAA bucket: ``dags/``,
``plugins.zip``, ``requirements.txt`` and ``startup.sh`` at the S3 object versions given as stack
parameters (``deploy/deploy-aws.sh`` uploads them first, then passes the versions). The startup
script exports ``AQICAST_BACKEND=aws`` and the deployment's names (buckets, roles) from the other
stacks' outputs. The environment class, worker counts and web server access are parameters."""
from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_mwaa as mwaa
from constructs import Construct

from include import catalog
from infra.stacks.common import AIRFLOW_VERSION, AWS, SETTINGS, Context, allow, arn, policy, s3_arn
from infra.stacks.data import DataStack, glue_names
from infra.stacks.storage import StorageStack

ENVIRONMENT_CLASSES = ["mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"]


def environment_name(ctx: Context) -> str:
    return ctx.prefix


class MwaaStack(cdk.Stack):
    def __init__(self, scope: Construct, id_: str, *, ctx: Context, storage: StorageStack, data: DataStack,
                 subnet_ids: list[str], security_group_id: str, **kw) -> None:
        super().__init__(scope, id_, description=f"aqicast: Amazon MWAA environment (Airflow {AIRFLOW_VERSION})", **kw)
        env_name = environment_name(ctx)
        names = glue_names(ctx)
        versions = {k: cdk.CfnParameter(self, f"{k}S3ObjectVersion", type="String", min_length=1,
                                        description=f"S3 object version of {path} in the MWAA bucket (deploy-aws.sh)")
                    for k, path in (("Plugins", "plugins.zip"), ("Requirements", "requirements.txt"),
                                    ("StartupScript", "startup.sh"))}
        env_class = cdk.CfnParameter(self, "EnvironmentClass", type="String", default="mw1.small",
                                     allowed_values=ENVIRONMENT_CLASSES, description="MWAA environment class")
        max_workers = cdk.CfnParameter(self, "MaxWorkers", type="Number", default=2, min_value=1, max_value=25)
        access = cdk.CfnParameter(self, "WebserverAccessMode", type="String", default="PUBLIC_ONLY",
                                  allowed_values=["PUBLIC_ONLY", "PRIVATE_ONLY"],
                                  description="Airflow UI over the internet (IAM sign-in) or from the VPC only")

        lake, artifacts, bucket, key = (storage.lake.bucket_name, storage.artifacts.bucket_name,
                                        storage.mwaa.bucket_name, storage.key.key_arn)
        self.role = iam.Role(self, "ExecutionRole", role_name=ctx.name("mwaa"),
                             assumed_by=iam.CompositePrincipal(iam.ServicePrincipal("airflow.amazonaws.com"),
                                                               iam.ServicePrincipal("airflow-env.amazonaws.com")),
                             description="aqicast MWAA execution role: the DAG's tasks run as it")
        group = SETTINGS.model_group
        endpoint = AWS.endpoint
        sm = lambda kind, name: arn("sagemaker", f"{kind}/{name}")  # noqa: E731
        execution_policy = policy(self, "ExecutionPolicy", self.role, [
            # -- what MWAA itself needs (AWS's execution-role policy, with this environment's names)
            allow("PublishMetrics", ["airflow:PublishMetrics"], [arn("airflow", f"environment/{env_name}")]),
            allow("ReadEnvironmentBucket", ["s3:GetObject", "s3:GetObjectVersion"], [s3_arn(bucket, "*")]),
            allow("ListEnvironmentBucket", ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning",
                                            "s3:GetBucketPublicAccessBlock", "s3:GetEncryptionConfiguration"],
                  [s3_arn(bucket)]),
            allow("AccountPublicAccessBlock", ["s3:GetAccountPublicAccessBlock"], ["*"]),
            allow("AirflowLogs", ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents",
                                  "logs:GetLogEvents", "logs:GetLogRecord", "logs:GetLogGroupFields",
                                  "logs:GetQueryResults"],
                  [arn("logs", f"log-group:airflow-{env_name}-*"), arn("logs", f"log-group:airflow-{env_name}-*:log-stream:*")]),
            allow("DescribeLogGroups", ["logs:DescribeLogGroups"], ["*"]),
            allow("AirflowMetrics", ["cloudwatch:PutMetricData"], ["*"], StringEquals={"cloudwatch:namespace": "AmazonMWAA"}),
            allow("CeleryQueue", ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                  "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"],
                  [f"arn:{cdk.Aws.PARTITION}:sqs:{cdk.Aws.REGION}:*:airflow-celery-*"]),
            # -- the DAG's tasks
            allow("DataKey", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [key]),
            allow("LakeReadWrite", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                  [s3_arn(lake, "*")]),
            allow("BucketsList", ["s3:ListBucket", "s3:GetBucketLocation"], [s3_arn(lake), s3_arn(artifacts)]),
            allow("AutopilotAndModels", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                  [s3_arn(artifacts, f"{catalog.ARTIFACTS_AUTOPILOT}/*"), s3_arn(artifacts, f"{catalog.ARTIFACTS_MODELS}/*")]),
            allow("GlueCodeRead", ["s3:GetObject"], [s3_arn(artifacts, f"{catalog.ARTIFACTS_GLUE}/*")]),
            allow("Crawler", ["glue:GetCrawler", "glue:CreateCrawler", "glue:UpdateCrawler", "glue:StartCrawler",
                              "glue:GetCrawlerMetrics", "glue:TagResource"],
                  [arn("glue", f"crawler/{names['crawler']}")]),
            allow("EtlJob", ["glue:GetJob", "glue:CreateJob", "glue:UpdateJob", "glue:StartJobRun", "glue:GetJobRun",
                             "glue:GetJobRuns", "glue:BatchStopJobRun", "glue:TagResource"],
                  [arn("glue", f"job/{names['job']}")]),
            allow("GlueRoleLookup", ["iam:GetRole"], [data.glue_role.role_arn]),
            allow("PassGlueRole", ["iam:PassRole"], [data.glue_role.role_arn],
                  StringEquals={"iam:PassedToService": "glue.amazonaws.com"}),
            allow("PassSageMakerRole", ["iam:PassRole"], [data.sagemaker_role.role_arn],
                  StringEquals={"iam:PassedToService": "sagemaker.amazonaws.com"}),
            allow("AutoML", ["sagemaker:CreateAutoMLJobV2", "sagemaker:DescribeAutoMLJobV2",
                             "sagemaker:DescribeAutoMLJob", "sagemaker:ListCandidatesForAutoMLJob",
                             "sagemaker:StopAutoMLJob", "sagemaker:AddTags"],
                  [sm("automl-job", f"{ctx.prefix}-*")]),
            allow("Registry", ["sagemaker:DescribeModelPackageGroup", "sagemaker:CreateModelPackageGroup",
                               "sagemaker:ListModelPackages", "sagemaker:CreateModelPackage",
                               "sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage", "sagemaker:AddTags"],
                  [sm("model-package-group", group), sm("model-package", f"{group}/*")]),
            allow("RegistryList", ["sagemaker:ListModelPackages"], ["*"]),  # no resource-level permissions
            allow("Endpoint", ["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:CreateEndpointConfig",
                               "sagemaker:DescribeEndpointConfig", "sagemaker:CreateEndpoint",
                               "sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint",
                               "sagemaker:AddTags"],
                  [sm("model", f"{ctx.prefix}-*"), sm("endpoint-config", f"{endpoint}-*"), sm("endpoint", endpoint)]),
        ])
        logging = {k: mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty(enabled=True, log_level="INFO")
                   for k in ("dag_processing_logs", "scheduler_logs", "task_logs", "webserver_logs", "worker_logs")}
        self.airflow = mwaa.CfnEnvironment(
            self, "Environment", name=env_name, airflow_version=AIRFLOW_VERSION,
            environment_class=env_class.value_as_string, max_workers=max_workers.value_as_number, min_workers=1,
            execution_role_arn=self.role.role_arn, source_bucket_arn=storage.mwaa.bucket_arn,
            dag_s3_path="dags", plugins_s3_path="plugins.zip", requirements_s3_path="requirements.txt",
            startup_script_s3_path="startup.sh",
            plugins_s3_object_version=versions["Plugins"].value_as_string,
            requirements_s3_object_version=versions["Requirements"].value_as_string,
            startup_script_s3_object_version=versions["StartupScript"].value_as_string,
            webserver_access_mode=access.value_as_string,
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                subnet_ids=subnet_ids, security_group_ids=[security_group_id]),
            logging_configuration=mwaa.CfnEnvironment.LoggingConfigurationProperty(**logging),
            airflow_configuration_options={"core.default_timezone": "utc"},
            weekly_maintenance_window_start="SUN:03:00",
        )
        self.airflow.node.add_dependency(execution_policy)  # the role can act when MWAA starts
        cdk.CfnOutput(self, "EnvironmentName", value=env_name)
        cdk.CfnOutput(self, "ExecutionRoleArn", value=self.role.role_arn)
        cdk.CfnOutput(self, "WebserverUrl", value=self.airflow.attr_webserver_url)
