"""The policy pack: every policy passes on both real stacks, and fires on a broken variant of its control.

The policies are plain functions (policy/rules.py), run here on the resource graph the program
registers under mocks, as the engine would hand it to the pack; the last tests drive the pack's
wiring (policy/pack.py) through pulumi-policy's own analyzer service, without the CLI.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2

from components.limits import SUPPORTED_RUNTIMES
from policy import pack, rules
from policy.rules import Resource, check_all
from policy.taggable import takes_tags
from policy.values import SECRET_SIG, SIG_KEY, UNKNOWN, Secret, mark
from tests.harness import Graph, evaluate, load_stack

ROOT = Path(__file__).resolve().parent.parent


STACK_KEY = "arn:aws:kms:us-east-1:111122223333:key/0000-stack"


def baseline_controls() -> set[str]:
    """The controls of docs/security.md's table: ELB.1, S3.2/3/8 (three), least privilege, tags..."""
    controls = set()
    table = (ROOT / "docs" / "security.md").read_text().split("\n## ")[0]  # the controls' table, before any section
    for line in table.splitlines():
        cell = line.split("|")[1].strip() if line.startswith("| ") else ""
        if not cell or cell in ("control", "---"):
            continue
        if cell.startswith(("ELB.", "Lambda.")):
            controls.add(cell.split()[0])
            continue
        for part in cell.split(", "):
            service, _, numbers = part.partition(".")
            controls |= {f"{service}.{n}" for n in numbers.split("/")} if numbers else {part}
    return controls


def resources(graph: Graph) -> list[Resource]:
    """The program's resources as a policy pack sees them (secrets marked)."""
    return [
        Resource(r.type, r.name, mark(r.inputs), r.urn, tuple(r.dependencies)) for r in graph.registrations if r.custom
    ]


def fired(found: list[rules.Violation], policy: str) -> list[str]:
    return [v.message for v in found if v.policy == policy]


def with_config(stack: str, **sections: dict) -> dict:
    config = load_stack(stack)
    for key, changes in sections.items():
        config[f"lambda-alb:{key}"] = {**(config.get(f"lambda-alb:{key}") or {}), **changes}
    return config


def untagged(items: list[Resource]) -> list[Resource]:
    """The resources as a component that forgot its tags would register them."""
    return [
        Resource(r.type, r.name, {k: v for k, v in r.props.items() if k != "tags"}, r.urn, r.dependencies)
        for r in items
    ]


# -- the real stacks pass ------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_policy_passes_on_every_resource_of_the_real_stacks(stack, request):
    assert check_all(resources(request.getfixturevalue(stack))) == []


def test_required_tags_fire_on_each_taggable_resource_without_them(prod):
    items = resources(prod)
    missing = fired(check_all(untagged(items)), "required-tags")
    assert len(missing) == sum(takes_tags(r.type) for r in items) > 10
    lb = next(m for m in missing if m.startswith("lambda-alb-prod-lb "))
    assert "tags: missing ['project', 'stack', 'managed-by']" in lb and "Fix:" in lb
    partly = broken(prod, "lambda-alb-prod-lb", lambda p: p["tags"].pop("managed-by"))
    assert [m.split(": ", 1)[1] for m in fired(check_all(partly), "required-tags")] == [
        "tags: missing ['managed-by']. Fix: tag every resource with project, stack and managed-by (the component "
        "does; a resource added outside it must pass tags=...)"
    ]


def test_taggability_comes_from_the_sdk_classes():
    assert takes_tags(rules.LOAD_BALANCER) and takes_tags(rules.FUNCTION) and takes_tags(rules.LOG_GROUP)
    assert not takes_tags(rules.PERMISSION) and not takes_tags(rules.ROLE_POLICY)
    assert not takes_tags("aws:lb/targetGroupAttachment:TargetGroupAttachment")
    assert not takes_tags("aws:nothing/here:Nothing") and not takes_tags("lambda-alb:components:LambdaAlbService")


# -- broken variants: each policy fires with its message ---------------------------------------


def broken(graph: Graph, name: str, change: Callable[[dict], Any]) -> list[Resource]:
    """The graph's resources with ``change`` applied to the properties of the resource ``name``."""
    items = []
    for r in resources(graph):
        props = dict(copy.deepcopy(r.props))
        if r.name == name:
            change(props)
        items.append(Resource(r.type, r.name, props, r.urn, r.dependencies))
    return items


