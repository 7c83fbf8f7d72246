"""The API: the FastAPI app as a Lambda function (``make lambda`` -> ``build/lambda/aqicast-api.zip``,
Python 3.12) behind an HTTP API (API Gateway v2) with its four routes, stage throttling, access logs
and CORS for the web page's CloudFront origin. The function reads the serving snapshot from the lake
and caches share images under ``serving/images/`` (expired by the lake's lifecycle rule)."""
from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from include import catalog
from infra.stacks.common import AWS, LAMBDA_RUNTIME, Context, allow, arn, policy, s3_arn, skip
from infra.stacks.storage import StorageStack
from infra.stacks.web import WebStack

#: The app's GET routes (the page at "/" is on CloudFront); tests/test_infra.py compares them with the app.
ROUTES = ("GET /health", "GET /v1/cities", "GET /v1/forecast/{city}", "GET /v1/forecast/{city}/image",
          "GET /docs", "GET /docs/oauth2-redirect", "GET /redoc", "GET /openapi.json")
ACCESS_LOG_FORMAT = ('{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","route":"$context.routeKey",'
                     '"status":"$context.status","latency":"$context.integrationLatency","time":"$context.requestTime"}')


class ApiStack(cdk.Stack):
    def __init__(self, scope: Construct, id_: str, *, ctx: Context, storage: StorageStack, web: WebStack,
                 lambda_zip: Path, **kw) -> None:
        super().__init__(scope, id_, description="aqicast: the forecast API (Lambda + HTTP API)", **kw)
        lake, key = storage.lake.bucket_name, storage.key.key_arn
        function_name = ctx.name("api")
        log_group = logs.LogGroup(self, "FunctionLogs", log_group_name=f"/aws/lambda/{function_name}",
                                  retention=logs.RetentionDays.THREE_MONTHS, removal_policy=cdk.RemovalPolicy.DESTROY)
        skip(log_group, "CKV_AWS_158")
        self.role = iam.Role(self, "FunctionRole", role_name=ctx.name("api"),
                             assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             description="aqicast API Lambda")
        policy(self, "FunctionPolicy", self.role, [
            allow("ReadSnapshots", ["s3:GetObject"], [s3_arn(lake, "serving/*")]),
            allow("CacheShareImages", ["s3:PutObject"], [s3_arn(lake, f"{catalog.IMAGES}/*")]),
            allow("ListServing", ["s3:ListBucket"], [s3_arn(lake)], StringLike={"s3:prefix": ["serving/*"]}),
            allow("DataKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key]),
            allow("LivePredictions", ["sagemaker:InvokeEndpoint"], [arn("sagemaker", f"endpoint/{AWS.endpoint}")]),
            # The image model and its region are settings (AQICAST_BEDROCK_IMAGE_MODEL, _REGION): any
            # region's foundation models, and the account's cross-region inference profiles.
            allow("ShareImageBackground", ["bedrock:InvokeModel", "bedrock:GetFoundationModel"],
                  [f"arn:{cdk.Aws.PARTITION}:bedrock:*::foundation-model/*",
                   f"arn:{cdk.Aws.PARTITION}:bedrock:*:{cdk.Aws.ACCOUNT_ID}:inference-profile/*"]),
            allow("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                  [arn("logs", f"log-group:/aws/lambda/{function_name}:*")]),
        ])
        self.function = lambda_.Function(
            self, "Function", function_name=function_name, runtime=lambda_.Runtime(LAMBDA_RUNTIME, lambda_.RuntimeFamily.PYTHON),
            architecture=lambda_.Architecture.ARM_64 if ctx.lambda_arch == "arm64" else lambda_.Architecture.X86_64,
            handler="include.serving.lambda_handler.handler", code=lambda_.Code.from_asset(str(lambda_zip)),
            role=self.role, memory_size=1024, timeout=cdk.Duration.seconds(20), reserved_concurrent_executions=20,
            log_group=log_group, description="aqicast forecast API (FastAPI + Mangum)",
            environment={"AQICAST_BACKEND": "aws", "AQICAST_S3_LAKE": f"s3://{lake}",
                         "AQICAST_ENDPOINT": AWS.endpoint, "AQICAST_BEDROCK_IMAGE_MODEL": AWS.bedrock_image_model})
        skip(self.function, "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173")
        # CDK adds DependsOn the role, which the Role GetAtt already enforces (cfn-lint W3005).
        self.function.node.default_child.add_deletion_override("DependsOn")

        site = f"https://{web.distribution.distribution_domain_name}"
        self.api = apigw.CfnApi(self, "HttpApi", name=ctx.name("api"), protocol_type="HTTP",
                                description="aqicast forecast API",
                                cors_configuration=apigw.CfnApi.CorsProperty(
                                    allow_origins=[site], allow_methods=["GET"], allow_headers=["content-type"],
                                    max_age=3600))
        integration = apigw.CfnIntegration(self, "LambdaIntegration", api_id=self.api.ref,
                                           integration_type="AWS_PROXY", integration_uri=self.function.function_arn,
                                           payload_format_version="2.0", timeout_in_millis=20000)
        for i, route in enumerate(ROUTES):
            apigw.CfnRoute(self, f"Route{i}", api_id=self.api.ref, route_key=route, authorization_type="NONE",
                           target=f"integrations/{integration.ref}")
        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.THREE_MONTHS,
                                    removal_policy=cdk.RemovalPolicy.DESTROY)
        skip(access_logs, "CKV_AWS_158")
        self.stage = apigw.CfnStage(self, "DefaultStage", api_id=self.api.ref, stage_name="$default", auto_deploy=True,
                                    default_route_settings=apigw.CfnStage.RouteSettingsProperty(
                                        throttling_burst_limit=ctx.throttle_burst,
                                        throttling_rate_limit=ctx.throttle_rate),
                                    access_log_settings=apigw.CfnStage.AccessLogSettingsProperty(
                                        destination_arn=access_logs.log_group_arn, format=ACCESS_LOG_FORMAT))
        lambda_.CfnPermission(self, "InvokeFromApi", action="lambda:InvokeFunction",
                              function_name=self.function.function_name, principal="apigateway.amazonaws.com",
                              source_arn=arn("execute-api", f"{self.api.ref}/*/*"))
        self.url = self.api.attr_api_endpoint
        cdk.CfnOutput(self, "ApiUrl", value=self.url)
        cdk.CfnOutput(self, "FunctionName", value=self.function.function_name)
