"""The settings model: every setting declared once, with its default, range, meaning and checks.

Each block of the stack configuration (``function``, ``loadBalancer``, ``routes``, ``accessLogs``,
``monitoring``, ``waf``, ``tags``) is a frozen dataclass whose fields are declared with
``components.declare.setting``. The reader, the messages, the JSON Schema of stack files, the
``Pulumi.yaml`` declarations and the configuration reference all come from these declarations
(``python3 dev.py generate``); rules that join several fields live in the block's ``cross_check``.

Plain Python (no ``pulumi`` import) so the Pulumi program, the local ALB and the tests share one
definition. ``parse_settings`` returns a frozen ``LambdaAlbServiceArgs`` or raises ``SettingsError`` listing
every problem at once, each naming the key path, the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers only: this module imports no pulumi when it runs
    import pulumi

    # What a program may give where a value often comes from another resource: the value itself,
    # or a pulumi.Output of it (checked when known, passed through when not).
    InputStr = pulumi.Input[str]
    InputList = Sequence[pulumi.Input[str]] | pulumi.Input[Sequence[str]]

from . import rules as r
from .declare import CAMEL, Reader, as_raw, describe, did_you_mean, keys, read_block, setting
from .naming import MAX_NAME_LENGTH, NAME_RE
from .waf_rules import HOSTING_PROVIDER_RULE, MANAGED_RULE_GROUPS

NAMESPACE = "lambda-alb"

# --- defaults (named so the README, Pulumi.yaml and the code agree) ---------------------------

# A key of `functions` (and what routes and default actions name): lower case, digits and dashes.
FUNCTION_KEY_PATTERN = r"^[a-z][a-z0-9-]*$"
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
# A customer-managed KMS key by its ARN (an alias would let the key behind it change unseen).
_KMS_KEY_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
_KMS_KEY_ALLOWED = "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"
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


def known(values: Any) -> tuple[str, ...]:
    """Strings a check has found known (no Output among them), typed as what they are."""
    return tuple(values)


def known_str(value: Any) -> str:
    """A string a check has found known (not an Output), typed as what it is."""
    return str(value)


# --- checks and hand-read settings ------------------------------------------------------------


def _pattern(regex: re.Pattern[str], what: str) -> Callable[[Any], str | None]:
    """A string check: the problem tail when ``regex`` does not match."""
    return lambda value: None if regex.match(value) else f"is not {what}"


def _item(regex: re.Pattern[str], what: str) -> Callable[[Any], str | None]:
    """A list-item check: the whole problem (items are named by index)."""
    return lambda value: None if regex.match(value) else f"{value!r} is not {what}"


def _health_path_problem(value: str) -> str | None:
    return None if value.startswith("/") and len(value) <= 1024 else "must start with / (at most 1024 characters)"


def _matcher_problem(value: str) -> str | None:
    if not _MATCHER_RE.match(value):
        return "is not a matcher; use codes or ranges such as 200, 200,204 or 200-299"
    codes = [int(c) for c in re.split(r"[,-]", value)]
    if any(not 200 <= c <= 499 for c in codes):
        return "has codes outside 200-499, which is what Lambda targets allow"
    return None


def _parse_reserved(raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: Any) -> Any:
    block, key = path.rsplit(".", 1)
    if raw == 0 and not isinstance(raw, bool):
        rd.add(
            f"{path}: 0 would throttle every request (ALB answers 502); "
            "use at least 1, or remove the key for unreserved concurrency"
        )
        return None
    return rd.integer(d, key, block, None, 1, None)


def _retention(minimum: int) -> Callable[..., int]:
    """``logRetentionDays``: a value CloudWatch Logs accepts (0, never expire, is refused), >= minimum."""

    def parse(raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: int) -> int:
        value = default if raw is None else raw
        if rd.unresolved(value):
            return value
        allowed = [v for v in LOG_RETENTION_DAYS if v >= minimum]
        if isinstance(value, bool) or value not in allowed:
            rd.add(
                f"{path}: {value!r} is not a retention CloudWatch Logs accepts here; "
                f"use one of {', '.join(map(str, allowed))}"
            )
            return default
        return value

    return parse


def _retention_schema(minimum: int) -> dict[str, Any]:
    return {"type": "integer", "enum": [v for v in LOG_RETENTION_DAYS if v >= minimum]}


def _parse_environment(raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: Any) -> Any:
    if raw is None:
        return {}
    if rd.unresolved(raw):
        return raw
    if not isinstance(raw, dict):
        rd.add(f"{path}: {raw!r} is not a map of names to strings")
        return {}
    env: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not _ENV_KEY_RE.match(key):
            rd.add(
                f"{path}.{key}: not a valid variable name; use at least two letters, digits and _, "
                "starting with a letter"
            )
        elif key in RESERVED_ENV_KEYS:
            rd.add(f"{path}.{key}: reserved by AWS Lambda, which sets it itself; choose another name")
        elif rd.unresolved(value):
            env[key] = value
        elif not isinstance(value, str):
            rd.add(f'{path}.{key}: {value!r} is not a string; quote it in YAML, e.g. "{value}"')
        else:
            env[key] = value
    known = {k: v for k, v in env.items() if isinstance(v, str)}
    size = len(json.dumps(known, separators=(",", ":")).encode())
    if size > MAX_ENV_BYTES:
        rd.add(f"{path}: {size} bytes of variables; Lambda allows at most {MAX_ENV_BYTES} bytes in total")
    return env


def _parse_code(raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: Any) -> Any:
    """A package given in code: only what the Pulumi side recognises as an archive (or an Output)."""
    if raw is None or rd.unresolved(raw):
        return raw
    rd.add(f"{path}: {raw!r} is not a pulumi.Archive; give code_dir for a directory of code")
    return None


def _parse_version(raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: Any) -> str | None:
    if raw is None:
        return None
    text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
    if not isinstance(text, str) or not _VERSION_RE.match(text):
        rd.add(f"{path}: {raw!r} is not a published version; use its number, e.g. 7 (see the functionVersion output)")
        return None
    return text


_VERSION_SCHEMA = {"type": ["integer", "string"], "pattern": _VERSION_RE.pattern, "minimum": 1}


def _parse_lower(raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: Any) -> Any:
    """A DNS name as AWS compares it: lower case, no trailing dot (checked by the block)."""
    return raw.lower().rstrip(".") if isinstance(raw, str) else raw


def _parse_action(raw: Mapping[str, Any], rd: Reader, path: str) -> r.Action:
    """``fixedResponse`` / ``redirect`` objects; the caller has checked there is at most one."""
    k = rd.key
    fixed, status = k("fixed_response"), k("status_code")
    if fixed in raw:
        apath = f"{path}.{fixed}"
        d = rd.obj(_raw(raw[fixed], rd), apath, keys(FixedResponseArgs, rd.style))
        if status not in d:
            rd.add(f"{apath}.{status}: missing; give an integer 2XX, 4XX or 5XX such as 403")
        return r.FixedResponse(
            status_code=d.get(status, 503),
            content_type=d.get(k("content_type"), "text/plain"),
            body=d.get("body", ""),
        )
    if "redirect" in raw:
        apath = f"{path}.redirect"
        d = rd.obj(_raw(raw["redirect"], rd), apath, keys(RedirectArgs, rd.style))
        if status not in d:
            rd.add(f"{apath}.{status}: missing; use HTTP_301 or HTTP_302")
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
        return r.Redirect(status_code=d.get(status, "HTTP_301"), **texts)
    return r.Forward()


def _raw(value: Any, rd: Reader) -> Any:
    """A block given in code (a dataclass) as the reader's raw input; anything else unchanged."""
    return as_raw(value, rd.style) if dataclasses.is_dataclass(value) and not isinstance(value, type) else value


