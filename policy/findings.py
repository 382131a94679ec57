"""What every policy shares: the resource types it judges, a ``Finding`` (the property, what is
wrong, the fix), the ``Resource`` a stack policy sees, and the readers of provider properties.

A resource check is ``check(type, props, config) -> [Finding]``; a stack check is
``check([Resource], config) -> [(Resource, Finding)]``. ``props`` are the resource's inputs with
the provider's camelCase keys, as the engine sends them to a policy pack. ``config`` is the
policy's configuration from the pack's config file, over the policy's ``defaults``.
A finding names the property, what is wrong, and the fix; ``message`` adds the resource.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
TOPIC = "aws:sns/topic:Topic"
KMS_KEY = "aws:kms/key:Key"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"


@dataclass(frozen=True)
class Finding:
    """One problem: the property, what is wrong with it, and how to fix it."""

    property: str
    problem: str
    fix: str


@dataclass(frozen=True)
class Resource:
    """A resource as a stack policy sees it."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    dependencies: tuple[str, ...] = ()


ResourceCheck = Callable[[str, Mapping[str, Any], Mapping[str, Any]], list[Finding]]
StackCheck = Callable[[Sequence[Resource], Mapping[str, Any]], list[tuple[Resource, Finding]]]


def message(resource_type: str, resource_name: str, finding: Finding) -> str:
    """The violation as a reviewer reads it: resource, property, problem, fix."""
    return f"{resource_name} ({resource_type}): {finding.property}: {finding.problem}. Fix: {finding.fix}"


def get_path(props: Mapping[str, Any], *path: str) -> Any:
    """The value at ``path`` in nested properties; None where a step is missing or not a mapping."""
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def as_list(value: Any) -> list[Any]:
    """A property that may be one value or several, as a list (None: empty)."""
    if value is None:
        return []
    if isinstance(value, str | Mapping):
        return [value]
    return list(value)


def document_of(props: Mapping[str, Any], key: str = "policy") -> dict[str, Any] | None:
    """The JSON policy document in ``props[key]`` (text or already parsed); None when it is not one."""
    raw = props.get(key)
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        document = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def statements_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A policy document's statements, one or several, as a list."""
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]
