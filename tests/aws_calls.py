"""Recording the AWS API calls a run makes, as the IAM requests they are: (action, resource ARN,
condition context). Every boto3/botocore client (the provider's hooks, the backend) and every
aiobotocore client (s3fs, the lake) goes through ``_make_api_call``; the recorder wraps both and maps
service + operation + parameters (+ the response's ARN for a create) to IAM's action names and
resource ARNs, including the actions a call implies (``iam:PassRole`` for a role it hands to a
service, ``sagemaker:AddTags`` for tags on a create).

The least-privilege tests then check that the synthesised policy of the principal that makes those
calls in AWS allows every one of them (``infra/policies.py``)."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

ACCOUNT, REGION = "123456789012", "us-east-1"

S3_ACTIONS = {"ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "HeadBucket": "ListBucket",
              "HeadObject": "GetObject", "GetObject": "GetObject", "PutObject": "PutObject",
              "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject", "CompleteMultipartUpload": "PutObject",
              "AbortMultipartUpload": "AbortMultipartUpload", "DeleteObject": "DeleteObject",
              "DeleteObjects": "DeleteObject", "CopyObject": "PutObject", "UploadPartCopy": "PutObject",
              "ListObjectVersions": "ListBucketVersions", "GetBucketLocation": "GetBucketLocation",
              "ListMultipartUploads": "ListBucketMultipartUploads"}
#: SageMaker operation -> (ARN resource type, request parameter holding the name).
SAGEMAKER = {
    "CreateAutoMLJobV2": ("automl-job", "AutoMLJobName"), "DescribeAutoMLJobV2": ("automl-job", "AutoMLJobName"),
    "DescribeAutoMLJob": ("automl-job", "AutoMLJobName"), "StopAutoMLJob": ("automl-job", "AutoMLJobName"),
    "ListCandidatesForAutoMLJob": ("automl-job", "AutoMLJobName"),
    "CreateModelPackageGroup": ("model-package-group", "ModelPackageGroupName"),
    "DescribeModelPackageGroup": ("model-package-group", "ModelPackageGroupName"),
    "CreateModel": ("model", "ModelName"), "DescribeModel": ("model", "ModelName"), "DeleteModel": ("model", "ModelName"),
    "CreateEndpointConfig": ("endpoint-config", "EndpointConfigName"),
    "DescribeEndpointConfig": ("endpoint-config", "EndpointConfigName"),
    "DeleteEndpointConfig": ("endpoint-config", "EndpointConfigName"),
    "CreateEndpoint": ("endpoint", "EndpointName"), "UpdateEndpoint": ("endpoint", "EndpointName"),
    "DescribeEndpoint": ("endpoint", "EndpointName"), "InvokeEndpoint": ("endpoint", "EndpointName"),
}
#: Actions AWS defines without resource-level permissions (their policy statement must say "*").
NO_RESOURCE = {"sagemaker:ListModelPackages", "sagemaker:ListAutoMLJobs", "sagemaker:ListEndpoints",
               "sagemaker:ListModels", "sagemaker:ListEndpointConfigs", "glue:ListCrawlers", "glue:ListJobs",
               "sts:GetCallerIdentity", "s3:ListAllMyBuckets"}
#: Calls that need no IAM permission.
FREE = {"sts:GetCallerIdentity"}
SERVICE_OF_ROLE = {"glue": "glue.amazonaws.com", "sagemaker": "sagemaker.amazonaws.com"}


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    call: str = ""  # the API call it came from, for messages

    @property
    def ctx(self) -> dict[str, str]:
        return dict(self.context)


def _arn(service: str, resource: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _role_arn(role: str) -> str:
    return role if role.startswith("arn:") else f"arn:aws:iam::{ACCOUNT}:role/{role}"


def requests_for(service: str, op: str, params: dict, response: dict | None, region: str = REGION) -> list[Request]:
    """The IAM requests one API call is: service is the signing name (the IAM prefix here); region
    is the client's (Bedrock may be called in another region than the rest)."""
    call = f"{service}.{op}"
    out: list[Request] = []

    def add(action: str, resource: str, **context):
        out.append(Request(action, resource, tuple(sorted(context.items())), call))

    if service == "s3":
        action = "s3:" + S3_ACTIONS.get(op, op)
        bucket, key = params.get("Bucket", ""), params.get("Key")
        if op == "DeleteObjects":
            for obj in params.get("Delete", {}).get("Objects", []):
                add(action, f"arn:aws:s3:::{bucket}/{obj['Key']}")
        elif key is not None:
            add("s3:GetObjectVersion" if op == "GetObject" and params.get("VersionId") else action,
                f"arn:aws:s3:::{bucket}/{key}")
        else:
            ctx = {"s3:prefix": params.get("Prefix", "")} if action == "s3:ListBucket" else {}
            add(action, f"arn:aws:s3:::{bucket}", **ctx)
        if op in ("CopyObject", "UploadPartCopy"):
            src = params["CopySource"]
            src = f"{src['Bucket']}/{src['Key']}" if isinstance(src, dict) else src.split("?")[0]
            add("s3:GetObject", f"arn:aws:s3:::{src}")
    elif service == "glue":
        if "Crawler" in op:
            names = params.get("CrawlerNameList") or [params.get("Name") or params.get("CrawlerName")]
            for name in names:
                add(f"glue:{op}", _arn("glue", f"crawler/{name}"))
        elif "Job" in op:
            add(f"glue:{op}", _arn("glue", f"job/{params.get('JobName') or params.get('Name')}"))
        elif op in ("GetDatabase", "GetTables", "GetTable", "CreateTable", "UpdateTable", "GetPartitions",
                    "BatchCreatePartition", "BatchGetPartition"):
            db = params.get("DatabaseName") or params.get("Name")
            add(f"glue:{op}", _arn("glue", "catalog"))
            add(f"glue:{op}", _arn("glue", f"database/{db}"))
            table = params.get("TableName") or (params.get("TableInput") or {}).get("Name") or (
                params.get("Name") if op != "GetDatabase" else None)
            if table or op == "GetTables":
                add(f"glue:{op}", _arn("glue", f"table/{db}/{table or '*'}"))
        else:
            add(f"glue:{op}", "*")
        role = params.get("Role") or (params.get("JobUpdate") or {}).get("Role")
        if role:
            add("iam:PassRole", _role_arn(role), **{"iam:PassedToService": "glue.amazonaws.com"})
    elif service == "iam":
        if "RoleName" in params:
            add(f"iam:{op}", _role_arn(params["RoleName"]))
        else:
            add(f"iam:{op}", "*")
    elif service == "sagemaker":
        action = f"sagemaker:{op}"
        if action in NO_RESOURCE:
            add(action, "*")
        elif op in SAGEMAKER:
            kind, key = SAGEMAKER[op]
            add(action, _arn("sagemaker", f"{kind}/{str(params[key]).lower()}"))
        elif op in ("CreateModelPackage",):
            arn = (response or {}).get("ModelPackageArn") or _arn(
                "sagemaker", f"model-package/{params['ModelPackageGroupName'].lower()}/*")
            add(action, arn)
        elif op in ("DescribeModelPackage", "UpdateModelPackage"):
            name = params.get("ModelPackageName") or params.get("ModelPackageArn")
            add(action, name if name.startswith("arn:") else _arn("sagemaker", f"model-package/{name.lower()}"))
        elif op == "AddTags":
            add(action, params["ResourceArn"])
        else:
            add(action, "*")
        for key in ("RoleArn", "ExecutionRoleArn"):
            if params.get(key):
                add("iam:PassRole", params[key], **{"iam:PassedToService": "sagemaker.amazonaws.com"})
        if params.get("Tags") and op.startswith("Create") and out:
            add("sagemaker:AddTags", out[0].resource)
    elif service == "bedrock":
        model = params.get("modelId") or params.get("modelIdentifier")
        add(f"bedrock:{op}", model if str(model).startswith("arn:") else
            f"arn:aws:bedrock:{region}::foundation-model/{model}")
    else:
        add(f"{service}:{op}", "*")
    return [r for r in out if r.action not in FREE]


