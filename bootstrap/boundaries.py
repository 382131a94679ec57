"""What bounds a stack from outside its deploy role, made once by the bootstrap: the permissions
boundary every function role of the stack carries, the stack's KMS key policy, and the account's
log resource policy for WAF. Plain Python."""

from __future__ import annotations

import json

from bootstrap.scopes import Statement, exact_names, stack_condition


def function_boundary_policy(account: str, prefix: str, stack: str, key_arn: str = "") -> str:
    """The most a function role of ``stack`` can ever do: write to the stack's function log groups,
    send traces (X-Ray has no resource-level permissions, hence ``*``), decrypt its variables with
    the stack's key, and, for a function in a VPC, manage network interfaces with security groups
    that carry the stack's tag (each role's own policy narrows them to its subnets and groups). The
    roles of releases carry it too: CodeDeploy's may move the stack's aliases and run its checks, a
    check may invoke the stack's functions and report on the stack's deployments."""
    log_groups = [f"arn:aws:logs:*:{account}:log-group:/aws/lambda/{name}" for name in exact_names(prefix, stack)]
    functions = [f"arn:aws:lambda:*:{account}:function:{name}" for name in exact_names(prefix, stack)]
    groups = [f"arn:aws:codedeploy:*:{account}:deploymentgroup:{name}/*" for name in exact_names(prefix, stack)]
    applications = [f"arn:aws:codedeploy:*:{account}:application:{name}" for name in exact_names(prefix, stack)]
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
                {
                    # A release (function.deployment): CodeDeploy's role moves live and runs the
                    # checks; a check invokes the new version. The stack's own functions only.
                    "Sid": "ReleaseFunctions",
                    "Effect": "Allow",
                    "Action": [
                        "lambda:GetAlias",
                        "lambda:GetProvisionedConcurrencyConfig",
                        "lambda:InvokeFunction",
                        "lambda:UpdateAlias",
                    ],
                    "Resource": sorted({r for f in functions for r in (f, f"{f}:*", f"{f}-*")}),
                },
                {
                    # CodeDeploy reads the alarms it watches (no resource-level permissions).
                    "Sid": "ReleaseAlarms",
                    "Effect": "Allow",
                    "Action": ["cloudwatch:DescribeAlarms"],
                    "Resource": "*",
                },
                {
                    # A check reads its deployment (and the stored revision): the stack's own only.
                    "Sid": "ReleaseChecks",
                    "Effect": "Allow",
                    "Action": ["codedeploy:GetApplicationRevision", "codedeploy:GetDeployment"],
                    "Resource": [*applications, *groups],
                },
                {
                    # ... and reports its verdict, an action AWS defines no resource for; it names a
                    # deployment and a hook run by the IDs CodeDeploy's invocation carries.
                    "Sid": "ReleaseCheckVerdicts",
                    "Effect": "Allow",
                    "Action": ["codedeploy:PutLifecycleEventHookExecutionStatus"],
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
