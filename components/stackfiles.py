"""Read a stack's configuration from ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` without the CLI.

This is how the local ALB and the tests see the same values ``pulumi up`` would: the stack file's
keys win over the project's declared defaults (no deep merge, as the Pulumi CLI does). Plain
Python; the Pulumi program itself reads its configuration through ``pulumi.Config``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml


class StackFileError(Exception):
    """A project or stack file is missing or not valid YAML."""


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise StackFileError(f"{path}: no such file") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise StackFileError(f"{path}: expected a mapping at the top level")
    return data


def project_name(project_dir: Path) -> str:
    """The ``name:`` of the project in ``Pulumi.yaml``."""
    return str(_read_yaml(project_dir / "Pulumi.yaml").get("name", ""))


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _without_secrets(value: Any, path: str, skipped: list[str]) -> Any:
    """``value`` with every encrypted leaf (``{secure: ...}``) left out; their paths go to ``skipped``."""
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if _is_secret(item):
                skipped.append(f"{path}.{key}")
            else:
                kept[key] = _without_secrets(item, f"{path}.{key}", skipped)
        return kept
    if isinstance(value, list):
        return [_without_secrets(item, f"{path}[{i}]", skipped) for i, item in enumerate(value) if not _is_secret(item)]
    return value


# Review stacks: pr<number>, one per pull request, at most 9 characters like every stack name.
REVIEW_STACK_RE = re.compile(r"^pr[0-9]{1,7}$")
REVIEW_TEMPLATE = "Pulumi.review.yaml"


def stack_file(project_dir: Path, stack: str) -> Path:
    """``Pulumi.<stack>.yaml``; a review stack without a file of its own reads the committed template
    (the review workflow copies it to the stack's own file before `pulumi up`)."""
    own = project_dir / f"Pulumi.{stack}.yaml"
    template = project_dir / REVIEW_TEMPLATE
    if not own.exists() and REVIEW_STACK_RE.match(stack) and template.exists():
        return template
    return own


def stack_config(project_dir: Path, stack: str, skipped: list[str] | None = None) -> dict[str, Any]:
    """Every configuration value of ``stack``, keyed by full name (``lambda-alb:function``).

    Values are decoded YAML (objects stay objects). Secure (encrypted) values, at any depth, are
    left out, their key paths appended to ``skipped``: only the CLI can decrypt them.
    """
    skipped = skipped if skipped is not None else []
    project = _read_yaml(project_dir / "Pulumi.yaml")
    name = project.get("name", "")
    merged: dict[str, Any] = {}
    for key, declaration in (project.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(declaration, dict) and ("default" in declaration or "value" in declaration):
            merged[full] = declaration.get("default", declaration.get("value"))
        elif not isinstance(declaration, dict):
            merged[full] = declaration
    stack_values = _read_yaml(stack_file(project_dir, stack)).get("config") or {}
    for key, value in stack_values.items():
        full = key if ":" in key else f"{name}:{key}"
        if _is_secret(value):
            skipped.append(full)
            continue
        merged[full] = _without_secrets(value, full, skipped)
    return merged


def as_runtime_config(values: dict[str, Any]) -> dict[str, str]:
    """Encode values the way the CLI hands them to a program: strings, objects as JSON."""
    encoded = {}
    for key, value in values.items():
        if isinstance(value, str):
            encoded[key] = value
        else:
            encoded[key] = json.dumps(value)
    return encoded