def _parse_default_action(raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: Any) -> r.Action:
    if raw is None or raw == "forward":
        return r.Forward()
    if isinstance(raw, FixedResponseArgs | RedirectArgs):
        raw = {rd.key("fixed_response") if isinstance(raw, FixedResponseArgs) else "redirect": raw}
    if isinstance(raw, r.Forward | r.FixedResponse | r.Redirect):
        rd.problems.extend(raw.problems(path, rd.key))
        return raw
    if isinstance(raw, dict) and set(raw) == {"forward"}:
        target = raw["forward"]
        if not isinstance(target, str) or not _FUNCTION_KEY_RE.match(target):
            rd.add(f"{path}.forward: {target!r} is not a function's key; name one of the functions")
            return r.Forward()
        return r.Forward(function=target)
    if isinstance(raw, dict) and len(raw) == 1 and set(raw) <= {rd.key("fixed_response"), "redirect"}:
        action = _parse_action(raw, rd, path)
        rd.problems.extend(action.problems(f"{path}.{next(iter(raw))}", rd.key))
        return action
    fixed = rd.key("fixed_response")
    rd.add(
        f"{path}: {raw!r} is not allowed; use forward, {{forward: <function>}}, {{{fixed}: {{...}}}} "
        "or {redirect: {...}}"
    )
    return r.Forward()


def _parse_conditions(d: Mapping[str, Any], rd: Reader, path: str) -> tuple[r.Condition, ...]:
    conditions: list[r.Condition] = []
    simple = (
        (rd.key("path_patterns"), r.PathPattern, "/api/*"),
        ("hosts", r.HostHeader, "api.example.com"),
        ("methods", r.RequestMethod, "GET"),
        (rd.key("source_ips"), r.SourceIp, "203.0.113.0/24"),
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
    query = rd.key("query_strings")
    if query in d:
        conditions.append(r.QueryString(pairs=_parse_query_pairs(d[query], rd, f"{path}.{query}")))
    return tuple(conditions)


def _parse_query_pairs(raw: Any, rd: Reader, path: str) -> tuple[tuple[str | None, str], ...]:
    if not isinstance(raw, list | tuple):
        rd.add(f"{path}: {raw!r} is not a list of {{key?, value}} pairs")
        return ()
    pairs = []
    for i, item in enumerate(raw):
        if isinstance(item, tuple) and len(item) == 2:  # (key, value) as code writes it
            item = {"key": item[0], "value": item[1]} if item[0] is not None else {"value": item[1]}
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


def _parse_routes(raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: Any) -> tuple[r.Rule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        rd.add(f"{path}: {raw!r} is not a list of routes")
        return ()
    if len(raw) > MAX_ROUTES:
        rd.add(f"{path}: {len(raw)} routes; a load balancer allows at most {MAX_ROUTES} rules (default quota)")
    parsed = []
    seen: dict[int, int] = {}
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if isinstance(item, RouteArgs):
            item = as_raw(item, rd.style)
        if isinstance(item, r.Rule):
            rule = item
            rd.problems.extend(rule.problems(where, rd.key))
        elif not isinstance(item, dict):
            rd.add(f"{where}: {item!r} is not an object with a priority and conditions")
            continue
        else:
            route = rd.obj(item, where, keys(RouteArgs, rd.style))
            if "priority" not in route:
                rd.add(f"{where}.priority: missing; give a unique integer {r.PRIORITY_MIN}-{r.PRIORITY_MAX}")
            fixed = rd.key("fixed_response")
            actions = [k for k in (fixed, "redirect") if k in route]
            if len(actions) > 1:
                rd.add(f"{where}: has both {fixed} and redirect; give at most one (neither means forward)")
            rule = r.Rule(
                priority=route.get("priority", 0),
                conditions=_parse_conditions(route, rd, where),
                action=_parse_action({k: route[k] for k in actions[:1]}, rd, where),
            )
            if "function" in route:
                target = route["function"]
                if actions:
                    rd.add(f"{where}.function: only a route that forwards names a function; remove it or {actions[0]}")
                elif not isinstance(target, str) or not _FUNCTION_KEY_RE.match(target):
                    rd.add(f"{where}.function: {target!r} is not a function's key")
                else:
                    rule = dataclasses.replace(rule, action=r.Forward(function=target))
            found = rule.problems(where, rd.key)
            if "priority" not in route:
                found = [p for p in found if not p.startswith(f"{where}.priority")]
            rd.problems.extend(found)
        prio = rule.priority
        if isinstance(prio, int) and prio in seen:
            rd.add(f"{where}.priority: {prio} is already used by {path}[{seen[prio]}]; priorities must be unique")
        elif isinstance(prio, int):
            seen[prio] = i
        parsed.append(rule)
    return tuple(parsed)


def _parse_rule_overrides(
    raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: Any
) -> tuple[tuple[str, str, str], ...]:
    """``{<managed group>: {<rule>: <action>}}``, checked against the rules of the groups we use."""
    if raw is None:
        return ()
    if isinstance(raw, tuple):  # built in code: ((group, rule, action), ...)
        raw = _overrides_as_map(raw)
    groups = ", ".join(MANAGED_RULE_GROUPS)
    if not isinstance(raw, dict):
        example = f"{{{next(iter(MANAGED_RULE_GROUPS))}: {{SizeRestrictions_BODY: count}}}}"
        rd.add(f"{path}: {raw!r} is not a map of rule groups to {{rule: action}}, e.g. {example}")
        return ()
    overrides = []
    for group, rules in raw.items():
        if group not in MANAGED_RULE_GROUPS:
            hint = did_you_mean(str(group), MANAGED_RULE_GROUPS)
            rd.add(f"{path}.{group}: not a rule group of the web ACL{hint}; use one of {groups}")
            continue
        known = MANAGED_RULE_GROUPS[group]
        if not isinstance(rules, dict) or not rules:
            rd.add(f"{path}.{group}: {rules!r} is not a map of rule names to actions, e.g. {{{known[0]}: count}}")
            continue
        for rule, action in rules.items():
            if rule not in known:
                hint = did_you_mean(str(rule), known)
                rd.add(f"{path}.{group}.{rule}: not a rule of {group}{hint}; its rules are {', '.join(known)}")
            elif action not in WAF_RULE_ACTIONS:
                rd.add(f"{path}.{group}.{rule}: {action!r} is not an action; use one of {', '.join(WAF_RULE_ACTIONS)}")
            else:
                overrides.append((group, rule, action))
    return tuple(overrides)


def _overrides_as_map(overrides: tuple[tuple[str, str, str], ...]) -> dict[str, dict[str, str]]:
    grouped: dict[str, dict[str, str]] = {}
    for group, rule, action in overrides:
        grouped.setdefault(group, {})[rule] = action
    return grouped


_OVERRIDES_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        group: {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {rule: {"enum": list(WAF_RULE_ACTIONS)} for rule in rules},
        }
        for group, rules in MANAGED_RULE_GROUPS.items()
    },
}


def _parse_prefix(raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: str) -> Any:
    prefix = default if raw is None and "prefix" not in d else raw
    if rd.unresolved(prefix):
        return prefix
    if not isinstance(prefix, str):
        rd.add(f"{path}: {prefix!r} is not a string")
    elif "AWSLogs" in prefix:
        rd.add(f"{path}: {prefix!r} contains AWSLogs, which ALB refuses (it adds AWSLogs/ itself)")
    elif prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        rd.add(f"{path}: {prefix!r} must not start or end with / (write e.g. alb or team/alb)")
    elif not _PREFIX_RE.match(prefix) or len(prefix) > 200:
        rd.add(f"{path}: {prefix!r} has characters unsafe in an S3 key; use letters, digits and ! _ . * ' ( ) / -")
    return prefix


_FUNCTION_KEY_RE = re.compile(FUNCTION_KEY_PATTERN)


