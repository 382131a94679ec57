"""The Lambda function's settings: ``function`` (and each entry of ``functions``) and its ``vpc``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from . import readers
from . import rules as r
from .kinds import Custom, Flag, Integer, OneOf, Text, Texts
from .limits import (
    ARCHITECTURES,
    DEFAULT_ARCHITECTURE,
    DEFAULT_CODE_DIR,
    DEFAULT_HANDLER,
    DEFAULT_LOG_RETENTION_DAYS,
    DEFAULT_MEMORY_MB,
    DEFAULT_RUNTIME,
    DEFAULT_TIMEOUT_S,
    DEFAULT_TRACING,
    HANDLER_RE,
    KMS_KEY_ALLOWED,
    KMS_KEY_ARN_RE,
    LOG_RETENTION_DAYS,
    MAX_ENV_BYTES,
    MEMORY_RANGE_MB,
    POLICY_ARN_RE,
    SG_RE,
    SUBNET_RE,
    SUPPORTED_RUNTIMES,
    TIMEOUT_RANGE_S,
    TRACING_MODES,
    each_must_match,
    must_match,
)
from .model import Block, Report
from .release_settings import DeploymentArgs

if TYPE_CHECKING:
    import pulumi

    # What a program may give where a value often comes from another resource: the value itself,
    # or a pulumi.Output of it (checked when known, passed through when not).
    InputStr = pulumi.Input[str]
    InputList = Sequence[pulumi.Input[str]] | pulumi.Input[Sequence[str]]
else:  # the kinds judge every value; pydantic only needs names it can resolve
    InputStr = Any
    InputList = Any


def subnet_list(allowed: str) -> Texts:
    """The kind of a list of subnet IDs (a new one for each field that holds one)."""
    return Texts(
        example="subnet-0123456789abcdef0",
        check=each_must_match(SUBNET_RE, "a subnet ID (subnet- and 8 or 17 hex digits)"),
        pattern=SUBNET_RE.pattern,
        allowed_text=allowed,
    )


class FunctionVpcArgs(Block):
    """Private network access for the function: ``function.vpc`` (its network interfaces in your
    subnets). Costs a NAT gateway for internet access and some cold-start time: use only to reach
    something private."""

    subnet_ids: Annotated[
        InputList, subnet_list("one or more `subnet-...` of one VPC (two zones or more for availability)")
    ] = Field(default=(), description="The private subnets the function's network interfaces are placed in.")

    security_group_ids: Annotated[
        InputList,
        Texts(
            example="sg-0123456789abcdef0",
            check=each_must_match(SG_RE, "a security group ID (sg- and 8 or 17 hex digits)"),
            pattern=SG_RE.pattern,
            allowed_text="`sg-...` IDs; unset: a group the component creates",
        ),
    ] = Field(
        default=(),
        description="Existing security groups of the function. Unset: one with no ingress and only the egress below.",
    )

    egress_cidrs: Annotated[
        InputList,
        Texts(example="10.0.0.0/16", check=r.cidr_problem, allowed_text="CIDR blocks; only without `securityGroupIds`"),
    ] = Field(default=(), description="Where the function may connect, through the group the component creates.")

    egress_ports: Annotated[
        tuple[int, ...],
        Custom(
            reader=readers.ports,
            json_schema={"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1, "maximum": 65535}},
            allowed_text="TCP ports 1-65535",
        ),
    ] = Field(default=(443,), description="The TCP ports the created group lets the function connect to.")

    def cross_check(self, report: Report, given: frozenset[str]) -> None:
        """Subnets are required; the egress keys shape only the group the component creates."""
        if (
            not report.unresolved(self.subnet_ids)
            and not self.subnet_ids
            and report.key("subnet_ids") not in report.bad
        ):
            report.add(f"{report.at('subnet_ids')}: missing; list the private subnets the function runs in")
        own = [key for key in (report.key("egress_cidrs"), report.key("egress_ports")) if key in given]
        if report.key("security_group_ids") in given and own:
            report.add(f"{report.at('security_group_ids')}: given with {', '.join(own)}, which shape only the "
                       "group the component creates; put those rules in your groups instead")  # fmt: skip
        elif report.key("security_group_ids") not in given and report.key("egress_cidrs") not in given:
            report.add(
                f"{report.at('egress_cidrs')}: missing; list where the function connects (e.g. the database's "
                f"subnets), or give {report.key('security_group_ids')}"
            )


class FunctionArgs(Block):
    """The Lambda function: ``function`` in the stack configuration."""

    runtime: Annotated[str, OneOf(choices=SUPPORTED_RUNTIMES)] = Field(
        default=DEFAULT_RUNTIME, description="Lambda's Python runtime."
    )

    architecture: Annotated[str, OneOf(choices=ARCHITECTURES)] = Field(
        default=DEFAULT_ARCHITECTURE, description="The processor the function runs on."
    )

    memory_size: Annotated[int, Integer(lo=MEMORY_RANGE_MB[0], hi=MEMORY_RANGE_MB[1], unit=" MB")] = Field(
        default=DEFAULT_MEMORY_MB, description="Memory in MB; CPU is allotted in proportion."
    )

    ephemeral_storage: Annotated[int | None, Integer(lo=512, hi=10240, unit=" MB")] = Field(
        default=None, description="Size of /tmp in MB; above 512 it is billed. Unset: Lambda's 512 MB."
    )

    timeout: Annotated[int, Integer(lo=TIMEOUT_RANGE_S[0], hi=TIMEOUT_RANGE_S[1], unit=" seconds")] = Field(
        default=DEFAULT_TIMEOUT_S,
        description="How long one invocation may run; the load balancer answers 502 after it.",
    )

    reserved_concurrency: Annotated[
        int | None,
        Custom(
            reader=readers.reserved_concurrency,
            json_schema={"type": "integer", "minimum": 1},
            allowed_text="1 or more; 0 is refused (it would throttle every request)",
        ),
    ] = Field(
        default=None,
        description="Concurrency reserved from the account's pool; requests above it get 502. Unset: unreserved.",
    )

    tracing: Annotated[str, OneOf(choices=TRACING_MODES)] = Field(
        default=DEFAULT_TRACING, description="X-Ray tracing; Active adds the X-Ray permissions."
    )

    log_retention_days: Annotated[
        int,
        Custom(
            reader=readers.retention(1, DEFAULT_LOG_RETENTION_DAYS),
            json_schema=readers.retention_schema(1),
            allowed_text="a retention CloudWatch Logs accepts: " + ", ".join(map(str, LOG_RETENTION_DAYS)),
        ),
    ] = Field(default=DEFAULT_LOG_RETENTION_DAYS, description="Days the function's log group keeps its logs.")

    keeps_function_names: Annotated[bool, Flag()] = Field(
        default=False,
        description="In functions only: this key is the stack's former `function` block, and keeps its names "
        "(function, log group, role, target group, alarms), so moving from function to functions replaces nothing "
        "and keeps the versions and logs. One key at most.",
    )

    delete_logs_with_function: Annotated[bool, Flag()] = Field(
        default=False,
        description="True: removing the function (or renaming its key) deletes its log group and the events in it. "
        "False: the group is left in AWS, its retention still applying, and a function of the same name later "
        "adopts it with its events.",
    )

    environment: Annotated[
        Mapping[str, InputStr],
        Custom(
            reader=readers.environment,
            json_schema=readers.ENVIRONMENT_SCHEMA,
            allowed_text=f"names of two or more letters, digits and _ (not those Lambda reserves) to strings, "
            f"{MAX_ENV_BYTES // 1024} KB in total",
        ),
    ] = Field(
        default_factory=dict,
        description="Environment variables of the function; a value may be a secret (docs/configuration.md#secrets).",
    )

    code_dir: Annotated[str, Text()] = Field(
        default=DEFAULT_CODE_DIR,
        description="The function's code: a directory under the project root; a requirements.txt there is installed "
        "for the function's platform (docs/dependencies.md).",
    )

    code: Annotated[Any, Custom(reader=readers.code, allowed_text="a `pulumi.Archive`")] = Field(
        default=None,
        description="In code only: the function's package as a pulumi.Archive, used instead of code_dir.",
        exclude=True,
    )

    handler: Annotated[
        str,
        Text(
            check=must_match(HANDLER_RE, "a handler; write module.function, e.g. app.handler"),
            pattern=HANDLER_RE.pattern,
            allowed_text="`module.function`; the module file must exist in `codeDir`",
        ),
    ] = Field(default=DEFAULT_HANDLER, description="The function Lambda calls.")

    live_version: Annotated[
        str | None,
        Custom(reader=readers.version, json_schema=readers.VERSION_SCHEMA, allowed_text="a published version number"),
    ] = Field(default=None, description="Pins the live alias to this version (a rollback). Unset: the newest version.")

    canary_weight: Annotated[int, Integer(lo=0, hi=100, unit=" percent")] = Field(
        default=0,
        description="Percent of live's traffic routed to the newest version during a canary; needs stableVersion.",
    )

    stable_version: Annotated[
        str | None,
        Custom(reader=readers.version, json_schema=readers.VERSION_SCHEMA, allowed_text="a published version number"),
    ] = Field(default=None, description="The version live keeps serving the rest of the traffic with during a canary.")

    deployment: DeploymentArgs | None = Field(
        default=None,
        description="Releases each new version through CodeDeploy: traffic shifted in steps, watched by the alarms, "
        "rolled back on its own; `pulumi up` waits for the outcome. Unset: live moves at once.",
        json_schema_extra={"allowed": "see `deployment.*`"},
    )

    keep_versions: Annotated[int, Integer(lo=2, hi=1000)] = Field(
        default=10,
        description="Published versions kept: each deploy deletes the older ones, never one an alias serves or "
        "routes to nor a pinned liveVersion or stableVersion (Lambda's code storage is 75 GB per region).",
    )

    vpc: FunctionVpcArgs | None = Field(
        default=None,
        description="Runs the function in your VPC's private subnets, to reach something private (a database).",
        json_schema_extra={"allowed": "see `vpc.*`"},
    )

    provisioned_concurrency: Annotated[
        int | None, Integer(lo=1, hi=None, allowed_text="1 or more; at most reservedConcurrency when that is set")
    ] = Field(
        default=None,
        description="Instances the live alias keeps initialised (no cold starts up to this many); billed while "
        "deployed.",
    )

    permissions_boundary: Annotated[
        InputStr | None,
        Text(
            check=must_match(POLICY_ARN_RE, "an IAM managed policy ARN (arn:aws:iam::<account>:policy/<name>)"),
            pattern=POLICY_ARN_RE.pattern,
            allowed_text="an IAM managed policy ARN",
        ),
    ] = Field(
        default=None, description="Permissions boundary of the execution role; required when the pipeline deploys."
    )

    kms_key_arn: Annotated[
        InputStr | None,
        Text(
            check=must_match(KMS_KEY_ARN_RE, KMS_KEY_ALLOWED),
            pattern=KMS_KEY_ARN_RE.pattern,
            allowed_text=KMS_KEY_ALLOWED,
        ),
    ] = Field(
        default=None,
        description="Customer-managed key for the variables: only the function and roles allowed to use the key can "
        "read them (the bootstrap's devKeyArn/prodKeyArn); required when environment holds a secret.",
    )

    def cross_check(self, report: Report, given: frozenset[str]) -> None:
        """The code directory and handler module exist; a canary has its stable version and no pin."""
        project_dir = report.context.get("project_dir")
        bad = report.bad
        if (
            project_dir is not None
            and self.code is None
            and report.key("code_dir") not in bad
            and report.key("handler") not in bad
        ):
            code_path = Path(project_dir) / self.code_dir
            if not code_path.resolve().is_relative_to(Path(project_dir).resolve()):
                report.add(
                    f"{report.at('code_dir')}: {self.code_dir!r} is outside the project; "
                    f"use a directory under {project_dir}"
                )
            elif not code_path.is_dir():
                report.add(f"{report.at('code_dir')}: {self.code_dir!r} is not a directory under {project_dir}")
            else:
                module = self.handler.rsplit(".", 1)[0]
                if not (code_path / (module.replace(".", "/") + ".py")).is_file():
                    report.add(
                        f"{report.at('handler')}: {self.handler!r} names module {module!r}, but {self.code_dir}/"
                        f"{module.replace('.', '/')}.py does not exist"
                    )
        reserved, provisioned = self.reserved_concurrency, self.provisioned_concurrency
        if isinstance(reserved, int) and isinstance(provisioned, int) and provisioned > reserved:
            report.add(
                f"{report.at('provisioned_concurrency')}: {provisioned} is more than "
                f"{report.at('reserved_concurrency')} ({reserved}); Lambda cannot keep more instances ready than "
                "the function may run"
            )
        if self.deployment is not None:
            for key in ("live_version", "canary_weight", "stable_version"):
                if report.key(key) in given:
                    report.add(
                        f"{report.at(key)}: set with {report.at('deployment')}, where CodeDeploy moves live and rolls "
                        f"a bad release back itself; remove {report.key(key)} (docs/operations.md#releases-shifted-"
                        "by-codedeploy-functiondeployment)"
                    )
            return
        weight, stable = self.canary_weight, self.stable_version
        if weight and stable is None and report.key("stable_version") not in bad:
            report.add(
                f"{report.at('canary_weight')}: {weight} needs {report.at('stable_version')}, the version that serves "
                f"the other {100 - weight} percent (the functionVersion output before this release)"
            )
        if stable is not None and not weight and report.key("canary_weight") not in given:
            report.add(
                f"{report.at('stable_version')}: set without {report.at('canary_weight')}; "
                "give the canary's percentage (1-100)"
            )
        if weight and self.live_version is not None:
            report.add(
                f"{report.at('live_version')}: set during a canary, where live serves {report.at('stable_version')} "
                f"and routes {weight} percent to the new version; remove {report.key('live_version')} "
                "(or the canary keys, to roll back)"
            )
