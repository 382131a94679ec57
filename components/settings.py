"""The settings model: every setting declared once, with its kind, default and meaning.

Each block of the stack configuration is a frozen pydantic model (``components.model.Block``) whose
fields carry their kind (how a value is read, its JSON Schema, what it allows); the blocks live by
subject: ``function_settings`` (``function``), ``balancer_settings`` (``loadBalancer``),
``route_settings`` (``routes``) and here (``accessLogs``, ``monitoring``, ``waf`` and the whole
configuration, ``LambdaAlbServiceArgs``). The reader, the messages, the JSON Schema of stack files,
the ``Pulumi.yaml`` declarations, the configuration reference and the component package's inputs all
come from these declarations (``python3 dev.py generate``); rules that join several fields live in
each block's ``cross_check``.

Plain Python (no ``pulumi`` import) so the Pulumi program, the local ALB and the tests share one
definition. ``parse_settings`` returns a frozen ``LambdaAlbServiceArgs`` or raises ``SettingsError``
listing every problem at once, each naming the key path, the bad value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, model_validator

from . import readers
from . import rules as r
from .balancer_settings import HealthCheckArgs, LoadBalancerArgs
from .function_settings import FunctionArgs, FunctionVpcArgs, InputStr
from .kinds import Custom, Flag, Integer, Number, OneOf, Text, did_you_mean
from .limits import (
    DEFAULT_LOG_EXPIRATION_DAYS,
    DEFAULT_LOG_PREFIX,
    DEFAULT_WAF_RATE_LIMIT,
    EMAIL_RE,
    FUNCTION_KEY_PATTERN,
    HOSTING_PROVIDER_RULE,
    KMS_KEY_ALLOWED,
    KMS_KEY_ARN_RE,
    MAX_ROUTES,
    MAX_TAG_KEY,
    MAX_TAG_VALUE,
    MAX_TAGS,
    NAMESPACE,
    OWN_TAG_KEYS,
    PREFIX_RE,
    WAF_RATE_LIMIT_RANGE,
    WEB_ACL_ARN_RE,
    must_match,
)
from .model import CAMEL, Block, Report, read
from .naming import MAX_NAME_LENGTH
from .release_settings import MAX_RELEASE_ALARMS, RELEASE_ALARM_KEYS, DeploymentArgs, TrafficCheckArgs
from .route_settings import FixedResponseArgs, RedirectArgs, RouteArgs, read_routes

__all__ = [
    "AccessLogsArgs",
    "DeploymentArgs",
    "FixedResponseArgs",
    "FunctionArgs",
    "FunctionVpcArgs",
    "HealthCheckArgs",
    "LambdaAlbServiceArgs",
    "LoadBalancerArgs",
    "MonitoringArgs",
    "RedirectArgs",
    "RouteArgs",
    "TrafficCheckArgs",
    "SettingsError",
    "WafArgs",
    "parse_settings",
    "read_settings",
]


class SettingsError(Exception):
    """Every problem found in the configuration, one line each."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class AccessLogsArgs(Block):
    """Access logging to a dedicated S3 bucket: ``accessLogs``."""

    enabled: Annotated[bool, Flag()] = Field(
        default=True, description="False creates no bucket (and fails the ELB.5 control)."
    )

    prefix: Annotated[
        str,
        Custom(
            reader=readers.prefix,
            json_schema={"type": "string", "pattern": PREFIX_RE.pattern},
            allowed_text="S3-safe characters, no leading or trailing `/`, never containing `AWSLogs`",
        ),
    ] = Field(default=DEFAULT_LOG_PREFIX, description="Where in the bucket the logs go.")

    expiration_days: Annotated[int, Integer(lo=1, hi=3650, unit=" days")] = Field(
        default=DEFAULT_LOG_EXPIRATION_DAYS,
        description="Logs are deleted after this many days; incomplete uploads after one.",
    )

    force_destroy: Annotated[bool, Flag()] = Field(
        default=False, description="True: `pulumi destroy` empties and deletes the bucket (needs protect: false)."
    )

    protect: Annotated[bool, Flag()] = Field(
        default=True, description="True: the bucket and its settings are kept when the stack is destroyed."
    )

    def cross_check(self, report: Report, given: frozenset[str]) -> None:
        """A protected bucket is kept on destroy: it cannot also be emptied and deleted."""
        if self.force_destroy and self.protect:
            report.add(
                f"{report.at('force_destroy')}: true conflicts with {report.at('protect')}: true; a "
                "protected bucket is kept on destroy, so set protect: false to allow deleting it with its logs"
            )


