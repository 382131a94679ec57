"""Pins what policy/pack.py borrows from pulumi-policy's internals (issue 19, point 4).

``capture_wire_properties`` replaces ``pulumi_policy.policy.deserialize_properties`` so the one policy
that must tell a secret from plaintext reads the properties as the engine sent them. That relies on
the SDK's private code in five ways, each pinned here, so a pulumi-policy upgrade that changes one
fails this fast file rather than the pack judging secrets blind (docs/guardrails.md, "Secrets"):

1. the analyzer looks the function up by that name in ``pulumi_policy.policy`` when it runs;
2. its signature is ``(props, proxy_secrets=False)``, which the replacement forwards;
3. it is called once per policy and resource, with the request's wire properties, right before that
   policy's ``validate``, in the same thread (the capture is thread-local);
4. the SDK's function recurses without that name (else the capture would keep an inner map) and
   unwraps secrets to plaintext, leaving no trace (why the pack needs the wire at all);
5. the wire's secret and unknown markers are the ones ``policy/values.py`` restates.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

import pulumi_policy
import pulumi_policy.deserialize as sdk_deserialize
import pulumi_policy.policy as sdk_policy
import pulumi_policy.proxy as sdk_proxy
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy.policy import _PolicyAnalyzerServicer

from policy import pack
from policy.values import SECRET_SIG, SIG_KEY, UNKNOWN_SENTINELS, Secret

# The SDK's own function, whatever another test of this process has installed in its place since.
SDK_FUNCTION = sdk_deserialize.deserialize_properties


def _secret(value: str) -> dict[str, str]:
    return {SIG_KEY: SECRET_SIG, "value": value}


def _request(name: str, props: dict[str, Any]) -> Any:
    struct = struct_pb2.Struct()
    json_format.ParseDict(props, struct)
    return analyzer_pb2.AnalyzeRequest(
        type="aws:lambda/function:Function", name=name, urn=f"urn:pulumi:dev::pin::fn::{name}", properties=struct
    )


def test_the_analyzer_deserializes_through_the_module_function_the_pack_replaces() -> None:
    current = sdk_policy.deserialize_properties
    assert current is SDK_FUNCTION or getattr(current, "captures_wire", False) is True
    assert (SDK_FUNCTION.__module__, SDK_FUNCTION.__name__) == ("pulumi_policy.deserialize", "deserialize_properties")
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert [(p.name, p.kind, p.default) for p in inspect.signature(SDK_FUNCTION).parameters.values()] == [
        ("props", positional, inspect.Parameter.empty),
        ("proxy_secrets", positional, False),
    ]


def test_each_policy_reads_its_own_requests_wire_properties_in_the_validating_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sdk_policy, "deserialize_properties", SDK_FUNCTION)  # restored after the test
    pack.capture_wire_properties()
    assert sdk_policy.deserialize_properties is not SDK_FUNCTION
    seen: list[tuple[str, int, dict[str, Any], Any]] = []

    def probe(policy_name: str) -> pulumi_policy.ResourceValidationPolicy:
        def validate(args: pulumi_policy.ResourceValidationArgs, report_violation: Callable[..., None]) -> None:
            seen.append((policy_name, threading.get_ident(), dict(pack._wire_properties()), args.props["token"]))

        return pulumi_policy.ResourceValidationPolicy(name=policy_name, description=policy_name, validate=validate)

    analyzer = _PolicyAnalyzerServicer(
        "pin", "1.0.0", [probe("first"), probe("second")], pulumi_policy.EnforcementLevel.MANDATORY
    )
    for name, token in (("a", "one"), ("b", "two")):
        analyzer.Analyze(_request(name, {"name": name, "env": {"token": "x"}, "token": _secret(token)}), None)

    here = threading.get_ident()
    # Each validation reads the properties of the request it judges, secret marked; the SDK's own
    # props hold the plaintext, with nothing saying it was secret.
    assert seen == [
        (policy_name, here, {"name": name, "env": {"token": "x"}, "token": Secret(token)}, token)
        for name, token in (("a", "one"), ("b", "two"))
        for policy_name in ("first", "second")
    ]


def test_the_sdk_function_unwraps_secrets_and_recurses_without_the_replaced_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(sdk_policy, "deserialize_properties", lambda *args: calls.append(args))
    wire = {"environment": {"variables": {"TOKEN": _secret("s3cr3t"), "APP_ENV": "dev"}}, "name": "fn"}
    assert SDK_FUNCTION(wire) == {"environment": {"variables": {"TOKEN": "s3cr3t", "APP_ENV": "dev"}}, "name": "fn"}
    assert calls == []  # inner maps never reach the replacement, so it keeps the whole request


def test_the_markers_policy_values_reads_are_the_sdks() -> None:
    assert (SIG_KEY, SECRET_SIG) == (sdk_deserialize.SPECIAL_SIG_KEY, sdk_deserialize.SPECIAL_SECRET_SIG)
    sentinels = {
        value for key, value in vars(sdk_proxy).items() if key.startswith("UNKNOWN_") and key.endswith("_VALUE")
    }
    assert sentinels == UNKNOWN_SENTINELS


def test_the_pack_refuses_to_start_on_an_sdk_without_the_function_and_wraps_it_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sdk_policy, "deserialize_properties", SDK_FUNCTION)
    pack.capture_wire_properties()
    installed = sdk_policy.deserialize_properties
    pack.capture_wire_properties()
    assert sdk_policy.deserialize_properties is installed

    monkeypatch.delattr(sdk_policy, "deserialize_properties")
    with pytest.raises(RuntimeError, match="no longer has policy.deserialize_properties"):
        pack.capture_wire_properties()
