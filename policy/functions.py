"""The function's policies: who may invoke it, its runtime, its environment's secrets, and its
logs' retention."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from policy.findings import FUNCTION, LOG_GROUP, PERMISSION, Finding, get_path
from policy.values import UNKNOWN, Secret


def lambda_invoke_scoped(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """Lambda.1: an invoke permission names a service principal and the one source that may invoke."""
    if typ != PERMISSION:
        return []
    principal = props.get("principal")
    if principal in (None, "*") or (isinstance(principal, str) and not principal.endswith(".amazonaws.com")):
        return [
            Finding(
                "principal",
                f"{principal!r} lets any account invoke the function",
                "grant the invoke to elasticloadbalancing.amazonaws.com with source_arn = the target group",
            )
        ]
    source = props.get("sourceArn")
    if not source:
        return [
            Finding(
                "sourceArn",
                f"missing: every {principal} resource of every account may invoke the function",
                "set source_arn to the target group's ARN",
            )
        ]
    if principal == "elasticloadbalancing.amazonaws.com" and ":targetgroup/" not in str(source):
        return [
            Finding("sourceArn", f"{source!r} is not a target group ARN", "set source_arn to the target group's ARN")
        ]
    return []


def lambda_supported_runtime(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """Lambda.2: the function runs on a runtime AWS still supports."""
    if typ != FUNCTION or props.get("packageType") == "Image":
        return []
    runtime = props.get("runtime")
    allowed = list(config["runtimes"])
    if runtime in allowed:
        return []
    return [
        Finding(
            "runtime", f"{runtime!r} is not a supported runtime", f"set function.runtime to one of {', '.join(allowed)}"
        )
    ]


def _secret_like(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name.upper(), p.upper()) for p in patterns)


def function_env_no_plaintext_secret(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """A variable whose name says it holds a secret carries a Pulumi secret, never a plaintext value.

    A plaintext value sits unencrypted in the state and in every preview; a secret stack config
    value (``pulumi config set --secret``) arrives here marked as ``Secret``.
    """
    if typ != FUNCTION:
        return []
    environment = props.get("environment")
    if isinstance(environment, Secret | type(UNKNOWN)):
        return []  # all of it secret, or not known before the update
    variables = get_path(environment or {}, "variables")
    if not isinstance(variables, Mapping):
        return []
    allowed = set(config["allowNames"])
    findings = []
    for name, value in variables.items():
        if name in allowed or not _secret_like(name, config["namePatterns"]):
            continue
        if isinstance(value, Secret) or value is UNKNOWN:
            continue
        findings.append(
            Finding(
                f"environment.variables.{name}",
                "looks like a secret but is stored as plaintext in the state and shown in previews",
                f"set it with `pulumi config set --secret --path 'function.environment.{name}'`, or add "
                f"{name} to this policy's allowNames if it is not a secret",
            )
        )
    return findings


def log_group_retention(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """Logs do not live forever: every log group has a retention."""
    if typ != LOG_GROUP:
        return []
    days = props.get("retentionInDays")
    if days and days > 0:
        return []
    return [
        Finding(
            "retentionInDays",
            f"is {days!r}: the logs are kept (and billed) forever",
            "set a retention (function.logRetentionDays, waf.logRetentionDays)",
        )
    ]
