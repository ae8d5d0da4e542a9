"""What a kind accepts, read from its options model, in the words of docs/language.md.

Example::

    [o.line() for o in kind_options(get_kind("linear"))][-2:]
    # ['out: int (required) — output features', 'bias: bool = true']
"""

from __future__ import annotations

import enum
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic.fields import FieldInfo

from ..ir import Kind
from ..source import show

#: Options every layer takes (``Options``' own): listed after a kind's own ones.
COMMON = ("name", "expect", "from", "to", "if")


@dataclass(frozen=True)
class Option:
    """One option of a kind: its name as written in a spec, type, default and meaning."""

    name: str
    type: str
    default: str | None
    description: str

    def line(self) -> str:
        """``stride: int | pair = 1 — ...``, or ``(required)`` in place of a default."""
        text = f"{self.name}: {self.type}"
        text += " (required)" if self.default is None else f" = {self.default}"
        return text + (f" — {self.description}" if self.description else "")


def kind_options(kind: Kind) -> list[Option]:
    """The options of ``kind``, its own first, then those every layer takes."""
    own: list[Option] = []
    common: list[Option] = []
    for name, info in kind.Options.model_fields.items():
        written = info.alias or name
        option = Option(written, type_text(info.annotation), _default(info), info.description or "")
        (common if written in COMMON else own).append(option)
    return own + common


def _default(info: FieldInfo) -> str | None:
    if info.is_required():
        return None
    value = info.get_default(call_default_factory=True)
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, tuple) and len(set(value)) == 1:
        value = value[0]  # (1, 1) is written 1
    if isinstance(value, tuple):
        value = list(value)
    return "none" if value is None else show(value)


def type_text(annotation: Any) -> str:
    """A type as the docs say it: ``int``, ``int | pair``, ``max | avg``, ``list``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_text(args[0])
    if origin is typing.Union or origin is types.UnionType:
        parts = [type_text(a) for a in args if a is not type(None)]
        return " | ".join(dict.fromkeys(parts))
    if origin is tuple:
        return "int | pair" if args and all(a is int for a in args) else "list"
    if origin is list or annotation is list:
        return "list"
    if origin is dict or annotation is dict:
        return "mapping"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " | ".join(str(member.value) for member in annotation)
    words = {bool: "bool", int: "int", float: "number", str: "string"}
    return words.get(annotation, "any") if isinstance(annotation, type) else "any"
