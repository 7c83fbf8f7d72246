"""The web front end: the page ``aqicast serve`` shows (``include/serving/static/index.html``) from a
private S3 bucket through CloudFront with origin access control, plus a ``config.js`` naming the
API's URL (written by ``deploy/deploy-aws.sh`` from the API stack's output, so this stack does not
depend on the API and the API's CORS can name this distribution)."""
from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.stacks.common import Context, skip
from infra.stacks.storage import StorageStack


class WebStack(cdk.Stack):
    def __init__(self, scope: Construct, id_: str, *, ctx: Context, storage: StorageStack, **kw) -> None:
        super().__init__(scope, id_, description="aqicast: the web page on S3 + CloudFront", **kw)
        self.bucket = s3.Bucket(self, "Site", encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
                                versioned=True, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                                server_access_logs_bucket=storage.logs, server_access_logs_prefix="site/",
                                lifecycle_rules=[s3.LifecycleRule(id="old-versions",
                                                                  noncurrent_version_expiration=cdk.Duration.days(30))],
                                removal_policy=cdk.RemovalPolicy.DESTROY, auto_delete_objects=False)
        headers = cloudfront.ResponseHeadersPolicy(
            self, "SecurityHeaders", security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(frame_option=cloudfront.HeadersFrameOption.DENY,
                                                                    override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=True),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=cdk.Duration.days(365), include_subdomains=True, override=True)))
        self.distribution = cloudfront.Distribution(
            self, "Distribution", comment="aqicast web page", default_root_object="index.html",
            price_class=cloudfront.PriceClass.PRICE_CLASS_100, http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED, response_headers_policy=headers))
        skip(self.distribution, "CKV_AWS_68", "CKV_AWS_174", "CKV_AWS_86")
        cdk.CfnOutput(self, "SiteBucket", value=self.bucket.bucket_name)
        cdk.CfnOutput(self, "DistributionId", value=self.distribution.distribution_id)
        cdk.CfnOutput(self, "SiteUrl", value=f"https://{self.distribution.distribution_domain_name}")