def _parse_functions(raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: Any) -> dict[str, Any]:
    """``functions``: each entry a whole function block, read and checked like ``function``."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        example = f"{{api: {{{rd.key('memory_size')}: 512}}}}"
        rd.add(f"{path}: {raw!r} is not a map of function keys to function blocks, e.g. {example}")
        return {}
    functions = {}
    for key, block in raw.items():
        where = function_path(rd, key, path)
        if not isinstance(key, str) or not _FUNCTION_KEY_RE.match(key):
            rd.add(f"{where}: not a function key; use lower-case letters, digits and -, starting with a letter")
            continue
        functions[key] = read_block(FunctionArgs, block, where, rd)
    return functions


def _parse_tags(raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: Any) -> dict[str, str]:
    """The team's own tags: AWS's limits, no ``aws:`` prefix, and our own keys stay ours."""
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


_TAGS_SCHEMA = {
    "type": "object",
    "maxProperties": MAX_TAGS - len(OWN_TAG_KEYS),
    "propertyNames": {"maxLength": MAX_TAG_KEY, "pattern": r"^(?![aA][wW][sS]:)[\w .:/=+\-@]+$",
                      "not": {"enum": list(OWN_TAG_KEYS)}},
    "additionalProperties": {"type": "string", "maxLength": MAX_TAG_VALUE, "pattern": _TAG_RE.pattern},
}  # fmt: skip
_SECURE = {"type": "object", "required": ["secure"], "properties": {"secure": {"type": "string"}}}
_ENVIRONMENT_SCHEMA = {
    "type": "object",
    "propertyNames": {"pattern": _ENV_KEY_RE.pattern, "not": {"enum": sorted(RESERVED_ENV_KEYS)}},
    "additionalProperties": {"oneOf": [{"type": "string"}, _SECURE]},
}
_DEFAULT_ACTION_SCHEMA = {
    "oneOf": [
        {"const": "forward"},
        {"type": "object", "additionalProperties": False, "required": ["forward"],
         "properties": {"forward": {"type": "string"}}},
        {"type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
         "properties": {"fixedResponse": {"$ref": "#/$defs/fixedResponse"}, "redirect": {"$ref": "#/$defs/redirect"}}},
    ]
}  # fmt: skip


# --- the blocks -------------------------------------------------------------------------------

_SG_RE = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")


def _parse_ports(raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: tuple[int, ...]) -> Any:
    """TCP ports, each 1-65535."""
    if raw is None:
        return default
    ok = (
        isinstance(raw, list | tuple)
        and raw
        and all(isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 65535 for p in raw)
    )
    if not ok:
        rd.add(f"{path}: {raw!r} is not a list of TCP ports 1-65535, e.g. [443, 5432]")
        return default
    return tuple(raw)


@describe
@dataclass(frozen=True)
class FunctionVpcArgs:
    """Private network access for the function: ``function.vpc`` (its network interfaces in your
    subnets). Costs a NAT gateway for internet access and some cold-start time: use only to reach
    something private."""

    subnet_ids: InputList = setting(
        (), kind="strings", example="subnet-0123456789abcdef0", pattern=_SUBNET_RE.pattern,
        check=_item(_SUBNET_RE, "a subnet ID (subnet- and 8 or 17 hex digits)"),
        allowed="one or more `subnet-...` of one VPC (two zones or more for availability)",
        doc="The private subnets the function's network interfaces are placed in.",
    )  # fmt: skip
    security_group_ids: InputList = setting(
        (), kind="strings", example="sg-0123456789abcdef0", pattern=_SG_RE.pattern,
        check=_item(_SG_RE, "a security group ID (sg- and 8 or 17 hex digits)"),
        allowed="`sg-...` IDs; unset: a group the component creates",
        doc="Existing security groups of the function. Unset: one with no ingress and only the egress below.",
    )  # fmt: skip
    egress_cidrs: InputList = setting(
        (), kind="strings", example="10.0.0.0/16", check=r.cidr_problem,
        allowed="CIDR blocks; only without `securityGroupIds`",
        doc="Where the function may connect, through the group the component creates.",
    )  # fmt: skip
    egress_ports: tuple[int, ...] = setting(
        (443,), kind="custom", parse=_parse_ports, allowed="TCP ports 1-65535",
        schema={"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1, "maximum": 65535}},
        doc="The TCP ports the created group lets the function connect to.",
    )  # fmt: skip

    def cross_check(self, rd: Reader, path: str, given: frozenset[str]) -> None:
        """Subnets are required; the egress keys shape only the group the component creates."""
        k = rd.key
        if not rd.unresolved(self.subnet_ids) and not self.subnet_ids and k("subnet_ids") not in rd.bad_keys(path):
            rd.add(f"{path}.{k('subnet_ids')}: missing; list the private subnets the function runs in")
        own = [key for key in (k("egress_cidrs"), k("egress_ports")) if key in given]
        if k("security_group_ids") in given and own:
            rd.add(f"{path}.{k('security_group_ids')}: given with {', '.join(own)}, which shape only the group the "
                   "component creates; put those rules in your groups instead")  # fmt: skip
        elif k("security_group_ids") not in given and k("egress_cidrs") not in given:
            rd.add(f"{path}.{k('egress_cidrs')}: missing; list where the function connects (e.g. the database's "
                   f"subnets), or give {k('security_group_ids')}")  # fmt: skip


@describe
@dataclass(frozen=True)
class FunctionArgs:
    """The Lambda function: ``function`` in the stack configuration."""

    runtime: str = setting(DEFAULT_RUNTIME, kind="choice", choices=SUPPORTED_RUNTIMES, doc="Lambda's Python runtime.")
    architecture: str = setting(
        DEFAULT_ARCHITECTURE, kind="choice", choices=ARCHITECTURES, doc="The processor the function runs on."
    )
    memory_size: int = setting(
        DEFAULT_MEMORY_MB, kind="int", lo=MEMORY_RANGE_MB[0], hi=MEMORY_RANGE_MB[1], unit=" MB",
        doc="Memory in MB; CPU is allotted in proportion.",
    )  # fmt: skip
    timeout: int = setting(
        DEFAULT_TIMEOUT_S, kind="int", lo=TIMEOUT_RANGE_S[0], hi=TIMEOUT_RANGE_S[1], unit=" seconds",
        doc="How long one invocation may run; the load balancer answers 502 after it.",
    )  # fmt: skip
    reserved_concurrency: int | None = setting(
        None, kind="custom", parse=_parse_reserved, schema={"type": "integer", "minimum": 1},
        allowed="1 or more; 0 is refused (it would throttle every request)",
        doc="Concurrency reserved from the account's pool; requests above it get 502. Unset: unreserved.",
    )  # fmt: skip
    tracing: str = setting(
        DEFAULT_TRACING, kind="choice", choices=TRACING_MODES, doc="X-Ray tracing; Active adds the X-Ray permissions."
    )
    log_retention_days: int = setting(
        DEFAULT_LOG_RETENTION_DAYS, kind="custom", parse=_retention(1), schema=_retention_schema(1),
        allowed="a retention CloudWatch Logs accepts: " + ", ".join(map(str, LOG_RETENTION_DAYS)),
        doc="Days the function's log group keeps its logs.",
    )  # fmt: skip
    keeps_function_names: bool = setting(
        False, kind="bool",
        doc="In functions only: this key is the stack's former `function` block, and keeps its names (function, "
        "log group, role, target group, alarms), so moving from function to functions replaces nothing and keeps "
        "the versions and logs. One key at most.",
    )  # fmt: skip
    delete_logs_with_function: bool = setting(
        False, kind="bool",
        doc="True: removing the function (or renaming its key) deletes its log group and the events in it. "
        "False: the group is left in AWS, its retention still applying; a function of the same name later "
        "cannot be created until it is deleted by hand.",
    )  # fmt: skip
    environment: Mapping[str, InputStr] = setting(
        kind="custom", factory=dict, parse=_parse_environment, schema=_ENVIRONMENT_SCHEMA,
        allowed=f"names of two or more letters, digits and _ (not those Lambda reserves) to strings, "
        f"{MAX_ENV_BYTES // 1024} KB in total",
        doc="Environment variables of the function; a value may be a secret (docs/configuration.md#secrets).",
    )  # fmt: skip
    code_dir: str = setting(
        DEFAULT_CODE_DIR,
        kind="string",
        doc="The function's code: a directory under the project root; a requirements.txt there is installed "
        "for the function's platform (docs/dependencies.md).",
    )
    code: Any = setting(
        None, kind="custom", code_only=True, parse=_parse_code, allowed="a `pulumi.Archive`",
        doc="In code only: the function's package as a pulumi.Archive, used instead of code_dir.",
    )  # fmt: skip
    handler: str = setting(
        DEFAULT_HANDLER, kind="string", pattern=_HANDLER_RE.pattern,
        check=_pattern(_HANDLER_RE, "a handler; write module.function, e.g. app.handler"),
        allowed="`module.function`; the module file must exist in `codeDir`",
        doc="The function Lambda calls.",
    )  # fmt: skip
    live_version: str | None = setting(
        None, kind="custom", parse=_parse_version, schema=_VERSION_SCHEMA, allowed="a published version number",
        doc="Pins the live alias to this version (a rollback). Unset: the newest version.",
    )  # fmt: skip
    canary_weight: int = setting(
        0, kind="int", lo=0, hi=100, unit=" percent",
        doc="Percent of live's traffic routed to the newest version during a canary; needs stableVersion.",
    )  # fmt: skip
    stable_version: str | None = setting(
        None, kind="custom", parse=_parse_version, schema=_VERSION_SCHEMA, allowed="a published version number",
        doc="The version live keeps serving the rest of the traffic with during a canary.",
    )  # fmt: skip
    vpc: FunctionVpcArgs | None = setting(
        None, kind="block", block=FunctionVpcArgs, allowed="see `vpc.*`",
        doc="Runs the function in your VPC's private subnets, to reach something private (a database).",
    )  # fmt: skip
    provisioned_concurrency: int | None = setting(
        None, kind="int", lo=1, hi=None, allowed="1 or more; at most reservedConcurrency when that is set",
        doc="Instances the live alias keeps initialised (no cold starts up to this many); billed while deployed.",
    )  # fmt: skip
    permissions_boundary: InputStr | None = setting(
        None, kind="string", pattern=_POLICY_ARN_RE.pattern,
        check=_pattern(_POLICY_ARN_RE, "an IAM managed policy ARN (arn:aws:iam::<account>:policy/<name>)"),
        allowed="an IAM managed policy ARN",
        doc="Permissions boundary of the execution role; required when the pipeline deploys.",
    )  # fmt: skip
    kms_key_arn: InputStr | None = setting(
        None, kind="string", pattern=_KMS_KEY_ARN_RE.pattern, check=_pattern(_KMS_KEY_ARN_RE, _KMS_KEY_ALLOWED),
        allowed=_KMS_KEY_ALLOWED,
        doc="Customer-managed key for the variables: only the function and roles allowed to use the key can "
        "read them (the bootstrap's devKeyArn/prodKeyArn); required when environment holds a secret.",
    )  # fmt: skip

    def cross_check(self, rd: Reader, path: str, given: frozenset[str]) -> None:
        """The code directory and handler module exist; a canary has its stable version and no pin."""
        k = rd.key
        project_dir = rd.context.get("project_dir")
        bad = rd.bad_keys(path)
        if project_dir is not None and self.code is None and k("code_dir") not in bad and k("handler") not in bad:
            code_path = Path(project_dir) / self.code_dir
            if not code_path.resolve().is_relative_to(Path(project_dir).resolve()):
                rd.add(
                    f"{path}.{k('code_dir')}: {self.code_dir!r} is outside the project; "
                    f"use a directory under {project_dir}"
                )
            elif not code_path.is_dir():
                rd.add(f"{path}.{k('code_dir')}: {self.code_dir!r} is not a directory under {project_dir}")
            else:
                module = self.handler.rsplit(".", 1)[0]
                if not (code_path / (module.replace(".", "/") + ".py")).is_file():
                    rd.add(
                        f"{path}.{k('handler')}: {self.handler!r} names module {module!r}, but {self.code_dir}/"
                        f"{module.replace('.', '/')}.py does not exist"
                    )
        reserved, provisioned = self.reserved_concurrency, self.provisioned_concurrency
        if isinstance(reserved, int) and isinstance(provisioned, int) and provisioned > reserved:
            rd.add(
                f"{path}.{k('provisioned_concurrency')}: {provisioned} is more than {path}.{k('reserved_concurrency')} "
                f"({reserved}); Lambda cannot keep more instances ready than the function may run"
            )
        weight, stable = self.canary_weight, self.stable_version
        if weight and stable is None and k("stable_version") not in bad:
            rd.add(
                f"{path}.{k('canary_weight')}: {weight} needs {path}.{k('stable_version')}, the version that serves "
                f"the other {100 - weight} percent (the functionVersion output before this release)"
            )
        if stable is not None and not weight and k("canary_weight") not in given:
            rd.add(
                f"{path}.{k('stable_version')}: set without {path}.{k('canary_weight')}; "
                "give the canary's percentage (1-100)"
            )
        if weight and self.live_version is not None:
            rd.add(
                f"{path}.{k('live_version')}: set during a canary, where live serves {path}.{k('stable_version')} "
                f"and routes {weight} percent to the new version; remove {k('live_version')} (or the canary keys, "
                "to roll back)"
            )


@describe
@dataclass(frozen=True)
class HealthCheckArgs:
    """Target-group health check; off by default (each check is a billed invocation)."""

    enabled: bool = setting(False, kind="bool", doc="Each check is a billed invocation, hence off by default.")
    path: str = setting(
        "/", kind="string", pattern="^/", check=_health_path_problem, allowed="starts with `/`",
        doc="The path the load balancer GETs.",
    )  # fmt: skip
    interval: int = setting(
        35, kind="int", lo=HEALTH_INTERVAL_RANGE_S[0], hi=HEALTH_INTERVAL_RANGE_S[1], unit=" seconds",
        doc="Seconds between checks; more than timeout.",
    )  # fmt: skip
    timeout: int = setting(
        30, kind="int", lo=HEALTH_TIMEOUT_RANGE_S[0], hi=HEALTH_TIMEOUT_RANGE_S[1], unit=" seconds",
        doc="Seconds a check may take.",
    )  # fmt: skip
    healthy_threshold: int = setting(
        5, kind="int", lo=HEALTH_THRESHOLD_RANGE[0], hi=HEALTH_THRESHOLD_RANGE[1],
        doc="Successes in a row that make the target healthy.",
    )  # fmt: skip
    unhealthy_threshold: int = setting(
        2, kind="int", lo=HEALTH_THRESHOLD_RANGE[0], hi=HEALTH_THRESHOLD_RANGE[1],
        doc="Failures in a row that make the target unhealthy.",
    )  # fmt: skip
    matcher: str = setting(
        "200", kind="string", pattern=_MATCHER_RE.pattern, check=_matcher_problem,
        allowed="codes or ranges within 200-499: `200`, `200,204`, `200-299`", doc="The answers that count as healthy.",
    )  # fmt: skip

    def cross_check(self, rd: Reader, path: str, given: frozenset[str]) -> None:
        """ALB refuses an interval that does not exceed the timeout."""
        interval, timeout = rd.key("interval"), rd.key("timeout")
        if (interval in given or timeout in given) and self.interval <= self.timeout:
            rd.add(
                f"{path}.{interval}: {self.interval} must be greater than {path}.{timeout} "
                f"({self.timeout}); ALB refuses an interval that does not exceed the timeout"
            )


@describe
@dataclass(frozen=True)
class LoadBalancerArgs:
    """The load balancer, its listeners and security group: ``loadBalancer``."""

    internal: bool = setting(False, kind="bool", doc="True: reachable only inside the VPC.")
    vpc_id: InputStr | None = setting(
        None, kind="string", pattern=_VPC_RE.pattern,
        check=_pattern(_VPC_RE, "a VPC ID (vpc- and 8 or 17 hex digits)"), allowed="`vpc-...`; requires `subnetIds`",
        doc="The VPC. Unset: the subnets' VPC, or the default VPC.",
    )  # fmt: skip
    subnet_ids: InputList = setting(
        (), kind="strings", example="subnet-0123456789abcdef0", pattern=_SUBNET_RE.pattern,
        check=_item(_SUBNET_RE, "a subnet ID (subnet- and 8 or 17 hex digits)"),
        allowed="two or more `subnet-...` IDs of one VPC in different availability zones",
        doc="The load balancer's subnets. Unset: the default VPC's default subnets.",
    )  # fmt: skip
    allowed_cidrs: InputList = setting(
        DEFAULT_ALLOWED_CIDRS, kind="strings", example="203.0.113.0/24", check=r.cidr_problem,
        allowed="IPv4/IPv6 CIDR blocks (no host bits); at most 60 rules: CIDRs x ports",
        doc="Who may connect: the security group opens the listener ports to these only.",
    )  # fmt: skip
    certificate_arn: InputStr | None = setting(
        None, kind="string", pattern=_CERT_ARN_RE.pattern,
        check=_pattern(_CERT_ARN_RE, "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"),
        allowed="an ACM certificate ARN", doc="Serves HTTPS on 443 with this certificate. Unset: HTTP on 80 only.",
    )  # fmt: skip
    ssl_policy: str = setting(
        DEFAULT_SSL_POLICY, kind="choice", choices=SSL_POLICIES,
        doc="The HTTPS listener's TLS policy: TLS 1.3 policies that refuse TLS 1.0/1.1; needs certificateArn.",
    )  # fmt: skip
    http_redirect: bool = setting(
        True, kind="bool", doc="With a certificate: port 80 redirects to 443 with 301; false opens no port 80."
    )
    deletion_protection: bool = setting(True, kind="bool", doc="False lets `pulumi destroy` delete the load balancer.")
    idle_timeout: int = setting(
        DEFAULT_IDLE_TIMEOUT_S, kind="int", lo=IDLE_TIMEOUT_RANGE_S[0], hi=IDLE_TIMEOUT_RANGE_S[1], unit=" seconds",
        doc="Seconds a connection may stay idle.",
    )  # fmt: skip
    desync_mitigation_mode: str = setting(
        DEFAULT_DESYNC_MODE, kind="choice", choices=DESYNC_MODES,
        doc="How ambiguous requests are treated (monitor is refused).",
    )  # fmt: skip
    multi_value_headers: bool = setting(
        False, kind="bool", doc="The function gets and must answer multiValueHeaders (repeated headers, cookies)."
    )
    health_check: HealthCheckArgs = setting(
        kind="block", block=HealthCheckArgs, factory=HealthCheckArgs, allowed="see `healthCheck.*`",
        doc="The target group's health check.",
    )  # fmt: skip
    default_action: r.Action | FixedResponseArgs | RedirectArgs | Mapping[str, Any] | str = setting(
        kind="custom", factory=r.Forward, parse=_parse_default_action, schema=_DEFAULT_ACTION_SCHEMA,
        allowed="`forward`, `{fixedResponse: {...}}` or `{redirect: {...}}` (shapes as in routes)",
        doc="What requests no route matches get: forward to the function by default.",
    )  # fmt: skip
    domain_name: str | None = setting(
        None, kind="custom", parse=_parse_lower, schema={"type": "string", "pattern": _DOMAIN_RE.pattern},
        allowed="a DNS name inside `hostedZoneName`, e.g. `app.example.com`",
        doc="The stack issues an ACM certificate for it, serves HTTPS with it and adds an alias record.",
    )  # fmt: skip
    hosted_zone_name: str | None = setting(
        None, kind="custom", parse=_parse_lower, schema={"type": "string", "pattern": _DOMAIN_RE.pattern},
        allowed="a public Route 53 zone, e.g. `example.com`", doc="The zone that holds domainName.",
    )  # fmt: skip

    @property
    def default(self) -> r.Action:
        """The default action as a listener rule's action (what it is once read)."""
        action = self.default_action
        return action if isinstance(action, r.Forward | r.FixedResponse | r.Redirect) else r.Forward()

    @property
    def https(self) -> bool:
        """True when the serving listener is HTTPS (a certificate, or a domain to get one for)."""
        return self.certificate_arn is not None or self.domain_name is not None

    def listener_ports(self) -> tuple[int, ...]:
        """The ports the load balancer listens on, hence the ports its security group opens."""
        if not self.https:
            return (80,)
        return (80, 443) if self.http_redirect else (443,)

    def cross_check(self, rd: Reader, path: str, given: frozenset[str]) -> None:
        """Subnets, VPC, CIDRs, certificate, TLS policy and domain agree with each other and with AWS."""
        k = rd.key
        subnets, cidrs = self.subnet_ids, self.allowed_cidrs
        distinct = 0 if rd.unresolved(subnets) else len(set(known(subnets)))
        if k("subnet_ids") in given and not rd.unresolved(subnets) and distinct < 2:
            rd.add(
                f"{path}.{k('subnet_ids')}: {distinct} distinct subnet(s); an Application Load Balancer "
                "needs at least two, in different availability zones (or remove the key to use the default VPC's)"
            )
        if k("vpc_id") in given and self.vpc_id is not None and k("subnet_ids") not in given:
            rd.add(
                f"{path}.{k('subnet_ids')}: required when {path}.{k('vpc_id')} is set; list at least two subnets of "
                f"that VPC in different availability zones (or remove {k('vpc_id')} to use the default VPC)"
            )
        if k("allowed_cidrs") in given and not rd.unresolved(cidrs) and not cidrs:
            rd.add(f"{path}.{k('allowed_cidrs')}: empty; nobody could reach the load balancer. Give at least one CIDR")
        self._check_domain(rd, path, given)
        certificate_given = k("certificate_arn") in given
        if self.http_redirect is True and k("http_redirect") in given and not self.https and not certificate_given:
            rd.add(
                f"{path}.{k('http_redirect')}: true needs {path}.{k('certificate_arn')} "
                "(there is no HTTPS listener to redirect to)"
            )
        if k("ssl_policy") in given and not self.https and not certificate_given:
            rd.add(
                f"{path}.{k('ssl_policy')}: set, but without {path}.{k('certificate_arn')} "
                "there is no HTTPS listener to use it"
            )
        if not rd.unresolved(cidrs):
            cidrs = known(cidrs)
            rules_needed = len(cidrs) * len(self.listener_ports())
            if rules_needed > MAX_SG_RULES:
                rd.add(
                    f"{path}.{k('allowed_cidrs')}: {len(cidrs)} CIDRs x {len(self.listener_ports())} ports = "
                    f"{rules_needed} security-group rules; at most {MAX_SG_RULES} are allowed"
                )

    def _check_domain(self, rd: Reader, path: str, given: frozenset[str]) -> None:
        """domainName and hostedZoneName come together, name a public DNS name inside that zone, and
        replace certificateArn (the certificate is then issued and validated by the stack)."""
        k = rd.key
        domain, zone = self.domain_name, self.hosted_zone_name
        if domain is None and zone is None:
            return
        for name, value in (("domain_name", domain), ("hosted_zone_name", zone)):
            if value is None:
                other = "hosted_zone_name" if name == "domain_name" else "domain_name"
                rd.add(
                    f"{path}.{k(name)}: missing; {path}.{k(other)} needs it (the certificate is validated in that zone)"
                )
            elif not isinstance(value, str) or not _DOMAIN_RE.match(value):
                rd.add(f"{path}.{k(name)}: {value!r} is not a DNS name such as app.example.com")
        both_valid = all(isinstance(v, str) and _DOMAIN_RE.match(v) for v in (domain, zone))
        if both_valid and domain != zone and not str(domain).endswith(f".{zone}"):
            rd.add(
                f"{path}.{k('domain_name')}: {domain!r} is outside the zone {zone!r}; use a name that ends with .{zone}"
            )
        if k("certificate_arn") in given and domain is not None:
            rd.add(
                f"{path}.{k('certificate_arn')}: set with {path}.{k('domain_name')}; give one "
                "(the domain gets its own certificate)"
            )


