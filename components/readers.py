"""The settings read by a function of their own (``Custom`` kinds), each with its JSON Schema: a
reader returns the value it read or raises ``Problem``/``Problems``, whose messages may name places
below the value (a map key, a list item). Plain Python."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from .kinds import Problem, Problems, did_you_mean
from .limits import (
    DOMAIN_RE,
    ENV_KEY_RE,
    FUNCTION_KEY_RE,
    LOG_RETENTION_DAYS,
    MANAGED_RULE_GROUPS,
    MAX_ENV_BYTES,
    MAX_TAG_KEY,
    MAX_TAG_VALUE,
    MAX_TAGS,
    OWN_TAG_KEYS,
    PREFIX_RE,
    RESERVED_ENV_KEYS,
    TAG_RE,
    VERSION_RE,
    WAF_RULE_ACTIONS,
)
from .model import CAMEL
from .naming import MAX_NAME_LENGTH, NAME_RE

Context = Mapping[str, Any]


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise Problems(problems)


def reserved_concurrency(value: Any, context: Context) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Problem(f"{value!r} is not an integer; allowed: at least 1")
    if value == 0:
        raise Problem(
            "0 would throttle every request (ALB answers 502); "
            "use at least 1, or remove the key for unreserved concurrency"
        )
    if value < 1:
        raise Problem(f"{value} is below the minimum of 1")
    return value


def retention(minimum: int, default: int) -> Callable[[Any, Context], Any]:
    """``logRetentionDays``: a value CloudWatch Logs accepts (0, never expire, is refused), >= minimum."""

    def read(value: Any, context: Context) -> Any:
        if value is None:
            return default
        allowed = [v for v in LOG_RETENTION_DAYS if v >= minimum]
        if isinstance(value, bool) or value not in allowed:
            raise Problem(
                f"{value!r} is not a retention CloudWatch Logs accepts here; use one of {', '.join(map(str, allowed))}"
            )
        return value

    return read


def retention_schema(minimum: int) -> dict[str, Any]:
    return {"type": "integer", "enum": [v for v in LOG_RETENTION_DAYS if v >= minimum]}


def environment(value: Any, context: Context) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Problem(f"{value!r} is not a map of names to strings")
    unresolved = context.get("unresolved") or (lambda v: False)
    problems, variables = [], {}
    for key, item in value.items():
        if not isinstance(key, str) or not ENV_KEY_RE.match(key):
            problems.append(
                Problem("not a valid variable name; use at least two letters, digits and _, starting with a letter",
                        (str(key),))
            )  # fmt: skip
        elif key in RESERVED_ENV_KEYS:
            problems.append(Problem("reserved by AWS Lambda, which sets it itself; choose another name", (key,)))
        elif not unresolved(item) and not isinstance(item, str):
            problems.append(Problem(f'{item!r} is not a string; quote it in YAML, e.g. "{item}"', (key,)))
        else:
            variables[key] = item
    plain = {k: v for k, v in variables.items() if isinstance(v, str)}
    size = len(json.dumps(plain, separators=(",", ":")).encode())
    if size > MAX_ENV_BYTES:
        problems.append(Problem(f"{size} bytes of variables; Lambda allows at most {MAX_ENV_BYTES} bytes in total"))
    _raise(problems)
    return variables


def code(value: Any, context: Context) -> Any:
    """A package given in code: only what the Pulumi side recognises as an archive (or an Output).
    A stack file has no such key (its schema and docs leave it out)."""
    if value is None:
        return None
    if context.get("style", CAMEL) == CAMEL:
        raise Problem("only a program can give a package (a pulumi.Archive); a stack file gives codeDir")
    raise Problem(f"{value!r} is not a pulumi.Archive; give code_dir for a directory of code")


def version(value: Any, context: Context) -> str | None:
    if value is None:
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not VERSION_RE.match(text):
        raise Problem(f"{value!r} is not a published version; use its number, e.g. 7 (see the functionVersion output)")
    return text


VERSION_SCHEMA = {"type": ["integer", "string"], "pattern": VERSION_RE.pattern, "minimum": 1}


def lower(value: Any, context: Context) -> Any:
    """A DNS name as AWS compares it: lower case, no trailing dot (checked by the block)."""
    return value.lower().rstrip(".") if isinstance(value, str) else value


DOMAIN_SCHEMA = {"type": "string", "pattern": DOMAIN_RE.pattern}


def prefix(value: Any, context: Context) -> Any:
    if not isinstance(value, str):
        raise Problem(f"{value!r} is not a string")
    if "AWSLogs" in value:
        raise Problem(f"{value!r} contains AWSLogs, which ALB refuses (it adds AWSLogs/ itself)")
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise Problem(f"{value!r} must not start or end with / (write e.g. alb or team/alb)")
    if not PREFIX_RE.match(value) or len(value) > 200:
        raise Problem(f"{value!r} has characters unsafe in an S3 key; use letters, digits and ! _ . * ' ( ) / -")
    return value


def ports(value: Any, context: Context) -> Any:
    """TCP ports, each 1-65535."""
    if value is None:
        return (443,)
    ok = (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 65535 for p in value)
    )
    if not ok:
        raise Problem(f"{value!r} is not a list of TCP ports 1-65535, e.g. [443, 5432]")
    return tuple(value)


def rule_overrides(value: Any, context: Context) -> tuple[tuple[str, str, str], ...]:
    """``{<managed group>: {<rule>: <action>}}``, checked against the rules of the groups we use."""
    if value is None:
        return ()
    if isinstance(value, tuple):  # built in code: ((group, rule, action), ...)
        value = overrides_as_map(value)
    groups = ", ".join(MANAGED_RULE_GROUPS)
    if not isinstance(value, dict):
        example = f"{{{next(iter(MANAGED_RULE_GROUPS))}: {{SizeRestrictions_BODY: count}}}}"
        raise Problem(f"{value!r} is not a map of rule groups to {{rule: action}}, e.g. {example}")
    problems, overrides = [], []
    for group, rules in value.items():
        if group not in MANAGED_RULE_GROUPS:
            hint = did_you_mean(str(group), MANAGED_RULE_GROUPS)
            problems.append(Problem(f"not a rule group of the web ACL{hint}; use one of {groups}", (group,)))
            continue
        known = MANAGED_RULE_GROUPS[group]
        if not isinstance(rules, dict) or not rules:
            problems.append(Problem(f"{rules!r} is not a map of rule names to actions, e.g. {{{known[0]}: count}}",
                                    (group,)))  # fmt: skip
            continue
        for rule, action in rules.items():
            if rule not in known:
                hint = did_you_mean(str(rule), known)
                problems.append(Problem(f"not a rule of {group}{hint}; its rules are {', '.join(known)}",
                                        (group, rule)))  # fmt: skip
            elif action not in WAF_RULE_ACTIONS:
                problems.append(Problem(f"{action!r} is not an action; use one of {', '.join(WAF_RULE_ACTIONS)}",
                                        (group, rule)))  # fmt: skip
            else:
                overrides.append((group, rule, action))
    _raise(problems)
    return tuple(overrides)


def function_keys(value: Any, context: Context) -> Any:
    """``functions``' keys (each entry is then read as a whole ``function`` block)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        key = "memorySize" if context.get("style", CAMEL) == CAMEL else "memory_size"
        raise Problem(f"{value!r} is not a map of function keys to function blocks, e.g. {{api: {{{key}: 512}}}}")
    bad = [key for key in value if not isinstance(key, str) or not FUNCTION_KEY_RE.match(key)]
    _raise([Problem("not a function key; use lower-case letters, digits and -, starting with a letter", (str(k),))
            for k in bad])  # fmt: skip
    return value


