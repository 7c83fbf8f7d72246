"""What every stack shares: the deployment's names (from ``include/config.py`` and ``include/catalog.py``,
so the infrastructure and the code spell them once), the checkov suppressions with their reasons, and
small helpers for least-privilege policy statements (explicit actions, explicit resource ARNs)."""
from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from include import catalog, config
from infra.suppressions import SUPPRESSIONS

AWS = config.AwsSettings()          # the default names of the aws backend
SETTINGS = config.Settings()
AIRFLOW_VERSION = "3.3.1"           # the newest MWAA image (Python 3.12), the version the tests follow
LAMBDA_RUNTIME = "python3.12"

def skip(resource: Construct | cdk.CfnResource, *ids: str) -> None:
    """Suppress checkov checks on one resource, each with its reason from SUPPRESSIONS."""
    cfn = resource if isinstance(resource, cdk.CfnResource) else resource.node.default_child
    cfn.add_metadata("checkov", {"skip": [{"id": i, "comment": SUPPRESSIONS[i]} for i in ids]})


@dataclass(frozen=True)
class Context:
    """The deployment's knobs (``cdk.json`` context, overridable with ``-c name=value``)."""
    prefix: str
    lambda_zip: str
    lambda_arch: str
    nat_gateways: int
    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_id: str
    alarm_email: str
    throttle_rate: float
    throttle_burst: int
    quarantine_days: int
    images_days: int
    autopilot_days: int
    log_days: int

    @classmethod
    def of(cls, app: cdk.App) -> "Context":
        get = app.node.try_get_context

        def value(name, default):
            got = get(name)
            return default if got in (None, "") else got

        subnets = value("subnet_ids", "")
        return cls(prefix=value("prefix", "aqicast"), lambda_zip=value("lambda_zip", "build/lambda/aqicast-api.zip"),
                   lambda_arch=value("lambda_arch", "x86_64"), nat_gateways=int(value("nat_gateways", 1)),
                   vpc_id=value("vpc_id", ""),
                   subnet_ids=tuple(s for s in (subnets.split(",") if isinstance(subnets, str) else subnets) if s),
                   security_group_id=value("security_group_id", ""), alarm_email=value("alarm_email", ""),
                   throttle_rate=float(value("throttle_rate", 20)), throttle_burst=int(value("throttle_burst", 40)),
                   quarantine_days=int(value("quarantine_days", 90)), images_days=int(value("images_days", 30)),
                   autopilot_days=int(value("autopilot_days", 14)), log_days=int(value("log_days", 90)))

    def name(self, part: str) -> str:
        return f"{self.prefix}-{part}"


def arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
    """``arn:<partition>:<service>:<region>:<account>:<resource>`` with the deploying stack's values."""
    return (f"arn:{cdk.Aws.PARTITION}:{service}:{cdk.Aws.REGION if region else ''}:"
            f"{cdk.Aws.ACCOUNT_ID if account else ''}:{resource}")


def s3_arn(bucket: str, key: str = "") -> str:
    return f"arn:{cdk.Aws.PARTITION}:s3:::{bucket}" + (f"/{key}" if key else "")


def allow(sid: str, actions: list[str], resources: list[str], **conditions) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=sid, actions=sorted(actions), resources=resources,
                               conditions=conditions or None)


def policy(scope: Construct, id_: str, role: iam.IRole, statements: list[iam.PolicyStatement]) -> iam.Policy:
    """An inline policy attached to ``role`` (no managed policies: every grant is in this repo)."""
    return iam.Policy(scope, id_, roles=[role], statements=statements)


RAW_BUCKETS = catalog.RAW_BUCKETS


#: Key administration and use for the account's IAM principals, listed (a key policy without ``kms:*``).
KEY_ADMIN_ACTIONS = ["kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt", "kms:DeleteAlias",
                     "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey",
                     "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey", "kms:GetKeyPolicy",
                     "kms:GetKeyRotationStatus", "kms:ListGrants", "kms:ListResourceTags", "kms:PutKeyPolicy",
                     "kms:RevokeGrant", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
                     "kms:UpdateAlias", "kms:UpdateKeyDescription"]


def key_policy(*service_statements: iam.PolicyStatement) -> iam.PolicyDocument:
    """A key policy: the account's IAM principals administer and use the key (IAM policies then
    decide who), plus the given service grants."""
    account = iam.PolicyStatement(sid="AccountAdministersAndUses", actions=KEY_ADMIN_ACTIONS, resources=["*"],
                                  principals=[iam.AccountRootPrincipal()])
    return iam.PolicyDocument(statements=[account, *service_statements])
