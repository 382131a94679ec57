"""Review stacks (issue 20): a short-lived stack per pull request, `pr<number>`, from the committed
template Pulumi.review.yaml, evaluated under mocks as `pulumi up -s pr12345` would run it."""

from __future__ import annotations

import pytest

from components.stackfiles import REVIEW_STACK_RE, stack_file
from tests.harness import ROOT, Graph, evaluate, load_stack

STACK = "pr12345"


@pytest.fixture(scope="module")
def review() -> Graph:
    return evaluate(load_stack(STACK), STACK)


def test_a_review_stack_reads_the_template_until_it_has_a_file_of_its_own(tmp_path):
    assert stack_file(ROOT, STACK) == ROOT / "Pulumi.review.yaml"
    assert stack_file(ROOT, "prod") == ROOT / "Pulumi.prod.yaml"
    (tmp_path / "Pulumi.review.yaml").write_text("config: {}\n")
    (tmp_path / f"Pulumi.{STACK}.yaml").write_text("config: {}\n")
    assert stack_file(tmp_path, STACK) == tmp_path / f"Pulumi.{STACK}.yaml"
    # Only pr<number> stacks: never prod, nor a name that merely starts with pr.
    assert [s for s in ("prod", "pr", "preview", "pr1a", "pr12345678") if REVIEW_STACK_RE.match(s)] == []


def test_a_review_stack_has_no_waf_and_nothing_that_outlives_it(review):
    assert review.of_type("aws:wafv2/webAcl:WebAcl") == []
    assert review.one("aws:lb/loadBalancer:LoadBalancer").inputs["enableDeletionProtection"] is False
    bucket = review.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["forceDestroy"] is True and not bucket.retain_on_delete
    for group in review.of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert not group.retain_on_delete and group.inputs["retentionInDays"] == 1
    assert not any(r.protect for r in review.registrations)


def test_a_review_stack_is_small_and_named_after_its_pull_request(review):
    function = review.one("aws:lambda/function:Function").inputs
    assert function["name"] == f"lambda-alb-{STACK}" and function["reservedConcurrentExecutions"] == 5
    named = review.of_type("aws:lb/loadBalancer:LoadBalancer") + review.of_type("aws:lb/targetGroup:TargetGroup")
    assert all(len(r.name) + len("-1234567") <= 32 for r in named)  # AWS's limit, with Pulumi's suffix
    assert all(r.inputs.get("tags", {}).get("stack") == STACK for r in review.registrations if "tags" in r.inputs)


def test_the_local_alb_serves_a_review_stack_from_the_template():
    """`python3 dev.py serve --stack pr123` reads the same template (no file of its own needed)."""
    from localalb.config import load_stack as load_local

    local = load_local(ROOT, "pr123")
    assert local.stack == "pr123" and local.settings.function.reserved_concurrency == 5
    assert local.settings.waf.enabled is False
