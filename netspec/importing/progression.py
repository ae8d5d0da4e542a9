"""Numbers that rise copy by copy: a repeat's calls equal but for an argument that grows by
the same step each copy (torchvision's stochastic depth rate, ``p · block / (blocks - 1)``),
written once as an expression of the copy's index (``p: "${0.2 + i / 170}"``).

Example::

    steps([{"p": 0.0}, {"p": 0.1}, {"p": 0.2}], 0, {"p"})   # {"p": (0.0, 0.1)}
    rising(0.0, 0.1)                                  # "${i / 10}"
"""

from __future__ import annotations

import itertools
from typing import Any

#: how far a step may stray from the first (float rounding of p · k / n)
_TOLERANCE = 1e-9


def _number(value: Any) -> bool:
    return isinstance(value, float)  # a rate; whole numbers (channels) are structure


def steps(
    values: list[dict[str, Any]], offset: int, rates: set[str]
) -> dict[str, tuple[float, float]] | None:
    """For calls whose argument values are ``values`` (copies ``offset``, ``offset + 1``, ...),
    each argument that rises by one step a copy, as (its value at copy 0, the step); {} where
    all are equal, None where one differs otherwise. Only ``rates`` may rise (the arguments
    that set a probability: a network that draws others by copy is not a progression)."""
    found: dict[str, tuple[float, float]] = {}
    for arg, first in values[0].items():
        column: list[Any] = [v.get(arg) for v in values]
        if all(v == first for v in column):
            continue
        if arg not in rates or len(column) < 2 or not all(_number(v) for v in column):
            return None
        step = _whole_fraction(float(column[1] - column[0]))
        if any(abs((b - a) - step) > _TOLERANCE for a, b in itertools.pairwise(column)):
            return None
        found[arg] = (float(column[0]) - step * offset, step)
    return found


def _whole_fraction(step: float) -> float:
    """1 / n where the step rounds to it (0.1 / 17 and 0.3 / 51 are both 1 / 170): copies
    of one family then agree on their step."""
    if step:
        parts = 1 / step
        if abs(parts - round(parts)) < 1e-6 * abs(parts):
            return 1 / round(parts)
    return step


def rising(base: Any, step: Any) -> str:
    """The expression of the value at copy ``i``: ``base`` and ``step`` as a body writes them
    (a number, or ``${...}`` of the block's arguments)."""
    growth = _step(step)
    if isinstance(base, int | float) and base == 0:
        return f"${{{growth}}}"
    return f"${{{_term(base)} + {growth}}}"


def _term(value: Any) -> str:
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        inner = value[2:-1]
        return inner if inner.isidentifier() else f"({inner})"
    return repr(value)


def _step(step: Any) -> str:
    """``i / 170`` where the step is a whole fraction (0.1 / 17 of torchvision's rates
    rounds to it), else ``step * i``."""
    if isinstance(step, float) and step:
        parts = 1 / step
        if abs(parts - round(parts)) < 1e-6 * abs(parts):
            return f"i / {round(parts)}"
    return f"{_term(step)} * i"
