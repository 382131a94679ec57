"""Log groups that outlive the stack's resources, and come back without a collision.

A function's log group and the WAF's are retained when their resource leaves the stack (turning the
WAF off, moving a function into ``functions``), so their events are not lost. The group keeps its
name in AWS: bringing the resource back (the WAF on again, the function back) would ask AWS to
create a group that exists, and CreateLogGroup fails. So before registering such a group the
program looks it up, and a group that already exists is adopted (Pulumi's ``import`` option): the
engine reads it into the state instead of creating it, with its events. For a group the state
already manages, the option changes nothing (the engine treats an import of the ID it already holds
as the resource itself).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def existing(name: str, invoke: pulumi.InvokeOptions) -> bool:
    """Whether a log group of exactly this name exists (the lookup matches by prefix)."""
    found = aws.cloudwatch.get_log_groups(log_group_name_prefix=name, opts=invoke)
    return name in (found.log_group_names or [])


def kept_log_group(
    logical: str,
    name: str,
    retention_days: int,
    tags: dict[str, str],
    retain: bool,
    invoke: pulumi.InvokeOptions,
    parent: pulumi.Resource,
) -> aws.cloudwatch.LogGroup:
    """The log group ``name``: retained on delete when ``retain``, adopted when it already exists.

    An adopted group then gets the stack file's retention and tags, as in any update (Pulumi 3.174
    and later: the import reads the group, then the update applies the program's inputs); a shorter
    retention drops the older events, which docs/operations.md says."""
    return aws.cloudwatch.LogGroup(
        logical,
        name=name,
        retention_in_days=retention_days,
        tags=tags,
        opts=pulumi.ResourceOptions(
            parent=parent, retain_on_delete=retain, import_=name if existing(name, invoke) else None
        ),
    )
