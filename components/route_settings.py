"""Routes: the listener rules of the serving listener, as a stack file or a program gives them.

``RouteArgs``, ``FixedResponseArgs`` and ``RedirectArgs`` declare the keys, schema and docs; the
routes' own reader (``read_routes``) turns each route into a ``components.rules.Rule`` and judges it
with the rules' own checks (``Rule.problems``), because a route's parts are judged together (at most
five condition values, one action...). Its messages name other routes, so they are written from
``HERE``, the routes' own path. Plain Python.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from . import rules as r
from .kinds import HERE, Custom, Integer, Kind, OneOf, Problem, Problems, Text, as_given, did_you_mean
from .limits import FUNCTION_KEY_PATTERN, FUNCTION_KEY_RE, MAX_ROUTES
from .model import Block, as_raw, to_camel

# As the reader takes them (components/rules.py): a fixed response's status is 2XX, 4XX or 5XX; a
# redirect's port a number or a string of one, or the placeholder.
FIXED_STATUS_SCHEMA = {
    "type": "integer",
    "anyOf": [{"minimum": 200, "maximum": 299}, {"minimum": 400, "maximum": 599}],
}
PORT_SCHEMA = {
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": 65535},
        {"type": "string", "pattern": "^(#\\{port\\}|[1-9][0-9]{0,4})$"},
    ]
}

DEFAULT_ACTION_SCHEMA = {
    "oneOf": [
        {"const": "forward"},
        {"type": "object", "additionalProperties": False, "required": ["forward"],
         "properties": {"forward": {"type": "string"}}},
        {"type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
         "properties": {"fixedResponse": {"$ref": "#/$defs/fixedResponse"}, "redirect": {"$ref": "#/$defs/redirect"}}},
    ]
}  # fmt: skip


@dataclass
class RouteCondition(Kind):
    """A route's condition key: described by its condition class, read with the whole route."""

    condition: type[r.ConditionBase] = r.ConditionBase

    def read(self, value: Any, context: Mapping[str, Any]) -> Any:
        return value

    def schema(self) -> dict[str, Any]:
        return self.condition.schema()

    def allowed(self) -> str:
        return self.condition.allowed


class FixedResponseArgs(Block):
    """A fixed response the load balancer answers itself: ``fixedResponse`` of a route."""

    status_code: Annotated[
        int | None, Custom(reader=as_given, json_schema=FIXED_STATUS_SCHEMA, allowed_text="2XX, 4XX or 5XX")
    ] = Field(default=None, description="An integer such as 403.")

    content_type: Annotated[str, OneOf(choices=r.FIXED_RESPONSE_CONTENT_TYPES)] = Field(
        default="text/plain", description="The response's content type."
    )

    body: Annotated[
        str,
        Custom(
            reader=as_given,
            json_schema={"type": "string", "maxLength": r.MAX_FIXED_RESPONSE_BODY},
            allowed_text=f"at most {r.MAX_FIXED_RESPONSE_BODY} characters",
        ),
    ] = Field(default="", description="The body.")


class RedirectArgs(Block):
    """A redirect the load balancer answers itself: ``redirect`` of a route (each part defaults to the
    request's own)."""

    protocol: Annotated[str, OneOf(choices=r.REDIRECT_PROTOCOLS)] = Field(
        default="#{protocol}", description="HTTP or HTTPS."
    )

    host: Annotated[str, Text()] = Field(default="#{host}", description="The host; #{host} placeholders allowed.")

    port: Annotated[str, Custom(reader=as_given, json_schema=PORT_SCHEMA, allowed_text="1-65535 or `#{port}`")] = Field(
        default="#{port}", description="The port."
    )

    path: Annotated[str, Text(pattern="^/")] = Field(
        default="/#{path}", description="Starts with /; #{path} placeholders allowed."
    )

    query: Annotated[str, Text()] = Field(default="#{query}", description="The query string without ?.")

    status_code: Annotated[str | None, OneOf(choices=r.REDIRECT_STATUS_CODES)] = Field(
        default=None, description="HTTP_301 or HTTP_302."
    )


