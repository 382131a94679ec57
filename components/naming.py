"""The name a stack gives its AWS resources, and the rule it must follow (plain Python, no pulumi).

One rule for the Pulumi program (``LambdaAlbService``) and the local ALB, so ``serve`` refuses
exactly the stack names ``pulumi up`` refuses.
"""

from __future__ import annotations

import re

# The provider names the load balancer and target group "<name>-lb-<7 random>" and "<name>-tg-<7 random>";
# AWS allows 32 characters. One character is kept spare (stack names of at most 9 characters).
MAX_NAME_LENGTH = 32 - len("-tgs-") - 7
NAME_RE = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9-]{{0,{MAX_NAME_LENGTH - 1}}}$")
PROJECT = "lambda-alb"
MAX_STACK_LENGTH = MAX_NAME_LENGTH - len(f"{PROJECT}-")


def service_name(stack: str, project: str = PROJECT) -> str:
    """The name of a stack's service, function and load balancer: ``<project>-<stack>``."""
    return f"{project}-{stack}"


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name the service's resources, or None when it can."""
    if NAME_RE.match(name):
        return None
    return (
        f"LambdaAlbService name {name!r} names the function, load balancer and target group: use at most "
        f"{MAX_NAME_LENGTH} letters, digits and - (with the {PROJECT}- prefix, a stack name of at most "
        f"{MAX_STACK_LENGTH} characters such as prod or staging)"
    )