# As the reader takes them (components/rules.py): a fixed response's status is 2XX, 4XX or 5XX; a
# redirect's port a number or a string of one, or the placeholder.
_FIXED_STATUS_SCHEMA = {
    "type": "integer",
    "anyOf": [{"minimum": 200, "maximum": 299}, {"minimum": 400, "maximum": 599}],
}
_PORT_SCHEMA = {
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": 65535},
        {"type": "string", "pattern": "^(#\\{port\\}|[1-9][0-9]{0,4})$"},
    ]
}


@describe
@dataclass(frozen=True)
class FixedResponseArgs:
    """A fixed response the load balancer answers itself: ``fixedResponse`` of a route."""

    status_code: int = setting(
        kind="custom", schema=_FIXED_STATUS_SCHEMA, allowed="2XX, 4XX or 5XX", doc="An integer such as 403."
    )
    content_type: str = setting(
        "text/plain", kind="choice", choices=r.FIXED_RESPONSE_CONTENT_TYPES, doc="The response's content type."
    )
    body: str = setting(
        "", kind="custom", schema={"type": "string", "maxLength": r.MAX_FIXED_RESPONSE_BODY},
        allowed=f"at most {r.MAX_FIXED_RESPONSE_BODY} characters", doc="The body.",
    )  # fmt: skip


