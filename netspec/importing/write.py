"""The folded tree as spec text: blocks first, then the network; groups for modules, named
tensors where the flow is not a chain, YAML written by hand in the bundled specs' style (flow
mappings for options, ``"${...}"`` for what a block's arguments decide)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from torch import fx

from ..errors import NetspecError, printable
from .blocks import Block, Call, Repeat, SlotId
from .flow import inputs, outputs
from .fold import Folded, Item, Scope, fold, numbered, position
from .library import block_args, imports_line
from .ops import ShapeOf
from .progression import rising
from .trace import REQUIRED, Group, Layer, kind_named, option_default

#: plain words YAML would read as something else than text
_RESERVED = {"yes", "no", "on", "off", "true", "false", "null", "y", "n", "~", ""}


def scalar(value: Any) -> str:
    """One value as YAML flow text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        plain = re.fullmatch(r"[A-Za-z_][\w.-]*", value) and value.lower() not in _RESERVED
        return value if plain else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def text(value: str) -> str:
    """A line of prose (a description) as YAML, quoted only where YAML needs it."""
    plain = re.fullmatch(r"[A-Za-z_][\w .,()/-]*", value) and not value.endswith(" ")
    return value if plain and value.lower() not in _RESERVED else scalar(value)


def flow(options: dict[str, Any], indent: int = 0) -> str:
    """Options as a flow mapping; past ``WIDTH`` columns (from ``indent``), continued on
    lines aligned after the brace, as the bundled specs wrap them."""
    parts = [f"{k}: {scalar(v)}" for k, v in options.items()]
    lines = ["{"]
    for n, part in enumerate(parts):
        piece = part + (", " if n < len(parts) - 1 else "}")
        if len(lines[-1]) > 1 and indent + len(lines[-1]) + len(piece.rstrip()) > WIDTH:
            lines[-1] = lines[-1].rstrip()
            lines.append(" ")
        lines[-1] += piece
    return ("\n" + " " * indent).join(lines)


#: the column where a line of options is continued on the next
WIDTH = 100


#: the value a body writes at a slot, given the value the traced model has there
Values = Callable[[SlotId, Any], Any]


class Writer:
    """Writes one scope's items: the network's (values as they are) or a block's body (values
    as its arguments say)."""

    def __init__(self, folded: Folded, scope: Scope, values: Values | None = None) -> None:
        self.folded, self.scope = folded, scope
        self.values: Values = values or (lambda slot, value: value)

    def items(self, items: list[Item], at: SlotId, indent: str, inline: bool) -> Iterator[str]:
        """``inline``: the items share their list's numbering with others (a repeat among
        them splices its copies in)."""
        counter = 0
        for n, item in enumerate(items):
            wanted = _first_position(item)
            while wanted is not None and counter < wanted:  # a child that never runs
                yield f"{indent}- identity"
                counter += 1
            if isinstance(item, Group):
                yield from self.group(item, (*at, n), indent)
            elif isinstance(item, Repeat):
                yield from self.repeat(item, (*at, n), indent, None, inline or len(items) > 1)
            elif isinstance(item, Call):
                column = len(indent) + 2
                yield f"{indent}- " + self.call(item, (*at, n), item.group.name, column, item)
            else:
                note = f"  # {item.note}" if item.note else ""
                yield f"{indent}- " + self.layer(item, (*at, n), len(indent) + 2) + note
            counter += item.times if isinstance(item, Repeat) else 1

    def group(self, group: Group, at: SlotId, indent: str) -> Iterator[str]:
        items = self.folded.of(group)
        if len(items) == 1 and isinstance(items[0], Repeat):  # a stage: the repeat is named
            yield from self.repeat(items[0], (*at, 0), indent, group.name, False)
            return
        yield f"{indent}- group:"
        if group.name:
            yield f"{indent}    name: {scalar(group.name)}"
        if len(group.items) == 1:
            yield f"{indent}    keep: true"  # a module around one module: its keys say .0.
        yield f"{indent}    layers:"
        yield from self.items(items, at, indent + "      ", False)

    def repeat(
        self, repeat: Repeat, at: SlotId, indent: str, name: str | None, inline: bool
    ) -> Iterator[str]:
        yield f"{indent}- repeat:"
        head: dict[str, Any] = {"name": name} if name else {}
        head["times"] = self.values((*at, "times"), repeat.times)
        if inline:
            head["inline"] = True
        head.update(self._links(repeat))
        for key, value in head.items():
            yield f"{indent}    {key}: {scalar(value)}"
        named = numbered(repeat.body.group.name or "")  # encoder_layer_${i}
        copies = f"{named[0]}${{i}}" if named else None
        for part, call in (("first", repeat.first), ("body", repeat.body)):
            if call is not None:
                start = f"{indent}    {part}: [{{"
                rises = repeat.steps if part == "body" else {}
                yield f"{start}{self.call(call, (*at, part), copies, len(start), None, rises)}}}]"

    def call(
        self,
        call: Call,
        at: SlotId,
        name: str | None,
        column: int,
        links: Item | None = None,
        rises: dict[str, tuple[float, float]] | None = None,
    ) -> str:
        """``rises``: a repeat body's arguments that rise copy by copy (from, by)."""
        opts: dict[str, Any] = {"name": name} if name else {}
        for arg, value in call.values.items():
            if rises and arg in rises:
                base, step = rises[arg]
                shown = rising(self.values((*at, arg), base), self.values((*at, arg, "step"), step))
                opts[arg] = shown
                continue
            shown = self.values((*at, arg), value)
            if shown != call.block.args[arg]:
                opts[arg] = shown
        opts.update(self._links(links))
        head = f"{call.block.name}: "
        return head + flow(opts, column + len(head)) if opts else call.block.name

    def layer(self, layer: Layer, at: SlotId, column: int) -> str:
        opts: dict[str, Any] = {"name": layer.name} if layer.name else {}
        for key in _option_order(layer.kind, self._keys(layer, at)):
            shown = self.values((*at, key), layer.opts.get(key, REQUIRED))
            if isinstance(shown, ShapeOf):  # another tensor's size, read by name
                other = self.scope.names[shown.node]
                shown = [f"${{height({other})}}", f"${{width({other})}}"]
            if shown is not REQUIRED and shown != option_default(layer.kind, key):
                opts[key] = shown
        opts.update(self._links(layer))
        head = f"{layer.kind}: "
        return head + flow(opts, column + len(head)) if opts else layer.kind

    def _keys(self, layer: Layer, at: SlotId) -> list[str]:
        return list(layer.opts)

    def _links(self, item: Item | None) -> dict[str, Any]:
        if item is None or isinstance(item, Group):
            return {}
        opts: dict[str, Any] = {}
        reads, writes = self.scope.reads(item), self.scope.writes(item)
        if reads:
            opts["from"] = reads[0] if len(reads) == 1 else reads
        if writes:
            opts["to"] = writes
        return opts


