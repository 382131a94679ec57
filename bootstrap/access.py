"""Who may assume the pipeline's roles, and what each role may do. Plain Python (no pulumi import).

Four roles, one reader and one deployer per stack, each trusted by GitHub's OIDC provider for jobs of
one repository that run in one of the GitHub environments listed in ``ENVIRONMENTS``:

- ``preview-<stack>``: ``pulumi preview`` (and the drift check's ``--refresh``) of its stack; reads
  only, and in the state bucket writes nothing but its own stack's lock files.
- ``deploy-<stack>``: ``pulumi up`` of its stack, from ``main`` only; ``deploy-prod`` only from the
  ``prod`` environment, which asks a reviewer's approval.

Each stack's secrets (its passphrase or Pulumi token) live only in its own environments, so a job
reaches prod's secrets only through an environment that demands approval or runs on ``main``. The
OIDC subject names the environment and the git ref (the repository's subject template is
``repo``, ``context``, ``ref``): a deploy role trusts ``ref:refs/heads/main`` only.

A deploy role may change only its own stack's resources. Where a resource's ARN carries its name
(``<prefix>-<stack>...``), the policy names it; where it does not (security groups, ACM
certificates), it requires the ``stack`` tag: ``aws:RequestTag/stack`` when the resource is
created, ``aws:ResourceTag/stack`` afterwards, never ``...IfExists``; no role may remove the
``stack`` tag or set it to another stack. Where AWS offers a condition key that pins a request to
the stack (the alarm's actions, the WAF log destination, the certificate's domain names, the role's
permissions boundary), the policy uses it. KMS keys, the function permissions boundaries and the
account's log resource policy for WAF come from the bootstrap, so no deploy role creates or
administers a key or a policy. The few actions AWS cannot scope at all are listed in
``UNSCOPABLE`` with the reason. The pipeline's own roles are named ``ci-<prefix>-...``, outside
every name a deploy role may touch.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
# The claims the repository's OIDC subject template includes, in order (docs/delivery.md shows the
# one-time `gh api` call): the subject then reads repo:<owner>/<name>:environment:<env>:ref:<ref>.
SUBJECT_CLAIMS = ("repo", "context", "ref")
MAIN = "refs/heads/main"
_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ZONE_RE = re.compile(r"^Z[A-Z0-9]{1,31}$")
_CERTIFICATE_RE = re.compile(r"^arn:aws(-[a-z]+)*:acm:[a-z0-9-]+:\d{12}:certificate/[\w-]+$")
_WEB_ACL_RE = re.compile(r"^arn:aws(-[a-z]+)*:wafv2:[a-z0-9-]+:\d{12}:regional/webacl/[\w-]+/[\w-]+$")

STACKS = ("dev", "prod")
# The review stacks: pr<number>, one per pull request, all served by one role. IAM has no character
# classes, so "pr" and a digit start every pattern: "pr*" alone would also match prod.
REVIEW = "review"
REVIEW_STACKS = tuple(f"pr{digit}*" for digit in range(10))
# Each role and the stack (or the family of review stacks) it serves.
ROLES = {
    "preview-dev": "dev",
    "preview-prod": "prod",
    "deploy-dev": "dev",
    "deploy-prod": "prod",
    REVIEW: REVIEW,
}


def stack_values(stack: str) -> tuple[str, ...]:
    """The stack names a scope covers, as IAM patterns: the stack itself, or every review stack."""
    return REVIEW_STACKS if stack == REVIEW else (stack,)


@dataclass(frozen=True)
class Environment:
    """A GitHub environment: the role its jobs assume, the stack whose secrets it holds, and the
    protection an administrator gives it (docs/delivery.md)."""

    name: str
    role: str
    main_only: bool  # deployment branches: main only (else any branch, pull requests included)
    reviewers: bool  # required reviewers approve each job
    pull_requests_and_main: bool = False  # trusted for pull requests' refs and main only

    @property
    def stack(self) -> str:
        return ROLES[self.role]

    @property
    def refs(self) -> tuple[str, ...]:
        """The refs in the OIDC subject of its jobs: main, pull requests and main, or any."""
        if self.pull_requests_and_main:
            return ("refs/pull/*", MAIN)
        return (MAIN,) if self.main_only else ("*",)


ENVIRONMENTS = (
    Environment("dev-preview", "preview-dev", main_only=False, reviewers=False),
    Environment("dev", "deploy-dev", main_only=True, reviewers=False),
    Environment("prod-preview", "preview-prod", main_only=False, reviewers=True),
    Environment("prod-read", "preview-prod", main_only=True, reviewers=False),
    Environment("prod", "deploy-prod", main_only=True, reviewers=True),
    # Review stacks: deployed from pull requests of this repository (forks get no token), swept from main.
    Environment("review", REVIEW, main_only=False, reviewers=False, pull_requests_and_main=True),
)

# The tags the main program puts on every taggable resource; the deploy roles scope by STACK_TAG.
STACK_TAG = "stack"
PROJECT_TAG = "project"

Statement = dict[str, Any]


@dataclass(frozen=True)
class StackInputs:
    """What the bootstrap's configuration says of one stack: its hosted zone (and the zone's name,
    looked up), and the resources it uses but does not create."""

    hosted_zone_id: str = ""
    zone_name: str = ""
    web_acl_arns: tuple[str, ...] = ()  # shared web ACLs it may put in front of its load balancer
    certificate_arns: tuple[str, ...] = ()  # certificates it uses: no deploy role may change them


def service_name(prefix: str, stack: str) -> str:
    """Every resource of a stack is named ``<prefix>-<stack>`` or ``<prefix>-<stack>-...``."""
    return f"{prefix}-{stack}"


def exact_names(prefix: str, stack: str) -> tuple[str, ...]:
    """The service names of a scope: ``<prefix>-<stack>``, or a pattern per review-stack digit."""
    return tuple(service_name(prefix, value) for value in stack_values(stack))


def child_names(prefix: str, stack: str) -> tuple[str, ...]:
    """The names of a scope's resources: ``<prefix>-<stack>-*`` (the review patterns cover both)."""
    return exact_names(prefix, stack) if stack == REVIEW else (f"{service_name(prefix, stack)}-*",)


