"""What is generated from the settings declarations stays fresh, and the schema agrees with the reader."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from components import generate
from components.kinds import Custom, Flag, Integer, OneOf, Texts
from components.model import fields
from components.settings import NAMESPACE, LambdaAlbServiceArgs, SettingsError, parse_settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / generate.SCHEMA_PATH
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml")) + sorted((ROOT / "tests" / "localalb_project").glob("Pulumi.*.yaml"))


def test_every_generated_file_is_up_to_date():
    stale = generate.stale(ROOT)
    assert stale == [], f"{', '.join(stale)} differ from the declarations: run python3 dev.py generate"


def test_every_stack_file_points_editors_at_the_schema():
    for stack_file in sorted(ROOT.glob("Pulumi.*.yaml")):
        assert stack_file.read_text().splitlines()[0] == generate.SCHEMA_COMMENT, stack_file.name


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--schemafile", str(SCHEMA), *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_every_stack_file_validates_against_the_schema():
    result = check_jsonschema(*STACK_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_misspelled_key_and_a_bad_value_are_schema_errors(tmp_path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(
        "config:\n  aws:region: us-east-1\n  lambda-alb:function:\n    memroySize: 512\n    runtime: python3.9\n"
        "  lambda-alb:loadBalancer:\n    idleTimeout: 0\n  lambda-alb:routez: []\n"
    )
    result = check_jsonschema(bad)
    assert result.returncode == 1
    assert "'memroySize' was unexpected" in result.stdout
    assert "'python3.9' is not one of" in result.stdout
    assert "0 is less than the minimum of 1" in result.stdout
    assert "lambda-alb:routez" in result.stdout


@functools.cache
def schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))


def bad_values(setting) -> list:
    """Values the declaration refuses, derived from its kind and range."""
    kind = setting.kind
    if isinstance(kind, Integer):
        out = [kind.lo - 1, "7"]
        return out + ([kind.hi + 1] if kind.hi is not None else [])
    if isinstance(kind, OneOf):
        return ["not-a-choice"]
    if isinstance(kind, Flag):
        return ["yes"]
    if isinstance(kind, Texts):
        return ["not-a-list"]
    return []


def declared_leaves():
    for top in fields(LambdaAlbServiceArgs):
        if top.block is None:
            continue
        for setting in fields(top.block):
            yield top.key(), setting.key(), setting


@pytest.mark.parametrize(("block", "key", "setting"), list(declared_leaves()), ids=lambda v: str(v)[:30])
def test_the_schema_and_the_reader_refuse_the_same_bad_values(block, key, setting):
    validator = schema_validator()
    for bad in bad_values(setting):
        document = {"config": {f"{NAMESPACE}:{block}": {key: bad}}}
        assert list(validator.iter_errors(document)), f"the schema accepts {block}.{key}: {bad!r}"
        with pytest.raises(SettingsError) as info:
            parse_settings({block: {key: bad}})
        assert any(p.startswith(f"{block}.{key}") for p in info.value.problems), info.value.problems
    default = setting.default
    if default is not None and setting.block is None and not isinstance(setting.kind, Custom):
        value = list(default) if isinstance(default, tuple) else default
        errors = list(validator.iter_errors({"config": {f"{NAMESPACE}:{block}": {key: value}}}))
        assert not errors, f"the schema refuses the default of {block}.{key}: {errors[0].message}"


def _defaults(schema: dict, defs: dict, path: tuple[str, ...] = ()):
    """Every (path, property schema) of the schema that declares a default; a path through a list's
    items has "[]" in it."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    if "default" in schema:
        yield path, schema
    for key, child in (schema.get("properties") or {}).items():
        yield from _defaults(child, defs, (*path, key))
    if isinstance(schema.get("items"), dict):
        yield from _defaults(schema["items"], defs, (*path, "[]"))
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _defaults(schema["additionalProperties"], defs, (*path, "<key>"))


def test_every_default_the_schema_offers_passes_its_own_schema():
    """An editor inserts the schema's defaults as they are, so each must be a value the schema (and
    so the reader, which refuses the same values: see above) accepts where it is offered."""
    schema = json.loads(SCHEMA.read_text())
    found = list(_defaults({"properties": schema["properties"]["config"]["properties"]}, schema["$defs"]))
    assert len(found) > 40, "the walk found too few defaults to mean anything"
    for path, prop in found:
        errors = [e.message for e in jsonschema.Draft202012Validator(prop).iter_errors(prop["default"])]
        assert not errors, (path, prop["default"], errors)


def test_route_actions_in_the_schema_refuse_and_accept_what_the_reader_does():
    route = {"priority": 1, "pathPatterns": ["/x"]}
    cases: list[tuple[dict[str, Any], bool]] = [
        ({"fixedResponse": {"statusCode": 302}}, False),  # ALB's fixed responses are 2XX, 4XX or 5XX
        ({"fixedResponse": {"statusCode": 404, "body": ""}}, True),
        ({"redirect": {"statusCode": "HTTP_301", "port": 8443}}, True),
        ({"redirect": {"statusCode": "HTTP_301", "port": "99999x"}}, False),
    ]
    for action, accepted in cases:
        config = {"routes": [{**route, **action}]}
        schema_ok = not list(schema_validator().iter_errors({"config": {f"{NAMESPACE}:routes": config["routes"]}}))
        try:
            parse_settings(config)
            reader_ok = True
        except SettingsError:
            reader_ok = False
        assert (schema_ok, reader_ok) == (accepted, accepted), action
