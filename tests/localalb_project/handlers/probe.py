"""A test function with one behaviour per path, to drive the local ALB through every case."""

import base64
import json
import os
import time

CALLS = {"count": 0}  # module state: survives between requests in a warm environment


def _ok(body, content_type="application/json", multi=False, extra=None):
    headers = {"Content-Type": content_type, **(extra or {})}
    response = {"statusCode": 200, "body": body}
    if multi:
        response["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    else:
        response["headers"] = headers
    return response


def handler(event, context):
    multi = "multiValueHeaders" in event
    path = event["path"]
    CALLS["count"] += 1
    if path == "/echo":
        return _ok(json.dumps(event), multi=multi)
    if path == "/health-probe":
        with open(os.environ["HEALTH_LOG"], "a") as log:
            log.write(json.dumps(event) + "\n")
        return _ok("{}", multi=multi)
    if path == "/state":
        return _ok(json.dumps({"count": CALLS["count"], "pid": os.getpid()}), multi=multi)
    if path == "/context":
        return _ok(
            json.dumps(
                {
                    "aws_request_id": context.aws_request_id,
                    "function_name": context.function_name,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "invoked_function_arn": context.invoked_function_arn,
                    "log_group_name": context.log_group_name,
                    "log_stream_name": context.log_stream_name,
                    "remaining_ms": context.get_remaining_time_in_millis(),
                    "env": {
                        k: os.environ.get(k) for k in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "APP_ENV", "_HANDLER")
                    },
                    "cwd": os.getcwd(),
                }
            ),
            multi=multi,
        )
    if path == "/print":
        print("hello from the function")
        return _ok("{}", multi=multi)
    if path == "/raise":
        raise ValueError("boom")
    if path == "/sleep":
        time.sleep(30)
        return _ok("{}", multi=multi)
    if path == "/exit":
        os._exit(3)
    if path == "/big":
        return _ok("x" * (1024 * 1024 + 10), "text/plain", multi=multi)
    if path == "/cookies":
        return {
            "statusCode": 200,
            "body": "",
            "headers": {"Set-Cookie": "a=1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "Content-Type": ["text/plain"]},
        }
    if path == "/binary":
        return {
            "statusCode": 200,
            "isBase64Encoded": True,
            "body": base64.b64encode(b"\x00\xffbin").decode(),
            "headers": {"Content-Type": "application/octet-stream"},
            "multiValueHeaders": {"Content-Type": ["application/octet-stream"]},
        }
    if path == "/no-content":
        return {"statusCode": 204, "body": "ignored", "headers": {"X-Kept": "yes"}, "multiValueHeaders": {}}
    if path == "/unicode-header":
        return _ok("{}", multi=multi, extra={"X-Greeting": "grüß dich"})
    if path == "/no-content-type":
        return {"statusCode": 201, "body": "plain", "headers": {}, "multiValueHeaders": {}}
    if path == "/hop-by-hop":
        return _ok(
            "hop",
            "text/plain",
            multi=multi,
            extra={"Connection": "close", "Transfer-Encoding": "chunked", "X-Kept": "yes"},
        )
    if path.startswith("/invalid/"):
        return INVALID[path.rsplit("/", 1)[1]]
    return {
        "statusCode": 404,
        "body": "not found",
        "headers": {"Content-Type": "text/plain"},
        "multiValueHeaders": {"Content-Type": ["text/plain"]},
    }


INVALID = {
    "informational": {"statusCode": 101, "body": ""},
    "bad-header-name": {"statusCode": 200, "headers": {"bad name": "x"}, "multiValueHeaders": {"bad name": ["x"]}},
    "header-newline": {"statusCode": 200, "headers": {"X-A": "a\r\nb"}, "multiValueHeaders": {"X-A": ["a\r\nb"]}},
    "string": "just a string",
    "list": [1, 2],
    "no-status": {"body": "x"},
    "string-status": {"statusCode": "200", "body": "x"},
    "null-body": {"statusCode": 200, "body": None},
    "null-headers": {"statusCode": 200, "headers": None, "multiValueHeaders": None},
    "null-description": {"statusCode": 200, "statusDescription": None},
    "bool-header": {"statusCode": 200, "headers": {"X-Flag": True}, "multiValueHeaders": {"X-Flag": [True]}},
    "int-header": {"statusCode": 200, "headers": {"X-Num": 5}, "multiValueHeaders": {"X-Num": [5]}},
    "bad-base64": {"statusCode": 200, "isBase64Encoded": True, "body": "not base64!"},
    "base64-newlines": {"statusCode": 200, "isBase64Encoded": True, "body": "aGVs\nbG8="},
}
