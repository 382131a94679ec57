"""The smoke check, offline: boto3 against moto, HTTP against the local ALB serving the real dev stack."""

from __future__ import annotations

import http.server
import io
import json
import sys
import threading
import zipfile
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws
from moto.awslambda_simple.models import lambda_simple_backends
from moto.moto_api._internal.models import moto_api_backend

from localalb.config import load_stack
from localalb.server import make_server
from smoke import checks
from smoke.__main__ import main
from smoke.checks import Options, check_url, judge_target_health, run_checks

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's


@pytest.fixture(scope="module")
def local_alb(tmp_path_factory):
    """The real dev stack behind the local ALB: what the smoke check's HTTP part talks to."""
    server = make_server(load_stack(ROOT, "dev"), log_dir=tmp_path_factory.mktemp("logs"), quiet=True).start()
    yield server
    server.stop()


def _hello_response() -> str:
    sys.path.insert(0, str(ROOT / "function"))
    try:
        import app

        return json.dumps(app.handler(checks.alb_event(), SimpleNamespace(aws_request_id="smoke")))
    finally:
        sys.path.remove(str(ROOT / "function"))


def queue_invoke_result(payload: str) -> None:
    """What moto's Lambda returns for the next invoke (moto runs no code without Docker)."""
    lambda_simple_backends[ACCOUNT][REGION].lambda_simple_results_queue.clear()
    moto_api_backend.set_lambda_simple_result(result=payload, account_id=ACCOUNT, region=REGION)


class ReusedClients(boto3.session.Session):
    """A session that makes each client once: a new session, or a new client, reads botocore's
    service models from disk again (tens of milliseconds each). The checks make the same calls
    through it; the command-line test and the endpoint test still build their own, as a run does."""

    def __init__(self) -> None:
        super().__init__(region_name=REGION)
        self._clients: dict[tuple[str, str | None], object] = {}

    def client(self, service_name, region_name=None, **kwargs):  # type: ignore[override]
        key = (service_name, region_name)
        if kwargs or key not in self._clients:
            made = super().client(service_name, region_name=region_name, **kwargs)
            if kwargs:
                return made
            self._clients[key] = made
        return self._clients[key]


@pytest.fixture(scope="module")
def session():
    """The module's session. Its clients are made inside the first test's moto mock (so they get
    moto's credentials), and moto intercepts every client of a session made after moto is
    imported, whichever mock is active; each test's mock starts with empty backends."""
    return ReusedClients()


def _deploy(session: boto3.session.Session) -> dict:
    """In moto: what `pulumi up -s dev` creates, returned as the stack's outputs."""
    ec2 = session.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    role = session.client("iam").create_role(
        RoleName="lambda-alb-dev-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(ROOT / "function" / "app.py", "app.py")
    awslambda = session.client("lambda", region_name=REGION)
    function = awslambda.create_function(
        FunctionName="lambda-alb-dev",
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": archive.getvalue()},
    )
    version = awslambda.publish_version(FunctionName="lambda-alb-dev")["Version"]
    live = awslambda.create_alias(FunctionName="lambda-alb-dev", Name="live", FunctionVersion=version)["AliasArn"]
    elbv2 = session.client("elbv2", region_name=REGION)
    lb = elbv2.create_load_balancer(Name="lambda-alb-dev-lb", Subnets=subnets, Type="application")["LoadBalancers"][0]
    tg = elbv2.create_target_group(Name="lambda-alb-dev-tg", TargetType="lambda")["TargetGroups"][0]
    elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": live}])
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
    )["Listeners"][0]
    session.client("s3", region_name=REGION).create_bucket(Bucket="lambda-alb-dev-access-logs-0a1b2c3")
    return {
        "url": f"http://{lb['DNSName']}/",
        "albDnsName": lb["DNSName"],
        "albArn": lb["LoadBalancerArn"],
        "listenerArns": [listener["ListenerArn"]],
        "targetGroupArn": tg["TargetGroupArn"],
        "functionName": "lambda-alb-dev",
        "functionArn": function["FunctionArn"],
        "functionVersion": version,
        "liveAliasArn": live,
        "logGroupName": "/aws/lambda/lambda-alb-dev",
        "accessLogsBucket": "lambda-alb-dev-access-logs-0a1b2c3",
    }