class MonitoringArgs(Block):
    """Alarms (to an encrypted SNS topic) and a dashboard: ``monitoring``. Off unless configured."""

    alarms: Annotated[bool, Flag()] = Field(
        default=False,
        description="Alarms (load balancer 5xx and latency; per function 5xx, errors, throttles, duration; while a "
        "canary or warm instances run, their own) notify an SNS topic encrypted with a customer-managed key.",
    )

    dashboard: Annotated[bool, Flag()] = Field(
        default=False, description="One CloudWatch dashboard; its URL is the dashboardUrl output."
    )

    kms_key_arn: Annotated[
        InputStr | None,
        Text(
            check=must_match(KMS_KEY_ARN_RE, KMS_KEY_ALLOWED),
            pattern=KMS_KEY_ARN_RE.pattern,
            allowed_text=KMS_KEY_ALLOWED + "; needs `alarms`",
        ),
    ] = Field(
        default=None,
        description="Encrypts the alarm topic with this key (the bootstrap's, when the pipeline deploys). Unset: the "
        "stack creates a key of its own, which the pipeline's roles may not.",
    )

    alarm_email: Annotated[
        str | None,
        Text(
            check=lambda v: None if EMAIL_RE.match(v) else "is not an e-mail address",
            pattern=EMAIL_RE.pattern,
            allowed_text="an e-mail address; needs `alarms`",
        ),
    ] = Field(default=None, description="Subscribed to the alarm topic (confirm the message AWS sends).")

    elb_5xx_threshold: Annotated[int, Integer(lo=1)] = Field(
        default=10, description="Load-balancer 5xx per minute, in 3 of 5 minutes (HTTPCode_ELB_5XX_Count)."
    )

    target_5xx_threshold: Annotated[int, Integer(lo=1)] = Field(
        default=10, description="Function 5xx per minute, in 3 of 5 minutes (HTTPCode_Target_5XX_Count)."
    )

    errors_threshold: Annotated[int, Integer(lo=1)] = Field(
        default=5, description="Lambda Errors per minute, in 3 of 5 minutes."
    )

    latency_p99_seconds: Annotated[
        float, Number(lo=0, hi=4000, unit=" seconds", allowed_text="a number of seconds in (0, 4000]")
    ] = Field(default=2.0, description="TargetResponseTime p99 over 5 minutes, 2 of 3 periods.")

    duration_p99_percent: Annotated[int, Integer(lo=1, hi=100, unit=" percent")] = Field(
        default=80, description="Lambda Duration p99 as a percentage of function.timeout, 2 of 3 five-minute periods."
    )

    def cross_check(self, report: Report, given: frozenset[str]) -> None:
        """An e-mail address is only written to by alarms."""
        path = report.path
        if self.kms_key_arn is not None and not self.alarms:
            report.add(f"{report.at('kms_key_arn')}: set while {path}.alarms is off; there is no topic to encrypt")
        if self.alarm_email is not None and not self.alarms:
            report.add(
                f"{report.at('alarm_email')}: set while {path}.alarms is off; nothing would be sent (set alarms: true)"
            )