def _set(path: str, value: Any) -> Callable[[dict], None]:
    def change(props: dict) -> None:
        *parents, last = path.split(".")
        target = props
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()


def _policy_doc(change: Callable[[dict], None]) -> Callable[[dict], None]:
    def apply(props: dict) -> None:
        document = json.loads(props["policy"])
        change(document)
        props["policy"] = json.dumps(document)

    return apply


def _statement(**statement: Any) -> Callable[[dict], None]:
    return _policy_doc(lambda d: d["Statement"].append({"Effect": "Allow", **statement}))


BROKEN = [
    # (policy, stack, resource, change, words the message must contain)
    (
        "elb-invalid-headers-dropped",
        "prod",
        "lambda-alb-prod-lb",
        _set("dropInvalidHeaderFields", False),
        "dropInvalidHeaderFields",
    ),
    (
        "elb-desync-mitigation",
        "prod",
        "lambda-alb-prod-lb",
        _set("desyncMitigationMode", "monitor"),
        "desyncMitigationMode: is 'monitor'",
    ),
    ("elb-several-zones", "dev", "lambda-alb-dev-lb", _set("subnets", ["subnet-1"]), "subnets: 1 subnet(s)"),
    (
        "elb-tls13-policy",
        "prod",
        "lambda-alb-prod-https",
        _set("sslPolicy", "ELBSecurityPolicy-2016-08"),
        "not a TLS 1.3 policy",
    ),
    (
        "elb-tls13-policy",
        "prod",
        "lambda-alb-prod-https",
        _set("sslPolicy", "ELBSecurityPolicy-TLS13-1-0-2021-06"),
        "TLS 1.2 or newer",
    ),
    ("elb-tls13-policy", "prod", "lambda-alb-prod-https", _set("sslPolicy", _DELETE), "still allows TLS 1.0"),
    ("lambda-invoke-scoped", "dev", "lambda-alb-dev-invoke", _set("principal", "*"), "any account"),
    ("lambda-invoke-scoped", "dev", "lambda-alb-dev-invoke", _set("sourceArn", _DELETE), "sourceArn: missing"),
    (
        "lambda-invoke-scoped",
        "dev",
        "lambda-alb-dev-invoke",
        _set("sourceArn", "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1"),
        "not a target group",
    ),
    (
        "lambda-supported-runtime",
        "dev",
        "lambda-alb-dev-fn",
        _set("runtime", "python3.9"),
        "runtime: 'python3.9' is not a supported runtime",
    ),
    (
        "function-env-no-plaintext-secret",
        "dev",
        "lambda-alb-dev-fn",
        _set("environment.variables.API_TOKEN", "tok-123"),
        "environment.variables.API_TOKEN: looks like a secret",
    ),
    (
        "function-env-no-plaintext-secret",
        "dev",
        "lambda-alb-dev-fn",
        _set("environment.variables.db_password", "hunter2"),
        "config set --secret",
    ),
    ("log-group-retention", "dev", "lambda-alb-dev-fn-logs", _set("retentionInDays", 0), "kept (and billed) forever"),
    (
        "log-group-retention",
        "dev",
        "lambda-alb-dev-fn-logs",
        _set("retentionInDays", _DELETE),
        "retentionInDays: is None",
    ),
    ("security-group-least-open", "dev", "lambda-alb-dev-sg", _set("ingress.0.protocol", "-1"), "opens every protocol"),
    (
        "security-group-least-open",
        "dev",
        "lambda-alb-dev-sg",
        _set("ingress.0.fromPort", 22),
        "ingress[0].fromPort: opens 22-80",
    ),
    (
        "security-group-least-open",
        "dev",
        "lambda-alb-dev-sg",
        _set("ingress.0.description", ""),
        "ingress[0].description: is empty",
    ),
    (
        "security-group-least-open",
        "dev",
        "lambda-alb-dev-sg",
        _set("egress", [{"protocol": "-1", "cidrBlocks": ["0.0.0.0/0"]}]),
        "all traffic to anywhere",
    ),
    (
        "s3-public-access-blocked",
        "dev",
        "lambda-alb-dev-access-logs-pab",
        _set("blockPublicPolicy", False),
        "blockPublicPolicy: is False",
    ),
    (
        "s3-acls-disabled",
        "dev",
        "lambda-alb-dev-access-logs-ownership",
        _set("rule.objectOwnership", "ObjectWriter"),
        "ACLs still apply",
    ),
    ("s3-encryption", "dev", "lambda-alb-dev-access-logs-sse", _set("rules", []), "sseAlgorithm: [] is not one of"),
    (
        "s3-lifecycle-expiry",
        "dev",
        "lambda-alb-dev-access-logs-lifecycle",
        _set("rules.0.abortIncompleteMultipartUpload", _DELETE),
        "aborts incomplete uploads",
    ),
    (
        "s3-lifecycle-expiry",
        "dev",
        "lambda-alb-dev-access-logs-lifecycle",
        _set("rules.0.status", "Disabled"),
        "no enabled rule",
    ),
    (
        "s3-bucket-policy",
        "dev",
        "lambda-alb-dev-access-logs-policy",
        _policy_doc(lambda d: d["Statement"].pop(0)),
        "does not deny requests without TLS",
    ),
    (
        "s3-bucket-policy",
        "dev",
        "lambda-alb-dev-access-logs-policy",
        _statement(Principal={"AWS": "arn:aws:iam::999999999999:root"}, Action=["s3:GetObject"], Resource="*"),
        "grants ['s3:GetObject']",
    ),
    (
        "s3-bucket-policy",
        "dev",
        "lambda-alb-dev-access-logs-policy",
        _statement(Principal="*", Action="s3:PutObject", Resource="*"),
        "allows anyone",
    ),
    (
        "iam-least-privilege",
        "dev",
        "lambda-alb-dev-fn-policy",
        _statement(Action="logs:*", Resource="arn:aws:logs:us-east-1:1:log-group:x"),
        "['logs:*'] allows every action",
    ),
    (
        "iam-least-privilege",
        "dev",
        "lambda-alb-dev-fn-policy",
        _statement(NotAction="iam:*", Resource="*"),
        "NotAction: allows everything except",
    ),
    (
        "iam-no-unconditional-destructive-wildcard",
        "dev",
        "lambda-alb-dev-fn-policy",
        _statement(Sid="Cleanup", Action=["ec2:DeleteSecurityGroup", "ec2:DescribeVpcs"], Resource="*"),
        "Statement[Cleanup]: allows ['ec2:DeleteSecurityGroup'] on every resource",
    ),
    (
        "iam-no-unconditional-destructive-wildcard",
        "dev",
        "lambda-alb-dev-fn-policy",
        _statement(Action="kms:ScheduleKeyDeletion", Resource=["*"]),
        "kms:ScheduleKeyDeletion",
    ),
    (
        "iam-no-unconditional-destructive-wildcard",
        "dev",
        "lambda-alb-dev-fn-policy",
        _statement(Action="ec2:Delete*", Resource="*"),
        "['ec2:Delete*']",
    ),
    (
        "sns-topic-encrypted",
        "prod",
        "lambda-alb-prod-alarms",
        _set("kmsMasterKeyId", "alias/aws/sns"),
        "AWS-managed SNS key",
    ),
    ("sns-topic-encrypted", "prod", "lambda-alb-prod-alarms", _set("kmsMasterKeyId", _DELETE), "not encrypted"),
    (
        "kms-key-rotation",
        "prod",
        "lambda-alb-prod-alarms-key",
        _set("enableKeyRotation", False),
        "enableKeyRotation: is False",
    ),
    (
        "waf-logs-redact-credentials",
        "prod",
        "lambda-alb-prod-waf-logging",
        _set("redactedFields", [{"singleHeader": {"name": "authorization"}}]),
        "does not redact ['cookie']",
    ),
    (
        "prod-like-deletion-protection",
        "prod",
        "lambda-alb-prod-lb",
        _set("enableDeletionProtection", False),
        "enableDeletionProtection: is off in a prod-like stack",
    ),
    (
        "prod-like-http-redirects",
        "prod",
        "lambda-alb-prod-http",
        _set("defaultActions", [{"type": "forward", "targetGroupArn": "arn:tg"}]),
        "defaultActions: serves plain HTTP in a prod-like stack",
    ),
    (
        "prod-like-retained-logs",
        "prod",
        "lambda-alb-prod-fn-logs",
        _set("retentionInDays", 30),
        "30 days in a prod-like stack (at least 365)",
    ),
    ("prod-like-retained-logs", "prod", "lambda-alb-prod-access-logs", _set("forceDestroy", True), "deletes the logs"),
    (
        "function-log-group",
        "dev",
        "lambda-alb-dev-fn-logs",
        _set("name", "/aws/lambda/other"),
        "is not created by the stack",
    ),
]


