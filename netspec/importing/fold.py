"""Folding a traced tree into what a person would write: a block for each family of modules
of one class and one structure, with arguments where their options differ, and a repeat for
each run of equal calls.

Groups fold from the innermost out, so a block's body may call the blocks inside it. Two
groups are one family when their class is the same and their folded bodies are the same but
for option values (``Scope.key``); those values become the block's arguments, an option that
equals another's value (or a whole multiple of it) says so with an expression, and one that is
the same everywhere stays a literal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from torch import fx

from .blocks import CHANNELS, Block, Call, Repeat, Slot, SlotId, infer_arguments, name_blocks, snake
from .flow import Flow
from .ops import ShapeOf
from .progression import steps
from .tidy import tidy
from .trace import Group, Layer

Item = Layer | Group | Call | Repeat


@dataclass
class Folded:
    """Each traced group's items, folded; the blocks in the order they were found."""

    flow: Flow
    items: dict[int, list[Item]] = field(default_factory=dict)
    calls: dict[int, Call] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def of(self, group: Group) -> list[Item]:
        return self.items[id(group)]

    def refold(self, group: Group) -> None:
        items: list[Item] = [
            self.calls.get(id(i), i) if isinstance(i, Group) else i for i in group.items
        ]
        self.items[id(group)] = _repeats(items, self.flow)


def fold(root: Group, graph: fx.Graph) -> Folded:
    """Find the blocks and repeats of a traced tree."""
    folded = Folded(Flow(root, graph, tidy(root)))
    by_height: dict[int, list[Group]] = {}
    for group in _groups(root):
        by_height.setdefault(_height(group), []).append(group)
    for height in sorted(by_height):
        families: dict[Any, list[tuple[Group, list[Slot]]]] = {}
        for group in by_height[height]:
            folded.refold(group)
            if group is root or len(group.items) < 2 or folded.flow.entry(group) is None:
                continue
            if not folded.flow.closed(group):
                continue
            scope = Scope(folded, group)
            key = (type(group.module), scope.key())
            families.setdefault(key, []).append((group, scope.slots()))
        for (cls, _), members in families.items():
            if len(members) < 2:
                continue
            block = Block(cls, [g for g, _ in members])
            infer_arguments(block, [slots for _, slots in members])
            folded.blocks.append(block)
            for group in block.members:
                folded.calls[id(group)] = Call(block, group)
    for height in sorted(by_height):  # runs of the calls found: their parents' repeats
        for group in by_height[height]:
            folded.refold(group)
    name_blocks(folded.blocks)
    return folded


def _groups(group: Group) -> Iterator[Group]:
    for item in group.items:
        if isinstance(item, Group):
            yield from _groups(item)
    yield group


def _height(group: Group) -> int:
    return 1 + max((_height(i) for i in group.items if isinstance(i, Group)), default=0)


def _repeats(items: list[Item], flow: Flow) -> list[Item]:
    """Runs of equal numbered calls, each reading the one before, as repeats (with ``first``
    where the run's first call differs, as a stage's first block does); calls named by their
    number from 0 (ViT's ``encoder_layer_0`` ... ``encoder_layer_11``) too, all equal, their
    copies named by an expression of it."""

    def call(item: Item) -> Call | None:
        if not isinstance(item, Call):
            return None
        return item if item.group.name is None or numbered(item.group.name) else None

    def same(a: Call, b: Call) -> bool:
        return a.block is b.block and a.values == b.values

    def alike(a: Call, b: Call) -> bool:  # the same, or rates that may rise copy by copy
        return a.block is b.block and steps([a.values, b.values], 0, rates(a)) is not None

    def rates(a: Call) -> set[str]:  # a drop_path's or dropout's p, passed down as arguments
        return {arg for arg, sort in a.block.sorts.items() if sort == "p"}

    def run_from(i: int, fits: Callable[[Call, Call], bool]) -> list[Call]:
        head = call(items[i])
        run = [head] if head is not None else []
        while head is not None and i + len(run) < len(items):
            nxt = call(items[i + len(run)])
            if nxt is None or not flow.chained(run[-1], nxt) or not _next_to(run[-1], nxt):
                break
            if len(run) > 1 and not fits(run[1], nxt):
                break
            run.append(nxt)
        return run

    out: list[Item] = []
    i = 0
    while i < len(items):
        run, rises = run_from(i, alike), None
        if len(run) >= 2:
            together = alike(run[0], run[1])
            body = run if together else run[1:]
            rises = steps([c.values for c in body], 0 if together else 1, rates(run[1]))
        if rises is None:  # no run whose rates rise evenly: one of equal calls
            run, rises = run_from(i, same), {}
        named = numbered(run[0].group.name or "") if run else None
        if named and (rises or named[1] != 0 or not all(same(run[0], c) for c in run)):
            run = []  # copies named by an expression of i: from 0, and nothing that differs
        equal = len(run) >= 2 and (same(run[0], run[1]) or (bool(rises) and alike(*run[:2])))
        if len(run) >= 3 or (len(run) == 2 and equal):
            first = None if equal else run[0]
            out.append(Repeat(run[1], first, run, rises))
            i += len(run)
        else:
            out.append(items[i])
            i += 1
    return out