def stack_condition(kind: str, stack: str, negated: bool = False) -> dict[str, dict[str, Any]]:
    """``aws:<kind>/stack`` is (or, ``negated``, is not) the stack, or a review stack."""
    values = stack_values(stack)
    operator = (
        ("StringNotLike" if negated else "StringLike")
        if stack == REVIEW
        else ("StringNotEquals" if negated else "StringEquals")
    )
    return {operator: {f"aws:{kind}/{STACK_TAG}": values[0] if len(values) == 1 else list(values)}}


def boundary_name(prefix: str, stack: str) -> str:
    """Name of the managed policy every function role of ``stack`` must carry."""
    return f"{prefix}-{stack}-function-boundary"


def key_alias(prefix: str, stack: str) -> str:
    """The alias of the stack's KMS key (its functions' variables, its alarm topic)."""
    return f"alias/{prefix}-{stack}"


def function_boundary_policy(account: str, prefix: str, stack: str, key_arn: str = "") -> str:
    """The most a function role of ``stack`` can ever do: write to the stack's function log groups,
    send traces (X-Ray has no resource-level permissions, hence ``*``), decrypt its variables with
    the stack's key, and, for a function in a VPC, manage network interfaces with security groups
    that carry the stack's tag (each role's own policy narrows them to its subnets and groups)."""
    log_groups = [f"arn:aws:logs:*:{account}:log-group:/aws/lambda/{name}" for name in exact_names(prefix, stack)]
    ec2 = f"arn:aws:ec2:*:{account}"
    variables: list[Statement] = (
        # Lambda decrypts the variables with the function's role (function.kmsKeyArn).
        [{"Sid": "FunctionVariables", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key_arn}]
        if key_arn
        else []
    )
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "FunctionLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": sorted({r for g in log_groups for r in (g, f"{g}:*", f"{g}-*")}),
                },
                {
                    "Sid": "FunctionTraces",
                    "Effect": "Allow",
                    "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                    "Resource": "*",
                },
                *variables,
                {
                    # A function in a VPC (function.vpc): Lambda creates its interfaces with the role.
                    "Sid": "FunctionNetworkInterfaces",
                    "Effect": "Allow",
                    "Action": ["ec2:CreateNetworkInterface"],
                    "Resource": [f"{ec2}:network-interface/*", f"{ec2}:subnet/*"],
                },
                {
                    # ... and only with security groups of its own stack: never inside another's.
                    "Sid": "FunctionSecurityGroups",
                    "Effect": "Allow",
                    "Action": ["ec2:CreateNetworkInterface"],
                    "Resource": f"{ec2}:security-group/*",
                    "Condition": stack_condition("ResourceTag", stack),
                },
                {
                    # As the function roles' own policies ask (Lambda checks these against every
                    # resource of the account); each role's policy narrows them.
                    "Sid": "FunctionNetworkInterfacesManage",
                    "Effect": "Allow",
                    "Action": [
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:DeleteNetworkInterface",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    "Resource": f"{ec2}:*/*",
                },
                {
                    "Sid": "DescribeNetworkInterfaces",
                    "Effect": "Allow",
                    "Action": ["ec2:DescribeNetworkInterfaces"],
                    "Resource": "*",
                },
            ],
        }
    )


def stack_key_policy(account: str) -> str:
    """The policy of a stack's KMS key: IAM decides who uses it (the account's root delegates to
    IAM, so an administrator never loses it), and CloudWatch may encrypt alarm notifications for the
    stack's encrypted topic. No deploy role may change this policy or the key."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersTheKeyThroughIam",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchAlarmsEncryptNotifications",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                },
            ],
        }
    )


def waf_log_resource_policy(account: str, prefix: str) -> str:
    """The account's CloudWatch Logs resource policy that lets WAF deliver logs to the project's
    ``aws-waf-logs-<prefix>-*`` groups. Made once by the bootstrap: with it in place WAF adds none,
    so no deploy role needs ``logs:PutResourcePolicy`` (which could overwrite it for every stack)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "WafLogDelivery",
                    "Effect": "Allow",
                    "Principal": {"Service": "delivery.logs.amazonaws.com"},
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"arn:aws:logs:*:{account}:log-group:aws-waf-logs-{prefix}-*:*",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {"aws:SourceArn": f"arn:aws:logs:*:{account}:*"},
                    },
                }
            ],
        }
    )


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


def role_name(prefix: str, kind: str) -> str:
    """``ci-<prefix>-<kind>``: outside the ``<prefix>-*`` names the deploy roles may manage."""
    return f"ci-{prefix}-{kind}"


def subject(repository: str, environment: str, ref: str) -> str:
    """The OIDC ``sub`` of a job in ``environment`` on ``ref``, under the repository's template."""
    return f"repo:{repository}:environment:{environment}:ref:{ref}"


def subjects(repository: str, kind: str) -> list[str]:
    """Every subject the role ``kind`` trusts: its environments' jobs, on main where the
    environment is main-only."""
    return [subject(repository, e.name, ref) for e in ENVIRONMENTS if e.role == kind for ref in e.refs]


def trust_policy(provider_arn: str, repository: str, kind: str) -> str:
    """Only GitHub's OIDC tokens for ``repository`` and the role's environments, for AWS STS."""
    allowed = subjects(repository, kind)
    operator = "StringLike" if any("*" in s for s in allowed) else "StringEquals"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": AUDIENCE},
                        operator: {f"{GITHUB_OIDC_HOST}:sub": allowed[0] if len(allowed) == 1 else allowed},
                    },
                }
            ],
        },
        sort_keys=True,
    )


def _statement(
    sid: str, actions: list[str], resources: list[str] | str, condition: dict | None = None, effect: str = "Allow"
) -> Statement:
    statement: Statement = {"Sid": sid, "Effect": effect, "Action": sorted(actions), "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


# What `pulumi preview` reads: the program's lookups and, with --refresh, every resource's state.
# Each action here is a read (Describe/Get/List); tests/test_permissions.py derives the reads the
# provider makes and fails when one is missing.
READ_ACTIONS = {
    "Lookups": [
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "sts:GetCallerIdentity",
        "route53:ListHostedZones",
        "route53:ListHostedZonesByName",
        "route53:GetHostedZone",
        "route53:ListTagsForResource",
    ],
    "ReadState": [
        "ec2:DescribeAccountAttributes",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeNetworkInterfaces",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:DescribeTags",
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
        "iam:ListRolePolicies",
        "iam:ListRoleTags",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:ListTagsForResource",
        "logs:ListTagsLogGroup",
        "s3:GetAccelerateConfiguration",
        "s3:GetBucketAcl",
        "s3:GetBucketCORS",
        "s3:GetBucketLogging",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketOwnershipControls",
        "s3:GetBucketPolicy",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketRequestPayment",
        "s3:GetBucketTagging",
        "s3:GetBucketVersioning",
        "s3:GetBucketWebsite",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
        "acm:DescribeCertificate",
        "acm:ListTagsForCertificate",
        "route53:GetChange",
        "route53:ListResourceRecordSets",
        "wafv2:GetLoggingConfiguration",
        "wafv2:GetWebACL",
        "wafv2:GetWebACLForResource",
        "wafv2:ListTagsForResource",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:GetDashboard",
        "cloudwatch:ListTagsForResource",
        "sns:GetSubscriptionAttributes",
        "sns:GetTopicAttributes",
        "sns:ListTagsForResource",
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
    ],
}

# The function reads, allowed on the stack's own functions only: GetFunction and
# GetFunctionConfiguration return its environment variables.
FUNCTION_READ_ACTIONS = [
    "lambda:GetAlias",
    "lambda:GetFunction",
    "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionConfiguration",
    "lambda:GetPolicy",
    "lambda:GetProvisionedConcurrencyConfig",
    "lambda:ListTags",
    "lambda:ListVersionsByFunction",
]

# Every action that adds, changes or removes a tag on the kinds of resource the program creates.
TAGGING_ACTIONS = [
    "acm:AddTagsToCertificate",
    "acm:RemoveTagsFromCertificate",
    "cloudwatch:TagResource",
    "cloudwatch:UntagResource",
    "ec2:CreateTags",
    "ec2:DeleteTags",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:RemoveTags",
    "iam:TagRole",
    "iam:UntagRole",
    "kms:TagResource",
    "kms:UntagResource",
    "lambda:TagResource",
    "lambda:UntagResource",
    "logs:TagLogGroup",
    "logs:TagResource",
    "logs:UntagLogGroup",
    "logs:UntagResource",
    "sns:TagResource",
    "sns:UntagResource",
    "wafv2:TagResource",
    "wafv2:UntagResource",
]


def _removes_tags(action: str) -> bool:
    return action.split(":")[1].startswith(("Untag", "Remove", "Delete"))


# Actions AWS cannot scope to a stack (no resource type and no condition key that would tell one
# stack's call from another's), with the reason they are granted anyway. docs/delivery.md lists
# them; tests/test_permissions.py fails on any other unscoped destructive grant.
UNSCOPABLE = {
    "logs:CreateLogDelivery": (
        "WAF log delivery, checked with the caller's permission; no resource type, no condition key"
    ),
    "logs:DeleteLogDelivery": (
        "removing the WAF logging configuration removes its delivery; no resource type, no condition key"
    ),
    "elasticloadbalancing:SetWebAcl": (
        "a permission-only check WAF makes together with wafv2:AssociateWebACL/DisassociateWebACL, which are "
        "pinned to the stack's own load balancer; no API of its own, no resource type, no condition key"
    ),
}


def state_paths(project: str, stack: str) -> dict[str, list[str]]:
    """The self-managed (S3) backend's keys for one project-scoped stack (pulumi/pkg/backend/diy):
    what a preview and a deploy of it read and write."""
    values = stack_values(stack)
    stack_files = [f".pulumi/stacks/{project}/{v}.json*" for v in values]
    locks = [f".pulumi/locks/organization/{project}/{v}/*" for v in values]
    history = [p for v in values for p in (f".pulumi/history/{project}/{v}/*", f".pulumi/backups/{project}/{v}/*")]
    return {
        "preview-read": [".pulumi/meta.yaml", *stack_files, *locks],
        "preview-write": locks,
        "deploy-read": [".pulumi/meta.yaml", *stack_files, *history, *locks],
        "deploy-write": [*stack_files, *history, *locks],
    }


def _state_bucket_statements(state_bucket: str, project: str, stack: str, operation: str) -> list[Statement]:
    """List the bucket (the backend lists stacks by their keys' names); read and write only this
    stack's objects: a deploy role its state, history and locks, a preview role its locks."""
    if not state_bucket:
        return []
    bucket = f"arn:aws:s3:::{state_bucket}"
    paths = state_paths(project, stack)
    return [
        _statement("PulumiStateList", ["s3:ListBucket"], bucket),
        _statement("PulumiStateRead", ["s3:GetObject"], [f"{bucket}/{p}" for p in paths[f"{operation}-read"]]),
        _statement(
            "PulumiStateWrite",
            ["s3:PutObject", "s3:DeleteObject"],
            [f"{bucket}/{p}" for p in paths[f"{operation}-write"]],
        ),
    ]


def _reads(account: str, prefix: str, stack: str) -> list[Statement]:
    """What every role of a stack reads: lookups and resource state anywhere (names and settings,
    no secret), its own functions only (their variables)."""
    return [
        _statement("Lookups", READ_ACTIONS["Lookups"], "*"),
        _statement("ReadState", READ_ACTIONS["ReadState"], "*"),
        _statement("ReadOwnFunctions", FUNCTION_READ_ACTIONS, _functions(account, prefix, stack)),
    ]


def _functions(account: str, prefix: str, stack: str) -> list[str]:
    """The ARNs of a scope's functions, their versions and aliases."""
    exact = [f"arn:aws:lambda:*:{account}:function:{name}" for name in exact_names(prefix, stack)]
    children = [f"arn:aws:lambda:*:{account}:function:{name}" for name in child_names(prefix, stack)]
    return sorted({*exact, *(f"{arn}:*" for arn in exact), *children})


def preview_policy(account: str, prefix: str, stack: str, state_bucket: str = "") -> str:
    """Reads only: what `pulumi preview` (and `--refresh`) of ``stack`` needs, plus its lock files.
    No KMS permission: a function variable encrypted with the stack's key stays unreadable."""
    statements = _reads(account, prefix, stack) + _state_bucket_statements(state_bucket, prefix, stack, "preview")
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _own_tag(kind: str, stack: str) -> dict[str, dict[str, Any]]:
    return stack_condition(kind, stack)


def _merged(*conditions: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One Condition block from several (their operators' keys combined)."""
    merged: dict[str, dict[str, Any]] = {}
    for condition in conditions:
        for operator, keys in condition.items():
            merged.setdefault(operator, {}).update(keys)
    return merged


# Every IAM action on a function role that can require the stack's boundary on the role (tagging
# cannot: iam:TagRole and iam:UntagRole do not support iam:PermissionsBoundary).
FUNCTION_ROLE_ACTIONS = [
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
]
FUNCTION_ROLE_TAGGING = ["iam:TagRole", "iam:UntagRole"]
CERTIFICATE_CHANGES = [
    "acm:AddTagsToCertificate",
    "acm:DeleteCertificate",
    "acm:RemoveTagsFromCertificate",
    "acm:UpdateCertificateOptions",
]


def deploy_policy(
    account: str,
    prefix: str,
    stack: str,
    boundary_arn: str,
    key_arn: str,
    state_bucket: str = "",
    inputs: StackInputs = StackInputs(),
    protected_certificates: tuple[str, ...] = (),
    foreign_zone_names: tuple[str, ...] = (),
) -> str:
    """What `pulumi up` and `pulumi destroy` of one stack of this project, and its smoke check, need.

    ``inputs``: the stack's hosted zone (without one the role may change no DNS record and request
    no certificate) and the shared web ACLs it may use. ``protected_certificates``: certificates the
    stacks use but do not create; no deploy role may change them. ``foreign_zone_names``: the other
    stacks' zones, whose names stay out of this stack's certificates even where the zones nest
    (prod's example.com, dev's dev.example.com).
    """
    elb = f"arn:aws:elasticloadbalancing:*:{account}"
    exact, named = exact_names(prefix, stack), child_names(prefix, stack)
    waf_log_groups = [f"arn:aws:logs:*:{account}:log-group:aws-waf-logs-{name}" for name in exact]
    waf_log_resources = sorted({r for group in waf_log_groups for r in (group, f"{group}:*")})
    own_acls = [f"arn:aws:wafv2:*:{account}:regional/webacl/{n}/*" for n in named]
    roles = [f"arn:aws:iam::{account}:role/{n}" for n in named]
    topics = [f"arn:aws:sns:*:{account}:{n}" for n in named]
    alarms = [f"arn:aws:cloudwatch:*:{account}:alarm:{n}" for n in named]
    statements = _reads(account, prefix, stack) + [
        _statement(
            # Creating a group in a VPC changes nothing in the VPC; the group itself must be tagged.
            "SecurityGroupInVpc",
            ["ec2:CreateSecurityGroup"],
            f"arn:aws:ec2:*:{account}:vpc/*",
        ),
        _statement(
            "SecurityGroupCreate",
            ["ec2:CreateSecurityGroup"],
            f"arn:aws:ec2:*:{account}:security-group/*",
            _own_tag("RequestTag", stack),
        ),
        _statement(
            # Tags only as part of creating the group (the provider tags on create): ec2:CreateAction
            # is absent when CreateTags is called on an existing group, which has a stack tag anyway.
            "SecurityGroupTagOnCreate",
            ["ec2:CreateTags"],
            f"arn:aws:ec2:*:{account}:security-group/*",
            _merged(
                {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}},
                _own_tag("RequestTag", stack),
                {"Null": {f"aws:ResourceTag/{STACK_TAG}": "true"}},
            ),
        ),
        _statement(
            "SecurityGroupManage",
            [
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:CreateTags",
                "ec2:DeleteSecurityGroup",
                "ec2:DeleteTags",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
            ],
            f"arn:aws:ec2:*:{account}:security-group/*",
            _own_tag("ResourceTag", stack),
        ),
        _statement(
            "LoadBalancing",
            [
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:DeregisterTargets",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyListenerAttributes",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:SetRulePriorities",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
            ],
            [
                f"{elb}:{kind}/{n}"
                for kind in ("loadbalancer/app", "targetgroup", "listener/app", "listener-rule/app")
                for n in named
            ],
        ),
        _statement(
            "Function",
            [
                "lambda:AddPermission",
                "lambda:CreateAlias",
                "lambda:CreateFunction",
                "lambda:DeleteAlias",
                "lambda:DeleteFunction",
                "lambda:DeleteFunctionConcurrency",
                "lambda:DeleteProvisionedConcurrencyConfig",
                "lambda:InvokeFunction",  # the smoke check's direct invoke
                "lambda:PublishVersion",
                "lambda:PutFunctionConcurrency",
                "lambda:PutProvisionedConcurrencyConfig",
                "lambda:RemovePermission",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:UpdateAlias",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
            ],
            _functions(account, prefix, stack),
        ),
        _statement(
            # Every change to a function role, its trust policy included, needs the stack's
            # boundary on it: whoever the role trusts, it can do no more than the boundary allows.
            "FunctionRoleWithBoundary",
            FUNCTION_ROLE_ACTIONS,
            roles,
            {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}},
        ),
        _statement("FunctionRoleTags", FUNCTION_ROLE_TAGGING, roles),
        _statement(
            # The first load balancer of an account creates Elastic Load Balancing's own role.
            "LoadBalancingServiceRole",
            ["iam:CreateServiceLinkedRole"],
            f"arn:aws:iam::{account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/*",
            {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
        ),
        _statement(
            "PassFunctionRoleToLambdaOnly",
            ["iam:PassRole"],
            roles,
            {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        ),
        _statement(
            "Logs",
            [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:PutRetentionPolicy",
                "logs:TagLogGroup",
                "logs:TagResource",
                "logs:UntagLogGroup",
                "logs:UntagResource",
            ],
            sorted(
                {
                    *(f"arn:aws:logs:*:{account}:log-group:/aws/lambda/{n}" for n in (*exact, *named)),
                    *(f"arn:aws:logs:*:{account}:log-group:/aws/lambda/{n}:*" for n in exact),
                    *waf_log_resources,
                }
            ),
        ),
        _statement("WafLogDelivery", [a for a in sorted(UNSCOPABLE) if a.startswith("logs:")], "*"),
        _statement(
            "Waf",
            [
                "wafv2:CreateWebACL",
                "wafv2:DeleteLoggingConfiguration",
                "wafv2:DeleteWebACL",
                "wafv2:TagResource",
                "wafv2:UntagResource",
                "wafv2:UpdateWebACL",
            ],
            own_acls,
        ),
        _statement(
            # Its own ACL's logs, to its own WAF log group only.
            "WafLogging",
            ["wafv2:PutLoggingConfiguration"],
            own_acls,
            {"ArnLike": {"wafv2:LogDestinationResource": waf_log_resources}},
        ),
        _statement(
            # A web ACL names the AWS managed rule groups it uses; WAF checks the reference
            # against the group's ARN. The groups are AWS's and read-only to everyone.
            "WafManagedRuleGroups",
            ["wafv2:CreateWebACL", "wafv2:UpdateWebACL"],
            f"arn:aws:wafv2:*:{account}:regional/managedruleset/*/*",
        ),
        _statement(
            # An association names the load balancer and the ACL: the load balancer must be this
            # stack's, and so must the ACL (below).
            "WafOnOwnLoadBalancer",
            ["wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"],
            [f"{elb}:loadbalancer/app/{n}" for n in named],
        ),
        _statement(
            # The ACL: its own, or a shared one the bootstrap names for this stack (waf.webAclArn).
            "WafOwnAcl",
            ["wafv2:AssociateWebACL"],
            [*own_acls, *inputs.web_acl_arns],
        ),
        _statement(
            # ... or one that carries this stack's tag.
            "WafTaggedAcl",
            ["wafv2:AssociateWebACL"],
            f"arn:aws:wafv2:*:{account}:regional/webacl/*/*",
            _own_tag("ResourceTag", stack),
        ),
        _statement(
            # Checked by WAF together with (Dis)AssociateWebACL above, which name this stack's load
            # balancer; AWS defines no resource for it and it has no API of its own.
            "WafOnLoadBalancer",
            ["elasticloadbalancing:SetWebAcl"],
            "*",
        ),
        _statement(
            "AlarmsWithOwnActions",
            ["cloudwatch:PutMetricAlarm"],
            alarms,
            # Every action an alarm takes must be the stack's own topic: never another's pager.
            {"ForAllValues:ArnLike": {"cloudwatch:AlarmActions": topics}},
        ),
        _statement(
            "Alarms",
            [
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DeleteDashboards",
                "cloudwatch:PutDashboard",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:SetSubscriptionAttributes",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:TagResource",
                "sns:Unsubscribe",
                "sns:UntagResource",
            ],
            [*alarms, *(f"arn:aws:cloudwatch::{account}:dashboard/{n}" for n in exact), *topics],
        ),
        _statement(
            "AccessLogBucket",
            [
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:ListBucket",
                "s3:ListBucketVersions",
                "s3:PutBucketOwnershipControls",
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketTagging",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
            ],
            [f"arn:aws:s3:::{n}" for n in named],
        ),
        _statement(
            # forceDestroy (dev) empties the bucket; the smoke check looks for the first log object.
            "AccessLogObjects",
            ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject"],
            [f"arn:aws:s3:::{n}/*" for n in named],
        ),
    ]
    if key_arn:
        statements += [
            # The stack's KMS key (the bootstrap's): Lambda encrypts the variables with the caller's
            # permission and keeps a grant; the deploy role may read them back.
            _statement("StackKey", ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"], key_arn),
            _statement(
                "StackKeyGrantsForAws", ["kms:CreateGrant"], key_arn, {"Bool": {"kms:GrantIsForAWSResource": "true"}}
            ),
        ]
    if inputs.hosted_zone_id:
        statements.append(
            _statement(
                "Dns", ["route53:ChangeResourceRecordSets"], f"arn:aws:route53:::hostedzone/{inputs.hosted_zone_id}"
            )
        )
    if inputs.zone_name:
        statements += _certificate_statements(account, stack, inputs.zone_name, foreign_zone_names)
    statements += _state_bucket_statements(state_bucket, prefix, stack, "deploy")
    return json.dumps(
        {"Version": "2012-10-17", "Statement": statements + _denials(account, stack, protected_certificates)}
    )


def _certificate_statements(
    account: str, stack: str, zone_name: str, foreign_zone_names: tuple[str, ...]
) -> list[Statement]:
    """A certificate for names in the stack's own zone (loadBalancer.domainName), tagged for it, and
    for none of another stack's zone."""
    certificate = f"arn:aws:acm:*:{account}:certificate/*"
    zone = zone_name.rstrip(".")
    # Only a zone nested inside this one needs a denial: names outside this zone are not allowed anyway.
    nested = [z.rstrip(".") for z in foreign_zone_names if z and z.rstrip(".").endswith(f".{zone}")]
    foreign = sorted({name for z in nested for name in (z, f"*.{z}")})
    statements = [
        _statement(
            "CertificateRequest",
            ["acm:RequestCertificate"],
            "*",
            _merged(
                _own_tag("RequestTag", stack),
                {
                    "ForAllValues:StringLike": {"acm:DomainNames": [zone, f"*.{zone}"]},
                    "Null": {"acm:DomainNames": "false"},
                },
            ),
        ),
        _statement(
            # ACM checks this for the tags RequestCertificate carries. AWS offers no key that tells
            # that check from a later AddTagsToCertificate: docs/delivery.md ("accepted risks").
            "CertificateTagOnCreate",
            ["acm:AddTagsToCertificate"],
            certificate,
            _merged(_own_tag("RequestTag", stack), {"Null": {f"aws:ResourceTag/{STACK_TAG}": "true"}}),
        ),
        _statement("CertificateManage", CERTIFICATE_CHANGES, certificate, _own_tag("ResourceTag", stack)),
    ]
    if foreign:
        statements.append(
            _statement(
                "NoCertificateForAnotherStacksZone",
                ["acm:RequestCertificate"],
                "*",
                {"ForAnyValue:StringLike": {"acm:DomainNames": foreign}},
                effect="Deny",
            )
        )
    return statements


def _denials(account: str, stack: str, protected_certificates: tuple[str, ...]) -> list[Statement]:
    """What no deploy role may do, whatever it is allowed above."""
    role_actions = [*FUNCTION_ROLE_ACTIONS, *FUNCTION_ROLE_TAGGING, "iam:PassRole"]
    denials = [
        _statement("KeepTheBoundary", ["iam:DeleteRolePermissionsBoundary"], "*", effect="Deny"),
        # The stack tag is what the tag-scoped statements trust: it may be set to this stack (on
        # creation, or again with the same value), never removed or changed to another stack.
        _statement(
            "KeepTheStackTag",
            [a for a in TAGGING_ACTIONS if not _removes_tags(a)],
            "*",
            _merged(
                {"ForAnyValue:StringEquals": {"aws:TagKeys": [STACK_TAG]}},
                stack_condition("RequestTag", stack, negated=True),
            ),
            effect="Deny",
        ),
        _statement(
            "NeverRemoveTheStackTag",
            [a for a in TAGGING_ACTIONS if _removes_tags(a)],
            "*",
            {"ForAnyValue:StringEquals": {"aws:TagKeys": [STACK_TAG]}},
            effect="Deny",
        ),
        # role/<prefix>-<stack>-* would also match a role under a path that starts so
        # (role/lambda-alb-dev-x/anything): the program's roles have no path.
        _statement("NoRolesUnderAPath", role_actions, f"arn:aws:iam::{account}:role/*/*", effect="Deny"),
        _statement(
            "NoKeyPolicyLockout",
            ["kms:CreateKey", "kms:PutKeyPolicy"],
            "*",
            {"Bool": {"kms:BypassPolicyLockoutSafetyCheck": "true"}},
            effect="Deny",
        ),
    ]
    if protected_certificates:
        denials.append(
            _statement("KeepNamedCertificates", CERTIFICATE_CHANGES, list(protected_certificates), effect="Deny")
        )
    return denials


# IAM's quotas for what a role carries: a managed policy's document is at most 6,144 characters
# (white space not counted), and a role has at most 10 managed policies attached by default. An
# inline policy would do for small roles only (10,240 characters for all of a role's inline policies).
MANAGED_POLICY_CHARACTERS = 6144
MANAGED_POLICIES_PER_ROLE = 10


def compact_length(document: dict[str, Any]) -> int:
    """A policy document's size as IAM counts it: without white space."""
    return len(json.dumps(document, separators=(",", ":")))


def policy_documents(document: str, limit: int = MANAGED_POLICY_CHARACTERS) -> list[str]:
    """A role's policy as managed-policy documents of at most ``limit`` characters each: the same
    statements, packed in order; a statement too large alone is split by its resources."""
    statements: list[Statement] = []
    for statement in json.loads(document)["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if compact_length({"Version": "2012-10-17", "Statement": [statement]}) <= limit or len(resources) == 1:
            statements.append(statement)
            continue
        half = len(resources) // 2
        for part, chunk in enumerate((resources[:half], resources[half:]), start=1):
            piece = {**statement, "Sid": f"{statement['Sid']}{part}", "Resource": chunk}
            statements += [json.loads(d)["Statement"][0] for d in policy_documents(_document([piece]), limit)]
    documents: list[list[Statement]] = [[]]
    for statement in statements:
        if (
            documents[-1]
            and compact_length({"Version": "2012-10-17", "Statement": [*documents[-1], statement]}) > limit
        ):
            documents.append([])
        documents[-1].append(statement)
    return [_document(chunk) for chunk in documents]


def _document(statements: list[Statement]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def stack_file_certificates(project_dir: Path, stack: str) -> tuple[str, ...]:
    """The certificate a stack file of the main project names (``loadBalancer.certificateArn``): a
    certificate the stack uses but does not create, which no deploy role may change."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return ()
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    arn = (config.get("lambda-alb:loadBalancer") or {}).get("certificateArn")
    return (arn,) if isinstance(arn, str) and _CERTIFICATE_RE.match(arn) else ()
