"""Property-based tests of the request path, over real sockets: random methods, targets, headers,
query strings and bodies, and random function results. Whatever arrives, the local ALB answers
with a well-formed response whose status ALB could give, within the timeouts, and keeps serving.
(``pytest --fuzz`` runs many more examples.)"""

from __future__ import annotations

import base64
import http.client
import json
import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_localalb_cli import copy_test_project, serving

HERE = Path(__file__).resolve().parent
# What the load balancer itself answers: refused requests, errors of the function, and the
# listener's own fixed responses and redirects in the fuzz stack.
ALB_STATUSES = {400, 405, 413, 463, 502, 418, 202, 302}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(copy_test_project(tmp_path_factory.mktemp("fuzz")), "fuzz") as server:
        yield server


token = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_!#$%&'*+.^`|~", min_size=1)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "get"]) | token.filter(
    lambda m: m.upper() not in ("CONNECT", "PRI")  # tunnel and HTTP/2 preface: another protocol follows
)
path_chars = st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="?#")
paths = st.sampled_from(["/", "/fixed", "/moved/x", "/echo"]) | st.text(path_chars, max_size=40).map(lambda p: "/" + p)
queries = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="#"), max_size=40)
header_values = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"").strip())
headers = st.lists(st.tuples(token.map(str.lower), header_values), max_size=6)
bodies = st.binary(max_size=300)
content_types = st.sampled_from([None, "text/plain", "application/json", "application/octet-stream", "text/html; x"])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
header_maps = st.dictionaries(st.text(max_size=10), json_values | st.text(max_size=20), max_size=3)
responses = st.fixed_dictionaries(
    {"statusCode": st.integers(100, 700) | json_values},
    optional={
        "body": st.text(max_size=50) | json_values,
        "headers": header_maps | json_values,
        "multiValueHeaders": st.dictionaries(st.text(max_size=10), st.lists(st.text(max_size=10)), max_size=2)
        | json_values,
        "isBase64Encoded": st.booleans() | json_values,
        "statusDescription": st.text(max_size=10) | st.none(),
    },
)
results = responses | json_values


def exchange(server, raw: bytes, method: str) -> http.client.HTTPResponse:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(raw)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        response.read()
        return response
    finally:
        sock.close()


@given(
    method=methods,
    path=paths,
    query=queries,
    extra=headers,
    body=bodies,
    content_type=content_types,
    result=results,
    raise_instead=st.booleans(),
)
def test_any_request_and_any_function_result_gets_a_status_alb_can_give(
    server, method, path, query, extra, body, content_type, result, raise_instead
):
    target = path + ("?" + query if query else "")
    lines = [f"{method} {target} HTTP/1.1".encode("latin-1"), b"Host: fuzz.test"]
    lines += [
        name.encode() + b": " + value
        for name, value in extra
        if name not in ("content-length", "host", "x-result", "x-raise")
    ]
    if content_type:
        lines.append(f"Content-Type: {content_type}".encode())
    encoded = base64.b64encode(json.dumps(result).encode())
    lines.append(b"X-Raise: from the fuzz test" if raise_instead else b"X-Result: " + encoded)
    lines.append(f"Content-Length: {len(body)}".encode())
    response = exchange(server, b"\r\n".join(lines) + b"\r\n\r\n" + body, method)
    own = result.get("statusCode") if isinstance(result, dict) and not raise_instead else None
    assert response.status in ALB_STATUSES or response.status == own, (response.status, result)
    if response.status == 502:
        assert response.getheader("server") == "awselb/2.0"
    # Still serving after whatever that was.
    assert exchange(server, b"GET / HTTP/1.1\r\nHost: probe\r\n\r\n", "GET").status == 200


@pytest.mark.parametrize(
    "result",
    [
        '{"statusCode": 200, "body": "\\ud800"}',
        '{"statusCode": 200, "body": "x", "headers": {"X-Odd": "\\udc00"}}',
    ],
    ids=["body", "header"],
)
def test_a_result_with_a_lone_surrogate_gets_albs_502(server, result):
    """JSON can carry half of a UTF-16 pair, which no UTF-8 response can: ALB's 502 page."""
    raw = b"GET / HTTP/1.1\r\nHost: fuzz.test\r\nX-Result: " + base64.b64encode(result.encode()) + b"\r\n\r\n"
    response = exchange(server, raw, "GET")
    assert response.status == 502
    assert response.getheader("server") == "awselb/2.0"
