"""The local ALB serving a stack with several functions behind one load balancer."""

from __future__ import annotations

import http.client
import json

from localalb.config import load_stack as load_local_stack
from localalb.server import make_server
from tests.test_localalb_cli import copy_test_project


def test_the_local_alb_serves_each_function_behind_its_routes_with_its_own_workers(tmp_path):
    copy_test_project(tmp_path)
    (tmp_path / "Pulumi.two.yaml").write_text(
        "config:\n"
        "  lambda-alb:functions:\n"
        "    api: {codeDir: handlers, handler: probe.handler, timeout: 3, environment: {APP_ENV: api}}\n"
        "    web: {codeDir: handlers, handler: probe.handler, timeout: 7, reservedConcurrency: 2}\n"
        "  lambda-alb:routes:\n"
        "    - {priority: 5, headers: {x-to: [api]}, function: api}\n"
        "  lambda-alb:loadBalancer:\n"
        "    defaultAction: {forward: web}\n"
    )
    stack = load_local_stack(tmp_path, "two", environ={})
    server = make_server(stack, log_dir=tmp_path / "logs", quiet=True).start()
    try:
        served = {}
        for target, headers in (("api", {"x-to": "api"}), ("web", {})):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", "/context", headers=headers)
            served[target] = json.loads(conn.getresponse().read())["env"]
            conn.close()
    finally:
        server.stop()
    assert served["api"]["AWS_LAMBDA_FUNCTION_NAME"] == "lambda-alb-two-api"
    assert served["api"]["APP_ENV"] == "api"
    assert served["web"]["AWS_LAMBDA_FUNCTION_NAME"] == "lambda-alb-two-web"
    pools = server.app.pools
    assert (pools["api"].timeout_s, pools["web"].timeout_s, pools["web"].limit) == (3, 7, 2)
    log = (tmp_path / "logs" / "access.log").read_text()
    assert "targetgroup/lambda-alb-two-api-tg/" in log and "targetgroup/lambda-alb-two-web-tg/" in log
