"""The buckets' policies: public access, ACLs, encryption, lifecycle and the bucket policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.findings import (
    BUCKET_ACL,
    BUCKET_ENCRYPTION,
    BUCKET_LIFECYCLE,
    BUCKET_POLICY,
    OWNERSHIP_CONTROLS,
    PUBLIC_ACCESS_BLOCK,
    Finding,
    as_list,
    document_of,
    get_path,
    statements_of,
)


def s3_public_access_blocked(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """S3.2/S3.3/S3.8: the bucket's public access block has all four flags on."""
    if typ != PUBLIC_ACCESS_BLOCK:
        return []
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return [
        Finding(flag, f"is {props.get(flag)!r}", f"set {flag} to true") for flag in flags if props.get(flag) is not True
    ]


def s3_acls_disabled(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """S3.12: ACLs are disabled (BucketOwnerEnforced) and no ACL is granted."""
    if typ == BUCKET_ACL:
        return [Finding("acl", "grants access through an ACL", "remove the ACL; access goes through the bucket policy")]
    if typ != OWNERSHIP_CONTROLS:
        return []
    ownership = get_path(props, "rule", "objectOwnership")
    if ownership == "BucketOwnerEnforced":
        return []
    return [Finding("rule.objectOwnership", f"is {ownership!r}: ACLs still apply", "set it to BucketOwnerEnforced")]


def s3_encryption(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """Objects are encrypted at rest. Accepted exception, as data: SSE-S3 (AES256), since ALB
    access logs cannot be delivered to an SSE-KMS bucket."""
    if typ != BUCKET_ENCRYPTION:
        return []
    algorithms = [
        get_path(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") for rule in as_list(props.get("rules"))
    ]
    allowed = list(config["algorithms"])
    if algorithms and all(a in allowed for a in algorithms):
        return []
    return [
        Finding(
            "rules[].applyServerSideEncryptionByDefault.sseAlgorithm",
            f"{algorithms!r} is not one of {allowed}",
            "encrypt by default with AES256 (the only choice for ALB access logs)",
        )
    ]


def s3_lifecycle_expiry(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """S3.13: an enabled rule expires objects and aborts incomplete multipart uploads."""
    if typ != BUCKET_LIFECYCLE:
        return []
    for rule in as_list(props.get("rules")):
        if (
            rule.get("status") == "Enabled"
            and get_path(rule, "expiration", "days")
            and rule.get("abortIncompleteMultipartUpload")
        ):
            return []
    return [
        Finding(
            "rules",
            "no enabled rule both expires objects and aborts incomplete uploads",
            "keep accessLogs.expirationDays set; the program adds the abort rule",
        )
    ]


def _denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    actions = set(as_list(statement.get("Action")))
    secure = get_path(statement, "Condition", "Bool", "aws:SecureTransport")
    return statement.get("Effect") == "Deny" and bool(actions & {"s3:*", "*"}) and str(secure).lower() == "false"


def s3_bucket_policy(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """S3.5: non-TLS requests are denied; S3.6: nobody else gets more than ``allowedActions``."""
    if typ != BUCKET_POLICY:
        return []
    document = document_of(props)
    if document is None:
        return [Finding("policy", "is not a JSON policy document", "give the bucket a JSON policy")]
    findings = []
    statements = statements_of(document)
    if not any(_denies_insecure_transport(s) for s in statements):
        findings.append(
            Finding(
                "policy",
                "does not deny requests without TLS (aws:SecureTransport false)",
                "add a Deny of s3:* on the bucket and its objects when aws:SecureTransport is false",
            )
        )
    allowed = set(config["allowedActions"])
    for i, statement in enumerate(statements):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS"))):
            findings.append(
                Finding(f"policy.Statement[{i}].Principal", "allows anyone", "name the principal that needs access")
            )
        extra = sorted(set(as_list(statement.get("Action"))) - allowed)
        if extra:
            findings.append(
                Finding(
                    f"policy.Statement[{i}].Action",
                    f"grants {extra}",
                    f"grant only {sorted(allowed)} (log delivery), on the log prefix",
                )
            )
    return findings
