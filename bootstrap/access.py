"""Who may assume the pipeline's roles, and what each role may do. Plain Python (no pulumi import).

Three roles, each trusted by GitHub's OIDC provider for one kind of workflow run of one repository:

- ``preview``: pull requests (``repo:<owner>/<name>:pull_request``) and the scheduled drift check
  on main (``repo:<owner>/<name>:ref:refs/heads/main``); reads only, for ``pulumi preview``
  (``--refresh``); in the state bucket it may write nothing but the backend's lock files.
- ``deploy-dev``: pushes to main (``repo:<owner>/<name>:ref:refs/heads/main``); ``pulumi up -s dev``.
- ``deploy-prod``: jobs in the ``prod`` GitHub environment (``repo:<owner>/<name>:environment:prod``),
  which the workflow gates behind a required approval; ``pulumi up -s prod``.

A deploy role may change only its own stack's resources. Where a resource's ARN carries its name
(``<prefix>-<stack>...``), the policy names it; where it does not (security groups, ACM
certificates, KMS keys), it requires the ``stack`` tag: ``aws:RequestTag/stack`` when the resource
is created, ``aws:ResourceTag/stack`` afterwards, and no role may remove the ``stack`` tag or set
it to another stack. Route 53 records may change only in the stack's own hosted zone. The few
actions AWS cannot scope at all are listed in ``UNSCOPABLE`` with the reason. A role a deploy
creates must carry the function permissions boundary (a policy that allows only writing logs and
traces), so a deploy role cannot mint a more powerful role. The pipeline's own roles are named
``ci-<prefix>-...``, outside every name a deploy role may touch.
"""

from __future__ import annotations

import json
import re
from typing import Any

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ZONE_RE = re.compile(r"^Z[A-Z0-9]{1,31}$")

# Every role is one of these: which workflow runs may assume it (the OIDC token's sub after
# repo:<owner>/<name>:). Runs on main may also preview: the daily drift check is one.
SUBJECTS = {
    "preview": ("pull_request", "ref:refs/heads/main"),
    "deploy-dev": ("ref:refs/heads/main",),
    "deploy-prod": ("environment:prod",),
}
STACKS = {"deploy-dev": "dev", "deploy-prod": "prod"}  # the stack each deploy role may change

# The tags the main program puts on every taggable resource; the deploy roles scope by STACK_TAG.
STACK_TAG = "stack"
PROJECT_TAG = "project"

Statement = dict[str, Any]


def boundary_name(prefix: str) -> str:
    """Name of the managed policy every function role created by the pipeline must carry."""
    return f"{prefix}-function-boundary"


