"""A test function for the hostile cases: spinning, crashing with a child, chatty output, injection."""

import json
import os
import sys
import time
import urllib.parse

OUTSIDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")  # not watched for reloads


def _ok(body="ok"):
    return {"statusCode": 200, "body": body, "headers": {"Content-Type": "text/plain"}}


def handler(event, context):
    path = event["path"]
    query = event["queryStringParameters"]
    if path == "/spin":
        with open(os.path.join(OUTSIDE, "spin.pid"), "w") as pid_file:
            pid_file.write(str(os.getpid()))
        while True:
            pass
    if path == "/orphan-exit":
        os.system("sleep 15 &")  # noqa: S605 - a child that outlives the worker, holding what it inherited
        os._exit(1)
    if path == "/chatty":
        for _ in range(int(query.get("n", "500000"))):
            sys.stdout.write("x")
        return _ok()
    if path == "/json-dump":
        json.dump({"items": ["y"] * 150_000}, sys.stdout)  # ~750 KB in ~300,000 writes
        return _ok()
    if path == "/record":
        with open(os.path.join(OUTSIDE, "record.log"), "a") as record:
            record.write(f"{len(event['body'])}\n")
        return _ok()
    if path == "/inject":
        raise ValueError(urllib.parse.unquote(query.get("m", "")))
    if path == "/nap":
        time.sleep(float(query.get("s", "0.3")))
        return _ok()
    if path == "/print":
        print("a line from the function")
        return _ok()
    return _ok()
