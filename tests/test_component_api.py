"""The component as a user's own program sees it: typed args, validation, Outputs, children."""

from __future__ import annotations

import importlib
import sys

import pulumi
import pytest
from pulumi.runtime import rpc

import components
from components import (
    FixedResponseArgs,
    FunctionArgs,
    LambdaAlbServiceArgs,
    LoadBalancerArgs,
    RedirectArgs,
    RouteArgs,
)
from components.service import validate_args
from components.settings import SettingsError, parse_settings
from tests.harness import ROOT, AwsMocks, RecordingMonitor, evaluate

COMPONENT_PROGRAM = ROOT / "tests" / "programs" / "component"
EXAMPLE = ROOT / "examples" / "python"


def run_case(case: str, monitor: RecordingMonitor | None = None):
    return evaluate({"test:case": case}, "dev", monitor=monitor, program_dir=COMPONENT_PROGRAM)


def test_the_public_api_imports_from_the_package_root():
    from components.generate import blocks

    # Every block of the settings (derived from the declarations) is exported: a new block that is
    # not fails here, which is how the package's export list (static, for type checkers) stays true.
    for cls in blocks():
        assert cls.__name__ in components.__all__, cls.__name__
        assert getattr(components, cls.__name__) is cls, cls.__name__  # the class itself, not a copy
    assert components.LambdaAlbService is importlib.import_module("components.service").LambdaAlbService


def test_every_args_field_is_documented_with_its_default_and_allowed_values():
    doc = FunctionArgs.__doc__ or ""
    assert "``memory_size`` (`256`; 128-10240 (MB)):" in doc
    assert "``code`` (unset; a `pulumi.Archive`):" in doc
    assert "``allowed_cidrs`` (`[0.0.0.0/0]`;" in (LoadBalancerArgs.__doc__ or "")


def test_bad_args_in_code_are_one_run_error_naming_each_argument_and_nothing_is_registered():
    monitor = RecordingMonitor(AwsMocks())
    with pytest.raises(pulumi.RunError) as info:
        run_case("bad_values_everywhere", monitor)
    message = str(info.value)
    for expected in (
        "name: LambdaAlbService name 'a-name-that-is-far-too-long-for-aws' names the function",
        "function.memory_size: 100000 is outside 128-10240 MB",
        "function.runtime: 'python2.7' is not allowed",
        "function.environment.AWS_REGION: reserved by AWS Lambda",
        "load_balancer.allowed_cidrs[0]: '10.0.0.1/8' has host bits set; did you mean '10.0.0.0/8'?",
        "load_balancer.idle_timeout: 0 is outside 1-4000 seconds",
        "routes[0].priority: 0 is outside 1-50000",
        "routes[1]: no condition; give at least one of",
    ):
        assert expected in message, message
    assert monitor.program_resources() == []


def test_validation_in_code_and_in_yaml_say_the_same_with_the_callers_spelling():
    _, problems = validate_args("svc", LambdaAlbServiceArgs(function=FunctionArgs(timeout=901)), ROOT)
    assert problems == ["function.timeout: 901 is outside 1-900 seconds"]


def test_every_output_is_declared_once_with_its_type_and_meaning():
    from components.service import LambdaAlbService, outputs

    found = outputs()
    assert [o.attribute for o in found][:3] == ["url", "alb_dns_name", "alb_arn"]
    assert {o.export for o in found} >= {"url", "albDnsName", "functions", "webAclArn", "dashboardUrl"}
    for output in found:
        assert output.doc, output.attribute
        assert output.attribute in LambdaAlbService.__annotations__, output.attribute
    optional = {o.attribute: o.annotation for o in found if o.annotation.startswith("Optional[")}
    assert set(optional) == {"access_logs_bucket", "web_acl_arn", "alarm_topic_arn", "dashboard_url"}


def test_an_unknown_top_level_key_from_code_is_named_in_codes_spelling_with_a_suggestion():
    from components.service import read_args

    _, problems = read_args("svc", {"load_balancerr": {}}, ROOT)
    assert problems == [
        "load_balancerr: unknown key (did you mean 'load_balancer'?); known keys are service_name, function, "
        "functions, load_balancer, routes, access_logs, monitoring, waf, tags"
    ]