class WafArgs(Block):
    """A WAFv2 web ACL in front of the load balancer: ``waf``. Off unless configured."""

    enabled: Annotated[bool, Flag()] = Field(
        default=False,
        description="A regional WAFv2 web ACL on the load balancer: a per-IP rate limit, then four AWS managed rule "
        "groups, logged with credentials redacted.",
    )

    rate_limit: Annotated[
        int,
        Integer(
            lo=WAF_RATE_LIMIT_RANGE[0],
            hi=WAF_RATE_LIMIT_RANGE[1],
            unit=" requests per 5 minutes per IP",
            allowed_text="10 (AWS's minimum) to 2,000,000,000",
        ),
    ] = Field(
        default=DEFAULT_WAF_RATE_LIMIT, description="Requests per 5 minutes per client IP before the rate rule blocks."
    )

    web_acl_arn: Annotated[
        InputStr | None,
        Text(
            check=must_match(
                WEB_ACL_ARN_RE,
                "a regional WAFv2 web ACL ARN (arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>)",
            ),
            pattern=WEB_ACL_ARN_RE.pattern,
            allowed_text="a regional web ACL ARN; then none of the other keys but enabled",
        ),
    ] = Field(default=None, description="Associate this existing web ACL (of any name) instead of creating one.")

    log_retention_days: Annotated[
        int,
        Custom(
            reader=readers.retention(365, 365),
            json_schema=readers.retention_schema(365),
            allowed_text="a CloudWatch retention of at least 365 days",
        ),
    ] = Field(default=365, description="Days the aws-waf-logs-<name> log group keeps its logs.")

    delete_logs_with_acl: Annotated[bool, Flag()] = Field(
        default=False,
        description="True: turning the WAF off (or to a shared ACL) deletes the aws-waf-logs-<name> group and its "
        "logs. False: the group is left in AWS, its retention still applying, and turning this stack's own WAF "
        "on again adopts it with its logs.",
    )

    block_hosting_providers: Annotated[bool, Flag()] = Field(
        default=False,
        description="False: HostingProviderIPList only counts (it would block every caller on a cloud provider's "
        "addresses, GitHub-hosted runners and the smoke check included).",
    )

    large_bodies: Annotated[str, OneOf(choices=("count", "block"))] = Field(
        default="count",
        description="Request bodies over 8 KB (SizeRestrictions_BODY of the common rule set): count (the default: an "
        "API that takes larger JSON keeps working; matches still show in the ACL's metrics and logs) or block "
        "(AWS's default: a 403 from the WAF).",
    )

    rule_overrides: Annotated[
        tuple[tuple[str, str, str], ...],
        Custom(
            reader=readers.rule_overrides,
            json_schema=readers.OVERRIDES_SCHEMA,
            allowed_text="`{<group>: {<rule>: count|block|allow|challenge|captcha}}`, rule names checked",
        ),
    ] = Field(
        default=(),
        description="Override managed rules' actions, e.g. "
        "{AWSManagedRulesCommonRuleSet: {SizeRestrictions_BODY: count}}.",
    )

    def cross_check(self, report: Report, given: frozenset[str]) -> None:
        """An existing ACL keeps its own rules; hosting providers are set one way only."""
        path = report.path
        own_rules = ("rate_limit", "log_retention_days", "rule_overrides", "block_hosting_providers", "large_bodies")
        own = [key for key in map(report.key, own_rules) if key in given]
        if self.web_acl_arn and own:
            report.add(
                f"{report.at('web_acl_arn')}: an existing web ACL keeps its own rules and logging; "
                f"remove {', '.join(own)}"
            )
        group, rule = HOSTING_PROVIDER_RULE
        if report.key("block_hosting_providers") in given and any(
            (g, n) == (group, rule) for g, n, _ in self.rule_overrides
        ):
            report.add(
                f"{report.at('block_hosting_providers')}: set together with "
                f"{report.at('rule_overrides')}.{group}.{rule}; give one of them"
            )
        if self.web_acl_arn and not self.enabled:
            report.add(
                f"{report.at('web_acl_arn')}: set while {path}.enabled is false; set enabled: true to associate it"
            )


