"""ALB behaviour as pure functions: the request event, response validation and rule actions.

Facts from docs/alb-behaviour.md sections 1-3 and 7. No I/O here, so every rule is unit-testable.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from components import rules as r
from localalb.response import MAX_BODY_BYTES as MAX_BODY_BYTES  # re-exported: the request limit too
from localalb.response import NO_BODY_STATUSES as NO_BODY_STATUSES  # re-exported
from localalb.response import AlbError as AlbError
from localalb.response import check_lambda_response, head_lines

MAX_HEADER_LINE = 16 * 1024  # request line or one header
MAX_HEADERS_TOTAL = 64 * 1024
MAX_FORWARDED_FOR = 30
TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")


# Not frozen: one is made per request in the server's one process, and a frozen dataclass sets
# each field through object.__setattr__ (four times the cost). Nothing changes one once made.
@dataclass(slots=True)
class HttpRequest:
    """One client request as the listener sees it (header names lower-cased, values raw bytes)."""

    method: str
    raw_path: bytes
    raw_query: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    client_ip: str
    client_port: int
    listener_port: int
    protocol: str = "http"

    def rule_request(self) -> r.Request:
        """The request as the rule model sees it (decoded as latin-1 so no byte is lost)."""
        return r.Request(
            method=self.method,
            path=self.raw_path.decode("latin-1"),
            query=self.raw_query.decode("latin-1"),
            headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in self.headers),
            source_ip=self.client_ip,
        )


TRACE_ID_RE = re.compile(rb"^Root=1-[0-9a-f]{8}-[0-9a-f]{24}(;.*)?$")


def new_trace_id(now: float | None = None) -> str:
    """An X-Ray trace id as ALB writes it: ``Root=1-<8 hex epoch seconds>-<24 hex>``."""
    seconds = int(now if now is not None else time.time())
    return f"Root=1-{seconds:08x}-{os.urandom(12).hex()}"


def health_check_event(path: str, multi_value: bool, target_group_arn: str) -> dict[str, Any]:
    """A target-group health check as the function receives it (docs/alb-behaviour.md, section 1)."""
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": target_group_arn}},
        "httpMethod": "GET",
        "path": path,
    }
    if multi_value:
        event["multiValueQueryStringParameters"] = {}
        event["multiValueHeaders"] = {"user-agent": ["ELB-HealthChecker/2.0"]}
    else:
        event["queryStringParameters"] = {}
        event["headers"] = {"user-agent": "ELB-HealthChecker/2.0"}
    event["body"] = ""
    event["isBase64Encoded"] = False
    return event


def matcher_accepts(matcher: str, status: int) -> bool:
    """Whether a health-check matcher such as ``200``, ``200,204`` or ``200-299`` accepts ``status``."""
    for part in matcher.split(","):
        low, _, high = part.partition("-")
        if int(low) <= status <= int(high or low):
            return True
    return False


def check_request_limits(request: HttpRequest) -> None:
    """What ALB refuses before any rule runs (raises ``AlbError``), the first of these that applies."""
    if request.method == "TRACE":
        raise AlbError(405, "-", "TRACE is not allowed")
    # One pass over the headers (the server's one process does this for every request).
    upgrade = too_long = None
    total = addresses = 0
    for name, value in request.headers:
        line = len(name) + len(value) + 4
        total += line
        if line > MAX_HEADER_LINE and too_long is None:
            too_long = name
        if name == b"upgrade":
            upgrade = value if upgrade is None else upgrade
        elif name == b"x-forwarded-for":
            addresses += len([a for a in value.split(b",") if a.strip()])
    if upgrade is not None and upgrade.strip().lower() == b"websocket":
        raise AlbError(400, "-", "WebSocket upgrade to a Lambda target")
    if len(request.method) + len(request.raw_path) + len(request.raw_query) + 11 > MAX_HEADER_LINE:
        raise AlbError(400, "-", "request line over 16 KB")
    if too_long is not None:
        raise AlbError(400, "-", f"header {too_long.decode('latin-1')} over 16 KB")
    if total > MAX_HEADERS_TOTAL:
        raise AlbError(400, "-", "headers over 64 KB in total")
    if addresses > MAX_FORWARDED_FOR:
        raise AlbError(463, "-", "more than 30 addresses in X-Forwarded-For")
    if len(request.body) > MAX_BODY_BYTES:
        raise AlbError(413, "-", "request body over 1 MB")


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise AlbError(400, "LambdaBadRequest", f"{what} is not valid UTF-8") from None


def _is_text(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in TEXT_TYPES


def _query_pairs(raw_query: bytes) -> list[tuple[str, str]]:
    if not raw_query:
        return []
    pairs = []
    for part in raw_query.split(b"&"):
        if part:
            key, _, value = part.partition(b"=")
            pairs.append((_text(key, "the query string"), _text(value, "the query string")))
    return pairs


def build_event(request: HttpRequest, multi_value: bool, target_group_arn: str, trace_id: str) -> dict[str, Any]:
    """The event the function receives (docs/alb-behaviour.md, section 1), in exactly one header mode."""
    headers: list[tuple[str, str]] = []
    forwarded_for: list[str] = []
    for raw_name, raw_value in request.headers:
        key = _text(raw_name, "a header name")
        if key in ("x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id"):
            if key == "x-forwarded-for":
                forwarded_for.append(_text(raw_value, "X-Forwarded-For"))  # every one the client sent
            continue
        try:
            headers.append((key, raw_value.decode("utf-8")))
        except UnicodeDecodeError:
            raise AlbError(400, "LambdaBadRequest", f"header {key} is not valid UTF-8") from None
    client_chain = ", ".join([*forwarded_for, request.client_ip])
    headers += [
        ("x-amzn-trace-id", trace_id),
        ("x-forwarded-for", client_chain),
        ("x-forwarded-port", str(request.listener_port)),
        ("x-forwarded-proto", request.protocol),
    ]
    query = _query_pairs(request.raw_query)
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": target_group_arn}},
        "httpMethod": request.method,
        "path": _text(request.raw_path, "the path"),
    }
    if multi_value:
        multi_headers: dict[str, list[str]] = {}
        for name, text in headers:
            multi_headers.setdefault(name, []).append(text)
        multi_query: dict[str, list[str]] = {}
        for name, text in query:
            multi_query.setdefault(name, []).append(text)
        event["multiValueQueryStringParameters"] = multi_query
        event["multiValueHeaders"] = multi_headers
    else:
        event["queryStringParameters"] = dict(query)  # last value wins
        event["headers"] = dict(headers)
    body, encoded = _event_body(request)
    event["body"] = body
    event["isBase64Encoded"] = encoded
    return event


def _event_body(request: HttpRequest) -> tuple[str, bool]:
    if not request.body:
        return "", False
    header = dict(request.headers)
    if b"content-encoding" not in header and _is_text(header.get(b"content-type", b"").decode("latin-1")):
        return _text(request.body, "the body"), False
    return base64.b64encode(request.body).decode("ascii"), True


@dataclass(slots=True)  # not frozen, as HttpRequest: one is made per request
class HttpResponse:
    """What the load balancer sends back to the client."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    # Header names are tokens and values free of control characters: checked as a function's
    # result is (response.py), or fixed here. Such a response is written without uvicorn's checks.
    checked: bool = False
    # A function's result: its header lines as its worker wrote them (``head_lines``), ready to
    # send; ``headers`` is then empty.
    lines: bytes | None = None

    def head_lines(self) -> bytes:
        """The header lines written after the status line and the listener's own (checked only)."""
        return self.lines if self.lines is not None else head_lines(self.status, self.headers, self.body)

    def header_pairs(self) -> tuple[tuple[str, str], ...]:
        """The headers as (name, value) pairs, without content-length (the writer adds it)."""
        if self.lines is None:
            return self.headers
        pairs = (line.split(": ", 1) for line in self.lines.decode().split("\r\n") if line)
        return tuple((name, value) for name, value in pairs if name != "content-length")


