"""The multi-language component package: the schema other languages get, and the component behind it."""

from __future__ import annotations

import json
import tomllib

import pulumi
import pytest
import yaml
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.schema import generate_schema

from components import provider
from components.generate import inputs_name
from components.kinds import Integer
from components.model import SNAKE, fields
from components.settings import FunctionArgs, LoadBalancerArgs, WafArgs
from tests.harness import ROOT, AwsMocks, RecordingMonitor, evaluate

PACKAGE_PROGRAM = ROOT / "tests" / "programs" / "package"
TOKEN = "lambda-alb:index:LambdaAlbService"


@pytest.fixture(scope="module")
def schema() -> dict:
    result = Analyzer("lambda-alb").analyze([provider.LambdaAlbService])
    spec = generate_schema("lambda-alb", "0.0.0", None, result["component_definitions"], result["type_definitions"], [])
    return json.loads(json.dumps(spec.to_json() if hasattr(spec, "to_json") else spec, default=str))


def type_of(schema: dict, cls: type) -> dict:
    return schema["types"][f"lambda-alb:index:{inputs_name(cls)}"]["properties"]


def test_every_input_and_output_is_in_the_schema_and_described(schema):
    resource = schema["resources"][TOKEN]
    for name, definition in [*resource["inputProperties"].items(), *resource["properties"].items()]:
        assert definition.get("description"), name
    for type_name, definition in schema["types"].items():
        for name, prop in definition["properties"].items():
            assert prop.get("description"), f"{type_name}.{name}"
    assert {"url", "albDnsName", "functionName", "functions", "webAclArn"} <= set(resource["properties"])


def test_every_declared_field_is_an_input_of_its_type_and_integers_stay_integers(schema):
    for cls in (FunctionArgs, LoadBalancerArgs, WafArgs):
        properties = type_of(schema, cls)
        for setting in fields(cls, SNAKE):
            camel = setting.name.split("_")[0] + "".join(p.title() for p in setting.name.split("_")[1:])
            assert camel in properties, f"{cls.__name__}.{setting.name}"
            if isinstance(setting.kind, Integer):
                assert properties[camel]["type"] == "integer", f"{cls.__name__}.{setting.name}"


@pytest.mark.parametrize(
    ("cls", "field"),
    [(LoadBalancerArgs, "vpcId"), (LoadBalancerArgs, "subnetIds"), (LoadBalancerArgs, "certificateArn"),
     (LoadBalancerArgs, "allowedCidrs"), (WafArgs, "webAclArn"), (FunctionArgs, "permissionsBoundary"),
     (FunctionArgs, "environment")],
)  # fmt: skip
def test_values_from_other_resources_are_accepted_as_outputs(schema, cls, field):
    prop = type_of(schema, cls)[field]
    assert not prop.get("plain"), field
    for nested in ("items", "additionalProperties"):
        assert not prop.get(nested, {}).get("plain"), f"{field}.{nested}"


def run(inputs: dict, monitor: RecordingMonitor | None = None):
    config = {"test:inputs": json.dumps(inputs)}
    return evaluate(config, "dev", monitor=monitor, program_dir=PACKAGE_PROGRAM)


def test_the_package_component_builds_the_service_from_plain_inputs():
    health = {"priority": 10, "path_patterns": ["/health"], "fixed_response": {"status_code": 200}}
    graph = run({"function": {"memory_size": 512}, "load_balancer": {"deletion_protection": False}, "routes": [health]})
    assert graph.one("aws:lambda/function:Function").inputs["memorySize"] == 512
    assert graph.one("aws:lb/listenerRule:ListenerRule").inputs["priority"] == 10
    outer = graph.one(TOKEN)
    inner = graph.one("lambda-alb:components:LambdaAlbService")
    assert inner.parent == outer.urn
    assert graph.outputs["functions"]["function"]["functionName"] == "pkg"


def test_bad_inputs_from_another_language_are_one_error_and_nothing_is_registered():
    monitor = RecordingMonitor(AwsMocks())
    with pytest.raises(pulumi.RunError) as info:
        run({"function": {"memory_size": 1, "runtim": "python3.13"}}, monitor)
    message = str(info.value)
    assert "function.memory_size: 1 is outside 128-10240 MB" in message
    assert "function.runtim: unknown key (did you mean 'runtime'?)" in message
    assert monitor.program_resources() == []


def test_the_package_is_declared_for_the_pulumi_cli_with_the_projects_pins():
    plugin = yaml.safe_load((ROOT / "components" / "PulumiPlugin.yaml").read_text())
    assert plugin["runtime"]["name"] == "python"
    pins = [line for line in (ROOT / "components" / "requirements.txt").read_text().splitlines() if "==" in line]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert pins and set(pins) <= set(project)


SCALARS: dict[str, type | tuple[type, ...]] = {"string": str, "integer": int, "boolean": bool, "number": (int, float)}


def _check_against(schema: dict, value: object, definition: dict, where: str) -> list[str]:
    """What a YAML program's value would get wrong against the package schema (types and keys)."""
    if definition.get("$ref", "").startswith("#/types/"):
        definition = schema["types"][definition["$ref"].removeprefix("#/types/")]
    elif "$ref" in definition:
        return []  # a Pulumi built-in type (an archive, an asset)
    if isinstance(value, dict) and any(k.startswith("fn::") for k in value):
        return []  # a YAML built-in (fn::fileArchive...): its own type
    kind = definition.get("type")
    problems = []
    if kind == "object" and "properties" in definition and isinstance(value, dict):
        for key, item in value.items():
            if key not in definition["properties"]:
                problems.append(f"{where}.{key}: not in the schema")
            else:
                problems += _check_against(schema, item, definition["properties"][key], f"{where}.{key}")
    elif kind == "object" and isinstance(value, dict):
        for key, item in value.items():
            problems += _check_against(schema, item, definition.get("additionalProperties", {}), f"{where}.{key}")
    elif kind == "array" and isinstance(value, list):
        for i, item in enumerate(value):
            problems += _check_against(schema, item, definition.get("items", {}), f"{where}[{i}]")
    elif kind in SCALARS and not isinstance(value, SCALARS[kind]):
        problems.append(f"{where}: {value!r} is not {kind}")
    return problems


def test_the_yaml_example_uses_the_package_as_its_schema_says(schema):
    program = yaml.safe_load((ROOT / "examples" / "yaml" / "Pulumi.yaml").read_text())
    (resource,) = program["resources"].values()
    assert resource["type"] == TOKEN
    definition = {"type": "object", "properties": schema["resources"][TOKEN]["inputProperties"]}
    assert _check_against(schema, resource["properties"], definition, "properties") == []
    outputs = schema["resources"][TOKEN]["properties"]
    for expression in program["outputs"].values():
        assert expression.removeprefix("${service.").removesuffix("}") in outputs
