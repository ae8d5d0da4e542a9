"""Who reads which tensor in a traced tree: what decides that a group can be a call (one
tensor in, only its last one read outside) and that a run of calls is a chain."""

from __future__ import annotations

from torch import fx

from ..schema import is_name
from .blocks import Call
from .trace import Group, Layer


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


def inputs(graph: fx.Graph) -> dict[str, fx.Node]:
    """What a model takes: one tensor (``input``), or several named as its ``forward``'s
    parameters (``x``, ``skip``), each made a name if it is not one."""
    nodes = [n for n in graph.nodes if n.op == "placeholder"]
    if len(nodes) == 1:
        return {"input": nodes[0]}
    found: dict[str, fx.Node] = {}
    for n, node in enumerate(nodes):
        name = str(node.target).lstrip("*_")
        found[name if is_name(name) and name not in found else f"in{n}"] = node
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
        #: what the model takes, by the names the spec gives them ("input": the one)
        self.inputs = inputs(graph)
        self.input = next(iter(self.inputs.values()))
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
