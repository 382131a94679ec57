"""Each pipeline role kept to its own stack: the state files it may write, and no destructive
grant that reaches the other stack's resources by name or by tag (the review role likewise on dev's
and prod's), apart from the accepted exceptions and the known limits docs/delivery.md lists. The
requests and policies are tests/permissions.py's; tests/test_permissions.py describes how the
requests are derived from the provider's calls.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bootstrap import access
from policy.rules import DESTRUCTIVE_VERBS
from tests.harness import ACCOUNT, ROOT, Graph
from tests.iam_policy import Request, allows, decide, granted_actions
from tests.permissions import (
    BOUNDARIES,
    KEYS,
    OPERATIONS,
    PROJECT,
    REGION,
    REVIEW_STACK,
    ROLES,
    STACKS,
    STATE_BUCKET,
    SUFFIX,
    VARIANTS,
    ZONES,
    Stack,
    _resources,
    deploy_role,
    is_read,
    policy,
    refused,
    requests,
    resource_tags,
    standard_tags,
    tag_context,
    variant,
)

# Destructive grants ("<action> on <resource>") that are not pinned to a stack, and why.
# Everything else a deploy role may change must be named for its stack or carry its stack tag.
ACCEPTED_UNSCOPED = {
    **{f"{action} on *": reason for action, reason in access.UNSCOPABLE.items()},
    f"wafv2:UpdateWebACL on arn:aws:wafv2:*:{ACCOUNT}:regional/managedruleset/*/*": (
        "AWS managed rule groups only: referencing a group in our own ACL is checked against the group's ARN; "
        "the groups are AWS's and no customer can change them"
    ),
}


def is_destructive(action: str) -> bool:
    """An action that changes or removes something: the policy pack's list of verbs."""
    return action.split(":", 1)[1].startswith(DESTRUCTIVE_VERBS)


# ---------------------------------------------------------------------------------------------
# Each role's state files.


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
