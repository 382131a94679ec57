"""The settings model's contract with pydantic: what we rely on, pinned so that an upgrade that
changes it fails here, fast, rather than in a stack's preview."""

from __future__ import annotations

import pytest

from components.kinds import Integer
from components.model import CAMEL, SNAKE, Block, as_raw, fields, read
from components.settings import FunctionArgs, LambdaAlbServiceArgs, LoadBalancerArgs


class Unknown:
    """Stands for a pulumi.Output: a value not known while the program runs."""


def unresolved(value: object) -> bool:
    return isinstance(value, Unknown)


def test_a_block_built_in_code_keeps_what_it_was_given_for_the_component_to_judge():
    function = FunctionArgs(memory_size=1, timeout="x")  # type: ignore[arg-type]  # judged later, as in code
    assert (function.memory_size, function.timeout) == (1, "x")
    assert function.model_fields_set == {"memory_size", "timeout"}
    assert as_raw(LambdaAlbServiceArgs(function=function), SNAKE) == {"function": {"memory_size": 1, "timeout": "x"}}


def test_reading_a_stack_file_validates_it_without_calling_the_code_constructor():
    # Pydantic skips a model's own __init__ while validating only when the __init__ is marked as
    # its base one (__pydantic_base_init__); otherwise it would call ours with the camelCase keys.
    assert Block.__init__.__pydantic_base_init__ is True  # type: ignore[attr-defined]
    assert LambdaAlbServiceArgs.__pydantic_custom_init__ is False
    _, problems = read(FunctionArgs, {"memorySize": 1}, CAMEL)
    assert problems == ["memorySize: 1 is outside 128-10240 MB"]


def test_an_unknown_keyword_in_code_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="'memroy_size'"):
        FunctionArgs(memroy_size=512)  # type: ignore[call-arg]


def test_a_value_not_known_yet_passes_every_kind_unjudged():
    later = Unknown()
    block, problems = read(
        LoadBalancerArgs,
        {"vpc_id": later, "subnet_ids": later, "idle_timeout": later},
        SNAKE,
        {"unresolved": unresolved, "style": SNAKE},
    )
    assert problems == []
    assert block is not None and block.vpc_id is later and block.idle_timeout is later


def test_the_location_of_an_error_is_the_key_as_the_caller_wrote_it():
    _, camel = read(LambdaAlbServiceArgs, {"loadBalancer": {"healthCheck": {"interval": 1}}}, CAMEL)
    _, snake = read(LambdaAlbServiceArgs, {"load_balancer": {"health_check": {"interval": 1}}}, SNAKE)
    assert camel == ["loadBalancer.healthCheck.interval: 1 is outside 5-300 seconds"]
    assert snake == ["load_balancer.health_check.interval: 1 is outside 5-300 seconds"]


def test_a_key_of_a_map_of_blocks_is_spelt_as_each_caller_writes_it():
    raw = {"functions": {"api": {"memorySize": 1}}, "routes": [{"priority": 1, "function": "api"}]}
    _, camel = read(LambdaAlbServiceArgs, raw, CAMEL)
    assert "functions.api.memorySize: 1 is outside 128-10240 MB" in camel
    raw = {"functions": {"api": {"memory_size": 1}}, "routes": [{"priority": 1, "function": "api"}]}
    _, snake = read(LambdaAlbServiceArgs, raw, SNAKE, {"style": SNAKE})
    assert "functions['api'].memory_size: 1 is outside 128-10240 MB" in snake


def test_a_refused_value_takes_its_default_so_the_rules_joining_fields_still_run():
    # memorySize is refused; the interval/timeout rule of the health check still speaks.
    _, problems = read(
        LambdaAlbServiceArgs,
        {"function": {"memorySize": 1}, "loadBalancer": {"healthCheck": {"interval": 20, "timeout": 30}}},
        CAMEL,
    )
    assert len(problems) == 2 and problems[0].startswith("function.memorySize")
    assert problems[1].startswith("loadBalancer.healthCheck.interval: 20 must be greater than")


def test_every_kind_belongs_to_one_field_and_knows_its_default():
    for cls in (FunctionArgs, LoadBalancerArgs):
        for setting in fields(cls, SNAKE):
            if setting.kind is not None:
                assert setting.kind.name == setting.name
                assert setting.kind.default == setting.default
    assert isinstance(next(s.kind for s in fields(FunctionArgs) if s.name == "memory_size"), Integer)
