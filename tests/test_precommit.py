"""The pre-commit hooks (.pre-commit-config.yaml) run dev.py commands that exist, with the project's
own tools: a renamed or removed command fails here, not in a developer's next commit."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

import dev

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".pre-commit-config.yaml"


def hooks() -> list[dict[str, Any]]:
    return [hook for repo in yaml.safe_load(CONFIG.read_text())["repos"] for hook in repo["hooks"]]


def test_every_hook_is_local_and_runs_a_command_dev_py_accepts() -> None:
    repos = yaml.safe_load(CONFIG.read_text())["repos"]
    assert [repo["repo"] for repo in repos] == ["local"]  # nothing fetched: the tools come from .venv
    for hook in hooks():
        python, script, command, *arguments = shlex.split(hook["entry"])
        assert (python, script) == ("python3", "dev.py"), hook["id"]
        assert command in dev.COMMANDS, hook["id"]
        assert not arguments or command in dev.TAKES_ARGUMENTS, hook["id"]
        # pre-commit would append the staged files' names, which these commands refuse.
        assert hook["language"] == "system" and hook["pass_filenames"] is False, hook["id"]


def test_the_hooks_lint_type_check_and_check_the_generated_files() -> None:
    commands = {shlex.split(hook["entry"])[2] for hook in hooks()}
    assert commands == {"lint", "typecheck", "check-generated"}


def test_each_hook_runs_when_a_file_it_checks_is_staged() -> None:
    runs_on = {shlex.split(hook["entry"])[2]: re.compile(hook["files"]) for hook in hooks() if "files" in hook}
    for path in ("dev.py", "tests/test_policy.py", "pyproject.toml", "tests/mypy.toml"):
        assert runs_on["typecheck"].search(path), path
    generated_inputs_and_outputs = (
        "components/settings.py",
        "components/provider.py",
        "schema/stack.schema.json",
        "docs/configuration.md",
        "Pulumi.yaml",
        "Pulumi.dev.yaml",
    )
    for path in generated_inputs_and_outputs:
        assert runs_on["check-generated"].search(path), path
    assert next(hook for hook in hooks() if shlex.split(hook["entry"])[2] == "lint")["types"] == ["python"]


def test_check_generated_runs_a_test_the_suite_has() -> None:
    file, _, name = dev.GENERATED_TEST.partition("::")
    tree = ast.parse((ROOT / file).read_text())
    assert name in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_the_development_guide_says_how_to_install_the_hooks() -> None:
    guide = (ROOT / "docs" / "development.md").read_text()
    assert ".pre-commit-config.yaml" in guide and "pre-commit install" in guide