def test_routes_built_in_code_are_judged_in_codes_spelling_and_the_same_routes_in_yaml_in_camel_case():
    args = LambdaAlbServiceArgs(
        routes=[
            RouteArgs(priority=5),
            RouteArgs(priority=6, path_patterns=["/x"], fixed_response=FixedResponseArgs(status_code=700)),
            RouteArgs(priority=7, hosts=["a.example.com"], redirect=RedirectArgs(status_code="HTTP_303", port="1")),
        ]
    )
    _, in_code = validate_args("svc", args, ROOT)
    assert in_code == [
        "routes[0]: no condition; give at least one of path_patterns, hosts, methods, headers, query_strings or "
        "source_ips (use load_balancer.default_action for a catch-all)",
        "routes[1].fixed_response.status_code: 700 is not allowed; use an integer 2XX, 4XX or 5XX",
        "routes[2].redirect.status_code: 'HTTP_303' is not allowed; use HTTP_301 or HTTP_302",
    ]
    stack_file = {
        "routes": [
            {"priority": 5},
            {"priority": 6, "pathPatterns": ["/x"], "fixedResponse": {"statusCode": 700}},
            {"priority": 7, "hosts": ["a.example.com"], "redirect": {"statusCode": "HTTP_303", "port": "1"}},
        ]
    }
    with pytest.raises(SettingsError) as info:
        parse_settings(stack_file)
    assert info.value.problems == [
        "routes[0]: no condition; give at least one of pathPatterns, hosts, methods, headers, queryStrings or "
        "sourceIps (use loadBalancer.defaultAction for a catch-all)",
        "routes[1].fixedResponse.statusCode: 700 is not allowed; use an integer 2XX, 4XX or 5XX",
        "routes[2].redirect.statusCode: 'HTTP_303' is not allowed; use HTTP_301 or HTTP_302",
    ]


def test_values_that_are_outputs_pass_through_and_keep_their_secrecy():
    graph = run_case("outputs_are_not_judged")
    https = [r for r in graph.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443]
    assert https and https[0].inputs["certificateArn"].endswith("certificate/from-elsewhere")
    assert rpc.is_rpc_secret(graph.one("aws:lambda/function:Function").inputs["environment"])
    ingress = graph.one("aws:ec2/securityGroup:SecurityGroup").inputs["ingress"]
    assert {rule["fromPort"] for rule in ingress} == {80, 443}
    assert all(rule["cidrBlocks"] == ["10.0.0.0/8"] for rule in ingress)


def test_code_may_be_an_archive_and_children_are_reachable():
    graph = run_case("code_as_an_archive")
    assert graph.outputs["children"] == ["Function", "LoadBalancer", "TargetGroup"]
    function = graph.one("aws:lambda/function:Function").inputs
    assert "sourceCodeHash" not in function


def test_the_python_example_builds_a_network_and_two_services_passing_outputs(monkeypatch):
    # The example imports the installed name (pip install of this repository, tests/test_install.py).
    monkeypatch.setitem(sys.modules, "lambda_alb", components)
    mocks = AwsMocks()
    graph = evaluate({"aws:region": "us-east-1"}, "example", mocks, program_dir=EXAMPLE, project="lambda-alb-example")
    subnets = {r.name: r for r in graph.of_type("aws:ec2/subnet:Subnet")}
    balancers = {r.name: r.inputs for r in graph.of_type("aws:lb/loadBalancer:LoadBalancer")}
    assert set(balancers) == {"example-api-lb", "example-web-lb"}
    for inputs in balancers.values():
        assert sorted(inputs["subnets"]) == sorted(f"{name}-id" for name in subnets)
    groups = graph.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert {g.inputs["vpcId"] for g in groups} == {"net-id"}
    functions = {r.name: r.inputs for r in graph.of_type("aws:lambda/function:Function")}
    assert functions["example-web-fn"]["environment"]["variables"]["API_URL"] == graph.outputs["apiUrl"]
    # Nothing was looked up: the network came from the program itself.
    assert not [t for t in mocks.invokes if t.startswith("aws:ec2/")]
