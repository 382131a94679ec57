"""The second deploy and every one after (issue 17): each change of a stack file, evaluated before
and after under mocks, with the replacements the Terraform AWS provider's schema forces
(tests/changesafety.py). A change that would fail on AWS or delete stored data fails here."""

from __future__ import annotations

import dataclasses

import pytest

from tests import changesafety as cs
from tests.harness import Graph, evaluate, load_stack, with_

PAIRS = [*cs.setting_pairs(load_stack("prod")), *cs.MIGRATIONS]
# Changes that still fail, with what the docs tell a team to do (docs/operations.md, "Changing a
# live stack"). Anything else that fails, fails this test.
# What AWS refuses half-way. The first the program refuses in the preview instead, when AWS holds
# the service's protected load balancer (test_a_replacement_aws_would_refuse_half_way_is_refused_first).
KNOWN_FAILURES = {
    "loadBalancer.internal": "deletion protection: turn loadBalancer.deletionProtection off in one deploy first",
    "serviceName": "a new name is a new service: every resource is replaced, which deletion protection refuses",
    "a stack rename without serviceName": "the names follow the stack: pin serviceName before renaming",
}


def test_every_setting_has_a_pair():
    """A new setting gets a pair (a flip, or a sample value in tests/changesafety.py), or this fails."""
    flipped = {pair.name for pair in PAIRS}
    keys = {key for key, _ in cs.setting_keys()}
    assert keys - flipped == set(cs.COVERED_ELSEWHERE)
    assert set(cs.COVERED_ELSEWHERE.values()) <= flipped
    assert len(keys) > 60


# Settings whose flip could hide another's problem when flipped together (they allow a deletion),
# and pairs that set companions: these are judged alone. The other settings of a block are judged
# together first (one evaluation), and alone only when that finds a problem or is refused.
MASKING = {
    "loadBalancer.deletionProtection", "accessLogs.protect", "accessLogs.forceDestroy",
    "function.deleteLogsWithFunction", "waf.deleteLogsWithAcl",
    # ... and the switches that remove a block's resources (their other settings then apply to nothing).
    "monitoring.alarms", "waf.enabled", "accessLogs.enabled",
}  # fmt: skip
ALONE = [p for p in PAIRS if p.name in KNOWN_FAILURES or p.name in MASKING or p.before or p.after_stack
         or "." not in p.name or len(p.after) > 1]  # fmt: skip
BATCHES: dict[str, list[cs.Pair]] = {}
for _pair_of_batch in PAIRS:
    if _pair_of_batch not in ALONE:
        BATCHES.setdefault(_pair_of_batch.name.split(".")[0], []).append(_pair_of_batch)


def judge(pair: cs.Pair) -> str | None:
    """Why the pair is wrong, or None: a refused stack file, an unexpected problem, or a known
    failure that no longer fails."""
    result = cs.run(pair)
    if isinstance(result, str):
        return f"{pair.name}: the stack file is refused: {result}"
    if pair.name in KNOWN_FAILURES:
        return None if result.problems else f"{pair.name} no longer fails: drop it from KNOWN_FAILURES and the docs"
    return f"{pair.name}: {result.problems}" if result.problems else None


@pytest.mark.parametrize("pair", ALONE, ids=[pair.name for pair in ALONE])
def test_a_change_on_a_live_stack_applies_cleanly_and_loses_nothing(pair):
    assert judge(pair) is None


@pytest.mark.parametrize("block", sorted(BATCHES))
def test_every_other_setting_of_a_block_applies_cleanly_and_loses_nothing(block):
    pairs = BATCHES[block]
    together = cs.Pair(f"{block}.*", "prod", (), tuple(change for pair in pairs for change in pair.after))
    if judge(together) is not None:  # find which: each alone
        assert [problem for pair in pairs if (problem := judge(pair))] == []


def test_every_pair_is_judged_alone_or_in_its_blocks_batch():
    batched = [pair for pairs in BATCHES.values() for pair in pairs]
    assert sorted(p.name for p in ALONE + batched) == sorted(p.name for p in PAIRS)
    assert len(batched) > 40


def _pair(name: str) -> cs.Pair:
    return next(pair for pair in PAIRS if pair.name == name)


def _before_after(name: str) -> tuple[Graph, Graph]:
    from tests.harness import evaluate

    pair = _pair(name)
    before, after = cs.configs(pair)
    return evaluate(before, pair.stack), evaluate(after, pair.after_stack or pair.stack)


def _without(graph: Graph, name: str, **changes) -> Graph:
    registrations = [dataclasses.replace(r, **changes) if r.name == name else r for r in graph.registrations]
    return Graph(registrations, graph.outputs, graph.invokes)


