"""The access-log bucket: private, ACL-less, SSE-S3, TLS-only, expiring, writable by ELB only."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .elb_principal import access_log_bucket_policy
from .settings import AccessLogsArgs


@dataclass
class AccessLogBucket:
    """The bucket and the policy the load balancer must wait for."""

    bucket: aws.s3.Bucket
    policy: aws.s3.BucketPolicy
    dependencies: list[pulumi.Resource]


def create_access_log_bucket(
    name: str,
    logs: AccessLogsArgs,
    tags: dict[str, str],
    invoke: pulumi.InvokeOptions,
    parent: pulumi.Resource,
) -> AccessLogBucket:
    """Create the bucket and its controls (docs/security.md: S3.2/3/5/6/8/12/13)."""
    # protect: keep the bucket and its controls (and so the logs) when the stack is destroyed.
    opts = pulumi.ResourceOptions(parent=parent, retain_on_delete=logs.protect or None)
    bucket = aws.s3.Bucket(f"{name}-access-logs", force_destroy=logs.force_destroy, tags=tags, opts=opts)
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-access-logs-pab",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-access-logs-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=opts,
    )
    # SSE-S3: ALB cannot deliver access logs to an SSE-KMS bucket.
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-access-logs-sse",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                )
            )
        ],
        opts=opts,
    )
    lifecycle = aws.s3.BucketLifecycleConfiguration(
        f"{name}-access-logs-lifecycle",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=logs.expiration_days),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=1
                ),
            )
        ],
        opts=opts,
    )
    # The provider's own account, region and partition: the ELB principal differs per region.
    identity = aws.get_caller_identity_output(opts=invoke)
    region = aws.get_region_output(opts=invoke)
    partition = aws.get_partition_output(opts=invoke)
    policy_json = pulumi.Output.all(bucket.arn, identity.account_id, region.region, partition.partition).apply(
        lambda a: access_log_bucket_policy(a[0], logs.prefix, a[1], a[2], a[3])
    )
    policy = aws.s3.BucketPolicy(
        f"{name}-access-logs-policy",
        bucket=bucket.id,
        policy=policy_json,
        # S3 refuses concurrent configuration changes on one bucket ("conflicting conditional
        # operation"): put the policy after the public-access block and ownership settle.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[public_access, ownership])),
    )
    return AccessLogBucket(bucket, policy, [policy, encryption, lifecycle])
