"""torch.export's serialized values (``{"as_int": 3}``, ``{"as_tensor": {"name": "x"}}``)
read as data: each of the type it must have and within bounds, or a :class:`Bad` naming its
place in the program. A symbolic size stays its text (:class:`Symbolic`), never parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import clip, printable

#: the largest number a program may say (torch's sizes are 64-bit)
MAX_INT = 2**63 - 1
#: the longest name (a tensor's, a module path, a class) or text kept
MAX_NAME = 1000


@dataclass(frozen=True)
class Ref:
    """A tensor another operator makes (or the input, or a weight), by its name."""

    name: str


@dataclass(frozen=True)
class Symbolic:
    """A size torch left symbolic (a dynamic batch): its text, never parsed."""

    text: str


@dataclass(frozen=True)
class Opaque:
    """A value netspec has no use for (a dtype, a device, a graph): its kind."""

    kind: str


class Bad(Exception):
    """A value of the wrong type or out of bounds, at a place in the JSON."""


_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "bool": (bool,),
    "float": (float, int),
    "number": (float, int),
    "Tensor": (Ref,),
    "Scalar or Tensor": (Ref, float, int),  # add's and mul's other: x + 1 is add.Tensor
}


def check_type(value: Any, kind: str, where: str, known: set[str]) -> None:
    if kind.startswith("Optional["):
        if value is None:
            return
        kind = kind[len("Optional[") : -1]
    if kind.startswith("List["):
        if not isinstance(value, list):
            raise Bad(f"{where}: expected a list")
        for item in value:
            check_type(item, kind[len("List[") : -1], where, known)
        return
    allowed = _TYPES.get(kind, ())
    is_bool = isinstance(value, bool)
    if not isinstance(value, allowed) or (is_bool and kind != "bool"):
        raise Bad(f"{where}: expected {kind}, got {_describe(value)}")
    if isinstance(value, Ref) and value.name not in known:
        raise Bad(f"{where}: reads {quoted(value.name)}, which no earlier operator makes")


def _describe(value: Any) -> str:
    if isinstance(value, Symbolic):
        return f"a symbolic size ({clip(printable(value.text), 100)})"
    if isinstance(value, Opaque):
        return f"a {value.kind.removeprefix('as_')}"
    return "a tensor" if isinstance(value, Ref) else f"a {type(value).__name__}"


#: the serialized lists of values, and the kinds of their items
_LISTS = {
    "as_tensors": {"as_tensor"},
    "as_optional_tensors": {"as_tensor", "as_none"},
    "as_sym_ints": {"as_int", "as_name"},
}
#: the serialized argument kinds that are plain values, and their Python types
_PLAIN = {"as_int": int, "as_float": float, "as_bool": bool, "as_string": str}


def argument(arg: Any, where: str) -> Any:
    """One serialized argument as a plain value, a :class:`Ref`, a list, a
    :class:`Symbolic` or an :class:`Opaque`."""
    kind, value = one(arg, where)
    if kind == "as_none":
        return None
    if kind == "as_name":  # a symbolic integer's name
        return Symbolic(name_of(value, where))
    if kind == "as_tensor":
        return Ref(name_of(dict_of(value, where).get("name"), where))
    if kind in _LISTS:  # a flat list of the kinds it may hold
        items = list_of(value, where, 1024)
        if kind == "as_tensors":
            items = [{"as_tensor": i} for i in items]
        for item in items:
            if not isinstance(item, dict) or not set(item) <= _LISTS[kind]:
                raise Bad(f"{where}: {kind} holds something else")
        return [argument(i, where) for i in items]
    if kind in ("as_ints", "as_floats", "as_bools"):
        item_kind = "as_" + kind[3:-1]
        return [argument({item_kind: v}, where) for v in list_of(value, where, 1024)]
    if kind in _PLAIN:
        if kind == "as_float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not _PLAIN[kind]:
            raise Bad(f"{where}: {kind} is not a {_PLAIN[kind].__name__}")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise Bad(f"{where}: {value:.3g} is out of range")
        return clip(value, MAX_NAME) if isinstance(value, str) else value
    if kind == "as_sym_int":
        inner, number = one(value, where)
        if inner == "as_int":
            return argument({"as_int": number}, where)
        return Symbolic(name_of(number, where) if inner == "as_name" else inner)
    return Opaque(clip(kind, 40))


def sizes_of(meta: Any, where: str) -> list[int | Symbolic]:
    out: list[int | Symbolic] = []
    for n, size in enumerate(list_of(dict_of(meta, where).get("sizes"), f"{where}.sizes", 64)):
        kind, value = one(size, f"{where}.sizes[{n}]")
        if kind == "as_int" and type(value) is int and 0 <= value <= MAX_INT:
            out.append(value)
        elif kind == "as_expr":
            text = dict_of(value, where).get("expr_str")
            out.append(Symbolic(clip(text, MAX_NAME) if isinstance(text, str) else "?"))
        else:
            raise Bad(f"{where}.sizes[{n}]: not a size")
    return out


def one(value: Any, where: str) -> tuple[str, Any]:
    """The one key and value of a serialized union (``{"as_int": 3}``)."""
    if not isinstance(value, dict) or len(value) != 1:
        raise Bad(f"{where}: expected one of torch's tagged values")
    ((kind, inner),) = value.items()
    return str(kind), inner


def dict_of(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Bad(f"{where}: expected an object")
    return value


def list_of(value: Any, where: str, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise Bad(f"{where}: expected a list")
    if len(value) > limit:
        raise Bad(f"{where}: {len(value):,} items; the limit is {limit:,}")
    return value


def name_of(value: Any, where: str = "a name") -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        raise Bad(f"{where}: expected a name")
    return value


def quoted(text: Any) -> str:
    return repr(clip(printable(str(text)), 100))
