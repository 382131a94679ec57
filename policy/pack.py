"""The policies of ``policy.rules`` as a ``pulumi_policy.PolicyPack``.

Every policy is mandatory unless the pack's config says otherwise, per policy
(``pulumi preview --policy-pack policy --policy-pack-config config.json`` with
``{"required-tags": "advisory"}`` or ``{"prod-like-waf": {"enforcementLevel": "advisory", "prodLike": false}}``).

Secrets: pulumi-policy hands a validation the properties with every secret already unwrapped to
plaintext and nothing saying it was secret (the engine sends the secret markers; the SDK drops
them; pulumi/pulumi-policy#241). ``capture_wire_properties`` keeps, for the request being
analysed, the properties as the engine sent them, so the one policy that must tell a secret from
plaintext (``sees_secrets``) reads them with their markers. Every other policy gets the SDK's own
properties, whose unknown values raise as the SDK intends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import pulumi_policy
import pulumi_policy.policy as _sdk
from pulumi_policy.version import VERSION as SDK_VERSION

from policy import rules
from policy.values import mark

PACK_NAME = "lambda-alb-baseline"
_current = threading.local()


def capture_wire_properties() -> None:
    """Record the wire-format properties of each analysed resource (thread-local: the SDK's gRPC
    server deserializes and validates one request in one thread). Refuses to start the pack when the
    SDK no longer deserializes through the function this hooks, rather than judge secrets blind."""
    original: Callable[..., Any] | None = getattr(_sdk, "deserialize_properties", None)
    if original is None or not callable(original):
        raise RuntimeError(
            f"pulumi-policy {SDK_VERSION} no longer has policy.deserialize_properties: "
            "policy/pack.py cannot see which values are secret; update capture_wire_properties"
        )
    if getattr(original, "captures_wire", False):
        return

    def capturing(props: dict[str, Any], proxy_secrets: bool = False) -> Any:
        _current.wire = props
        return original(props, proxy_secrets)

    capturing.captures_wire = True  # type: ignore[attr-defined]
    _sdk.deserialize_properties = capturing


def _wire_properties() -> Mapping[str, Any]:
    wire = getattr(_current, "wire", None)
    if wire is None:
        raise RuntimeError("no wire properties recorded: capture_wire_properties() was not installed")
    marked: Mapping[str, Any] = mark(wire)
    return marked


def _schema(defaults: Mapping[str, Any]) -> pulumi_policy.PolicyConfigSchema | None:
    if not defaults:
        return None
    kinds: dict[type, dict[str, Any]] = {
        list: {"type": "array"},
        int: {"type": "integer"},
        bool: {"type": "boolean"},
        type(None): {"type": ["boolean", "null"]},
    }
    return pulumi_policy.PolicyConfigSchema(
        properties={key: {**kinds[type(value)], "default": value} for key, value in defaults.items()}
    )


def _resource_policy(policy: rules.Policy) -> pulumi_policy.ResourceValidationPolicy:
    def validate(args: pulumi_policy.ResourceValidationArgs, report_violation: pulumi_policy.ReportViolation) -> None:
        props = _wire_properties() if policy.sees_secrets else args.props
        for text in rules.run_resource(policy, args.resource_type, args.name, props, args.get_config() or {}):
            report_violation(text, None)

    return pulumi_policy.ResourceValidationPolicy(
        name=policy.name, description=policy.description, validate=validate, config_schema=_schema(policy.defaults)
    )


def _stack_policy(policy: rules.Policy) -> pulumi_policy.StackValidationPolicy:
    def validate(args: pulumi_policy.StackValidationArgs, report_violation: pulumi_policy.ReportViolation) -> None:
        resources = [
            rules.Resource(r.resource_type, r.name, r.props, r.urn, tuple(d.urn for d in r.dependencies))
            for r in args.resources
        ]
        for resource, text in rules.run_stack(policy, resources, args.get_config() or {}):
            report_violation(text, resource.urn)

    return pulumi_policy.StackValidationPolicy(
        name=policy.name, description=policy.description, validate=validate, config_schema=_schema(policy.defaults)
    )


def policies() -> list[pulumi_policy.Policy]:
    """Every policy of ``policy.rules.POLICIES`` as the SDK's policy object."""
    return [_stack_policy(p) if p.stack else _resource_policy(p) for p in rules.POLICIES]


def main() -> None:
    """Serve the pack to the Pulumi engine (blocks; the CLI starts and stops it)."""
    capture_wire_properties()
    pulumi_policy.PolicyPack(
        name=PACK_NAME, policies=policies(), enforcement_level=pulumi_policy.EnforcementLevel.MANDATORY
    )
