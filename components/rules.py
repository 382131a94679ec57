"""The listener-rule model: conditions, actions and rules, as plain Python.

One definition of what a route means, shared by the Pulumi component (which renders rules to
provider arguments in ``components/listener.py``), the local ALB (which matches requests against
them) and the tests. No ``pulumi`` import here on purpose.

Every fact below is in docs/alb-behaviour.md#listener-rules.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from .model import to_camel

# How a message spells a key: the stack file's camelCase by default, the field name as is
# (snake_case) for routes built in code; settings.py passes its reader's spelling.
Spelling = Callable[[str], str]

PRIORITY_MIN = 1
PRIORITY_MAX = 50_000
MAX_VALUES_PER_RULE = 5
MAX_WILDCARDS_PER_RULE = 5
MAX_VALUE_LENGTH = 128
MAX_METHOD_LENGTH = 40
MAX_HEADER_NAME_LENGTH = 40
MAX_FIXED_RESPONSE_BODY = 1024
FIXED_RESPONSE_CONTENT_TYPES = (
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
)
REDIRECT_STATUS_CODES = ("HTTP_301", "HTTP_302")
REDIRECT_PROTOCOLS = ("HTTP", "HTTPS", "#{protocol}")

_METHOD_RE = re.compile(r"^[A-Z_-]+$")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_HOST_RE = re.compile(r"^[A-Za-z0-9.*?-]+$")
_REDIRECT_HOST_RE = re.compile(r"^([A-Za-z0-9-]+|#\{host\})(\.([A-Za-z0-9-]+|#\{host\}))*$")
# ALB accepts these characters in a path pattern (A-Z, a-z, 0-9, _ - . $ / ~ " ' @ : + & * ?).
_PATH_RE = re.compile(r"""^[A-Za-z0-9_\-.$/~"'@:+&*?]+$""")


@dataclass(frozen=True)
class Request:
    """What a listener rule can look at in one HTTP request.

    ``query`` is the raw query string without ``?``; ``headers`` keep the client's order and case;
    ``source_ip`` is the TCP peer's address (ALB never uses X-Forwarded-For for source-ip).
    """

    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    source_ip: str = "127.0.0.1"

    def header_values(self, name: str) -> list[str]:
        """Every value sent for ``name``, compared case-insensitively."""
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    @property
    def host(self) -> str:
        """The Host header without its port ('' when absent)."""
        values = self.header_values("host")
        if not values:
            return ""
        host = values[-1]
        if host.startswith("["):  # [::1]:8080
            return host.split("]")[0] + "]"
        return host.rsplit(":", 1)[0] if host.count(":") == 1 else host

    def query_pairs(self) -> list[tuple[str, str]]:
        """The raw (still percent-encoded) key/value pairs, in order."""
        pairs = []
        for part in self.query.split("&"):
            if not part:
                continue
            key, _, value = part.partition("=")
            pairs.append((key, value))
        return pairs


@functools.lru_cache(maxsize=4096)
def wildcard_regex(pattern: str, ignore_case: bool, backslash_escapes: bool = False) -> re.Pattern[str]:
    """Compile an ALB wildcard pattern: ``*`` is any run of characters (``/`` included), ``?`` one.

    With ``backslash_escapes`` (query-string conditions), ``\\*`` and ``\\?`` are literal.
    """
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if backslash_escapes and char == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*?":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def count_wildcards(value: str) -> int:
    """How many ``*`` and ``?`` a value holds (ALB allows 5 per rule)."""
    return value.count("*") + value.count("?")


def _length_problems(path: str, values: tuple[str, ...], limit: int = MAX_VALUE_LENGTH) -> list[str]:
    return [
        f"{path}[{i}]: {value!r} is {len(value)} characters; at most {limit} are allowed"
        for i, value in enumerate(values)
        if len(value) > limit
    ]


