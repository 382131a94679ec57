"""The stack policies: checks over every resource of a stack at once (what a prod-like stack must
have, and the resources a bucket or a function must come with)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from policy.findings import (
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_LIFECYCLE,
    BUCKET_POLICY,
    FUNCTION,
    LISTENER,
    LOAD_BALANCER,
    LOG_GROUP,
    OWNERSHIP_CONTROLS,
    PUBLIC_ACCESS_BLOCK,
    WEB_ACL_ASSOCIATION,
    Finding,
    Resource,
    as_list,
    get_path,
)


def prod_like(resources: Sequence[Resource], config: Mapping[str, Any]) -> bool:
    """Whether the stack serves production, from data: the pack's ``prodLike`` when set, else the
    stack's own settings (deletion protection on a load balancer, an HTTPS listener or a web ACL)."""
    if config.get("prodLike") is not None:
        return bool(config["prodLike"])
    return any(
        (r.type == LOAD_BALANCER and r.props.get("enableDeletionProtection") is True)
        or (r.type == LISTENER and r.props.get("protocol") == "HTTPS")
        or r.type == WEB_ACL_ASSOCIATION
        for r in resources
    )


def _of(resources: Sequence[Resource], typ: str) -> list[Resource]:
    return [r for r in resources if r.type == typ]


def _depends(resource: Resource, on: Resource) -> bool:
    return bool(on.urn) and on.urn in resource.dependencies


def prod_like_deletion_protection(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> list[tuple[Resource, Finding]]:
    """ELB.6: in a prod-like stack every load balancer has deletion protection."""
    if not prod_like(resources, config):
        return []
    return [
        (
            lb,
            Finding(
                "enableDeletionProtection",
                "is off in a prod-like stack",
                "set loadBalancer.deletionProtection: true (to tear the stack down on purpose, run that one "
                "update with this policy set to advisory)",
            ),
        )
        for lb in _of(resources, LOAD_BALANCER)
        if lb.props.get("enableDeletionProtection") is not True
    ]


def prod_like_http_redirects(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> list[tuple[Resource, Finding]]:
    """ELB.1: in a prod-like stack a plain-HTTP listener only redirects to HTTPS (301)."""
    if not prod_like(resources, config):
        return []
    found = []
    for listener in _of(resources, LISTENER):
        if listener.props.get("protocol") != "HTTP":
            continue
        actions = as_list(listener.props.get("defaultActions"))
        redirect = get_path(actions[0], "redirect") if len(actions) == 1 else None
        ok = (
            isinstance(redirect, Mapping)
            and redirect.get("protocol") == "HTTPS"
            and redirect.get("statusCode") == "HTTP_301"
        )
        if not ok:
            found.append(
                (
                    listener,
                    Finding(
                        "defaultActions",
                        "serves plain HTTP in a prod-like stack",
                        "set loadBalancer.httpRedirect: true (301 to HTTPS 443)",
                    ),
                )
            )
    return found


def prod_like_waf(resources: Sequence[Resource], config: Mapping[str, Any]) -> list[tuple[Resource, Finding]]:
    """ELB.16: in a prod-like stack every internet-facing load balancer has a web ACL."""
    if not prod_like(resources, config):
        return []
    associations = _of(resources, WEB_ACL_ASSOCIATION)
    found = []
    for lb in _of(resources, LOAD_BALANCER):
        if lb.props.get("internal") is True:
            continue
        arn = lb.props.get("arn")
        if any(_depends(a, lb) or (arn and a.props.get("resourceArn") == arn) for a in associations):
            continue
        found.append(
            (
                lb,
                Finding(
                    "(web ACL association)",
                    "no WAF web ACL in front of it in a prod-like stack",
                    "set waf.enabled: true (or waf.webAclArn) in the stack file",
                ),
            )
        )
    return found


def prod_like_retained_logs(resources: Sequence[Resource], config: Mapping[str, Any]) -> list[tuple[Resource, Finding]]:
    """In a prod-like stack logs are kept ``minRetentionDays`` and the access-log bucket is not
    emptied by ``pulumi destroy``."""
    if not prod_like(resources, config):
        return []
    minimum = config["minRetentionDays"]
    found = []
    for group in _of(resources, LOG_GROUP):
        days = group.props.get("retentionInDays") or 0
        if 0 < days < minimum:
            found.append(
                (
                    group,
                    Finding(
                        "retentionInDays",
                        f"{days} days in a prod-like stack (at least {minimum})",
                        f"set the retention to {minimum} days or more",
                    ),
                )
            )
    for bucket in _of(resources, BUCKET):
        if bucket.props.get("forceDestroy") is True:
            found.append(
                (
                    bucket,
                    Finding(
                        "forceDestroy",
                        "true: `pulumi destroy` deletes the logs of a prod-like stack",
                        "set accessLogs.forceDestroy: false and accessLogs.protect: true",
                    ),
                )
            )
    return found


BUCKET_CONTROLS = {
    PUBLIC_ACCESS_BLOCK: "a public access block (S3.2/3/8)",
    OWNERSHIP_CONTROLS: "ownership controls BucketOwnerEnforced (S3.12)",
    BUCKET_ENCRYPTION: "default encryption",
    BUCKET_LIFECYCLE: "a lifecycle expiry (S3.13)",
    BUCKET_POLICY: "a TLS-only bucket policy (S3.5)",
}


def bucket_has_controls(resources: Sequence[Resource], config: Mapping[str, Any]) -> list[tuple[Resource, Finding]]:
    """Every bucket of the stack comes with its controls (each judged by its own policy)."""
    found = []
    for bucket in _of(resources, BUCKET):
        bucket_id = bucket.props.get("bucket")
        for typ, what in BUCKET_CONTROLS.items():
            controls = _of(resources, typ)
            if any(_depends(c, bucket) or (bucket_id and c.props.get("bucket") == bucket_id) for c in controls):
                continue
            found.append(
                (
                    bucket,
                    Finding(
                        "(bucket controls)",
                        f"has no {what}",
                        "create the bucket through the component, which adds every control",
                    ),
                )
            )
    return found


def function_log_group(resources: Sequence[Resource], config: Mapping[str, Any]) -> list[tuple[Resource, Finding]]:
    """Every function logs to a log group the stack creates (with a retention), never one Lambda makes."""
    names = {g.props.get("name") for g in _of(resources, LOG_GROUP)}
    found = []
    for fn in _of(resources, FUNCTION):
        group = get_path(fn.props, "loggingConfig", "logGroup") or f"/aws/lambda/{fn.props.get('name')}"
        if group not in names:
            found.append(
                (
                    fn,
                    Finding(
                        "loggingConfig.logGroup",
                        f"{group} is not created by the stack: Lambda would "
                        "create it on first use, keeping logs forever",
                        "create the log group with a retention",
                    ),
                )
            )
    return found
