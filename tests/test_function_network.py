"""A function in a VPC (``function.vpc``) and kept warm (``function.provisionedConcurrency``)."""

from __future__ import annotations

import json

import pytest

from components.settings import SettingsError, parse_settings
from tests.harness import ACCOUNT, ROOT, Graph, evaluate, with_

SUBNETS = ["subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60712"]
FUNCTION = "aws:lambda/function:Function"


@pytest.fixture(scope="module")
def private() -> Graph:
    function = {"vpc": {"subnetIds": SUBNETS, "egressCidrs": ["10.0.0.0/16"], "egressPorts": [5432]},
                "provisionedConcurrency": 2, "reservedConcurrency": 5}  # fmt: skip
    return evaluate(with_("dev", function=function, monitoring={"alarms": True}), "dev")


def execution_statements(graph: Graph) -> dict[str, dict]:
    policy = json.loads(graph.named("lambda-alb-dev-fn-policy").inputs["policy"])
    return {s["Sid"]: s for s in policy["Statement"]}


def test_the_function_runs_in_its_subnets_behind_a_group_with_no_ingress_and_only_the_listed_egress(private):
    config = private.one(FUNCTION).inputs["vpcConfig"]
    assert config["subnetIds"] == SUBNETS
    group = private.named("lambda-alb-dev-fn-sg")
    assert config["securityGroupIds"] == [f"{group.name}-id"]
    assert group.inputs["ingress"] == []
    assert [(r["fromPort"], r["toPort"], r["cidrBlocks"]) for r in group.inputs["egress"]] == [
        (5432, 5432, ["10.0.0.0/16"])
    ]
    assert group.inputs["vpcId"] == "vpc-0123456789abcdef0"  # the subnets' VPC, looked up


