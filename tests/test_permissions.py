"""The pipeline's roles against every call the AWS provider makes for each stack.

Source of the calls: Pike's per-resource mapping of Terraform AWS resources to IAM actions
(tests/data/iam/pike, verbatim), with our corrections checked against the Terraform AWS provider's
source (tests/data/iam/corrections.json; tests/data/iam/SOURCE.md says where each comes from).
Each stack and option variant is evaluated under Pulumi's mocks; every registered resource's
Pulumi type is mapped to its Terraform type (tests/data/iam/types.json); the calls for create,
read, update and delete (plus those an input attribute adds) become IAM requests on the resource's
expected ARN in that stack, with the tags the stack puts on it; tests/iam_policy.py decides each
request against the bootstrap's policy documents.

The shared model (the mapping, the stacks and variants, the requests, the rendered policies) is in
tests/permissions.py. This module checks the mapping and that each role allows every call;
test_permissions_isolation.py checks that each role stays within its stack (names, tags, state
files); test_permissions_reference.py checks the policies against AWS's Service Authorization
Reference.
"""

from __future__ import annotations

import pytest

from tests.harness import Graph, Registration
from tests.iam_policy import Request, allows
from tests.own_calls import DYNAMIC
from tests.permissions import (
    DATA,
    EXISTING_ACL,
    OPERATIONS,
    VARIANTS,
    Calls,
    Stack,
    corrections,
    deploy_role,
    is_read,
    mapping,
    policy,
    reader_role,
    refused,
    requests,
    types,
    variant,
)

# ---------------------------------------------------------------------------------------------
# The mapping itself.


def test_every_resource_and_lookup_of_every_variant_has_a_terraform_type():
    unmapped = set()
    for key in VARIANTS:
        graph = variant(key).graph
        # Our own dynamic resources make the calls tests/own_calls.py records, not a provider's.
        own = {DYNAMIC}
        unmapped |= {r.type for r in graph.registrations if r.custom and r.type not in {*types()["resources"], *own}}
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
# The preview role: every read and lookup.


@pytest.mark.parametrize("key", list(VARIANTS))
def test_the_stacks_preview_role_allows_every_read_and_lookup(key):
    stack = variant(key)
    reqs = list(requests(stack, "read"))
    assert any(r.why.startswith("lookup") for r in reqs)
    assert refused(policy(reader_role(stack.stack)), reqs) == []


if __name__ == "__main__":
    # Rewrite SOURCE.md's table of corrections from corrections.json.
    path = DATA / "SOURCE.md"
    head, rest = path.read_text().split(TABLE_START)
    path.write_text(f"{head}{TABLE_START}\n{corrections_table()}\n{TABLE_END}{rest.split(TABLE_END)[1]}")