def _next_to(a: Call, b: Call) -> bool:
    """``b`` is numbered right after ``a`` (a repeat's copies are numbered without gaps)."""
    first, second = position(a.group), position(b.group)
    if first is not None:
        return second == first + 1
    named, after = numbered(a.group.name or ""), numbered(b.group.name or "")
    return bool(named and after and after == (named[0], named[1] + 1))


def numbered(name: str) -> tuple[str, int] | None:
    """A name that ends in a number (``encoder_layer_11``): what comes before, and the
    number."""
    found = re.fullmatch(r"(.*?[A-Za-z_])(\d+)", name)
    return (found[1], int(found[2])) if found else None


class Scope:
    """A body (a block's, or the network's) and the tensor names it writes: its input is
    ``input``; a tensor read out of order is named after the layer or call that makes it."""

    def __init__(self, folded: Folded, group: Group, network: bool = False) -> None:
        self.folded = folded
        flow = folded.flow
        entry = flow.input if network else flow.entry(group)
        assert entry is not None, "a scope is the network or a closed group"
        #: id of an item → the tensors it reads by name (None: the one before) and its output
        self.links: dict[int, tuple[list[fx.Node] | None, fx.Node]] = {}
        self.last: dict[fx.Node, int] = {}  # the item whose output a node is (a chain's last)
        made: dict[fx.Node, str] = {}
        wanted: list[fx.Node] = []
        previous = entry
        parts: list[list[fx.Node]] = []
        for item in self.walk(group):
            if isinstance(item, Layer):
                sources, output = item.sources, item.outputs[0]
                made[output] = item.name or item.kind
                if item.parts:  # a split's parts: named together, each after the split
                    parts.append(item.outputs)
                    for n, part in enumerate(item.outputs):
                        made[part] = f"{item.name or 'part'}{n + 1}"
                        self.last[part] = id(item)
            else:
                first = item if isinstance(item, Call) else item.calls[0]
                source = flow.entry(first.group)
                sources = [source] if source is not None else []
                output = (item if isinstance(item, Call) else item.calls[-1]).output
                made[output] = first.group.name or snake(first.block.cls.__name__)
            reads = None if sources in ([], [previous]) else sources
            wanted.extend(reads or [])
            if isinstance(item, Layer):
                wanted.extend(item.refs)
            self.links[id(item)] = (reads, output)
            self.last[output] = id(item)
            previous = output
        self.output = flow.output if network else previous
        if network and flow.output is not None and flow.output is not previous:
            wanted.append(flow.output)
        for together in parts:
            if any(part in wanted for part in together):
                wanted.extend(together)
        # the network's inputs by their names (the first is read first, unnamed)
        inputs = {node: name for name, node in flow.inputs.items()}
        self.names: dict[fx.Node, str] = inputs if network else {entry: "input"}
        if network and flow.output is None:  # several: each is the tensor of its name
            self.names.update({node: name for name, node in flow.outputs.items()})
        taken = set(self.names.values())
        for node in wanted:
            if node not in self.names:
                base = made.get(node, "t")
                name, n = base, 1
                while name in taken:
                    name, n = f"{base}_{n}", n + 1
                taken.add(name)
                self.names[node] = name
        self.group = group

    def walk(self, group: Group) -> Iterator[Layer | Call | Repeat]:
        """The items that read and make tensors, in order, through groups (not calls)."""
        for item in self.folded.of(group):
            if isinstance(item, Group):
                yield from self.walk(item)
            else:
                yield item

    def reads(self, item: Layer | Call | Repeat) -> list[str] | None:
        reads, _ = self.links[id(item)]
        return None if reads is None else [self.names[n] for n in reads]

    def writes(self, item: Layer | Call | Repeat) -> str | list[str] | None:
        if isinstance(item, Layer) and item.parts:
            parts = [self.names[p] for p in item.outputs if p in self.names]
            return parts or None
        _, output = self.links[id(item)]
        named = output in self.names and self.names[output] != "input"
        return self.names[output] if named and self.last[output] == id(item) else None

    def key(self) -> tuple[Any, ...]:
        """The body's structure: everything but option values."""
        return tuple(self._key(self.folded.of(self.group)))

    def _key(self, items: list[Item]) -> Iterator[Any]:
        for item in items:
            if isinstance(item, Group):
                sub = tuple(self._key(self.folded.of(item)))
                yield ("G", item.name, position(item), len(item.items), sub)
                continue
            reads, writes = self.reads(item), self.writes(item)
            written = tuple(writes) if isinstance(writes, list) else writes
            links = (tuple(reads) if reads else None, written)
            if isinstance(item, Layer):
                refs = tuple(self.names[r] for r in item.refs)
                yield ("L", item.kind, item.name, position(item), *links, refs)
            elif isinstance(item, Call):
                yield ("C", id(item.block), item.group.name, position(item.group), *links)
            else:
                first = id(item.first.block) if item.first else None
                body = (id(item.body.block), tuple(item.steps))
                yield ("R", first, body, position(item.calls[0].group), *links)

    def slots(self) -> list[Slot]:
        """The body's values, each at its slot; a held tensor's sizes last (each its own
        slot, so that ``shape: ["${out}", 1, 1]`` reads an argument named for a layer's
        option rather than naming it)."""
        found = list(self._slots(self.folded.of(self.group), ()))
        return [s for s in found if not _sized(s)] + [s for s in found if _sized(s)]

    def _slots(self, items: list[Item], at: SlotId) -> Iterator[Slot]:
        for n, item in enumerate(items):
            if isinstance(item, Layer):
                for key, value in item.opts.items():
                    if isinstance(value, ShapeOf):  # a tensor's name: structure, in the key
                        continue
                    if item.kind in HELD and key == "shape":  # sizes, each maybe an argument
                        for j, size in enumerate(value):
                            yield (*at, n, key, j), size, item.name or "", "channels"
                        continue
                    sort = "channels" if key in CHANNELS else key
                    yield (*at, n, key), value, item.name or "", sort
            elif isinstance(item, Call):
                for arg, value in item.values.items():
                    yield (*at, n, arg), value, item.group.name or "", item.block.sorts[arg]
            elif isinstance(item, Repeat):
                yield (*at, n, "times"), item.times, "", "times"
                for part, call in (("first", item.first), ("body", item.body)):
                    if call is None:
                        continue
                    hint = part if item.first else ""
                    for arg, value in call.values.items():
                        sort = call.block.sorts[arg]
                        if part == "body" and arg in item.steps:  # rising: from, and by
                            value, step = item.steps[arg]
                            yield (*at, n, part, arg, "step"), step, hint, "step"
                        yield (*at, n, part, arg), value, hint, sort
            else:
                yield from self._slots(self.folded.of(item), (*at, n))


#: the kinds of held tensors, whose shape is written size by size
HELD = ("parameter", "buffer")


def _sized(slot: Slot) -> bool:
    return isinstance(slot[0][-1], int) and slot[0][-2] == "shape"


def position(item: Group | Layer) -> int | None:
    """The position a Sequential's child has by its name (``features.3``: 3); None for a
    named child or a call in a forward."""
    if item.name is not None:
        return None
    if isinstance(item, Layer):
        if item.module is None:
            return None
        path = str(item.node.target)
    else:
        path = item.path
    last = path.rsplit(".", 1)[-1]
    return int(last) if last.isdigit() else None
