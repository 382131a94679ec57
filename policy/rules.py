"""The policy pack's policies: each check with its name, description, baseline controls and
defaults (``POLICIES``), the accepted exceptions, and how a policy runs (no Pulumi import).

The checks are plain functions over a resource's type and properties, one module per family:
``policy.load_balancers``, ``policy.functions``, ``policy.buckets``, ``policy.iam``,
``policy.operations`` (tags, alarm topic, keys, WAF logs) and ``policy.stack_policies`` (checks over
a whole stack); ``policy.findings`` holds what they share (the resource types, ``Finding``,
``Resource``). The names the pack and the tests use are importable from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy.buckets import (
    s3_acls_disabled,
    s3_bucket_policy,
    s3_encryption,
    s3_lifecycle_expiry,
    s3_public_access_blocked,
)
from policy.findings import (
    BUCKET,
    BUCKET_ACL,
    BUCKET_ENCRYPTION,
    BUCKET_LIFECYCLE,
    BUCKET_POLICY,
    FUNCTION,
    IAM_POLICY,
    KMS_KEY,
    LISTENER,
    LOAD_BALANCER,
    LOG_GROUP,
    OWNERSHIP_CONTROLS,
    PERMISSION,
    PUBLIC_ACCESS_BLOCK,
    ROLE_POLICY,
    SECURITY_GROUP,
    TOPIC,
    WEB_ACL_ASSOCIATION,
    WEB_ACL_LOGGING,
    Finding,
    Resource,
    message,
)
from policy.functions import (
    function_env_no_plaintext_secret,
    lambda_invoke_scoped,
    lambda_supported_runtime,
    log_group_retention,
)
from policy.iam import DESTRUCTIVE_VERBS, iam_least_privilege, iam_no_unconditional_destructive_wildcard
from policy.iam import _destructive as _destructive  # tests/test_policy.py pins the matcher through rules
from policy.load_balancers import (
    elb_access_logs,
    elb_desync_mitigation,
    elb_invalid_headers_dropped,
    elb_several_zones,
    elb_tls13_policy,
    security_group_least_open,
)
from policy.operations import kms_key_rotation, required_tags, sns_topic_encrypted, waf_logs_redact_credentials
from policy.stack_policies import (
    bucket_has_controls,
    function_log_group,
    prod_like,
    prod_like_deletion_protection,
    prod_like_http_redirects,
    prod_like_retained_logs,
    prod_like_waf,
)
from policy.values import plain

# Re-exported for the pack and the tests, which read the resource types and findings through here.
__all__ = [
    "ACCEPTED_EXCEPTIONS",
    "BUCKET",
    "BUCKET_ACL",
    "BUCKET_ENCRYPTION",
    "BUCKET_LIFECYCLE",
    "BUCKET_POLICY",
    "DESTRUCTIVE_VERBS",
    "FUNCTION",
    "IAM_POLICY",
    "KMS_KEY",
    "LAMBDA_RUNTIMES",
    "LISTENER",
    "LOAD_BALANCER",
    "LOG_GROUP",
    "OWNERSHIP_CONTROLS",
    "PERMISSION",
    "POLICIES",
    "PUBLIC_ACCESS_BLOCK",
    "ROLE_POLICY",
    "SECURITY_GROUP",
    "TOPIC",
    "WEB_ACL_ASSOCIATION",
    "WEB_ACL_LOGGING",
    "AcceptedException",
    "Finding",
    "Policy",
    "Resource",
    "Violation",
    "check_all",
    "message",
    "prod_like",
    "run_resource",
    "run_stack",
]


@dataclass(frozen=True)
class Policy:
    """A policy of the pack: its name, what it enforces, the baseline controls it covers, its check."""

    name: str
    description: str
    controls: tuple[str, ...]
    check: Callable[..., Any]
    stack: bool = False
    defaults: Mapping[str, Any] = field(default_factory=dict)
    sees_secrets: bool = False  # gets Secret markers (see policy.values) instead of plain values


LAMBDA_RUNTIMES = ("python3.12", "python3.13", "python3.14")

POLICIES: tuple[Policy, ...] = (
    Policy(
        "elb-invalid-headers-dropped",
        "Load balancers drop invalid HTTP header fields",
        ("ELB.4",),
        elb_invalid_headers_dropped,
    ),
    Policy("elb-access-logs", "Load balancers write access logs to S3", ("ELB.5",), elb_access_logs),
    Policy("elb-desync-mitigation", "Desync mitigation is defensive or strictest", ("ELB.12",), elb_desync_mitigation),
    Policy("elb-several-zones", "Load balancers span at least two subnets", ("ELB.13",), elb_several_zones),
    Policy("elb-tls13-policy", "HTTPS listeners use a TLS 1.3 policy (TLS 1.2 minimum)", ("ELB.17",), elb_tls13_policy),
    Policy(
        "lambda-invoke-scoped",
        "Invoke permissions name a service and the one source ARN",
        ("Lambda.1",),
        lambda_invoke_scoped,
    ),
    Policy(
        "lambda-supported-runtime",
        "Functions run on a supported runtime",
        ("Lambda.2",),
        lambda_supported_runtime,
        defaults={"runtimes": list(LAMBDA_RUNTIMES)},
    ),
    Policy(
        "function-env-no-plaintext-secret",
        "Secret-looking environment variables hold Pulumi secrets",
        ("secrets",),
        function_env_no_plaintext_secret,
        sees_secrets=True,
        defaults={
            "namePatterns": ["*TOKEN*", "*SECRET*", "*PASSWORD*", "*PASSWD*", "*KEY*", "*CREDENTIAL*", "*PRIVATE*"],
            "allowNames": [],
        },
    ),
    Policy("log-group-retention", "Log groups have a retention", ("log retention",), log_group_retention),
    Policy(
        "security-group-least-open",
        "Security groups open only listener ports, described, no open egress",
        ("network",),
        security_group_least_open,
        defaults={"allowedPorts": [80, 443]},
    ),
    Policy(
        "s3-public-access-blocked",
        "Buckets block all public access",
        ("S3.2", "S3.3", "S3.8"),
        s3_public_access_blocked,
    ),
    Policy("s3-acls-disabled", "Bucket ACLs are disabled", ("S3.12",), s3_acls_disabled),
    Policy(
        "s3-encryption",
        "Buckets encrypt by default (SSE-S3 accepted: ALB logs need it)",
        ("exception: SSE-S3",),
        s3_encryption,
        defaults={"algorithms": ["AES256", "aws:kms", "aws:kms:dsse"]},
    ),
    Policy(
        "s3-lifecycle-expiry", "Buckets expire objects and abort incomplete uploads", ("S3.13",), s3_lifecycle_expiry
    ),
    Policy(
        "s3-bucket-policy",
        "Bucket policies deny non-TLS access and grant others only log delivery",
        ("S3.5", "S3.6"),
        s3_bucket_policy,
        defaults={"allowedActions": ["s3:PutObject"]},
    ),
    Policy(
        "iam-least-privilege",
        "IAM policies name their actions (no * or service:* wildcards)",
        ("least privilege",),
        iam_least_privilege,
    ),
    Policy(
        "iam-no-unconditional-destructive-wildcard",
        "No unconditional destructive IAM action on *",
        ("review",),
        iam_no_unconditional_destructive_wildcard,
        # The accepted exceptions: actions AWS gives no resource type or condition key to scope
        # (WAF logging to CloudWatch Logs); the same list as bootstrap/iam_actions.py's UNSCOPABLE.
        # X-Ray has no resource-level permissions at all, nor has a release check's verdict
        # (codedeploy:PutLifecycleEventHookExecutionStatus, which names its deployment by ID).
        defaults={
            "acceptedUnscoped": [
                "codedeploy:PutLifecycleEventHookExecutionStatus",
                "elasticloadbalancing:SetWebAcl",
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
                "xray:PutTelemetryRecords",
                "xray:PutTraceSegments",
            ]
        },  # fmt: skip
    ),
    Policy(
        "required-tags",
        "Taggable resources carry project, stack and managed-by",
        ("tags",),
        required_tags,
        defaults={"tags": ["project", "stack", "managed-by"]},
    ),
    Policy(
        "sns-topic-encrypted",
        "Alarm topics are encrypted with a key CloudWatch can use",
        ("operations",),
        sns_topic_encrypted,
    ),
    Policy("kms-key-rotation", "Customer-managed keys rotate", ("operations",), kms_key_rotation),
    Policy(
        "waf-logs-redact-credentials",
        "WAF logs redact the authorization and cookie headers",
        ("ELB.16",),
        waf_logs_redact_credentials,
        defaults={"headers": ["authorization", "cookie"]},
    ),
    Policy(
        "prod-like-deletion-protection",
        "Prod-like stacks protect their load balancers from deletion",
        ("ELB.6",),
        prod_like_deletion_protection,
        stack=True,
        defaults={"prodLike": None},
    ),
    Policy(
        "prod-like-http-redirects",
        "Prod-like stacks redirect HTTP to HTTPS",
        ("ELB.1",),
        prod_like_http_redirects,
        stack=True,
        defaults={"prodLike": None},
    ),
    Policy(
        "prod-like-waf",
        "Prod-like stacks put a WAF web ACL in front of the load balancer",
        ("ELB.16",),
        prod_like_waf,
        stack=True,
        defaults={"prodLike": None},
    ),
    Policy(
        "prod-like-retained-logs",
        "Prod-like stacks keep their logs",
        ("log retention",),
        prod_like_retained_logs,
        stack=True,
        defaults={"prodLike": None, "minRetentionDays": 365},
    ),
    Policy(
        "bucket-has-controls",
        "Every bucket comes with its access, encryption, lifecycle and TLS controls",
        ("S3.2", "S3.3", "S3.5", "S3.8", "S3.12", "S3.13"),
        bucket_has_controls,
        stack=True,
    ),
    Policy(
        "function-log-group",
        "Functions log to a log group the stack creates",
        ("log retention",),
        function_log_group,
        stack=True,
    ),
)


@dataclass(frozen=True)
class AcceptedException:
    """An accepted exception to the baseline, with the reason to give and how the pack treats it."""

    what: str
    reason: str
    enforcement: str


ACCEPTED_EXCEPTIONS: tuple[AcceptedException, ...] = (
    AcceptedException(
        "Lambda outside a VPC", "it reaches nothing private; a VPC adds cold start and NAT cost", "not enforced"
    ),
    AcceptedException(
        "No dead-letter queue",
        "the load balancer invokes synchronously; a DLQ would never receive anything",
        "not enforced",
    ),
    AcceptedException(
        "SSE-S3 rather than KMS on the access-log bucket",
        "ALB access logs can only be delivered to SSE-S3 buckets",
        "enforced as data: s3-encryption accepts AES256",
    ),
    AcceptedException(
        "Port 80 open to the world in prod",
        "it only redirects to HTTPS (ELB.1 wins over ELB.18)",
        "enforced as data: security-group-least-open allowedPorts; prod-like-http-redirects checks the redirect",
    ),
    AcceptedException(
        "No code signing, no replication, notifications or access logging of the log bucket",
        "the bucket only receives ALB logs; its own access is denied to everyone else",
        "not enforced",
    ),
    AcceptedException(
        "AWS-managed encryption for environment variables and log groups",
        "secrets go in as Pulumi secrets (function-env-no-plaintext-secret); logs hold no secrets",
        "not enforced",
    ),
)


def run_resource(policy: Policy, typ: str, name: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """The messages of a resource policy on one resource."""
    return [message(typ, name, f) for f in policy.check(typ, props, {**policy.defaults, **config})]


def run_stack(policy: Policy, resources: Sequence[Resource], config: Mapping[str, Any]) -> list[tuple[Resource, str]]:
    """The messages of a stack policy, each with the resource it is about."""
    return [(r, message(r.type, r.name, f)) for r, f in policy.check(resources, {**policy.defaults, **config})]


@dataclass(frozen=True)
class Violation:
    """A policy's message about one resource."""

    policy: str
    resource: str
    message: str


def check_all(resources: Sequence[Resource], config: Mapping[str, Mapping[str, Any]] | None = None) -> list[Violation]:
    """Every policy on every resource, as the pack runs them. ``resources`` carry ``Secret`` markers
    (``policy.values.mark``); only ``sees_secrets`` policies get them, the others plain values."""
    config = config or {}
    plain_resources = [Resource(r.type, r.name, plain(r.props), r.urn, r.dependencies) for r in resources]
    found = []
    for policy in POLICIES:
        own = config.get(policy.name, {})
        if policy.stack:
            found += [Violation(policy.name, r.name, text) for r, text in run_stack(policy, plain_resources, own)]
            continue
        for marked, unmarked in zip(resources, plain_resources, strict=True):
            props = marked.props if policy.sees_secrets else unmarked.props
            found += [
                Violation(policy.name, marked.name, text)
                for text in run_resource(policy, marked.type, marked.name, props, own)
            ]
    return found
