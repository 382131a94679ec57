"""Before `pulumi up`: stop when an interrupted deploy left pending operations in the state, with the
exact commands that resolve them (standard library only).

``pulumi stack export`` writes the checkpoint; its ``deployment.pending_operations`` lists each
operation the engine started and never saw finish (a job cut off by its timeout, a cancelled run):
``{"resource": {"urn", "type", "id"...}, "type": "creating" | "updating" | "deleting" | ...}``. A
pending create is the dangerous one: AWS may hold a resource the state does not know, and a blind
retry then collides with its name. So the job stops and says what to run.

Usage: ``pulumi stack export --stack S | python3 .github/scripts/pending.py S``; exit 0 when there is
nothing pending, 1 with the commands otherwise.
"""

from __future__ import annotations

import json
import sys
from typing import Any

# The program's own dynamic resources (components/pruning.py, components/release.py).
DYNAMIC = "pulumi-python:dynamic:Resource"


def pending_operations(checkpoint: dict[str, Any]) -> list[dict[str, Any]]:
    return list((checkpoint.get("deployment") or {}).get("pending_operations") or [])


def commands(stack: str, operations: list[dict[str, Any]]) -> list[str]:
    """What to run, by hand and with the deploy role's access, to resolve ``operations``."""
    lines, pending_creates = [], []
    for operation in operations:
        resource, kind = operation.get("resource") or {}, operation.get("type", "?")
        urn = resource.get("urn", "?")
        inputs = resource.get("inputs") or {}
        physical = inputs.get("name") or inputs.get("bucket") or urn.rsplit("::", 1)[-1]
        lines.append(f"- {kind} {resource.get('type', '?')} {urn.rsplit('::', 1)[-1]}")
        if resource.get("type") == DYNAMIC:
            # Our own code (the version pruning, a release): nothing of it to adopt in AWS. A
            # release cut off may still be running in CodeDeploy.
            if kind == "creating":
                pending_creates.append(urn)
            if "deployment_group" in inputs:
                lines.append(
                    "  A release: CodeDeploy may still be shifting live. See it, then wait for it or stop it:\n"
                    f"    aws deploy list-deployments --application-name {inputs.get('application', '?')} "
                    f"--deployment-group-name {inputs['deployment_group']} --include-only-statuses InProgress\n"
                    "    aws deploy stop-deployment --deployment-id <its id> --auto-rollback-enabled"
                )
            continue
        if kind == "creating":
            pending_creates.append(urn)
            lines.append(
                f"  AWS may have created it without the state knowing. Look for it (named {physical!r}, or "
                "starting so where AWS adds a suffix). If it exists, adopt it under the same URN with its ID:\n"
                f"    pulumi refresh --stack {stack} --yes --import-pending-creates '{urn}' <its id>\n"
                "  or delete it in AWS."
            )
    lines += [
        "",
        "Then clear what is left pending and read the stack's resources again:",
        f"  pulumi refresh --stack {stack} --yes" + (" --clear-pending-creates" if pending_creates else ""),
        'and run the deploy again. A lock left by the interrupted run ("the stack is currently locked") is '
        f"released with `pulumi cancel --stack {stack}` once no deploy of it runs.",
    ]
    return lines


def main(argv: list[str], stdin: Any = sys.stdin) -> int:
    stack = argv[0] if argv else "<stack>"
    operations = pending_operations(json.load(stdin))
    if not operations:
        print(f"{stack}: no pending operations")
        return 0
    print(f"{stack}: an interrupted deploy left {len(operations)} pending operation(s); not deploying over them:")
    print("\n".join(commands(stack, operations)))
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