def test_the_role_manages_network_interfaces_only_in_its_subnets_with_its_group(private):
    statements = execution_statements(private)
    subnets = [f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/{s}" for s in SUBNETS]
    create = statements["CreateOwnNetworkInterfaces"]
    assert create["Action"] == ["ec2:CreateNetworkInterface"]
    assert set(create["Resource"]) == {
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:network-interface/*",
        *subnets,
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/lambda-alb-dev-fn-sg-id",
    }
    manage = statements["ManageOwnNetworkInterfaces"]
    # Lambda checks Delete against an interface that does not exist yet: no subnet condition can hold
    # then, so these are scoped to the account and region, as AWS's Lambda guide asks.
    assert manage["Resource"] == [f"arn:aws:ec2:us-east-1:{ACCOUNT}:*/*"] and "Condition" not in manage
    assert "ec2:DeleteNetworkInterface" in manage["Action"]
    # Only the one action AWS cannot scope is on *.
    unscoped = [a for s in statements.values() if s["Resource"] == "*" for a in s["Action"]]
    assert unscoped == ["ec2:DescribeNetworkInterfaces"]


def test_outside_a_vpc_there_is_no_network_permission_and_no_group(dev):
    policy = json.loads(dev.named("lambda-alb-dev-fn-policy").inputs["policy"])
    assert not [a for s in policy["Statement"] for a in s["Action"] if a.startswith("ec2:")]
    assert "vpcConfig" not in dev.one(FUNCTION).inputs


def test_provisioned_concurrency_keeps_live_warm_and_an_alarm_watches_its_spillover(private):
    config = private.one("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig").inputs
    assert (config["functionName"], config["qualifier"], config["provisionedConcurrentExecutions"]) == (
        "lambda-alb-dev",
        "live",
        2,
    )
    alarm = private.named("lambda-alb-dev-alarm-provisioned-spillover").inputs
    assert alarm["metricName"] == "ProvisionedConcurrencySpilloverInvocations"
    assert alarm["dimensions"] == {"FunctionName": "lambda-alb-dev", "Resource": "lambda-alb-dev:live"}


def test_given_security_groups_are_used_as_they_are():
    function = {"vpc": {"subnetIds": SUBNETS, "securityGroupIds": ["sg-0123456789abcdef0"]}}
    graph = evaluate(with_("dev", function=function), "dev")
    assert graph.one(FUNCTION).inputs["vpcConfig"]["securityGroupIds"] == ["sg-0123456789abcdef0"]
    assert [g.name for g in graph.of_type("aws:ec2/securityGroup:SecurityGroup")] == ["lambda-alb-dev-sg"]


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ({"vpc": {"egressCidrs": ["10.0.0.0/16"]}}, "function.vpc.subnetIds: missing"),
        ({"vpc": {"subnetIds": SUBNETS}}, "function.vpc.egressCidrs: missing; list where the function connects"),
        ({"vpc": {"subnetIds": SUBNETS, "securityGroupIds": ["sg-0123456789abcdef0"], "egressPorts": [443]}},
         "function.vpc.securityGroupIds: given with egressPorts"),
        ({"vpc": {"subnetIds": ["subnet-1"], "egressCidrs": ["10.0.0.0/16"]}}, "'subnet-1' is not a subnet ID"),
        ({"vpc": {"subnetIds": SUBNETS, "egressCidrs": ["10.0.0.0/16"], "egressPorts": [0]}},
         "function.vpc.egressPorts: [0] is not a list of TCP ports 1-65535"),
        ({"provisionedConcurrency": 10, "reservedConcurrency": 5},
         "function.provisionedConcurrency: 10 is more than function.reservedConcurrency (5)"),
        ({"provisionedConcurrency": 0}, "function.provisionedConcurrency: 0 is below the minimum of 1"),
    ],
)  # fmt: skip
def test_bad_network_and_provisioning_values_are_refused_by_name(function, expected):
    with pytest.raises(SettingsError) as info:
        parse_settings({"function": function}, ROOT)
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_every_action_a_function_role_is_granted_fits_the_pipelines_permissions_boundary():
    # A role the pipeline creates is capped by the boundary: an action the function needs and the
    # boundary lacks would fail only in AWS (Lambda checks the role's network permissions on create).
    from bootstrap.access import function_boundary_policy
    from tests.iam_policy import Request, allows

    function = {"vpc": {"subnetIds": SUBNETS, "egressCidrs": ["10.0.0.0/16"]}, "tracing": "Active"}
    graph = evaluate(with_("dev", function=function), "dev")
    boundary = json.loads(function_boundary_policy(ACCOUNT, "lambda-alb", "dev", "arn:aws:kms:::key/k"))["Statement"]
    granted = execution_statements(graph).values()
    # The security group the component makes carries the stack's tag (a group you give must, too).
    own = {"aws:ResourceTag/stack": "dev"}
    for statement in granted:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in statement["Action"]:
            for resource in resources:
                context = own if ":security-group/" in resource else {}
                assert allows(boundary, Request(action, (resource,), context)), f"{action} on {resource}"
    # ... and without that tag, the boundary refuses the group: never another stack's.
    groups = [r for s in granted for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    group = next(r for r in groups if ":security-group/" in r)
    assert not allows(boundary, Request("ec2:CreateNetworkInterface", (group,), {"aws:ResourceTag/stack": "prod"}))


def test_the_functions_security_group_waits_for_lambda_to_release_it_and_the_deploy_job_outlasts_that():
    """Lambda's network interfaces hold the group for up to 45 minutes after the function leaves it
    (pulumi/pulumi-aws#2642): the delete retries that long, and the deploy jobs run longer still, so
    a job is not cut off with pending operations in the state."""
    import re

    import yaml

    from components.lambda_function import VPC_RELEASE_TIMEOUT

    function = {"vpc": {"subnetIds": SUBNETS, "egressCidrs": ["10.0.0.0/16"]}}
    graph = evaluate(with_("dev", function=function), "dev")
    group = next(r for r in graph.of_type("aws:ec2/securityGroup:SecurityGroup") if r.name.endswith("-fn-sg"))
    assert group.delete_timeout == VPC_RELEASE_TIMEOUT
    timeout = re.fullmatch(r"(\d+)m", VPC_RELEASE_TIMEOUT)
    assert timeout, VPC_RELEASE_TIMEOUT
    minutes = int(timeout.group(1))
    assert minutes >= 45
    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())["jobs"]
    assert all(jobs[stack]["timeout-minutes"] >= minutes + 15 for stack in ("dev", "prod"))


@pytest.mark.parametrize(("canary", "first"), [(False, "alias"), (True, "warm instances")])
def test_warm_instances_are_set_while_live_routes_to_one_version(canary, first):
    # Lambda refuses provisioned concurrency on an alias that routes a share to a second version:
    # when a canary starts, the warm instances are set first, on live as it still is; otherwise
    # after live (which must exist before its warm instances).
    function = {"provisionedConcurrency": 2, **({"canaryWeight": 10, "stableVersion": "6"} if canary else {})}
    graph = evaluate(with_("dev", function=function))
    warm = graph.one("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    alias = graph.one("aws:lambda/alias:Alias")
    assert warm.inputs["qualifier"] == alias.inputs["name"] == "live"
    assert graph.depends_on(alias, warm) is canary
    assert graph.depends_on(warm, alias) is not canary
