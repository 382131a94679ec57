"""Configuration errors through the real program: one RunError listing everything, nothing created."""

import pulumi
import pytest

from tests.harness import AwsMocks, RecordingMonitor, evaluate, load_stack


def failing(config: dict) -> tuple[str, RecordingMonitor]:
    monitor = RecordingMonitor(AwsMocks())
    with pytest.raises(pulumi.RunError) as info:
        evaluate(config, "dev", monitor=monitor)
    return str(info.value), monitor


def test_typo_in_a_top_level_key_is_an_error_with_a_hint_and_nothing_is_created():
    config = load_stack("dev")
    config["lambda-alb:fucntion"] = {"memorySize": 512}
    message, monitor = failing(config)
    assert "lambda-alb:fucntion: unknown key (did you mean 'function'?)" in message
    assert monitor.program_resources() == []


def test_all_problems_are_listed_in_one_error_naming_the_stack():
    config = load_stack("dev")
    config["lambda-alb:function"] = {"memorySize": 5, "timeout": 0}
    config["lambda-alb:routes"] = [{"priority": 1, "pathPatterns": ["/a"], "fixedResponse": {"statusCode": 302}}]
    message, monitor = failing(config)
    assert message.startswith("3 problem(s) in the lambda-alb configuration of stack 'dev':")
    assert "  - function.memorySize: 5 is outside 128-10240 MB" in message
    assert "  - function.timeout: 0 is outside 1-900 seconds" in message
    assert "  - routes[0].fixedResponse.statusCode: 302 is not allowed" in message
    assert monitor.program_resources() == []


def test_a_plain_string_where_an_object_belongs_is_explained():
    config = load_stack("dev")
    config["lambda-alb:loadBalancer"] = "internal"
    message, _ = failing(config)
    assert "loadBalancer: 'internal' is not structured configuration" in message


def test_keys_of_other_namespaces_are_left_alone():
    config = load_stack("dev")
    config["aws:profile"] = "sandbox"
    config["other-project:function"] = "x"
    graph = evaluate(config)
    assert graph.outputs["functionName"] == "lambda-alb-dev"


def test_a_path_override_changes_the_deployed_value():
    # What `pulumi config set --path 'function.memorySize' 1024` leaves in the stack.
    config = load_stack("dev")
    config["lambda-alb:function"] = {**config["lambda-alb:function"], "memorySize": 1024}
    graph = evaluate(config)
    assert graph.one("aws:lambda/function:Function").inputs["memorySize"] == 1024


@pytest.mark.parametrize("stack", ["dev.eu", "production", "dev_1"])
def test_a_stack_name_that_cannot_name_the_load_balancer_is_refused(stack):
    monitor = RecordingMonitor(AwsMocks())
    with pytest.raises(pulumi.RunError, match="names the function, load balancer and target group"):
        # The rule is for a stack named after the stack: the stack files pin serviceName.
        evaluate({k: v for k, v in load_stack("dev").items() if k != "lambda-alb:serviceName"}, stack, monitor=monitor)
    assert monitor.program_resources() == []


def test_the_longest_allowed_stack_name_keeps_generated_names_within_32_characters():
    config = load_stack("dev")
    config["lambda-alb:function"] = {**config["lambda-alb:function"], "canaryWeight": 10, "stableVersion": "3"}
    graph = evaluate(config, "staging-1")  # 9 characters, during a canary
    named = graph.of_type("aws:lb/loadBalancer:LoadBalancer") + graph.of_type("aws:lb/targetGroup:TargetGroup")
    assert len(named) == 2
    for resource in named:
        assert len(resource.name) + len("-1234567") <= 32, resource.name


def test_the_placeholder_certificate_previews_with_a_warning_but_never_deploys():
    config = load_stack("prod")
    assert config["lambda-alb:loadBalancer"]["certificateArn"].endswith("00000000-0000-0000-0000-000000000000")
    graph = evaluate(config, "prod", preview=True)
    assert graph.outputs["url"].startswith("https://")
    monitor = RecordingMonitor(AwsMocks())
    with pytest.raises(pulumi.RunError, match="loadBalancer.certificateArn: still the placeholder"):
        evaluate(config, "prod", monitor=monitor)
    assert monitor.program_resources() == []


def test_a_certificate_from_another_region_is_refused():
    config = load_stack("prod")
    config["lambda-alb:loadBalancer"] = {
        **config["lambda-alb:loadBalancer"],
        "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/2b7e1c4a-0d3e-4f6a-9b8c-1d2e3f4a5b6c",
    }
    message, _ = failing(config)
    assert "is in eu-west-1; a load balancer in us-east-1 needs a certificate from us-east-1" in message
