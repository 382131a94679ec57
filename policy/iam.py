"""The IAM policies: least privilege, and no unconditional destructive action on every resource."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from policy.findings import IAM_POLICY, ROLE_POLICY, Finding, as_list, document_of, statements_of

# Verbs of IAM actions that destroy or cut something off (Delete*, Revoke*, ScheduleKeyDeletion...).
# The deploy review's list (Delete, Put, Modify, Update, Revoke, Authorize, Schedule, Change, Set,
# Remove, Detach, Disassociate) and the other verbs that destroy.
DESTRUCTIVE_VERBS = (
    "Delete", "Put", "Modify", "Update", "Revoke", "Authorize", "Schedule", "Change", "Set", "Remove",
    "Detach", "Disassociate", "Destroy", "Terminate", "Deregister", "Disable", "Purge",
)  # fmt: skip
DESTRUCTIVE_RE = re.compile(r"^(" + "|".join(DESTRUCTIVE_VERBS) + ")")


def _iam_document(typ: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
    return document_of(props) if typ in (ROLE_POLICY, IAM_POLICY) else None


def iam_least_privilege(typ: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[Finding]:
    """No ``*`` action, no service-wide wildcard (``s3:*``), no NotAction or NotResource in an Allow."""
    document = _iam_document(typ, props)
    if document is None:
        return []
    findings = []
    for i, statement in enumerate(statements_of(document)):
        if statement.get("Effect") != "Allow":
            continue
        for key in ("NotAction", "NotResource"):
            if key in statement:
                findings.append(
                    Finding(
                        f"policy.Statement[{i}].{key}",
                        "allows everything except a list",
                        "list the actions and resources that are needed",
                    )
                )
        wide = [a for a in as_list(statement.get("Action")) if a == "*" or str(a).endswith(":*")]
        if wide:
            findings.append(
                Finding(
                    f"policy.Statement[{i}].Action",
                    f"{wide} allows every action of a service",
                    "name the actions the role needs",
                )
            )
    return findings


def _destructive(action: str) -> bool:
    if action == "*":
        return True
    _, _, verb = action.partition(":")
    if "*" in verb or "?" in verb:
        # A wildcard is destructive when some destructive action fits it: its text before the first
        # wildcard and a destructive verb agree as far as both go (Delete*, Del*, *, *Bucket, s3:*Object).
        fixed = re.split(r"[*?]", verb, maxsplit=1)[0]
        return any(v.startswith(fixed) or fixed.startswith(v) for v in DESTRUCTIVE_VERBS)
    return bool(DESTRUCTIVE_RE.match(verb))


def iam_no_unconditional_destructive_wildcard(
    typ: str, props: Mapping[str, Any], config: Mapping[str, Any]
) -> list[Finding]:
    """No Allow of a destructive action (Delete*, Revoke*, ScheduleKeyDeletion...) on ``*`` without a
    Condition: a deploy role that can delete anything in the account can delete other stacks."""
    document = _iam_document(typ, props)
    if document is None:
        return []
    findings = []
    for i, statement in enumerate(statements_of(document)):
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        if "*" not in as_list(statement.get("Resource")):
            continue
        accepted = set(config.get("acceptedUnscoped") or ())
        destructive = sorted(a for a in as_list(statement.get("Action")) if _destructive(str(a)) and a not in accepted)
        if destructive:
            sid = statement.get("Sid") or i
            findings.append(
                Finding(
                    f"policy.Statement[{sid}]",
                    f"allows {destructive} on every resource, unconditionally",
                    "scope Resource to the stack's own ARNs (name prefix), or add a Condition "
                    "(e.g. aws:ResourceTag/stack) that limits it to the stack's resources",
                )
            )
    return findings
