"""Evaluate the real Pulumi program under Pulumi's mocks and record the resource graph.

Follows Pulumi's documented unit-testing API (``pulumi.runtime.set_mocks`` and the
``pulumi.runtime.test`` decorator, which awaits every outstanding registration), with a monitor
that also records what the mocks alone do not show: each resource's parent, its dependencies
(``depends_on`` and data flow) and its ``retain_on_delete``/``protect`` options. Each evaluation
runs in a fresh ``contextvars.Context`` so stacks never leak into each other. The cost estimate
(``python -m costs``) and the tests (tests/harness.py) share it: a stack's graph is known without
an AWS account or the Pulumi CLI.

The only SDK internals used are in ``RecordingMonitor``: the documented ``Mocks.new_resource``
sees a resource's inputs but not its parent, dependencies or options, so the monitor (the
``monitor`` argument of ``set_mocks``) reads the raw registration request and decodes its inputs
with the SDK's own ``rpc.deserialize_properties``.
"""

from __future__ import annotations

import asyncio
import contextvars
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from components.stackfiles import as_runtime_config, stack_config

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "111122223333"
PROJECT = "lambda-alb"


def _service(typ: str) -> str:
    return typ.split(":")[1].split("/")[0]


class AwsMocks(pulumi.runtime.Mocks):
    """Answers resources and invokes the way the AWS provider does, with camelCase outputs."""

    def __init__(
        self,
        region: str = "us-east-1",
        default_vpc: bool = True,
        default_subnets: int = 3,
        subnet_vpc: str = "vpc-0123456789abcdef0",
        subnet_zones: str = "abcdef",
        provider_regions: dict[str, str] | None = None,
        log_groups: tuple[str, ...] = (),
        load_balancers: tuple[dict[str, Any], ...] = (),
    ):
        self.region = region
        self.subnet_vpc = subnet_vpc
        self.subnet_zones = subnet_zones
        self.default_vpc = default_vpc
        self.default_subnets = default_subnets
        # Explicit providers by resource name, and their regions: what an invoke through one answers.
        self.provider_regions = provider_regions or {}
        self.invokes: list[str] = []
        # Log groups that exist in the account before the program runs (retained by an earlier deploy).
        self.log_groups = log_groups
        # Load balancers already in the account: getLoadBalancer's outputs, with their "tags".
        self.load_balancers = load_balancers
        self.invoke_providers: list[tuple[str, str]] = []  # (token, provider reference)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        name, typ, region = args.name, args.typ, self.region
        outputs = dict(inputs)
        resource_id = f"{name}-id"
        arn = f"arn:aws:{_service(typ)}:{region}:{ACCOUNT}:{name}"
        if typ == "aws:lb/loadBalancer:LoadBalancer":
            outputs["dnsName"] = f"{name}-1234567890.{region}.elb.amazonaws.com"
            outputs["zoneId"] = "Z35SXDOTRQ7X7K"
            arn = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/app/{name}/50dc6c495c0c9188"
            outputs["arnSuffix"] = arn.split(":loadbalancer/")[1]
        elif typ == "aws:lb/targetGroup:TargetGroup":
            arn = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:targetgroup/{name}/73e2d6bc24d8a067"
            outputs["arnSuffix"] = arn.split(":")[-1]
        elif typ == "aws:lb/listener:Listener":
            arn = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:listener/app/lb/50dc6c495c0c9188/{name}"
        elif typ == "aws:lambda/function:Function":
            arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{inputs['name']}"
            outputs["version"] = "7"  # what publish=True returns: the newest version's number
        elif typ == "aws:lambda/alias:Alias":
            arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{inputs['functionName']}:{inputs['name']}"
        elif typ == "aws:acm/certificate:Certificate":
            arn = f"arn:aws:acm:{region}:{ACCOUNT}:certificate/{name}"
            outputs["domainValidationOptions"] = [
                {
                    "domainName": inputs["domainName"],
                    "resourceRecordName": f"_x1.{inputs['domainName']}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": "_x2.acm-validations.aws.",
                }
            ]
        elif typ == "aws:acm/certificateValidation:CertificateValidation":
            outputs["certificateArn"] = inputs["certificateArn"]
        elif typ == "aws:route53/record:Record":
            outputs["fqdn"] = inputs["name"].rstrip(".")
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            arn = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{inputs['name']}"
        elif typ == "aws:s3/bucket:Bucket":
            resource_id = f"{name}-0a1b2c3"
            outputs["bucket"] = resource_id
            arn = f"arn:aws:s3:::{resource_id}"
        elif typ == "aws:iam/role:Role":
            arn = f"arn:aws:iam::{ACCOUNT}:role/{inputs.get('name', name)}"
        elif typ == "aws:iam/policy:Policy":
            arn = f"arn:aws:iam::{ACCOUNT}:policy/{inputs.get('name', name)}"
        elif typ == "aws:kms/key:Key":
            arn = f"arn:aws:kms:{region}:{ACCOUNT}:key/{name}"
            outputs["keyId"] = name
        elif typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
        outputs.setdefault("arn", arn)
        outputs.setdefault("name", name)
        return resource_id, outputs

    def _region_of(self, provider: str) -> str:
        """The region of the provider an invoke went to (``urn::id``; the default one's is ours)."""
        for name, region in self.provider_regions.items():
            if provider.split("::")[-2:-1] == [name]:
                return region
        return self.region

    def call(self, args: pulumi.runtime.MockCallArgs):
        token = args.token
        self.invokes.append(token)
        self.invoke_providers.append((token, args.provider or ""))
        if token == "aws:index/getRegion:getRegion":
            region = self._region_of(args.provider or "")
            return {"region": region, "name": region, "id": region}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "AIDA", "id": ACCOUNT}
        if token == "aws:cloudwatch/getLogGroups:getLogGroups":
            prefix = args.args.get("logGroupNamePrefix") or ""
            names = [name for name in self.log_groups if name.startswith(prefix)]
            arns = [f"arn:aws:logs:{self.region}:{ACCOUNT}:log-group:{n}" for n in names]
            return {"logGroupNames": names, "arns": arns, "id": self.region}
        if token == "aws:lb/getLbs:getLbs":
            wanted = (args.args.get("tags") or {}).items()
            arns = [lb["arn"] for lb in self.load_balancers if wanted <= lb.get("tags", {}).items()]
            return {"arns": arns, "id": self.region}
        if token == "aws:lb/getLoadBalancer:getLoadBalancer":
            return next(lb for lb in self.load_balancers if lb["arn"] == args.args.get("arn"))
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if token == "aws:ec2/getVpcs:getVpcs":
            assert args.args["filters"] == [{"name": "is-default", "values": ["true"]}]
            return {"ids": ["vpc-0a1b2c3d4e5f60718"] if self.default_vpc else [], "id": self.region}
        if token == "aws:ec2/getSubnets:getSubnets":
            assert {"name": "default-for-az", "values": ["true"]} in args.args["filters"]
            ids = [f"subnet-0a1b2c3d4e5f6071{i}" for i in range(self.default_subnets)]
            return {"ids": ids, "id": self.region}
        if token == "aws:route53/getZone:getZone":
            if "zoneId" in args.args:  # looked up by ID (the bootstrap): a zone named after it
                zone_id = args.args["zoneId"]
                return {"name": f"{zone_id.lower()}.example.com", "zoneId": zone_id, "id": zone_id}
            return {"name": args.args["name"], "zoneId": "Z0123456789ABCDEFGHIJ", "id": "Z0123456789ABCDEFGHIJ"}
        if token == "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider":
            return {
                "arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
                "url": args.args["url"],
            }
        if token == "aws:ec2/getSubnet:getSubnet":
            subnet_id = args.args["id"]
            zone = self.subnet_zones[int(subnet_id[-1], 16) % len(self.subnet_zones)]
            return {"id": subnet_id, "vpcId": self.subnet_vpc, "availabilityZone": f"{self.region}{zone}"}
        raise NotImplementedError(f"unmocked invoke {token}")