@pytest.fixture
def deployed(local_alb, session, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # The checks read no machine image; loading moto's costs ~0.15 s per deploy.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        outputs = _deploy(session)
        outputs["url"] = f"{local_alb.url}/"
        queue_invoke_result(_hello_response())
        yield outputs


def fast(**kwargs) -> Options:
    return Options(sleep=lambda _seconds: None, **kwargs)


def by_name(results) -> dict:
    return {r.name.split(" ")[0] if r.name.startswith("HTTP") else r.name: r for r in results}


def test_a_healthy_deployment_passes_every_check(deployed, session):
    results = run_checks(deployed, fast(timeout=5), session)
    assert [r.ok for r in results] == [True] * 5, [r.line() for r in results]
    names = [r.name for r in results]
    assert names[:4] == ["load balancer", "target group", "function", "direct invoke"]
    assert names[4].startswith("HTTP GET http://127.0.0.1:")


def test_the_cli_prints_one_line_per_check_and_exits_0(deployed, session, tmp_path, capsys):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(deployed))
    assert main(["--stack", "dev", "--outputs", str(outputs), "--timeout", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Smoke check of stack 'dev'"
    assert [line.split()[0] for line in out[1:6]] == ["PASS"] * 5
    assert out[-1] == "5 of 5 checks passed"


def test_an_unregistered_function_fails_the_target_group_check(deployed, session):
    session.client("elbv2", region_name=REGION).deregister_targets(
        TargetGroupArn=deployed["targetGroupArn"], Targets=[{"Id": deployed["liveAliasArn"]}]
    )
    result = by_name(run_checks(deployed, fast(timeout=5), session))["target group"]
    assert not result.ok
    assert result.detail.startswith(f"expected {deployed['liveAliasArn']} registered, found ")


def test_a_bad_function_answer_fails_the_invoke_check(deployed, session):
    queue_invoke_result(json.dumps({"statusCode": 500, "body": "oops"}))
    checks_ = run_checks(deployed, fast(timeout=5), session)
    result = by_name(checks_)["direct invoke"]
    assert not result.ok
    assert result.detail.startswith("expected statusCode 200 with <h1>Hello from Lambda!</h1>, found {")


def test_missing_listener_fails_the_load_balancer_check(deployed, session):
    outputs = {
        **deployed,
        "listenerArns": [*deployed["listenerArns"], "arn:aws:elasticloadbalancing:x:listener/app/y/z"],
    }
    result = by_name(run_checks(outputs, fast(timeout=5), session))["load balancer"]
    assert not result.ok and result.detail.startswith("expected listeners [")


def test_a_url_that_never_answers_fails_after_retries(deployed, session):
    outputs = {**deployed, "url": "http://127.0.0.1:9/"}  # discard port: nothing listens
    result = run_checks(outputs, fast(timeout=0.5), session)[4]
    assert not result.ok
    assert "expected 200 with <h1>Hello from Lambda!</h1>, found" in result.detail and "attempt" in result.detail


def test_a_wrong_page_fails_with_what_was_found(deployed, session):
    result = run_checks(deployed, fast(timeout=0.5, url=deployed["url"] + "nope"), session)[4]
    assert not result.ok and "found 404" in result.detail


def _log_key(alb_arn: str) -> str:
    """Today's log of a load balancer, where ALB writes it."""
    from datetime import UTC, datetime

    name, lb_id = alb_arn.split(":loadbalancer/app/")[1].split("/")
    now = datetime.now(UTC)
    return (
        f"alb/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/{now:%Y/%m/%d}/"
        f"{ACCOUNT}_elasticloadbalancing_{REGION}_app.{name}.{lb_id}_{now:%Y%m%dT%H%M}Z_10.0.0.1_abc.log.gz"
    )


def test_wait_logs_finds_an_access_log_of_this_load_balancer(deployed, session):
    key = _log_key(deployed["albArn"])
    session.client("s3", region_name=REGION).put_object(Bucket=deployed["accessLogsBucket"], Key=key, Body=b"")
    results = run_checks(deployed, fast(timeout=5, wait_logs=True, logs_timeout=5), session)
    assert results[5].ok and results[5].detail == f"s3://{deployed['accessLogsBucket']}/{key}"


def test_wait_logs_ignores_the_test_object_and_another_load_balancers_logs(deployed, session):
    """Another stack may point its logs at this bucket (AWS has no condition key against it): its
    objects, and the test object any load balancer writes, do not pass this stack's check."""
    s3 = session.client("s3", region_name=REGION)
    bucket = deployed["accessLogsBucket"]
    s3.put_object(Bucket=bucket, Key=f"alb/AWSLogs/{ACCOUNT}/ELBAccessLogTestFile", Body=b"")
    other = deployed["albArn"].replace("lambda-alb-dev-lb", "lambda-alb-prod-lb")
    s3.put_object(Bucket=bucket, Key=_log_key(other), Body=b"")
    # ... nor this load balancer's log of an earlier day (only today's keys are listed).
    from datetime import UTC, datetime, timedelta

    today, yesterday = datetime.now(UTC), datetime.now(UTC) - timedelta(days=1)
    earlier = _log_key(deployed["albArn"]).replace(f"{today:%Y/%m/%d}/", f"{yesterday:%Y/%m/%d}/")
    s3.put_object(Bucket=bucket, Key=earlier, Body=b"")
    results = run_checks(deployed, fast(timeout=5, wait_logs=True, logs_timeout=0), session)
    assert not results[5].ok and "found none" in results[5].detail


def test_wait_logs_fails_when_nothing_arrives(deployed, session):
    results = run_checks(deployed, fast(timeout=5, wait_logs=True, logs_timeout=0), session)
    assert not results[5].ok and "found none" in results[5].detail


def test_health_checks_off_is_expected_not_a_failure():
    arn = "arn:aws:lambda:us-east-1:1:function:f"
    disabled = [
        {"Target": {"Id": arn}, "TargetHealth": {"State": "unavailable", "Reason": "Target.HealthCheckDisabled"}}
    ]
    assert judge_target_health(disabled, arn).ok
    failing = [{"Target": {"Id": arn}, "TargetHealth": {"State": "unhealthy", "Reason": "Target.FailedHealthChecks"}}]
    result = judge_target_health(failing, arn)
    assert not result.ok and "unhealthy (Target.FailedHealthChecks" in result.detail


@pytest.mark.parametrize(
    ("outputs", "message"),
    [([1, 2], "the outputs are a list"), ({"url": "u", "albArn": "x", "listenerArns": ["l"], "targetGroupArn": "t",
      "functionName": "f", "functionArn": "a"}, "lack albArn (not an ARN)")],
)  # fmt: skip
def test_unusable_outputs_exit_2_with_a_message(tmp_path, capsys, outputs, message):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    assert main(["--stack", "dev", "--outputs", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_missing_outputs_exit_2(tmp_path, capsys):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"url": "http://x/"}))
    assert main(["--stack", "dev", "--outputs", str(outputs)]) == 2
    assert "lack albArn" in capsys.readouterr().err


def test_aws_endpoint_url_is_honoured(local_alb, monkeypatch):
    """Pointed at a moto server through AWS_ENDPOINT_URL, as at any AWS-compatible endpoint."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        import requests

        requests.post(f"{endpoint}/moto-api/config", json={"lambda": {"use_docker": False}}, timeout=10)
        outputs = _deploy(boto3.session.Session())
        outputs["url"] = f"{local_alb.url}/"
        requests.post(
            f"{endpoint}/moto-api/static/lambda-simple/response",
            json={"results": [_hello_response()], "region": REGION},
            timeout=10,
        )
        results = run_checks(outputs, fast(timeout=5))
        assert all(r.ok for r in results), [r.line() for r in results]
    finally:
        server.stop()


def test_a_function_still_updating_fails_the_function_check():
    class UpdatingLambda:
        def get_function(self, FunctionName):  # noqa: N803 - boto3's argument name
            return {"Configuration": {"State": "Active", "LastUpdateStatus": "InProgress", "Runtime": "python3.13"}}

    result = checks.check_function(UpdatingLambda(), {"functionName": "lambda-alb-dev"})
    assert not result.ok
    assert result.detail.startswith("expected State Active and LastUpdateStatus Successful, found Active / InProgress")


def test_the_url_check_names_itself_in_a_user_agent_so_its_requests_stand_out_in_the_logs():
    # Any User-Agent passes the WAF's NoUserAgent_HEADER rule; ours says the request is the check's.
    seen: list[str | None] = []

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            seen.append(self.headers.get("User-Agent"))
            body = json.loads(_hello_response())["body"].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    try:
        outputs = {"url": f"http://127.0.0.1:{server.server_address[1]}/"}
        assert check_url(outputs, fast(timeout=2)).ok
    finally:
        server.shutdown()
    assert seen and seen[0] and seen[0].startswith("lambda-alb-smoke")