def _empty_problem(path: str, values: tuple[object, ...]) -> list[str]:
    return [] if values else [f"{path}: empty list; give at least one value or remove the key"]


# --- conditions -------------------------------------------------------------------------------


class RouteReader(Protocol):
    """What a condition reads its route key with (components/route_settings.py's reader)."""

    def add(self, message: str) -> None: ...
    def obj(self, raw: Any, path: str, known: Iterable[str]) -> dict[str, Any]: ...
    def strings(self, raw: Any, path: str, example: str) -> tuple[str, ...]: ...


# Every condition a route can have, in the order routes are read and messages list them: each class
# below registers itself.
CONDITIONS: list[type[ConditionBase]] = []


class ConditionBase:
    """A listener-rule condition, whole in one class: how its route key is read (``read``) and
    described (``schema``, ``allowed``, ``meaning``), what ALB refuses in it (``problems``), how a
    request matches it (``matches``, for the local ALB) and what it becomes in AWS
    (``listener_condition``, for the program)."""

    kind: ClassVar[str]  # ALB's name of the condition
    field: ClassVar[str]  # the route's key for it, in code's spelling
    meaning: ClassVar[str]  # the configuration reference's words
    allowed: ClassVar[str] = "a list of strings"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "field" in cls.__dict__:
            CONDITIONS.append(cls)

    @classmethod
    def read(cls, raw: Any, reader: RouteReader, path: str) -> tuple[Condition, ...]:
        raise NotImplementedError

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string"}}

    def value_count(self) -> int:
        raise NotImplementedError

    def wildcard_count(self) -> int:
        raise NotImplementedError

    def problems(self, path: str, key: Spelling = to_camel) -> list[str]:
        raise NotImplementedError

    def matches(self, request: Request) -> bool:
        raise NotImplementedError

    def listener_condition(self) -> Any:
        """The ``aws.lb.ListenerRuleConditionArgs`` of this condition (pulumi_aws is imported here,
        by the program only: the local ALB never asks)."""
        raise NotImplementedError


Condition = ConditionBase


@dataclass(frozen=True)
class ValuesCondition(ConditionBase):
    """A condition that is a list of values, any of which matches."""

    values: tuple[str, ...]
    example: ClassVar[str]  # shown when the key is not a list of strings

    @classmethod
    def read(cls, raw: Any, reader: RouteReader, path: str) -> tuple[Condition, ...]:
        return (cls(values=reader.strings(raw, path, cls.example)),)

    def value_count(self) -> int:
        return len(self.values)

    def wildcard_count(self) -> int:
        return sum(count_wildcards(v) for v in self.values)


@dataclass(frozen=True)
class PathPattern(ValuesCondition):
    """``path-pattern``: case-sensitive wildcards on the path (never the query string)."""

    kind = "path-pattern"
    field = "path_patterns"
    example = "/api/*"
    meaning = "Case-sensitive; `*` (any characters, `/` included) and `?` (one character)."

    def problems(self, path: str, key: Spelling = to_camel) -> list[str]:
        out = _empty_problem(path, self.values) + _length_problems(path, self.values)
        for i, value in enumerate(self.values):
            if not _PATH_RE.match(value):
                out.append(
                    f"{path}[{i}]: {value!r} has characters ALB refuses in a path pattern; "
                    "allowed are A-Z a-z 0-9 _ - . $ / ~ \" ' @ : + & * ?"
                )
            elif not value.startswith(("/", "*")):
                out.append(f"{path}[{i}]: {value!r} never matches; a path pattern starts with / or *")
        return out

    def matches(self, request: Request) -> bool:
        return any(wildcard_regex(v, False).fullmatch(request.path) for v in self.values)

    def listener_condition(self) -> Any:
        import pulumi_aws as aws

        return aws.lb.ListenerRuleConditionArgs(
            path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=list(self.values))
        )


