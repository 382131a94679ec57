"""The second deploy and every one after (issue 17): each change of a stack file, evaluated before
and after under mocks, with the replacements the Terraform AWS provider's schema forces
(tests/changesafety.py). A change that would fail on AWS or delete stored data fails here."""

from __future__ import annotations

import dataclasses

import pytest

from tests import changesafety as cs
from tests.harness import Graph, load_stack

PAIRS = [*cs.setting_pairs(load_stack("prod")), *cs.MIGRATIONS]
# Changes that still fail, with what the docs tell a team to do (docs/operations.md, "Changing a
# live stack"). Anything else that fails, fails this test.
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


@pytest.mark.parametrize("pair", PAIRS, ids=[pair.name for pair in PAIRS])
def test_a_change_on_a_live_stack_applies_cleanly_and_loses_nothing(pair):
    result = cs.run(pair)
    assert not isinstance(result, str), f"the pair's stack file is refused: {result}"
    if pair.name in KNOWN_FAILURES:
        assert result.problems, f"{pair.name} no longer fails: drop it from KNOWN_FAILURES and the docs"
    else:
        assert result.problems == []


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