@pytest.mark.parametrize(
    ("policy", "stack", "name", "change", "words"), BROKEN, ids=[f"{b[0]}-{i}" for i, b in enumerate(BROKEN)]
)
def test_each_policy_fires_on_a_broken_variant_with_a_message_naming_resource_property_and_fix(
    policy, stack, name, change, words, request
):
    found = check_all(broken(request.getfixturevalue(stack), name, change))
    messages = fired(found, policy)
    assert len(messages) == 1, messages
    subject = f"lambda-alb-{stack}-fn" if policy == "function-log-group" else name
    assert messages[0].startswith(f"{subject} (aws:"), messages[0]
    assert words in messages[0] and "Fix: " in messages[0]
    # Nothing else is disturbed by the change.
    assert {v.policy for v in found} == {policy}


def test_every_policy_has_a_broken_variant_or_a_config_variant_test():
    covered = {b[0] for b in BROKEN} | {"elb-access-logs", "prod-like-waf", "bucket-has-controls", "required-tags"}
    assert {p.name for p in rules.POLICIES} == covered


def test_access_logs_off_in_the_stack_file_is_refused():
    graph = evaluate(with_config("dev", accessLogs={"enabled": False, "forceDestroy": False}), "dev")
    messages = fired(check_all(resources(graph)), "elb-access-logs")
    assert messages == [
        "lambda-alb-dev-lb (aws:lb/loadBalancer:LoadBalancer): accessLogs: access logging is off (no enabled "
        "access_logs with a bucket). Fix: keep accessLogs.enabled true in the stack file (the default), which logs "
        "to the dedicated bucket"
    ]


