"""The settings model: every configuration key, its default, its range, and its validation.

Plain Python (no ``pulumi`` import) so the Pulumi program, the local ALB and the tests share one
definition. ``parse_settings`` takes the decoded values of the project's configuration keys
(``function``, ``loadBalancer``, ``routes``, ``accessLogs``) and returns a frozen ``Settings`` or
raises ``SettingsError`` listing every problem at once, each naming the key path, the bad value and
what is allowed.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components import rules as r
from components.waf_rules import HOSTING_PROVIDER_RULE, MANAGED_RULE_GROUPS

NAMESPACE = "lambda-alb"

# --- defaults (named so the README, Pulumi.yaml and the code agree) ---------------------------

DEFAULT_RUNTIME = "python3.13"
SUPPORTED_RUNTIMES = ("python3.12", "python3.13", "python3.14")
ARCHITECTURES = ("arm64", "x86_64")
DEFAULT_ARCHITECTURE = "arm64"
DEFAULT_MEMORY_MB = 256
MEMORY_RANGE_MB = (128, 10240)
DEFAULT_TIMEOUT_S = 10
TIMEOUT_RANGE_S = (1, 900)
TRACING_MODES = ("PassThrough", "Active")
DEFAULT_TRACING = "PassThrough"
DEFAULT_LOG_RETENTION_DAYS = 30
# The values CloudWatch Logs accepts for retentionInDays (0, "never expire", is refused here).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
DEFAULT_CODE_DIR = "function"
DEFAULT_HANDLER = "app.handler"
# Lambda sets these itself and refuses them in a function's environment.
RESERVED_ENV_KEYS = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }
)  # fmt: skip
MAX_ENV_BYTES = 4096
_ENV_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]+$")  # Lambda: at least two characters
_HANDLER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")

DEFAULT_ALLOWED_CIDRS = ("0.0.0.0/0",)
DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# The TLS 1.3 policies that also refuse TLS 1.0/1.1 (docs/security.md: ELB.17).
SSL_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
)
# The documented placeholder in Pulumi.prod.yaml: previews work with it, deploys refuse it.
PLACEHOLDER_CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
DESYNC_MODES = ("defensive", "strictest")
DEFAULT_DESYNC_MODE = "defensive"
DEFAULT_IDLE_TIMEOUT_S = 60
IDLE_TIMEOUT_RANGE_S = (1, 4000)
MAX_SG_RULES = 60  # inbound rules per security group (default quota)
MAX_ROUTES = 100  # rules per load balancer (default quota)
_VPC_RE = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
_SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
_CERT_ARN_RE = re.compile(
    r"^arn:aws(-[a-z]+)*:(acm|iam):[a-z0-9-]*:\d{12}:(certificate/[A-Za-z0-9-]+|server-certificate/.+)$"
)

# Target-group health-check defaults and ranges for Lambda targets (docs/alb-behaviour.md#health-checks).
HEALTH_INTERVAL_RANGE_S = (5, 300)
HEALTH_TIMEOUT_RANGE_S = (2, 120)
HEALTH_THRESHOLD_RANGE = (2, 10)
_MATCHER_RE = re.compile(r"^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$")

DEFAULT_WAF_RATE_LIMIT = 2000
WAF_RATE_LIMIT_RANGE = (10, 2_000_000_000)  # AWS's minimum and maximum per 5-minute window
_WEB_ACL_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:wafv2:[a-z0-9-]+:\d{12}:regional/webacl/[\w-]+/[\w-]+$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_VERSION_RE = re.compile(r"^[1-9][0-9]*$")
_POLICY_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:policy/[\w+=,.@/-]+$")

# Tags: what AWS allows on a resource, and the keys the component sets itself.
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
_TAG_RE = re.compile(r"^[\w .:/=+\-@]*$")  # letters (any script), digits, spaces and _ . : / = + - @
OWN_TAG_KEYS = ("project", "stack", "managed-by")

# WAF: what a managed rule may be overridden to, and the rule names of the groups the web ACL uses
# (docs/security.md lists their source).
WAF_RULE_ACTIONS = ("count", "block", "allow", "challenge", "captcha")

DEFAULT_LOG_PREFIX = "alb"
DEFAULT_LOG_EXPIRATION_DAYS = 90
_PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")


class SettingsError(Exception):
    """Every problem found in the configuration, one line each."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# --- the typed settings -----------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionSettings:
    """The Lambda function: ``function`` in the stack configuration."""

    runtime: str = DEFAULT_RUNTIME  # python3.12 | python3.13 | python3.14
    architecture: str = DEFAULT_ARCHITECTURE  # arm64 | x86_64
    memory_size: int = DEFAULT_MEMORY_MB  # MB, 128-10240
    timeout: int = DEFAULT_TIMEOUT_S  # seconds, 1-900
    reserved_concurrency: int | None = None  # None: unreserved (shares the account pool)
    tracing: str = DEFAULT_TRACING  # PassThrough | Active (X-Ray)
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS  # one of LOG_RETENTION_DAYS
    environment: Mapping[str, str] = field(default_factory=dict)  # no AWS-reserved keys
    code_dir: str = DEFAULT_CODE_DIR  # relative to the project root
    handler: str = DEFAULT_HANDLER  # module.function inside code_dir
    # Releases: every change publishes a version and the `live` alias serves it, unless pinned.
    live_version: str | None = None  # pin `live` to this published version (a rollback)
    canary_weight: int = 0  # percent of traffic to `live` while `stable` serves the rest
    stable_version: str | None = None  # the version `stable` serves during a canary
    permissions_boundary: str | None = None  # a managed policy ARN capping the execution role
    # True when the stack's `function` value holds a secret: the environment is then passed to the
    # function as a secret Output (encrypted in state, [secret] in previews).
    secret_environment: bool = False


