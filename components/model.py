"""Settings on pydantic: blocks are frozen pydantic models, each field's kind is a class beside it.

Pydantic owns the shape: the fields of each block and their defaults, camelCase keys for stack files
and snake_case names for code (one alias generator), unknown keys refused (``extra="forbid"``),
nested blocks, frozen instances, which keys were given (``model_fields_set``), and the JSON Schema
that editors read. A field's *kind* (``Flag``, ``Integer``, ``OneOf``, ``Text``...) is a class that
reads a value, knows its JSON Schema and says what is allowed, side by side; it is attached to the
field with ``Annotated`` and lets a value that is not known yet (a ``pulumi.Output``) pass unjudged.

``read(block class, raw, style)`` turns pydantic's errors into the messages a user reads: the key
path in the caller's own spelling, the bad value, what is allowed, "did you mean". It then runs the
rules that join fields (each block's ``cross_check``) on every block, the bad values replaced by
their defaults, so that every problem is reported at once. Pydantic's own model validators are not
used for those rules: they do not run once a field of their model has failed, and they do not know
where in the configuration their block is. Plain Python (no ``pulumi`` import).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .kinds import HERE, Kind, _fmt, did_you_mean

CAMEL = "camel"  # stack files
SNAKE = "snake"  # args built in code


def to_camel(name: str) -> str:
    """``memory_size`` -> ``memorySize`` (the stack file's spelling of a field)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# --- blocks ----------------------------------------------------------------------------------------


class Block(BaseModel):
    """A block of settings: a frozen model whose keys are camelCase in stack files, snake_case in code."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        arbitrary_types_allowed=True,
        validate_default=False,
    )

    def __init__(self, /, **given: Any) -> None:
        """Built in code: kept as given, judged when the component reads it (every problem at once,
        in the program's own spelling), as a stack file's values are."""
        unknown = [key for key in given if key not in type(self).model_fields]
        if unknown:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}")
        built = type(self).model_construct(**given)
        for attribute in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"):
            object.__setattr__(self, attribute, getattr(built, attribute))

    # Pydantic validates a stack file's values without calling __init__ only while it takes this
    # __init__ for its own (pinned by tests/test_model.py).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for name, info in cls.model_fields.items():
            for marker in info.metadata:
                if isinstance(marker, Kind):
                    marker.bind(name, info.get_default(call_default_factory=True))
        # help() and editors show each field with its default, what it allows and its meaning.
        cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n\nFields:\n\n" + describe(cls) + "\n"

    @model_validator(mode="before")
    @classmethod
    def _absent_means_defaults(cls, value: Any) -> Any:
        """A block key given without a value (``healthCheck:`` in YAML) takes every default."""
        return {} if value is None else value

    @classmethod
    def keys(cls, style: str = CAMEL) -> tuple[str, ...]:
        """The keys this block takes, in a stack file's spelling (without what only code can give)
        or in code's."""
        return tuple(
            key_of(name, info.alias, style)
            for name, info in cls.model_fields.items()
            if style != CAMEL or not info.exclude
        )

    @classmethod
    def unknown_key(cls, key: str, path: str, style: str) -> str:
        known = cls.keys(style)
        return f"{path}: unknown key{did_you_mean(key, known)}; known keys are {', '.join(known)}"

    def cross_check(self, report: Report, given: frozenset[str]) -> None:
        """The rules that join this block's fields (none unless a block defines them)."""

    def unused(self) -> frozenset[str]:
        """Fields holding a block that is not used, hence not checked (none unless a block says)."""
        return frozenset()


def as_raw(value: Any, style: str = SNAKE) -> Any:
    """A block built in code as a reader's raw input: the keys its caller gave (``model_fields_set``),
    nested blocks too (in maps and lists); anything else unchanged."""
    if isinstance(value, Block):
        fields = type(value).model_fields
        return {
            key_of(name, fields[name].alias, style): as_raw(getattr(value, name), style)
            for name in fields
            if name in value.model_fields_set
        }
    if isinstance(value, dict):
        return {key: as_raw(item, style) for key, item in value.items()}
    if isinstance(value, list | tuple) and any(isinstance(item, Block) for item in value):
        return [as_raw(item, style) for item in value]
    return value


def key_of(name: str, alias: str | None, style: str) -> str:
    return (alias or name) if style == CAMEL else name


@dataclass
class Report:
    """Where cross-field problems of one block go, with that block's path and spelling."""

    path: str
    style: str
    problems: list[str]
    bad: frozenset[str]  # keys of this block whose values were refused (already reported)
    context: Mapping[str, Any]

    def key(self, name: str) -> str:
        return to_camel(name) if self.style == CAMEL else name

    def at(self, name: str) -> str:
        """``<path>.<key>`` of a field of this block, in the caller's spelling."""
        return f"{self.path}.{self.key(name)}" if self.path else self.key(name)

    def add(self, message: str) -> None:
        self.problems.append(message)

    def unresolved(self, value: Any) -> bool:
        check = self.context.get("unresolved")
        return bool(check and check(value))


@dataclass(frozen=True)
class Setting:
    """One declared field of a block, as the generator, the docs and the tests see it."""

    name: str
    info: Any  # pydantic's FieldInfo
    kind: Kind | None  # None for a block
    block: type[Block] | None  # the nested block's class

    def key(self, style: str = CAMEL) -> str:
        return key_of(self.name, self.info.alias, style)

    @property
    def doc(self) -> str:
        return str(self.info.description or "")

    @property
    def code_only(self) -> bool:
        return bool(self.info.exclude)

    @property
    def default(self) -> Any:
        return self.info.get_default(call_default_factory=True)

    def stack_default(self) -> Any:
        """The default as a stack file writes it: an empty map for a setting whose schema is an
        object even when the code keeps it as an empty tuple (waf.ruleOverrides)."""
        default = self.default
        if default == () and self.kind is not None and self.kind.schema().get("type") == "object":
            return {}
        return default

    def default_text(self) -> str:
        """The "default" column: the declared default, or what an unset value means."""
        default = self.stack_default()
        if _structured(default):
            return "see below"
        if default is None or default == () or default == {}:
            return "unset" if default is None else ("`[]`" if default == () else "`{}`")
        if isinstance(default, tuple):
            return "`[" + ", ".join(_fmt(v) for v in default) + "]`"
        return f"`{_fmt(default)}`"

    def allowed_text(self) -> str:
        """The "allowed" column of the configuration reference."""
        extra = self.info.json_schema_extra
        if isinstance(extra, dict) and "allowed" in extra:
            return str(extra["allowed"])
        if self.kind is None:
            return "an object (its keys below)"
        return self.kind.allowed()

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of this setting as a stack file writes it, described."""
        schema = block_schema(self.block) if self.block is not None else self.kind.schema() if self.kind else {}
        default = self.stack_default()
        if default is not None and not _structured(default):
            schema["default"] = list(default) if isinstance(default, tuple) else default
        schema["description"] = self.doc
        schema["markdownDescription"] = f"{self.doc}\n\nDefault: {self.default_text()}. Allowed: {self.allowed_text()}."
        return schema


def _structured(default: Any) -> bool:
    """A default that is an object of its own (a block, a rule's action): described below, not inline."""
    return isinstance(default, Block) or (dataclasses.is_dataclass(default) and not isinstance(default, type))


def fields(cls: type[Block], style: str = CAMEL) -> list[Setting]:
    """The declared settings of a block, in declaration order; in a stack file's spelling, without
    the arguments only code can give."""
    found = []
    for name, info in cls.model_fields.items():
        kind = next((m for m in info.metadata if isinstance(m, Kind)), None)
        setting = Setting(name, info, kind, _nested(info))
        if style == SNAKE or not setting.code_only:
            found.append(setting)
    return found


def block_schema(cls: type[Block]) -> dict[str, Any]:
    """The JSON Schema of a block: its keys (no others), each typed, bounded and described."""
    return {
        "type": "object",
        "description": summary(cls),
        "additionalProperties": False,
        "properties": {setting.key(CAMEL): setting.schema() for setting in fields(cls)},
    }


def summary(cls: type) -> str:
    """The first paragraph of a class's docstring."""
    return (cls.__doc__ or "").strip().split("\n\n")[0]


def describe(cls: type[Block]) -> str:
    """Each field (snake_case, default, allowed, meaning): the args reference a Python user reads."""
    return "\n".join(f"- ``{s.name}`` ({s.default_text()}; {s.allowed_text()}): {s.doc}" for s in fields(cls, SNAKE))


# --- reading: pydantic's errors as our messages, then the cross-field rules -------------------------


def _path(cls: type[Block], loc: Sequence[str | int], style: str) -> str:
    """Where ``loc`` is, in the caller's spelling: ``routes[0].priority``; a key of a map of blocks
    is ``functions.api`` in a stack file (as ``pulumi config set --path`` writes it) and
    ``functions['api']`` in code."""
    path, keyed = "", False
    current: type[Block] | None = cls
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif keyed and style != CAMEL:
            path += f"[{part!r}]"
        else:
            path += f".{part}" if path else str(part)
        info = _field(current, str(part)) if current is not None and not keyed and not isinstance(part, int) else None
        if keyed:
            keyed = False
        elif info is not None:
            map_of = _block_values(info.annotation)
            current = _nested(info) or map_of
            keyed = map_of is not None
        else:
            current = None
    return path


def _block_at(cls: type[Block], loc: Sequence[str | int]) -> type[Block] | None:
    """The block class that holds the last key of ``loc`` (for "known keys" and defaults)."""
    current: type[Block] | None = cls
    keyed = False
    for part in loc[:-1]:
        if keyed:  # a key of a map of blocks: the block itself comes next
            keyed = False
            continue
        info = _field(current, str(part)) if current is not None else None
        if info is None:
            return None
        map_of = _block_values(info.annotation)
        current, keyed = _nested(info) or map_of, map_of is not None
    return None if keyed else current


def _nested(info: Any) -> type[Block] | None:
    """The block class a field holds (optional or not); None for a field read by a kind."""
    if any(isinstance(marker, Kind) for marker in info.metadata):
        return None
    inner = _block_type(info.annotation)
    return inner if isinstance(inner, type) and issubclass(inner, Block) else None


def _block_type(annotation: Any) -> Any:
    """The block class of a block field (optional or not), else the annotation."""
    optional = get_origin(annotation) in (Union, UnionType)
    for candidate in (annotation, *(get_args(annotation) if optional else ())):
        if isinstance(candidate, type) and issubclass(candidate, Block):
            return candidate
    return annotation


def render(cls: type[Block], error: Mapping[str, Any], style: str) -> str:
    """One pydantic error as the message a user reads."""
    loc = tuple(error["loc"])
    path = _path(cls, loc, style)
    kind, value = error["type"], error.get("input")
    if kind in ("problem", "no_value"):
        ctx = error["ctx"]
        depth = ctx.get("depth", 0)
        own = _path(cls, loc[: len(loc) - depth], style)
        message = ctx["message"].replace(HERE, own)
        return message if ctx.get("whole") else f"{path}: {message}"
    if kind == "extra_forbidden":
        owner: type[Block] = _block_at(cls, loc) or Block
        return owner.unknown_key(str(loc[-1]), path, style)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        inner = _block_at(cls, (*loc, ""))
        known = inner.keys(style) if inner else ()
        return f"{path}: {value!r} is not an object; expected keys among {', '.join(known)}"
    if kind == "missing":
        return f"{path}: missing"
    return f"{path}: {value!r} {error['msg']}"  # pydantic's own words: a case not written yet


def _without(cls: type[Block], raw: Any, loc: Sequence[str | int]) -> Any:
    """``raw`` without the field that ``loc`` points into (so that its default stands in): the
    innermost block's field, never a part of a field's own value."""
    if not loc or not isinstance(raw, dict) or loc[0] not in raw:
        return raw
    head, rest = loc[0], loc[1:]
    raw = dict(raw)
    info = _field(cls, str(head))
    inner = _nested(info) if info else None
    if rest and inner is not None and isinstance(raw[head], dict):
        raw[head] = _without(inner, raw[head], rest)
    elif rest[1:] and info and _block_values(info.annotation) and isinstance(raw[head], dict):
        raw[head] = {**raw[head], rest[0]: _without(_block_values(info.annotation), raw[head].get(rest[0]), rest[1:])}
    else:
        del raw[head]
    return raw


def _field(cls: type[Block], key: str) -> Any:
    fields = cls.model_fields
    return fields.get(key) or next((i for i in fields.values() if i.alias == key), None)


def _block_values(annotation: Any) -> Any:
    """The block class of a map of blocks (``functions``), else None."""
    args: tuple[Any, ...] = getattr(annotation, "__args__", ())
    inner = _block_type(args[-1]) if len(args) == 2 else None
    return inner if isinstance(inner, type) and issubclass(inner, Block) else None


def read(
    cls: type[Block], raw: Any, style: str = CAMEL, context: Mapping[str, Any] | None = None
) -> tuple[Any, list[str]]:
    """A block from its raw value (a dict in the caller's spelling) and every problem found.

    Values pydantic refuses are reported, then dropped so that their defaults stand in and the
    rules joining fields still run on the rest. Returns ``(block or None, problems)``.
    """
    context = {"style": style, **(context or {})}
    problems: list[str] = []
    bad: set[tuple[str | int, ...]] = set()
    current = copy.copy(raw)
    for _ in range(4):  # a drop may uncover more (a block that only now takes its defaults)
        try:
            block = cls.model_validate(current, context=context)
            break
        except ValidationError as error:
            found = error.errors(include_url=False)
            problems.extend(render(cls, e, style) for e in found)
            for e in found:
                bad.add(tuple(e["loc"]))
                current = _without(cls, current, tuple(e["loc"]))
    else:
        return None, problems
    walk(block, "", style, problems, bad, context)
    return block, problems


def walk(
    block: Block,
    path: str,
    style: str,
    problems: list[str],
    bad: set[tuple[str | int, ...]],
    context: Mapping[str, Any],
    loc: tuple[str | int, ...] = (),
) -> None:
    """Run every block's cross_check, children first, each with its path and its refused keys."""
    unused = block.unused()
    for name, info in type(block).model_fields.items():
        if name in unused:
            continue
        value = getattr(block, name)
        key = key_of(name, info.alias, style)
        where = f"{path}.{key}" if path else key
        if isinstance(value, Block):
            walk(value, where, style, problems, bad, context, (*loc, key))
        elif isinstance(value, Mapping) and any(isinstance(v, Block) for v in value.values()):
            for item_key, item in value.items():
                if isinstance(item, Block):
                    item_path = f"{where}.{item_key}" if style == CAMEL else f"{where}[{item_key!r}]"
                    walk(item, item_path, style, problems, bad, context, (*loc, key, item_key))
    refused = frozenset(str(b[len(loc)]) for b in bad if len(b) > len(loc) and b[: len(loc)] == loc)
    given = frozenset(key_of(n, type(block).model_fields[n].alias, style) for n in block.model_fields_set) | refused
    block.cross_check(Report(path, style, problems, refused, context), given)