class RouteArgs(Block):
    """A listener rule: conditions ANDed (values inside one ORed), then forward, a fixed response or a
    redirect. Read by the routes' own reader (``read_routes``), which turns it into a
    ``components.rules.Rule``; these declarations give its keys, schema and docs."""

    priority: Annotated[int | None, Integer(lo=r.PRIORITY_MIN, hi=r.PRIORITY_MAX, allowed_text="1-50000")] = Field(
        default=None, description="Required, unique; lowest first."
    )

    # The conditions: each is a class of components/rules.py (reading, checks, schema, meaning, and
    # what it becomes in AWS); its line here is its place among the route's keys.
    path_patterns: Annotated[Sequence[str], RouteCondition(r.PathPattern)] = Field(
        default=(), description=r.PathPattern.meaning
    )
    hosts: Annotated[Sequence[str], RouteCondition(r.HostHeader)] = Field(default=(), description=r.HostHeader.meaning)
    methods: Annotated[Sequence[str], RouteCondition(r.RequestMethod)] = Field(
        default=(), description=r.RequestMethod.meaning
    )
    headers: Annotated[Mapping[str, Sequence[str]] | None, RouteCondition(r.HttpHeader)] = Field(
        default=None, description=r.HttpHeader.meaning
    )
    query_strings: Annotated[Sequence[tuple[str | None, str]], RouteCondition(r.QueryString)] = Field(
        default=(), description=r.QueryString.meaning
    )
    source_ips: Annotated[Sequence[str], RouteCondition(r.SourceIp)] = Field(default=(), description=r.SourceIp.meaning)

    function: Annotated[str | None, Text(pattern=FUNCTION_KEY_PATTERN, allowed_text="a key of `functions`")] = Field(
        default=None,
        description="With several functions: the one this route forwards to (not with fixedResponse or redirect).",
    )

    fixed_response: FixedResponseArgs | None = Field(
        default=None, description="Answer with a fixed response.", json_schema_extra={"allowed": "see below"}
    )

    redirect: RedirectArgs | None = Field(
        default=None, description="Answer with a redirect.", json_schema_extra={"allowed": "see below"}
    )