@dataclass(frozen=True)
class HealthCheck:
    """Target-group health check; off by default (each check is a billed invocation)."""

    enabled: bool = False
    path: str = "/"
    interval: int = 35  # seconds, 5-300, more than timeout
    timeout: int = 30  # seconds, 2-120
    healthy_threshold: int = 5  # 2-10
    unhealthy_threshold: int = 2  # 2-10
    matcher: str = "200"  # codes or ranges within 200-499, e.g. "200,204" or "200-299"


@dataclass(frozen=True)
class LoadBalancerSettings:
    """The load balancer, its listeners and security group: ``loadBalancer``."""

    internal: bool = False
    vpc_id: str | None = None  # None: the subnets' VPC, or the default VPC
    subnet_ids: tuple[str, ...] = ()  # empty: the default VPC's default subnets (one per AZ)
    allowed_cidrs: tuple[str, ...] = DEFAULT_ALLOWED_CIDRS
    certificate_arn: str | None = None  # set: HTTPS on 443 (and 80 redirects); unset: HTTP on 80
    ssl_policy: str = DEFAULT_SSL_POLICY
    http_redirect: bool = True  # with a certificate: port 80 redirects to 443 (False: no port 80)
    deletion_protection: bool = True
    idle_timeout: int = DEFAULT_IDLE_TIMEOUT_S  # seconds, 1-4000
    desync_mitigation_mode: str = DEFAULT_DESYNC_MODE  # defensive | strictest
    multi_value_headers: bool = False  # lambda.multi_value_headers.enabled on the target group
    health_check: HealthCheck = field(default_factory=HealthCheck)
    default_action: r.Action = field(default_factory=r.Forward)
    domain_name: str | None = None  # with hosted_zone_name: an ACM certificate and an alias record
    hosted_zone_name: str | None = None  # the public Route 53 zone that holds domain_name

    @property
    def https(self) -> bool:
        """True when the serving listener is HTTPS (a certificate, or a domain to get one for)."""
        return self.certificate_arn is not None or self.domain_name is not None

    def listener_ports(self) -> tuple[int, ...]:
        """The ports the load balancer listens on, hence the ports its security group opens."""
        if not self.https:
            return (80,)
        return (80, 443) if self.http_redirect else (443,)


@dataclass(frozen=True)
class AccessLogSettings:
    """Access logging to a dedicated S3 bucket: ``accessLogs``."""

    enabled: bool = True
    prefix: str = DEFAULT_LOG_PREFIX  # no leading/trailing '/', never containing AWSLogs
    expiration_days: int = DEFAULT_LOG_EXPIRATION_DAYS  # logs are deleted after this many days
    force_destroy: bool = False  # True: `pulumi destroy` empties and deletes the bucket
    protect: bool = True  # True: the bucket is retained when the stack is destroyed


@dataclass(frozen=True)
class MonitoringSettings:
    """Alarms (to an encrypted SNS topic) and a dashboard: ``monitoring``. Off unless configured."""

    alarms: bool = False
    dashboard: bool = False
    alarm_email: str | None = None  # subscribed to the alarm topic (confirm the e-mail AWS sends)
    elb_5xx_threshold: int = 10  # load-balancer 5xx per minute, 3 of 5 minutes
    target_5xx_threshold: int = 10  # function 5xx per minute, 3 of 5 minutes
    errors_threshold: int = 5  # Lambda Errors per minute, 3 of 5 minutes
    latency_p99_seconds: float = 2.0  # TargetResponseTime p99 over 5 minutes
    duration_p99_percent: int = 80  # Lambda Duration p99 as a percentage of the timeout


@dataclass(frozen=True)
class WafSettings:
    """A WAFv2 web ACL in front of the load balancer: ``waf``. Off unless configured."""

    enabled: bool = False
    rate_limit: int = DEFAULT_WAF_RATE_LIMIT  # requests per 5 minutes per client IP
    web_acl_arn: str | None = None  # associate this existing web ACL instead of creating one
    log_retention_days: int = 365  # the aws-waf-logs-* log group; at least 365
    # Managed rules whose action is overridden: ((group, rule, action), ...). HostingProviderIPList
    # is counted unless block_hosting_providers: CI runners and cloud callers live on those ranges.
    rule_overrides: tuple[tuple[str, str, str], ...] = ()
    block_hosting_providers: bool = False