@dataclass(frozen=True)
class HostHeader(ValuesCondition):
    """``host-header``: case-insensitive wildcards on the host name."""

    kind = "host-header"
    field = "hosts"
    example = "api.example.com"
    meaning = "Host names; case-insensitive; wildcards."

    def problems(self, path: str, key: Spelling = to_camel) -> list[str]:
        out = _empty_problem(path, self.values) + _length_problems(path, self.values)
        out += [
            f"{path}[{i}]: {value!r} is not a host name; allowed are A-Z a-z 0-9 - . * ?"
            for i, value in enumerate(self.values)
            if not _HOST_RE.match(value)
        ]
        return out

    def matches(self, request: Request) -> bool:
        host = request.host
        return any(wildcard_regex(v, True).fullmatch(host) for v in self.values)

    def listener_condition(self) -> Any:
        import pulumi_aws as aws

        return aws.lb.ListenerRuleConditionArgs(
            host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=list(self.values))
        )


@dataclass(frozen=True)
class RequestMethod(ValuesCondition):
    """``http-request-method``: exact, case-sensitive method names."""

    kind = "http-request-method"
    field = "methods"
    example = "GET"
    meaning = "Method names, exact and case-sensitive (GET)."

    def wildcard_count(self) -> int:
        return 0

    def problems(self, path: str, key: Spelling = to_camel) -> list[str]:
        out = _empty_problem(path, self.values)
        for i, value in enumerate(self.values):
            if not _METHOD_RE.match(value) or len(value) > MAX_METHOD_LENGTH:
                hint = f" (did you mean {value.upper()!r}?)" if _METHOD_RE.match(value.upper()) else ""
                out.append(
                    f"{path}[{i}]: {value!r} is not a method name ALB accepts; use A-Z, - and _, "
                    f"at most {MAX_METHOD_LENGTH} characters, case-sensitive{hint}"
                )
        return out

    def matches(self, request: Request) -> bool:
        return request.method in self.values

    def listener_condition(self) -> Any:
        import pulumi_aws as aws

        return aws.lb.ListenerRuleConditionArgs(
            http_request_method=aws.lb.ListenerRuleConditionHttpRequestMethodArgs(values=list(self.values))
        )


@dataclass(frozen=True)
class HttpHeader(ConditionBase):
    """``http-header``: one header name (case-insensitive), values with wildcards, case-insensitive."""

    name: str
    values: tuple[str, ...]
    kind = "http-header"
    field = "headers"
    meaning = "Header names to lists of values; case-insensitive, wildcards; not Host (use hosts)."
    allowed = "`{x-env: [beta]}`"

    @classmethod
    def read(cls, raw: Any, reader: RouteReader, path: str) -> tuple[Condition, ...]:
        """A map of header names to value lists: a condition per header."""
        if not isinstance(raw, dict) or not raw:
            reader.add(f"{path}: {raw!r} is not a map of header names to value lists, e.g. {{x-env: [beta]}}")
            return ()
        return tuple(
            cls(name=str(name), values=reader.strings(values, f"{path}.{name}", "beta")) for name, values in raw.items()
        )

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }

    def value_count(self) -> int:
        return len(self.values)

    def wildcard_count(self) -> int:
        return sum(count_wildcards(v) for v in self.values)

    def problems(self, path: str, key: Spelling = to_camel) -> list[str]:
        out = []
        if self.name.lower() == "host":
            out.append(f"{path}.{self.name}: ALB refuses a header condition on Host; use hosts instead")
        elif not _HEADER_NAME_RE.match(self.name) or len(self.name) > MAX_HEADER_NAME_LENGTH:
            out.append(
                f"{path}: {self.name!r} is not a header name; use one HTTP token of at most "
                f"{MAX_HEADER_NAME_LENGTH} characters (letters, digits, - and the like)"
            )
        vpath = f"{path}.{self.name}"
        return out + _empty_problem(vpath, self.values) + _length_problems(vpath, self.values)

    def matches(self, request: Request) -> bool:
        sent = request.header_values(self.name)
        return any(wildcard_regex(v, True).fullmatch(s) for v in self.values for s in sent)

    def listener_condition(self) -> Any:
        import pulumi_aws as aws

        return aws.lb.ListenerRuleConditionArgs(
            http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(http_header_name=self.name, values=list(self.values))
        )


