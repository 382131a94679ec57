"""Changes AWS would refuse half-way, refused by the program before anything is created.

A protected load balancer (``enable_deletion_protection``) cannot be deleted, and a replacement
deletes the old one after creating the new: changing ``loadBalancer.internal`` or the service's name
on a stack whose load balancer is protected would create a second load balancer and then fail,
leaving the deploy half done. The program looks up the stack's current load balancer (by the
stack's and project's tags, which the pipeline's roles may read) and stops the preview instead,
naming the key and the deploy that must come first. tests/test_change_safety.py plays both.
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
    stack, or with deletion protection off)."""
    own = {key: tags[key] for key in ("project", "stack")}
    problems = []
    for arn in aws.lb.get_lbs(tags=own, opts=invoke).arns or []:
        current = aws.lb.get_load_balancer(arn=arn, opts=invoke)
        if not current.enable_deletion_protection:
            continue
        first = (
            f"deletion protection is on for the load balancer {current.name}, which this replaces; deploy "
            "loadBalancer.deletionProtection: false on its own first (docs/operations.md#changing-a-live-stack)"
        )
        if current.internal != lb.internal:
            wanted, now = str(lb.internal).lower(), str(current.internal).lower()
            problems.append(f"loadBalancer.internal: {wanted} instead of {now}: {first}")
        # Pulumi names it <service>-lb-<7 random hex>: another prefix is another service name.
        if not re.fullmatch(rf"{re.escape(name)}-lb-[0-9a-f]{{7}}", current.name):
            today = f"today's load balancer is {current.name}"
            problems.append(f"serviceName: {name!r} renames every resource ({today}): {first}")
    return problems