@dataclass(frozen=True)
class Settings:
    """Everything the component needs; the component's typed args."""

    function: FunctionSettings = field(default_factory=FunctionSettings)
    load_balancer: LoadBalancerSettings = field(default_factory=LoadBalancerSettings)
    routes: tuple[r.Rule, ...] = ()
    access_logs: AccessLogSettings = field(default_factory=AccessLogSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    waf: WafSettings = field(default_factory=WafSettings)
    tags: Mapping[str, str] = field(default_factory=dict)  # the team's own tags, on every resource


# --- parsing ----------------------------------------------------------------------------------

FUNCTION_KEYS = (
    "runtime",
    "architecture",
    "memorySize",
    "timeout",
    "reservedConcurrency",
    "tracing",
    "logRetentionDays",
    "environment",
    "codeDir",
    "handler",
    "liveVersion",
    "canaryWeight",
    "stableVersion",
    "permissionsBoundary",
)
LOAD_BALANCER_KEYS = (
    "internal", "vpcId", "subnetIds", "allowedCidrs", "certificateArn", "sslPolicy",
    "httpRedirect", "deletionProtection", "idleTimeout", "desyncMitigationMode",
    "multiValueHeaders", "healthCheck", "defaultAction", "domainName", "hostedZoneName",
)  # fmt: skip
HEALTH_CHECK_KEYS = (
    "enabled", "path", "interval", "timeout", "healthyThreshold", "unhealthyThreshold", "matcher",
)  # fmt: skip
ROUTE_KEYS = (
    "priority", "pathPatterns", "hosts", "methods", "headers", "queryStrings", "sourceIps",
    "fixedResponse", "redirect",
)  # fmt: skip
FIXED_RESPONSE_KEYS = ("statusCode", "contentType", "body")
REDIRECT_KEYS = ("protocol", "host", "port", "path", "query", "statusCode")
ACCESS_LOG_KEYS = ("enabled", "prefix", "expirationDays", "forceDestroy", "protect")
MONITORING_KEYS = (
    "alarms", "dashboard", "alarmEmail", "elb5xxThreshold", "target5xxThreshold", "errorsThreshold",
    "latencyP99Seconds", "durationP99Percent",
)  # fmt: skip
WAF_KEYS = ("enabled", "rateLimit", "webAclArn", "logRetentionDays", "blockHostingProviders", "ruleOverrides")
TOP_LEVEL_KEYS = ("function", "loadBalancer", "routes", "accessLogs", "monitoring", "waf", "tags")


def did_you_mean(word: str, choices) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Reader:
    """Reads raw config values, collecting a problem for each bad one instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, message: str) -> None:
        self.problems.append(message)

    def obj(self, raw: Any, path: str, known) -> dict:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.add(f"{path}: {raw!r} is not an object; expected keys among {', '.join(known)}")
            return {}
        for key in raw:
            if key not in known:
                self.add(f"{path}.{key}: unknown key{did_you_mean(str(key), known)}; known keys are {', '.join(known)}")
        return raw

    def boolean(self, d: dict, key: str, path: str, default: bool) -> bool:
        value = d.get(key, default)
        if not isinstance(value, bool):
            self.add(f"{path}.{key}: {value!r} is not a boolean; use true or false")
            return default
        return value

    def _null(self, d: dict, key: str, path: str, default) -> bool:
        """A key present with no value (YAML ``timeout:``) is an error unless null means unset."""
        if key in d and d[key] is None and default is not None:
            self.add(f"{path}.{key}: has no value; give one or remove the key for the default ({default!r})")
            return True
        return False

    def integer(self, d: dict, key: str, path: str, default, lo: int, hi: int | None, unit: str = ""):
        if self._null(d, key, path, default):
            return default
        value = d.get(key, default)
        if value is None:
            return None
        allowed = f"{lo}-{hi}" if hi is not None else f"at least {lo}"
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(f"{path}.{key}: {value!r} is not an integer; allowed: {allowed}{unit}")
            return default
        if value < lo or (hi is not None and value > hi):
            self.add(f"{path}.{key}: {value} is outside {allowed}{unit}")
            return default
        return value

    def choice(self, d: dict, key: str, path: str, default: str, choices) -> str:
        value = d.get(key, default)
        if value not in choices:
            hint = did_you_mean(str(value), choices)
            self.add(f"{path}.{key}: {value!r} is not allowed{hint}; use one of {', '.join(choices)}")
            return default
        return value

    def string(self, d: dict, key: str, path: str, default, check: Callable[[str], str | None] = None):
        if self._null(d, key, path, default):
            return default
        value = d.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.add(f"{path}.{key}: {value!r} is not a non-empty string")
            return default
        problem = check(value) if check else None
        if problem:
            self.add(f"{path}.{key}: {value!r} {problem}")
            return default
        return value

    def strings(self, raw: Any, path: str, example: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            self.add(f"{path}: {raw!r} is not a list of strings; write e.g. [{example!r}]")
            return ()
        return tuple(raw)


def _check_pattern(regex: re.Pattern, what: str) -> Callable[[str], str | None]:
    return lambda value: None if regex.match(value) else f"is not {what}"


def _parse_function(raw: Any, rd: _Reader, project_dir: Path | None) -> FunctionSettings:
    path = "function"
    d = rd.obj(raw, path, FUNCTION_KEYS)
    environment = _parse_environment(d.get("environment"), rd, f"{path}.environment")
    code_dir = rd.string(d, "codeDir", path, DEFAULT_CODE_DIR)
    handler = rd.string(
        d,
        "handler",
        path,
        DEFAULT_HANDLER,
        _check_pattern(_HANDLER_RE, "a handler; write module.function, e.g. app.handler"),
    )
    if project_dir is not None and "codeDir" not in _bad_keys(rd, path) and "handler" not in _bad_keys(rd, path):
        code_path = project_dir / code_dir
        if not code_path.resolve().is_relative_to(project_dir.resolve()):
            rd.add(f"{path}.codeDir: {code_dir!r} is outside the project; use a directory under {project_dir}")
        elif not code_path.is_dir():
            rd.add(f"{path}.codeDir: {code_dir!r} is not a directory under {project_dir}")
        else:
            module = handler.rsplit(".", 1)[0]
            module_file = code_path / (module.replace(".", "/") + ".py")
            if not module_file.is_file():
                rd.add(
                    f"{path}.handler: {handler!r} names module {module!r}, but {code_dir}/"
                    f"{module.replace('.', '/')}.py does not exist"
                )
    return FunctionSettings(
        runtime=rd.choice(d, "runtime", path, DEFAULT_RUNTIME, SUPPORTED_RUNTIMES),
        architecture=rd.choice(d, "architecture", path, DEFAULT_ARCHITECTURE, ARCHITECTURES),
        memory_size=rd.integer(d, "memorySize", path, DEFAULT_MEMORY_MB, *MEMORY_RANGE_MB, " MB"),
        timeout=rd.integer(d, "timeout", path, DEFAULT_TIMEOUT_S, *TIMEOUT_RANGE_S, " seconds"),
        reserved_concurrency=_parse_reserved(d, rd, path),
        tracing=rd.choice(d, "tracing", path, DEFAULT_TRACING, TRACING_MODES),
        log_retention_days=_parse_retention(d, rd, path),
        environment=environment,
        code_dir=code_dir,
        handler=handler,
        **_parse_release(d, rd, path),
        permissions_boundary=rd.string(
            d,
            "permissionsBoundary",
            path,
            None,
            _check_pattern(_POLICY_ARN_RE, "an IAM managed policy ARN (arn:aws:iam::<account>:policy/<name>)"),
        ),
    )


def _version(d: dict, rd: _Reader, path: str, key: str) -> str | None:
    value = d.get(key)
    if value is None:
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _VERSION_RE.match(text):
        rd.add(
            f"{path}.{key}: {value!r} is not a published version; use its number, e.g. 7 "
            "(see the functionVersion output)"
        )
        return None
    return text


def _parse_release(d: dict, rd: _Reader, path: str) -> dict:
    """The live alias pin and the canary: ``canaryWeight`` percent to live, the rest to ``stableVersion``."""
    weight = rd.integer(d, "canaryWeight", path, 0, 0, 100, " percent")
    stable = _version(d, rd, path, "stableVersion")
    if weight and stable is None and d.get("stableVersion") is None:
        rd.add(
            f"{path}.canaryWeight: {weight} needs {path}.stableVersion, the version that serves the other "
            f"{100 - weight} percent (the functionVersion output before this release)"
        )
    if stable is not None and not weight and "canaryWeight" not in d:
        rd.add(f"{path}.stableVersion: set without {path}.canaryWeight; give the canary's percentage (1-100)")
    if weight and d.get("liveVersion") is not None:
        rd.add(
            f"{path}.liveVersion: set during a canary, where live serves {path}.stableVersion and routes "
            f"{weight} percent to the new version; remove liveVersion (or the canary keys, to roll back)"
        )
    return {
        "live_version": _version(d, rd, path, "liveVersion"),
        "canary_weight": weight or 0,
        "stable_version": stable,
    }


def _bad_keys(rd: _Reader, path: str) -> set[str]:
    """Keys of ``path`` that already have a problem (to avoid follow-on errors)."""
    prefix = f"{path}."
    return {p[len(prefix) :].split(":")[0] for p in rd.problems if p.startswith(prefix)}


def _parse_reserved(d: dict, rd: _Reader, path: str) -> int | None:
    value = d.get("reservedConcurrency")
    if value == 0 and not isinstance(value, bool):
        rd.add(
            f"{path}.reservedConcurrency: 0 would throttle every request (ALB answers 502); "
            "use at least 1, or remove the key for unreserved concurrency"
        )
        return None
    return rd.integer(d, "reservedConcurrency", path, None, 1, None)


def _parse_retention(
    d: dict, rd: _Reader, path: str, default: int = DEFAULT_LOG_RETENTION_DAYS, minimum: int = 1
) -> int:
    """``logRetentionDays``: a value CloudWatch Logs accepts (0, never expire, is refused), >= minimum."""
    value = d.get("logRetentionDays", default)
    allowed = [v for v in LOG_RETENTION_DAYS if v >= minimum]
    if isinstance(value, bool) or value not in allowed:
        rd.add(
            f"{path}.logRetentionDays: {value!r} is not a retention CloudWatch Logs accepts here; "
            f"use one of {', '.join(map(str, allowed))}"
        )
        return default
    return value


def _parse_environment(raw: Any, rd: _Reader, path: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        rd.add(f"{path}: {raw!r} is not a map of names to strings")
        return {}
    env = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not _ENV_KEY_RE.match(key):
            rd.add(
                f"{path}.{key}: not a valid variable name; use at least two letters, digits and _, "
                "starting with a letter"
            )
        elif key in RESERVED_ENV_KEYS:
            rd.add(f"{path}.{key}: reserved by AWS Lambda, which sets it itself; choose another name")
        elif not isinstance(value, str):
            rd.add(f'{path}.{key}: {value!r} is not a string; quote it in YAML, e.g. "{value}"')
        else:
            env[key] = value
    size = len(json.dumps(env, separators=(",", ":")).encode())
    if size > MAX_ENV_BYTES:
        rd.add(f"{path}: {size} bytes of variables; Lambda allows at most {MAX_ENV_BYTES} bytes in total")
    return env


def _parse_health_check(raw: Any, rd: _Reader) -> HealthCheck:
    path = "loadBalancer.healthCheck"
    d = rd.obj(raw, path, HEALTH_CHECK_KEYS)
    default = HealthCheck()
    check = HealthCheck(
        enabled=rd.boolean(d, "enabled", path, default.enabled),
        path=rd.string(
            d,
            "path",
            path,
            default.path,
            lambda v: None if v.startswith("/") and len(v) <= 1024 else "must start with / (at most 1024 characters)",
        ),
        interval=rd.integer(d, "interval", path, default.interval, *HEALTH_INTERVAL_RANGE_S, " seconds"),
        timeout=rd.integer(d, "timeout", path, default.timeout, *HEALTH_TIMEOUT_RANGE_S, " seconds"),
        healthy_threshold=rd.integer(d, "healthyThreshold", path, default.healthy_threshold, *HEALTH_THRESHOLD_RANGE),
        unhealthy_threshold=rd.integer(
            d, "unhealthyThreshold", path, default.unhealthy_threshold, *HEALTH_THRESHOLD_RANGE
        ),
        matcher=rd.string(d, "matcher", path, default.matcher, _matcher_problem),
    )
    if ("interval" in d or "timeout" in d) and check.interval <= check.timeout:
        rd.add(
            f"{path}.interval: {check.interval} must be greater than {path}.timeout "
            f"({check.timeout}); ALB refuses an interval that does not exceed the timeout"
        )
    return check


def _matcher_problem(value: str) -> str | None:
    if not _MATCHER_RE.match(value):
        return "is not a matcher; use codes or ranges such as 200, 200,204 or 200-299"
    codes = [int(c) for c in re.split(r"[,-]", value)]
    if any(not 200 <= c <= 499 for c in codes):
        return "has codes outside 200-499, which is what Lambda targets allow"
    return None


def _parse_action(raw: Any, rd: _Reader, path: str) -> r.Action:
    """``fixedResponse`` / ``redirect`` objects; the caller has checked there is at most one."""
    if "fixedResponse" in raw:
        apath = f"{path}.fixedResponse"
        d = rd.obj(raw["fixedResponse"], apath, FIXED_RESPONSE_KEYS)
        if "statusCode" not in d:
            rd.add(f"{apath}.statusCode: missing; give an integer 2XX, 4XX or 5XX such as 403")
        return r.FixedResponse(
            status_code=d.get("statusCode", 503),
            content_type=d.get("contentType", "text/plain"),
            body=d.get("body", ""),
        )
    if "redirect" in raw:
        apath = f"{path}.redirect"
        d = rd.obj(raw["redirect"], apath, REDIRECT_KEYS)
        if "statusCode" not in d:
            rd.add(f"{apath}.statusCode: missing; use HTTP_301 or HTTP_302")
        texts = {}
        for key in ("protocol", "host", "port", "path", "query"):
            if key in d:
                value = d[key]
                if key == "port" and isinstance(value, int) and not isinstance(value, bool):
                    value = str(value)
                if not isinstance(value, str):
                    rd.add(f"{apath}.{key}: {value!r} is not a string")
                    continue
                texts[key] = value
        return r.Redirect(status_code=d.get("statusCode", "HTTP_301"), **texts)
    return r.Forward()


def _parse_default_action(raw: Any, rd: _Reader) -> r.Action:
    path = "loadBalancer.defaultAction"
    if raw is None or raw == "forward":
        return r.Forward()
    if isinstance(raw, dict) and len(raw) == 1 and set(raw) <= {"fixedResponse", "redirect"}:
        action = _parse_action(raw, rd, path)
        rd.problems.extend(action.problems(f"{path}.{next(iter(raw))}"))
        return action
    rd.add(f"{path}: {raw!r} is not allowed; use forward, {{fixedResponse: {{...}}}} or {{redirect: {{...}}}}")
    return r.Forward()


def _parse_load_balancer(raw: Any, rd: _Reader) -> LoadBalancerSettings:
    path = "loadBalancer"
    d = rd.obj(raw, path, LOAD_BALANCER_KEYS)
    default = LoadBalancerSettings()
    subnet_ids = rd.strings(d.get("subnetIds"), f"{path}.subnetIds", "subnet-0123456789abcdef0")
    for i, subnet in enumerate(subnet_ids):
        if not _SUBNET_RE.match(subnet):
            rd.add(f"{path}.subnetIds[{i}]: {subnet!r} is not a subnet ID (subnet- and 8 or 17 hex digits)")
    if "subnetIds" in d and len(set(subnet_ids)) < 2:
        rd.add(
            f"{path}.subnetIds: {len(set(subnet_ids))} distinct subnet(s); an Application Load Balancer "
            "needs at least two, in different availability zones (or remove the key to use the default VPC's)"
        )
    if "vpcId" in d and "subnetIds" not in d:
        rd.add(
            f"{path}.subnetIds: required when {path}.vpcId is set; list at least two subnets of that VPC "
            "in different availability zones (or remove vpcId to use the default VPC)"
        )
    cidrs = rd.strings(d.get("allowedCidrs", list(DEFAULT_ALLOWED_CIDRS)), f"{path}.allowedCidrs", "203.0.113.0/24")
    if "allowedCidrs" in d and not cidrs:
        rd.add(f"{path}.allowedCidrs: empty; nobody could reach the load balancer. Give at least one CIDR")
    for i, cidr in enumerate(cidrs):
        problem = r.cidr_problem(cidr)
        if problem:
            rd.add(f"{path}.allowedCidrs[{i}]: {problem}")
    lb = LoadBalancerSettings(
        internal=rd.boolean(d, "internal", path, default.internal),
        vpc_id=rd.string(d, "vpcId", path, None, _check_pattern(_VPC_RE, "a VPC ID (vpc- and 8 or 17 hex digits)")),
        subnet_ids=subnet_ids,
        allowed_cidrs=cidrs,
        certificate_arn=rd.string(
            d,
            "certificateArn",
            path,
            None,
            _check_pattern(_CERT_ARN_RE, "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"),
        ),
        ssl_policy=rd.choice(d, "sslPolicy", path, DEFAULT_SSL_POLICY, SSL_POLICIES),
        http_redirect=rd.boolean(d, "httpRedirect", path, default.http_redirect),
        deletion_protection=rd.boolean(d, "deletionProtection", path, default.deletion_protection),
        idle_timeout=rd.integer(d, "idleTimeout", path, default.idle_timeout, *IDLE_TIMEOUT_RANGE_S, " seconds"),
        desync_mitigation_mode=rd.choice(d, "desyncMitigationMode", path, DEFAULT_DESYNC_MODE, DESYNC_MODES),
        multi_value_headers=rd.boolean(d, "multiValueHeaders", path, default.multi_value_headers),
        health_check=_parse_health_check(d.get("healthCheck"), rd),
        default_action=_parse_default_action(d.get("defaultAction"), rd),
        domain_name=_lower_or_none(d.get("domainName")),
        hosted_zone_name=_lower_or_none(d.get("hostedZoneName")),
    )
    _check_domain(d, rd, path)
    if d.get("httpRedirect") is True and not lb.https and "certificateArn" not in d:
        rd.add(f"{path}.httpRedirect: true needs {path}.certificateArn (there is no HTTPS listener to redirect to)")
    if ("sslPolicy" in d) and not lb.https and "certificateArn" not in d:
        rd.add(f"{path}.sslPolicy: set, but without {path}.certificateArn there is no HTTPS listener to use it")
    rules_needed = len(cidrs) * len(lb.listener_ports())
    if rules_needed > MAX_SG_RULES:
        rd.add(
            f"{path}.allowedCidrs: {len(cidrs)} CIDRs x {len(lb.listener_ports())} ports = {rules_needed} "
            f"security-group rules; at most {MAX_SG_RULES} are allowed"
        )
    return lb


def _lower_or_none(value: Any) -> Any:
    return value.lower().rstrip(".") if isinstance(value, str) else value


def _check_domain(d: dict, rd: _Reader, path: str) -> None:
    """domainName and hostedZoneName come together, name a public DNS name inside that zone, and
    replace certificateArn (the certificate is then issued and validated by the stack)."""
    domain, zone = _lower_or_none(d.get("domainName")), _lower_or_none(d.get("hostedZoneName"))
    if domain is None and zone is None:
        return
    for key, value in (("domainName", domain), ("hostedZoneName", zone)):
        if value is None:
            other = "hostedZoneName" if key == "domainName" else "domainName"
            rd.add(f"{path}.{key}: missing; {path}.{other} needs it (the certificate is validated in that zone)")
        elif not isinstance(value, str) or not _DOMAIN_RE.match(value):
            rd.add(f"{path}.{key}: {d.get(key)!r} is not a DNS name such as app.example.com")
    both_valid = all(isinstance(v, str) and _DOMAIN_RE.match(v) for v in (domain, zone))
    if both_valid and domain != zone and not domain.endswith("." + zone):
        rd.add(f"{path}.domainName: {domain!r} is outside the zone {zone!r}; use a name that ends with .{zone}")
    if "certificateArn" in d and domain is not None:
        rd.add(f"{path}.certificateArn: set with {path}.domainName; give one (the domain gets its own certificate)")


def _parse_monitoring(raw: Any, rd: _Reader) -> MonitoringSettings:
    path = "monitoring"
    d = rd.obj(raw, path, MONITORING_KEYS)
    default = MonitoringSettings()
    email = rd.string(d, "alarmEmail", path, None, lambda v: None if _EMAIL_RE.match(v) else "is not an e-mail address")
    latency = d.get("latencyP99Seconds", default.latency_p99_seconds)
    if isinstance(latency, bool) or not isinstance(latency, (int, float)) or not 0 < latency <= 4000:
        rd.add(f"{path}.latencyP99Seconds: {latency!r} is not a number of seconds in (0, 4000]")
        latency = default.latency_p99_seconds
    settings = MonitoringSettings(
        alarms=rd.boolean(d, "alarms", path, default.alarms),
        dashboard=rd.boolean(d, "dashboard", path, default.dashboard),
        alarm_email=email,
        elb_5xx_threshold=rd.integer(d, "elb5xxThreshold", path, default.elb_5xx_threshold, 1, None),
        target_5xx_threshold=rd.integer(d, "target5xxThreshold", path, default.target_5xx_threshold, 1, None),
        errors_threshold=rd.integer(d, "errorsThreshold", path, default.errors_threshold, 1, None),
        latency_p99_seconds=float(latency),
        duration_p99_percent=rd.integer(
            d, "durationP99Percent", path, default.duration_p99_percent, 1, 100, " percent"
        ),
    )
    if email is not None and not settings.alarms:
        rd.add(f"{path}.alarmEmail: set while {path}.alarms is off; nothing would be sent (set alarms: true)")
    return settings


def _parse_waf(raw: Any, rd: _Reader) -> WafSettings:
    path = "waf"
    d = rd.obj(raw, path, WAF_KEYS)
    default = WafSettings()
    lo, hi = WAF_RATE_LIMIT_RANGE
    waf = WafSettings(
        enabled=rd.boolean(d, "enabled", path, default.enabled),
        rate_limit=rd.integer(d, "rateLimit", path, default.rate_limit, lo, hi, " requests per 5 minutes per IP"),
        web_acl_arn=rd.string(
            d,
            "webAclArn",
            path,
            None,
            _check_pattern(
                _WEB_ACL_ARN_RE,
                "a regional WAFv2 web ACL ARN (arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>)",
            ),
        ),  # fmt: skip
        log_retention_days=_parse_retention(d, rd, path, default.log_retention_days, minimum=365),
        rule_overrides=_parse_rule_overrides(d.get("ruleOverrides"), rd, f"{path}.ruleOverrides"),
        block_hosting_providers=rd.boolean(d, "blockHostingProviders", path, default.block_hosting_providers),
    )
    own_acl_keys = [k for k in ("rateLimit", "logRetentionDays", "ruleOverrides", "blockHostingProviders") if k in d]
    if waf.web_acl_arn and own_acl_keys:
        rd.add(
            f"{path}.webAclArn: an existing web ACL keeps its own rules and logging; remove {', '.join(own_acl_keys)}"
        )
    hosting = (HOSTING_PROVIDER_RULE[0], HOSTING_PROVIDER_RULE[1])
    if "blockHostingProviders" in d and any((g, n) == hosting for g, n, _ in waf.rule_overrides):
        rd.add(
            f"{path}.blockHostingProviders: set together with {path}.ruleOverrides.{hosting[0]}.{hosting[1]}; "
            "give one of them"
        )
    if waf.web_acl_arn and not waf.enabled:
        rd.add(f"{path}.webAclArn: set while {path}.enabled is false; set enabled: true to associate it")
    return waf


def _parse_rule_overrides(raw: Any, rd: _Reader, path: str) -> tuple[tuple[str, str, str], ...]:
    """``{<managed group>: {<rule>: <action>}}``, checked against the rules of the groups we use."""
    if raw is None:
        return ()
    groups = ", ".join(MANAGED_RULE_GROUPS)
    if not isinstance(raw, dict):
        rd.add(f"{path}: {raw!r} is not a map of rule groups to {{rule: action}}, e.g. {{{MANAGED_RULE_GROUPS[0]}: "
               "{SizeRestrictions_BODY: count}}")  # fmt: skip
        return ()
    overrides = []
    for group, rules in raw.items():
        if group not in MANAGED_RULE_GROUPS:
            rd.add(f"{path}.{group}: not a rule group of the web ACL{did_you_mean(str(group), MANAGED_RULE_GROUPS)}; "
                   f"use one of {groups}")  # fmt: skip
            continue
        known = MANAGED_RULE_GROUPS[group]
        if not isinstance(rules, dict) or not rules:
            rd.add(f"{path}.{group}: {rules!r} is not a map of rule names to actions, e.g. {{{known[0]}: count}}")
            continue
        for rule, action in rules.items():
            if rule not in known:
                rd.add(f"{path}.{group}.{rule}: not a rule of {group}{did_you_mean(str(rule), known)}; "
                       f"its rules are {', '.join(known)}")  # fmt: skip
            elif action not in WAF_RULE_ACTIONS:
                rd.add(f"{path}.{group}.{rule}: {action!r} is not an action; use one of {', '.join(WAF_RULE_ACTIONS)}")
            else:
                overrides.append((group, rule, action))
    return tuple(overrides)


def _parse_tags(raw: Any, rd: _Reader) -> dict[str, str]:
    """The team's own tags: AWS's limits, no ``aws:`` prefix, and our own keys stay ours."""
    path = "tags"
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        rd.add(f"{path}: {raw!r} is not a map of tag keys to values, e.g. {{cost-centre: '1234', owner: team-a}}")
        return {}
    tags = {}
    allowed = "letters, digits, spaces and _ . : / = + - @"
    for key, value in raw.items():
        where = f"{path}.{key}"
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_KEY or not _TAG_RE.match(key):
            rd.add(f"{where}: not a tag key; use 1-{MAX_TAG_KEY} characters among {allowed}")
        elif key.lower().startswith("aws:"):
            rd.add(f"{where}: keys starting with aws: are reserved by AWS; choose another key")
        elif key in OWN_TAG_KEYS:
            rd.add(f"{where}: set by the component itself ({', '.join(OWN_TAG_KEYS)}); choose another key")
        elif not isinstance(value, str):
            rd.add(f'{where}: {value!r} is not a string; quote it in YAML, e.g. "{value}"')
        elif len(value) > MAX_TAG_VALUE or not _TAG_RE.match(value):
            rd.add(f"{where}: {value!r} is not a tag value; use at most {MAX_TAG_VALUE} characters among {allowed}")
        else:
            tags[key] = value
    if len(raw) + len(OWN_TAG_KEYS) > MAX_TAGS:
        rd.add(
            f"{path}: {len(raw)} tags plus the component's {len(OWN_TAG_KEYS)} ({', '.join(OWN_TAG_KEYS)}) "
            f"exceed AWS's {MAX_TAGS} tags per resource"
        )
    return tags


def _parse_routes(raw: Any, rd: _Reader) -> tuple[r.Rule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        rd.add(f"routes: {raw!r} is not a list of routes")
        return ()
    if len(raw) > MAX_ROUTES:
        rd.add(f"routes: {len(raw)} routes; a load balancer allows at most {MAX_ROUTES} rules (default quota)")
    parsed = []
    seen: dict[int, int] = {}
    for i, item in enumerate(raw):
        path = f"routes[{i}]"
        if not isinstance(item, dict):
            rd.add(f"{path}: {item!r} is not an object with a priority and conditions")
            continue
        d = rd.obj(item, path, ROUTE_KEYS)
        if "priority" not in d:
            rd.add(f"{path}.priority: missing; give a unique integer {r.PRIORITY_MIN}-{r.PRIORITY_MAX}")
        actions = [k for k in ("fixedResponse", "redirect") if k in d]
        if len(actions) > 1:
            rd.add(f"{path}: has both fixedResponse and redirect; give at most one (neither means forward)")
        rule = r.Rule(
            priority=d.get("priority", 0),
            conditions=_parse_conditions(d, rd, path),
            action=_parse_action({k: d[k] for k in actions[:1]}, rd, path),
        )
        if "priority" in d:
            rd.problems.extend(rule.problems(path))
        else:
            rd.problems.extend(p for p in rule.problems(path) if not p.startswith(f"{path}.priority"))
        prio = rule.priority
        if isinstance(prio, int) and prio in seen:
            rd.add(f"{path}.priority: {prio} is already used by routes[{seen[prio]}]; priorities must be unique")
        elif isinstance(prio, int):
            seen[prio] = i
        parsed.append(rule)
    return tuple(parsed)


def _parse_conditions(d: dict, rd: _Reader, path: str) -> tuple[r.Condition, ...]:
    conditions: list[r.Condition] = []
    simple = (
        ("pathPatterns", r.PathPattern, "/api/*"),
        ("hosts", r.HostHeader, "api.example.com"),
        ("methods", r.RequestMethod, "GET"),
        ("sourceIps", r.SourceIp, "203.0.113.0/24"),
    )
    for key, cls, example in simple:
        if key in d:
            conditions.append(cls(values=rd.strings(d[key], f"{path}.{key}", example)))
    if "headers" in d:
        headers = d["headers"]
        if not isinstance(headers, dict) or not headers:
            rd.add(f"{path}.headers: {headers!r} is not a map of header names to value lists, e.g. {{x-env: [beta]}}")
        else:
            for name, values in headers.items():
                conditions.append(
                    r.HttpHeader(name=str(name), values=rd.strings(values, f"{path}.headers.{name}", "beta"))
                )
    if "queryStrings" in d:
        conditions.append(r.QueryString(pairs=_parse_query_pairs(d["queryStrings"], rd, f"{path}.queryStrings")))
    return tuple(conditions)


def _parse_query_pairs(raw: Any, rd: _Reader, path: str) -> tuple[tuple[str | None, str], ...]:
    if not isinstance(raw, list):
        rd.add(f"{path}: {raw!r} is not a list of {{key?, value}} pairs")
        return ()
    pairs = []
    for i, item in enumerate(raw):
        d = rd.obj(item, f"{path}[{i}]", ("key", "value"))
        key, value = d.get("key"), d.get("value")
        if key is not None and not isinstance(key, str):
            rd.add(f"{path}[{i}].key: {key!r} is not a string")
            key = None
        if not isinstance(value, str):
            rd.add(f"{path}[{i}].value: {value!r} is not a string; every pair needs a value")
            value = "?"
        pairs.append((key, value))
    return tuple(pairs)


def _parse_access_logs(raw: Any, rd: _Reader) -> AccessLogSettings:
    path = "accessLogs"
    d = rd.obj(raw, path, ACCESS_LOG_KEYS)
    default = AccessLogSettings()
    logs = AccessLogSettings(
        enabled=rd.boolean(d, "enabled", path, default.enabled),
        prefix=d.get("prefix", default.prefix),
        expiration_days=rd.integer(d, "expirationDays", path, default.expiration_days, 1, 3650, " days"),
        force_destroy=rd.boolean(d, "forceDestroy", path, default.force_destroy),
        protect=rd.boolean(d, "protect", path, default.protect),
    )
    prefix = logs.prefix
    if not isinstance(prefix, str):
        rd.add(f"{path}.prefix: {prefix!r} is not a string")
    elif "AWSLogs" in prefix:
        rd.add(f"{path}.prefix: {prefix!r} contains AWSLogs, which ALB refuses (it adds AWSLogs/ itself)")
    elif prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        rd.add(f"{path}.prefix: {prefix!r} must not start or end with / (write e.g. alb or team/alb)")
    elif not _PREFIX_RE.match(prefix) or len(prefix) > 200:
        rd.add(
            f"{path}.prefix: {prefix!r} has characters unsafe in an S3 key; use letters, digits and ! _ . * ' ( ) / -"
        )
    if logs.force_destroy and logs.protect:
        rd.add(
            f"{path}.forceDestroy: true conflicts with {path}.protect: true; a protected bucket is kept "
            "on destroy, so set protect: false to allow deleting it with its logs"
        )
    return logs


def parse_settings(values: Mapping[str, Any], project_dir: Path | None = None) -> Settings:
    """Validate the project's configuration and return typed settings.

    ``values`` maps each key of the ``lambda-alb`` namespace (without the namespace) to its
    decoded value; absent keys take their defaults. ``project_dir`` is where ``codeDir`` is
    resolved (None skips the file-system checks). Raises ``SettingsError`` with every problem.
    """
    rd = _Reader()
    for key in values:
        if key not in TOP_LEVEL_KEYS:
            rd.add(unknown_key_problem(key))
    lb = _parse_load_balancer(values.get("loadBalancer"), rd)
    settings = Settings(
        function=_parse_function(values.get("function"), rd, project_dir),
        load_balancer=lb,
        routes=_parse_routes(values.get("routes"), rd),
        access_logs=_parse_access_logs(values.get("accessLogs"), rd),
        monitoring=_parse_monitoring(values.get("monitoring"), rd),
        waf=_parse_waf(values.get("waf"), rd),
        tags=_parse_tags(values.get("tags"), rd),
    )
    if lb.https:
        actions = [(f"routes[{i}].redirect", rule.action) for i, rule in enumerate(settings.routes)]
        actions.append(("loadBalancer.defaultAction.redirect", lb.default_action))
        for path, action in actions:
            if isinstance(action, r.Redirect) and action.protocol == "HTTP":
                rd.add(f"{path}.protocol: HTTP on the HTTPS listener; ALB does not allow redirects from HTTPS to HTTP")
    if rd.problems:
        raise SettingsError(rd.problems)
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