@describe
@dataclass(frozen=True)
class RedirectArgs:
    """A redirect the load balancer answers itself: ``redirect`` of a route (each part defaults to the
    request's own)."""

    protocol: str = setting("#{protocol}", kind="choice", choices=r.REDIRECT_PROTOCOLS, doc="HTTP or HTTPS.")
    host: str = setting("#{host}", kind="string", doc="The host; #{host} placeholders allowed.")
    port: str = setting("#{port}", kind="custom", schema=_PORT_SCHEMA, allowed="1-65535 or `#{port}`", doc="The port.")
    path: str = setting("/#{path}", kind="string", pattern="^/", doc="Starts with /; #{path} placeholders allowed.")
    query: str = setting("#{query}", kind="string", doc="The query string without ?.")
    status_code: str = setting(kind="choice", choices=r.REDIRECT_STATUS_CODES, doc="HTTP_301 or HTTP_302.")


_HEADERS_SCHEMA = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
_QUERY_SCHEMA = {
    "type": "array",
    "items": {"type": "object", "additionalProperties": False, "required": ["value"],
              "properties": {"key": {"type": "string"}, "value": {"type": "string"}}},
}  # fmt: skip


@describe
@dataclass(frozen=True)
class RouteArgs:
    """A listener rule: conditions ANDed (values inside one ORed), then forward, a fixed response or a
    redirect. Read by the routes' own reader (``_parse_routes``), which turns it into a
    ``components.rules.Rule``; these declarations give its keys, schema and docs."""

    priority: int = setting(
        kind="int", lo=r.PRIORITY_MIN, hi=r.PRIORITY_MAX, doc="Required, unique; lowest first.", allowed="1-50000"
    )
    path_patterns: tuple[str, ...] = setting(
        (), kind="strings", doc="Case-sensitive; `*` (any characters, `/` included) and `?` (one character)."
    )
    hosts: tuple[str, ...] = setting((), kind="strings", doc="Host names; case-insensitive; wildcards.")
    methods: tuple[str, ...] = setting((), kind="strings", doc="Method names, exact and case-sensitive (GET).")
    headers: Mapping[str, tuple[str, ...]] | None = setting(
        None, kind="custom", schema=_HEADERS_SCHEMA, allowed="`{x-env: [beta]}`",
        doc="Header names to lists of values; case-insensitive, wildcards; not Host (use hosts).",
    )  # fmt: skip
    query_strings: tuple[tuple[str | None, str], ...] = setting(
        (), kind="custom", schema=_QUERY_SCHEMA, allowed="a list of `{key?, value}`",
        doc="Any pair matches; no key means any key; `\\*` and `\\?` are literal.",
    )  # fmt: skip
    source_ips: tuple[str, ...] = setting((), kind="strings", doc="CIDR blocks of the TCP peer (not X-Forwarded-For).")
    function: str | None = setting(
        None, kind="string", pattern=FUNCTION_KEY_PATTERN, allowed="a key of `functions`",
        doc="With several functions: the one this route forwards to (not with fixedResponse or redirect).",
    )  # fmt: skip
    fixed_response: FixedResponseArgs | None = setting(
        None, kind="block", block=FixedResponseArgs, doc="Answer with a fixed response.", allowed="see below"
    )
    redirect: RedirectArgs | None = setting(
        None, kind="block", block=RedirectArgs, doc="Answer with a redirect.", allowed="see below"
    )