class LambdaAlbServiceArgs(Block):
    """Everything the component needs: the stack configuration, block by block."""

    service_name: Annotated[
        str | None,
        Custom(
            reader=readers.service_name,
            json_schema=readers.SERVICE_NAME_SCHEMA,
            allowed_text=f"letters, digits and -, at most {MAX_NAME_LENGTH} characters",
        ),
    ] = Field(
        default=None,
        description="Names every resource (function, load balancer, logs...) and its place in the state. Unset: "
        "<project>-<stack>. Pin it (the stack files do) and `pulumi stack rename` replaces nothing.",
    )

    function: FunctionArgs = Field(default=FunctionArgs(), description="The Lambda function.")

    functions: Annotated[
        Mapping[str, FunctionArgs],
        Custom(
            reader=readers.function_keys,
            nested=True,
            json_schema={
                "type": "object",
                "propertyNames": {"pattern": FUNCTION_KEY_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/function"},
            },
            allowed_text="a map of short keys (`api`, `web`: lower-case letters, digits, -) to `function` blocks",
        ),
    ] = Field(
        default_factory=dict,
        description="Several functions behind the one load balancer, instead of function; routes name theirs.",
    )

    load_balancer: LoadBalancerArgs = Field(
        default=LoadBalancerArgs(), description="The load balancer, its listeners and security group."
    )

    routes: Annotated[
        Sequence[RouteArgs | r.Rule],
        Custom(
            reader=read_routes,
            json_schema={"type": "array", "maxItems": MAX_ROUTES, "items": {"$ref": "#/$defs/route"}},
            allowed_text=f"at most {MAX_ROUTES} routes",
        ),
    ] = Field(
        default=(), description="Listener rules on the serving listener (HTTPS when there is a certificate, else HTTP)."
    )

    access_logs: AccessLogsArgs = Field(
        default=AccessLogsArgs(), description="Access logging to a dedicated S3 bucket."
    )

    monitoring: MonitoringArgs = Field(default=MonitoringArgs(), description="Alarms and a dashboard.")

    waf: WafArgs = Field(default=WafArgs(), description="A WAFv2 web ACL.")

    tags: Annotated[
        Mapping[str, str],
        Custom(
            reader=readers.tags,
            json_schema=readers.TAGS_SCHEMA,
            allowed_text=f"at most {MAX_TAGS - len(OWN_TAG_KEYS)}; keys up to {MAX_TAG_KEY} and values up to "
            f"{MAX_TAG_VALUE} characters; no `aws:` prefix; not project, stack or managed-by",
        ),
    ] = Field(
        default_factory=dict,
        description="The team's own tags (cost centre, owner...), on every taggable resource next to the component's.",
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_is_not_given(cls, values: Any) -> Any:
        """Pulumi.yaml declares every key with an empty default: an empty value is not given."""
        if not isinstance(values, dict):
            return values
        known = set(cls.keys(CAMEL)) | set(cls.model_fields)
        return {key: value for key, value in values.items() if key not in known or value not in ({}, [], ())}

    def unused(self) -> frozenset[str]:
        """With several functions and no function block, its defaults name no code directory."""
        return frozenset({"function"}) if self.functions and "function" not in self.model_fields_set else frozenset()

    @classmethod
    def unknown_key(cls, key: str, path: str, style: str) -> str:
        """A stack file's unknown key is named with the namespace; a flat dotted one gets --path."""
        if style != CAMEL or path != key:
            return super().unknown_key(key, path, style)
        return unknown_key_problem(key)

    @property
    def rules(self) -> tuple[r.Rule, ...]:
        """The routes as listener rules (what they are once read: ``parse_settings`` or the component)."""
        return tuple(rule for rule in self.routes if isinstance(rule, r.Rule))

    def targets(self) -> dict[str | None, FunctionArgs]:
        """The functions behind the load balancer: ``{None: function}``, or ``functions`` by key."""
        if self.functions:
            return {key: function for key, function in self.functions.items()}
        return {None: self.function}

    def cross_check(self, report: Report, given: frozenset[str]) -> None:
        """Routes name functions that exist; every function is reached; HTTPS never redirects to HTTP."""
        self._check_functions(report, given)
        self._check_redirects(report)
        self._check_releases(report)

    def check_functions(self) -> dict[str, tuple[str, str]]:
        """The keys of ``functions`` that run as a release's check: (the released function, the phase)."""
        found = {}
        for key, function in self.functions.items():
            for phase, check in (function.deployment.checks() if function.deployment else {}).items():
                if check.function is not None:
                    found[check.function] = (key, phase)
        return found

    def _check_releases(self, report: Report) -> None:
        """A release rolls back on the function's own alarms: they must exist, and CodeDeploy
        watches at most ten alarms per function. A check of your own is another function of
        ``functions``."""
        checks = self.check_functions()
        for key, function in self.targets().items():
            if function.deployment is None:
                continue
            where = report.key("function") if key is None else function_path(report, key)
            deployment = f"{where}.{report.key('deployment')}"
            if key in checks and checks[key][0] != key:  # (its own check: reported below)
                named = check_path(report, function_path(report, checks[key][0]), checks[key][1])
                report.add(
                    f"{deployment}: {key!r} is a release's check ({named}), which CodeDeploy invokes as it is "
                    "($LATEST), not through live; it has no release of its own: remove deployment"
                )
                continue
            for phase, check in function.deployment.checks().items():
                if check.function is None:
                    continue
                at = check_path(report, where, phase)
                if check.function == key:
                    report.add(f"{at}: {check.function!r} is the function being released; name another")
                elif check.function not in self.functions:
                    hint = did_you_mean(check.function, sorted(self.functions))
                    known = (
                        f"known: {', '.join(sorted(self.functions))}" if self.functions else "there is no functions map"
                    )
                    report.add(f"{at}: {check.function!r} is not one of the functions{hint}; {known}")
            if not self.monitoring.alarms:
                report.add(
                    f"{deployment}: needs {report.key('monitoring')}.alarms: true; CodeDeploy rolls a release back on "
                    "the function's alarms, which monitoring.alarms creates"
                )
            room = MAX_RELEASE_ALARMS - len(RELEASE_ALARM_KEYS)
            if len(function.deployment.alarms) > room:
                report.add(
                    f"{deployment}.alarms: {len(function.deployment.alarms)} alarms; CodeDeploy watches at most "
                    f"{MAX_RELEASE_ALARMS} and the function's own take {len(RELEASE_ALARM_KEYS)}: give at most {room}"
                )

    def _check_functions(self, report: Report, given: frozenset[str]) -> None:
        routes, lb, functions = report.key("routes"), report.key("load_balancer"), report.key("functions")
        default_where = f"{lb}.{report.key('default_action')}"
        actions = [(f"{routes}[{i}].function", rule.action) for i, rule in enumerate(self.rules)]
        actions.append((f"{default_where}.forward", self.load_balancer.default))
        forwards = [(where, action) for where, action in actions if isinstance(action, r.Forward)]
        keepers = sorted(key for key, fn in self.functions.items() if fn.keeps_function_names)
        if len(keepers) > 1:
            report.add(
                f"{functions}: {', '.join(keepers)} all set {report.key('keeps_function_names')}; only one "
                "function can keep the former function block's names"
            )
        if self.function.keeps_function_names:
            report.add(
                f"{report.key('function')}.{report.key('keeps_function_names')}: only a key of {functions} can "
                "keep the function block's names; set it there when you move this function into functions"
            )
        if not self.functions:
            if functions in given:
                return  # an unreadable map is reported where it is read
            for where, action in forwards:
                if action.function is not None:
                    report.add(
                        f"{where}: {action.function!r} names a function, but this service has one (the function "
                        "block); remove it, or declare several under functions"
                    )
            return
        if report.key("function") in given:
            report.add(f"function: set together with {functions}; give one function block or a map of several")
        known = sorted(self.functions)
        reached = set()
        for where, action in forwards:
            if action.function is None:
                example = "{forward: " + known[0] + "}" if where.startswith(default_where) else f"function: {known[0]}"
                report.add(f"{where}: forwards without naming a function; with several, name one ({example})")
            elif action.function not in self.functions:
                hint = did_you_mean(action.function, known)
                report.add(f"{where}: {action.function!r} is not one of the functions{hint}; known: {', '.join(known)}")
            else:
                reached.add(action.function)
        checks = self.check_functions()
        for where, action in forwards:
            if action.function in checks:
                named = check_path(
                    report, function_path(report, checks[action.function][0]), checks[action.function][1]
                )
                report.add(
                    f"{where}: {action.function!r} is a release's check ({named}), not behind the load balancer; "
                    "forward to another function"
                )
        for key in known:
            if key not in reached and key not in checks:
                report.add(
                    f"{function_path(report, key)}: no route or default action forwards to it; route to it or remove it"
                )

    def _check_redirects(self, report: Report) -> None:
        """ALB does not redirect from its HTTPS listener to plain HTTP."""
        if not self.load_balancer.https:
            return
        routes, lb = report.key("routes"), report.key("load_balancer")
        actions = [(f"{routes}[{i}].redirect", rule.action) for i, rule in enumerate(self.rules)]
        actions.append((f"{lb}.{report.key('default_action')}.redirect", self.load_balancer.default))
        for where, action in actions:
            if isinstance(action, r.Redirect) and action.protocol == "HTTP":
                report.add(
                    f"{where}.protocol: HTTP on the HTTPS listener; ALB does not allow redirects from HTTPS to HTTP"
                )


def check_path(report: Report, where: str, phase: str) -> str:
    """Where a check's function is named, under the function at ``where``, in the caller's spelling."""
    return f"{where}.{report.key('deployment')}.{report.key(phase + '_traffic')}.{report.key('function')}"


def function_path(report: Report, key: str, path: str = "functions") -> str:
    """Where one function of ``functions`` is, in the caller's spelling: ``functions.api`` in a
    stack file (as ``pulumi config set --path`` writes it), ``functions['api']`` in code."""
    return f"{path}.{key}" if report.style == CAMEL else f"{path}[{key!r}]"


def target_group_problems(name: str, functions: Mapping[str, Any], style: str = CAMEL) -> list[str]:
    """Each function's target group is named ``<service>-<key>-<7 random>`` and AWS allows 32
    characters: a key too long for this service's name is a problem, in the caller's spelling."""
    budget = 32 - len(name) - len("-") - len("-1234567")
    where = Report("", style, [], frozenset(), {})
    return [
        f"{function_path(where, key)}: its target group is named {name}-{key}-<7 random>, over AWS's 32 "
        f"characters; with this service name use a key of at most {max(budget, 0)} characters"
        for key in functions
        if len(key) > budget
    ]


# The top-level keys, derived from the declarations (stack-file spelling).
TOP_LEVEL_KEYS = LambdaAlbServiceArgs.keys(CAMEL)


def read_settings(
    values: Mapping[str, Any], style: str = CAMEL, context: Mapping[str, Any] | None = None
) -> tuple[LambdaAlbServiceArgs | None, list[str]]:
    """The whole configuration from its top-level values and every problem found. ``context``:
    ``project_dir`` (where ``codeDir`` is found; None skips the file checks) and ``unresolved``
    (a test for values that are not known yet, passed through unjudged)."""
    return read(LambdaAlbServiceArgs, dict(values), style, {**(context or {}), "style": style})


def parse_settings(values: Mapping[str, Any], project_dir: Path | None = None) -> LambdaAlbServiceArgs:
    """Validate the project's configuration and return typed settings.

    ``values`` maps each key of the ``lambda-alb`` namespace (without the namespace) to its
    decoded value; absent keys take their defaults. ``project_dir`` is where ``codeDir`` is
    resolved (None skips the file-system checks). Raises ``SettingsError`` with every problem.
    """
    settings, problems = read_settings(values, CAMEL, {"project_dir": project_dir})
    if problems or settings is None:
        raise SettingsError(problems)
    return settings


def unknown_key_problem(key: str) -> str:
    """The message for a key of the namespace that the program does not know."""
    head = key.split(".")[0].split("[")[0]
    if head in TOP_LEVEL_KEYS:
        return (
            f"{NAMESPACE}:{key}: set as a flat key; nested values need --path, e.g. "
            f"pulumi config set --path '{key}' <value>"
        )
    return (
        f"{NAMESPACE}:{key}: unknown key{did_you_mean(key, TOP_LEVEL_KEYS)}; known keys are {', '.join(TOP_LEVEL_KEYS)}"
    )
