"""What a second deploy does: from two evaluations of the program under mocks (the stack as
deployed, and the stack file after a change), predict every replacement and deletion the engine
would make, and judge whether AWS would carry it out without failing or losing data.

Which input changes force a replacement comes from the Terraform AWS provider's schema
(``tests/data/replacements/forcenew.json``, with its source in ``SOURCE.md`` beside it): an
attribute marked ``ForceNew`` or ``RequiresReplace``. A replacement is created before the old
resource is deleted unless ``deleteBeforeReplace`` is set; a resource whose ``replaceWith`` names a
replaced resource is replaced with it; one whose force-new input names a replaced resource's ID or
ARN is replaced too (its ID changes).

Judged a failure (each a line of ``problems``):

- a replacement created first whose unique key (its physical name, or the one-per-parent key) does
  not change: AWS refuses the second one while the first exists;
- a new resource that takes the unique key of one that is deleted in the same update (created
  first, while the old one still holds it);
- deleting or replacing a resource that is protected, or a load balancer with deletion protection;
- a load balancer replaced while a target group attached to it stays (a target group serves one
  load balancer);
- deleting or replacing a data holder (a log group, a bucket) that is not retained: its log events
  or objects go with it, unless the stack file says so in a key whose name says so (``forceDestroy``).

Run as a script for the table of pairs and verdicts: ``.venv/bin/python -m tests.changesafety``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tests.harness import Graph, Registration
from tests.own_calls import DYNAMIC

DATA = Path(__file__).parent / "data" / "replacements"
TYPES = Path(__file__).parent / "data" / "iam" / "types.json"

# Terraform attributes whose Pulumi input has another name (pulumi-aws renames a few).
RENAMED = {
    ("aws_lambda_function", "function_name"): "name",
    ("aws_cloudwatch_metric_alarm", "alarm_name"): "name",
    ("aws_lambda_permission", "function_name"): "function",
    ("aws_sns_topic_policy", "arn"): "arn",
}
# Resources that hold data of their own, and the input that lets their deletion take it along.
DATA_HOLDERS = {
    "aws:cloudwatch/logGroup:LogGroup": None,  # log events: nothing deletes them but the group's deletion
    "aws:s3/bucket:Bucket": "forceDestroy",  # log objects: a non-empty bucket's delete fails without it
}


@cache
def forcenew() -> dict[str, dict[str, Any]]:
    return json.loads((DATA / "forcenew.json").read_text())


@cache
def terraform_types() -> dict[str, str]:
    return json.loads(TYPES.read_text())["resources"]


def terraform_type(token: str) -> str:
    """The Terraform type behind a Pulumi type; our own dynamic resources (components/pruning.py)
    are their own: their diff never asks for a replacement and they hold nothing in AWS."""
    return token if token == DYNAMIC else terraform_types()[token]


def camel(snake: str) -> str:
    """A Terraform attribute (or a settings field) in Pulumi's spelling: ``load_balancer_arn`` ->
    ``loadBalancerArn``, ``elb_5xx_threshold`` -> ``elb5xxThreshold``."""
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def input_key(tf: str, attribute: str) -> str:
    return RENAMED.get((tf, attribute), camel(attribute))


def value_at(inputs: Mapping[str, Any], path: str, tf: str) -> Any:
    """An input by its Terraform path (``block.attribute``; a list of blocks gives a list)."""
    parts = path.split(".")
    values: list[Any] = [inputs]
    for part in parts:
        key = input_key(tf, part) if len(parts) == 1 else camel(part)
        found: list[Any] = []
        for value in values:
            if isinstance(value, list):
                found += [v.get(key) for v in value if isinstance(v, Mapping)]
            elif isinstance(value, Mapping):
                found.append(value.get(key))
        values = found
    return values[0] if len(values) == 1 else values


@dataclass(frozen=True)
class Change:
    """One thing the engine would do to a resource: replace, delete or create it."""

    op: str
    registration: Registration
    why: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.op} {self.registration.type.split(':')[-1]} {self.registration.name}"


@dataclass
class Prediction:
    """A change of stack file: what the engine does, and why any of it would fail or lose data."""

    changes: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def of(self, op: str) -> list[Change]:
        return [c for c in self.changes if c.op == op]


def _key(urn: str) -> str:
    """A URN without its stack: `pulumi stack rename` rewrites that part of every URN in the state."""
    return urn.split("::", 1)[1] if urn.startswith("urn:pulumi:") else urn


def _custom(graph: Graph) -> dict[str, Registration]:
    return {_key(r.urn): r for r in graph.registrations if r.custom and not r.type.startswith("pulumi:providers:")}


def _identity(registration: Registration) -> tuple[str, ...]:
    """The strings other resources use to refer to it (the mocks' ID and ARN are built from names)."""
    inputs = registration.inputs
    name = inputs.get("name") or registration.name
    # The mocks (costs/graph.py) give an ID "<name>-id", and a bucket the name "<name>-0a1b2c3".
    marks = (
        f"{registration.name}-id",
        f"{registration.name}-0a1b2c3",
        f":{name}",
        f"/{name}/",
        f"/{registration.name}/",
    )
    return tuple(s for s in marks if s)


def _mentions(value: Any, marks: Iterable[str]) -> bool:
    text = json.dumps(value, default=str)
    return any(mark in text for mark in marks)


def unique_key(registration: Registration, fresh: Iterable[str] = ()) -> tuple[Any, ...] | None:
    """The values AWS keeps unique for this resource, or None when they cannot clash: its name is
    autonamed (a replacement gets a new one), or a value names a resource being replaced (``fresh``
    holds their marks: the new one has a new ID and ARN)."""
    tf = terraform_type(registration.type)
    spec = forcenew().get(tf, {})
    keys = spec.get("unique_key") or []
    if not keys:
        return None
    values = {key: value_at(registration.inputs, key, tf) for key in keys}
    autonamed = (spec.get("autoname") or {}).get("attribute", "name")
    if spec.get("autonamed") and values.get(autonamed) in (None, ""):
        return None
    if fresh and _mentions(list(values.values()), fresh):
        return None
    return (registration.type, *values.values())


def predict(before: Graph, after: Graph) -> Prediction:
    """Every replacement, deletion and creation of going from ``before`` to ``after``."""
    old, new = _custom(before), _custom(after)
    matched = {urn: urn for urn in old if urn in new}
    prediction = Prediction()
    replaced: dict[str, tuple[str, ...]] = {}
    for old_urn, new_urn in matched.items():
        tf = terraform_type(new[new_urn].type)
        reasons = tuple(
            attribute
            for attribute in forcenew().get(tf, {}).get("force_new", [])
            if value_at(old[old_urn].inputs, attribute, tf) != value_at(new[new_urn].inputs, attribute, tf)
        )
        if reasons:
            replaced[new_urn] = reasons
    # A replacement changes the resource's ID and ARN: what names them in a force-new input, or
    # lists it in replaceWith, is replaced too.
    while True:
        marks = {mark for urn in replaced for mark in _identity(new[urn])}
        grown = False
        for new_urn in matched.values():
            if new_urn in replaced:
                continue
            registration, tf = new[new_urn], terraform_type(new[new_urn].type)
            via = [u for u in registration.replace_with if _key(u) in replaced]
            referring = [
                a
                for a in forcenew().get(tf, {}).get("force_new", [])
                if _mentions(value_at(registration.inputs, a, tf), marks)
            ]
            if via or referring:
                replaced[new_urn] = tuple(f"replaceWith {u.rsplit('::', 1)[1]}" for u in via) + tuple(
                    f"{a} (names a replaced resource)" for a in referring
                )
                grown = True
        if not grown:
            break
    deleted = [old[u] for u in old if u not in matched]
    created = [new[u] for u in new if u not in matched.values()]
    prediction.changes += [Change("replace", new[u], why) for u, why in replaced.items()]
    prediction.changes += [Change("delete", r) for r in deleted]
    prediction.changes += [Change("create", r) for r in created]
    prediction.problems = _problems(old, new, matched, replaced, deleted, created)
    return prediction


def _problems(
    old: dict[str, Registration],
    new: dict[str, Registration],
    matched: dict[str, str],
    replaced: dict[str, tuple[str, ...]],
    deleted: list[Registration],
    created: list[Registration],
) -> list[str]:
    problems = []
    old_of = {new_urn: old[old_urn] for old_urn, new_urn in matched.items()}
    fresh = {mark for urn in replaced for mark in _identity(new[urn])}
    for urn, why in replaced.items():
        registration, previous = new[urn], old_of[urn]
        key = unique_key(registration, fresh)
        if key is not None and key == unique_key(previous) and not registration.delete_before_replace:
            problems.append(
                f"replaces {registration.name} ({', '.join(why)}) creating the new one first, under the same "
                f"unique key {key[1:]}: AWS refuses it while the old one exists"
            )
    goners = [*deleted, *(old_of[u] for u in replaced)]
    held = {unique_key(r): r for r in goners if unique_key(r) is not None}
    # A key that names a resource created in this step is new: that resource gets a new ID and ARN.
    fresh_created = {mark for r in created for mark in _identity(r)}
    for registration in created:
        key = unique_key(registration, fresh_created - set(_identity(registration)))
        if key is not None and key in held:
            problems.append(
                f"creates {registration.name} under {key[1:]}, which {held[key].name} still holds until it is deleted"
            )
    for registration in goners:
        what = "deletes" if registration in deleted else "replaces"
        if registration.protect:
            problems.append(f"{what} {registration.name}, which is protected")
        if registration.inputs.get("enableDeletionProtection"):
            problems.append(f"{what} {registration.name}, whose deletion protection refuses it")
        if registration.type in DATA_HOLDERS and not registration.retain_on_delete:
            override = DATA_HOLDERS[registration.type]
            if override is None or not registration.inputs.get(override):
                problems.append(f"{what} {registration.name} and the data it holds")
    replaced_lbs = {new[u].name for u in replaced if new[u].type == "aws:lb/loadBalancer:LoadBalancer"}
    if replaced_lbs:
        kept_groups = [
            r.name for urn, r in new.items() if r.type == "aws:lb/targetGroup:TargetGroup" and urn not in replaced
        ]
        for group in kept_groups:
            problems.append(
                f"replaces the load balancer {', '.join(sorted(replaced_lbs))} while target group {group} stays: "
                "a target group serves one load balancer"
            )
    return problems


def describe(prediction: Prediction) -> str:
    """One line: what is replaced and deleted (creations left out)."""
    shown = [c.label for c in prediction.changes if c.op != "create"]
    return "; ".join(shown) or "updates in place"


# ---------------------------------------------------------------------------------------------
# The pairs: each setting that can change on a live stack, flipped or moved, and the migrations.


@dataclass(frozen=True)
class Pair:
    """A change of stack file on a live stack: ``before`` as deployed, then ``after``."""

    name: str
    stack: str
    before: tuple[tuple[str, Any], ...]  # config keys changed from the real stack file, as JSON
    after: tuple[tuple[str, Any], ...]
    after_stack: str = ""  # a stack rename evaluates ``after`` under another stack name


CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
SHARED_ACL = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/shared-edge-acl/0f0e0d0c-0b0a-0908"
KEY = "arn:aws:kms:us-east-1:123456789012:key/0000-stack"
BOUNDARY = "arn:aws:iam::123456789012:policy/lambda-alb-prod-function-boundary"
SUBNETS = ["subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60712"]
# A value for every setting the generic flips cannot make (strings, lists, structured values).
SAMPLES: dict[str, Any] = {
    "function.runtime": "python3.12",
    "function.architecture": "x86_64",
    "function.handler": "app.handler",
    "function.codeDir": "function",
    "function.environment": {"APP_ENV": "prod", "FEATURE": "on"},
    "function.liveVersion": "3",
    "function.stableVersion": "3",
    # Releases through CodeDeploy switched on, with both checks (prod has its alarms).
    "function.deployment": {"type": "Canary10Percent5Minutes", "preTraffic": {"path": "/"}, "postTraffic": {}},
    "function.permissionsBoundary": BOUNDARY,
    "function.kmsKeyArn": KEY,
    "function.vpc": {"subnetIds": SUBNETS, "egressCidrs": ["10.0.0.0/16"]},
    "function.reservedConcurrency": 20,
    "function.logRetentionDays": 30,
    "loadBalancer.healthCheck.path": "/health",
    "loadBalancer.healthCheck.matcher": "200-299",
    "waf.logRetentionDays": 400,
    "loadBalancer.allowedCidrs": ["203.0.113.0/24"],
    "loadBalancer.certificateArn": CERTIFICATE.replace("1111", "9999"),
    "loadBalancer.subnetIds": SUBNETS,
    "loadBalancer.vpcId": "vpc-0123456789abcdef0",  # the mocks' subnets are in this VPC
    "loadBalancer.healthCheck.interval": 60,
    "loadBalancer.domainName": "app.example.com",
    "loadBalancer.hostedZoneName": "example.com",
    "loadBalancer.defaultAction": {"fixedResponse": {"statusCode": 404}},
    "accessLogs.prefix": "logs",
    "monitoring.alarmEmail": "oncall@example.com",
    "monitoring.kmsKeyArn": KEY,
    "waf.webAclArn": SHARED_ACL,
    "waf.ruleOverrides": {"AWSManagedRulesCommonRuleSet": {"SizeRestrictions_BODY": "count"}},
    "serviceName": "lambda-alb-prod2",
    "tags": {"team": "payments"},
    "routes": [{"priority": 10, "pathPatterns": ["/lb-health"], "fixedResponse": {"statusCode": 200}}],
}
# Settings that need another to be set with them (prod's stack file is the base).
COMPANIONS: dict[str, dict[str, Any]] = {
    "function.canaryWeight": {"function.stableVersion": "3"},
    "function.stableVersion": {"function.canaryWeight": 10},
    "loadBalancer.domainName": {"loadBalancer.hostedZoneName": "example.com", "loadBalancer.certificateArn": None},
    "loadBalancer.hostedZoneName": {"loadBalancer.domainName": "app.example.com", "loadBalancer.certificateArn": None},
    "loadBalancer.subnetIds": {"loadBalancer.vpcId": "vpc-0123456789abcdef0"},
    "loadBalancer.vpcId": {"loadBalancer.subnetIds": SUBNETS},
    "waf.webAclArn": {"waf.rateLimit": None},
    "accessLogs.forceDestroy": {"accessLogs.protect": False},
    "loadBalancer.healthCheck.interval": {"loadBalancer.healthCheck.enabled": True},
    "monitoring.alarmEmail": {},
    "monitoring.kmsKeyArn": {},
}


def flipped(setting: Any, current: Any, key: str) -> Any:
    """Another valid value of a setting: a flipped bool, the next number, another choice, a sample."""
    from components.kinds import Flag, Integer, Number, OneOf

    kind = setting.kind
    if key in SAMPLES:
        return SAMPLES[key]
    if isinstance(kind, Flag):
        return not current
    if isinstance(kind, Integer | Number):
        value = current if current is not None else (kind.lo or 1)
        high = getattr(kind, "hi", None)
        bumped = value + 1 if high is None or value + 1 <= high else value - 1
        return int(bumped) if isinstance(kind, Integer) else float(bumped)
    if isinstance(kind, OneOf):
        return next(c for c in kind.choices if c != current)
    raise KeyError(f"{key}: no sample value for a {type(kind).__name__} setting; add one to SAMPLES")


def setting_keys() -> list[tuple[str, Any]]:
    """Every stack-file setting below the blocks, ``block.key`` or ``block.sub.key``, with its declaration."""
    from components.model import fields
    from components.settings import LambdaAlbServiceArgs

    found = []
    for top in fields(LambdaAlbServiceArgs):
        if top.block is None:
            found.append((top.key(), top))
            continue
        for setting in fields(top.block):
            key = f"{top.key()}.{setting.key()}"
            if setting.block is not None and key not in SAMPLES:
                found += [(f"{key}.{inner.key()}", inner) for inner in fields(setting.block)]
            else:
                found.append((key, setting))
    return found


def _path_value(config: Mapping[str, Any], key: str) -> Any:
    block, *rest = key.split(".")
    value: Any = config.get(f"lambda-alb:{block}") or {}
    for part in rest:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


# Settings a pair of its own does not flip, and the pair that covers each.
COVERED_ELSEWHERE = {
    "function.keepsFunctionNames": "function -> functions (the key keeps the function's names)",
    "functions": "function -> functions (a key of its own)",
}


def setting_pairs(config: Mapping[str, Any], stack: str = "prod") -> list[Pair]:
    """One pair per setting: the stack as its file says, then with that setting flipped."""
    pairs = []
    for key, spec in setting_keys():
        if key in COVERED_ELSEWHERE:
            continue
        current = _path_value(config, key)
        after = {key: flipped(spec, current, key), **COMPANIONS.get(key, {})}
        pairs.append(Pair(key, stack, (), tuple(sorted(after.items()))))
    return pairs


FORWARD_API = {"forward": "api"}
MIGRATIONS: tuple[Pair, ...] = (
    Pair(
        "releases through CodeDeploy: another type, checks added",
        "prod",
        (("function.deployment", {"type": "AllAtOnce"}),),
        (("function.deployment", {"type": "Linear10PercentEvery1Minute", "preTraffic": {}, "postTraffic": {}}),),
    ),
    Pair(
        "releases through CodeDeploy removed (live back to Pulumi)",
        "prod",
        (("function.deployment", {"type": "Canary10Percent5Minutes", "preTraffic": {}}),),
        (("function.deployment", None),),
    ),
    Pair(
        "function -> functions (a key of its own)",
        "prod",
        (),
        (("function", None), ("functions", {"api": {"memorySize": 512}}), ("loadBalancer.defaultAction", FORWARD_API)),
    ),
    Pair(
        "a new function key",
        "dev",
        (("function", None), ("functions", {"api": {}}), ("loadBalancer.defaultAction", {"forward": "api"})),
        (
            ("function", None),
            ("functions", {"api": {}, "web": {}}),
            ("loadBalancer.defaultAction", FORWARD_API),
            ("routes", [{"priority": 50, "pathPatterns": ["/web/*"], "function": "web"}]),
        ),
    ),
    Pair(
        "function -> functions (the key keeps the function's names)",
        "prod",
        (),
        (
            ("function", None),
            ("functions", {"api": {"memorySize": 512, "keepsFunctionNames": True}}),
            ("loadBalancer.defaultAction", FORWARD_API),
        ),
    ),
    Pair("a stack rename (prod -> prod2)", "prod", (), (), after_stack="prod2"),
    Pair("a stack rename without serviceName", "prod", (("serviceName", None),), (), after_stack="prod2"),
    Pair("our WAF -> a shared web ACL", "prod", (), (("waf.webAclArn", SHARED_ACL), ("waf.rateLimit", None))),
    Pair(
        "a shared web ACL -> our WAF",
        "prod",
        (("waf.webAclArn", SHARED_ACL), ("waf.rateLimit", None)),
        (("waf.webAclArn", None), ("waf.rateLimit", 2000)),
    ),
    Pair("HTTPS off", "prod", (), (("loadBalancer.certificateArn", None), ("loadBalancer.httpRedirect", False),
                                   ("loadBalancer.sslPolicy", None))),
    Pair("HTTPS on", "dev", (), (("loadBalancer.certificateArn", CERTIFICATE),)),
)  # fmt: skip


def apply(config: dict[str, Any], changes: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The stack file with ``block.key`` values set (None removes a key)."""
    config = json.loads(json.dumps(config))
    for key, value in changes:
        block, *rest = key.split(".")
        full = f"lambda-alb:{block}"
        if not rest:
            if value is None:
                config.pop(full, None)
            else:
                config[full] = value
            continue
        target = config.setdefault(full, {})
        for part in rest[:-1]:
            target = target.setdefault(part, {})
        if value is None:
            target.pop(rest[-1], None)
        else:
            target[rest[-1]] = value
    return config


def configs(pair: Pair) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stack file before and after the pair's change."""
    from tests.harness import load_stack

    base = load_stack(pair.stack)
    # prod's placeholder certificate is refused outside a preview; a real one stands in for it.
    base = apply(base, [("loadBalancer.certificateArn", CERTIFICATE)] if pair.stack == "prod" else [])
    before_config = apply(base, pair.before)
    return before_config, apply(before_config, pair.after)


@cache
def _evaluated(stack: str, config_json: str) -> Graph:
    from tests.harness import evaluate

    return evaluate(json.loads(config_json), stack)


def before_graph(pair: Pair) -> Graph:
    """The stack as deployed before the pair's change (evaluated once per stack file)."""
    before_config, _ = configs(pair)
    return _evaluated(pair.stack, json.dumps(before_config, sort_keys=True))


_RUNS: dict[str, Prediction | str] = {}


def run(pair: Pair) -> Prediction | str:
    """The pair's prediction, or why the stack file after the change is refused (nothing deployed);
    each pair is evaluated once per process."""
    key = json.dumps([pair.name, pair.stack, pair.before, pair.after, pair.after_stack], sort_keys=True)
    if key not in _RUNS:
        _RUNS[key] = _run(pair)
    return _RUNS[key]


def _run(pair: Pair) -> Prediction | str:
    import pulumi

    from tests.harness import evaluate

    before_config, after_config = configs(pair)
    before = _evaluated(pair.stack, json.dumps(before_config, sort_keys=True))  # most pairs share it
    try:
        after = evaluate(after_config, pair.after_stack or pair.stack)
    except pulumi.RunError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        return f"refused: {lines[1] if len(lines) > 1 else lines[0]}"
    return predict(before, after)


def round_trip(pair: Pair) -> list[str]:
    """The pair's change, then back: what fails on the way back because a resource deleted on the
    way there was retained and still holds its unique key in AWS (its name)."""
    from tests.harness import evaluate

    before_config, after_config = configs(pair)
    there, back = evaluate(before_config, pair.stack), evaluate(after_config, pair.stack)
    left_in_aws = {
        key: change.registration
        for change in predict(there, back).of("delete")
        if change.registration.retain_on_delete and (key := unique_key(change.registration)) is not None
    }
    # The program looks up the log groups it would create: those left in AWS exist on the way back.
    from tests.harness import AwsMocks

    kept = tuple(str(r.inputs["name"]) for r in left_in_aws.values() if r.type == "aws:cloudwatch/logGroup:LogGroup")
    coming_back = predict(back, evaluate(before_config, pair.stack, mocks=AwsMocks(log_groups=kept)))
    problems = coming_back.problems
    created = [change.registration for change in coming_back.of("create")]
    fresh = {mark for r in created for mark in _identity(r)}
    for registration in created:
        key = unique_key(registration, fresh - set(_identity(registration)))
        if key in left_in_aws and registration.import_id and key[1:] == (registration.import_id,):
            continue  # adopted (the import option): the engine reads the kept resource instead of creating it
        if key in left_in_aws:
            problems.append(
                f"creates {registration.name} again under {key[1:]}, which the retained "
                f"{left_in_aws[key].name} still holds in AWS"
            )
    return problems


ROUND_TRIPS: tuple[Pair, ...] = (
    Pair("waf.enabled off, then on again", "prod", (), (("waf.enabled", False),)),
    Pair(
        "function -> functions (a key of its own), then back",
        "prod",
        (),
        (("function", None), ("functions", {"api": {}}), ("loadBalancer.defaultAction", {"forward": "api"})),
    ),
    Pair("accessLogs.enabled off, then on again", "prod", (), (("accessLogs.enabled", False),)),
)


def table(pairs: Iterable[Pair]) -> str:
    rows = ["| change | what the engine does | verdict |", "|---|---|---|"]
    for pair in pairs:
        result = run(pair)
        if isinstance(result, str):
            rows.append(f"| {pair.name} | | {result} |")
            continue
        verdict = "fails: " + "; ".join(result.problems) if result.problems else "safe"
        rows.append(f"| {pair.name} | {describe(result)} | {verdict} |")
    return "\n".join(rows)


if __name__ == "__main__":
    from tests.harness import load_stack

    print(table([*setting_pairs(load_stack("prod")), *MIGRATIONS]))
