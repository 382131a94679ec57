"""A review stack's file from the template, keeping what Pulumi wrote into it (standard library and
PyYAML, which the runner's Python lacks: run with the project's .venv).

A review stack is created on a CI runner, so its `Pulumi.pr<number>.yaml` (where the passphrase
secrets provider keeps its `encryptionsalt`) is never committed. Each later run recovers the file
with `pulumi config refresh --force` (from the last deployment), then this script puts the
template's `config` back in it, keeping Pulumi's own keys (secretsprovider, encryptedkey,
encryptionsalt): the stack follows the template as it is on the pull request's branch.

Usage: ``stackfile.py TEMPLATE STACK_FILE`` (a missing STACK_FILE is the template as it is).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

PULUMIS_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt")


def merged(template: dict, current: dict) -> dict:
    """The template's content, with the provider keys the current stack file holds."""
    return {**template, **{key: current[key] for key in PULUMIS_KEYS if key in current}}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    template_path, stack_path = Path(argv[0]), Path(argv[1])
    template = yaml.safe_load(template_path.read_text()) or {}
    current = yaml.safe_load(stack_path.read_text()) or {} if stack_path.exists() else {}
    stack_path.write_text(yaml.safe_dump(merged(template, current), sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