@dataclass(frozen=True)
class QueryString(ConditionBase):
    """``query-string``: ``(key or None, value)`` pairs, case-insensitive, wildcards.

    Any one pair present in the request is a match; a pair without a key matches any key.
    """

    pairs: tuple[tuple[str | None, str], ...]
    kind = "query-string"
    field = "query_strings"
    meaning = "Any pair matches; no key means any key; `\\*` and `\\?` are literal."
    allowed = "a list of `{key?, value}`"

    @classmethod
    def read(cls, raw: Any, reader: RouteReader, path: str) -> tuple[Condition, ...]:
        """A list of ``{key?, value}`` (or ``(key, value)`` tuples, as code writes them)."""
        if not isinstance(raw, list | tuple):
            reader.add(f"{path}: {raw!r} is not a list of {{key?, value}} pairs")
            return (cls(pairs=()),)
        pairs = []
        for i, item in enumerate(raw):
            if isinstance(item, tuple) and len(item) == 2:
                item = {"key": item[0], "value": item[1]} if item[0] is not None else {"value": item[1]}
            given = reader.obj(item, f"{path}[{i}]", ("key", "value"))
            key, value = given.get("key"), given.get("value")
            if key is not None and not isinstance(key, str):
                reader.add(f"{path}[{i}].key: {key!r} is not a string")
                key = None
            if not isinstance(value, str):
                reader.add(f"{path}[{i}].value: {value!r} is not a string; every pair needs a value")
                value = "?"
            pairs.append((key, value))
        return (cls(pairs=tuple(pairs)),)

    @classmethod
    def schema(cls) -> dict[str, Any]:
        pair = {"type": "object", "additionalProperties": False, "required": ["value"],
                "properties": {"key": {"type": "string"}, "value": {"type": "string"}}}  # fmt: skip
        return {"type": "array", "items": pair}

    def value_count(self) -> int:
        return len(self.pairs)

    def wildcard_count(self) -> int:
        return sum(count_wildcards(v) + count_wildcards(k or "") for k, v in self.pairs)

    def problems(self, path: str, key: Spelling = to_camel) -> list[str]:
        out = _empty_problem(path, self.pairs)
        for i, (pair_key, value) in enumerate(self.pairs):
            if not value:
                out.append(f"{path}[{i}].value: empty; a query-string pair needs a value")
            for field, text in (("key", pair_key), ("value", value)):
                if text and len(text) > MAX_VALUE_LENGTH:
                    out.append(
                        f"{path}[{i}].{field}: {text!r} is {len(text)} characters; "
                        f"at most {MAX_VALUE_LENGTH} are allowed"
                    )
        return out

    def matches(self, request: Request) -> bool:
        sent = request.query_pairs()
        for key, value in self.pairs:
            value_re = wildcard_regex(value, True, True)
            key_re = wildcard_regex(key, True, True) if key is not None else None
            for sent_key, sent_value in sent:
                if value_re.fullmatch(sent_value) and (key_re is None or key_re.fullmatch(sent_key)):
                    return True
        return False

    def listener_condition(self) -> Any:
        import pulumi_aws as aws

        return aws.lb.ListenerRuleConditionArgs(
            query_strings=[
                aws.lb.ListenerRuleConditionQueryStringArgs(key=key, value=value) for key, value in self.pairs
            ]
        )


