"""ALB's checks on a function's result (docs/alb-behaviour.md, section 2), standard library only.

The server imports this through ``localalb.alb``; every worker loads it too (by its path, under
a private module name, before the function's code), and checks the result it has just encoded
there: the server then receives status, header lines and body ready to send, or the reason ALB
refuses the result, and never decodes the JSON itself. The checks are the same code either way.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from typing import Any

MAX_BODY_BYTES = 1024 * 1024  # request body, and the function's response JSON
MAX_RESPONSE_HEADERS = 32 * 1024
# Connection-level headers the load balancer never passes on (RFC 9110 7.6.1), plus the length
# it computes itself.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length"}
)
NO_BODY_STATUSES = (204, 304)  # a response with these never carries a body or a length
_TOKEN_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

_TOKENS: set[str] = set()  # header names already found valid: a function sends the same few each time


def _token(name: str) -> bool:
    if not _TOKEN_RE.match(name):
        return False
    if len(_TOKENS) > 256:
        _TOKENS.clear()
    _TOKENS.add(name)
    return True


Checked = tuple[int, tuple[tuple[str, str], ...], bytes]  # status, headers passed on, body


class AlbError(Exception):
    """The load balancer answers ``status`` itself; ``reason`` goes to the access log."""

    def __init__(self, status: int, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.status = status
        self.reason = reason
        self.detail = detail


def check_lambda_response(payload: bytes, multi_value: bool, result: Any = None) -> Checked:
    """Validate the function's result (its JSON, ``payload``) as ALB does; ``AlbError(502, ...)``
    for every invalid shape.

    ``result``, the object ``payload`` was encoded from (a worker has it), spares decoding the
    JSON again when decoding could not change anything the checks read (``_plain``).
    """
    if len(payload) > MAX_BODY_BYTES:
        raise AlbError(502, "LambdaResponseTooLarge", "response over 1 MB")
    if not _plain(result, multi_value):
        try:
            result = json.loads(payload)
        except ValueError:
            raise AlbError(502, "LambdaInvalidResponse", "response is not JSON") from None
    if not isinstance(result, dict):
        raise AlbError(502, "LambdaInvalidResponse", f"response is a {type(result).__name__}, not an object")
    status = result.get("statusCode")
    # 1xx would change the connection's protocol state; ALB answers a final status only.
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise AlbError(502, "LambdaInvalidResponse", f"statusCode {status!r} is not an integer status")
    for key in ("body", "statusDescription", "headers", "multiValueHeaders", "isBase64Encoded"):
        if key in result and result[key] is None:
            raise AlbError(502, "LambdaInvalidResponse", f"{key} is null")
    headers, size, typed = _response_headers(result, multi_value)
    body = _response_body(result)
    if size > MAX_RESPONSE_HEADERS:
        raise AlbError(502, "LambdaInvalidResponse", "response headers over 32 KB")
    if not typed:
        headers.append(("content-type", "application/octet-stream"))
    return status, tuple(headers), body


def head_lines(status: int, headers: Sequence[tuple[str, str]], body: bytes) -> bytes:
    """The header lines of a checked response as the listener writes them after its status line
    and its own headers (date): names lower-cased, in the order given, then content-length, which
    a 204 or 304 never has."""
    lines = "".join([f"{name.lower()}: {value}\r\n" for name, value in headers])
    if status not in NO_BODY_STATUSES:
        lines += f"content-length: {len(body)}\r\n"
    return lines.encode()


def _plain(result: Any, multi_value: bool) -> bool:
    """Whether ``result`` reads as its JSON would, wherever the checks look: a dict with string
    keys whose statusCode, body, isBase64Encoded and headers (in the target group's mode) are
    exactly int, str, bool and a dict of strings (or of lists of strings), no subclasses. A JSON
    round trip changes only what this excludes (tuples, subclasses, non-string keys, floats)."""
    if type(result) is not dict or not all(type(key) is str for key in result):
        return False
    if type(result.get("statusCode")) is not int or type(result.get("body", "")) is not str:
        return False
    if type(result.get("isBase64Encoded", False)) is not bool:
        return False
    headers = result.get("multiValueHeaders" if multi_value else "headers", {})
    if type(headers) is not dict:
        return False
    for name, value in headers.items():
        if type(name) is not str:
            return False
        if multi_value:
            if type(value) is not list or not all(type(item) is str for item in value):
                return False
        elif type(value) is not str:
            return False
    return True


def _response_headers(result: dict[str, Any], multi_value: bool) -> tuple[list[tuple[str, str]], int, bool]:
    """The headers passed on, their size as ALB counts it, and whether one is Content-Type."""
    # ALB reads only the header field of the target group's mode; the other is ignored.
    field = "multiValueHeaders" if multi_value else "headers"
    raw = result.get(field, {})
    if not isinstance(raw, dict):
        raise AlbError(502, "LambdaInvalidResponse", f"{field} is not an object")
    headers = []
    size, typed = 0, False
    for name, value in raw.items():
        values = value if multi_value else [value]
        if multi_value and not isinstance(value, list):
            raise AlbError(502, "LambdaInvalidResponse", f"multiValueHeaders[{name!r}] is not a list")
        if name not in _TOKENS and not _token(name):
            raise AlbError(502, "LambdaInvalidResponse", f"{name!r} is not a header name")
        lower = name.lower()
        for item in values:
            if not isinstance(item, str):
                raise AlbError(502, "LambdaInvalidResponse", f"header {name!r} has a non-string value {item!r}")
            # isprintable() is true only without control characters: the regex only for the rest.
            if not item.isprintable() and _CONTROL_RE.search(item):
                raise AlbError(502, "LambdaInvalidResponse", f"header {name!r} has a control character")
            if lower not in HOP_BY_HOP:
                headers.append((name, item))
                size += len(name) + len(item) + 4
                typed = typed or lower == "content-type"
    return headers, size, typed


def _response_body(result: dict[str, Any]) -> bytes:
    body = result.get("body", "")
    if not isinstance(body, str):
        raise AlbError(502, "LambdaInvalidResponse", "body is not a string")
    encoded = result.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise AlbError(502, "LambdaInvalidResponse", "isBase64Encoded is not a boolean")
    if not encoded:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)  # line breaks are invalid, as on ALB
    except (binascii.Error, ValueError):
        raise AlbError(502, "LambdaInvalidResponse", "body is not valid base64") from None