class BodyWriter(Writer):
    """A block's body, written from its first member with the block's expressions."""

    def __init__(self, folded: Folded, block: Block) -> None:
        super().__init__(folded, Scope(folded, block.members[0]), self._expression)
        self.block = block

    def _expression(self, slot: SlotId, value: Any) -> Any:
        if slot not in self.block.exprs and isinstance(value, list):  # sizes, one by one
            return [self.block.exprs.get((*slot, j), v) for j, v in enumerate(value)]
        return self.block.exprs.get(slot, value)

    def _keys(self, layer: Layer, at: SlotId) -> list[str]:
        """Every option some member sets (the first may leave one at its default)."""
        keys = [s[-1] for s in self.block.exprs if len(s) == len(at) + 1 and s[:-1] == at]
        sized = [s[-2] for s in self.block.exprs if len(s) == len(at) + 2 and s[:-2] == at]
        keys += [k for k in dict.fromkeys(sized) if isinstance(k, str) and k not in keys]
        return keys + [k for k, v in layer.opts.items() if isinstance(v, ShapeOf)]

    def lines(self) -> Iterator[str]:
        block = self.block
        yield f"  {block.name}:"
        yield f"    description: {text(block.description)}"
        if block.args:
            args = {a: block.types[a] if d is REQUIRED else d for a, d in block.args.items()}
            yield f"    args: {flow(args, 10)}"
        yield "    layers:"
        yield from self.items(self.folded.of(block.members[0]), (), "      ", False)


def _first_position(item: Item) -> int | None:
    if isinstance(item, Repeat):
        return position(item.calls[0].group)
    if isinstance(item, Call):
        return position(item.group)
    return position(item)


def _option_order(kind: str, keys: list[str]) -> list[str]:
    """Options in the order their kind declares them (out, kernel, stride, ...), or a library
    block its arguments."""
    args = block_args(kind)
    fields = list(args) if args is not None else list(kind_named(kind).Options.model_fields)

    def rank(key: str) -> int:
        for name in (key, key + "_"):
            if name in fields:
                return fields.index(name)
        return len(fields)

    return sorted(keys, key=rank)


def write(
    root: Group, graph: fx.Graph, name: str, origin: str, shapes: list[tuple[int, ...]]
) -> str:
    """The spec text of a traced model; ``shapes``: its inputs', without the batch."""
    taken = inputs(graph)
    if len(shapes) != len(taken):
        raise NetspecError.plain(
            origin,
            f"the model takes {len(taken)} input(s) ({', '.join(taken)}), and "
            f"{len(shapes)} shape(s) were given",
            "give one input shape for each (--input C,H,W once for each, in order)",
        )
    returned = outputs(graph)
    if not returned:
        raise NetspecError.plain(
            origin,
            "the model returns something else than tensors of the network (a constant, a "
            "tensor twice, a nested structure)",
            "netspec imports models that return a tensor, or a tuple or dict of tensors",
        )
    folded = fold(root, graph)
    lines = [
        f"# imported from {printable(origin)} by netspec import",  # one line, whatever its name
        f"name: {scalar(name)}",
    ]
    if len(shapes) == 1:
        lines.append(f"input: {scalar(list(shapes[0]))}")
    else:
        lines.append(f"inputs: {flow({k: list(v) for k, v in zip(taken, shapes, strict=True)}, 8)}")
    imports = imports_line({layer.kind for layer in root.layers()})
    if imports is not None:  # library blocks it calls (std:swin's window_attention)
        lines.insert(2, imports)
    if "" not in returned:  # the model's own keys, where they are names (else out0, ...)
        lines.append(f"outputs: {flow(dict.fromkeys(returned), 9)}")
    if folded.blocks:
        lines += ["", "blocks:"]
        for block in folded.blocks:
            lines += BodyWriter(folded, block).lines()
        lines.append("")
    scope = Scope(folded, root, network=True)
    lines += ["layers:", *Writer(folded, scope).items(folded.of(root), (), "  ", True)]
    if scope.output is not None and scope.output in scope.names:
        lines.append(f"  - identity: {{from: {scope.names[scope.output]}}}")
    return "\n".join(lines) + "\n"
