"""Who may assume the pipeline's roles, and what each role may do. Plain Python (no pulumi import).

Three roles, each trusted by GitHub's OIDC provider for one kind of workflow run of one repository:

- ``preview``: pull requests (``repo:<owner>/<name>:pull_request``); read-only, for ``pulumi preview``.
- ``deploy-dev``: pushes to main (``repo:<owner>/<name>:ref:refs/heads/main``); ``pulumi up -s dev``.
- ``deploy-prod``: jobs in the ``prod`` GitHub environment (``repo:<owner>/<name>:environment:prod``),
  which the workflow gates behind a required approval; ``pulumi up -s prod``.

Each deploy role may manage only its own stack's resources (the main program names everything
``lambda-alb-<stack>...``), so the ungated dev job can never touch prod. A role it creates must carry
the function permissions boundary (a policy that allows only writing logs and traces), so a deploy
role cannot mint a more powerful role. The pipeline's own roles are named ``ci-<prefix>-...``.
"""

from __future__ import annotations

import json
import re

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

# Every role is one of these: which workflow runs may assume it.
SUBJECTS = {
    "preview": "pull_request",
    "deploy-dev": "ref:refs/heads/main",
    "deploy-prod": "environment:prod",
}
STACKS = {"deploy-dev": "dev", "deploy-prod": "prod"}  # the stack each deploy role may change


def boundary_name(prefix: str) -> str:
    return f"{prefix}-function-boundary"


def function_boundary_policy() -> str:
    """The most a function role created by the pipeline can ever do: write its logs and traces."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "FunctionLogsAndTraces",
                    "Effect": "Allow",
                    "Action": [
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "xray:PutTelemetryRecords",
                        "xray:PutTraceSegments",
                    ],
                    "Resource": "*",
                }
            ],
        }
    )


def check_inputs(repository: str, prefix: str, state_bucket: str) -> list[str]:
    """Problems with the bootstrap stack's configuration, each naming the key."""
    problems = []
    if not _REPOSITORY_RE.match(repository or ""):
        problems.append(f"githubRepository: {repository!r} is not owner/name (e.g. acme/lambda-alb)")
    if not _PREFIX_RE.match(prefix or ""):
        problems.append(f"projectPrefix: {prefix!r} must be lower-case letters, digits and -, 2-31 characters")
    if state_bucket and not _BUCKET_RE.match(state_bucket):
        problems.append(f"stateBucket: {state_bucket!r} is not an S3 bucket name")
    return problems


def role_name(prefix: str, kind: str) -> str:
    """``ci-<prefix>-<kind>``: outside the ``<prefix>-*`` names the deploy roles may manage."""
    return f"ci-{prefix}-{kind}"


def trust_policy(provider_arn: str, repository: str, kind: str) -> str:
    """Only GitHub's OIDC tokens for ``repository`` and this kind of run, for AWS STS."""
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
                            f"{GITHUB_OIDC_HOST}:sub": f"repo:{repository}:{SUBJECTS[kind]}",
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def _statement(sid: str, actions: list[str], resources: list[str] | str, condition: dict | None = None) -> dict:
    statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


# What `pulumi preview` reads: the program's lookups and, with --refresh, the resources' state.
READ_ACTIONS = {
    "Lookups": [
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "sts:GetCallerIdentity",
        "route53:ListHostedZones",
        "route53:ListHostedZonesByName",
        "route53:GetHostedZone",
        "route53:ListTagsForResource",
    ],
    "ReadState": [
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
        "lambda:GetFunction",
        "lambda:GetFunctionConfiguration",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:GetPolicy",
        "lambda:ListVersionsByFunction",
        "lambda:ListTags",
        "lambda:GetAlias",
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "logs:DescribeLogGroups",
        "logs:ListTagsForResource",
        "logs:ListTagsLogGroup",
        "s3:GetBucket*",
        "s3:GetAccelerateConfiguration",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
        "acm:DescribeCertificate",
        "acm:ListTagsForCertificate",
        "route53:GetChange",
        "route53:ListResourceRecordSets",
        "wafv2:GetWebACL",
        "wafv2:GetWebACLForResource",
        "wafv2:GetLoggingConfiguration",
        "wafv2:ListTagsForResource",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:GetDashboard",
        "cloudwatch:ListTagsForResource",
        "sns:GetTopicAttributes",
        "sns:GetSubscriptionAttributes",
        "sns:ListTagsForResource",
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
    ],
}


def _state_bucket_statement(state_bucket: str) -> list[dict]:
    if not state_bucket:
        return []
    return [
        _statement(
            "PulumiStateBackend",
            ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            [f"arn:aws:s3:::{state_bucket}", f"arn:aws:s3:::{state_bucket}/*"],
        )
    ]


def preview_policy(account: str, prefix: str, state_bucket: str = "") -> str:
    """Read-only: what `pulumi preview` (and `--refresh`) needs, nothing that changes anything."""
    statements = [
        _statement("Lookups", READ_ACTIONS["Lookups"], "*"),
        _statement("ReadState", READ_ACTIONS["ReadState"], "*"),
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements + _state_bucket_statement(state_bucket)})


