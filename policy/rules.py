"""The policies: plain functions over a resource's type and properties (no Pulumi import).

A resource check is ``check(type, props, config) -> [Finding]``; a stack check is
``check([Resource], config) -> [(Resource, Finding)]``. ``props`` are the resource's inputs with
the provider's camelCase keys, as the engine sends them to a policy pack. ``config`` is the
policy's configuration from the pack's config file, over the policy's ``defaults``.
A finding names the property, what is wrong, and the fix; ``message`` adds the resource.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy.taggable import takes_tags
from policy.values import UNKNOWN, Secret, plain

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

# Only TLS 1.3 policies whose minimum is TLS 1.2 or 1.3 (TLS13-1-0 and TLS13-1-1 still allow 1.0/1.1).
TLS13_POLICY_RE = re.compile(r"^ELBSecurityPolicy-TLS13-1-[23]-")
# Verbs of IAM actions that destroy or cut something off (Delete*, Revoke*, ScheduleKeyDeletion...).
# The deploy review's list (Delete, Put, Modify, Update, Revoke, Authorize, Schedule, Change, Set,
# Remove, Detach, Disassociate) and the other verbs that destroy.
DESTRUCTIVE_VERBS = (
    "Delete", "Put", "Modify", "Update", "Revoke", "Authorize", "Schedule", "Change", "Set", "Remove",
    "Detach", "Disassociate", "Destroy", "Terminate", "Deregister", "Disable", "Purge",
)  # fmt: skip
DESTRUCTIVE_RE = re.compile(r"^(" + "|".join(DESTRUCTIVE_VERBS) + ")")


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


def message(resource_type: str, resource_name: str, finding: Finding) -> str:
    """The violation as a reviewer reads it: resource, property, problem, fix."""
    return f"{resource_name} ({resource_type}): {finding.property}: {finding.problem}. Fix: {finding.fix}"


def _get(props: Mapping[str, Any], *path: str) -> Any:
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | Mapping):
        return [value]
    return list(value)


# -- Load balancer -------------------------------------------------------------------------------


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
    count = len(_list(props.get("subnets"))) or len(_list(props.get("subnetMappings")))
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


# -- Lambda --------------------------------------------------------------------------------------


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
    variables = _get(environment or {}, "variables")
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


# -- Network -------------------------------------------------------------------------------------


def security_group_least_open(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """Only the listener ports are open, each rule described, no all-protocol egress.

    Accepted exception, as data: ``worldOpenPorts`` may be open to 0.0.0.0/0 (port 80 in prod only
    redirects to HTTPS).
    """
    if typ != SECURITY_GROUP:
        return []
    findings = []
    ports = set(config["allowedPorts"])
    for i, rule in enumerate(_list(props.get("ingress"))):
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
    for i, rule in enumerate(_list(props.get("egress"))):
        everywhere = {"0.0.0.0/0", "::/0"} & set(_list(rule.get("cidrBlocks")) + _list(rule.get("ipv6CidrBlocks")))
        if str(rule.get("protocol")) in ("-1", "all") and everywhere:
            findings.append(
                Finding(
                    f"egress[{i}]",
                    "allows all traffic to anywhere",
                    "remove it: a load balancer with Lambda targets needs no egress",
                )
            )
    return findings


# -- S3 ------------------------------------------------------------------------------------------


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
    ownership = _get(props, "rule", "objectOwnership")
    if ownership == "BucketOwnerEnforced":
        return []
    return [Finding("rule.objectOwnership", f"is {ownership!r}: ACLs still apply", "set it to BucketOwnerEnforced")]


def s3_encryption(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """Objects are encrypted at rest. Accepted exception, as data: SSE-S3 (AES256), since ALB
    access logs cannot be delivered to an SSE-KMS bucket."""
    if typ != BUCKET_ENCRYPTION:
        return []
    algorithms = [
        _get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") for rule in _list(props.get("rules"))
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
    for rule in _list(props.get("rules")):
        if (
            rule.get("status") == "Enabled"
            and _get(rule, "expiration", "days")
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


def _document(props: Mapping[str, Any], key: str = "policy") -> dict[str, Any] | None:
    raw = props.get(key)
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        document = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in _list(document.get("Statement")) if isinstance(s, Mapping)]


def _denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    actions = set(_list(statement.get("Action")))
    secure = _get(statement, "Condition", "Bool", "aws:SecureTransport")
    return statement.get("Effect") == "Deny" and bool(actions & {"s3:*", "*"}) and str(secure).lower() == "false"


def s3_bucket_policy(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """S3.5: non-TLS requests are denied; S3.6: nobody else gets more than ``allowedActions``."""
    if typ != BUCKET_POLICY:
        return []
    document = _document(props)
    if document is None:
        return [Finding("policy", "is not a JSON policy document", "give the bucket a JSON policy")]
    findings = []
    statements = _statements(document)
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
        if principal == "*" or (isinstance(principal, Mapping) and "*" in _list(principal.get("AWS"))):
            findings.append(
                Finding(f"policy.Statement[{i}].Principal", "allows anyone", "name the principal that needs access")
            )
        extra = sorted(set(_list(statement.get("Action"))) - allowed)
        if extra:
            findings.append(
                Finding(
                    f"policy.Statement[{i}].Action",
                    f"grants {extra}",
                    f"grant only {sorted(allowed)} (log delivery), on the log prefix",
                )
            )
    return findings


# -- IAM -----------------------------------------------------------------------------------------


def _iam_document(typ: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
    return _document(props) if typ in (ROLE_POLICY, IAM_POLICY) else None


def iam_least_privilege(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """No ``*`` action, no service-wide wildcard (``s3:*``), no NotAction or NotResource in an Allow."""
    document = _iam_document(typ, props)
    if document is None:
        return []
    findings = []
    for i, statement in enumerate(_statements(document)):
        if statement.get("Effect") != "Allow":
            continue
        for key in ("NotAction", "NotResource"):
            if key in statement:
                findings.append(
                    Finding(
                        f"policy.Statement[{i}].{key}",
                        "allows everything except a list",
                        "list the actions and resources that are needed",
                    )
                )
        wide = [a for a in _list(statement.get("Action")) if a == "*" or str(a).endswith(":*")]
        if wide:
            findings.append(
                Finding(
                    f"policy.Statement[{i}].Action",
                    f"{wide} allows every action of a service",
                    "name the actions the role needs",
                )
            )
    return findings


def _destructive(action: str) -> bool:
    if action == "*":
        return True
    _, _, verb = action.partition(":")
    if "*" in verb or "?" in verb:
        # A wildcard is destructive when some destructive action fits it: its text before the first
        # wildcard and a destructive verb agree as far as both go (Delete*, Del*, *, *Bucket, s3:*Object).
        fixed = re.split(r"[*?]", verb, maxsplit=1)[0]
        return any(v.startswith(fixed) or fixed.startswith(v) for v in DESTRUCTIVE_VERBS)
    return bool(DESTRUCTIVE_RE.match(verb))


def iam_no_unconditional_destructive_wildcard(
    typ: str, props: Mapping[str, Any], config: Mapping[str, Any]
) -> list[Finding]:
    """No Allow of a destructive action (Delete*, Revoke*, ScheduleKeyDeletion...) on ``*`` without a
    Condition: a deploy role that can delete anything in the account can delete other stacks."""
    document = _iam_document(typ, props)
    if document is None:
        return []
    findings = []
    for i, statement in enumerate(_statements(document)):
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        if "*" not in _list(statement.get("Resource")):
            continue
        accepted = set(config.get("acceptedUnscoped") or ())
        destructive = sorted(a for a in _list(statement.get("Action")) if _destructive(str(a)) and a not in accepted)
        if destructive:
            sid = statement.get("Sid") or i
            findings.append(
                Finding(
                    f"policy.Statement[{sid}]",
                    f"allows {destructive} on every resource, unconditionally",
                    "scope Resource to the stack's own ARNs (name prefix), or add a Condition "
                    "(e.g. aws:ResourceTag/stack) that limits it to the stack's resources",
                )
            )
    return findings


# -- Tags ----------------------------------------------------------------------------------------


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


# -- Operations ----------------------------------------------------------------------------------


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
    redacted = {str(_get(f, "singleHeader", "name")).lower() for f in _list(props.get("redactedFields"))}
    missing = [h for h in config["headers"] if h not in redacted]
    if not missing:
        return []
    return [Finding("redactedFields", f"does not redact {missing}", f"redact the single headers {missing}")]


# -- Stack policies ------------------------------------------------------------------------------


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
        actions = _list(listener.props.get("defaultActions"))
        redirect = _get(actions[0], "redirect") if len(actions) == 1 else None
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
        group = _get(fn.props, "loggingConfig", "logGroup") or f"/aws/lambda/{fn.props.get('name')}"
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
        # (WAF logging to CloudWatch Logs); the same list as bootstrap/access.py's UNSCOPABLE.
        # X-Ray has no resource-level permissions at all.
        defaults={
            "acceptedUnscoped": [
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