def test_prod_without_http_redirect_or_waf_is_refused_and_dev_is_not_prod_like(dev):
    graph = evaluate(
        with_config("prod", loadBalancer={"httpRedirect": False}, waf={"enabled": False}), "prod", preview=True
    )
    found = check_all(resources(graph))
    assert fired(found, "prod-like-waf") == [
        "lambda-alb-prod-lb (aws:lb/loadBalancer:LoadBalancer): (web ACL association): no WAF web ACL in front of "
        "it in a prod-like stack. Fix: set waf.enabled: true (or waf.webAclArn) in the stack file"
    ]
    # httpRedirect false in prod leaves no port-80 listener: nothing plain-HTTP to refuse.
    assert fired(found, "prod-like-http-redirects") == []
    # dev has no deletion protection, no HTTPS and no WAF: not prod-like, unless the pack's config says so.
    assert not rules.prod_like(resources(dev), {})
    declared = check_all(resources(dev), {"prod-like-deletion-protection": {"prodLike": True}})
    assert fired(declared, "prod-like-deletion-protection") == [
        "lambda-alb-dev-lb (aws:lb/loadBalancer:LoadBalancer): enableDeletionProtection: is off in a prod-like "
        "stack. Fix: set loadBalancer.deletionProtection: true (to tear the stack down on purpose, run that one "
        "update with this policy set to advisory)"
    ]


def test_a_bucket_without_its_controls_is_refused(dev):
    items = [r for r in resources(dev) if r.type != rules.PUBLIC_ACCESS_BLOCK]
    assert fired(check_all(items), "bucket-has-controls") == [
        "lambda-alb-dev-access-logs (aws:s3/bucket:Bucket): (bucket controls): has no a public access block "
        "(S3.2/3/8). Fix: create the bucket through the component, which adds every control"
    ]


def test_a_bucket_acl_is_refused(dev):
    acl = Resource(rules.BUCKET_ACL, "extra-acl", {"bucket": "b", "acl": "public-read"})
    assert fired(check_all([*resources(dev), acl]), "s3-acls-disabled") == [
        "extra-acl (aws:s3/bucketAcl:BucketAcl): acl: grants access through an ACL. Fix: remove the ACL; access "
        "goes through the bucket policy"
    ]