def function_boundary_policy(prefix: str = "lambda-alb") -> str:
    """The most a function role created by the pipeline can ever do: write to the project's function
    log groups, send traces (X-Ray has no resource-level permissions, hence ``*`` for those), and,
    for a function in a VPC, manage network interfaces (each role's own policy narrows them to its
    subnets)."""
    log_groups = f"arn:aws:logs:*:*:log-group:/aws/lambda/{prefix}-*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "FunctionLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [log_groups, f"{log_groups}:*"],
                },
                {
                    "Sid": "FunctionTraces",
                    "Effect": "Allow",
                    "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                    "Resource": "*",
                },
                {
                    # A function in a VPC (function.vpc): Lambda manages its network interfaces with
                    # the function's role; the role's own policy scopes them to its subnets.
                    "Sid": "FunctionNetworkInterfaces",
                    "Effect": "Allow",
                    "Action": [
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:CreateNetworkInterface",
                        "ec2:DeleteNetworkInterface",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    # As the function roles' own policies ask (Lambda checks Delete against every
                    # resource of the account); each role's policy narrows it.
                    "Resource": "arn:aws:ec2:*:*:*/*",
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


def check_inputs(
    repository: str, prefix: str, state_bucket: str, hosted_zones: dict[str, str] | None = None
) -> list[str]:
    """Problems with the bootstrap stack's configuration, each naming the key.

    ``hosted_zones`` maps a stack to its Route 53 zone ID (config ``<stack>HostedZoneId``).
    """
    problems = []
    if not _REPOSITORY_RE.match(repository or ""):
        problems.append(f"githubRepository: {repository!r} is not owner/name (e.g. acme/lambda-alb)")
    if not _PREFIX_RE.match(prefix or ""):
        problems.append(f"projectPrefix: {prefix!r} must be lower-case letters, digits and -, 2-31 characters")
    if state_bucket and not _BUCKET_RE.match(state_bucket):
        problems.append(f"stateBucket: {state_bucket!r} is not an S3 bucket name")
    zones = {stack: zone for stack, zone in (hosted_zones or {}).items() if zone}
    for stack, zone in zones.items():
        if not _ZONE_RE.match(zone):
            problems.append(
                f"{stack}HostedZoneId: {zone!r} is not a Route 53 hosted zone ID (Z followed by letters and digits)"
            )
    shared: dict[str, list[str]] = {}
    for stack, zone in sorted(zones.items()):
        shared.setdefault(zone, []).append(f"{stack}HostedZoneId")
    for zone, keys in shared.items():
        if len(keys) > 1:
            problems.append(
                f"{' and '.join(keys)}: all are {zone!r}, so one stack's deploy role could change the other's "
                "records; give each stack its own zone (for example a delegated dev.example.com)"
            )
    return problems


def role_name(prefix: str, kind: str) -> str:
    """``ci-<prefix>-<kind>``: outside the ``<prefix>-*`` names the deploy roles may manage."""
    return f"ci-{prefix}-{kind}"


def trust_policy(provider_arn: str, repository: str, kind: str) -> str:
    """Only GitHub's OIDC tokens for ``repository`` and these kinds of run, for AWS STS."""
    subjects = [f"repo:{repository}:{subject}" for subject in SUBJECTS[kind]]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                            f"{GITHUB_OIDC_HOST}:sub": subjects[0] if len(subjects) == 1 else subjects,
                        }
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
        "lambda:GetAlias",
        "lambda:GetFunction",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:GetFunctionConfiguration",
        "lambda:GetPolicy",
        "lambda:GetProvisionedConcurrencyConfig",
        "lambda:ListTags",
        "lambda:ListVersionsByFunction",
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
    "logs:PutResourcePolicy": (
        "WAF logging to CloudWatch Logs makes WAF add the account's log resource policy for "
        "delivery.logs.amazonaws.com with the caller's permission; the action has no resource type and no condition key"
    ),
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


def _state_bucket_statements(state_bucket: str, stack: str | None, project: str) -> list[Statement]:
    """Read the whole state (the backend lists stacks and reads its metadata); write only what
    this role's operation writes: a deploy role its own stack's files, the preview role lock files."""
    if not state_bucket:
        return []
    bucket = f"arn:aws:s3:::{state_bucket}"
    statements = [_statement("PulumiStateRead", ["s3:GetObject", "s3:ListBucket"], [bucket, f"{bucket}/*"])]
    if stack is None:
        writable = [f"{bucket}/.pulumi/locks/*"]
    else:
        # The self-managed backend's layout for a project-scoped stack (pulumi/pkg/backend/diy).
        writable = [
            f"{bucket}/.pulumi/stacks/{project}/{stack}.json*",
            f"{bucket}/.pulumi/history/{project}/{stack}/*",
            f"{bucket}/.pulumi/backups/{project}/{stack}/*",
            f"{bucket}/.pulumi/locks/organization/{project}/{stack}/*",
        ]
    statements.append(_statement("PulumiStateWrite", ["s3:PutObject", "s3:DeleteObject"], writable))
    return statements


def preview_policy(account: str, prefix: str, state_bucket: str = "") -> str:
    """Reads only: what `pulumi preview` (and `--refresh`) needs, plus the backend's lock files."""
    statements = [
        _statement("Lookups", READ_ACTIONS["Lookups"], "*"),
        _statement("ReadState", READ_ACTIONS["ReadState"], "*"),
    ]
    return json.dumps(
        {"Version": "2012-10-17", "Statement": statements + _state_bucket_statements(state_bucket, None, prefix)}
    )


def _own_tag(kind: str, stack: str) -> dict[str, dict[str, str]]:
    return {"StringEquals": {f"aws:{kind}/{STACK_TAG}": stack}}


def _created_with_own_tag(stack: str) -> dict[str, dict[str, str]]:
    """A request that tags with this stack, on a resource that is new or already this stack's."""
    return {
        "StringEquals": {f"aws:RequestTag/{STACK_TAG}": stack},
        "StringEqualsIfExists": {f"aws:ResourceTag/{STACK_TAG}": stack},
    }


def deploy_policy(
    account: str, prefix: str, stack: str, boundary_arn: str, state_bucket: str = "", hosted_zone_id: str = ""
) -> str:
    """What `pulumi up` and `pulumi destroy` of one stack of this project, and its smoke check, need.

    ``hosted_zone_id``: the stack's Route 53 zone (custom domain); without it the role may change
    no DNS record at all.
    """
    elb = f"arn:aws:elasticloadbalancing:*:{account}"
    name = f"{prefix}-{stack}"  # every resource of the stack is named <name> or <name>-...
    named = f"{name}-*"
    statements = [
        _statement("Lookups", READ_ACTIONS["Lookups"], "*"),
        _statement("ReadState", READ_ACTIONS["ReadState"], "*"),
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
            # Tags only as part of creating the group (the provider tags on create).
            "SecurityGroupTagOnCreate",
            ["ec2:CreateTags"],
            f"arn:aws:ec2:*:{account}:security-group/*",
            {
                "StringEquals": {"ec2:CreateAction": "CreateSecurityGroup", f"aws:RequestTag/{STACK_TAG}": stack},
                "StringEqualsIfExists": {f"aws:ResourceTag/{STACK_TAG}": stack},
            },
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
                f"{elb}:loadbalancer/app/{named}",
                f"{elb}:targetgroup/{named}",
                f"{elb}:listener/app/{named}",
                f"{elb}:listener-rule/app/{named}",
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
            [f"arn:aws:lambda:*:{account}:function:{name}", f"arn:aws:lambda:*:{account}:function:{name}:*"],
        ),
        _statement(
            "FunctionRoleWithBoundary",
            ["iam:CreateRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"],
            f"arn:aws:iam::{account}:role/{named}",
            {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}},
        ),
        _statement(
            "FunctionRole",
            [
                "iam:DeleteRole",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ],
            f"arn:aws:iam::{account}:role/{named}",
        ),
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
            f"arn:aws:iam::{account}:role/{named}",
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
            [
                f"arn:aws:logs:*:{account}:log-group:/aws/lambda/{name}",
                f"arn:aws:logs:*:{account}:log-group:/aws/lambda/{name}:*",
                f"arn:aws:logs:*:{account}:log-group:aws-waf-logs-{name}",
                f"arn:aws:logs:*:{account}:log-group:aws-waf-logs-{name}:*",
            ],
        ),
        _statement("WafLogDelivery", [a for a in sorted(UNSCOPABLE) if a.startswith("logs:")], "*"),
        _statement(
            "Waf",
            [
                "wafv2:CreateWebACL",
                "wafv2:DeleteLoggingConfiguration",
                "wafv2:DeleteWebACL",
                "wafv2:PutLoggingConfiguration",
                "wafv2:TagResource",
                "wafv2:UntagResource",
                "wafv2:UpdateWebACL",
            ],
            f"arn:aws:wafv2:*:{account}:regional/webacl/{named}/*",
        ),
        _statement(
            # A web ACL names the AWS managed rule groups it uses; WAF checks the reference
            # against the group's ARN. The groups are AWS's and read-only to everyone.
            "WafManagedRuleGroups",
            ["wafv2:CreateWebACL", "wafv2:UpdateWebACL"],
            f"arn:aws:wafv2:*:{account}:regional/managedruleset/*/*",
        ),
        _statement(
            # waf.webAclArn: any existing ACL may be put in front of this stack's load balancer,
            # which the second resource pins; associating does not change the ACL.
            "WafAssociate",
            ["wafv2:AssociateWebACL"],
            [f"arn:aws:wafv2:*:{account}:regional/webacl/*/*", f"{elb}:loadbalancer/app/{named}"],
        ),
        _statement("WafDisassociate", ["wafv2:DisassociateWebACL"], f"{elb}:loadbalancer/app/{named}"),
        _statement(
            # Checked by WAF together with (Dis)AssociateWebACL above, which name this stack's load
            # balancer; AWS defines no resource for it and it has no API of its own.
            "WafOnLoadBalancer",
            ["elasticloadbalancing:SetWebAcl"],
            "*",
        ),
        _statement("CertificateCreate", ["acm:RequestCertificate"], "*", _own_tag("RequestTag", stack)),
        _statement(
            "CertificateTagOnCreate",
            ["acm:AddTagsToCertificate"],
            f"arn:aws:acm:*:{account}:certificate/*",
            _created_with_own_tag(stack),
        ),
        _statement(
            "CertificateManage",
            [
                "acm:AddTagsToCertificate",
                "acm:DeleteCertificate",
                "acm:RemoveTagsFromCertificate",
                "acm:UpdateCertificateOptions",
            ],
            f"arn:aws:acm:*:{account}:certificate/*",
            _own_tag("ResourceTag", stack),
        ),
        _statement(
            "Alarms",
            [
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DeleteDashboards",
                "cloudwatch:PutDashboard",
                "cloudwatch:PutMetricAlarm",
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
            [
                f"arn:aws:cloudwatch:*:{account}:alarm:{named}",
                f"arn:aws:cloudwatch::{account}:dashboard/{name}",
                f"arn:aws:sns:*:{account}:{named}",
            ],
        ),
        _statement("AlarmTopicKeyCreate", ["kms:CreateKey"], "*", _own_tag("RequestTag", stack)),
        _statement(
            "AlarmTopicKeyTagOnCreate",
            ["kms:TagResource"],
            f"arn:aws:kms:*:{account}:key/*",
            _created_with_own_tag(stack),
        ),
        _statement(
            # Deletion waits 30 days and can be cancelled meanwhile.
            "AlarmTopicKeyManage",
            [
                "kms:DisableKeyRotation",
                "kms:EnableKeyRotation",
                "kms:PutKeyPolicy",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateKeyDescription",
            ],
            f"arn:aws:kms:*:{account}:key/*",
            _own_tag("ResourceTag", stack),
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
            f"arn:aws:s3:::{named}",
        ),
        _statement(
            # forceDestroy (dev) empties the bucket; the smoke check looks for the first log object.
            "AccessLogObjects",
            ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject"],
            f"arn:aws:s3:::{named}/*",
        ),
    ]
    if hosted_zone_id:
        statements.append(
            _statement("Dns", ["route53:ChangeResourceRecordSets"], f"arn:aws:route53:::hostedzone/{hosted_zone_id}")
        )
    deny = [
        _statement("KeepTheBoundary", ["iam:DeleteRolePermissionsBoundary"], "*", effect="Deny"),
        # The stack tag is what the tag-scoped statements trust: it may be set to this stack (on
        # creation, or again with the same value), never removed or changed to another stack.
        _statement(
            "KeepTheStackTag",
            [a for a in TAGGING_ACTIONS if not _removes_tags(a)],
            "*",
            {
                "ForAnyValue:StringEquals": {"aws:TagKeys": [STACK_TAG]},
                "StringNotEquals": {f"aws:RequestTag/{STACK_TAG}": stack},
            },
            effect="Deny",
        ),
        _statement(
            "NeverRemoveTheStackTag",
            [a for a in TAGGING_ACTIONS if _removes_tags(a)],
            "*",
            {"ForAnyValue:StringEquals": {"aws:TagKeys": [STACK_TAG]}},
            effect="Deny",
        ),
    ]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": statements + _state_bucket_statements(state_bucket, stack, prefix) + deny,
        }
    )