def test_a_new_load_balancer_gets_new_target_groups():
    """Case 1: `internal` forces a new load balancer; its target groups go with it (replaceWith),
    or its listeners would forward to groups another load balancer holds."""
    before, after = _before_after("loadBalancer.internal")
    replaced = {c.registration.name for c in cs.predict(before, after).of("replace")}
    assert {"lambda-alb-prod-lb", "lambda-alb-prod-tg", "lambda-alb-prod-http"} <= replaced
    # Without replaceWith, the check sees the target group kept.
    loose = cs.predict(before, _without(after, "lambda-alb-prod-tg", replace_with=()))
    assert any("while target group lambda-alb-prod-tg stays" in p for p in loose.problems)


def test_switching_to_a_shared_web_acl_deletes_the_old_association_first():
    """Case 2: created first, the new association would be removed by the old one's delete."""
    before, after = _before_after("our WAF -> a shared web ACL")
    association = "lambda-alb-prod-waf-association"
    assert [c.registration.name for c in cs.predict(before, after).of("replace")] == [association]
    assert cs.predict(before, after).problems == []
    created_first = cs.predict(before, _without(after, association, delete_before_replace=False))
    assert any(p.startswith(f"replaces {association}") for p in created_first.problems)


def test_turning_the_waf_off_keeps_its_logs_unless_the_stack_file_says_otherwise():
    """Case 5: the aws-waf-logs group and its year of logs stay; deleteLogsWithAcl takes them."""
    before, after = _before_after("waf.enabled")
    deleted = {c.registration.name: c.registration for c in cs.predict(before, after).of("delete")}
    assert deleted["lambda-alb-prod-waf-logs"].retain_on_delete
    unretained = cs.predict(_without(before, "lambda-alb-prod-waf-logs", retain_on_delete=False), after)
    assert any("lambda-alb-prod-waf-logs and the data it holds" in p for p in unretained.problems)


def test_moving_function_into_functions_replaces_nothing_when_the_key_keeps_its_names():
    """Case 4: the function, its log group and versions stay; without the key, nothing is lost."""
    before, after = _before_after("function -> functions (the key keeps the function's names)")
    prediction = cs.predict(before, after)
    assert [c.label for c in prediction.changes] == []
    before, after = _before_after("function -> functions (a key of its own)")
    moved = cs.predict(before, after)
    deleted = {c.registration.name: c.registration for c in moved.of("delete")}
    assert deleted["lambda-alb-prod-fn-logs"].retain_on_delete and moved.problems == []


def test_pinning_service_name_changes_nothing_on_a_stack_deployed_before_it():
    """Case 3: the stack files now pin serviceName to the name the stack always had, so the change
    that pins it replaces nothing, and a later `pulumi stack rename` changes no resource's name."""
    pinned = cs.Pair("pin", "prod", (("serviceName", None),), (("serviceName", "lambda-alb-prod"),))
    prediction = cs.run(pinned)
    assert not isinstance(prediction, str) and prediction.changes == []
    renamed = cs.run(_pair("a stack rename (prod -> prod2)"))
    assert not isinstance(renamed, str)
    assert [c for c in renamed.changes if c.op != "create"] == [] and renamed.problems == []
    assert load_stack("prod")["lambda-alb:serviceName"] == "lambda-alb-prod"
    assert load_stack("dev")["lambda-alb:serviceName"] == "lambda-alb-dev"


def test_a_bad_service_name_is_refused_by_name():
    from components.naming import MAX_NAME_LENGTH
    from components.settings import SettingsError, parse_settings

    for bad in ("lambda_alb prod", "x" * (MAX_NAME_LENGTH + 1)):
        with pytest.raises(SettingsError) as info:
            parse_settings({"serviceName": bad})
        assert info.value.problems == [
            f"serviceName: {bad!r} is not a name of at most {MAX_NAME_LENGTH} letters, digits and - (the load "
            "balancer's and target groups' names start with it and AWS allows 32 characters)"
        ]
    assert parse_settings({"serviceName": "x" * MAX_NAME_LENGTH}).service_name == "x" * MAX_NAME_LENGTH


# Round trips that still fail, and what the docs tell a team to do (docs/operations.md, "Round trips").
@pytest.mark.parametrize("pair", cs.ROUND_TRIPS, ids=[pair.name for pair in cs.ROUND_TRIPS])
def test_a_change_and_back_again(pair):
    """A retained resource keeps its name in AWS after it leaves the stack: coming back, the program
    finds it and adopts it (a log group), or the way back would collide with it."""
    assert cs.round_trip(pair) == []


