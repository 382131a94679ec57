"""The function against ALB events shaped as AWS documents them, in both header modes."""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "function"))
import app  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alb"
SINGLE = "powertools__albEvent.json"
MULTI = "powertools__albMultiValueHeadersEvent.json"
CONTEXT = SimpleNamespace(aws_request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef")


def event(name: str, **changes) -> dict:
    data = json.loads((FIXTURES / name).read_text())
    data.update(changes)
    return data


def call(evt, capsys):
    response = app.handler(evt, CONTEXT)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines  # exactly one log line per request
    return response, json.loads(lines[0])


def assert_valid_alb_response(response):
    """What the load balancer accepts (docs/alb-behaviour.md#the-response): no nulls, strings, int status."""
    assert type(response["statusCode"]) is int
    assert all(value is not None for value in response.values())
    assert isinstance(response["body"], str)
    assert ("headers" in response) != ("multiValueHeaders" in response)
    for value in response.get("headers", {}).values():
        assert isinstance(value, str)
    for values in response.get("multiValueHeaders", {}).values():
        assert all(isinstance(v, str) for v in values)


def test_home_page_in_single_value_mode(capsys):
    response, log = call(event(SINGLE, path="/"), capsys)
    assert_valid_alb_response(response)
    assert response["statusCode"] == 200
    assert response["statusDescription"] == "200 OK"
    assert response["body"] == "<h1>Hello from Lambda!</h1>"
    assert response["headers"]["Content-Type"].startswith("text/html")
    assert log["status"] == 200 and log["method"] == "GET" and log["path"] == "/"


def test_home_page_in_multi_value_mode_answers_multi_value(capsys):
    response, _ = call(event(MULTI, path="/"), capsys)
    assert_valid_alb_response(response)
    assert "headers" not in response
    assert response["multiValueHeaders"]["Content-Type"] == ["text/html; charset=utf-8"]
    assert response["body"] == "<h1>Hello from Lambda!</h1>"


@pytest.mark.parametrize("fixture", [SINGLE, MULTI])
def test_health_answers_json(fixture, capsys):
    response, _ = call(event(fixture, path="/health"), capsys)
    assert_valid_alb_response(response)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok"}


def test_elb_health_checker_event_gets_200(capsys):
    response, _ = call(event("rust-lambda-http__alb_health_check.json"), capsys)
    assert response["statusCode"] == 200


@pytest.mark.parametrize("fixture", [SINGLE, MULTI])
def test_unknown_path_is_404(fixture, capsys):
    response, log = call(event(fixture, path="/nope"), capsys)
    assert_valid_alb_response(response)
    assert response["statusCode"] == 404 and response["statusDescription"] == "404 Not Found"
    assert log["status"] == 404


def test_post_to_a_page_is_405_with_allow(capsys):
    response, _ = call(event(SINGLE, path="/", httpMethod="POST"), capsys)
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "GET, HEAD"


def test_head_has_no_body(capsys):
    response, _ = call(event(SINGLE, path="/", httpMethod="HEAD"), capsys)
    assert response["statusCode"] == 200 and response["body"] == ""


def test_log_line_has_request_and_trace_ids_and_redacts_credentials(capsys):
    evt = event(SINGLE, path="/")
    evt["headers"].update(
        {"authorization": "Bearer s3cret", "cookie": "sid=s3cret", "x-api-key": "s3cret", "x-amzn-trace-id": "Root=1-5"}
    )
    response, log = call(evt, capsys)
    assert log["requestId"] == CONTEXT.aws_request_id
    assert log["traceId"] == "Root=1-5"
    assert isinstance(log["durationMs"], float)
    assert "s3cret" not in json.dumps(log)
    assert log["headers"]["authorization"] == "[redacted]"
    assert log["headers"]["cookie"] == "[redacted]"
    assert log["headers"]["x-forwarded-for"] == "[redacted]"  # client addresses are personal data
    assert log["headers"]["user-agent"] == evt["headers"]["user-agent"]
    assert "body" not in log and "queryStringParameters" not in log  # never the raw event


@pytest.mark.parametrize("bad", [[], "GET /", {"path": "/"}, {"httpMethod": "GET", "path": "/", "headers": [1]}])
def test_malformed_event_is_400_with_the_request_id(bad, capsys):
    response, log = call(bad, capsys)
    assert_valid_alb_response(response)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["requestId"] == CONTEXT.aws_request_id
    assert log["level"] == "WARN"


def test_unexpected_exception_is_500_and_logged(monkeypatch, capsys):
    def explode(*_):
        raise RuntimeError("boom")

    monkeypatch.setattr(app, "_route", explode)
    response, log = call(event(MULTI, path="/"), capsys)
    assert_valid_alb_response(response)
    assert response["statusCode"] == 500
    assert "multiValueHeaders" in response
    assert json.loads(response["body"])["requestId"] == CONTEXT.aws_request_id
    assert log["level"] == "ERROR" and "RuntimeError: boom" in log["traceback"]