@dataclass
class Recorder:
    requests: list[Request] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def note(self, client, op: str, params: dict, response) -> None:
        service = client.meta.service_model.signing_name
        self.calls.append(f"{service}.{op}")
        self.requests.extend(requests_for(service, op, params, response if isinstance(response, dict) else None,
                                          region=client.meta.region_name or REGION))

    def unique(self) -> list[Request]:
        return sorted(set(self.requests), key=lambda r: (r.action, r.resource))


@contextlib.contextmanager
def record_calls():
    """Record every AWS API call made in this process (boto3 and aiobotocore clients) while active."""
    import botocore.client
    from aiobotocore.client import AioBaseClient

    rec = Recorder()
    sync_call, async_call = botocore.client.BaseClient._make_api_call, AioBaseClient._make_api_call

    # A call that fails (NoSuchKey, a missing crawler) still needed the permission: noted either way.
    def sync_wrapper(self, operation_name, api_params):
        response = None
        try:
            response = sync_call(self, operation_name, api_params)
            return response
        finally:
            rec.note(self, operation_name, api_params, response)

    async def async_wrapper(self, operation_name, api_params):
        response = None
        try:
            response = await async_call(self, operation_name, api_params)
            return response
        finally:
            rec.note(self, operation_name, api_params, response)

    botocore.client.BaseClient._make_api_call = sync_wrapper
    AioBaseClient._make_api_call = async_wrapper
    try:
        yield rec
    finally:
        botocore.client.BaseClient._make_api_call = sync_call
        AioBaseClient._make_api_call = async_call


def assert_least_privilege(rec: Recorder, principal, expect: set[str] = frozenset()) -> None:
    """Every IAM request the recorded run made is allowed by ``principal``'s synthesised policies
    (``infra.policies.Principal``); ``expect`` names actions the run must have made (so a run that
    silently made no calls cannot pass)."""
    from infra.policies import allowed

    made = rec.unique()
    assert expect <= {r.action for r in made}, f"the run did not make {expect - {r.action for r in made}}: {rec.calls}"
    denied = [r for r in made if not allowed(principal, r.action, r.resource, r.ctx)]
    assert not denied, f"{principal.role_name} lacks:\n" + "\n".join(
        f"  {r.action} on {r.resource} {r.ctx or ''} (from {r.call})" for r in denied)
