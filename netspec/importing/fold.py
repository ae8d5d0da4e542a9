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
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from torch import fx

from ..entries import CALL_KEYS
from ..helpers import HELPERS
from ..registry import all_kinds
from ..schema import is_name
from .ops import ShapeOf
from .trace import REQUIRED, Group, Layer, option_default

#: where in a body a value sits: item positions, then the option or argument
SlotId = tuple[Any, ...]
#: one value of a body: where it sits, the value, a word to name an argument after, and what
#: it counts (values of one sort may equal each other on purpose; a channel count and a
#: kernel size only by chance)
Slot = tuple[SlotId, Any, str, str]
#: the option keys that count channels
_CHANNELS = {"out", "groups", "features"}
#: argument names an expression or a call would read as something else
_TAKEN_WORDS = {*CALL_KEYS, *HELPERS, "input", "channels", "true", "false", "null", "i"}


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

    @property
    def times(self) -> int:
        return len(self.calls)


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
    folded = Folded(Flow(root, graph, _tidy(root)))
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
            _arguments(block, [slots for _, slots in members])
            folded.blocks.append(block)
            for group in block.members:
                folded.calls[id(group)] = Call(block, group)
    for height in sorted(by_height):  # runs of the calls found: their parents' repeats
        for group in by_height[height]:
            folded.refold(group)
    _name_blocks(folded.blocks)
    return folded


def _tidy(root: Group) -> dict[fx.Node, fx.Node]:
    """What a person would not write: a ``torch.cat`` of one tensor (an identity: its readers
    read that tensor); a module's leading join of tensors from outside it (DenseNet's
    ``torch.cat`` at the top of each dense layer), which moves out in front of the module so
    that the module reads one tensor and can be a block; and a join of what an earlier join
    joined and more, which joins the earlier one's output instead (the same tensor, since
    concatenation is associative). Returns the identities' aliases."""
    alias: dict[fx.Node, fx.Node] = {}

    def visit(group: Group) -> None:
        kept: list[Layer | Group] = []
        for item in group.items:
            if isinstance(item, Group):
                visit(item)
                kept.append(item)
                continue
            item.sources = [alias.get(s, s) for s in item.sources]
            if item.kind == "identity" and item.module is None and len(item.sources) == 1:
                alias[item.node] = item.sources[0]
            else:
                kept.append(item)
        group.items = kept

    def hoist(group: Group) -> None:
        items: list[Layer | Group] = []
        for item in group.items:
            if isinstance(item, Group):
                hoist(item)
                lead = item.items[0] if item.items else None
                if isinstance(lead, Layer) and item.name is not None and _joins_outside(item):
                    items.append(lead)
                    item.items = item.items[1:]
            items.append(item)
        group.items = items

    def running(group: Group) -> None:
        joins: list[tuple[fx.Node, list[fx.Node]]] = []  # each join's output and what it read
        for item in group.items:
            if isinstance(item, Group):
                running(item)
            elif item.kind == "concat" and item.module is None:
                read = item.sources
                for node, earlier in reversed(joins):
                    n = len(earlier)
                    if 1 < n < len(read) and read[:n] == earlier:
                        item.sources = [node, *read[n:]]
                        break
                joins.append((item.node, read))

    visit(root)
    hoist(root)
    running(root)
    return alias


def _joins_outside(group: Group) -> bool:
    """The group starts with a call in a forward that reads only tensors from outside, and
    without it the group would read one tensor, the call's."""
    lead = group.items[0]
    if not isinstance(lead, Layer) or lead.module is not None or len(group.items) < 2:
        return False
    rest = [layer for layer in group.layers() if layer is not lead]
    made = {layer.node for layer in rest}
    outside = {s for layer in rest for s in layer.sources if s not in made}
    return outside == {lead.node} and not (set(lead.sources) & (made | {lead.node}))


def _groups(group: Group) -> Iterator[Group]:
    for item in group.items:
        if isinstance(item, Group):
            yield from _groups(item)
    yield group


def _height(group: Group) -> int:
    return 1 + max((_height(i) for i in group.items if isinstance(i, Group)), default=0)


def outputs(graph: fx.Graph) -> dict[str, fx.Node]:
    """What a model returns: one tensor (``""``), or several by name (a dict's keys where they
    are names, ``out0``, ``out1``, ... for a tuple's items and other keys)."""
    value = next(n for n in graph.nodes if n.op == "output").args[0]
    if isinstance(value, fx.Node):
        return {"": value}
    items = list(value.items()) if isinstance(value, dict) else list(enumerate(value or ()))
    found: dict[str, fx.Node] = {}
    for n, (key, node) in enumerate(items):
        if not isinstance(node, fx.Node) or node in found.values():
            return {}
        name = key if is_name(key) and key != "input" else f"out{n}"
        found[name if name not in found else f"out{n}"] = node
    return found


