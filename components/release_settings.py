"""How a function's new versions are released: ``function.deployment`` (CodeDeploy) and its checks."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from .kinds import Integer, OneOf, Text, Texts
from .limits import FUNCTION_KEY_RE, health_path_problem, must_match
from .model import Block, Report

# CodeDeploy's predefined Lambda configurations, in AWS SAM's spelling (DeploymentPreference.Type);
# CodeDeploy names each CodeDeployDefault.Lambda<type>.
RELEASE_TYPES = (
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
    "AllAtOnce",
)
# CodeDeploy watches at most 10 alarms per deployment group.
MAX_RELEASE_ALARMS = 10
# The function's own alarms (components/monitoring.py's keys) that roll its release back: the errors
# of the newest version alone, a minute at a time. Not the function-wide or load-balancer-wide ones:
# CodeDeploy stops a release while any watched alarm fires, so an alarm the old version (or another
# function) set off would block the release of the fix; and those evaluate over 5-15 minutes, longer
# than a short canary lasts. A malformed answer the pre-traffic check sees before any traffic.
RELEASE_ALARM_KEYS = ("canary-errors",)
ALARM_NAME_RE = re.compile(r"^[^\x00-\x1f]{1,255}$")
# How long a release may take beyond its traffic shift: the checks (each a Lambda invocation of at
# most CHECK_TIMEOUT_S), CodeDeploy's own steps, and polling.
RELEASE_MARGIN_MINUTES = 10
CHECK_TIMEOUT_S = 60


def deployment_config(release_type: str) -> str:
    """The CodeDeploy deployment configuration of a SAM-style type."""
    return f"CodeDeployDefault.Lambda{release_type}"


def shift_minutes(release_type: str) -> int:
    """How long CodeDeploy takes to move all traffic: a canary waits its minutes before the rest; a
    linear shift moves 10 percent each interval (ten steps)."""
    canary = re.fullmatch(r"Canary10Percent(\d+)Minutes", release_type)
    if canary:
        return int(canary.group(1))
    linear = re.fullmatch(r"Linear10PercentEvery(\d+)Minutes?", release_type)
    if linear:
        return 10 * int(linear.group(1))
    return 0


def release_minutes(release_type: str) -> int:
    """The longest `pulumi up` waits for one function's release."""
    return shift_minutes(release_type) + RELEASE_MARGIN_MINUTES


class TrafficCheckArgs(Block):
    """A check CodeDeploy runs on the new version, before or after traffic moves to it: the
    component's check function invokes it with a load-balancer GET of ``path`` and expects
    ``expectedStatus``; any other answer rolls the release back. Or a function of your own
    (``function``, a key of ``functions``) runs as the check."""

    path: Annotated[
        str,
        Text(check=health_path_problem, allowed_text="a path starting with / (at most 1024 characters)"),
    ] = Field(default="/", description="The path of the GET the check sends.")

    expected_status: Annotated[int, Integer(lo=100, hi=599)] = Field(
        default=200, description="The status the function must answer."
    )

    function: Annotated[
        str | None,
        Text(
            check=must_match(FUNCTION_KEY_RE, "a key of functions (lower-case letters, digits, -)"),
            pattern=FUNCTION_KEY_RE.pattern,
            allowed_text="a key of `functions` that no route forwards to",
        ),
    ] = Field(
        default=None,
        description="A function of yours as the check, instead of the built-in one: CodeDeploy invokes it with the "
        "deployment's IDs and it reports its verdict (PutLifecycleEventHookExecutionStatus), which its role may.",
    )

    def cross_check(self, report: Report, given: frozenset[str]) -> None:
        """A check of your own makes the built-in check's keys meaningless."""
        if self.function is None:
            return
        built_in = [report.key(k) for k in ("path", "expected_status") if report.key(k) in given]
        if built_in:
            report.add(
                f"{report.at('function')}: given with {', '.join(built_in)}, which only the built-in check uses; "
                f"your function decides what it checks"
            )


class DeploymentArgs(Block):
    """Releases shifted by CodeDeploy: ``function.deployment``. CodeDeploy moves `live` to each new
    version in steps, watches the alarms and rolls back on its own; `pulumi up` waits for the
    outcome and fails with the reason when the release is rolled back."""

    type: Annotated[str | None, OneOf(choices=RELEASE_TYPES)] = Field(
        default=None,
        description="How traffic moves: a canary (10 percent, the rest after N minutes), linear (10 percent every N "
        "minutes) or all at once. Required.",
    )

    alarms: Annotated[
        tuple[str, ...],
        Texts(
            example="orders-api-latency",
            check=lambda v: None if ALARM_NAME_RE.match(v) else f"{v!r} is not a CloudWatch alarm name",
            allowed_text=f"CloudWatch alarm names; with the function's own, at most {MAX_RELEASE_ALARMS}",
        ),
    ] = Field(
        default=(),
        description="More alarms that roll a release back (while one fires, no release starts); the new version's "
        "errors alarm is always watched.",
    )

    def checks(self) -> dict[str, TrafficCheckArgs]:
        """The checks given, by phase: ``pre`` (before traffic), ``post`` (after)."""
        found = {"pre": self.pre_traffic, "post": self.post_traffic}
        return {phase: check for phase, check in found.items() if check is not None}

    pre_traffic: TrafficCheckArgs | None = Field(
        default=None,
        description="A check of the new version before it gets any traffic.",
        json_schema_extra={"allowed": "see `deployment.preTraffic.*`"},
    )

    post_traffic: TrafficCheckArgs | None = Field(
        default=None,
        description="A check through live once all traffic has moved.",
        json_schema_extra={"allowed": "see `deployment.postTraffic.*`"},
    )

    def cross_check(self, report: Report, given: frozenset[str]) -> None:
        """The type is required."""
        if self.type is None and report.key("type") not in report.bad:
            report.add(f"{report.at('type')}: missing; one of {', '.join(RELEASE_TYPES)}")
