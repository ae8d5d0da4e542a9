"""One budget per command: what evaluating a spec may cost, counted across everything it does.

Every expression of the spec, of each file it imports, of every repeat copy and block call,
and of the values ``--set`` gives, draws on the same :class:`Budget`, made once for each load
of a spec (:func:`netspec.elaborate.elaborate`) and handed on to the shape pass. A *step* is
one node of an expression visited (a name read, a call, an operator), one value of the file
walked while a layer's options are computed, one item of a list made, weighed, searched or
compared, or :data:`TEXT_PER_STEP` characters of text made. Each cost is paid where the work is
done, so a command's work is linear in the steps it is allowed.

Reading a value costs one step, whatever its size: a list is weighed (its items counted,
nested lists' included) once, the first time it is met, and remembered; what reads it again
finds the weight without walking it. What copies or scans a list (``xs + ys``, ``x in xs``,
``min(xs)``, handing it to a layer's options) pays for its items each time.

Example::

    >>> budget = Budget(limit=100)
    >>> budget.charge(60)
    >>> budget.spent
    60
"""

from __future__ import annotations

from typing import Any

from .errors import Problem

#: Steps one load of a spec may take, its imports, repeats, block calls and shapes included
#: (or :data:`STEPS_PER_LAYER` for each layer ``--max-layers`` allows, where that is more).
#: The largest bundled spec takes 6,419 (EfficientNet-B7); the worst input this allows ends
#: well within the read-only budget of 5 seconds.
COMMAND_STEPS = 1_000_000
STEPS_PER_LAYER = 100
#: Characters of text made that count as one step (text is made in pieces of at most 2,000).
TEXT_PER_STEP = 16
#: Lists shorter than this, holding no lists, are weighed where they are met (not remembered).
_SMALL = 16


class BudgetSpent(Problem):
    """The command's budget ran out; the pass that meets it stops at once, with a position."""


def spent_message(limit: int) -> tuple[str, str]:
    """What a spent budget says, and its hint."""
    return (
        f"evaluating this spec takes more than {limit:,} steps (every expression, repeat copy, "
        "block call and import of one command counted together); it ran out here",
        "simplify the expressions and the functions they call, or lower the repeat counts",
    )


class Budget:
    """The steps a command has spent, and the weights of the lists it has met."""

    __slots__ = ("_weights", "limit", "spent")

    def __init__(self, limit: int = COMMAND_STEPS) -> None:
        self.limit = limit
        self.spent = 0
        #: id → (the list, its weight): the list is kept so that its id is never reused
        self._weights: dict[int, tuple[list[Any], int]] = {}

    @classmethod
    def for_layers(cls, max_layers: int) -> Budget:
        """The budget of a command that may expand ``max_layers`` layers."""
        return cls(max(COMMAND_STEPS, STEPS_PER_LAYER * max_layers))

    def charge(self, steps: int = 1) -> None:
        """Pay ``steps``; raise :class:`BudgetSpent` once more have been spent than allowed."""
        self.spent += steps
        if self.spent > self.limit:
            raise BudgetSpent(*spent_message(self.limit))

    def text(self, value: str) -> None:
        """Pay for a text just made."""
        self.charge(1 + len(value) // TEXT_PER_STEP)

    def weigh(self, value: list[Any], cap: int) -> int:
        """How many items ``value`` holds, nested lists' items counted too, up to just over
        ``cap``; a list is walked (and its items paid for) once, then remembered.

        Lists that share items may stand for far more than they take: the walk stops as soon
        as it passes ``cap``.
        """
        if len(value) < _SMALL and not any(isinstance(v, list) for v in value):
            return len(value)
        found = self._weights.get(id(value))
        if found is not None and found[0] is value:
            return found[1]
        total = len(value)
        self.charge(len(value))
        stack = [v for v in value if isinstance(v, list)]
        while stack and total <= cap:
            item = stack.pop()
            known = self._weights.get(id(item))
            if known is not None and known[0] is item:
                total += known[1]
                continue
            total += len(item)
            self.charge(1 + len(item))
            stack.extend(v for v in item if isinstance(v, list))
        if total <= cap:  # a heavier one is refused: nothing reads it again
            self._weights[id(value)] = (value, total)
        return total

    def size(self, value: Any, cap: int) -> int:
        """The items of a list (its weight), the characters of a text, or 1: what a copy, a
        scan or a comparison of ``value`` costs."""
        if isinstance(value, list):
            return max(1, self.weigh(value, cap))
        if isinstance(value, str):
            return 1 + len(value) // TEXT_PER_STEP
        return 1
