"""A small IAM policy evaluator: enough of AWS's rules to check the bootstrap's policy documents.

What it implements, as AWS documents it for identity-based policies in one account:
- an explicit Deny wins; otherwise some Allow must match; otherwise the request is refused;
- ``Action`` and ``Resource`` (and ``NotAction``) with ``*`` and ``?`` wildcards, actions case-insensitive;
- a request that names several resources (``ec2:CreateSecurityGroup`` names the group and its VPC)
  is allowed only if every resource is allowed and none is denied;
- the condition operators the bootstrap uses: ``StringEquals``, ``StringNotEquals``, ``StringLike``,
  ``StringEqualsIfExists``, ``ArnLike``, ``Null`` and the ``ForAnyValue:``/``ForAllValues:`` set
  prefixes. A key missing from the request fails a positive operator and satisfies a negated one
  (``StringNotEquals``); ``...IfExists`` is satisfied by a missing key. Keys compare case-insensitively,
  values case-sensitively. An operator it does not know raises, so a policy cannot pass by accident.

What it does not do: resource-based policies, permissions boundaries, SCPs, session policies,
policy variables, or any service-side check a service makes with the caller's identity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

Context = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class Request:
    """One authorization request: an action on one or more resources, with its context keys."""

    action: str
    resources: tuple[str, ...]
    context: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""  # what the request stands for, for failure messages


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


@lru_cache(maxsize=4096)
def _compiled(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, 0 if case_sensitive else re.IGNORECASE)


def _wildcard(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    """IAM's ``*`` (any run of characters, ``/`` and ``:`` included) and ``?`` (one character)."""
    return _compiled(pattern, case_sensitive).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Whether an ``Action`` entry covers ``action`` (service prefix and name are case-insensitive)."""
    return _wildcard(pattern, action, case_sensitive=False)


def _lookup(context: Mapping[str, Any], key: str) -> list[str] | None:
    for name, value in context.items():
        if name.lower() == key.lower():
            return [str(v) for v in _as_list(value)]
    return None


_STRING_TESTS = {
    "StringEquals": lambda want, have: have == want,
    "StringLike": lambda want, have: _wildcard(want, have),
    "ArnLike": lambda want, have: _wildcard(want, have),
    "ArnEquals": lambda want, have: have == want,
    "Bool": lambda want, have: have.lower() == str(want).lower(),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotLike": "ArnLike"}


def _condition_holds(operator: str, key: str, wanted: Any, context: Mapping[str, Any]) -> bool:
    have = _lookup(context, key)
    wants = [str(w) if not isinstance(w, bool) else str(w).lower() for w in _as_list(wanted)]
    if operator == "Null":
        return (have is None) == (wants[0] == "true")
    set_op = None
    if ":" in operator:
        set_op, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    negated = operator in _NEGATED
    test = _STRING_TESTS.get(_NEGATED.get(operator, operator))
    if test is None:
        raise ValueError(f"condition operator {operator!r} is not implemented by this evaluator")
    if have is None:
        if set_op == "ForAllValues":
            return True  # vacuously true, as AWS documents (and warns about)
        return if_exists or negated
    if set_op == "ForAnyValue":
        hit = any(test(w, h) for h in have for w in wants)
    elif set_op == "ForAllValues":
        hit = all(any(test(w, h) for w in wants) for h in have)
    else:
        hit = any(test(w, h) for h in have for w in wants)
    return not hit if negated else hit


def _conditions_hold(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any]) -> bool:
    return all(
        _condition_holds(operator, key, wanted, context)
        for operator, keys in condition.items()
        for key, wanted in keys.items()
    )


def _statement_matches(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, Any]) -> bool:
    if "Action" in statement:
        if not any(action_matches(a, action) for a in _as_list(statement["Action"])):
            return False
    elif any(action_matches(a, action) for a in _as_list(statement["NotAction"])):
        return False
    if not any(_wildcard(r, resource) for r in _as_list(statement["Resource"])):
        return False
    return _conditions_hold(statement.get("Condition", {}), context)


def decide(statements: Iterable[Mapping[str, Any]], request: Request) -> str:
    """``"allowed"``, ``"denied"`` (an explicit Deny) or ``"implicit"`` (no Allow matched)."""
    statements = list(statements)
    allowed_all = True
    for resource in request.resources:
        matching = [s for s in statements if _statement_matches(s, request.action, resource, request.context)]
        if any(s["Effect"] == "Deny" for s in matching):
            return "denied"
        if not any(s["Effect"] == "Allow" for s in matching):
            allowed_all = False
    return "allowed" if allowed_all else "implicit"


def allows(statements: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """Whether the policy allows the request."""
    return decide(statements, request) == "allowed"


def granted_actions(statements: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every action named in an Allow statement, as written (no wildcard expansion)."""
    return {a for s in statements if s["Effect"] == "Allow" for a in _as_list(s.get("Action", []))}
