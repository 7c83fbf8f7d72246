"""Alarms a small team needs, to one SNS topic (an e-mail subscription with ``-c alarm_email=...``):
a failed run of the daily DAG (MWAA's ``DAGDurationFailed``), API Lambda errors and throttles, API
5xx answers, and SageMaker endpoint 5xx/4xx invocation errors."""
from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

from infra.stacks.api import ApiStack
from infra.stacks.common import AWS, Context, key_policy

DAG_ID = "aqicast_daily"


class MonitoringStack(cdk.Stack):
    def __init__(self, scope: Construct, id_: str, *, ctx: Context, api: ApiStack, environment_name: str, **kw) -> None:
        super().__init__(scope, id_, description="aqicast: alarms to an SNS topic", **kw)
        cloudwatch_publishes = iam.PolicyStatement(
            sid="CloudWatchAlarmsPublish", actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=["*"],
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")])
        key = kms.Key(self, "AlarmsKey", alias=f"alias/{ctx.prefix}-alarms", enable_key_rotation=True,
                      policy=key_policy(cloudwatch_publishes), description="aqicast alarm topic")
        self.topic = sns.Topic(self, "Alarms", topic_name=ctx.name("alarms"), master_key=key,
                               enforce_ssl=True, display_name="aqicast alarms")
        if ctx.alarm_email:
            self.topic.add_subscription(subs.EmailSubscription(ctx.alarm_email))
        notify = actions.SnsAction(self.topic)
        five = cdk.Duration.minutes(5)

        def alarm(logical: str, description: str, metric: cw.Metric, threshold: float = 1) -> cw.Alarm:
            a = cw.Alarm(self, logical, alarm_name=f"{ctx.prefix}-{logical}", alarm_description=description,
                         metric=metric, threshold=threshold, evaluation_periods=1,
                         comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                         treat_missing_data=cw.TreatMissingData.NOT_BREACHING)
            a.add_alarm_action(notify)
            return a

        alarm("dag-run-failed", f"a run of {DAG_ID} failed on MWAA {environment_name}",
              cw.Metric(namespace="AmazonMWAA", metric_name="DAGDurationFailed", statistic="SampleCount",
                        period=cdk.Duration.hours(1),
                        dimensions_map={"Environment": environment_name, "Function": "DAG Runs", "DAG": DAG_ID}))
        alarm("api-lambda-errors", "the API Lambda raised errors",
              api.function.metric_errors(period=five, statistic="Sum"), threshold=5)
        alarm("api-lambda-throttles", "the API Lambda was throttled (reserved concurrency reached)",
              api.function.metric_throttles(period=five, statistic="Sum"))
        alarm("api-5xx", "the HTTP API answered 5xx",
              cw.Metric(namespace="AWS/ApiGateway", metric_name="5xx", statistic="Sum", period=five,
                        dimensions_map={"ApiId": api.api.ref, "Stage": "$default"}), threshold=5)
        for logical, metric_name in (("endpoint-5xx", "Invocation5XXErrors"), ("endpoint-4xx", "Invocation4XXErrors")):
            alarm(logical, f"the SageMaker endpoint {AWS.endpoint}: {metric_name}",
                  cw.Metric(namespace="AWS/SageMaker", metric_name=metric_name, statistic="Sum", period=five,
                            dimensions_map={"EndpointName": AWS.endpoint, "VariantName": "AllTraffic"}))
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.topic.topic_arn)
