"""The kinds of settings: how a field is read, its JSON Schema and what it allows, one class each.

A kind is attached to a field of a block (``components.model.Block``) with ``Annotated``; pydantic
calls it to validate the field. A value that is not known yet (a ``pulumi.Output``: the reading
context's ``unresolved`` says so) passes unjudged; ``None`` given where the default is not ``None``
is "has no value". A kind's reader raises ``Problem`` (``Problems`` for several), whose message
follows ``<path>: `` in what the user reads. Plain Python.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError, core_schema


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else ''."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in options}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f" (did you mean {close[0]!r}?)" if close else ""


# A problem's message may name its own block's path before it is known: this stands for it.
HERE = "\x00"


class Problem(Exception):
    """One problem with a value: the message after ``<path>: ``, with ``where`` below the value
    (a list index, a map key) when the problem is inside it. A message that names other places
    writes the field's own path as ``HERE``; ``whole=True`` when it begins with its own path."""

    def __init__(self, message: str, where: tuple[str | int, ...] = (), whole: bool = False) -> None:
        super().__init__(message)
        self.message, self.where, self.whole = message, where, whole


class Problems(Exception):
    """Every problem found in one value."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)


def as_error(title: str, problems: Sequence[Problem], value: Any) -> ValidationError:
    """Problems of one value, each at its place below it, as one pydantic error."""
    details = [
        InitErrorDetails(
            type=PydanticCustomError(
                "problem", "{message}", {"message": p.message, "depth": len(p.where), "whole": p.whole}
            ),
            loc=p.where,
            input=value,
        )
        for p in problems
    ]
    return ValidationError.from_exception_data(title, details)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- the kinds -------------------------------------------------------------------------------------


@dataclass
class Kind:
    """How a field is read, what its JSON Schema is and what it allows.

    ``read`` returns the value (possibly normalised) or raises ``Problem``. A ``None`` given for a
    field whose default is not ``None`` is a problem ("has no value"), unless ``null_is_default``.
    """

    null_is_default: ClassVar[bool] = False
    # Bound by ``Block`` when the model is built: the field's name and default.
    name: str = field(default="", init=False, repr=False)
    default: Any = field(default=None, init=False, repr=False)

    def read(self, value: Any, context: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def allowed(self) -> str:
        return "a string"

    def bind(self, name: str, default: Any) -> None:
        assert not self.name or (self.name, self.default) == (name, default), f"{self} is shared by two fields"
        self.name, self.default = name, default

    # pydantic's side: validate with ``read``, describe with ``schema``.
    def _validate(self, value: Any, info: core_schema.ValidationInfo) -> Any:
        context = info.context or {}
        unresolved: Callable[[Any], bool] | None = context.get("unresolved")
        if unresolved is not None and unresolved(value):
            return value
        if value is None and self.default is not None and not self.null_is_default:
            raise PydanticCustomError("no_value", "{message}", {"message": self.no_value()})
        try:
            return self.read(value, context)
        except Problem as problem:
            raise as_error(self.name, [problem], value) from None
        except Problems as problems:
            raise as_error(self.name, problems.problems, value) from None

    def no_value(self) -> str:
        return f"has no value; give one or remove the key for the default ({self.default!r})"

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(self._validate)

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict[str, Any]:
        return self.schema()


@dataclass
class Flag(Kind):
    def read(self, value: Any, context: Mapping[str, Any]) -> Any:
        if not isinstance(value, bool):
            raise Problem(f"{value!r} is not a boolean; use true or false")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}

    def allowed(self) -> str:
        return "`true`, `false`"


@dataclass
class Integer(Kind):
    lo: int = 0
    hi: int | None = None
    unit: str = ""  # " MB": appended to ranges in messages
    allowed_text: str | None = None

    def read(self, value: Any, context: Mapping[str, Any]) -> Any:
        if value is None:
            return None
        allowed = f"{self.lo}-{self.hi}" if self.hi is not None else f"at least {self.lo}"
        if isinstance(value, bool) or not isinstance(value, int):
            raise Problem(f"{value!r} is not an integer; allowed: {allowed}{self.unit}")
        if self.hi is None and value < self.lo:
            raise Problem(f"{value} is below the minimum of {self.lo}{self.unit}")
        if value < self.lo or (self.hi is not None and value > self.hi):
            raise Problem(f"{value} is outside {allowed}{self.unit}")
        return value

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer", "minimum": self.lo}
        if self.hi is not None:
            schema["maximum"] = self.hi
        return schema

    def allowed(self) -> str:
        if self.allowed_text:
            return self.allowed_text
        unit = f" ({self.unit.strip()})" if self.unit else ""
        return f"{self.lo} or more{unit}" if self.hi is None else f"{self.lo}-{self.hi}{unit}"


@dataclass
class Number(Kind):
    """A number in (lo, hi]: a threshold where zero would always fire."""

    lo: float = 0
    hi: float = 0
    unit: str = ""
    allowed_text: str | None = None

    def read(self, value: Any, context: Mapping[str, Any]) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or not self.lo < value <= self.hi:
            raise Problem(f"{value!r} is not a number of{self.unit} in ({_fmt(self.lo)}, {_fmt(self.hi)}]")
        return float(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "number", "exclusiveMinimum": self.lo, "maximum": self.hi}

    def allowed(self) -> str:
        return self.allowed_text or f"({_fmt(self.lo)}, {_fmt(self.hi)}]"


@dataclass
class OneOf(Kind):
    choices: tuple[Any, ...] = ()

    def read(self, value: Any, context: Mapping[str, Any]) -> Any:
        if value not in self.choices or isinstance(value, bool):
            hint = did_you_mean(str(value), [str(c) for c in self.choices])
            raise Problem(f"{value!r} is not allowed{hint}; use one of {', '.join(map(str, self.choices))}")
        return value

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.choices)}

    def allowed(self) -> str:
        return ", ".join(f"`{_fmt(c)}`" for c in self.choices)


Check = Callable[[Any], "str | None"]


@dataclass
class Text(Kind):
    """A non-empty string; ``check`` returns what is wrong with it (after the quoted value)."""

    check: Check | None = None
    pattern: str | None = None  # the regular expression behind ``check``, for the schema
    allowed_text: str | None = None

    def read(self, value: Any, context: Mapping[str, Any]) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise Problem(f"{value!r} is not a non-empty string")
        problem = self.check(value) if self.check else None
        if problem:
            raise Problem(f"{value!r} {problem}")
        return value

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "minLength": 1}
        if self.pattern:
            schema["pattern"] = self.pattern
        return schema

    def allowed(self) -> str:
        return self.allowed_text or "a string"


@dataclass
class Texts(Kind):
    """A list of strings, each checked (``check`` returns the whole problem of an item)."""

    null_is_default: ClassVar[bool] = True
    example: str = ""
    check: Check | None = None
    pattern: str | None = None
    allowed_text: str | None = None

    def read(self, value: Any, context: Mapping[str, Any]) -> Any:
        if value is None:
            return ()
        unresolved = context.get("unresolved") or (lambda v: False)
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) or unresolved(v) for v in value):
            raise Problem(f"{value!r} is not a list of strings; write e.g. [{self.example!r}]")
        found = [(i, self.check(v)) for i, v in enumerate(value) if self.check and not unresolved(v)]
        problems = [Problem(problem, (i,)) for i, problem in found if problem]
        if problems:
            raise Problems(problems)
        return tuple(value)

    def schema(self) -> dict[str, Any]:
        item: dict[str, Any] = {"type": "string"}
        if self.pattern:
            item["pattern"] = self.pattern
        return {"type": "array", "items": item}

    def allowed(self) -> str:
        return self.allowed_text or "a list of strings"


@dataclass
class Custom(Kind):
    """A field read by its own function: ``read(value, context)`` returns the value or raises
    ``Problem`` (``Problems`` for several); its schema and allowed text are given beside it."""

    null_is_default: ClassVar[bool] = True
    reader: Callable[[Any, Mapping[str, Any]], Any] | None = None
    json_schema: Mapping[str, Any] = field(default_factory=dict)
    allowed_text: str = "see below"

    nested: bool = False  # True: the value read is then validated as its annotation (blocks inside)

    def read(self, value: Any, context: Mapping[str, Any]) -> Any:
        assert self.reader is not None
        return self.reader(value, context)

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        if not self.nested:
            return super().__get_pydantic_core_schema__(source, handler)
        return core_schema.with_info_wrap_validator_function(self._validate_nested, handler(source))

    def _validate_nested(self, value: Any, handler: Any, info: core_schema.ValidationInfo) -> Any:
        return handler(self._validate(value, info))

    def schema(self) -> dict[str, Any]:
        return dict(self.json_schema)

    def allowed(self) -> str:
        return self.allowed_text


def as_given(value: Any, context: Mapping[str, Any]) -> Any:
    """A field judged by its block's or its list's own reader, which sees it whole."""
    return value
