"""Changes AWS would refuse half-way, refused by the program before anything is created.

A protected load balancer (``enable_deletion_protection``) cannot be deleted, and a replacement
deletes the old one after creating the new: changing ``loadBalancer.internal`` on a stack whose
load balancer is protected would create a second load balancer and then fail, leaving the deploy
half done. The program looks up the service's current load balancer (by the stack's and project's
tags, then its name; reads the pipeline's roles have) and stops the preview instead, naming the key
and the deploy that must come first. tests/test_change_safety.py plays it.
"""

from __future__ import annotations

import re

import pulumi
import pulumi_aws as aws

from .balancer_settings import LoadBalancerArgs


def protected_replacements(
    name: str, lb: LoadBalancerArgs, tags: dict[str, str], invoke: pulumi.InvokeOptions
) -> list[str]:
    """What this deploy would replace that AWS protects from deletion, as problems (none on a new
    stack, or with deletion protection off).

    Only this service's load balancer counts: Pulumi names it ``<service>-lb-<7 random hex>``, and
    its ARN carries the name. Another one with the stack's tags (a second service in the same
    stack) is not this one's, so a change of ``serviceName`` cannot be told from a new service and
    is not refused here (docs/operations.md)."""
    own = {key: tags[key] for key in ("project", "stack")}
    problems = []
    for arn in aws.lb.get_lbs(tags=own, opts=invoke).arns or []:
        if not re.fullmatch(rf"{re.escape(name)}-lb-[0-9a-f]{{7}}", arn.split("/")[-2]):
            continue
        current = aws.lb.get_load_balancer(arn=arn, opts=invoke)
        if current.enable_deletion_protection and current.internal != lb.internal:
            wanted, now = str(lb.internal).lower(), str(current.internal).lower()
            problems.append(
                f"loadBalancer.internal: {wanted} instead of {now}: deletion protection is on for the load balancer "
                f"{current.name}, which this replaces; deploy loadBalancer.deletionProtection: false on its own first "
                "(docs/operations.md#changing-a-live-stack)"
            )
    return problems