@describe
@dataclass(frozen=True)
class AccessLogsArgs:
    """Access logging to a dedicated S3 bucket: ``accessLogs``."""

    enabled: bool = setting(True, kind="bool", doc="False creates no bucket (and fails the ELB.5 control).")
    prefix: str = setting(
        DEFAULT_LOG_PREFIX, kind="custom", parse=_parse_prefix,
        schema={"type": "string", "pattern": _PREFIX_RE.pattern},
        allowed="S3-safe characters, no leading or trailing `/`, never containing `AWSLogs`",
        doc="Where in the bucket the logs go.",
    )  # fmt: skip
    expiration_days: int = setting(
        DEFAULT_LOG_EXPIRATION_DAYS, kind="int", lo=1, hi=3650, unit=" days",
        doc="Logs are deleted after this many days; incomplete uploads after one.",
    )  # fmt: skip
    force_destroy: bool = setting(
        False, kind="bool", doc="True: `pulumi destroy` empties and deletes the bucket (needs protect: false)."
    )
    protect: bool = setting(
        True, kind="bool", doc="True: the bucket and its settings are kept when the stack is destroyed."
    )

    def cross_check(self, rd: Reader, path: str, given: frozenset[str]) -> None:
        """A protected bucket is kept on destroy: it cannot also be emptied and deleted."""
        if self.force_destroy and self.protect:
            rd.add(
                f"{path}.{rd.key('force_destroy')}: true conflicts with {path}.{rd.key('protect')}: true; a protected "
                "bucket is kept on destroy, so set protect: false to allow deleting it with its logs"
            )


@describe
@dataclass(frozen=True)
class MonitoringArgs:
    """Alarms (to an encrypted SNS topic) and a dashboard: ``monitoring``. Off unless configured."""

    alarms: bool = setting(
        False,
        kind="bool",
        doc="Alarms (load balancer 5xx and latency; per function 5xx, errors, throttles, duration; while a canary "
        "or warm instances run, their own) notify an SNS topic encrypted with a customer-managed key.",
    )
    dashboard: bool = setting(False, kind="bool", doc="One CloudWatch dashboard; its URL is the dashboardUrl output.")
    kms_key_arn: InputStr | None = setting(
        None, kind="string", pattern=_KMS_KEY_ARN_RE.pattern, check=_pattern(_KMS_KEY_ARN_RE, _KMS_KEY_ALLOWED),
        allowed=_KMS_KEY_ALLOWED + "; needs `alarms`",
        doc="Encrypts the alarm topic with this key (the bootstrap's, when the pipeline deploys). Unset: the "
        "stack creates a key of its own, which the pipeline's roles may not.",
    )  # fmt: skip
    alarm_email: str | None = setting(
        None, kind="string", pattern=_EMAIL_RE.pattern, allowed="an e-mail address; needs `alarms`",
        check=lambda v: None if _EMAIL_RE.match(v) else "is not an e-mail address",
        doc="Subscribed to the alarm topic (confirm the message AWS sends).",
    )  # fmt: skip
    elb_5xx_threshold: int = setting(
        10, kind="int", lo=1, doc="Load-balancer 5xx per minute, in 3 of 5 minutes (HTTPCode_ELB_5XX_Count)."
    )
    target_5xx_threshold: int = setting(
        10, kind="int", lo=1, doc="Function 5xx per minute, in 3 of 5 minutes (HTTPCode_Target_5XX_Count)."
    )
    errors_threshold: int = setting(5, kind="int", lo=1, doc="Lambda Errors per minute, in 3 of 5 minutes.")
    latency_p99_seconds: float = setting(
        2.0, kind="float", lo=0, hi=4000, unit=" seconds", allowed="a number of seconds in (0, 4000]",
        doc="TargetResponseTime p99 over 5 minutes, 2 of 3 periods.",
    )  # fmt: skip
    duration_p99_percent: int = setting(
        80, kind="int", lo=1, hi=100, unit=" percent",
        doc="Lambda Duration p99 as a percentage of function.timeout, 2 of 3 five-minute periods.",
    )  # fmt: skip

    def cross_check(self, rd: Reader, path: str, given: frozenset[str]) -> None:
        """An e-mail address is only written to by alarms."""
        if self.kms_key_arn is not None and not self.alarms:
            rd.add(f"{path}.{rd.key('kms_key_arn')}: set while {path}.alarms is off; there is no topic to encrypt")
        if self.alarm_email is not None and not self.alarms:
            rd.add(
                f"{path}.{rd.key('alarm_email')}: set while {path}.alarms is off; nothing would be sent "
                "(set alarms: true)"
            )


