"""The traced tree as spec text: groups for modules, named tensors where the flow is not a
chain, YAML written by hand in the bundled specs' style (flow mappings for options)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from torch import fx

from ..errors import NetspecError
from .trace import Group, Layer

#: plain words YAML would read as something else than text
_RESERVED = {"yes", "no", "on", "off", "true", "false", "null", "y", "n", "~", ""}


def scalar(value: Any) -> str:
    """One value as YAML flow text."""
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


def flow(options: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in options.items()) + "}"


class Writer:
    """Writes one traced tree; tensors read out of order get names (``to:``/``from:``)."""

    def __init__(self, root: Group, graph: fx.Graph, origin: str) -> None:
        self.root = root
        self.origin = origin
        self.names: dict[fx.Node, str] = {}
        self.output = next(n for n in graph.nodes if n.op == "output").args[0]
        if not isinstance(self.output, fx.Node):
            raise NetspecError.plain(
                origin,
                "the model returns several tensors (or not a tensor)",
                "netspec imports models with one tensor output for now",
            )
        self.reads: dict[Layer, list[fx.Node]] = {}
        self.final = {layer.node: layer for layer in root.layers()}
        current = next(n for n in graph.nodes if n.op == "placeholder")
        self.input = current
        for layer in root.layers():
            if layer.sources and layer.sources != [current]:
                self.reads[layer] = layer.sources
                for source in layer.sources:
                    self.names[source] = self._name(source)
            current = layer.node
        self.last = current

    def _name(self, node: fx.Node) -> str:
        if node is self.input:
            return "input"
        name = re.sub(r"\W", "_", node.name).lstrip("_") or "t"
        return name if name[0].isalpha() else "t" + name

    def lines(self) -> Iterator[str]:
        yield from self._items(self.root, "  ")
        if self.output is not self.last:
            yield f"  - identity: {{from: {self.names.setdefault(self.output, 'out')}}}"

    def _items(self, group: Group, indent: str) -> Iterator[str]:
        position = 0
        for item in group.items:
            wanted = _index(item)
            while wanted is not None and position < wanted:  # a child that never runs
                yield f"{indent}- identity"
                position += 1
            if isinstance(item, Group):
                yield from self._group(item, indent)
            else:
                yield indent + "- " + self._layer(item)
            position += 1

    def _group(self, group: Group, indent: str) -> Iterator[str]:
        head: dict[str, Any] = {"name": group.name} if group.name else {}
        if len(group.items) == 1:
            head["keep"] = True  # a module around one module: its keys say .0.
        yield f"{indent}- group:"
        for key, value in head.items():
            yield f"{indent}    {key}: {scalar(value)}"
        yield f"{indent}    layers:"
        yield from self._items(group, indent + "      ")

    def _layer(self, layer: Layer) -> str:
        opts: dict[str, Any] = {}
        if layer.name:
            opts["name"] = layer.name
        opts.update(layer.opts)
        reads = self.reads.get(layer)
        if reads:
            names = [self.names[n] for n in reads]
            opts["from"] = names[0] if len(names) == 1 else names
        # the last of the layers its fx node became (a mean is a pool and a flatten) names it
        if layer.node in self.names and self.final[layer.node] is layer:
            opts["to"] = self.names[layer.node]
        return f"{layer.kind}: {flow(opts)}" if opts else layer.kind


def _index(item: Group | Layer) -> int | None:
    """The position a Sequential's child must have for its name: ``features.3`` is 3."""
    if item.name is not None:
        return None
    path = item.path if isinstance(item, Group) else str(item.node.target)
    if isinstance(item, Layer) and item.module is None:
        return None
    last = path.rsplit(".", 1)[-1]
    return int(last) if last.isdigit() else None


def write(root: Group, graph: fx.Graph, name: str, origin: str, shape: tuple[int, ...]) -> str:
    """The spec text of a traced model."""
    writer = Writer(root, graph, origin)
    head = [
        f"# imported from {origin} by netspec import",
        f"name: {scalar(name)}",
        f"input: {scalar(list(shape))}",
        "layers:",
    ]
    return "\n".join([*head, *writer.lines()]) + "\n"
