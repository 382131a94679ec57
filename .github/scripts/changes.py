"""What a change replaces or deletes, in words, from ``pulumi preview --json`` (standard library only).

The preview's JSON is the engine's ``previewDigest`` (pulumi/pkg/display/json.go): ``steps`` is a
list of ``{"op", "urn", "oldState", "newState", "replaceReasons", "diffReasons", ...}``, where
``oldState``/``newState`` are checkpoint resources (``type``, ``inputs``, ``outputs``, ``id``,
``retainOnDelete``...). A replacement shows as the steps ``create-replacement``, ``replace`` and
``delete-replaced`` of one URN; a deletion as ``delete``. Everything else (creates, in-place updates)
is what a reviewer expects and is left to the full diff.

``python3 changes.py STACK preview.json`` prints a Markdown section: one line per replaced or
deleted resource, what it means for clients or stored data, and the inputs that force it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def marker(stack: str) -> str:
    """The first line of a stack's comment, by which the next push finds and updates it."""
    return f"<!-- lambda-alb-changes:{stack} -->"


REPLACING = {"replace"}
DELETING = {"delete", "delete-replaced"}
# An existing resource taken into the stack (Pulumi's import option): a log group kept in AWS when
# its resource left the stack, adopted when it comes back (components/log_groups.py).
ADOPTING = {"import"}

# What replacing or deleting a resource of each type means to someone outside the stack.
REPLACED = {
    "aws:lb/loadBalancer:LoadBalancer": "its DNS name changes: records pointing at albDnsName must follow "
    "(an alias record from loadBalancer.domainName does); clients see new addresses",
    "aws:lb/listener:Listener": "the port stops answering while the new listener is created",
    "aws:lambda/function:Function": "a new function: version numbers restart and `liveVersion` pins break",
    "aws:lb/targetGroup:TargetGroup": "a new target group: its health and metrics history starts over",
    "aws:ec2/securityGroup:SecurityGroup": "a new security group: rules in other groups that name it must follow",
    "aws:acm/certificate:Certificate": "a new certificate, validated again through DNS",
    "aws:wafv2/webAcl:WebAcl": "a new web ACL: its metrics and sampled requests start over",
}
HOLDS_DATA = {
    "aws:cloudwatch/logGroup:LogGroup": "its log events",
    "aws:s3/bucket:Bucket": "the access-log objects in it",
}


def _name(step: dict[str, Any]) -> str:
    state = step.get("oldState") or step.get("newState") or {}
    inputs = state.get("inputs") or {}
    physical = inputs.get("name") or inputs.get("bucket") or state.get("id")
    logical = str(step.get("urn", "?")).rsplit("::", 1)[-1]
    return f"{logical} ({physical})" if physical and physical != logical else logical


def _type(step: dict[str, Any]) -> str:
    state = step.get("oldState") or step.get("newState") or {}
    return str(state.get("type") or str(step.get("urn", "")).rsplit("::", 2)[-2].split("$")[-1])


def _data_note(step: dict[str, Any], typ: str) -> str:
    old = step.get("oldState") or {}
    if typ not in HOLDS_DATA:
        return ""
    if old.get("retainOnDelete"):
        return f"; kept in AWS with {HOLDS_DATA[typ]} (retained)"
    return f"; **deletes {HOLDS_DATA[typ]}**"


def lines(digest: dict[str, Any]) -> list[str]:
    """One Markdown line per replaced or deleted resource, in the preview's order."""
    found, seen = [], set()
    for step in digest.get("steps") or []:
        op, urn = step.get("op"), step.get("urn")
        if (urn, op) in seen or op not in REPLACING | DELETING | ADOPTING:
            continue
        seen.add((urn, op))
        typ = _type(step)
        short = typ.split(":")[-1]
        if op in REPLACING:
            reasons = ", ".join(f"`{r}`" for r in step.get("replaceReasons") or []) or "a replaced dependency"
            meaning = REPLACED.get(typ, "a new resource of the same kind")
            found.append(
                f"- **replaces** {short} {_name(step)} (because of {reasons}): {meaning}{_data_note(step, typ)}"
            )
        elif op == "delete":
            found.append(f"- **deletes** {short} {_name(step)}{_data_note(step, typ)}")
        elif op in ADOPTING:
            held = f", with {HOLDS_DATA[typ]}" if typ in HOLDS_DATA else ""
            found.append(f"- **adopts** {short} {_name(step)}: it exists in AWS (kept from before){held}")
    return found


def render(stack: str, digest: dict[str, Any]) -> str:
    found = lines(digest)
    head = f"{marker(stack)}\n### `{stack}`: what this change replaces, deletes or adopts\n\n"
    if not found:
        return head + "Nothing: every change is a create or an update in place.\n"
    return head + "\n".join(found) + "\n\nThe full diff is in the preview's own comment (and the job's log).\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: changes.py STACK PREVIEW_JSON", file=sys.stderr)
        return 2
    stack, path = argv
    print(render(stack, json.loads(Path(path).read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
