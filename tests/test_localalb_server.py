"""The local ALB over real HTTP: a server started by the test on a free port, for each ALB behaviour."""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import socket
import threading
from pathlib import Path

import pytest

from localalb.config import load_stack
from localalb.server import make_server
from tests.test_localalb_cli import copy_test_project

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A throwaway project: the probe function, the real hello function, and their stacks."""
    path = tmp_path_factory.mktemp("project")
    copy_test_project(path)
    shutil.copytree(ROOT / "function", path / "function", ignore=shutil.ignore_patterns("__pycache__"))
    (path / "Pulumi.hsingle.yaml").write_text("config: {}\n")
    (path / "Pulumi.hmulti.yaml").write_text("config:\n  lambda-alb:loadBalancer:\n    multiValueHeaders: true\n")
    return path


def _serve(project: Path, stack: str):
    server = make_server(load_stack(project, stack), log_dir=project / "logs" / stack, quiet=True)
    return server.start()


@pytest.fixture(scope="module")
def single(project):
    server = _serve(project, "single")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def multi(project):
    server = _serve(project, "multi")
    yield server
    server.stop()


def request(server, method="GET", path="/", body=None, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def raw_request(server, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                break
        return b"".join(chunks)


def echo(server, path="/echo", **kwargs) -> dict:
    status, _, body = request(server, path=path, **kwargs)
    assert status == 200, body
    return json.loads(body)


# --- the hello function, end to end, in both header modes --------------------------------------


@pytest.mark.parametrize("stack", ["hsingle", "hmulti"])
def test_hello_function_end_to_end(project, stack):
    server = _serve(project, stack)
    try:
        status, headers, body = request(server)
        assert (status, body) == (200, b"<h1>Hello from Lambda!</h1>")
        assert headers["Content-Type"].startswith("text/html")
        status, _, body = request(server, path="/health")
        assert status == 200 and json.loads(body) == {"status": "ok"}
        assert request(server, path="/nope")[0] == 404
    finally:
        server.stop()


# --- the event ------------------------------------------------------------------------------


def test_single_value_event_shape(single):
    event = echo(single, path="/echo?a=1&a=2&b=x%20y+z", headers={"X-Custom": "One", "Cookie": "c=1"})
    assert "multiValueHeaders" not in event and "multiValueQueryStringParameters" not in event
    assert event["queryStringParameters"] == {"a": "2", "b": "x%20y+z"}  # last wins, raw
    assert event["headers"]["x-custom"] == "One"  # names lower-cased
    assert event["httpMethod"] == "GET" and event["path"] == "/echo"
    assert event["body"] == "" and event["isBase64Encoded"] is False
    arn = event["requestContext"]["elb"]["targetGroupArn"]
    assert arn.startswith("arn:aws:elasticloadbalancing:eu-west-1:") and ":targetgroup/" in arn


def test_multi_value_event_shape(multi):
    event = echo(multi, path="/echo?a=1&a=2", headers={"X-Custom": "One"})
    assert "headers" not in event and "queryStringParameters" not in event
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["multiValueHeaders"]["x-custom"] == ["One"]


@pytest.mark.parametrize("fixture", ["single", "multi"])
def test_no_query_string_is_an_empty_map(fixture, request_fixture):
    server = request_fixture(fixture)
    event = echo(server)
    key = "multiValueQueryStringParameters" if fixture == "multi" else "queryStringParameters"
    assert event[key] == {}


@pytest.fixture
def request_fixture(request):
    return request.getfixturevalue


def test_forwarding_headers_and_trace_id(single):
    event = echo(single, headers={"X-Forwarded-For": "203.0.113.7"})
    headers = event["headers"]
    assert headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert headers["x-forwarded-port"] == str(single.port)
    assert headers["x-forwarded-proto"] == "http"
    root = headers["x-amzn-trace-id"]
    assert root.startswith("Root=1-") and len(root.split("-")[1]) == 8 and len(root.split("-")[2]) == 24


@pytest.mark.parametrize(
    ("content_type", "headers", "body", "expect_b64"),
    [
        ("application/json", {}, b'{"a":1}', False),
        ("text/plain; charset=utf-8", {}, b"hello", False),
        ("application/xml", {}, b"<a/>", False),
        ("application/x-www-form-urlencoded", {}, b"a=1&b=2", True),
        ("application/octet-stream", {}, b"\x00\x01", True),
        ("application/json", {"Content-Encoding": "gzip"}, b"\x1f\x8b\x08", True),
    ],
)
def test_body_is_base64_by_content_type_and_encoding(single, content_type, headers, body, expect_b64):
    event = echo(single, body=body, headers={"Content-Type": content_type, **headers})
    assert event["isBase64Encoded"] is expect_b64
    assert (base64.b64decode(event["body"]) if expect_b64 else event["body"].encode()) == body


# --- the response ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        "string",
        "list",
        "no-status",
        "string-status",
        "null-body",
        "null-headers",
        "null-description",
        "bool-header",
        "int-header",
        "bad-base64",
        "base64-newlines",
        "informational",
        "bad-header-name",
        "header-newline",
    ],
)
def test_invalid_response_shapes_are_502(single, multi, shape):
    assert request(single, path=f"/invalid/{shape}")[0] == 502
    assert request(multi, path=f"/invalid/{shape}")[0] == 502


def test_only_the_active_header_field_is_read(single, multi):
    _, headers, _ = request(single, path="/cookies")
    assert headers.get_all("Set-Cookie") == ["a=1"]
    _, headers, _ = request(multi, path="/cookies")
    assert headers.get_all("Set-Cookie") == ["a=1", "b=2"]


def two_on_one_connection(server, first: tuple, second: tuple) -> list[tuple]:
    """Two requests on one keep-alive connection: (status, headers, body) of each."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        answers = []
        for method, path, body in (first, second):
            conn.request(method, path, body=body)
            response = conn.getresponse()
            answers.append((response.status, response.headers, response.read()))
        return answers
    finally:
        conn.close()


