"""Releases through CodeDeploy (``function.deployment``) as the program declares them: what prod gets
with a canary, what the settings refuse, what each role may do, and what is left as it was."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest
import yaml

from bootstrap.access import function_boundary_policy
from components.release_settings import RELEASE_ALARM_KEYS, RELEASE_TYPES, deployment_config, release_minutes
from components.releases import check_role_policy, group_arn_of
from tests.harness import ACCOUNT, ROOT, AwsMocks, Graph, RecordingMonitor, Registration, evaluate, with_
from tests.iam_policy import Request, allows
from tests.own_calls import DYNAMIC, check_actions

CANARY = {"type": "Canary10Percent5Minutes", "alarms": ["orders-latency"], "preTraffic": {"path": "/health"},
          "postTraffic": {"expectedStatus": 204}}  # fmt: skip
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
APPLICATION = "aws:codedeploy/application:Application"


@pytest.fixture(scope="module")
def prod() -> Graph:
    return evaluate(with_("prod", function={"deployment": CANARY}), "prod", preview=True)


def dynamic(graph: Graph, kind: str) -> Registration:
    """The release (``deployment_group`` in its inputs) or the pruning of the one function."""
    (found,) = [r for r in graph.of_type(DYNAMIC) if ("deployment_group" in r.inputs) == (kind == "release")]
    return found


def policy_of(graph: Graph, role: Registration) -> list[dict[str, Any]]:
    (policy,) = [p for p in graph.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == f"{role.name}-id"]
    return json.loads(policy.inputs["policy"])["Statement"]


def test_prod_with_a_canary_gets_codedeploys_application_group_role_and_live_left_to_codedeploy(prod):
    application = prod.one(APPLICATION)
    assert application.inputs["computePlatform"] == "Lambda"
    assert application.inputs["name"] == "lambda-alb-prod"
    group = prod.one(GROUP)
    assert group.inputs["appName"] == "lambda-alb-prod" and group.inputs["deploymentGroupName"] == "lambda-alb-prod"
    assert group.inputs["deploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    assert group.inputs["deploymentStyle"] == {
        "deploymentType": "BLUE_GREEN",
        "deploymentOption": "WITH_TRAFFIC_CONTROL",
    }
    assert group.inputs["autoRollbackConfiguration"] == {
        "enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
    }  # fmt: skip
    # CodeDeploy's own role: only CodeDeploy may assume it, and it is what the group runs as.
    (role,) = [r for r in prod.of_type("aws:iam/role:Role") if r.name == "lambda-alb-prod-release-role"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "codedeploy.amazonaws.com"}]
    assert group.inputs["serviceRoleArn"].endswith(":role/lambda-alb-prod-release-role")
    # Pulumi sets live's version when it creates the alias; after that CodeDeploy moves it.
    alias = prod.one("aws:lambda/alias:Alias")
    assert set(alias.ignore_changes) == {"functionVersion", "routingConfig"}


def test_the_group_watches_the_functions_own_alarms_and_the_extra_ones(prod):
    alarms = prod.one(GROUP).inputs["alarmConfiguration"]
    assert alarms["enabled"] is True and alarms["ignorePollAlarmFailure"] is False
    # The registered alarms whose key is one a release watches (the mocks name an alarm by its
    # logical name, <service>-alarm-<key>), and the stack file's own.
    registered = [r.name for r in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")]
    watched = [name for name in registered if name.split("-alarm-", 1)[1] in RELEASE_ALARM_KEYS]
    assert len(watched) == len(RELEASE_ALARM_KEYS)
    assert sorted(alarms["alarms"]) == sorted([*watched, "orders-latency"])
    # Only alarms the new version alone can set off: one the old version (or another function) set
    # off would stop the release of its fix before it starts.
    (own,) = [a for a in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.name in watched]
    assert own.inputs["dimensions"]["ExecutedVersion"] == prod.outputs["functionVersion"]
    assert own.inputs["dimensions"]["Resource"] == "lambda-alb-prod:live"
    assert own.inputs["evaluationPeriods"] == 1 and own.inputs["period"] == 60  # a canary lasts minutes


def test_the_release_runs_after_live_and_its_group_and_the_old_versions_go_only_after_it(prod):
    release, pruning = dynamic(prod, "release"), dynamic(prod, "pruning")
    assert prod.depends_on(release, prod.one(GROUP))
    assert prod.depends_on(release, prod.one("aws:lambda/alias:Alias"))
    assert prod.depends_on(pruning, release)
    assert release.inputs["function_name"] == "lambda-alb-prod" and release.inputs["alias"] == "live"
    assert release.inputs["application"] == "lambda-alb-prod"
    assert release.inputs["deployment_group"] == "lambda-alb-prod"
    assert (release.inputs["before_hook"], release.inputs["after_hook"]) == (
        "lambda-alb-prod-pre-check", "lambda-alb-prod-post-check"
    )  # fmt: skip
    # pulumi up waits as long as the canary takes, and some more for the checks.
    assert release.inputs["wait_minutes"] == release_minutes("Canary10Percent5Minutes") > 5


def test_warm_instances_are_set_on_live_before_a_release_shifts_it():
    # Lambda refuses provisioned concurrency on an alias with weights: it is set on live while live
    # serves one version, and only then does a release start shifting.
    graph = evaluate(with_("prod", function={"deployment": CANARY, "provisionedConcurrency": 2}), "prod", preview=True)
    warm = graph.one("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert graph.depends_on(warm, graph.one("aws:lambda/alias:Alias"))
    assert graph.depends_on(dynamic(graph, "release"), warm)


def test_each_check_asks_the_function_what_the_stack_file_says_and_logs_beside_it(prod):
    checks = {f.name: f for f in prod.of_type("aws:lambda/function:Function") if f.name.endswith("-check")}
    assert sorted(checks) == ["lambda-alb-prod-post-check", "lambda-alb-prod-pre-check"]
    pre, post = (checks[f"lambda-alb-prod-{p}-check"].inputs for p in ("pre", "post"))
    assert pre["environment"]["variables"] == {
        "TARGET_FUNCTION": "lambda-alb-prod", "ALIAS": "live", "PHASE": "before", "CHECK_PATH": "/health",
        "EXPECTED_STATUS": "200", "MULTI_VALUE": "false",
    }  # fmt: skip
    assert post["environment"]["variables"]["PHASE"] == "after"
    multi = evaluate(with_("prod", function={"deployment": CANARY}, loadBalancer={"multiValueHeaders": True}), "prod",
                     preview=True)  # fmt: skip
    (check,) = [f for f in multi.of_type("aws:lambda/function:Function") if f.name == "lambda-alb-prod-pre-check"]
    assert check.inputs["environment"]["variables"]["MULTI_VALUE"] == "true"  # the event shape ALB sends then
    assert post["environment"]["variables"]["EXPECTED_STATUS"] == "204"
    # No log group of their own: their lines go to the function's, next to what they checked.
    function_logs = prod.outputs["logGroupName"]
    assert {c.inputs["loggingConfig"]["logGroup"] for c in checks.values()} == {function_logs}


def test_each_release_role_stays_within_the_pipelines_boundary(prod):
    # The roles carry the stack's boundary when the pipeline deploys: an action a role's policy
    # grants and the boundary lacks would fail only in AWS, in the middle of a release.
    boundary = json.loads(function_boundary_policy(ACCOUNT, "lambda-alb", "prod", "arn:aws:kms:::key/k"))["Statement"]
    roles = [r for r in prod.of_type("aws:iam/role:Role") if "release" in r.name or "check" in r.name]
    assert len(roles) == 3
    for role in roles:
        for statement in policy_of(prod, role):
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in statement["Action"]:
                for resource in resources:
                    assert allows(boundary, Request(action, (resource,), {})), (role.name, action, resource)


def test_a_checks_role_allows_every_call_the_check_makes_on_its_own_function_and_group_only():
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:lambda-alb-prod"
    group = group_arn_of(function, "lambda-alb-prod", "lambda-alb-prod")
    logs = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/lambda-alb-prod"
    statements = json.loads(check_role_policy(logs, function, group))["Statement"]
    where = {
        "lambda:InvokeFunction": f"{function}:7",
        "codedeploy:GetDeployment": group,
        "codedeploy:GetApplicationRevision": group.replace(":deploymentgroup:", ":application:").rsplit("/", 1)[0],
        "codedeploy:PutLifecycleEventHookExecutionStatus": "*",  # AWS defines no resource for it
    }
    assert sorted(check_actions()) == sorted(where)
    for action, resource in where.items():
        assert allows(statements, Request(action, (resource,), {})), action
    other = group.replace("lambda-alb-prod/", "lambda-alb-dev/")
    assert not allows(statements, Request("codedeploy:GetDeployment", (other,), {}))
    assert not allows(statements, Request("lambda:InvokeFunction", (function.replace("prod", "dev") + ":7",), {}))


def test_without_deployment_live_moves_with_each_deploy_and_nothing_of_codedeploy_is_made():
    graph = evaluate(with_("prod"), "prod", preview=True)
    assert graph.of_type(APPLICATION) == [] and graph.of_type(GROUP) == []
    assert [r for r in graph.of_type(DYNAMIC) if "deployment_group" in r.inputs] == []
    assert graph.one("aws:lambda/alias:Alias").ignore_changes == ()


def test_several_functions_share_one_application_and_each_releasing_one_has_its_group():
    config = with_(
        "dev",
        function=None,
        functions={"api": {"deployment": {"type": "AllAtOnce"}}, "web": {}},
        routes=[{"priority": 1, "pathPatterns": ["/api/*"], "function": "api"}],
        loadBalancer={"defaultAction": {"forward": "web"}},
        monitoring={"alarms": True},
    )
    graph = evaluate({k: v for k, v in config.items() if v is not None}, "dev")
    assert len(graph.of_type(APPLICATION)) == 1
    (group,) = graph.of_type(GROUP)
    assert group.inputs["deploymentGroupName"] == "lambda-alb-dev-api"
    assert group.inputs["deploymentConfigName"] == deployment_config("AllAtOnce")
    # api's alarms and the load balancer's: none of web's.
    assert group.inputs["alarmConfiguration"]["alarms"] and not any(
        "-web-" in name for name in group.inputs["alarmConfiguration"]["alarms"]
    )
    ignoring = {a.name: a.ignore_changes for a in graph.of_type("aws:lambda/alias:Alias")}
    assert ignoring == {"lambda-alb-dev-api-live": ("functionVersion", "routingConfig"), "lambda-alb-dev-web-live": ()}


def failing(config: dict[str, Any], stack: str = "dev") -> tuple[str, RecordingMonitor]:
    monitor = RecordingMonitor(AwsMocks())
    with pytest.raises(pulumi.RunError) as info:
        evaluate(config, stack, monitor=monitor)
    return str(info.value), monitor


def test_a_bad_type_is_refused_naming_the_key_and_every_allowed_value_and_nothing_is_registered():
    message, monitor = failing(with_("dev", function={"deployment": {"type": "Canary10Percent"}}))
    assert "function.deployment.type: 'Canary10Percent' is not allowed" in message
    assert all(kind in message for kind in RELEASE_TYPES)
    assert monitor.program_resources() == []


@pytest.mark.parametrize("key", ["liveVersion", "canaryWeight", "stableVersion"])
def test_the_manual_release_keys_are_refused_with_deployment_naming_both(key):
    manual = {"liveVersion": "3", "canaryWeight": 10, "stableVersion": "3"}[key]
    function = {"deployment": {"type": "AllAtOnce"}, key: manual}
    message, monitor = failing(with_("dev", function=function, monitoring={"alarms": True}))
    assert f"function.{key}: set with function.deployment, where CodeDeploy moves live" in message
    assert monitor.program_resources() == []


def test_a_release_needs_the_alarms_it_rolls_back_on_and_room_for_the_extra_ones():
    room = 10 - len(RELEASE_ALARM_KEYS)
    too_many = {"deployment": {"type": "AllAtOnce", "alarms": [f"a{i}" for i in range(room + 1)]}}
    message, _ = failing(with_("dev", function=too_many))
    assert "function.deployment: needs monitoring.alarms: true" in message
    assert f"function.deployment.alarms: {room + 1} alarms; CodeDeploy watches at most 10" in message
    message, _ = failing(with_("dev", function={"deployment": {}}, monitoring={"alarms": True}))
    assert "function.deployment.type: missing; one of Canary10Percent5Minutes" in message


def test_a_deploy_job_outlasts_the_longest_release_a_stack_file_asks_for():
    # pulumi up waits for each release; a job cut off meanwhile leaves pending operations.
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    timeouts = [job["timeout-minutes"] for job in workflow["jobs"].values() if "pulumi" in json.dumps(job)]
    longest = 0
    for path in ROOT.glob("Pulumi.*.yaml"):
        if path.name == "Pulumi.yaml":
            continue
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        functions = [config.get("lambda-alb:function") or {}, *(config.get("lambda-alb:functions") or {}).values()]
        # Functions release one after another at worst.
        longest = max(longest, sum(release_minutes(f["deployment"]["type"]) for f in functions if f.get("deployment")))
    assert timeouts and min(timeouts) > longest


def test_the_release_types_are_codedeploys_predefined_lambda_configurations():
    predefined = re.compile(
        r"CodeDeployDefault\.Lambda(Canary10Percent\d+Minutes|Linear10PercentEvery\d+Minutes?|AllAtOnce)"
    )
    assert all(predefined.fullmatch(deployment_config(kind)) for kind in RELEASE_TYPES)
    slowest = ("Canary10Percent30Minutes", "Linear10PercentEvery10Minutes", "Linear10PercentEvery1Minute")
    assert [release_minutes(k) - release_minutes("AllAtOnce") for k in slowest] == [30, 100, 10]


def releasing_with_a_check_of_your_own() -> dict[str, Any]:
    config = with_(
        "dev",
        function=None,
        functions={
            "api": {"deployment": {"type": "AllAtOnce", "preTraffic": {"function": "smoke"}, "postTraffic": {}}},
            "smoke": {},
        },
        loadBalancer={"defaultAction": {"forward": "api"}},
        monitoring={"alarms": True},
    )
    return {k: v for k, v in config.items() if v is not None}


def test_a_function_of_your_own_runs_as_a_check_outside_the_load_balancer_and_may_report():
    graph = evaluate(releasing_with_a_check_of_your_own(), "dev")
    release = dynamic_of(graph, "lambda-alb-dev-api-release")
    assert release.inputs["before_hook"] == "lambda-alb-dev-smoke"  # yours, before traffic
    assert release.inputs["after_hook"] == "lambda-alb-dev-api-post-check"  # the built-in one, after
    # Not behind the load balancer: no target group, no registration, no target group in the outputs.
    assert [tg.name for tg in graph.of_type("aws:lb/targetGroup:TargetGroup")] == ["lambda-alb-dev-api"]
    assert "targetGroupArn" not in graph.outputs["functions"]["smoke"]
    # Its role may do what a check does, for this release only; CodeDeploy's role may invoke it.
    (grant,) = [
        p for p in graph.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "lambda-alb-dev-api-pre-check-policy"
    ]
    assert grant.inputs["role"] == "lambda-alb-dev-smoke-role-id"
    statements = json.loads(grant.inputs["policy"])["Statement"]
    assert allows(statements, Request("codedeploy:PutLifecycleEventHookExecutionStatus", ("*",), {}))
    group = f"arn:aws:codedeploy:us-east-1:{ACCOUNT}:deploymentgroup:lambda-alb-dev/lambda-alb-dev-api"
    assert allows(statements, Request("codedeploy:GetDeployment", (group,), {}))
    codedeploy = json.loads(
        next(
            p for p in graph.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "lambda-alb-dev-api-release-policy"
        ).inputs["policy"]
    )["Statement"]
    smoke = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:lambda-alb-dev-smoke"
    assert allows(codedeploy, Request("lambda:InvokeFunction", (smoke,), {}))


def dynamic_of(graph: Graph, name: str) -> Registration:
    (found,) = [r for r in graph.of_type(DYNAMIC) if r.name == name]
    return found


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"routes": [{"priority": 1, "pathPatterns": ["/s"], "function": "smoke"}]},
         "routes[0].function: 'smoke' is a release's check (functions.api.deployment.preTraffic.function)"),
        ({"functions": {"api": {"deployment": {"type": "AllAtOnce", "preTraffic": {"function": "smok"}}}, "smoke": {}}},
         "functions.api.deployment.preTraffic.function: 'smok' is not one of the functions (did you mean 'smoke'?)"),
        ({"functions": {"api": {"deployment": {"type": "AllAtOnce", "preTraffic": {"function": "api"}}}}},
         "functions.api.deployment.preTraffic.function: 'api' is the function being released"),
        ({"functions": {"api": {"deployment": {"type": "AllAtOnce", "preTraffic": {"function": "smoke", "path": "/"}}},
                        "smoke": {}}},
         "functions.api.deployment.preTraffic.function: given with path, which only the built-in check uses"),
        ({"functions": {"api": {"deployment": {"type": "AllAtOnce", "preTraffic": {"function": "smoke"}}},
                        "smoke": {"deployment": {"type": "AllAtOnce"}}}},
         "functions.smoke.deployment: 'smoke' is a release's check (functions.api.deployment.preTraffic.function)"),
    ],
)  # fmt: skip
def test_a_check_of_your_own_is_refused_by_name_when_it_cannot_work(change, expected):
    config = releasing_with_a_check_of_your_own()
    for key, value in change.items():
        config[f"lambda-alb:{key}"] = value
    message, monitor = failing(config)
    assert expected in message
    assert monitor.program_resources() == []
