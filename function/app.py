"""The Lambda function behind the load balancer. Standard library only; valid on Python 3.11-3.13.

``handler(event, context)`` answers an ALB event with a complete ALB response in the header mode
the event arrived in (``multiValueHeaders`` when the target group has multi-value headers on),
and logs one JSON line per request. It never logs the raw event, and redacts credentials.
"""

import json
import sys
import time

HELLO_HTML = "<h1>Hello from Lambda!</h1>"
REDACTED = "[redacted]"
# Headers whose values are logged; every other header is logged by name with its value redacted
# (credentials such as authorization, cookie, set-cookie and API keys included).
LOGGED_HEADERS = frozenset(
    {"host", "user-agent", "accept", "content-type", "content-length", "x-forwarded-proto", "x-forwarded-port"}
)
ROUTES = {"/": "home", "/health": "health"}
# The statuses this function answers (a literal table: http.HTTPStatus costs ~1 ms of cold start).
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}
READ_METHODS = ("GET", "HEAD")


class BadEvent(ValueError):
    """The event is not the shape an Application Load Balancer sends."""


def _status_line(status):
    return f"{status} {REASONS[status]}"


def respond(status, body, content_type, multi_value, headers=None):
    """A complete ALB response: integer status, string header values, no null fields."""
    all_headers = {"Content-Type": content_type, "Cache-Control": "no-store"}
    all_headers.update(headers or {})
    response = {
        "statusCode": status,
        "statusDescription": _status_line(status),
        "isBase64Encoded": False,
        "body": body,
    }
    # ALB reads only the header field of the target group's mode; send exactly that one.
    if multi_value:
        response["multiValueHeaders"] = {name: [str(value)] for name, value in all_headers.items()}
    else:
        response["headers"] = {name: str(value) for name, value in all_headers.items()}
    return response


def _json(status, payload, multi_value, headers=None):
    return respond(status, json.dumps(payload, separators=(",", ":")), "application/json", multi_value, headers)


def _headers_of(event, multi_value):
    """Lower-cased header names mapped to their last value."""
    raw = event.get("multiValueHeaders" if multi_value else "headers")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadEvent("headers is not an object")
    headers = {}
    for name, value in raw.items():
        if multi_value:
            if not isinstance(value, list) or not value:
                raise BadEvent(f"multiValueHeaders[{name!r}] is not a non-empty list")
            value = value[-1]
        if not isinstance(value, str):
            raise BadEvent(f"header {name!r} is not a string")
        headers[str(name).lower()] = value
    return headers


def redact_headers(headers):
    """The headers safe to log: values outside a short allowlist replaced by a marker."""
    return {name: (value if name in LOGGED_HEADERS else REDACTED) for name, value in headers.items()}


def _route(method, path, multi_value):
    page = ROUTES.get(path)
    if page is None:
        return _json(404, {"error": "Not Found", "path": path}, multi_value)
    if method not in READ_METHODS:
        return _json(405, {"error": "Method Not Allowed"}, multi_value, {"Allow": ", ".join(READ_METHODS)})
    if page == "home":
        response = respond(200, HELLO_HTML, "text/html; charset=utf-8", multi_value)
    else:
        response = _json(200, {"status": "ok"}, multi_value)
    if method == "HEAD":
        response["body"] = ""
    return response


def _log(record):
    print(json.dumps(record, separators=(",", ":"), sort_keys=True), file=sys.stdout, flush=True)


def handler(event, context):
    """Entry point configured as ``app.handler``."""
    started = time.perf_counter()
    request_id = getattr(context, "aws_request_id", None) or "-"
    multi_value = isinstance(event, dict) and "multiValueHeaders" in event
    record = {"level": "INFO", "requestId": request_id}
    try:
        if not isinstance(event, dict):
            raise BadEvent("the event is not an object")
        method, path = event.get("httpMethod"), event.get("path")
        if not isinstance(method, str) or not isinstance(path, str) or not path.startswith("/"):
            raise BadEvent("httpMethod or path is missing")
        headers = _headers_of(event, multi_value)
        record.update(
            method=method,
            path=path,
            traceId=headers.get("x-amzn-trace-id", "-"),
            headers=redact_headers(headers),
        )
        response = _route(method, path, multi_value)
    except BadEvent as exc:
        record.update(level="WARN", error=f"malformed event: {exc}")
        response = _json(400, {"error": "Bad Request", "requestId": request_id}, multi_value)
    except Exception as exc:  # noqa: BLE001 - the client gets a 500, the log gets the traceback
        import traceback  # only on this path: it costs ~4 ms of cold start

        record.update(level="ERROR", error=repr(exc), traceback=traceback.format_exc())
        response = _json(500, {"error": "Internal Server Error", "requestId": request_id}, multi_value)
    record.update(status=response["statusCode"], durationMs=round((time.perf_counter() - started) * 1000, 3))
    _log(record)
    return response