# -- secrets and unknowns ------------------------------------------------------------------------


ENV_POLICY = next(p for p in rules.POLICIES if p.name == "function-env-no-plaintext-secret")


def test_a_secret_in_the_stack_file_passes_and_the_same_value_in_plaintext_is_refused():
    environment = {"APP_ENV": "dev", "API_TOKEN": "s3cr3t-value"}
    config = with_config("dev", function={"environment": environment, "kmsKeyArn": STACK_KEY})
    secret = evaluate(config, "dev", secret_keys=["lambda-alb:function"])
    assert check_all(resources(secret)) == []
    assert fired(check_all(resources(evaluate(config, "dev"))), "function-env-no-plaintext-secret") == [
        "lambda-alb-dev-fn (aws:lambda/function:Function): environment.variables.API_TOKEN: looks like a secret but "
        "is stored as plaintext in the state and shown in previews. Fix: set it with `pulumi config set --secret "
        "--path 'function.environment.API_TOKEN'`, or add API_TOKEN to this policy's allowNames if it is not a secret"
    ]


def test_a_secret_environment_value_passes_and_only_secret_looking_names_are_judged():
    def env(**variables: Any) -> list[str]:
        props = {"runtime": "python3.13", "environment": {"variables": variables}}
        return rules.run_resource(ENV_POLICY, rules.FUNCTION, "fn", props, {})

    assert env(API_TOKEN=Secret("x"), APP_ENV="prod", LOG_LEVEL="debug") == []
    assert env(API_TOKEN=UNKNOWN) == []  # judged at `pulumi up`, once known
    assert len(env(API_TOKEN="x", STRIPE_KEY="y", Password="z", APP_ENV="prod")) == 3
    assert (
        rules.run_resource(
            ENV_POLICY,
            rules.FUNCTION,
            "fn",
            {"environment": {"variables": {"KEY_ID": "k"}}},
            {"allowNames": ["KEY_ID"]},
        )
        == []
    )