def deploy_policy(account: str, prefix: str, stack: str, boundary_arn: str, state_bucket: str = "") -> str:
    """What `pulumi up` and `pulumi destroy` of one stack of this project, and its smoke check, need."""
    elb = f"arn:aws:elasticloadbalancing:*:{account}"
    name = f"{prefix}-{stack}"  # every resource of the stack is named <name> or <name>-...
    prefix = name
    statements = [
        _statement("Lookups", READ_ACTIONS["Lookups"], "*"),
        _statement("ReadState", READ_ACTIONS["ReadState"], "*"),
        _statement(
            # EC2 security-group actions have no name-based resource: scoped by the VPC at AWS's side.
            "SecurityGroups",
            [
                "ec2:CreateSecurityGroup",
                "ec2:DeleteSecurityGroup",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:CreateTags",
            ],
            "*",
        ),
        _statement(
            "LoadBalancing",
            [
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:DeregisterTargets",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:SetRulePriorities",
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:RemoveTags",
            ],
            [
                f"{elb}:loadbalancer/app/{prefix}-*",
                f"{elb}:targetgroup/{prefix}-*",
                f"{elb}:listener/app/{prefix}-*",
                f"{elb}:listener-rule/app/{prefix}-*",
            ],
        ),
        _statement(
            "Function",
            [
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
                "lambda:AddPermission",
                "lambda:RemovePermission",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:InvokeFunction",  # the smoke check's direct invoke
                "lambda:PublishVersion",
                "lambda:CreateAlias",
                "lambda:UpdateAlias",
                "lambda:DeleteAlias",
            ],
            [f"arn:aws:lambda:*:{account}:function:{name}", f"arn:aws:lambda:*:{account}:function:{name}:*"],
        ),
        _statement(
            "FunctionRoleWithBoundary",
            ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"],
            f"arn:aws:iam::{account}:role/{prefix}-*",
            {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}},
        ),
        _statement(
            "FunctionRole",
            [
                "iam:DeleteRole",
                "iam:UpdateRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:ListInstanceProfilesForRole",
            ],
            f"arn:aws:iam::{account}:role/{prefix}-*",
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
            f"arn:aws:iam::{account}:role/{prefix}-*",
            {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        ),
        _statement(
            "FunctionLogs",
            [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            [
                f"arn:aws:logs:*:{account}:log-group:/aws/lambda/{name}",
                f"arn:aws:logs:*:{account}:log-group:/aws/lambda/{name}:*",
                f"arn:aws:logs:*:{account}:log-group:aws-waf-logs-{name}",
                f"arn:aws:logs:*:{account}:log-group:aws-waf-logs-{name}:*",
            ],
        ),
        _statement(
            # WAF logging to CloudWatch adds a resource policy for delivery.logs.amazonaws.com.
            "WafLogDelivery",
            [
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
            ],
            "*",
        ),
        _statement(
            "Waf",
            [
                "wafv2:CreateWebACL",
                "wafv2:UpdateWebACL",
                "wafv2:DeleteWebACL",
                "wafv2:AssociateWebACL",
                "wafv2:DisassociateWebACL",
                "wafv2:PutLoggingConfiguration",
                "wafv2:DeleteLoggingConfiguration",
                "wafv2:TagResource",
                "wafv2:UntagResource",
                "elasticloadbalancing:SetWebAcl",
            ],
            [
                f"arn:aws:wafv2:*:{account}:regional/webacl/{prefix}-*/*",
                f"arn:aws:wafv2:*:{account}:regional/managedruleset/*/*",
                f"{elb}:loadbalancer/app/{prefix}-*",
            ],
        ),
        _statement(
            "CustomDomain",
            [
                "acm:RequestCertificate",
                "acm:DeleteCertificate",
                "acm:AddTagsToCertificate",
                "route53:ChangeResourceRecordSets",
            ],
            "*",
        ),
        _statement(
            "Alarms",
            [
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:TagResource",
                "cloudwatch:PutDashboard",
                "cloudwatch:DeleteDashboards",
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:Unsubscribe",
                "sns:TagResource",
            ],
            [
                f"arn:aws:cloudwatch:*:{account}:alarm:{prefix}-*",
                f"arn:aws:cloudwatch::{account}:dashboard/{name}",
                f"arn:aws:sns:*:{account}:{prefix}-*",
            ],
        ),
        _statement(
            # A new key has no ARN to scope by; key deletion waits 30 days and can be cancelled.
            "AlarmTopicKey",
            [
                "kms:CreateKey",
                "kms:EnableKeyRotation",
                "kms:PutKeyPolicy",
                "kms:UpdateKeyDescription",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
            ],
            "*",
        ),
        _statement(
            "AccessLogBucket",
            [
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:PutBucketPolicy",
                "s3:DeleteBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketOwnershipControls",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
                "s3:PutBucketTagging",
                "s3:ListBucket",
                "s3:ListBucketVersions",
            ],
            f"arn:aws:s3:::{prefix}-*",
        ),
        _statement(
            # forceDestroy (dev) empties the bucket; the smoke check looks for the first log object.
            "AccessLogObjects",
            ["s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            f"arn:aws:s3:::{prefix}-*/*",
        ),
    ]
    deny = [
        {
            "Sid": "KeepTheBoundary",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary"],
            "Resource": "*",
        }
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements + _state_bucket_statement(state_bucket) + deny})
