"""Releases through CodeDeploy (``function.deployment``): the application, and per function a
deployment group, CodeDeploy's role, the traffic checks and the release itself.

CodeDeploy is the engine: it moves the `live` alias from the version it serves to the new one in
the configured steps, runs the checks, watches the alarms and moves `live` back on its own when one
fails. The program only publishes the version (the function) and starts the release
(components/release.py, inside ``pulumi up``); the alias ignores the version and routing CodeDeploy
owns. docs/operations.md#releases-shifted-by-codedeploy-functiondeployment describes a release from the operator's side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from .lambda_function import LIVE_ALIAS, FunctionParts
from .limits import DEFAULT_RUNTIME
from .release import Release
from .release_settings import CHECK_TIMEOUT_S, TrafficCheckArgs, deployment_config, release_minutes
from .settings import FunctionArgs

CHECK_CODE = Path(__file__).parent / "release_check"
# CodeDeploy's lifecycle hooks for Lambda, and the deployment setting each check comes from.
PHASES = {"pre": "BeforeAllowTraffic", "post": "AfterAllowTraffic"}


def trust_policy(service: str) -> str:
    """Only ``service`` may assume the role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def release_role_policy(function_arn: str, check_arns: list[str]) -> str:
    """What CodeDeploy does for this function's releases, and nothing else: read and move `live`
    (and see its warm instances), invoke the checks, read the alarms' states. Narrower than AWS's
    AWSCodeDeployRoleForLambda (which allows these on every function, plus S3 and SNS)."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ShiftLive",
            "Effect": "Allow",
            "Action": ["lambda:GetAlias", "lambda:GetProvisionedConcurrencyConfig", "lambda:UpdateAlias"],
            "Resource": [function_arn, f"{function_arn}:{LIVE_ALIAS}"],
        },
        # DescribeAlarms has no resource-level permissions.
        {"Sid": "WatchAlarms", "Effect": "Allow", "Action": ["cloudwatch:DescribeAlarms"], "Resource": "*"},
    ]
    if check_arns:
        statements.append(
            {"Sid": "RunChecks", "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": check_arns}
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def check_role_policy(log_group_arn: str | None, function_arn: str, group_arn: str) -> str:
    """A check writes to the function's log group (the built-in check; yours has its own), invokes
    the function's versions and alias, reads the deployments of this function's group (and the
    application's stored revisions, when AWS gives a deployment's AppSpec by its hash alone) and
    reports its verdict. AWS defines no resource
    for the report (PutLifecycleEventHookExecutionStatus): it names a deployment and a hook run by
    their IDs, which only CodeDeploy's invocation gives the check."""
    application_arn = group_arn.replace(":deploymentgroup:", ":application:").rsplit("/", 1)[0]
    logs = (
        [
            {
                "Sid": "WriteFunctionLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group_arn, f"{log_group_arn}:*"],
            }
        ]
        if log_group_arn is not None
        else []
    )
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                *logs,
                {
                    "Sid": "InvokeNewVersion",
                    "Effect": "Allow",
                    "Action": ["lambda:InvokeFunction"],
                    "Resource": [function_arn, f"{function_arn}:*"],
                },
                {
                    "Sid": "ReadOwnDeployments",
                    "Effect": "Allow",
                    "Action": ["codedeploy:GetDeployment"],
                    "Resource": group_arn,
                },
                {
                    "Sid": "ReadOwnRevisions",
                    "Effect": "Allow",
                    "Action": ["codedeploy:GetApplicationRevision"],
                    "Resource": application_arn,
                },
                {
                    "Sid": "ReportVerdict",
                    "Effect": "Allow",
                    "Action": ["codedeploy:PutLifecycleEventHookExecutionStatus"],
                    "Resource": "*",
                },
            ],
        }
    )


def bounded_role(
    logical: str, service: str, description: str, fs: FunctionArgs, tags: dict[str, str], opts: pulumi.ResourceOptions
) -> aws.iam.Role:
    """A role only ``service`` (``lambda``, ``codedeploy``) may assume, under the function's
    permissions boundary (the stack's, when the pipeline deploys: its roles must carry it)."""
    return aws.iam.Role(
        logical,
        assume_role_policy=trust_policy(f"{service}.amazonaws.com"),
        description=description,
        permissions_boundary=fs.permissions_boundary,
        tags=tags,
        opts=opts,
    )


def group_arn_of(function_arn: str, application: str, group: str) -> str:
    """A deployment group's ARN, beside the function (same partition, region and account)."""
    _, partition, _, region, account, *_ = function_arn.split(":")
    return f"arn:{partition}:codedeploy:{region}:{account}:deploymentgroup:{application}/{group}"


