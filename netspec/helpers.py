"""The helpers an expression may call (``min``, ``round``, ``make_divisible``, ``numbered``,
...), each bounded, and the bounds on the values expressions make.

The interpreter (:mod:`netspec.expr`) calls them by name; nothing else is callable from a
spec. Example::

    >>> make_divisible(64 * 0.75)
    48
    >>> numbered("y", 3)
    ['y0', 'y1', 'y2']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .budget import Budget
from .errors import Problem

#: Integers beyond this magnitude are refused (no arbitrary-precision towers).
MAX_INT = 10**18
#: Items in a list, nested lists' items counted too (a list of lists shares no budget trick).
MAX_LIST = 10_000
#: Digits ``round(x, n)`` may round to, either way.
MAX_DIGITS = 20
#: Characters of a text an expression makes, or a string with ``${...}`` once formatted.
MAX_TEXT = 2_000


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to a multiple of ``divisor``, never going more than 10% below it.

    The rounding MobileNet and EfficientNet use for scaled channel counts.
    """
    if divisor < 1:
        raise Problem("make_divisible needs a divisor of at least 1")
    floor = divisor if min_value is None else min_value
    new = max(floor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def numbered(prefix: str, count: int, start: int = 0) -> list[str]:
    """Names with numbers, for ``from:``: ``numbered("y", 3)`` is ``["y0", "y1", "y2"]``.

    What a block concatenates when a repeat named its copies' outputs ``y${i}`` (YOLO's C2f).
    """
    if not isinstance(prefix, str) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in (count, start)
    ):
        raise Problem("numbered() takes a text and whole numbers: numbered('y', 3)")
    if not 0 <= count <= MAX_LIST or abs(start) > MAX_INT:
        raise Problem(f"numbered() makes 0 to {MAX_LIST:,} names, not {count}")
    if len(prefix) * count > MAX_LIST * 10:
        raise Problem(
            f"numbered() would make {len(prefix) * count:,} characters of names",
            f"use a shorter prefix or fewer names (at most {MAX_LIST * 10:,} characters)",
        )
    return [f"{prefix}{k}" for k in range(start, start + count)]


def _round(x: Any, ndigits: Any = None) -> Any:
    """``round``, with the digits bounded: ``round(5, -10**18)`` would compute 10^(10^18)."""
    if ndigits is None:
        return round(x)
    if isinstance(ndigits, bool) or not isinstance(ndigits, int):
        raise Problem(f"round() takes a whole number of digits, got {shown(ndigits)}")
    if abs(ndigits) > MAX_DIGITS:
        raise Problem(
            f"round() to {ndigits:,} digits", f"round to -{MAX_DIGITS} to {MAX_DIGITS} digits"
        )
    return round(x, ndigits)


HELPERS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "round": _round,
    "abs": abs,
    "int": int,
    "float": float,
    "len": len,
    "ceil": math.ceil,
    "floor": math.floor,
    "make_divisible": make_divisible,
    "numbered": numbered,
}


def format_value(value: Any, width: int) -> str:
    """A value as ``${...}`` writes it into text, or a longer text than ``width`` if it would
    be longer (built no further: a list of lists sharing items may stand for billions)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if not isinstance(value, list):
        return str(value)[: width + 1]
    parts: list[str] = []
    used = 2
    for item in value:
        part = repr(item) if isinstance(item, str) else format_value(item, width - used)
        parts.append(part)
        used += len(part) + 2
        if used > width:
            break
    return "[" + ", ".join(parts) + "]"


def shown(value: Any) -> str:
    """A value in a message: its text, cut to 60 characters."""
    text = repr(value) if isinstance(value, str) else format_value(value, 60)
    return text if len(text) <= 60 else text[:57] + "..."


def check_value(value: Any, budget: Budget) -> Any:
    """``value``, if an expression may make it: numbers, lists and text within bounds.

    A list is weighed on ``budget``, once: checking it again costs nothing more."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise Problem(f"number out of range (more than {MAX_INT:.0e})")
    if isinstance(value, float) and not math.isfinite(value):
        raise Problem("expression gives a number that is not finite")
    if isinstance(value, list) and budget.weigh(value, MAX_LIST) > MAX_LIST:
        raise Problem(f"list longer than {MAX_LIST:,} items (the items of lists in it counted too)")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise Problem(
            f"text longer than {MAX_TEXT:,} characters", "texts in a spec are names and words"
        )
    return value
