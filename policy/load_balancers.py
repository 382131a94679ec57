"""The load balancer's policies: its ELB controls (invalid headers, access logs, desync mitigation,
zones, TLS 1.3 listeners) and its security group."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from policy.findings import LISTENER, LOAD_BALANCER, SECURITY_GROUP, Finding, as_list

# Only TLS 1.3 policies whose minimum is TLS 1.2 or 1.3 (TLS13-1-0 and TLS13-1-1 still allow 1.0/1.1).
TLS13_POLICY_RE = re.compile(r"^ELBSecurityPolicy-TLS13-1-[23]-")


def _application(props: Mapping[str, Any]) -> bool:
    return (props.get("loadBalancerType") or "application") == "application"


def elb_invalid_headers_dropped(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """ELB.4: an Application Load Balancer drops header fields that are not valid HTTP."""
    if typ != LOAD_BALANCER or not _application(props) or props.get("dropInvalidHeaderFields") is True:
        return []
    return [
        Finding(
            "dropInvalidHeaderFields",
            f"is {props.get('dropInvalidHeaderFields')!r}, not true",
            "set drop_invalid_header_fields=True on the load balancer",
        )
    ]


def elb_access_logs(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """ELB.5: access logs are on and go to a bucket."""
    if typ != LOAD_BALANCER:
        return []
    logs = props.get("accessLogs")
    if isinstance(logs, Mapping) and logs.get("enabled") is True and logs.get("bucket"):
        return []
    return [
        Finding(
            "accessLogs",
            "access logging is off (no enabled access_logs with a bucket)",
            "keep accessLogs.enabled true in the stack file (the default), which logs to the dedicated bucket",
        )
    ]


def elb_desync_mitigation(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """ELB.12: desync mitigation is defensive or strictest (unset means the API default, defensive)."""
    if typ != LOAD_BALANCER or not _application(props):
        return []
    mode = props.get("desyncMitigationMode") or "defensive"
    if mode in ("defensive", "strictest"):
        return []
    return [
        Finding(
            "desyncMitigationMode",
            f"is {mode!r}, which does not block desync attacks",
            "set loadBalancer.desyncMitigationMode to defensive or strictest",
        )
    ]


def elb_several_zones(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """ELB.13: at least two subnets (the program checks they are in different zones before creating)."""
    if typ != LOAD_BALANCER:
        return []
    count = len(as_list(props.get("subnets"))) or len(as_list(props.get("subnetMappings")))
    if count >= 2:
        return []
    return [
        Finding(
            "subnets",
            f"{count} subnet(s); one zone going down takes the load balancer with it",
            "give loadBalancer.subnetIds two or more subnets in different availability zones",
        )
    ]


def elb_tls13_policy(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """ELB.17: every HTTPS listener names a TLS 1.3 policy whose minimum is TLS 1.2 (never unset)."""
    if typ != LISTENER or props.get("protocol") not in ("HTTPS", "TLS"):
        return []
    policy = props.get("sslPolicy")
    if isinstance(policy, str) and TLS13_POLICY_RE.match(policy):
        return []
    problem = (
        "is unset, so AWS applies a policy that still allows TLS 1.0"
        if not policy
        else f"{policy!r} is not a TLS 1.3 policy with TLS 1.2 or newer as minimum"
    )
    return [
        Finding(
            "sslPolicy",
            problem,
            "set loadBalancer.sslPolicy to ELBSecurityPolicy-TLS13-1-2-2021-06 or another "
            "ELBSecurityPolicy-TLS13-1-2-*/1-3-* policy",
        )
    ]


def security_group_least_open(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """Only the listener ports are open, each rule described, no all-protocol egress.

    Accepted exception, as data: ``worldOpenPorts`` may be open to 0.0.0.0/0 (port 80 in prod only
    redirects to HTTPS).
    """
    if typ != SECURITY_GROUP:
        return []
    findings = []
    ports = set(config["allowedPorts"])
    for i, rule in enumerate(as_list(props.get("ingress"))):
        where = f"ingress[{i}]"
        if str(rule.get("protocol")) in ("-1", "all"):
            findings.append(
                Finding(f"{where}.protocol", "opens every protocol and port", "open only the listener ports over tcp")
            )
            continue
        low, high = rule.get("fromPort"), rule.get("toPort")
        if low != high or low not in ports:
            findings.append(
                Finding(
                    f"{where}.fromPort",
                    f"opens {low}-{high}; only {sorted(ports)} are listener ports",
                    "open exactly the listener ports",
                )
            )
        if not rule.get("description"):
            findings.append(Finding(f"{where}.description", "is empty", "say what the rule is for"))
    for i, rule in enumerate(as_list(props.get("egress"))):
        everywhere = {"0.0.0.0/0", "::/0"} & set(as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks")))
        if str(rule.get("protocol")) in ("-1", "all") and everywhere:
            findings.append(
                Finding(
                    f"egress[{i}]",
                    "allows all traffic to anywhere",
                    "remove it: a load balancer with Lambda targets needs no egress",
                )
            )
    return findings