@describe
@dataclass(frozen=True)
class WafArgs:
    """A WAFv2 web ACL in front of the load balancer: ``waf``. Off unless configured."""

    enabled: bool = setting(
        False, kind="bool",
        doc="A regional WAFv2 web ACL on the load balancer: a per-IP rate limit, then four AWS managed rule "
        "groups, logged with credentials redacted.",
    )  # fmt: skip
    rate_limit: int = setting(
        DEFAULT_WAF_RATE_LIMIT, kind="int", lo=WAF_RATE_LIMIT_RANGE[0], hi=WAF_RATE_LIMIT_RANGE[1],
        unit=" requests per 5 minutes per IP", allowed="10 (AWS's minimum) to 2,000,000,000",
        doc="Requests per 5 minutes per client IP before the rate rule blocks.",
    )  # fmt: skip
    web_acl_arn: InputStr | None = setting(
        None, kind="string", pattern=_WEB_ACL_ARN_RE.pattern,
        check=_pattern(
            _WEB_ACL_ARN_RE,
            "a regional WAFv2 web ACL ARN (arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>)",
        ),
        allowed="a regional web ACL ARN; then none of the other keys but enabled",
        doc="Associate this existing web ACL (of any name) instead of creating one.",
    )  # fmt: skip
    log_retention_days: int = setting(
        365, kind="custom", parse=_retention(365), schema=_retention_schema(365),
        allowed="a CloudWatch retention of at least 365 days",
        doc="Days the aws-waf-logs-<name> log group keeps its logs.",
    )  # fmt: skip
    delete_logs_with_acl: bool = setting(
        False, kind="bool",
        doc="True: turning the WAF off (or to a shared ACL) deletes the aws-waf-logs-<name> group and its "
        "logs. False: the group is left in AWS, its retention still applying (delete it by hand before "
        "turning this stack's own WAF on again).",
    )  # fmt: skip
    block_hosting_providers: bool = setting(
        False, kind="bool",
        doc="False: HostingProviderIPList only counts (it would block every caller on a cloud provider's "
        "addresses, GitHub-hosted runners and the smoke check included).",
    )  # fmt: skip
    large_bodies: str = setting(
        "count", kind="choice", choices=("count", "block"),
        doc="Request bodies over 8 KB (SizeRestrictions_BODY of the common rule set): count (the default: an "
        "API that takes larger JSON keeps working; matches still show in the ACL's metrics and logs) or block "
        "(AWS's default: a 403 from the WAF).",
    )  # fmt: skip
    # Managed rules whose action is overridden: ((group, rule, action), ...).
    rule_overrides: tuple[tuple[str, str, str], ...] = setting(
        (), kind="custom", parse=_parse_rule_overrides, schema=_OVERRIDES_SCHEMA,
        allowed="`{<group>: {<rule>: count|block|allow|challenge|captcha}}`, rule names checked",
        doc="Override managed rules' actions, e.g. {AWSManagedRulesCommonRuleSet: {SizeRestrictions_BODY: count}}.",
    )  # fmt: skip

    def cross_check(self, rd: Reader, path: str, given: frozenset[str]) -> None:
        """An existing ACL keeps its own rules; hosting providers are set one way only."""
        k = rd.key
        own = [key for key in map(k, ("rate_limit", "log_retention_days", "rule_overrides", "block_hosting_providers",
                                      "large_bodies"))
               if key in given]  # fmt: skip
        if self.web_acl_arn and own:
            rd.add(
                f"{path}.{k('web_acl_arn')}: an existing web ACL keeps its own rules and logging; "
                f"remove {', '.join(own)}"
            )
        group, rule = HOSTING_PROVIDER_RULE
        if k("block_hosting_providers") in given and any((g, n) == (group, rule) for g, n, _ in self.rule_overrides):
            rd.add(
                f"{path}.{k('block_hosting_providers')}: set together with "
                f"{path}.{k('rule_overrides')}.{group}.{rule}; give one of them"
            )
        if self.web_acl_arn and not self.enabled:
            rd.add(f"{path}.{k('web_acl_arn')}: set while {path}.enabled is false; set enabled: true to associate it")


_SERVICE_NAME_SCHEMA = {"type": "string", "pattern": NAME_RE.pattern}


def _parse_service_name(raw: Any, d: Mapping[str, Any], rd: Reader, path: str, default: Any) -> Any:
    """The name every resource is named after (the load balancer's and target groups' start with it)."""
    if raw in (None, "") or rd.unresolved(raw):
        return None if raw == "" else raw  # Pulumi.yaml's default, "": not given
    if not isinstance(raw, str) or not NAME_RE.match(raw):
        rd.add(
            f"{path}: {raw!r} is not a name of at most {MAX_NAME_LENGTH} letters, digits and - (the load "
            "balancer's and target groups' names start with it and AWS allows 32 characters)"
        )
        return default
    return raw


