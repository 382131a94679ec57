"""Several functions behind one load balancer (``functions``), and what stays as it was with one."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.settings import SettingsError, parse_settings
from tests.harness import ACCOUNT, ROOT, Graph, evaluate, load_stack

FUNCTION = "aws:lambda/function:Function"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def two_functions(stack: str = "dev", **extra) -> dict:
    config = load_stack(stack)
    config.pop("lambda-alb:function", None)
    config["lambda-alb:functions"] = {
        "api": {"memorySize": 512, "environment": {"ROLE": "api"}},
        "web": {"timeout": 5, "canaryWeight": 10, "stableVersion": 3},
    }
    config["lambda-alb:routes"] = [
        *(config.get("lambda-alb:routes") or []),
        {"priority": 40, "pathPatterns": ["/api/*"], "function": "api"},
    ]
    config["lambda-alb:loadBalancer"] = {**config["lambda-alb:loadBalancer"], "defaultAction": {"forward": "web"}}
    config.update(extra)
    return config


@pytest.fixture(scope="module")
def graph() -> Graph:
    config = two_functions("prod")
    return evaluate(config, "prod", preview=True)


def test_each_function_gets_its_own_function_role_logs_alias_target_group_and_permission(graph):
    functions = {r.inputs["name"]: r.inputs for r in graph.of_type(FUNCTION)}
    assert set(functions) == {"lambda-alb-prod-api", "lambda-alb-prod-web"}
    assert functions["lambda-alb-prod-api"]["memorySize"] == 512
    assert functions["lambda-alb-prod-web"]["timeout"] == 5
    for typ, per_function in (
        ("aws:iam/role:Role", 2),
        ("aws:cloudwatch/logGroup:LogGroup", 3),  # two functions and the WAF's
        ("aws:lambda/alias:Alias", 2),
        (TARGET_GROUP, 2),
        ("aws:lambda/permission:Permission", 2),
        ("aws:lb/targetGroupAttachment:TargetGroupAttachment", 2),
    ):
        assert len(graph.of_type(typ)) == per_function, typ
    permissions = {r.name: r.inputs for r in graph.of_type("aws:lambda/permission:Permission")}
    assert permissions["lambda-alb-prod-api-invoke"]["sourceArn"].split("/")[1] == "lambda-alb-prod-api"
    assert permissions["lambda-alb-prod-api-invoke"]["function"] == "lambda-alb-prod-api"


def tg_arn(name: str) -> str:
    return f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/{name}/73e2d6bc24d8a067"


def test_routes_forward_to_the_function_they_name_and_the_default_to_its_own(graph):
    rules = {r.inputs["priority"]: r.inputs for r in graph.of_type("aws:lb/listenerRule:ListenerRule")}
    assert rules[40]["actions"] == [{"type": "forward", "targetGroupArn": tg_arn("lambda-alb-prod-api")}]
    https = next(r for r in graph.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443)
    assert https.inputs["defaultActions"] == [{"type": "forward", "targetGroupArn": tg_arn("lambda-alb-prod-web")}]
    # Each waits for its own function's registration only (forwarding before it answers 503).
    web, api = graph.named("lambda-alb-prod-web-attach"), graph.named("lambda-alb-prod-api-attach")
    assert graph.depends_on(https, web) and not graph.depends_on(https, api)
    rule = next(r for r in graph.of_type("aws:lb/listenerRule:ListenerRule") if r.inputs["priority"] == 40)
    assert graph.depends_on(rule, api) and not graph.depends_on(rule, web)
    fixed = next(r for r in graph.of_type("aws:lb/listenerRule:ListenerRule") if r.inputs["priority"] == 10)
    assert not graph.depends_on(fixed, api) and not graph.depends_on(fixed, web)


def test_each_function_has_its_alarms_and_dashboard_rows_and_its_own_canary(graph):
    alarms = {r.name: r.inputs for r in graph.of_type(ALARM)}
    for key in ("api", "web"):
        assert alarms[f"lambda-alb-prod-{key}-alarm-errors"]["dimensions"] == {"FunctionName": f"lambda-alb-prod-{key}"}
    assert "lambda-alb-prod-alarm-elb-5xx" in alarms  # the load balancer's own, once
    assert "lambda-alb-prod-web-alarm-canary-errors" in alarms
    assert "lambda-alb-prod-api-alarm-canary-errors" not in alarms
    aliases = {r.inputs["functionName"]: r.inputs for r in graph.of_type("aws:lambda/alias:Alias")}
    assert aliases["lambda-alb-prod-web"]["functionVersion"] == "3"
    assert "routingConfig" not in aliases["lambda-alb-prod-api"]
    body = json.loads(graph.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert "Invocations, errors, throttles (api)" in titles and "Duration (web)" in titles


def test_the_functions_output_names_each_and_single_outputs_follow_the_default_action(graph):
    functions = graph.outputs["functions"]
    assert set(functions) == {"api", "web"}
    assert functions["api"]["functionName"] == "lambda-alb-prod-api"
    assert functions["api"]["targetGroupArn"] == tg_arn("lambda-alb-prod-api")
    assert graph.outputs["functionName"] == "lambda-alb-prod-web"


def test_a_one_function_stack_keeps_its_resource_names(dev):
    names = {r.name for r in dev.registrations if r.custom}
    for expected in ("lambda-alb-dev-fn", "lambda-alb-dev-tg", "lambda-alb-dev-invoke", "lambda-alb-dev-attach",
                     "lambda-alb-dev-role", "lambda-alb-dev-live", "lambda-alb-dev-fn-logs"):  # fmt: skip
        assert expected in names
    assert dev.outputs["functions"]["function"]["functionName"] == "lambda-alb-dev"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"function": {"memorySize": 256}}, "function: set together with functions"),
        ({"routes": [{"priority": 5, "pathPatterns": ["/a"]}]},
         "routes[0].function: forwards without naming a function; with several, name one (function: api)"),
        ({"routes": [{"priority": 5, "pathPatterns": ["/a"], "function": "apj"}]},
         "routes[0].function: 'apj' is not one of the functions (did you mean 'api'?)"),
        ({"routes": [{"priority": 5, "pathPatterns": ["/a"], "function": "api", "fixedResponse": {"statusCode": 403}}]},
         "routes[0].function: only a route that forwards names a function"),
        ({"loadBalancer": {"defaultAction": "forward"}},
         "loadBalancer.defaultAction.forward: forwards without naming a function; with several, name one "
         "({forward: api})"),
        ({"functions": {"api": {}, "web": {}, "admin": {}}}, "functions.admin: no route or default action forwards"),
        ({"functions": {"Api": {}}}, "functions.Api: not a function key"),
        ({"functions": {"api": {"memorySize": 1}, "web": {}}}, "functions.api.memorySize: 1 is outside 128-10240 MB"),
    ],
)  # fmt: skip
def test_bad_functions_are_refused_by_name(change, expected):
    values = {
        "functions": {"api": {}, "web": {}},
        "routes": [{"priority": 5, "pathPatterns": ["/api/*"], "function": "api"}],
        "loadBalancer": {"defaultAction": {"forward": "web"}},
    }
    values.update(change)
    with pytest.raises(SettingsError) as info:
        parse_settings(values, ROOT)
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_one_function_stacks_cannot_name_a_function():
    with pytest.raises(SettingsError) as info:
        parse_settings({"routes": [{"priority": 5, "pathPatterns": ["/a"], "function": "api"}]}, ROOT)
    assert any("'api' names a function, but this service has one" in p for p in info.value.problems)


def test_a_function_key_too_long_for_the_target_group_name_is_refused():
    config = two_functions("prod")
    config["lambda-alb:functions"]["reporting"] = {}
    config["lambda-alb:routes"].append({"priority": 41, "pathPatterns": ["/reports/*"], "function": "reporting"})
    with pytest.raises(
        pulumi.RunError, match=r"functions\.reporting: its target group is named lambda-alb-prod-reporting"
    ):
        evaluate(config, "prod", preview=True)


def test_a_secret_in_a_functions_environment_reaches_each_function_as_a_secret():
    from pulumi.runtime import rpc

    config = two_functions("dev")
    config["lambda-alb:functions"]["api"]["kmsKeyArn"] = "arn:aws:kms:us-east-1:123456789012:key/0000-dev"
    graph = evaluate(config, "dev", secret_keys=["lambda-alb:functions"])
    functions = {f.inputs["name"]: f.inputs for f in graph.of_type(FUNCTION)}
    assert rpc.is_rpc_secret(functions["lambda-alb-dev-api"]["environment"])
    assert "environment" not in functions["lambda-alb-dev-web"]  # it has none
