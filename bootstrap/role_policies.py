"""What each role may do: ``preview_policy`` (reads only) and ``deploy_policy`` (changes to its own
stack's resources only, and what no deploy role may do whatever else it is allowed), and
``policy_documents``, which packs a role's policy into managed policies within IAM's quotas. Plain
Python."""

from __future__ import annotations

import json
from typing import Any

from bootstrap.iam_actions import (
    CERTIFICATE_CHANGES,
    FUNCTION_READ_ACTIONS,
    FUNCTION_ROLE_ACTIONS,
    FUNCTION_ROLE_TAGGING,
    READ_ACTIONS,
    RELEASE_ACTIONS,
    TAGGING_ACTIONS,
    UNSCOPABLE,
)
from bootstrap.scopes import STACK_TAG, Statement, child_names, exact_names, stack_condition, stack_values
from bootstrap.stack_inputs import StackInputs


def _statement(
    sid: str, actions: list[str], resources: list[str] | str, condition: dict | None = None, effect: str = "Allow"
) -> Statement:
    statement: Statement = {"Sid": sid, "Effect": effect, "Action": sorted(actions), "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _removes_tags(action: str) -> bool:
    return action.split(":")[1].startswith(("Untag", "Remove", "Delete"))


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


def deploy_policy(
    account: str,
    prefix: str,
    stack: str,
    boundary_arn: str,
    key_arn: str,
    state_bucket: str = "",
    inputs: StackInputs = StackInputs(),  # noqa: B008 - a frozen dataclass, as immutable as a tuple
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
    applications = [f"arn:aws:codedeploy:*:{account}:application:{n}" for n in exact]
    groups = [f"arn:aws:codedeploy:*:{account}:deploymentgroup:{n}/*" for n in exact]
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
            # The stack's CodeDeploy application and its functions' deployment groups, named as the
            # service and its functions (function.deployment).
            "ReleaseSetup",
            [
                "codedeploy:CreateApplication",
                "codedeploy:CreateDeploymentGroup",
                "codedeploy:DeleteApplication",
                "codedeploy:DeleteDeploymentGroup",
                "codedeploy:TagResource",
                "codedeploy:UntagResource",
                "codedeploy:UpdateApplication",
                "codedeploy:UpdateDeploymentGroup",
            ],
            [*applications, *groups],
        ),
        _statement("Releases", RELEASE_ACTIONS["groups"], groups),
        _statement("ReleaseRevisions", RELEASE_ACTIONS["applications"], applications),
        _statement(
            # CodeDeploy's predefined Lambda configurations, AWS's and read-only to everyone.
            "ReleaseConfigurations",
            RELEASE_ACTIONS["configs"],
            f"arn:aws:codedeploy:*:{account}:deploymentconfig:CodeDeployDefault.Lambda*",
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
            # A function's role to Lambda, a deployment group's role to CodeDeploy: never elsewhere.
            "PassRolesToLambdaAndCodeDeployOnly",
            ["iam:PassRole"],
            roles,
            {"StringEquals": {"iam:PassedToService": ["codedeploy.amazonaws.com", "lambda.amazonaws.com"]}},
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
