"""The function, its execution role, its log group and its least-privilege policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.dependencies import DependencyError, Target, build_function_package
from components.packaging import write_package
from components.settings import FunctionArgs

BUILD_DIR = ".build"


def assume_role_policy() -> str:
    """Trust policy: only the Lambda service may assume the execution role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def execution_policy(log_group_arn: str, tracing_active: bool) -> str:
    """Write to its own log group only; X-Ray only with active tracing.

    Deliberately not AWSLambdaBasicExecutionRole, which grants the log actions on ``*``.
    X-Ray has no resource-level permissions, hence ``*`` for those two actions.
    """
    statements = [
        {
            "Sid": "WriteOwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        }
    ]
    if tracing_active:
        statements.append(
            {
                "Sid": "ActiveTracing",
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource": "*",
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


LIVE_ALIAS = "live"


@dataclass
class FunctionParts:
    """What ``create_function`` made, for wiring and outputs."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    policy: aws.iam.RolePolicy
    live: aws.lambda_.Alias  # what the load balancer invokes


def environment_args(fs: FunctionArgs) -> aws.lambda_.FunctionEnvironmentArgs | None:
    """The function's variables. A value may be an Output (a secret from the stack's config, or
    another resource's attribute): a secret one makes the whole environment secret in the state and
    in previews."""
    if not fs.environment:
        return None
    return aws.lambda_.FunctionEnvironmentArgs(variables=dict(fs.environment))


def has_outputs(values: object) -> bool:
    """Whether any value is still an Output (it may be secret: its echo in the state stays secret)."""
    return isinstance(values, pulumi.Output) or (
        isinstance(values, dict) and any(isinstance(v, pulumi.Output) for v in values.values())
    )


def live_alias_routing(
    fs: FunctionArgs, new_version: pulumi.Output[str]
) -> tuple[pulumi.Input[str], aws.lambda_.AliasRoutingConfigArgs | None]:
    """What `live` serves: (primary version, routing to the new version).

    A canary keeps `live` on ``stableVersion`` and routes ``canaryWeight`` percent to the version just
    published. Both change in one UpdateAlias call, so the new version never serves more than its
    weight, not even while the deploy is under way.
    """
    if fs.canary_weight:
        weight = fs.canary_weight / 100
        routing = aws.lambda_.AliasRoutingConfigArgs(
            additional_version_weights=new_version.apply(lambda version: {version: weight})
        )
        return fs.stable_version, routing
    return fs.live_version or new_version, None


def package_code(name: str, fs: FunctionArgs, project_dir: Path) -> tuple[pulumi.Archive, str | None]:
    """The function's package and its hash, built before any resource is registered: a dependency
    that cannot be installed stops the program with nothing created."""
    if fs.code is not None:
        code, code_hash = fs.code, None  # the caller's archive; Pulumi hashes it itself
    else:
        try:
            # The code plus requirements.txt's dependencies built for the function's own platform.
            target = Target(fs.runtime, fs.architecture)
            package = build_function_package(project_dir, fs.code_dir, target, project_dir / BUILD_DIR)
        except DependencyError as exc:
            lines = "".join(f"\n  - {problem}" for problem in exc.problems)
            raise pulumi.RunError(f"{len(exc.problems)} problem(s) with the function's dependencies:{lines}") from None
        code = pulumi.FileArchive(str(write_package(package, project_dir / BUILD_DIR, name)))
        code_hash = package.sha256_base64
    return code, code_hash


def create_function(
    name: str,
    function_name: str,
    fs: FunctionArgs,
    package: tuple[pulumi.Archive, str | None],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> FunctionParts:
    """Create the role, log group, policy and function, children of ``parent``."""
    opts = pulumi.ResourceOptions(parent=parent)
    code, code_hash = package

    role = aws.iam.Role(
        f"{name}-role",
        assume_role_policy=assume_role_policy(),
        description=f"Execution role of the {function_name} function",
        # Set when a pipeline deploys: its role may only create roles under this boundary.
        permissions_boundary=fs.permissions_boundary,
        tags=tags,
        opts=opts,
    )
    # Created by us, before the function, so Lambda never creates one that keeps logs forever.
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-fn-logs",
        name=f"/aws/lambda/{function_name}",
        retention_in_days=fs.log_retention_days,
        tags=tags,
        opts=opts,
    )
    tracing_active = fs.tracing == "Active"
    policy = aws.iam.RolePolicy(
        f"{name}-fn-policy",
        role=role.id,
        policy=log_group.arn.apply(lambda arn: execution_policy(arn, tracing_active)),
        opts=opts,
    )
    function = aws.lambda_.Function(
        f"{name}-fn",
        name=function_name,
        role=role.arn,
        runtime=fs.runtime,
        architectures=[fs.architecture],
        handler=fs.handler,
        code=code,
        source_code_hash=code_hash,
        memory_size=fs.memory_size,
        timeout=fs.timeout,
        reserved_concurrent_executions=fs.reserved_concurrency,
        tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode=fs.tracing),
        environment=environment_args(fs),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
        # Every code or configuration change publishes a new immutable version for `live` to serve.
        publish=True,
        tags=tags,
        # The policy must exist before the first invocation writes logs or traces, and Lambda
        # refuses active tracing while the role lacks the X-Ray actions.
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=[policy, log_group],
            # The variables' values stay encrypted in the state even if a provider echoes them back.
            additional_secret_outputs=["environment"] if has_outputs(fs.environment) else None,
        ),
    )
    # The load balancer invokes the alias, never $LATEST: a bad release is rolled back by pinning
    # `live` to the previous version (function.liveVersion), without touching the code.
    primary, routing = live_alias_routing(fs, function.version)
    live = aws.lambda_.Alias(
        f"{name}-live",
        name=LIVE_ALIAS,
        function_name=function.name,
        function_version=primary,
        routing_config=routing,
        description="What the load balancer serves",
        opts=opts,
    )
    return FunctionParts(function, role, log_group, policy, live)
