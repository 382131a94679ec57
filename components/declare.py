"""Settings declared once: a field's name, type, default, allowed values and meaning in one place.

A block of settings is a frozen dataclass whose fields are made with ``setting(...)``. From those
declarations, and nothing else, come:

- the reader (``read_block``) that turns a stack file's block, or a block built in code, into the
  dataclass, collecting one clear problem per bad value (key path, bad value, what is allowed),
  with "did you mean" for unknown keys;
- the JSON Schema of stack files (``block_schema``), hence editor completion and checking;
- the ``Pulumi.yaml`` declarations and the configuration reference (``components/generate.py``);
- the docstring of each block, which doubles as the component's args reference.

Keys are camelCase in stack files (``memorySize``) and snake_case in code (``memory_size``); the
same reader serves both, so a bad value gets the same message either way, with the path in the
caller's own spelling. Plain Python: no ``pulumi`` import (the local ALB uses it too).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CAMEL = "camel"  # stack files
SNAKE = "snake"  # args built in code


def to_camel(name: str) -> str:
    """``memory_size`` -> ``memorySize`` (the stack file's spelling of a field)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else ''."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in options}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f" (did you mean {close[0]!r}?)" if close else ""


# What a bad value's message ends with; the reader adds "<path>: ".
Check = Callable[[Any], "str | None"]
# A field read by hand: (raw value or None, the block's given keys, reader, path, default) -> value.
Parse = Callable[[Any, Mapping[str, Any], "Reader", str, Any], Any]


@dataclass(frozen=True)
class Spec:
    """How one setting is typed, checked, documented and shown in the schema."""

    kind: str  # bool | int | float | choice | string | strings | block | custom
    doc: str
    lo: float | None = None
    hi: float | None = None
    unit: str = ""  # " MB", " seconds": appended to ranges in messages and docs
    choices: tuple[Any, ...] = ()
    check: Check | None = None  # string kinds: the problem with a value, or None
    pattern: str | None = None  # the regular expression behind ``check``, for the schema
    example: str = ""  # strings: an example item for the "not a list" message
    parse: Parse | None = None  # custom kinds
    schema: Mapping[str, Any] | None = None  # custom kinds: their JSON Schema
    allowed: str | None = None  # the "allowed" column, when the generated one would not say it
    block: type | None = None  # block kinds: the nested dataclass
    code_only: bool = False  # an argument of the component only (a pulumi.Archive...), not a stack key


def setting(default: Any = None, *, factory: Callable[[], Any] | None = None, **spec: Any) -> Any:
    """A dataclass field declared with its ``Spec``."""
    metadata = {"spec": Spec(**spec)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def specs(cls: type, style: str = CAMEL) -> list[tuple[dataclasses.Field[Any], Spec]]:
    """The declared settings of a block, in declaration order; in a stack file's spelling, without
    the arguments only code can give."""
    declared = [(f, f.metadata["spec"]) for f in dataclasses.fields(cls) if "spec" in f.metadata]
    return [(f, spec) for f, spec in declared if style == SNAKE or not spec.code_only]


def key_of(f: dataclasses.Field[Any], style: str) -> str:
    return to_camel(f.name) if style == CAMEL else f.name


def keys(cls: type, style: str = CAMEL) -> tuple[str, ...]:
    """The keys a block accepts, in the given spelling."""
    return tuple(key_of(f, style) for f, _ in specs(cls, style))


def default_of(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


class Reader:
    """Reads raw values into blocks, collecting a problem for each bad one instead of stopping."""

    def __init__(
        self,
        style: str = CAMEL,
        context: Mapping[str, Any] | None = None,
        is_unresolved: Callable[[Any], bool] | None = None,
    ) -> None:
        self.style = style
        self.context = dict(context or {})
        self._is_unresolved = is_unresolved
        self.problems: list[str] = []

    def add(self, message: str) -> None:
        self.problems.append(message)

    def unresolved(self, value: Any) -> bool:
        return bool(self._is_unresolved and self._is_unresolved(value))

    def key(self, name: str) -> str:
        """A field's key in this reader's spelling (for cross-field messages)."""
        return to_camel(name) if self.style == CAMEL else name

    def bad_keys(self, path: str) -> set[str]:
        """Keys of ``path`` that already have a problem (to avoid follow-on errors)."""
        prefix = f"{path}."
        return {p[len(prefix) :].split(":")[0] for p in self.problems if p.startswith(prefix)}

    # --- the kinds ------------------------------------------------------------------------------

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

    def _null(self, d: Mapping[str, Any], key: str, path: str, default: Any) -> bool:
        """A key present with no value (YAML ``timeout:``) is an error unless null means unset."""
        if key in d and d[key] is None and default is not None:
            self.add(f"{path}.{key}: has no value; give one or remove the key for the default ({default!r})")
            return True
        return False

    def boolean(self, d: Mapping[str, Any], key: str, path: str, default: bool) -> Any:
        value = d.get(key, default)
        if self.unresolved(value):
            return value
        if not isinstance(value, bool):
            self.add(f"{path}.{key}: {value!r} is not a boolean; use true or false")
            return default
        return value

    def integer(
        self, d: Mapping[str, Any], key: str, path: str, default: Any, lo: float, hi: float | None, unit: str = ""
    ) -> Any:
        if self._null(d, key, path, default):
            return default
        value = d.get(key, default)
        if value is None or self.unresolved(value):
            return value
        allowed = f"{_fmt(lo)}-{_fmt(hi)}" if hi is not None else f"at least {_fmt(lo)}"
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(f"{path}.{key}: {value!r} is not an integer; allowed: {allowed}{unit}")
            return default
        if hi is None and value < lo:
            self.add(f"{path}.{key}: {value} is below the minimum of {_fmt(lo)}{unit}")
            return default
        if value < lo or (hi is not None and value > hi):
            self.add(f"{path}.{key}: {value} is outside {allowed}{unit}")
            return default
        return value

    def number(self, d: Mapping[str, Any], key: str, path: str, default: Any, lo: float, hi: float, unit: str) -> Any:
        """A number in (lo, hi]: a threshold where zero would always fire."""
        value = d.get(key, default)
        if self.unresolved(value):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo < value <= hi:
            self.add(f"{path}.{key}: {value!r} is not a number of{unit} in ({_fmt(lo)}, {_fmt(hi)}]")
            return default
        return float(value)

    def choice(self, d: Mapping[str, Any], key: str, path: str, default: Any, choices: Iterable[Any]) -> Any:
        choices = tuple(choices)
        value = d.get(key, default)
        if self.unresolved(value):
            return value
        if value not in choices or isinstance(value, bool):
            hint = did_you_mean(str(value), [str(c) for c in choices])
            self.add(f"{path}.{key}: {value!r} is not allowed{hint}; use one of {', '.join(map(str, choices))}")
            return default
        return value

    def string(self, d: Mapping[str, Any], key: str, path: str, default: Any, check: Check | None = None) -> Any:
        if self._null(d, key, path, default):
            return default
        value = d.get(key, default)
        if value is None or self.unresolved(value):
            return value
        if not isinstance(value, str) or not value:
            self.add(f"{path}.{key}: {value!r} is not a non-empty string")
            return default
        problem = check(value) if check else None
        if problem:
            self.add(f"{path}.{key}: {value!r} {problem}")
            return default
        return value

    def strings(self, raw: Any, path: str, example: str, check: Check | None = None) -> Any:
        if raw is None:
            return ()
        if self.unresolved(raw):
            return raw
        if not isinstance(raw, list | tuple) or not all(isinstance(v, str) or self.unresolved(v) for v in raw):
            self.add(f"{path}: {raw!r} is not a list of strings; write e.g. [{example!r}]")
            return ()
        for i, value in enumerate(raw):
            problem = None if self.unresolved(value) or check is None else check(value)
            if problem:
                self.add(f"{path}[{i}]: {problem}")
        return tuple(raw)


def read_block(cls: type, raw: Any, path: str, rd: Reader) -> Any:
    """One block from its raw value (a dict in the reader's key spelling), then its cross-field rules.

    A field's problems name ``<path>.<key>``; an absent key takes the declared default. The block's
    ``cross_check(rd, path, given)`` method, when it has one, checks the rules that join fields.
    """
    declared = specs(cls, rd.style)
    if dataclasses.is_dataclass(raw) and not isinstance(raw, type):
        raw = as_raw(raw, rd.style)
    d = rd.obj(raw, path, (key_of(f, rd.style) for f, _ in declared))
    values: dict[str, Any] = {}
    for f, spec in declared:
        key = key_of(f, rd.style)
        default = default_of(f)
        where = f"{path}.{key}"
        if spec.kind == "bool":
            values[f.name] = rd.boolean(d, key, path, default)
        elif spec.kind == "int":
            values[f.name] = rd.integer(d, key, path, default, spec.lo or 0, spec.hi, spec.unit)
        elif spec.kind == "float":
            values[f.name] = rd.number(d, key, path, default, spec.lo or 0, spec.hi or 0, spec.unit)
        elif spec.kind == "choice":
            values[f.name] = rd.choice(d, key, path, default, spec.choices)
        elif spec.kind == "string":
            values[f.name] = rd.string(d, key, path, default, spec.check)
        elif spec.kind == "strings":
            values[f.name] = rd.strings(d.get(key, default), where, spec.example, spec.check)
        elif spec.kind == "block":
            assert spec.block is not None
            # An optional block (default None) stays None until it is given.
            given = d.get(key)
            values[f.name] = None if given is None and default is None else read_block(spec.block, given, where, rd)
        else:
            assert spec.parse is not None, f"{cls.__name__}.{f.name}: a custom setting needs parse"
            values[f.name] = spec.parse(d.get(key), d, rd, where, default)
    block = cls(**values)
    cross_check = getattr(block, "cross_check", None)
    if cross_check is not None:
        cross_check(rd, path, frozenset(d))
    return block


def as_raw(block: Any, style: str = SNAKE) -> dict[str, Any]:
    """A block built in code, as the reader's raw input: the fields that differ from their default
    (so that "given" means what the caller gave, as in a stack file), nested blocks too."""
    raw: dict[str, Any] = {}
    for f, spec in specs(type(block), style):
        value = getattr(block, f.name)
        if _same(value, default_of(f)):
            continue
        if spec.kind == "block" and dataclasses.is_dataclass(value):
            value = as_raw(value, style)
        elif isinstance(value, tuple) and spec.kind == "strings":
            value = list(value)
        raw[key_of(f, style)] = value
    return raw


def _same(value: Any, default: Any) -> bool:
    """Equal to the default, never judging a value that is not known yet by its equality."""
    try:
        return type(value) is type(default) and bool(value == default)
    except Exception:  # noqa: BLE001 - an Output or any exotic object is simply "given"
        return False


# --- what the declarations say about themselves ---------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def allowed_text(spec: Spec) -> str:
    """The "allowed" column of the configuration reference."""
    if spec.allowed:
        return spec.allowed
    if spec.kind == "bool":
        return "`true`, `false`"
    if spec.kind == "int":
        unit = f" ({spec.unit.strip()})" if spec.unit else ""
        if spec.hi is None:
            return f"{_fmt(spec.lo)} or more{unit}"
        return f"{_fmt(spec.lo)}-{_fmt(spec.hi)}{unit}"
    if spec.kind == "choice":
        return ", ".join(f"`{_fmt(c)}`" for c in spec.choices)
    if spec.kind == "strings":
        return "a list of strings"
    if spec.kind == "block":
        return "an object (its keys below)"
    return "a string"


def stack_default(f: dataclasses.Field[Any], spec: Spec) -> Any:
    """The default as a stack file writes it: an empty map for a setting whose schema is an
    object even when the code keeps it as an empty tuple (waf.ruleOverrides)."""
    default = default_of(f)
    if default == () and (spec.schema or {}).get("type") == "object":
        return {}
    return default


def default_text(f: dataclasses.Field[Any], spec: Spec) -> str:
    """The "default" column: the declared default, or what an unset value means."""
    default = stack_default(f, spec)
    if default is None or default == () or default == {}:
        return "unset" if default is None else ("`[]`" if default == () else "`{}`")
    if isinstance(default, tuple):
        return "`[" + ", ".join(_fmt(v) for v in default) + "]`"
    if dataclasses.is_dataclass(default):
        return "see below"
    return f"`{_fmt(default)}`"


def field_schema(f: dataclasses.Field[Any], spec: Spec) -> dict[str, Any]:
    """The JSON Schema of one setting as written in a stack file."""
    schema: dict[str, Any]
    if spec.kind == "bool":
        schema = {"type": "boolean"}
    elif spec.kind == "int":
        schema = {"type": "integer", "minimum": spec.lo}
        if spec.hi is not None:
            schema["maximum"] = spec.hi
    elif spec.kind == "float":
        schema = {"type": "number", "exclusiveMinimum": spec.lo, "maximum": spec.hi}
    elif spec.kind == "choice":
        schema = {"enum": list(spec.choices)}
    elif spec.kind == "string":
        schema = {"type": "string", "minLength": 1}
        if spec.pattern:
            schema["pattern"] = spec.pattern
    elif spec.kind == "strings":
        item: dict[str, Any] = {"type": "string"}
        if spec.pattern:
            item["pattern"] = spec.pattern
        schema = {"type": "array", "items": item}
    elif spec.kind == "block":
        assert spec.block is not None
        schema = block_schema(spec.block)
    else:
        schema = dict(spec.schema or {})
    default = stack_default(f, spec)
    if default is not None and not dataclasses.is_dataclass(default):
        schema["default"] = list(default) if isinstance(default, tuple) else default
    schema["description"] = spec.doc
    schema["markdownDescription"] = f"{spec.doc}\n\nDefault: {default_text(f, spec)}. Allowed: {allowed_text(spec)}."
    return schema


def block_schema(cls: type) -> dict[str, Any]:
    """The JSON Schema of a block: its keys (no others), each typed, bounded and described."""
    return {
        "type": "object",
        "description": (cls.__doc__ or "").strip().split("\n\n")[0],
        "additionalProperties": False,
        "properties": {key_of(f, CAMEL): field_schema(f, spec) for f, spec in specs(cls)},
    }


def describe(cls: type) -> type:
    """Class decorator: append each declared field (snake_case, default, allowed, meaning) to the
    block's docstring, the args reference a Python user reads in an editor or ``help()``."""
    lines = [
        f"- ``{f.name}`` ({default_text(f, spec)}; {allowed_text(spec)}): {spec.doc}" for f, spec in specs(cls, SNAKE)
    ]
    cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n\nFields:\n\n" + "\n".join(lines) + "\n"
    return cls