@dataclass
class Registration:
    """One resource registration as the engine would receive it."""

    type: str
    name: str
    urn: str
    parent: str
    dependencies: list[str]
    retain_on_delete: bool
    protect: bool
    custom: bool
    inputs: dict = field(default_factory=dict)
    delete_before_replace: bool = False
    replace_with: tuple[str, ...] = ()  # URNs whose replacement replaces it too
    delete_timeout: str = ""  # customTimeouts.delete ("" for the provider's default)
    ignore_changes: tuple[str, ...] = ()  # inputs Pulumi sets on create and never updates
    import_id: str = ""  # the import option: an existing resource adopted instead of created


class RecordingMonitor(MockMonitor):
    """A mock monitor that keeps every registration."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def program_resources(self) -> list[Registration]:
        """Everything the program registered besides the root Stack (components included)."""
        return [r for r in self.registrations if r.type != "pulumi:pulumi:Stack"]

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        self.registrations.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                dependencies=list(request.dependencies),
                retain_on_delete=request.retainOnDelete,
                protect=request.protect,
                custom=request.custom,
                inputs=rpc.deserialize_properties(request.object) if request.custom else {},
                delete_before_replace=request.deleteBeforeReplace,
                replace_with=tuple(request.replace_with),
                delete_timeout=request.customTimeouts.delete,
                ignore_changes=tuple(request.ignoreChanges),
                import_id=request.importId,
            )
        )
        return response


@dataclass
class Graph:
    """The recorded program: registrations, exports and the invokes it made."""

    registrations: list[Registration]
    outputs: dict[str, Any]
    invokes: list[str]

    def of_type(self, typ: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == typ]

    def one(self, typ: str) -> Registration:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Registration:
        return next(r for r in self.registrations if r.name == name)

    def depends_on(self, dependent: Registration, dependency: Registration) -> bool:
        return dependency.urn in dependent.dependencies


def load_stack(stack: str, project_dir: Path = ROOT) -> dict[str, Any]:
    """The real ``Pulumi.<stack>.yaml`` merged over ``Pulumi.yaml``'s defaults."""
    return stack_config(project_dir, stack)