def tags(value: Any, context: Context) -> dict[str, str]:
    """The team's own tags: AWS's limits, no ``aws:`` prefix, and our own keys stay ours."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Problem(f"{value!r} is not a map of tag keys to values, e.g. {{cost-centre: '1234', owner: team-a}}")
    allowed = "letters, digits, spaces and _ . : / = + - @"
    problems, found = [], {}
    for key, item in value.items():
        where = (str(key),)
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_KEY or not TAG_RE.match(key):
            problems.append(Problem(f"not a tag key; use 1-{MAX_TAG_KEY} characters among {allowed}", where))
        elif key.lower().startswith("aws:"):
            problems.append(Problem("keys starting with aws: are reserved by AWS; choose another key", where))
        elif key in OWN_TAG_KEYS:
            problems.append(Problem(f"set by the component itself ({', '.join(OWN_TAG_KEYS)}); choose another key",
                                    where))  # fmt: skip
        elif not isinstance(item, str):
            problems.append(Problem(f'{item!r} is not a string; quote it in YAML, e.g. "{item}"', where))
        elif len(item) > MAX_TAG_VALUE or not TAG_RE.match(item):
            problems.append(Problem(f"{item!r} is not a tag value; use at most {MAX_TAG_VALUE} characters among "
                                    f"{allowed}", where))  # fmt: skip
        else:
            found[key] = item
    if len(value) + len(OWN_TAG_KEYS) > MAX_TAGS:
        problems.append(Problem(f"{len(value)} tags plus the component's {len(OWN_TAG_KEYS)} "
                                f"({', '.join(OWN_TAG_KEYS)}) exceed AWS's {MAX_TAGS} tags per resource"))  # fmt: skip
    _raise(problems)
    return found


def service_name(value: Any, context: Context) -> Any:
    """The name every resource is named after (the load balancer's and target groups' start with it)."""
    if value in (None, ""):
        return None  # Pulumi.yaml's default, "": not given
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise Problem(
            f"{value!r} is not a name of at most {MAX_NAME_LENGTH} letters, digits and - (the load "
            "balancer's and target groups' names start with it and AWS allows 32 characters)"
        )
    return value


def overrides_as_map(overrides: tuple[tuple[str, str, str], ...]) -> dict[str, dict[str, str]]:
    grouped: dict[str, dict[str, str]] = {}
    for group, rule, action in overrides:
        grouped.setdefault(group, {})[rule] = action
    return grouped


OVERRIDES_SCHEMA = {
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

TAGS_SCHEMA = {
    "type": "object",
    "maxProperties": MAX_TAGS - len(OWN_TAG_KEYS),
    "propertyNames": {"maxLength": MAX_TAG_KEY, "pattern": r"^(?![aA][wW][sS]:)[\w .:/=+\-@]+$",
                      "not": {"enum": list(OWN_TAG_KEYS)}},
    "additionalProperties": {"type": "string", "maxLength": MAX_TAG_VALUE, "pattern": TAG_RE.pattern},
}  # fmt: skip
SECURE = {"type": "object", "required": ["secure"], "properties": {"secure": {"type": "string"}}}
ENVIRONMENT_SCHEMA = {
    "type": "object",
    "propertyNames": {"pattern": ENV_KEY_RE.pattern, "not": {"enum": sorted(RESERVED_ENV_KEYS)}},
    "additionalProperties": {"oneOf": [{"type": "string"}, SECURE]},
}

SERVICE_NAME_SCHEMA = {"type": "string", "pattern": NAME_RE.pattern}