class Collector:
    """The routes' reader's problems, each a whole message (``<path>: ...``), in the caller's spelling."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.style = context.get("style", "camel")
        self.problems: list[str] = []

    def key(self, name: str) -> str:
        return to_camel(name) if self.style == "camel" else name

    def add(self, message: str) -> None:
        self.problems.append(message)

    def obj(self, raw: Any, path: str, known: Iterable[str]) -> dict[str, Any]:
        known = tuple(known)
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.add(f"{path}: {raw!r} is not an object; expected keys among {', '.join(known)}")
            return {}
        for key in raw:
            if key not in known:
                self.add(f"{path}.{key}: unknown key{did_you_mean(str(key), known)}; known keys are {', '.join(known)}")
        return raw

    def strings(self, raw: Any, path: str, example: str) -> tuple[str, ...]:
        if not isinstance(raw, list | tuple) or not all(isinstance(v, str) for v in raw):
            self.add(f"{path}: {raw!r} is not a list of strings; write e.g. [{example!r}]")
            return ()
        return tuple(raw)


def _collected(read: Callable[[Any, Collector, str], Any]) -> Callable[[Any, Mapping[str, Any]], Any]:
    """A reader of this module as a field's reader: its problems become the field's."""

    def reader(value: Any, context: Mapping[str, Any]) -> Any:
        collector = Collector(context)
        result = read(value, collector, HERE)
        if collector.problems:
            raise Problems([Problem(message, whole=True) for message in collector.problems])
        return result

    return reader


def _parse_action(raw: Mapping[str, Any], reader: Collector, path: str) -> r.Action:
    """``fixedResponse`` / ``redirect`` objects; the caller has checked there is at most one."""
    key_of = reader.key
    fixed, status = key_of("fixed_response"), key_of("status_code")
    if fixed in raw:
        apath = f"{path}.{fixed}"
        given = reader.obj(as_raw(raw[fixed], reader.style), apath, FixedResponseArgs.keys(reader.style))
        if status not in given:
            reader.add(f"{apath}.{status}: missing; give an integer 2XX, 4XX or 5XX such as 403")
        return r.FixedResponse(
            status_code=given.get(status, 503),
            content_type=given.get(key_of("content_type"), "text/plain"),
            body=given.get("body", ""),
        )
    if "redirect" in raw:
        apath = f"{path}.redirect"
        given = reader.obj(as_raw(raw["redirect"], reader.style), apath, RedirectArgs.keys(reader.style))
        if status not in given:
            reader.add(f"{apath}.{status}: missing; use HTTP_301 or HTTP_302")
        texts = {}
        for key in ("protocol", "host", "port", "path", "query"):
            if key in given:
                value = given[key]
                if key == "port" and isinstance(value, int) and not isinstance(value, bool):
                    value = str(value)
                if not isinstance(value, str):
                    reader.add(f"{apath}.{key}: {value!r} is not a string")
                    continue
                texts[key] = value
        return r.Redirect(status_code=given.get(status, "HTTP_301"), **texts)
    return r.Forward()


def _parse_conditions(given: Mapping[str, Any], reader: Collector, path: str) -> tuple[r.Condition, ...]:
    """Each condition key of the route, read by its condition class."""
    conditions: list[r.Condition] = []
    for condition in r.CONDITIONS:
        key = reader.key(condition.field)
        if key in given:
            conditions += condition.read(given[key], reader, f"{path}.{key}")
    return tuple(conditions)


def _read_routes(raw: Any, reader: Collector, path: str) -> tuple[r.Rule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        reader.add(f"{path}: {raw!r} is not a list of routes")
        return ()
    if len(raw) > MAX_ROUTES:
        reader.add(f"{path}: {len(raw)} routes; a load balancer allows at most {MAX_ROUTES} rules (default quota)")
    parsed = []
    seen: dict[int, int] = {}
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if isinstance(item, RouteArgs):
            item = as_raw(item, reader.style)
        if isinstance(item, r.Rule):
            rule = item
            reader.problems.extend(rule.problems(where, reader.key))
        elif not isinstance(item, dict):
            reader.add(f"{where}: {item!r} is not an object with a priority and conditions")
            continue
        else:
            route = reader.obj(item, where, RouteArgs.keys(reader.style))
            if "priority" not in route:
                reader.add(f"{where}.priority: missing; give a unique integer {r.PRIORITY_MIN}-{r.PRIORITY_MAX}")
            fixed = reader.key("fixed_response")
            actions = [k for k in (fixed, "redirect") if k in route]
            if len(actions) > 1:
                reader.add(f"{where}: has both {fixed} and redirect; give at most one (neither means forward)")
            rule = r.Rule(
                priority=route.get("priority", 0),
                conditions=_parse_conditions(route, reader, where),
                action=_parse_action({k: route[k] for k in actions[:1]}, reader, where),
            )
            if "function" in route:
                target = route["function"]
                if actions:
                    reader.add(
                        f"{where}.function: only a route that forwards names a function; remove it or {actions[0]}"
                    )
                elif not isinstance(target, str) or not FUNCTION_KEY_RE.match(target):
                    reader.add(f"{where}.function: {target!r} is not a function's key")
                else:
                    rule = dataclasses.replace(rule, action=r.Forward(function=target))
            found = rule.problems(where, reader.key)
            if "priority" not in route:
                found = [p for p in found if not p.startswith(f"{where}.priority")]
            reader.problems.extend(found)
        prio = rule.priority
        if isinstance(prio, int) and prio in seen:
            reader.add(f"{where}.priority: {prio} is already used by {path}[{seen[prio]}]; priorities must be unique")
        elif isinstance(prio, int):
            seen[prio] = i
        parsed.append(rule)
    return tuple(parsed)


def _read_default_action(raw: Any, reader: Collector, path: str) -> r.Action:
    if raw is None or raw == "forward":
        return r.Forward()
    if isinstance(raw, FixedResponseArgs | RedirectArgs):
        raw = {reader.key("fixed_response") if isinstance(raw, FixedResponseArgs) else "redirect": raw}
    if isinstance(raw, r.Forward | r.FixedResponse | r.Redirect):
        reader.problems.extend(raw.problems(path, reader.key))
        return raw
    if isinstance(raw, dict) and set(raw) == {"forward"}:
        target = raw["forward"]
        if not isinstance(target, str) or not FUNCTION_KEY_RE.match(target):
            reader.add(f"{path}.forward: {target!r} is not a function's key; name one of the functions")
            return r.Forward()
        return r.Forward(function=target)
    if isinstance(raw, dict) and len(raw) == 1 and set(raw) <= {reader.key("fixed_response"), "redirect"}:
        action = _parse_action(raw, reader, path)
        reader.problems.extend(action.problems(f"{path}.{next(iter(raw))}", reader.key))
        return action
    fixed = reader.key("fixed_response")
    reader.add(
        f"{path}: {raw!r} is not allowed; use forward, {{forward: <function>}}, {{{fixed}: {{...}}}} "
        "or {redirect: {...}}"
    )
    return r.Forward()


read_routes = _collected(_read_routes)
read_default_action = _collected(_read_default_action)
