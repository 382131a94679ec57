"""The daily sweep of review stacks (standard library only): which `pr<number>` stacks to destroy.

A review stack goes when its pull request is no longer open (closed or merged, and the review
workflow's own destroy did not run or failed), or when it is older than the allowed number of days.
``pulumi stack ls --json`` lists the stacks: ``[{"name", "lastUpdate", "updateInProgress", ...}]``;
``gh pr view N --json state`` tells a pull request's state (OPEN, CLOSED, MERGED).

``sweep.py plan STACKS_JSON STATES_JSON MAX_AGE_DAYS``: prints, one per line, ``<stack> <reason>`` for
each stack to destroy (STATES_JSON maps a pull request's number to its state).
``sweep.py numbers STACKS_JSON``: the pull-request numbers of the review stacks, one per line.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REVIEW_STACK = re.compile(r"^(?:[\w.-]+/)?pr([0-9]{1,7})$")  # <org>/pr12 on Pulumi Cloud, pr12 elsewhere


def review_stacks(stacks: list[dict[str, Any]]) -> dict[str, int]:
    """Each review stack's name and its pull request's number."""
    found = {}
    for stack in stacks:
        match = REVIEW_STACK.match(str(stack.get("name", "")))
        if match:
            found[stack["name"]] = int(match.group(1))
    return found


def _updated(stack: dict[str, Any]) -> datetime | None:
    text = stack.get("lastUpdate")
    if not text:
        return None
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def plan(
    stacks: list[dict[str, Any]], states: dict[str, str], max_age_days: int, now: datetime | None = None
) -> list[tuple[str, str]]:
    """The review stacks to destroy, each with why; a stack being updated is left for the next sweep."""
    now = now or datetime.now(UTC)
    by_name = {s["name"]: s for s in stacks}
    doomed = []
    for name, number in sorted(review_stacks(stacks).items()):
        stack = by_name[name]
        if stack.get("updateInProgress"):
            continue
        state = states.get(str(number), "UNKNOWN")
        updated = _updated(stack)
        if state != "OPEN":
            doomed.append((name, f"pull request #{number} is {state.lower()}"))
        elif updated is not None and now - updated > timedelta(days=max_age_days):
            doomed.append((name, f"not deployed for more than {max_age_days} days"))
    return doomed


def main(argv: list[str]) -> int:
    if argv[:1] == ["numbers"] and len(argv) == 2:
        for number in sorted(set(review_stacks(json.loads(Path(argv[1]).read_text())).values())):
            print(number)
        return 0
    if argv[:1] == ["plan"] and len(argv) == 4:
        stacks, states = json.loads(Path(argv[1]).read_text()), json.loads(Path(argv[2]).read_text())
        for name, reason in plan(stacks, states, int(argv[3])):
            print(f"{name} {reason}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