def test_wire_format_secrets_and_unknowns_are_marked():
    wire = {
        "environment": {
            "variables": {"A_TOKEN": {SIG_KEY: SECRET_SIG, "value": "t"}, "B": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"}
        }
    }
    assert mark(wire) == {"environment": {"variables": {"A_TOKEN": Secret("t"), "B": UNKNOWN}}}


def test_the_runtimes_the_pack_accepts_are_the_ones_the_settings_offer():
    policy = next(p for p in rules.POLICIES if p.name == "lambda-supported-runtime")
    assert tuple(policy.defaults["runtimes"]) == SUPPORTED_RUNTIMES


def _iam_findings(document: str) -> list[str]:
    iam = [p for p in rules.POLICIES if p.name.startswith("iam-")]
    return [m for p in iam for m in rules.run_resource(p, rules.ROLE_POLICY, "doc", {"policy": document}, {})]


def test_the_bootstrap_preview_role_and_function_boundary_pass_the_iam_policies():
    from bootstrap.access import function_boundary_policy, preview_policy

    for stack in ("dev", "prod"):
        assert _iam_findings(function_boundary_policy("111122223333", "lambda-alb", stack, STACK_KEY)) == []
        assert _iam_findings(preview_policy("111122223333", "lambda-alb", stack, "state-bucket")) == []


def test_the_packs_accepted_unscoped_actions_are_the_bootstraps_documented_ones():
    from bootstrap.access import UNSCOPABLE

    policy = next(p for p in rules.POLICIES if p.name == "iam-no-unconditional-destructive-wildcard")
    accepted = set(policy.defaults["acceptedUnscoped"])
    assert {a for a in UNSCOPABLE if rules._destructive(a)} <= accepted
    # Besides the bootstrap's, only the destructive actions the function boundary grants on every
    # resource: X-Ray's two and a release check's verdict, which AWS gives no resource type.
    from bootstrap.access import function_boundary_policy
    from tests.permissions import sar_action

    boundary = json.loads(function_boundary_policy("111122223333", "lambda-alb", "dev", STACK_KEY))["Statement"]
    on_everything = {a for s in boundary if s["Resource"] == "*" for a in s["Action"] if rules._destructive(a)}
    assert accepted - set(UNSCOPABLE) == on_everything
    assert all(not (sar_action(a) or {"resourceTypes": ["unknown"]})["resourceTypes"] for a in on_everything)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_bootstrap_deploy_roles_pass_the_iam_policies(stack):
    from bootstrap.access import deploy_policy

    boundary = "arn:aws:iam::111122223333:policy/b"
    document = deploy_policy("111122223333", "lambda-alb", stack, boundary, STACK_KEY, "state-bucket")
    assert _iam_findings(document) == []


@pytest.mark.parametrize(
    ("action", "destructive"),
    [
        ("*", True), ("s3:*", True), ("s3:Delete*", True), ("s3:Del*", True), ("s3:*Bucket", True),
        ("s3:*Object", True), ("iam:*Role", True), ("ec2:?eleteVpc", True), ("s3:DeleteBucket", True),
        ("s3:Get*", False), ("ec2:Describe*", False), ("logs:List*", False), ("s3:GetObject", False),
    ],
)  # fmt: skip
def test_a_wildcard_is_destructive_when_some_destructive_action_fits_it(action, destructive):
    assert rules._destructive(action) is destructive


def test_the_guardrails_doc_lists_the_destructive_verbs_the_rule_uses():
    row = next(
        line for line in (ROOT / "docs" / "guardrails.md").read_text().splitlines()
        if line.startswith("| `iam-no-unconditional-destructive-wildcard`")
    )  # fmt: skip
    listed = row.split("starts with ", 1)[1].split(", or a wildcard", 1)[0]
    assert re.findall(r"`([A-Za-z]+)`", listed) == list(rules.DESTRUCTIVE_VERBS)


def test_a_conditioned_or_read_only_wildcard_statement_is_not_destructive():
    policy = next(p for p in rules.POLICIES if p.name == "iam-no-unconditional-destructive-wildcard")

    def doc(**statement: Any) -> dict:
        return {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Resource": "*", **statement}]})}

    assert rules.run_resource(policy, rules.ROLE_POLICY, "p", doc(Action=["s3:Get*", "ec2:Describe*"]), {}) == []
    conditioned = doc(Action="iam:DeleteRole", Condition={"StringEquals": {"aws:ResourceTag/stack": "dev"}})
    assert rules.run_resource(policy, rules.ROLE_POLICY, "p", conditioned, {}) == []
    assert (
        rules.run_resource(
            policy,
            rules.ROLE_POLICY,
            "p",
            {"policy": json.dumps({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})},
            {},
        )
        == []
    )


# -- the pack's wiring, through pulumi-policy's analyzer service ---------------------------------


def _analyzer():
    from pulumi_policy import EnforcementLevel
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    pack.capture_wire_properties()
    return _PolicyAnalyzerServicer(pack.PACK_NAME, "1.0.0", pack.policies(), EnforcementLevel.MANDATORY)


def _request(typ: str, name: str, props: dict):
    from pulumi.runtime.proto import analyzer_pb2

    struct = struct_pb2.Struct()
    json_format.ParseDict(props, struct)
    return analyzer_pb2.AnalyzeRequest(
        type=typ, name=name, urn=f"urn:pulumi:dev::lambda-alb::{typ}::{name}", properties=struct
    )


def test_the_pack_sees_which_environment_values_are_secret_and_is_mandatory_by_default():
    analyzer = _analyzer()
    variables = {"API_TOKEN": {SIG_KEY: SECRET_SIG, "value": "s3cr3t"}, "DB_PASSWORD": "plain", "APP_ENV": "dev"}
    props = {
        "runtime": "python3.13",
        "name": "fn",
        "environment": {"variables": variables},
        "tags": {"project": "lambda-alb", "stack": "dev", "managed-by": "pulumi"},
    }
    response = analyzer.Analyze(_request(rules.FUNCTION, "fn", props), None)
    # pulumi-policy puts the policy's description on the line before the message.
    assert [(d.policyName, d.message.split("\n")[-1]) for d in response.diagnostics] == [
        (
            "function-env-no-plaintext-secret",
            "fn (aws:lambda/function:Function): environment.variables.DB_PASSWORD: looks like a secret but is "
            "stored as plaintext in the state and shown in previews. Fix: set it with `pulumi config set --secret "
            "--path 'function.environment.DB_PASSWORD'`, or add DB_PASSWORD to this policy's allowNames if it is not a "
            "secret",
        ),
    ]
    from pulumi.runtime.proto import analyzer_pb2

    assert response.diagnostics[0].enforcementLevel == analyzer_pb2.MANDATORY


def test_the_pack_config_turns_one_policy_advisory():
    from pulumi.runtime.proto import analyzer_pb2

    analyzer = _analyzer()
    analyzer.Configure(
        analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={"elb-tls13-policy": analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.ADVISORY)}
        ),
        None,
    )
    props = {"protocol": "HTTPS", "port": 443, "sslPolicy": "ELBSecurityPolicy-2016-08", "tags": {}}
    diagnostics = analyzer.Analyze(_request(rules.LISTENER, "https", props), None).diagnostics
    levels = {d.policyName: d.enforcementLevel for d in diagnostics}
    assert levels == {"elb-tls13-policy": analyzer_pb2.ADVISORY, "required-tags": analyzer_pb2.MANDATORY}