def test_204_carries_no_body_and_the_connection_stays_framed(single):
    # The second answer would be garbled if the 204's body had leaked onto the connection.
    (status, headers, body), (status2, _, body2) = two_on_one_connection(
        single, ("GET", "/no-content", None), ("GET", "/maintenance", None)
    )
    assert (status, body, headers["X-Kept"]) == (204, b"", "yes")
    assert (status2, body2) == (503, b'{"down":true}')


def test_non_ascii_header_values_reach_the_client_as_utf8(single):
    _, headers, _ = request(single, path="/unicode-header")
    assert headers["X-Greeting"].encode("latin-1").decode("utf-8") == "grüß dich"


def test_after_a_413_the_same_connection_serves_the_next_request(single):
    # The oversized body looks like requests: it must be consumed, not parsed as one.
    oversized = b"GET /maintenance HTTP/1.1\r\n\r\n" * 40000  # > 1 MB
    (status, _, _), (status2, _, body2) = two_on_one_connection(
        single, ("POST", "/state", oversized), ("GET", "/no-content", None)
    )
    assert status == 413
    assert (status2, body2) == (204, b"")


def test_base64_body_is_decoded_for_the_client(single):
    status, _, body = request(single, path="/binary")
    assert (status, body) == (200, b"\x00\xffbin")


def test_missing_content_type_becomes_octet_stream(single):
    status, headers, body = request(single, path="/no-content-type")
    assert (status, body) == (201, b"plain")
    assert headers["Content-Type"] == "application/octet-stream"


def test_hop_by_hop_headers_are_dropped_and_length_computed(single):
    status, headers, body = request(single, path="/hop-by-hop")
    assert (status, body) == (200, b"hop")
    assert headers["X-Kept"] == "yes"
    assert "Transfer-Encoding" not in headers and headers.get("Connection") != "close"
    assert headers["Content-Length"] == "3"


# --- limits and failures --------------------------------------------------------------------


def test_request_body_over_1mb_is_413_without_invoking(single):
    before = echo(single, path="/state")["count"]
    status, _, _ = request(single, method="POST", path="/state", body=b"x" * (1024 * 1024 + 1))
    assert status == 413
    assert echo(single, path="/state")["count"] == before + 1  # only the /state calls ran


def test_response_over_1mb_is_502(single):
    assert request(single, path="/big")[0] == 502


def test_unhandled_exception_is_502(single):
    assert request(single, path="/raise")[0] == 502


def test_timeout_answers_502_when_the_timeout_passes_not_when_the_function_returns(single):
    # The function sleeps 30 s with a 1 s timeout: a client that waits at most 10 s still gets its 502.
    assert request(single, path="/sleep", timeout=10)[0] == 502
    assert request(single)[0] == 404  # and the server goes on serving


