"""The stacks, the pipeline's roles and the names of what each stack owns. Plain Python.

Every resource of a stack is named ``<prefix>-<stack>`` or ``<prefix>-<stack>-...`` and tagged
``stack=<stack>``; the review stacks (``pr<number>``) share one role and are matched by pattern.
The other modules of the bootstrap scope their policies with these names and conditions.
"""

from __future__ import annotations

from typing import Any

STACKS = ("dev", "prod")
# The review stacks: pr<number>, one per pull request, all served by one role. IAM has no character
# classes, so "pr" and a digit start every pattern: "pr*" alone would also match prod.
REVIEW = "review"
REVIEW_STACKS = tuple(f"pr{digit}*" for digit in range(10))
# Each role and the stack (or the family of review stacks) it serves.
ROLES = {
    "preview-dev": "dev",
    "preview-prod": "prod",
    "deploy-dev": "dev",
    "deploy-prod": "prod",
    REVIEW: REVIEW,
}


def stack_values(stack: str) -> tuple[str, ...]:
    """The stack names a scope covers, as IAM patterns: the stack itself, or every review stack."""
    return REVIEW_STACKS if stack == REVIEW else (stack,)


# The tags the main program puts on every taggable resource; the deploy roles scope by STACK_TAG.
STACK_TAG = "stack"
PROJECT_TAG = "project"

Statement = dict[str, Any]


def service_name(prefix: str, stack: str) -> str:
    """Every resource of a stack is named ``<prefix>-<stack>`` or ``<prefix>-<stack>-...``."""
    return f"{prefix}-{stack}"


def exact_names(prefix: str, stack: str) -> tuple[str, ...]:
    """The service names of a scope: ``<prefix>-<stack>``, or a pattern per review-stack digit."""
    return tuple(service_name(prefix, value) for value in stack_values(stack))


def child_names(prefix: str, stack: str) -> tuple[str, ...]:
    """The names of a scope's resources: ``<prefix>-<stack>-*`` (the review patterns cover both)."""
    return exact_names(prefix, stack) if stack == REVIEW else (f"{service_name(prefix, stack)}-*",)


def stack_condition(kind: str, stack: str, negated: bool = False) -> dict[str, dict[str, Any]]:
    """``aws:<kind>/stack`` is (or, ``negated``, is not) the stack, or a review stack."""
    values = stack_values(stack)
    operator = (
        ("StringNotLike" if negated else "StringLike")
        if stack == REVIEW
        else ("StringNotEquals" if negated else "StringEquals")
    )
    return {operator: {f"aws:{kind}/{STACK_TAG}": values[0] if len(values) == 1 else list(values)}}


def boundary_name(prefix: str, stack: str) -> str:
    """Name of the managed policy every function role of ``stack`` must carry."""
    return f"{prefix}-{stack}-function-boundary"


def key_alias(prefix: str, stack: str) -> str:
    """The alias of the stack's KMS key (its functions' variables, its alarm topic)."""
    return f"alias/{prefix}-{stack}"


def role_name(prefix: str, kind: str) -> str:
    """``ci-<prefix>-<kind>``: outside the ``<prefix>-*`` names the deploy roles may manage."""
    return f"ci-{prefix}-{kind}"
