"""Target-group health checks in the local ALB: only when enabled, shaped as ALB sends them."""

import asyncio
import json
from pathlib import Path

import pytest

from localalb import alb
from localalb.config import load_stack
from localalb.server import make_server
from tests.test_localalb_cli import copy_test_project

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize(
    ("matcher", "status", "accepted"),
    [("200", 200, True), ("200", 204, False), ("200,204", 204, True), ("200-299", 299, True), ("200-299", 302, False)],
)
def test_matcher(matcher, status, accepted):
    assert alb.matcher_accepts(matcher, status) is accepted


def test_health_check_event_shape_in_both_modes():
    single = alb.health_check_event("/h", False, "arn:tg")
    assert single["headers"] == {"user-agent": "ELB-HealthChecker/2.0"}
    assert single["queryStringParameters"] == {} and single["body"] == "" and single["isBase64Encoded"] is False
    multi = alb.health_check_event("/h", True, "arn:tg")
    assert multi["multiValueHeaders"] == {"user-agent": ["ELB-HealthChecker/2.0"]}
    assert multi["multiValueQueryStringParameters"] == {} and "headers" not in multi


def serve(tmp_path: Path, path: str):
    copy_test_project(tmp_path)
    log = tmp_path / "health.log"
    (tmp_path / "Pulumi.health.yaml").write_text(
        "config:\n"
        "  lambda-alb:function:\n"
        "    codeDir: handlers\n"
        "    handler: probe.handler\n"
        "    reservedConcurrency: 4\n"
        f"    environment: {{HEALTH_LOG: '{log}'}}\n"
        "  lambda-alb:loadBalancer:\n"
        "    healthCheck:\n"
        "      enabled: true\n"
        f"      path: {path}\n"
        "      interval: 300\n"
        "      timeout: 5\n"
        "      healthyThreshold: 2\n"
        "      unhealthyThreshold: 2\n"
    )
    return make_server(load_stack(tmp_path, "health"), log_dir=tmp_path / "logs", quiet=True).start(), log


def check(server) -> tuple[bool, str]:
    return asyncio.run_coroutine_threadsafe(server.app.check_health_once(), server.app.loop).result(15)


def test_a_passing_health_check_makes_the_target_healthy_and_the_function_sees_alb_s_event(tmp_path):
    server, log = serve(tmp_path, "/health-probe")
    try:
        check(server)
        check(server)  # with the one run at start-up: two or three in a row
        assert server.app.target_health == "healthy"
        event = json.loads(log.read_text().splitlines()[0])
        assert event["httpMethod"] == "GET" and event["path"] == "/health-probe"
        assert event["headers"] == {"user-agent": "ELB-HealthChecker/2.0"}
        assert event["queryStringParameters"] == {} and event["body"] == ""
    finally:
        server.stop()


def test_a_wrong_status_makes_the_target_unhealthy(tmp_path):
    server, _ = serve(tmp_path, "/nope")
    try:
        passed, detail = check(server)
        check(server)
        assert not passed and detail == "Target.ResponseCodeMismatch: 404 not in 200"
        assert server.app.target_health == "unhealthy"
    finally:
        server.stop()
