"""The AWS calls our own code makes inside `pulumi up` (the dynamic resources), recorded under moto:
what the pipeline's deploy role must allow beyond the provider's calls."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import boto3
from moto import mock_aws

from components.pruning import VersionPruner

DYNAMIC = "pulumi-python:dynamic:Resource"
REGION = "us-east-1"


@contextmanager
def recorded() -> Iterator[list[str]]:
    """Every AWS operation made inside the block, as IAM actions (``lambda:ListAliases``)."""
    calls: list[str] = []

    def record(model, **_):  # type: ignore[no-untyped-def]
        calls.append(f"{model.service_model.signing_name}:{model.name}")

    original = boto3.session.Session.client

    def client(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        made = original(self, *args, **kwargs)
        # Before the parameters are built, not "before-call": botocore's Stubber answers in a
        # before-call handler of its own that runs first and ends the event, so calls answered by a
        # Stubber (what moto does not model) would go unrecorded.
        made.meta.events.register("before-parameter-build", record)
        return made

    boto3.session.Session.client = client  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        boto3.session.Session.client = original  # type: ignore[method-assign]


def function_with_versions(name: str, count: int) -> None:
    """A function with ``count`` published versions (moto runs no code)."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    lam.create_function(
        FunctionName=name, Runtime="python3.13", Role=role, Handler="app.handler", Code={"ZipFile": package.getvalue()}
    )
    for i in range(count):
        lam.update_function_configuration(FunctionName=name, Description=f"release {i + 1}")
        lam.publish_version(FunctionName=name)


@cache
def pruner_actions() -> frozenset[str]:
    """What one pruning run calls: listing versions and aliases, deleting a stale version."""
    with mock_aws():
        function_with_versions("recorded", 3)
        boto3.client("lambda", region_name=REGION).create_alias(
            FunctionName="recorded", Name="live", FunctionVersion="3"
        )
        with recorded() as calls:
            VersionPruner().prune({"function_name": "recorded", "keep": 1, "pinned": [], "region": REGION})
    return frozenset(calls)