def with_(stack: str, **sections: Any) -> dict[str, Any]:
    """``stack``'s real configuration with some of its ``lambda-alb`` objects changed field by field."""
    config = load_stack(stack)
    for key, changes in sections.items():
        current = config.get(f"{PROJECT}:{key}") or {}
        config[f"{PROJECT}:{key}"] = {**current, **changes} if isinstance(changes, dict) else changes
    return config


def _no_stack_trace() -> Any:
    """An empty stack trace: the engine shows a registration's Python stack in its errors, which
    the mocks never do. Capturing it reads every frame's source line: a fifth of an evaluation."""
    from pulumi.runtime.proto import source_pb2

    return source_pb2.StackTrace()


def _ensure_event_loop() -> None:
    """Pulumi's mocks run on the thread's current event loop; ``asyncio.run`` elsewhere in the same
    process (a test of an async server) leaves none, so make one."""
    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


def evaluate(
    config: dict[str, Any],
    stack: str = "dev",
    mocks: AwsMocks | None = None,
    monitor: RecordingMonitor | None = None,
    preview: bool = False,
    program_dir: Path = ROOT,
    project: str = PROJECT,
    secret_keys: list[str] | None = None,
) -> Graph:
    """Run ``__main__.py`` under mocks with ``config`` (full keys, decoded values).

    Pass your own ``monitor`` to inspect what was registered when the program fails, and
    ``secret_keys`` for the keys the CLI would mark secret (``pulumi config set --secret``).
    """
    mocks = mocks or AwsMocks(region=str(config.get("aws:region", "us-east-1")))
    monitor = monitor or RecordingMonitor(mocks)
    _ensure_event_loop()

    exports: dict[str, Any] = {}

    @pulumi.runtime.test
    def run_program() -> pulumi.Output[None]:
        runpy.run_path(str(program_dir / "__main__.py"), run_name="__main__")
        # pulumi.export puts each value on the root Stack that set_mocks made; the engine drops
        # exports whose value is None, so they are left out here too.
        root = pulumi.runtime.get_root_resource()
        return pulumi.Output.from_input(getattr(root, "outputs", {})).apply(
            lambda values: exports.update({k: v for k, v in values.items() if v is not None})
        )

    def program() -> None:
        pulumi.runtime.resource._get_stack_trace = _no_stack_trace  # type: ignore[attr-defined]
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
        pulumi.runtime.set_all_config(as_runtime_config(config), secret_keys or [])
        run_program()

    # The language host runs a program from its own folder, so its local modules import.
    sys.path.insert(0, str(program_dir))
    try:
        contextvars.Context().run(program)
    finally:
        sys.path.remove(str(program_dir))
    return Graph(monitor.registrations, exports, mocks.invokes)