class Flow:
    """Who reads which tensor: what decides that a group can be a call (one tensor in, only
    its last one read outside) and that a run of calls is a chain."""

    def __init__(self, root: Group, graph: fx.Graph, alias: dict[fx.Node, fx.Node]) -> None:
        self.readers: dict[fx.Node, list[Layer]] = {}
        #: the tensors the model returns, by the names the spec gives them ("": the one)
        self.outputs = {k: alias.get(v, v) for k, v in outputs(graph).items()}
        self.output = self.outputs.get("")
        self.ends = set(self.outputs.values())
        self.input = next(n for n in graph.nodes if n.op == "placeholder")
        for layer in root.layers():
            for source in [*layer.sources, *layer.refs]:
                self.readers.setdefault(source, []).append(layer)

    def entry(self, group: Group) -> fx.Node | None:
        """The one tensor a group reads from outside, if it reads only one."""
        layers = group.layers()
        made = {output for layer in layers for output in layer.outputs}
        outside = {s for layer in layers for s in [*layer.sources, *layer.refs] if s not in made}
        return next(iter(outside)) if len(outside) == 1 else None

    def closed(self, group: Group) -> bool:
        """Only its last layer's output is read outside it (and nothing inside after it)."""
        layers = group.layers()
        inside = {id(layer) for layer in layers}
        last = layers[-1].node
        for output in (o for layer in layers for o in layer.outputs):
            if output is last:
                continue
            if output in self.ends:
                return False
            if any(id(r) not in inside for r in self.readers.get(output, [])):
                return False
        return True

    def chained(self, a: Call, b: Call) -> bool:
        """``b`` reads ``a``'s output, and nothing else does."""
        inside = {id(layer) for layer in b.group.layers()}
        readers = self.readers.get(a.output, [])
        return (
            a.output not in self.ends
            and self.entry(b.group) is a.output
            and all(id(r) in inside for r in readers)
        )


def _repeats(items: list[Item], flow: Flow) -> list[Item]:
    """Runs of equal numbered calls, each reading the one before, as repeats (with ``first``
    where the run's first call differs, as a stage's first block does)."""

    def call(item: Item) -> Call | None:
        return item if isinstance(item, Call) and item.group.name is None else None

    def same(a: Call, b: Call) -> bool:
        return a.block is b.block and a.values == b.values

    out: list[Item] = []
    i = 0
    while i < len(items):
        head = call(items[i])
        run = [head] if head is not None else []
        while head is not None and i + len(run) < len(items):
            nxt = call(items[i + len(run)])
            if nxt is None or not flow.chained(run[-1], nxt):
                break
            if len(run) > 1 and not same(run[1], nxt):
                break
            run.append(nxt)
        if len(run) >= 3 or (len(run) == 2 and same(run[0], run[1])):
            first = None if same(run[0], run[1]) else run[0]
            out.append(Repeat(run[1], first, run))
            i += len(run)
        else:
            out.append(items[i])
            i += 1
    return out


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
                made[output] = first.group.name or _snake(first.block.cls.__name__)
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
        self.names: dict[fx.Node, str] = {entry: "input"}
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
                yield ("R", first, id(item.body.block), position(item.calls[0].group), *links)

    def slots(self) -> list[Slot]:
        """The body's values, each at its slot."""
        return list(self._slots(self.folded.of(self.group), ()))

    def _slots(self, items: list[Item], at: SlotId) -> Iterator[Slot]:
        for n, item in enumerate(items):
            if isinstance(item, Layer):
                for key, value in item.opts.items():
                    if isinstance(value, ShapeOf):  # a tensor's name: structure, in the key
                        continue
                    sort = "channels" if key in _CHANNELS else key
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
                        yield (*at, n, part, arg), value, hint, call.block.sorts[arg]
            else:
                yield from self._slots(self.folded.of(item), (*at, n))


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


def _arguments(block: Block, members: list[list[Slot]]) -> None:
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
    keys = [str(slot[-1]).rstrip("_") for slot in slots]
    names: dict[SlotId, str] = {}
    taken = set(_TAKEN_WORDS)
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


def _name_blocks(blocks: list[Block]) -> None:
    """Each block after its class, in snake_case (a container's after its members' names:
    ResNet's ``layer1`` ... ``layer4`` call ``layer``); where one class has several
    structures, the simplest takes the plain name and the others are named by the children
    they add (ResNet's ``bottleneck`` and ``bottleneck_downsample``)."""
    taken = {k.name for k in all_kinds()}
    by_class: dict[Any, list[Block]] = {}
    for block in blocks:
        own = block.cls.__module__.startswith("torch.nn.") and block.cls.__name__ in _CONTAINERS
        by_class.setdefault(_member_word(block) if own else block.cls, []).append(block)
    for key, family in by_class.items():
        base = key if isinstance(key, str) else _snake(key.__name__)
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
    in, when a shorter module already imported has it."""
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


def _snake(name: str) -> str:
    """``InvertedResidual`` → ``inverted_residual``, ``_DenseLayer`` → ``dense_layer``."""
    word = name.lstrip("_")
    out = [
        ("_" if ch.isupper() and n and not word[n - 1].isupper() else "") + ch.lower()
        for n, ch in enumerate(word)
    ]
    text = "".join(out)
    return text if text[:1].isalpha() else "block_" + text