def test_pack_pins_match_the_project_requirements():
    def pins(path: Path) -> dict[str, str]:
        lines = [
            line.split("==") for line in path.read_text().splitlines() if "==" in line and not line.startswith("#")
        ]
        return {name.lower(): version.split()[0] for name, version in lines}  # a lock line ends in ' \\'

    project = pins(ROOT / "requirements.txt") | pins(ROOT / "requirements-dev.txt")
    for name, version in pins(ROOT / "policy" / "requirements.txt").items():
        assert project.get(name) == version, name


def test_every_baseline_control_is_enforced_and_every_exception_is_documented():
    baseline = baseline_controls()
    assert {"ELB.1", "S3.8", "Lambda.2", "least privilege", "tags", "secrets"} <= baseline
    assert baseline <= {c for p in rules.POLICIES for c in p.controls}
    guide = (ROOT / "docs" / "guardrails.md").read_text()
    for policy in rules.POLICIES:
        assert f"`{policy.name}`" in guide, policy.name
    for exception in rules.ACCEPTED_EXCEPTIONS:
        assert exception.what in guide, exception.what


def test_the_pack_describes_every_policy_with_its_config_schema():
    from google.protobuf import empty_pb2

    info = _analyzer().GetAnalyzerInfo(empty_pb2.Empty(), None)
    assert info.supportsConfig and [p.name for p in info.policies] == [p.name for p in rules.POLICIES]
    env = next(p for p in info.policies if p.name == "function-env-no-plaintext-secret")
    assert set(json_format.MessageToDict(env.configSchema.properties)) == {"namePatterns", "allowNames"}


def test_the_pack_runs_stack_policies_on_the_whole_stack():
    from pulumi.runtime.proto import analyzer_pb2

    def resource(typ: str, name: str, props: dict, dependencies: tuple[str, ...] = ()) -> analyzer_pb2.AnalyzerResource:
        struct = struct_pb2.Struct()
        json_format.ParseDict(props, struct)
        urn = f"urn:pulumi:prod::lambda-alb::{typ}::{name}"
        return analyzer_pb2.AnalyzerResource(type=typ, name=name, urn=urn, properties=struct, dependencies=dependencies)

    lb = resource(rules.LOAD_BALANCER, "lb", {"enableDeletionProtection": False, "internal": False})
    https = resource(rules.LISTENER, "https", {"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"})
    waf = resource(rules.WEB_ACL_ASSOCIATION, "waf", {"resourceArn": "arn:lb"}, (lb.urn,))
    response = _analyzer().AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[lb, https, waf]), None)
    assert [(d.policyName, d.urn) for d in response.diagnostics] == [("prod-like-deletion-protection", lb.urn)]


def test_the_pack_refuses_to_start_when_the_sdk_no_longer_deserializes_where_it_looks(monkeypatch):
    import pulumi_policy.policy as sdk

    monkeypatch.delattr(sdk, "deserialize_properties")
    with pytest.raises(RuntimeError, match="pulumi-policy 1.21.0 no longer has policy.deserialize_properties"):
        pack.capture_wire_properties()