def create_application(name: str, tags: dict[str, str], parent: pulumi.Resource) -> aws.codedeploy.Application:
    """The service's CodeDeploy application (compute platform Lambda), named as the service."""
    return aws.codedeploy.Application(
        f"{name}-releases",
        name=name,
        compute_platform="Lambda",
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def create_release(
    base: str,
    fs: FunctionArgs,
    parts: FunctionParts,
    application: aws.codedeploy.Application,
    alarm_names: list[pulumi.Output[str]],
    own_checks: dict[str, FunctionParts],
    multi_value: bool,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> Release:
    """The deployment group, CodeDeploy's role, the checks and the release of one function; returns
    the release (what the version pruning waits for).
    ``own_checks``: by phase, the functions of ``functions`` that run as checks instead of the
    built-in one (their roles get what a check does). ``multi_value``: the target group sends
    multi-value headers, so the built-in check does too."""
    deployment = fs.deployment
    assert deployment is not None and deployment.type is not None  # the settings require both
    opts = pulumi.ResourceOptions(parent=parent)
    function = parts.function
    role = bounded_role(
        f"{base}-release-role",
        "codedeploy",
        f"CodeDeploy's role for the releases of the {base} function",
        fs,
        tags,
        opts,
    )
    # The group's ARN, known before the group exists (the checks' policies name it): in the
    # function's partition, region and account.
    group_arn = pulumi.Output.all(function.arn, application.name).apply(lambda a: group_arn_of(a[0], a[1], base))
    checks: dict[str, aws.lambda_.Function] = {}
    check_policies: list[aws.iam.RolePolicy] = []
    for phase, check in deployment.checks().items():
        if phase in own_checks:
            # Your function: its role may read this release's deployment, invoke the function being
            # released and report the verdict (its own logs it writes already).
            checks[phase] = own_checks[phase].function
            check_policies.append(
                aws.iam.RolePolicy(
                    f"{base}-{phase}-check-policy",
                    role=own_checks[phase].role.id,
                    policy=pulumi.Output.all(function.arn, group_arn).apply(lambda a: check_role_policy(None, *a)),
                    opts=opts,
                )
            )
        else:
            checks[phase], policy = _check_function(base, phase, check, fs, parts, group_arn, multi_value, tags, parent)
            check_policies.append(policy)
    policy = aws.iam.RolePolicy(
        f"{base}-release-policy",
        role=role.id,
        policy=pulumi.Output.all(function.arn, *[c.arn for c in checks.values()]).apply(
            lambda a: release_role_policy(a[0], list(a[1:]))
        ),
        opts=opts,
    )
    group = aws.codedeploy.DeploymentGroup(
        f"{base}-release-group",
        app_name=application.name,
        deployment_group_name=base,
        service_role_arn=role.arn,
        deployment_config_name=deployment_config(deployment.type),
        deployment_style=aws.codedeploy.DeploymentGroupDeploymentStyleArgs(
            deployment_option="WITH_TRAFFIC_CONTROL", deployment_type="BLUE_GREEN"
        ),
        auto_rollback_configuration=aws.codedeploy.DeploymentGroupAutoRollbackConfigurationArgs(
            enabled=True, events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
        ),
        alarm_configuration=aws.codedeploy.DeploymentGroupAlarmConfigurationArgs(
            enabled=True, alarms=[*alarm_names, *deployment.alarms], ignore_poll_alarm_failure=False
        ),
        tags=tags,
        # CodeDeploy checks at creation that it can assume the role with its permissions.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]),
    )
    release = Release(
        f"{base}-release",
        function_name=function.name,
        alias=LIVE_ALIAS,
        version=function.version,
        application=application.name,
        deployment_group=group.deployment_group_name,
        before_hook=checks["pre"].name if "pre" in checks else None,
        after_hook=checks["post"].name if "post" in checks else None,
        wait_minutes=release_minutes(deployment.type),
        # After live exists (with its warm instances) and the checks can run and report.
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=[group, parts.live, *([parts.provisioned] if parts.provisioned else []), *check_policies],
        ),
    )
    return release


def _check_function(
    base: str,
    phase: str,
    check: TrafficCheckArgs,
    fs: FunctionArgs,
    parts: FunctionParts,
    group_arn: pulumi.Output[str],
    multi_value: bool,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> tuple[aws.lambda_.Function, aws.iam.RolePolicy]:
    """The function CodeDeploy runs as one check: it invokes the new version (before traffic) or
    live (after) with a load-balancer GET and reports the verdict. It logs to the function's own
    log group, next to what it checked."""
    opts = pulumi.ResourceOptions(parent=parent)
    name = f"{base}-{phase}-check"
    role = bounded_role(
        f"{name}-role", "lambda", f"The {PHASES[phase]} check of the {base} function's releases", fs, tags, opts
    )
    policy = aws.iam.RolePolicy(
        f"{name}-policy",
        role=role.id,
        policy=pulumi.Output.all(parts.log_group.arn, parts.function.arn, group_arn).apply(
            lambda a: check_role_policy(*a)
        ),
        opts=opts,
    )
    function = aws.lambda_.Function(
        name,
        name=name,
        role=role.arn,
        runtime=DEFAULT_RUNTIME,
        architectures=[fs.architecture],
        handler="check.handler",
        code=pulumi.AssetArchive({"check.py": pulumi.FileAsset(str(CHECK_CODE / "check.py"))}),
        memory_size=128,
        timeout=CHECK_TIMEOUT_S,
        environment=aws.lambda_.FunctionEnvironmentArgs(
            variables={
                "TARGET_FUNCTION": parts.function.name,
                "ALIAS": LIVE_ALIAS,
                "PHASE": "before" if phase == "pre" else "after",
                "CHECK_PATH": check.path,
                "EXPECTED_STATUS": str(check.expected_status),
                "MULTI_VALUE": "true" if multi_value else "false",
            }
        ),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=parts.log_group.name),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]),
    )
    return function, policy