@dataclass(frozen=True)
class SourceIp(ValuesCondition):
    """``source-ip``: CIDR blocks (IPv4 or IPv6) of the TCP peer."""

    kind = "source-ip"
    field = "source_ips"
    example = "203.0.113.0/24"
    meaning = "CIDR blocks of the TCP peer (not X-Forwarded-For)."

    def wildcard_count(self) -> int:
        return 0

    def problems(self, path: str, key: Spelling = to_camel) -> list[str]:
        out = _empty_problem(path, self.values)
        for i, value in enumerate(self.values):
            problem = cidr_problem(value)
            if problem:
                out.append(f"{path}[{i}]: {problem}")
        return out

    def matches(self, request: Request) -> bool:
        try:
            peer = ipaddress.ip_address(request.source_ip)
        except ValueError:
            return False
        return any(peer in ipaddress.ip_network(v, strict=False) for v in self.values)

    def listener_condition(self) -> Any:
        import pulumi_aws as aws

        return aws.lb.ListenerRuleConditionArgs(
            source_ip=aws.lb.ListenerRuleConditionSourceIpArgs(values=list(self.values))
        )


# The route keys of the conditions, in the order messages list them.
CONDITION_FIELDS = tuple(c.field for c in CONDITIONS)


def cidr_problem(value: object) -> str | None:
    """Why ``value`` is not a CIDR block AWS accepts, or None when it is one."""
    if not isinstance(value, str) or "/" not in value:
        return f"{value!r} is not a CIDR block; write it as address/prefix, e.g. 203.0.113.0/24"
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        try:
            fixed = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"{value!r} is not a CIDR block; write it as address/prefix, e.g. 203.0.113.0/24"
        return f"{value!r} has host bits set; did you mean {str(fixed)!r}?"
    return None


# --- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forward:
    """Forward the request to a function of the service (its target group); ``function`` names it
    when the service has several (``functions``), and is None for the one ``function``."""

    function: str | None = None
    kind = "forward"

    def problems(self, path: str, key: Spelling = to_camel) -> list[str]:
        return []


@dataclass(frozen=True)
class FixedResponse:
    """Answer from the load balancer itself, without invoking the function."""

    status_code: int
    content_type: str = "text/plain"
    body: str = ""
    kind = "fixed-response"

    def problems(self, path: str, key: Spelling = to_camel) -> list[str]:
        out = []
        code = self.status_code
        if isinstance(code, bool) or not isinstance(code, int) or not (200 <= code <= 299 or 400 <= code <= 599):
            out.append(f"{path}.{key('status_code')}: {code!r} is not allowed; use an integer 2XX, 4XX or 5XX")
        if self.content_type not in FIXED_RESPONSE_CONTENT_TYPES:
            out.append(
                f"{path}.{key('content_type')}: {self.content_type!r} is not allowed; use one of "
                + ", ".join(FIXED_RESPONSE_CONTENT_TYPES)
            )
        if not isinstance(self.body, str):
            out.append(f"{path}.body: {self.body!r} is not a string")
        elif len(self.body) > MAX_FIXED_RESPONSE_BODY:
            out.append(f"{path}.body: {len(self.body)} characters; at most {MAX_FIXED_RESPONSE_BODY} are allowed")
        return out


