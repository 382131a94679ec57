"""The bootstrap stack's configuration per stack (``StackInputs``), its checks, and the certificate
a main-project stack file names. Plain Python."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ZONE_RE = re.compile(r"^Z[A-Z0-9]{1,31}$")
_CERTIFICATE_RE = re.compile(r"^arn:aws(-[a-z]+)*:acm:[a-z0-9-]+:\d{12}:certificate/[\w-]+$")
_WEB_ACL_RE = re.compile(r"^arn:aws(-[a-z]+)*:wafv2:[a-z0-9-]+:\d{12}:regional/webacl/[\w-]+/[\w-]+$")


@dataclass(frozen=True)
class StackInputs:
    """What the bootstrap's configuration says of one stack: its hosted zone (and the zone's name,
    looked up), and the resources it uses but does not create."""

    hosted_zone_id: str = ""
    zone_name: str = ""
    web_acl_arns: tuple[str, ...] = ()  # shared web ACLs it may put in front of its load balancer
    certificate_arns: tuple[str, ...] = ()  # certificates it uses: no deploy role may change them


def check_inputs(
    repository: str, prefix: str, state_bucket: str, stacks: dict[str, StackInputs] | None = None
) -> list[str]:
    """Problems with the bootstrap stack's configuration, each naming the key."""
    problems = []
    if not _REPOSITORY_RE.match(repository or ""):
        problems.append(f"githubRepository: {repository!r} is not owner/name (e.g. acme/lambda-alb)")
    if not _PREFIX_RE.match(prefix or ""):
        problems.append(f"projectPrefix: {prefix!r} must be lower-case letters, digits and -, 2-31 characters")
    if state_bucket and not _BUCKET_RE.match(state_bucket):
        problems.append(f"stateBucket: {state_bucket!r} is not an S3 bucket name")
    stacks = stacks or {}
    zones = {stack: inputs.hosted_zone_id for stack, inputs in stacks.items() if inputs.hosted_zone_id}
    for stack, zone in zones.items():
        if not _ZONE_RE.match(zone):
            problems.append(
                f"{stack}HostedZoneId: {zone!r} is not a Route 53 hosted zone ID (Z followed by letters and digits)"
            )
    for stack, inputs in stacks.items():
        for arn in inputs.certificate_arns:
            if not _CERTIFICATE_RE.match(arn):
                problems.append(f"{stack}CertificateArns: {arn!r} is not an ACM certificate ARN")
        for arn in inputs.web_acl_arns:
            if not _WEB_ACL_RE.match(arn):
                problems.append(f"{stack}WebAclArns: {arn!r} is not a regional WAFv2 web ACL ARN")
    for key, owners in _shared(stacks, "hosted_zone_id", "HostedZoneId").items():
        problems.append(
            f"{' and '.join(owners)}: all are {key!r}, so one stack's deploy role could change the other's "
            "records; give each stack its own zone (for example a delegated dev.example.com)"
        )
    for key, owners in _shared(stacks, "web_acl_arns", "WebAclArns").items():
        problems.append(
            f"{' and '.join(owners)}: all name {key!r}; a web ACL in front of both stacks' load balancers "
            "could not be replaced by either: give each stack its own ACL"
        )
    return problems


def _shared(stacks: dict[str, StackInputs], field: str, suffix: str) -> dict[str, list[str]]:
    """Values of ``field`` that more than one stack names, with the config keys that name them."""
    owners: dict[str, list[str]] = {}
    for stack, inputs in sorted(stacks.items()):
        values = getattr(inputs, field)
        for value in [values] if isinstance(values, str) else values:
            if value:
                owners.setdefault(value, []).append(f"{stack}{suffix}")
    return {value: keys for value, keys in owners.items() if len(keys) > 1}


def stack_file_certificates(project_dir: Path, stack: str) -> tuple[str, ...]:
    """The certificate a stack file of the main project names (``loadBalancer.certificateArn``): a
    certificate the stack uses but does not create, which no deploy role may change."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return ()
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    arn = (config.get("lambda-alb:loadBalancer") or {}).get("certificateArn")
    return (arn,) if isinstance(arn, str) and _CERTIFICATE_RE.match(arn) else ()
