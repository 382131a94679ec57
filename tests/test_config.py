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
    assert not [r for r in monitor.registrations if r.custom]


def test_all_problems_are_listed_in_one_error_naming_the_stack():
    config = load_stack("dev")
    config["lambda-alb:function"] = {"memorySize": 5, "timeout": 0}
    config["lambda-alb:routes"] = [{"priority": 1, "pathPatterns": ["/a"], "fixedResponse": {"statusCode": 302}}]
    message, monitor = failing(config)
    assert message.startswith("3 problem(s) in the lambda-alb configuration of stack 'dev':")
    assert "  - function.memorySize: 5 is outside 128-10240 MB" in message
    assert "  - function.timeout: 0 is outside 1-900 seconds" in message
    assert "  - routes[0].fixedResponse.statusCode: 302 is not allowed" in message
    assert not [r for r in monitor.registrations if r.custom]


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


def test_a_stack_name_that_cannot_name_a_function_is_refused():
    monitor = RecordingMonitor(AwsMocks())
    with pytest.raises(pulumi.RunError, match="is also the function's name"):
        evaluate(load_stack("dev"), "dev.eu", monitor=monitor)
    assert not [r for r in monitor.registrations if r.custom]