@dataclass(frozen=True)
class Redirect:
    """Redirect the client; each unset part keeps the request's own (``#{...}`` placeholders)."""

    status_code: str
    protocol: str = "#{protocol}"
    host: str = "#{host}"
    port: str = "#{port}"
    path: str = "/#{path}"
    query: str = "#{query}"
    kind = "redirect"

    def is_self_redirect(self) -> bool:
        """True when every part keeps the request's own: ALB refuses a redirect to itself."""
        return (self.protocol, self.host, self.port, self.path, self.query) == (
            "#{protocol}",
            "#{host}",
            "#{port}",
            "/#{path}",
            "#{query}",
        )

    def problems(self, path: str, key: Spelling = to_camel) -> list[str]:
        out = []
        if self.status_code not in REDIRECT_STATUS_CODES:
            out.append(f"{path}.{key('status_code')}: {self.status_code!r} is not allowed; use HTTP_301 or HTTP_302")
        if self.protocol not in REDIRECT_PROTOCOLS:
            out.append(f"{path}.protocol: {self.protocol!r} is not allowed; use HTTP, HTTPS or #{{protocol}}")
        if self.port != "#{port}" and not (self.port.isdigit() and 1 <= int(self.port) <= 65535):
            out.append(f"{path}.port: {self.port!r} is not a port; use 1-65535 or #{{port}}")
        if not self.path.startswith("/"):
            out.append(f"{path}.path: {self.path!r} must start with /")
        if self.host != "#{host}" and not _REDIRECT_HOST_RE.match(self.host):
            out.append(f"{path}.host: {self.host!r} is not a host name (letters, digits, - and ., or #{{host}})")
        if self.query.startswith("?"):
            out.append(f"{path}.query: {self.query!r} must not start with ?; ALB adds it")
        for field in ("host", "path", "query"):
            value = getattr(self, field)
            if len(value) > MAX_VALUE_LENGTH:
                out.append(f"{path}.{field}: at most {MAX_VALUE_LENGTH} characters are allowed")
        if self.is_self_redirect():
            out.append(
                f"{path}: redirects to itself (every part keeps the request's own); "
                "set at least one of protocol, host, port, path or query"
            )
        return out


Action = Forward | FixedResponse | Redirect

# The HTTP listener's only action when the load balancer serves HTTPS: the same host, path and query
# on port 443 (the program deploys it; the local ALB answers it with its own HTTPS port).
HTTP_TO_HTTPS = Redirect(status_code="HTTP_301", protocol="HTTPS", port="443")


# --- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One listener rule: conditions ANDed, values inside a condition ORed, one action."""

    priority: int
    conditions: tuple[Condition, ...]
    action: Action

    def problems(self, path: str, key: Spelling = to_camel) -> list[str]:
        out = []
        prio = self.priority
        if isinstance(prio, bool) or not isinstance(prio, int) or not PRIORITY_MIN <= prio <= PRIORITY_MAX:
            out.append(f"{path}.priority: {prio!r} is outside {PRIORITY_MIN}-{PRIORITY_MAX}; use a unique integer")
        if not self.conditions:
            fields = [key(f) for f in CONDITION_FIELDS]
            out.append(
                f"{path}: no condition; give at least one of {', '.join(fields[:-1])} or {fields[-1]} "
                f"(use {key('load_balancer')}.{key('default_action')} for a catch-all)"
            )
        values = sum(c.value_count() for c in self.conditions)
        if values > MAX_VALUES_PER_RULE:
            out.append(
                f"{path}: {values} condition values; ALB allows at most {MAX_VALUES_PER_RULE} per rule "
                "in total (split it into several routes)"
            )
        wildcards = sum(c.wildcard_count() for c in self.conditions)
        if wildcards > MAX_WILDCARDS_PER_RULE:
            out.append(f"{path}: {wildcards} wildcards (* and ?); ALB allows at most {MAX_WILDCARDS_PER_RULE} per rule")
        for condition in self.conditions:
            out += condition.problems(f"{path}.{key(condition.field)}", key)
        return out + self.action.problems(f"{path}.{self.action_key(key)}", key)

    def action_key(self, key: Spelling = to_camel) -> str:
        """The key the action came from (``fixedResponse``, ``redirect``, or ``forward``)."""
        return key({"forward": "forward", "fixed-response": "fixed_response", "redirect": "redirect"}[self.action.kind])

    def matches(self, request: Request) -> bool:
        """True when every condition matches the request."""
        return all(condition.matches(request) for condition in self.conditions)


def first_match(rules: tuple[Rule, ...], request: Request) -> Rule | None:
    """The rule ALB would pick: the lowest priority whose conditions all match."""
    for rule in sorted(rules, key=lambda r: r.priority):
        if rule.matches(request):
            return rule
    return None
