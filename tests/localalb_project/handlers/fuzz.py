"""A test function whose answer is chosen by the request: the fuzz tests send what it must return."""

import base64
import json


def handler(event, context):
    headers = event.get("headers") or {k: v[-1] for k, v in event.get("multiValueHeaders", {}).items()}
    if "x-raise" in headers:
        raise ValueError(headers["x-raise"])
    if "x-result" not in headers:
        return {"statusCode": 200, "body": "no result asked for"}
    return json.loads(base64.b64decode(headers["x-result"]))
