"""The IAM actions the roles are granted or denied by name: what a preview reads, what tags a
resource, what AWS cannot scope to a stack (with the reason), and what changes a function role or a
certificate. tests/test_permissions.py checks these lists against the calls the provider makes."""

from __future__ import annotations

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
        "codedeploy:GetApplication",
        "codedeploy:GetDeploymentGroup",
        "codedeploy:ListTagsForResource",
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
    "lambda:ListAliases",  # the version pruning's (components/pruning.py), to keep what aliases serve
    "lambda:ListTags",
    "lambda:ListVersionsByFunction",
]

# Every action that adds, changes or removes a tag on the kinds of resource the program creates.
TAGGING_ACTIONS = [
    "acm:AddTagsToCertificate",
    "acm:RemoveTagsFromCertificate",
    "cloudwatch:TagResource",
    "cloudwatch:UntagResource",
    "codedeploy:TagResource",
    "codedeploy:UntagResource",
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


# Actions AWS cannot scope to a stack (no resource type and no condition key that would tell one
# stack's call from another's), with the reason they are granted anyway. docs/delivery.md lists
# them; tests/test_permissions_isolation.py fails on any other unscoped destructive grant.
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


# A release (components/release.py, inside `pulumi up`): the calls it makes and those CodeDeploy
# checks with the caller's permissions when a deployment is created (its API permissions reference:
# CreateDeployment also needs GetDeploymentConfig, GetApplicationRevision and
# RegisterApplicationRevision). tests/test_permissions.py derives the calls the code makes.
RELEASE_ACTIONS = {
    "groups": [
        "codedeploy:CreateDeployment",
        "codedeploy:GetDeployment",
        "codedeploy:ListDeployments",
    ],
    "applications": [
        "codedeploy:GetApplicationRevision",
        "codedeploy:RegisterApplicationRevision",
    ],
    "configs": ["codedeploy:GetDeploymentConfig"],
}
