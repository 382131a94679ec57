"""The operational policies: required tags, the alarm topic's encryption, key rotation, and the
web ACL's logs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.findings import KMS_KEY, TOPIC, WEB_ACL_LOGGING, Finding, as_list, get_path
from policy.taggable import takes_tags


def required_tags(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """Every resource whose type takes ``tags`` (per the pulumi-aws SDK) carries the required tags."""
    if not takes_tags(typ):
        return []
    tags = props.get("tags")
    present = set(tags) if isinstance(tags, Mapping) else set()
    missing = [t for t in config["tags"] if t not in present]
    if not missing:
        return []
    return [
        Finding(
            "tags",
            f"missing {missing}",
            "tag every resource with project, stack and managed-by (the component does; a resource added "
            "outside it must pass tags=...)",
        )
    ]


def sns_topic_encrypted(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """The alarm topic is encrypted with a customer-managed key CloudWatch may use."""
    if typ != TOPIC:
        return []
    key = props.get("kmsMasterKeyId")
    if not key:
        return [
            Finding("kmsMasterKeyId", "is unset: the topic is not encrypted", "encrypt it with the stack's KMS key")
        ]
    if str(key) == "alias/aws/sns":
        return [
            Finding(
                "kmsMasterKeyId",
                "is the AWS-managed SNS key, which CloudWatch alarms cannot use (their notifications are dropped)",
                "use a customer-managed key that grants cloudwatch.amazonaws.com",
            )
        ]
    return []


def kms_key_rotation(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """A customer-managed symmetric key rotates yearly."""
    if typ != KMS_KEY or props.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        return []
    if props.get("enableKeyRotation") is True:
        return []
    return [Finding("enableKeyRotation", f"is {props.get('enableKeyRotation')!r}", "set enable_key_rotation=True")]


def waf_logs_redact_credentials(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """ELB.16: the web ACL's logs never hold credentials (authorization and cookie headers redacted)."""
    if typ != WEB_ACL_LOGGING:
        return []
    redacted = {str(get_path(f, "singleHeader", "name")).lower() for f in as_list(props.get("redactedFields"))}
    missing = [h for h in config["headers"] if h not in redacted]
    if not missing:
        return []
    return [Finding("redactedFields", f"does not redact {missing}", f"redact the single headers {missing}")]