def parse_lambda_response(payload: bytes, multi_value: bool) -> HttpResponse:
    """Validate the function's result (its JSON) as ALB does; ``AlbError(502, ...)`` for every invalid shape."""
    return HttpResponse(*check_lambda_response(payload, multi_value), checked=True)


def fixed_response(action: r.FixedResponse) -> HttpResponse:
    """A fixed-response action's answer."""
    return HttpResponse(action.status_code, (("content-type", action.content_type),), action.body.encode("utf-8"))


def redirect_location(action: r.Redirect, request: HttpRequest) -> str:
    """The ``Location`` of a redirect action, with ``#{...}`` placeholders filled from the request."""
    host_header = next((v.decode("latin-1") for k, v in request.headers if k == b"host"), "")
    host = r.Request("GET", "/", headers=(("host", host_header),)).host or "localhost"
    values = {
        "#{protocol}": request.protocol,
        "#{host}": host,
        "#{port}": str(request.listener_port),
        "#{path}": request.raw_path.decode("latin-1").lstrip("/"),
        "#{query}": request.raw_query.decode("latin-1"),
    }

    def fill(text: str) -> str:
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        return text

    protocol = fill(action.protocol).lower()
    port = fill(action.port)
    default_port = {"http": "80", "https": "443"}.get(protocol)
    authority = fill(action.host) if port == default_port else f"{fill(action.host)}:{port}"
    query = fill(action.query)
    return f"{protocol}://{authority}{fill(action.path)}" + (f"?{query}" if query else "")


def redirect_response(action: r.Redirect, request: HttpRequest) -> HttpResponse:
    status = 301 if action.status_code == "HTTP_301" else 302
    return HttpResponse(status, (("location", redirect_location(action, request)), ("content-type", "text/html")), b"")


def https_redirect(request: HttpRequest, https_port: int) -> HttpResponse:
    """The HTTP listener's answer when the stack serves HTTPS: the deployed redirect action, with
    the local HTTPS port in place of 443."""
    return redirect_response(dataclasses.replace(r.HTTP_TO_HTTPS, port=str(https_port)), request)


_PHRASES = {
    301: "Moved Permanently",
    400: "Bad Request",
    403: "Forbidden",  # a web ACL's block
    405: "Method Not Allowed",
    408: "Request Time-out",
    413: "Request Entity Too Large",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def reason_phrase(status: int) -> str:
    """The reason phrase ALB's own pages use for ``status`` ('' for its private codes such as 463)."""
    return _PHRASES.get(status, "")


def error_response(status: int) -> HttpResponse:
    """The load balancer's own error page."""
    title = f"{status} {reason_phrase(status)}".strip()
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return HttpResponse(status, (("content-type", "text/html"), ("server", "awselb/2.0")), page.encode(), checked=True)