def test_a_kept_log_group_is_adopted_only_when_it_exists():
    from tests.harness import AwsMocks

    kept = evaluate(with_("prod"), "prod", mocks=AwsMocks(log_groups=("aws-waf-logs-lambda-alb-prod",)), preview=True)
    adopted = {r.name: r.import_id for r in kept.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert adopted == {"lambda-alb-prod-fn-logs": "", "lambda-alb-prod-waf-logs": "aws-waf-logs-lambda-alb-prod"}
    # A group whose name only starts the same (another function's) is not this one.
    other = evaluate(
        with_("prod"), "prod", mocks=AwsMocks(log_groups=("/aws/lambda/lambda-alb-prod-api",)), preview=True
    )
    assert all(r.import_id == "" for r in other.of_type("aws:cloudwatch/logGroup:LogGroup"))


# Deletions the pipeline's deploy role may not make, with what the docs tell a team to do
# (docs/operations.md, "Upgrading a stack deployed before these changes").
NEEDS_AN_ADMINISTRATOR = {
    "monitoring.kmsKeyArn": "the stack's own alarm key is scheduled for deletion: one deploy with administrator "
    "credentials, or pulumi state delete and a deletion by hand",
    "monitoring.alarms": "the same key, when the alarms go",
}


def test_what_a_change_deletes_the_pipelines_deploy_role_may_delete():
    """A deletion the deploy role is refused fails the pipeline's deploy: the role's delete calls for
    every resource a change deletes (tests/permissions.py's derivation) must be allowed, or the
    change is one the docs hand to an administrator."""
    from tests.permissions import Stack, policy, refused, requests

    needing = {}
    for pair in ALONE + [p for pairs in BATCHES.values() for p in pairs if p.name in NEEDS_AN_ADMINISTRATOR]:
        if pair.after_stack or pair.stack != "prod" or pair.name in KNOWN_FAILURES:
            continue  # a known failure fails before any deletion
        result = cs.run(pair)
        assert not isinstance(result, str), result
        gone = {c.registration.name for c in result.of("delete")} | {c.registration.name for c in result.of("replace")}
        if not gone:
            continue
        before = cs.before_graph(pair)
        # The deleted resources, and what their ARNs and tags are derived from (function, load balancer).
        kept = {"aws:lambda/function:Function", "aws:lb/loadBalancer:LoadBalancer"}
        subset = Graph([r for r in before.registrations if r.name in gone or r.type in kept], {}, [])
        calls = [r for r in requests(Stack("prod", subset), "delete") if r.why.split(" ")[-1] in gone]
        if refusals := refused(policy("deploy-prod"), calls):
            needing[pair.name] = refusals
    assert sorted(needing) == sorted(NEEDS_AN_ADMINISTRATOR), needing
    assert all(any(line.startswith("kms:ScheduleKeyDeletion") for line in lines) for lines in needing.values())


def protected_load_balancer(name: str = "lambda-alb-prod-lb-0a1b2c3", internal: bool = False, protected: bool = True):
    arn = f"arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/{name}/50dc6c495c0c9188"
    return {"arn": arn, "id": arn, "name": name, "internal": internal, "enableDeletionProtection": protected,
            "tags": {"project": "lambda-alb", "stack": "prod", "managed-by": "pulumi"}}  # fmt: skip


def test_a_replacement_aws_would_refuse_half_way_is_refused_first():
    """Deleting a protected load balancer fails after its replacement exists: with the service's
    load balancer protected in AWS, flipping internal stops in the preview, naming the deploy to make first."""
    import pulumi

    from tests.harness import AwsMocks, RecordingMonitor

    (pair,) = [p for p in PAIRS if p.name == "loadBalancer.internal"]
    _, after = cs.configs(pair)
    mocks = AwsMocks(load_balancers=(protected_load_balancer(),))
    monitor = RecordingMonitor(mocks)
    with pytest.raises(pulumi.RunError) as info:
        evaluate(after, "prod", mocks=mocks, monitor=monitor)
    assert (
        "loadBalancer.internal: true instead of false: deletion protection is on for the load balancer "
        "lambda-alb-prod-lb-0a1b2c3, which this replaces; deploy loadBalancer.deletionProtection: false on its "
        "own first"
    ) in str(info.value)
    assert monitor.program_resources() == []


def test_the_same_stack_its_load_balancer_unprotected_or_another_services_goes_ahead():
    from tests.harness import AwsMocks

    before, after = cs.configs(next(p for p in PAIRS if p.name == "loadBalancer.internal"))
    evaluate(before, "prod", mocks=AwsMocks(load_balancers=(protected_load_balancer(),)))  # nothing changes
    evaluate(after, "prod", mocks=AwsMocks(load_balancers=(protected_load_balancer(protected=False),)))
    # Another service in the same stack (a second component), or another stack's: not this one's.
    other = protected_load_balancer("lambda-alb-orders-lb-0a1b2c3")
    dev = {**protected_load_balancer("lambda-alb-dev-lb-0a1b2c3"), "tags": {"project": "lambda-alb", "stack": "dev"}}
    evaluate(after, "prod", mocks=AwsMocks(load_balancers=(other, dev)))