@describe
@dataclass(frozen=True)
class LambdaAlbServiceArgs:
    """Everything the component needs: the stack configuration, block by block."""

    function: FunctionArgs = setting(kind="block", block=FunctionArgs, factory=FunctionArgs, doc="The Lambda function.")
    functions: Mapping[str, FunctionArgs] = setting(
        kind="custom", factory=dict, parse=_parse_functions,
        schema={"type": "object", "propertyNames": {"pattern": FUNCTION_KEY_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/function"}},
        allowed="a map of short keys (`api`, `web`: lower-case letters, digits, -) to `function` blocks",
        doc="Several functions behind the one load balancer, instead of function; routes name theirs.",
    )  # fmt: skip
    load_balancer: LoadBalancerArgs = setting(
        kind="block", block=LoadBalancerArgs, factory=LoadBalancerArgs,
        doc="The load balancer, its listeners and security group.",
    )  # fmt: skip
    routes: Sequence[RouteArgs | r.Rule] = setting(
        (), kind="custom", parse=_parse_routes, allowed=f"at most {MAX_ROUTES} routes",
        schema={"type": "array", "maxItems": MAX_ROUTES, "items": {"$ref": "#/$defs/route"}},
        doc="Listener rules on the serving listener (HTTPS when there is a certificate, else HTTP).",
    )  # fmt: skip
    access_logs: AccessLogsArgs = setting(
        kind="block", block=AccessLogsArgs, factory=AccessLogsArgs, doc="Access logging to a dedicated S3 bucket."
    )
    monitoring: MonitoringArgs = setting(
        kind="block", block=MonitoringArgs, factory=MonitoringArgs, doc="Alarms and a dashboard."
    )
    waf: WafArgs = setting(kind="block", block=WafArgs, factory=WafArgs, doc="A WAFv2 web ACL.")
    service_name: str | None = setting(
        None, kind="custom", parse=_parse_service_name, schema=_SERVICE_NAME_SCHEMA,
        allowed=f"letters, digits and -, at most {MAX_NAME_LENGTH} characters",
        doc="Names every resource (function, load balancer, logs...) and its place in the state. Unset: "
        "<project>-<stack>. Pin it (the stack files do) and `pulumi stack rename` replaces nothing.",
    )  # fmt: skip
    tags: Mapping[str, str] = setting(
        kind="custom", factory=dict, parse=_parse_tags, schema=_TAGS_SCHEMA,
        allowed=f"at most {MAX_TAGS - len(OWN_TAG_KEYS)}; keys up to {MAX_TAG_KEY} and values up to {MAX_TAG_VALUE} "
        "characters; no `aws:` prefix; not project, stack or managed-by",
        doc="The team's own tags (cost centre, owner...), on every taggable resource next to the component's.",
    )  # fmt: skip

    @property
    def rules(self) -> tuple[r.Rule, ...]:
        """The routes as listener rules (what they are once read: ``parse_settings`` or the component)."""
        return tuple(rule for rule in self.routes if isinstance(rule, r.Rule))

    def targets(self) -> dict[str | None, FunctionArgs]:
        """The functions behind the load balancer: ``{None: function}``, or ``functions`` by key."""
        if self.functions:
            return {key: function for key, function in self.functions.items()}
        return {None: self.function}

    def cross_check(self, rd: Reader, path: str, given: frozenset[str]) -> None:
        """Routes name functions that exist; every function is reached; HTTPS never redirects to HTTP."""
        self._check_functions(rd, given)
        self._check_redirects(rd)

    def _check_functions(self, rd: Reader, given: frozenset[str]) -> None:
        routes, lb, functions = rd.key("routes"), rd.key("load_balancer"), rd.key("functions")
        default_where = f"{lb}.{rd.key('default_action')}"
        actions = [(f"{routes}[{i}].function", rule.action) for i, rule in enumerate(self.rules)]
        actions.append((f"{default_where}.forward", self.load_balancer.default))
        forwards = [(where, action) for where, action in actions if isinstance(action, r.Forward)]
        keepers = sorted(key for key, fn in self.functions.items() if fn.keeps_function_names)
        if len(keepers) > 1:
            rd.add(
                f"{functions}: {', '.join(keepers)} all set {rd.key('keeps_function_names')}; only one function can "
                "keep the former function block's names"
            )
        if self.function.keeps_function_names:
            rd.add(
                f"{rd.key('function')}.{rd.key('keeps_function_names')}: only a key of {functions} can keep the "
                "function block's names; set it there when you move this function into functions"
            )
        if not self.functions:
            if functions in given:
                return  # an unreadable map is reported where it is read
            for where, action in forwards:
                if action.function is not None:
                    rd.add(
                        f"{where}: {action.function!r} names a function, but this service has one (the function "
                        "block); remove it, or declare several under functions"
                    )
            return
        if rd.key("function") in given:
            rd.add(f"function: set together with {functions}; give one function block or a map of several")
        known = sorted(self.functions)
        reached = set()
        for where, action in forwards:
            if action.function is None:
                example = "{forward: " + known[0] + "}" if where.startswith(default_where) else f"function: {known[0]}"
                rd.add(f"{where}: forwards without naming a function; with several, name one ({example})")
            elif action.function not in self.functions:
                hint = did_you_mean(action.function, known)
                rd.add(f"{where}: {action.function!r} is not one of the functions{hint}; known: {', '.join(known)}")
            else:
                reached.add(action.function)
        for key in known:
            if key not in reached:
                rd.add(f"{function_path(rd, key)}: no route or default action forwards to it; route to it or remove it")

    def _check_redirects(self, rd: Reader) -> None:
        """ALB does not redirect from its HTTPS listener to plain HTTP."""
        if not self.load_balancer.https:
            return
        routes, lb = rd.key("routes"), rd.key("load_balancer")
        actions = [(f"{routes}[{i}].redirect", rule.action) for i, rule in enumerate(self.rules)]
        actions.append((f"{lb}.{rd.key('default_action')}.redirect", self.load_balancer.default))
        for where, action in actions:
            if isinstance(action, r.Redirect) and action.protocol == "HTTP":
                rd.add(f"{where}.protocol: HTTP on the HTTPS listener; ALB does not allow redirects from HTTPS to HTTP")


def function_path(rd: Reader, key: str, path: str = "functions") -> str:
    """Where one function of ``functions`` is, in the caller's spelling: ``functions.api`` in a
    stack file (as ``pulumi config set --path`` writes it), ``functions['api']`` in code."""
    return f"{path}.{key}" if rd.style == CAMEL else f"{path}[{key!r}]"


def target_group_problems(name: str, functions: Mapping[str, Any], rd: Reader) -> None:
    """Each function's target group is named ``<service>-<key>-<7 random>`` and AWS allows 32
    characters: a key too long for this service's name is a problem, in the caller's spelling."""
    budget = 32 - len(name) - len("-") - len("-1234567")
    for key in functions:
        if len(key) > budget:
            rd.add(
                f"{function_path(rd, key)}: its target group is named {name}-{key}-<7 random>, over AWS's 32 "
                f"characters; with this service name use a key of at most {max(budget, 0)} characters"
            )


# The keys of each block, derived from the declarations (stack-file spelling).
TOP_LEVEL_KEYS = keys(LambdaAlbServiceArgs)
FUNCTION_KEYS = keys(FunctionArgs)
LOAD_BALANCER_KEYS = keys(LoadBalancerArgs)
HEALTH_CHECK_KEYS = keys(HealthCheckArgs)
ROUTE_KEYS = keys(RouteArgs)
FIXED_RESPONSE_KEYS = keys(FixedResponseArgs)
REDIRECT_KEYS = keys(RedirectArgs)
ACCESS_LOG_KEYS = keys(AccessLogsArgs)
MONITORING_KEYS = keys(MonitoringArgs)
WAF_KEYS = keys(WafArgs)


def read_settings(values: Mapping[str, Any], rd: Reader, path: str = "") -> LambdaAlbServiceArgs:
    """The whole configuration from its top-level values, problems collected in ``rd``."""
    join = (lambda key: f"{path}.{key}") if path else (lambda key: key)
    declared = {
        rd.key(f): f
        for f in (
            "service_name",
            "function",
            "functions",
            "load_balancer",
            "routes",
            "access_logs",
            "monitoring",
            "waf",
            "tags",
        )
    }
    for key in values:
        if key not in declared and rd.style == CAMEL:
            rd.add(unknown_key_problem(key))
        elif key not in declared:  # args built in code: their own spelling, no namespace or --path
            rd.add(f"{key}: unknown key{did_you_mean(key, tuple(declared))}; known keys are {', '.join(declared)}")
    # The load balancer first: its problems come first, as they are the likeliest to block a deploy.
    order = [
        "service_name",
        "load_balancer",
        "function",
        "functions",
        "routes",
        "access_logs",
        "monitoring",
        "waf",
        "tags",
    ]
    parsed: dict[str, Any] = {}
    for name in order:
        key = rd.key(name)
        f = next(f for f in LambdaAlbServiceArgs.__dataclass_fields__.values() if f.name == name)
        spec = f.metadata["spec"]
        raw = values.get(key)
        if spec.kind == "block":
            if raw is not None and not isinstance(raw, dict) and hasattr(raw, "__dataclass_fields__"):
                raw = as_raw(raw, rd.style)
            unused = name == "function" and not raw and values.get(rd.key("functions"))
            if unused:
                # Several functions and no `function` block: its defaults name no code directory.
                rd.context, saved = {**rd.context, "project_dir": None}, rd.context
            parsed[name] = read_block(spec.block, raw, join(key), rd)
            if unused:
                rd.context = saved
        else:
            default = f.default_factory() if callable(f.default_factory) else f.default
            parsed[name] = spec.parse(raw, values, rd, join(key), default)
    settings = LambdaAlbServiceArgs(**parsed)
    # Pulumi.yaml declares every key with an empty default: an empty value is not "given".
    settings.cross_check(rd, path, frozenset(k for k, v in values.items() if v not in (None, {}, [], ())))
    return settings


def parse_settings(values: Mapping[str, Any], project_dir: Path | None = None) -> LambdaAlbServiceArgs:
    """Validate the project's configuration and return typed settings.

    ``values`` maps each key of the ``lambda-alb`` namespace (without the namespace) to its
    decoded value; absent keys take their defaults. ``project_dir`` is where ``codeDir`` is
    resolved (None skips the file-system checks). Raises ``SettingsError`` with every problem.
    """
    rd = Reader(CAMEL, {"project_dir": project_dir})
    settings = read_settings(values, rd)
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
