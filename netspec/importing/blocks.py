"""The blocks ``netspec import`` writes: one for each family of modules of one class and one
structure; the arguments in which the family's members differ (``infer_arguments``) and the
names of the blocks (``name_blocks``).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any

from torch import fx

from ..entries import CALL_KEYS
from ..helpers import HELPERS
from ..registry import all_kinds
from ..schema import is_name
from .library import LIBRARY_BLOCKS
from .trace import REQUIRED, Group, Layer, option_default

#: where in a body a value sits: item positions, then the option or argument
SlotId = tuple[Any, ...]
#: one value of a body: where it sits, the value, a word to name an argument after, and what
#: it counts (values of one sort may equal each other on purpose; a channel count and a
#: kernel size only by chance)
Slot = tuple[SlotId, Any, str, str]
#: the option keys that count channels
CHANNELS = {"out", "groups", "features"}
#: argument names an expression or a call would read as something else
TAKEN_WORDS = {*CALL_KEYS, *HELPERS, "input", "channels", "true", "false", "null", "i"}


@dataclass(eq=False)
class Block:
    """A block the spec defines: one family's body, with its arguments."""

    cls: type
    members: list[Group]
    name: str = ""
    description: str = ""
    #: argument → its default, or ``REQUIRED`` (then ``types[arg]`` is its type word)
    args: dict[Any, Any] = field(default_factory=dict)
    types: dict[Any, str] = field(default_factory=dict)
    #: argument → what it counts (see ``Slot``)
    sorts: dict[Any, str] = field(default_factory=dict)
    #: slot → what the body writes there: a literal, or ``${...}`` text
    exprs: dict[SlotId, Any] = field(default_factory=dict)
    #: id of a member → its argument values, defaults included
    values: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass(eq=False)
class Call:
    """A group written as a call of its family's block."""

    block: Block
    group: Group

    @property
    def values(self) -> dict[str, Any]:
        return self.block.values[id(self.group)]

    @property
    def output(self) -> fx.Node:
        return self.group.layers()[-1].node


@dataclass(eq=False)
class Repeat:
    """A run of equal calls, after a first one that may differ, numbered as they were."""

    body: Call
    first: Call | None
    calls: list[Call]
    #: the body's arguments that rise copy by copy: their value at copy 0, and the step
    steps: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def times(self) -> int:
        return len(self.calls)


def infer_arguments(block: Block, members: list[list[Slot]]) -> None:
    """The block's arguments from its members' values: one for each set of slots that vary
    alike; a slot that is a whole multiple of an argument is an expression of it."""
    hints: dict[SlotId, str] = {}
    sorts: dict[SlotId, str] = {}
    columns: dict[SlotId, list[Any]] = {}
    for m, slots in enumerate(members):
        for slot, value, hint, sort in slots:
            hints.setdefault(slot, hint)
            sorts.setdefault(slot, sort)
            columns.setdefault(slot, [REQUIRED] * len(members))[m] = value
    arguments: dict[SlotId, list[Any]] = {}  # by the slot that first needs each
    for slot, column in columns.items():
        natural = _natural_default(block, slot)
        column = [natural if v is REQUIRED else v for v in column]  # left out: at its default
        if all(v == column[0] for v in column):
            block.exprs[slot] = column[0]
            continue
        found = _relation(column, sorts[slot], {a: v for a, v in arguments.items()}, sorts)
        if found is None:
            arguments[slot] = column
            block.args[slot] = natural if natural in column else REQUIRED  # renamed below
            block.types[slot] = _type_word(column[0])
            block.sorts[slot] = sorts[slot]
            found = (slot, "")
        block.exprs[slot] = found
    names = _arg_names(list(arguments), hints)
    for slot, expr in block.exprs.items():
        if isinstance(expr, tuple):
            block.exprs[slot] = f"${{{names[expr[0]]}{expr[1]}}}"
    block.args = {names[s]: d for s, d in block.args.items()}
    block.types = {names[s]: t for s, t in block.types.items()}
    block.sorts = {names[s]: t for s, t in block.sorts.items()}
    for m, group in enumerate(block.members):
        block.values[id(group)] = {names[s]: column[m] for s, column in arguments.items()}


def _arg_names(slots: list[SlotId], hints: dict[SlotId, str]) -> dict[SlotId, str]:
    """An option's name where only one argument sets it (``out``, ``stride``), else the
    option after the layer or call that has it (``branch2_out``, ``out1``, ``out2``)."""
    keys = [  # a size of a held tensor's shape: shape0, shape1, ...
        f"{slot[-2]}{slot[-1]}" if isinstance(slot[-1], int) else str(slot[-1]).rstrip("_")
        for slot in slots
    ]
    names: dict[SlotId, str] = {}
    taken = set(TAKEN_WORDS)
    counts: dict[str, int] = {}
    for slot, key in zip(slots, keys, strict=True):
        if keys.count(key) == 1:
            name = key
        elif hints[slot]:
            name = f"{hints[slot]}_{key}"
        else:
            counts[key] = counts.get(key, 0) + 1
            name = f"{key}_{counts[key]}" if key[-1].isdigit() else f"{key}{counts[key]}"
        candidate, n = name, 2
        while candidate in taken:
            candidate, n = f"{name}{n}", n + 1
        taken.add(candidate)
        names[slot] = candidate
    return names


