"""Listeners and listener rules, rendered from the plain rule model to provider arguments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from . import rules as r
from .settings import LoadBalancerArgs


@dataclass(frozen=True)
class _ActionClasses:
    action: type
    fixed_response: type
    redirect: type
    forward: type
    forward_target_group: type


_DEFAULT = _ActionClasses(
    aws.lb.ListenerDefaultActionArgs,
    aws.lb.ListenerDefaultActionFixedResponseArgs,
    aws.lb.ListenerDefaultActionRedirectArgs,
    aws.lb.ListenerDefaultActionForwardArgs,
    aws.lb.ListenerDefaultActionForwardTargetGroupArgs,
)
_RULE = _ActionClasses(
    aws.lb.ListenerRuleActionArgs,
    aws.lb.ListenerRuleActionFixedResponseArgs,
    aws.lb.ListenerRuleActionRedirectArgs,
    aws.lb.ListenerRuleActionForwardArgs,
    aws.lb.ListenerRuleActionForwardTargetGroupArgs,
)


@dataclass(frozen=True)
class ForwardTo:
    """Where a forward action sends requests: one target group, or several by weight (a canary).

    ``ready`` are the registrations a listener or rule must wait for: forwarding to a target group
    whose function is not registered yet answers 503.
    """

    target_groups: tuple[tuple[pulumi.Input[str], int], ...]
    ready: tuple[pulumi.Resource, ...] = ()


def _redirect_part(value: str, placeholder: str) -> str | None:
    """None for a part that keeps the request's own (the API's default), else the value."""
    return None if value == placeholder else value


# Where each function's forward goes: by its key under `functions`, None for the one `function`.
Forwards = Mapping[str | None, ForwardTo]


def waits_for(action: r.Action, forwards: Forwards) -> list[pulumi.Resource]:
    """The registrations a listener or rule must wait for: its own function's, when it forwards
    (forwarding to a target group whose function is not registered yet answers 503); none when it
    answers itself."""
    return list(forwards[action.function].ready) if isinstance(action, r.Forward) else []


def render_action(action: r.Action, forwards: Forwards, classes: _ActionClasses) -> Any:
    """One action as the SDK's ``*Args`` (default-action or rule-action family)."""
    if isinstance(action, r.FixedResponse):
        return classes.action(
            type="fixed-response",
            fixed_response=classes.fixed_response(
                content_type=action.content_type,
                status_code=str(action.status_code),
                message_body=action.body or None,
            ),
        )
    if isinstance(action, r.Redirect):
        return classes.action(
            type="redirect",
            redirect=classes.redirect(
                status_code=action.status_code,
                protocol=_redirect_part(action.protocol, "#{protocol}"),
                host=_redirect_part(action.host, "#{host}"),
                port=_redirect_part(action.port, "#{port}"),
                path=_redirect_part(action.path, "/#{path}"),
                query=_redirect_part(action.query, "#{query}"),
            ),
        )
    forward = forwards[action.function if isinstance(action, r.Forward) else None]
    if len(forward.target_groups) == 1:
        return classes.action(type="forward", target_group_arn=forward.target_groups[0][0])
    return classes.action(
        type="forward",
        forward=classes.forward(
            target_groups=[
                classes.forward_target_group(arn=arn, weight=weight) for arn, weight in forward.target_groups
            ]
        ),
    )


@dataclass
class Listeners:
    """The serving listener (HTTPS with a certificate, else HTTP) and all listeners."""

    serving: aws.lb.Listener
    all: list[aws.lb.Listener]


def create_listeners(
    name: str,
    lb_settings: LoadBalancerArgs,
    load_balancer: aws.lb.LoadBalancer,
    forwards: Forwards,
    certificate_arn: pulumi.Input[str] | None,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> Listeners:
    """HTTPS on 443 plus HTTP on 80 redirecting to it (301), or HTTP on 80 alone."""
    opts = pulumi.ResourceOptions(parent=parent, depends_on=waits_for(lb_settings.default, forwards))
    default = render_action(lb_settings.default, forwards, _DEFAULT)
    if not lb_settings.https:
        http = aws.lb.Listener(
            f"{name}-http", load_balancer_arn=load_balancer.arn, port=80, protocol="HTTP",
            default_actions=[default], tags=tags, opts=opts,
        )  # fmt: skip
        return Listeners(serving=http, all=[http])
    https = aws.lb.Listener(
        f"{name}-https",
        load_balancer_arn=load_balancer.arn,
        port=443,
        protocol="HTTPS",
        # Never left unset: the API's default policy still allows TLS 1.0 (docs/security.md: ELB.17).
        ssl_policy=lb_settings.ssl_policy,
        certificate_arn=certificate_arn,
        default_actions=[default],
        tags=tags,
        opts=opts,
    )
    listeners = [https]
    if lb_settings.http_redirect:
        redirect = r.HTTP_TO_HTTPS
        listeners.insert(
            0,
            aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=load_balancer.arn,
                port=80,
                protocol="HTTP",
                default_actions=[render_action(redirect, forwards, _DEFAULT)],
                tags=tags,
                opts=pulumi.ResourceOptions(parent=parent),
            ),
        )
    return Listeners(serving=https, all=listeners)


def create_rules(
    name: str,
    routes: tuple[r.Rule, ...],
    listener: aws.lb.Listener,
    forwards: Forwards,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> list[aws.lb.ListenerRule]:
    """One rule per route on the serving listener, named by priority (not list position), so
    reordering the routes list replaces nothing."""
    return [
        aws.lb.ListenerRule(
            f"{name}-rule-{rule.priority}",
            listener_arn=listener.arn,
            priority=rule.priority,
            conditions=[c.listener_condition() for c in rule.conditions],
            actions=[render_action(rule.action, forwards, _RULE)],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=waits_for(rule.action, forwards)),
        )
        for rule in routes
    ]