def test_a_crashed_environment_is_replaced(multi):
    before = echo(multi, path="/state")["pid"]
    assert request(multi, path="/exit")[0] == 502
    after = echo(multi, path="/state")
    assert after["pid"] != before and after["count"] == 1  # a fresh environment: a cold start


def test_concurrency_above_reserved_is_throttled_with_502(single):
    # reservedConcurrency is 3: four slow requests at once, one is refused at once.
    results = []

    def slow():
        results.append(request(single, path="/sleep", timeout=10)[0])

    threads = [threading.Thread(target=slow) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [502, 502, 502, 502]
    log = _access_log(single)
    throttled = [line for line in log if '"LambdaThrottling"' in line]
    assert len(throttled) == 1


# --- execution like Lambda -------------------------------------------------------------------


def test_warm_environment_keeps_module_state(multi):
    first = echo(multi, path="/state")
    second = echo(multi, path="/state")
    assert second["pid"] == first["pid"]
    assert second["count"] == first["count"] + 1


def test_context_and_environment_are_lambdas(single):
    info = echo(single, path="/context")
    assert info["function_name"] == "lambda-alb-single"
    # The load balancer invokes the `live` alias.
    assert info["invoked_function_arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:lambda-alb-single:live"
    assert info["memory_limit_in_mb"] == "256"
    assert info["log_group_name"] == "/aws/lambda/lambda-alb-single"
    assert info["log_stream_name"].count("/") == 3 and "[$LATEST]" in info["log_stream_name"]
    assert 0 < info["remaining_ms"] <= 1000
    assert len(info["aws_request_id"]) == 36
    assert info["env"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "lambda-alb-single",
        "AWS_REGION": "eu-west-1",
        "APP_ENV": "test",
        "_HANDLER": "probe.handler",
    }
    assert Path(info["cwd"]).name == "handlers"


# --- routing --------------------------------------------------------------------------------


def test_fixed_response_rule(single):
    status, headers, body = request(single, path="/maintenance")
    assert (status, body) == (503, b'{"down":true}')
    assert headers["Content-Type"] == "application/json"


def test_rules_run_in_priority_order_not_list_order(single):
    # /maintenance/override matches priority 10 (/maintenance*) and 5; 5 is listed last but wins.
    status, headers, _ = request(single, path="/maintenance/override")
    assert status == 302
    assert headers["Location"] == "https://status.example.com/maintenance/override"


def test_redirect_placeholders(single):
    status, headers, _ = request(single, path="/old/page?x=1", headers={"Host": "shop.example.com:8443"})
    assert status == 301
    assert headers["Location"] == f"http://shop.example.com:{single.port}/new/old/page?from=old&x=1"


def test_host_header_condition_is_case_insensitive(single):
    assert request(single, path="/x", headers={"Host": "API.Example.com"})[2] == b"api-host"


def test_conditions_are_anded(single):
    assert request(single, method="POST", path="/x", headers={"X-Canary": "YES"})[2] == b"canary-post"
    assert request(single, method="GET", path="/x", headers={"X-Canary": "yes"})[0] == 404


def test_query_string_condition_with_wildcard(single):
    assert request(single, path="/x?Mode=DarkBlue")[2] == b"dark-mode"


def test_source_ip_is_the_tcp_peer_not_x_forwarded_for(single):
    assert request(single, path="/x", headers={"X-Forwarded-For": "10.1.2.3"})[0] == 404
    # The test connects from 127.0.0.1, which the priority-70 route matches.
    assert request(single, path="/local-only", headers={"X-Forwarded-For": "10.1.2.3"})[2] == b"loopback"


def test_every_x_forwarded_for_header_is_kept_in_order(single):
    conn = http.client.HTTPConnection("127.0.0.1", single.port, timeout=10)
    conn.putrequest("GET", "/echo")
    conn.putheader("X-Forwarded-For", "198.51.100.1")
    conn.putheader("X-Forwarded-For", "198.51.100.2")
    conn.endheaders()
    event = json.loads(conn.getresponse().read())
    conn.close()
    assert event["headers"]["x-forwarded-for"] == "198.51.100.1, 198.51.100.2, 127.0.0.1"


def test_a_client_trace_id_is_kept_only_when_well_formed(single):
    good = "Root=1-5759e988-bd862e3fe1be46a994272793"
    assert echo(single, headers={"X-Amzn-Trace-Id": good})["headers"]["x-amzn-trace-id"] == good
    replaced = echo(single, headers={"X-Amzn-Trace-Id": "Root=garbage"})["headers"]["x-amzn-trace-id"]
    assert replaced != "Root=garbage" and replaced.startswith("Root=1-")


# --- bad input ------------------------------------------------------------------------------


def test_trace_is_405(single):
    assert request(single, method="TRACE")[0] == 405


def test_websocket_upgrade_is_400(single):
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": "x", "Sec-WebSocket-Version": "13"}
    assert request(single, headers=headers)[0] == 400
    assert request(single, path="/state")[0] == 200


def test_malformed_http_is_400_and_the_server_keeps_serving(single):
    assert raw_request(single, b"GARBAGE \x00\x01 NOT-HTTP\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert request(single, path="/state")[0] == 200


def test_oversized_header_is_400(single):
    assert request(single, headers={"X-Big": "a" * (17 * 1024)})[0] == 400


def test_non_utf8_text_body_is_refused(single):
    status, _, _ = request(single, method="POST", body=b"\xff\xfe", headers={"Content-Type": "text/plain"})
    assert status == 400


def test_too_many_forwarded_addresses_is_463(single):
    chain = ", ".join(f"198.51.100.{i}" for i in range(31))
    assert request(single, headers={"X-Forwarded-For": chain})[0] == 463


# --- access logs ----------------------------------------------------------------------------


def _access_log(server) -> list[str]:
    server.app.access_log.flush()
    return server.app.access_log.path.read_text().splitlines()


def test_access_log_lines_have_alb_fields(single):
    request(single, path="/maintenance")
    request(single, path="/invalid/string")
    lines = _access_log(single)
    fixed = next(line for line in reversed(lines) if '"GET http://127.0.0.1:' in line and "/maintenance " in line)
    invalid = next(line for line in reversed(lines) if "/invalid/string " in line)
    assert fixed.startswith("http ") and " 503 - " in fixed and " 10 " in fixed and '"fixed-response"' in fixed
    assert " 502 " in invalid and '"forward"' in invalid and '"LambdaInvalidResponse"' in invalid
    assert invalid.split(" ")[2] == "app/lambda-alb-single/local"


def test_serving_that_ends_in_an_error_still_writes_the_batched_log_lines(project, tmp_path, monkeypatch):
    """The access log is written in batches; a server whose loop dies keeps the lines batched so far."""
    from localalb.accesslog import AccessRecord

    server = make_server(load_stack(project, "single"), log_dir=tmp_path / "crash", quiet=True)

    def crash(sockets=None):
        server.app.access_log.write(AccessRecord(0.0, "127.0.0.1:1", 200, "GET http://x/batched HTTP/1.1"))
        raise RuntimeError("the event loop died")

    monkeypatch.setattr(server.server, "run", crash)
    try:
        with pytest.raises(RuntimeError):
            server.serve_forever()
    finally:
        assert server.socket is not None
        server.socket.close()
    assert "GET http://x/batched HTTP/1.1" in (tmp_path / "crash" / "access.log").read_text()


# --- the web ACL's body-size rule ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("waf", "blocked"),
    [
        ({"enabled": True, "largeBodies": "block"}, True),
        ({"enabled": True}, False),  # largeBodies: count, the default
        (
            {"enabled": True, "ruleOverrides": {"AWSManagedRulesCommonRuleSet": {"SizeRestrictions_BODY": "block"}}},
            True,
        ),
        ({"enabled": False, "largeBodies": "block"}, False),  # no web ACL at all
    ],
)
def test_a_body_over_8_kb_meets_the_web_acls_body_size_rule_as_the_stack_sets_it(project, waf, blocked):
    name = f"waf{abs(hash(json.dumps(waf, sort_keys=True))) % 10**6}"
    config = (project / "Pulumi.single.yaml").read_text() + f"  lambda-alb:waf: {json.dumps(waf)}\n"
    (project / f"Pulumi.{name}.yaml").write_text(config)
    server = _serve(project, name)
    try:
        over = request(server, method="POST", path="/state", body=b"x" * (8 * 1024 + 1))
        at_the_limit = request(server, method="POST", path="/state", body=b"x" * (8 * 1024))
    finally:
        server.stop()  # writes the access log out
    status, _, body = over
    assert (status == 403) == blocked, (status, body)
    assert at_the_limit[0] == 200
    if blocked:
        assert b"<title>403 Forbidden</title>" in body
        (log,) = (project / "logs" / name).rglob("*.log")
        line = log.read_text().splitlines()[0]
        assert line.split(" ")[8] == "403" and ' "waf" ' in line, line