def _natural_default(block: Block, slot: SlotId) -> Any:
    """The default of the option at a layer's slot (REQUIRED for other slots)."""
    item: Any = block.members[0]
    for n in slot[:-1]:
        if not isinstance(item, Group) or not isinstance(n, int) or n >= len(item.items):
            return REQUIRED
        item = item.items[n]
    return option_default(item.kind, str(slot[-1])) if isinstance(item, Layer) else REQUIRED


def _relation(
    column: list[Any], sort: str, arguments: dict[SlotId, list[Any]], sorts: dict[SlotId, str]
) -> Any:
    """An argument (its slot) and what to do to it, that gives ``column`` for every member:
    an argument of the same sort with the same values; for channels, a multiple or a whole
    fraction of another channel count (seen in three members at least: two may agree by
    chance); for a padding, half the kernel rounded down (a "same" padding)."""
    for slot, values in arguments.items():
        if values == column and sorts[slot] == sort:
            return (slot, "")

    def counts(values: list[Any], least: int) -> bool:
        return all(isinstance(v, int) and not isinstance(v, bool) and v >= least for v in values)

    if not counts(column, 0):
        return None
    for slot, values in arguments.items():
        if not counts(values, 1):
            continue
        pairs = list(zip(column, values, strict=True))
        if sort == sorts[slot] == "channels" and len(column) >= 3:
            for factor in range(2, 9):
                if all(c == v * factor for c, v in pairs):
                    return (slot, f" * {factor}")
                if all(c * factor == v for c, v in pairs):
                    return (slot, f" // {factor}")
        if (sort, sorts[slot]) == ("padding", "kernel") and all(c == v // 2 for c, v in pairs):
            return (slot, " // 2")
    return None


def _type_word(value: Any) -> str:
    for word, kind in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if isinstance(value, kind):
            return word
    return "list" if isinstance(value, list | tuple) else "any"


def name_blocks(blocks: list[Block]) -> None:
    """Each block after its class, in snake_case (a container's after its members' names:
    ResNet's ``layer1`` ... ``layer4`` call ``layer``); where one class has several
    structures, the simplest takes the plain name and the others are named by the children
    they add (ResNet's ``bottleneck`` and ``bottleneck_downsample``)."""
    taken = {k.name for k in all_kinds()} | set(LIBRARY_BLOCKS)  # std:swin's, called by name
    by_class: dict[Any, list[Block]] = {}
    for block in blocks:
        own = block.cls.__module__.startswith("torch.nn.") and block.cls.__name__ in _CONTAINERS
        by_class.setdefault(_member_word(block) if own else block.cls, []).append(block)
    for key, family in by_class.items():
        base = key if isinstance(key, str) else snake(key.__name__)
        base = base + "_block" if base in taken else base
        plain = min(family, key=lambda b: len(b.members[0].layers()))
        for block in [plain, *(b for b in family if b is not plain)]:
            extra = sorted(_child_names(block) - _child_names(plain))
            name = f"{base}_{'_'.join(extra)}" if extra else base
            candidate, n = name, 2
            while candidate in taken:
                candidate, n = f"{name}_{n}", n + 1
            block.name = candidate
            taken.add(candidate)
            what = _public_name(block.cls)
            block.description = f"{what} with {', '.join(extra)}" if extra else what


_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")


def _member_word(block: Block) -> str:
    """What a container's members are called, without their numbers (``layer``), or
    ``sequential``."""
    names = {m.name or "" for m in block.members}
    words = names if len(names) == 1 else {re.sub(r"[\d_]+$", "", n) for n in names}
    word = words.pop() if len(words) == 1 else ""
    if len(word) >= 3 and is_name(word):
        return word
    return "stage" if any(isinstance(i, Group) for i in block.members[0].items) else "sequential"


def _public_name(cls: type) -> str:
    """Where a class is found: ``torch.nn.Sequential`` rather than the module it is defined
    in, when a shorter module already imported has it; a stand-in's, the class it stands for."""
    cls = getattr(cls, "stands_for", cls)  # torch's transformer modules, made traceable
    parts = cls.__module__.split(".")
    for n in range(1, len(parts)):
        module = sys.modules.get(".".join(parts[:n]))
        found = getattr(module, cls.__name__, None) if module is not None else None
        same = (getattr(found, "__module__", ""), getattr(found, "__qualname__", ""))
        if same == (cls.__module__, cls.__qualname__):  # the class, or one rebuilt from a .pt2
            return f"{'.'.join(parts[:n])}.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _child_names(block: Block) -> set[str]:
    """The children's names, and the kinds of unnamed layers (Conv2dNormActivation with and
    without an activation: ``conv2d_norm_activation_silu``)."""
    items = block.members[0].items
    return {i.name or i.kind for i in items if isinstance(i, Layer)} | {
        i.name for i in items if isinstance(i, Group) and i.name
    }


def snake(name: str) -> str:
    """``InvertedResidual`` → ``inverted_residual``, ``_DenseLayer`` → ``dense_layer``."""
    word = name.lstrip("_")
    out = [
        ("_" if ch.isupper() and n and not word[n - 1].isupper() else "") + ch.lower()
        for n, ch in enumerate(word)
    ]
    text = "".join(out)
    return text if text[:1].isalpha() else "block_" + text
