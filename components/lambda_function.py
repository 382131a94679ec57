"""The function, its execution role, its log group and its least-privilege policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from .dependencies import DependencyError, Target, build_function_package
from .log_groups import kept_log_group
from .network import holds_output, port_rules, vpc_of_subnets
from .packaging import write_package
from .pruning import VersionPruning
from .settings import FunctionArgs

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


def execution_policy(
    log_group_arn: str, tracing_active: bool, network: NetworkScope | None = None, key_arn: str | None = None
) -> str:
    """Write to its own log group only; X-Ray only with active tracing; in a VPC, manage its own
    network interfaces in its subnets with its security groups only; with a customer-managed key for
    its variables (``key_arn``), decrypt with that key only.

    Deliberately not AWSLambdaBasicExecutionRole (log actions on ``*``) nor
    AWSLambdaVPCAccessExecutionRole (network-interface actions on ``*``). X-Ray and
    DescribeNetworkInterfaces have no resource-level permissions, hence ``*`` for those.
    """
    statements: list[dict[str, Any]] = [
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
    if network is not None:
        statements += network.statements()
    if key_arn is not None:
        statements.append(
            {"Sid": "DecryptOwnVariables", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key_arn}
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@dataclass(frozen=True)
class NetworkScope:
    """Where a function in a VPC may create and delete its network interfaces (resolved values)."""

    partition: str
    region: str
    account: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]

    def arn(self, resource: str) -> str:
        return f"arn:{self.partition}:ec2:{self.region}:{self.account}:{resource}"

    def statements(self) -> list[dict[str, Any]]:
        """Lambda creates the interfaces as the function's role, in its subnets with its groups."""
        subnets = [self.arn(f"subnet/{s}") for s in self.subnet_ids]
        return [
            {
                "Sid": "CreateOwnNetworkInterfaces",
                "Effect": "Allow",
                "Action": ["ec2:CreateNetworkInterface"],
                "Resource": [
                    self.arn("network-interface/*"),
                    *subnets,
                    *(self.arn(f"security-group/{g}") for g in self.security_group_ids),
                ],
            },
            {
                # Lambda checks these when the function is created, against an interface that does
                # not exist yet: a condition on its subnet would fail that check. AWS's Lambda guide
                # asks for all resources of the account here (its region's, in this policy).
                "Sid": "ManageOwnNetworkInterfaces",
                "Effect": "Allow",
                "Action": [
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:DeleteNetworkInterface",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                "Resource": [self.arn("*/*")],
            },
            {
                "Sid": "DescribeNetworkInterfaces",
                "Effect": "Allow",
                "Action": ["ec2:DescribeNetworkInterfaces"],
                "Resource": "*",
            },
        ]


LIVE_ALIAS = "live"
# How long a VPC function's security group may take to be released by Lambda's network interfaces
# (AWS documents up to 45 minutes after the function leaves it); .github/workflows/deploy.yml's jobs
# run longer than this.
VPC_RELEASE_TIMEOUT = "50m"


@dataclass
class FunctionParts:
    """What ``create_function`` made, for wiring and outputs."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    policy: aws.iam.RolePolicy
    live: aws.lambda_.Alias  # what the load balancer invokes
    security_group: aws.ec2.SecurityGroup | None = None  # in a VPC, the group the component made
    provisioned: aws.lambda_.ProvisionedConcurrencyConfig | None = None


def environment_args(fs: FunctionArgs) -> aws.lambda_.FunctionEnvironmentArgs | None:
    """The function's variables. A value may be an Output (a secret from the stack's config, or
    another resource's attribute): a secret one makes the whole environment secret in the state and
    in previews."""
    if not fs.environment:
        return None
    return aws.lambda_.FunctionEnvironmentArgs(variables=dict(fs.environment))


def live_alias_routing(
    fs: FunctionArgs, new_version: pulumi.Output[str], function_name: str = "function"
) -> tuple[pulumi.Input[str], aws.lambda_.AliasRoutingConfigArgs | None]:
    """What `live` serves: (primary version, routing to the new version).

    A canary keeps `live` on ``stableVersion`` and routes ``canaryWeight`` percent to the version just
    published. Both change in one UpdateAlias call, so the new version never serves more than its
    weight, not even while the deploy is under way. A canary without a new version (no code or
    configuration change) would route to the version `live` serves, which Lambda refuses: that is
    an error as soon as the version is known (in the preview when the function does not change).
    """
    if fs.canary_weight:
        stable = fs.stable_version
        assert stable is not None  # the settings require stableVersion with canaryWeight
        weight = fs.canary_weight / 100

        def weights(version: str) -> dict[str, float]:
            if version == stable:
                raise pulumi.RunError(
                    f"{function_name}: canaryWeight routes to the newest version, {version}, which is stableVersion "
                    "itself (nothing new was published); Lambda cannot route a share to the version live serves. "
                    "Deploy the canary's first step together with a code change (docs/operations.md)"
                )
            return {version: weight}

        routing = aws.lambda_.AliasRoutingConfigArgs(additional_version_weights=new_version.apply(weights))
        return stable, routing
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
    invoke: pulumi.InvokeOptions,
    parent: pulumi.Resource,
) -> FunctionParts:
    """Create the role, log group, policy and function, children of ``parent``."""
    opts = pulumi.ResourceOptions(parent=parent)
    code, code_hash = package
    network = function_network(name, fs, tags, invoke, parent)

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
    # Removing the function keeps its log events unless the stack file says to delete them; a group
    # kept so is adopted when the function comes back (components/log_groups.py).
    log_group = kept_log_group(
        f"{name}-fn-logs",
        f"/aws/lambda/{function_name}",
        fs.log_retention_days,
        tags,
        not fs.delete_logs_with_function,
        invoke,
        parent,
    )
    tracing_active = fs.tracing == "Active"
    policy = aws.iam.RolePolicy(
        f"{name}-fn-policy",
        role=role.id,
        policy=pulumi.Output.all(log_group.arn, network.scope if network else None, fs.kms_key_arn).apply(
            lambda a: execution_policy(a[0], tracing_active, a[1], a[2])
        ),
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
        ephemeral_storage=aws.lambda_.FunctionEphemeralStorageArgs(size=fs.ephemeral_storage)
        if fs.ephemeral_storage is not None
        else None,
        timeout=fs.timeout,
        reserved_concurrent_executions=fs.reserved_concurrency,
        tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode=fs.tracing),
        environment=environment_args(fs),
        # Only principals allowed to use this key read the variables (the preview roles are not).
        kms_key_arn=fs.kms_key_arn,
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
        vpc_config=network.config if network else None,
        # Every code or configuration change publishes a new immutable version for `live` to serve.
        publish=True,
        tags=tags,
        # The policy must exist before the first invocation writes logs or traces, and Lambda
        # refuses active tracing while the role lacks the X-Ray actions.
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=[policy, log_group],
            # The variables' values stay encrypted in the state even if a provider echoes them back.
            additional_secret_outputs=["environment"] if holds_output(fs.environment) else None,
        ),
    )
    # Warm instances on `live`, the only thing the load balancer invokes; released (and no longer
    # billed) when the key is removed. Lambda refuses to set them on an alias that routes a share to
    # another version: when a canary starts, they are set first, on the alias as it still is.
    canary = bool(fs.canary_weight)

    def warm_instances(after: list[pulumi.Resource]) -> aws.lambda_.ProvisionedConcurrencyConfig:
        return aws.lambda_.ProvisionedConcurrencyConfig(
            f"{name}-provisioned",
            function_name=function.name,
            qualifier=LIVE_ALIAS,
            provisioned_concurrent_executions=fs.provisioned_concurrency,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=after),
        )

    provisioned = warm_instances([function]) if fs.provisioned_concurrency and canary else None
    # The load balancer invokes the alias, never $LATEST: a bad release is rolled back by pinning
    # `live` to the previous version (function.liveVersion), without touching the code.
    primary, routing = live_alias_routing(fs, function.version, function_name)
    live = aws.lambda_.Alias(
        f"{name}-live",
        name=LIVE_ALIAS,
        function_name=function.name,
        function_version=primary,
        routing_config=routing,
        description="What the load balancer serves",
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=[provisioned] if provisioned else None,
            # With function.deployment, CodeDeploy moves live (components/releases.py): Pulumi sets
            # the version when it creates the alias, never again, and the drift check ignores both.
            ignore_changes=["functionVersion", "routingConfig"] if fs.deployment is not None else None,
        ),
    )
    if fs.provisioned_concurrency and not canary:
        provisioned = warm_instances([live])
    return FunctionParts(
        function, role, log_group, policy, live, network.security_group if network else None, provisioned
    )


def prune_versions(
    name: str, fs: FunctionArgs, parts: FunctionParts, parent: pulumi.Resource, after: list[pulumi.Resource]
) -> VersionPruning:
    """The versions nothing refers to any more, deleted once live has moved (and its warm instances
    with it), and after ``after`` (a release, which moves live itself)."""
    pinned = [v for v in (fs.live_version, fs.stable_version) if v is not None]
    waits_for: list[pulumi.Resource] = [parts.live, *([parts.provisioned] if parts.provisioned else []), *after]
    return VersionPruning(
        f"{name}-versions",
        function_name=parts.function.name,
        version=parts.function.version,
        keep=fs.keep_versions,
        pinned=pinned,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=waits_for),
    )


@dataclass
class FunctionNetwork:
    """A function in a VPC: its vpc_config, the scope of its network-interface permissions, and the
    security group the component made for it (None when the caller gave its own)."""

    config: aws.lambda_.FunctionVpcConfigArgs
    scope: pulumi.Output[NetworkScope]
    security_group: aws.ec2.SecurityGroup | None


def function_network(
    name: str, fs: FunctionArgs, tags: dict[str, str], invoke: pulumi.InvokeOptions, parent: pulumi.Resource
) -> FunctionNetwork | None:
    """The function's place in a VPC (``function.vpc``), or None outside one."""
    vpc = fs.vpc
    if vpc is None:
        return None
    subnet_ids: Any = vpc.subnet_ids
    group = None
    given_groups: Any = vpc.security_group_ids
    group_ids: pulumi.Input[list[pulumi.Input[str]]] = (
        given_groups if isinstance(given_groups, pulumi.Output) else list(given_groups)
    )
    if not vpc.security_group_ids:
        ports = vpc.egress_ports
        group = aws.ec2.SecurityGroup(
            f"{name}-fn-sg",
            description=f"{name} function: no ingress; egress to its listed destinations only",
            vpc_id=vpc_of_subnets(subnet_ids, invoke),
            ingress=[],
            egress=pulumi.Output.from_input(cast(Any, vpc.egress_cidrs)).apply(
                lambda cidrs: port_rules(aws.ec2.SecurityGroupEgressArgs, list(cidrs), ports, "to its destinations")
            ),
            tags=tags,
            # Lambda's network interfaces hold the group for 20-45 minutes after the function leaves
            # it (a destroy, or function.vpc removed); the provider retries the delete meanwhile.
            opts=pulumi.ResourceOptions(
                parent=parent, custom_timeouts=pulumi.CustomTimeouts(delete=VPC_RELEASE_TIMEOUT)
            ),
        )
        group_ids = [group.id]
    identity = aws.get_caller_identity_output(opts=invoke)
    region = aws.get_region_output(opts=invoke)
    partition = aws.get_partition_output(opts=invoke)
    scope = pulumi.Output.all(
        partition.partition, region.region, identity.account_id, pulumi.Output.from_input(subnet_ids),
        pulumi.Output.from_input(group_ids),
    ).apply(lambda a: NetworkScope(a[0], a[1], a[2], tuple(a[3]), tuple(a[4])))  # fmt: skip
    config = aws.lambda_.FunctionVpcConfigArgs(subnet_ids=subnet_ids, security_group_ids=group_ids)
    return FunctionNetwork(config, scope, group)
