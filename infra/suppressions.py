"""The checkov checks this project suppresses, and why. CDK-free, so the tests and
``scripts/iam_table.py`` (which writes the README table) read it from the main venv."""
from __future__ import annotations

#: Every checkov check this project suppresses, and why (README "Deploy to AWS" lists the same table,
#: generated from here; the template carries the same reason in each resource's Metadata).
SUPPRESSIONS: dict[str, str] = {
    "CKV_AWS_18": "the access-log bucket itself: S3 server access logs are not logged into themselves",
    "CKV_AWS_116": "the API Lambda is invoked synchronously by API Gateway; a dead-letter queue only applies "
                   "to asynchronous invocations",
    "CKV_AWS_117": "the API Lambda reads S3 and calls SageMaker/Bedrock public endpoints; a VPC would add NAT "
                   "cost and cold-start time for no private resource",
    "CKV_AWS_173": "the Lambda environment holds bucket and endpoint names only, no secret",
    "CKV_AWS_68": "a public read-only page of forecasts; WAF (about 5 USD/month + requests) is left to "
                  "deployments that need it, the API has its own throttling",
    "CKV_AWS_174": "the distribution uses the default *.cloudfront.net certificate, whose minimum protocol "
                   "CloudFront fixes; a custom domain's certificate would set TLSv1.2_2021",
    "CKV_AWS_158": "CloudWatch log groups use the service's encryption; a customer managed key would need a key "
                   "policy for the logs service principal in every stack",
    "CKV_AWS_86": "CloudFront standard logs need ACLs on the log bucket (object ownership not enforced); "
                  "the page is static and the API stage keeps access logs",
}
