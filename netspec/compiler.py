"""From a checked network to a plain ``nn.Module`` tree (imports torch).

Each kind builds its own module; the tree's names follow the spec, so ``state_dict`` keys read
like the YAML (``stage2.0.body.conv1.weight``). A group or repeat whose layers form a chain is
an ``nn.Sequential``; one whose layers read named tensors is a ``torch.fx.GraphModule`` whose
``forward`` is generated from the graph, calling its children in the order written, taking the
tensors it reads from outside and returning the ones that are read outside it. Nothing is
interpreted at run time, so the result scripts, traces, compiles and exports.

Example::

    model = compile_spec(infer_shapes(program))
"""

from __future__ import annotations

import keyword
import operator
from collections import OrderedDict
from collections.abc import Sequence

from torch import Tensor, fx, nn

from .accumulate import accumulate_in_place
from .dataflow import Dataflow
from .errors import NetspecError, Problem
from .ir import Checked, Value


def compile_spec(checked: Checked, outputs: Sequence[str] = ()) -> nn.Module:
    """Build the module for a checked network (or any checked sub-tree).

    ``outputs`` names the network's outputs: its forward then returns a dict of them. Out of
    autograd (inference), a sum writes into an operand that nothing reads afterwards, as
    torchvision's blocks do (:mod:`netspec.accumulate`).
    """
    module = _Builder(checked, tuple(outputs)).module(checked)
    accumulate_in_place(module)
    return module


#: names the generated code itself uses: an argument of that name would hide them
_TAKEN = frozenset(("self", "getattr", "torch", "operator", "builtins", "fx_pytree", "pytree"))


def _argument(name: str) -> str:
    """A tensor's name as an argument of the generated forward (``class`` → ``class_``)."""
    return f"{name}_" if keyword.iskeyword(name) or name in _TAKEN else name


class _Builder:
    """The :class:`~netspec.registry.BuildContext` handed to composite kinds."""

    def __init__(self, root: Checked, outputs: tuple[str, ...]) -> None:
        self.root = root
        self.outputs = outputs
        self.flow = Dataflow(root)
        self.roots: set[int] = {id(root)}  # surveyed on their own: the network, a kind's parts
        self.exported: dict[int, list[Value]] = {}
        #: the containers that hand back each tensor (a block's outputs), by the tensor's id: a
        #: container inside one of them that makes the tensor returns it
        self.handed_back: dict[int, list[str]] = {}
        for c in root.walk():
            if c.node.kind.container:
                for v in c.results:
                    self.handed_back.setdefault(id(v), []).append(c.path)

    def module(self, checked: Checked) -> nn.Module:
        try:
            return checked.node.kind.build(checked, self)
        except Problem as e:  # a plugin's failure (netspec's own kinds check before building)
            node = checked.node
            raise NetspecError([node.doc.diagnostic(node.path, e.message, e.hint)]) from e

    def exports(self, c: Checked) -> list[Value]:
        """The tensors made inside ``c`` that its parent needs: its results, then the rest."""
        if not c.node.kind.container or id(c) in self.roots:
            return list(c.results)
        found = self.exported.get(id(c))
        if found is None:
            made = self.flow.made(c)
            found = [v for v in c.results if id(v) in made]
            for child in c.children:
                for v in self.exports(child):
                    if v in found or id(v) not in made:
                        continue
                    if self.flow.read_outside(v, c) or self._returned_around(v, c):
                        found.append(v)
            self.exported[id(c)] = found
        return found

    def _returned_around(self, value: Value, c: Checked) -> bool:
        """Whether a container around ``c`` hands ``value`` back (or the network outputs it)."""
        if any(value is r for r in self.root.results):
            return True
        return any(
            c.path.startswith(f"{p}.") or (not p and c.path)
            for p in self.handed_back.get(id(value), [])
        )

    # containers: a chain, or a graph

    def sequence(self, checked: Checked) -> nn.Module:
        """The module of a group or repeat: ``nn.Sequential`` for a chain, else a graph."""
        if not self.flow.knows(checked):  # inside a kind that builds its own module
            self.flow.add(checked)
            self.roots.add(id(checked))
        children = OrderedDict(
            (c.node.name, self.module(c))
            for c in checked.children
            if c.node.kind.holds_tensor is None and c.node.reuses is None
        )
        if self._is_chain(checked):
            return nn.Sequential(children)
        return self._graph(checked, children)

    def _is_chain(self, checked: Checked) -> bool:
        if checked is self.root and (self.outputs or len(checked.sources) > 1):
            return False
        inputs = self.flow.inputs(checked)
        if checked.children and [id(v) for v in inputs] != [id(checked.sources[0])]:
            return False
        previous = checked.sources[0] if checked.sources else None
        for child in checked.children:
            if child.node.kind.holds_tensor is not None:
                return False  # a tensor the container holds: a graph's attribute
            if child.node.reuses is not None:  # a call: runs a module a second time
                return False
            if [id(v) for v in self.flow.inputs(child)] != [id(previous)]:
                return False
            exports = self.exports(child)
            if len(exports) != 1:
                return False
            previous = exports[0]
        return [id(v) for v in self.exports(checked)] in ([], [id(previous)])

    def _graph(self, checked: Checked, children: OrderedDict[str, nn.Module]) -> nn.Module:
        graph = fx.Graph()
        env: dict[int, fx.Node] = {}
        # the network's forward takes its inputs in the order written, read or not
        reads = checked.sources if checked is self.root else self.flow.inputs(checked)
        for i, v in enumerate(reads):
            env[id(v)] = graph.placeholder(_argument(v.name or ("input" if i == 0 else f"x{i}")))
        for child in checked.children:
            exports = self.exports(child)
            if child.node.kind.holds_tensor is not None:
                if exports:
                    env[id(exports[0])] = _held(graph, child)
                continue
            args = [env[id(v)] for v in self.flow.inputs(child)]
            if not exports:
                continue  # nothing it makes is read: an empty repeat, a layer left dangling
            reuse = child.node.reuses  # a call: runs the module of the layer it names
            target = child.node.name if reuse is None else reuse.layer.name
            kind = (reuse.layer if reuse else child.node).kind
            if kind.multi_input:
                if not kind.broadcasts:
                    args = _batched(graph, args, self.flow.inputs(child))
                call = graph.call_module(target, (args,))
            else:
                call = graph.call_module(target, tuple(args))
            if len(exports) == 1:
                env[id(exports[0])] = call
            else:
                for k, v in enumerate(exports):
                    env[id(v)] = graph.call_function(operator.getitem, (call, k))
        results = self.exports(checked)
        if checked is self.root and self.outputs:
            graph.output({name: env[id(v)] for name, v in zip(self.outputs, results, strict=True)})
        elif len(results) == 1:
            graph.output(env[id(results[0])])
        else:
            graph.output(tuple(env[id(v)] for v in results))
        holder = nn.Module()
        for name, module in children.items():
            holder.add_module(name, module)
        tensors = {c.node.name: _value(c) for c in checked.children if c.node.kind.holds_tensor}
        for name, value in tensors.items():  # fx copies the ones get_attr reads
            holder.register_buffer(name, value)
        label = checked.node.label if checked.node.label.isidentifier() else ""
        module = fx.GraphModule(holder, graph, class_name=label or "Graph")
        # every child, in the order written (fx keeps only the called ones, in call order)
        for name in list(module._modules):
            del module._modules[name]
        for name, child_module in children.items():
            module.add_module(name, child_module)
        _hold(module, tensors, checked)
        return module


def _held(graph: fx.Graph, c: Checked) -> fx.Node:
    """A held tensor as the layers read it: with a leading axis of 1 where it is stored
    without one, a tensor of one sample, as every tensor of the graph has a batch axis: ``add``
    and ``mul`` broadcast it, ``concat`` expands it to the batch, and a ``reshape`` or a slice
    reads its axes where they are in a sample's."""
    tensor = graph.get_attr(c.node.name)
    if getattr(c.node.opts, "batch_axis", False):
        return tensor
    return graph.call_method("unsqueeze", (tensor, 0))


def _value(c: Checked) -> nn.Parameter | Tensor:
    """The tensor a ``parameter`` or ``buffer`` layer holds, as its init says."""
    value: Tensor = c.node.kind.value(c.node.opts)  # type: ignore[attr-defined]
    if c.node.kind.holds_tensor != "parameter":
        return value
    return nn.Parameter(value, requires_grad=c.node.opts.trainable)  # type: ignore[attr-defined]


def _hold(module: nn.Module, tensors: dict[str, Tensor], checked: Checked) -> None:
    """Register the container's tensors under their layers' names, in the order written (a
    ``state_dict`` lists the parameters, then the buffers), non-persistent buffers as such."""
    for name in tensors:
        module._buffers.pop(name, None)
        module._parameters.pop(name, None)
    for c in checked.children:
        name = c.node.name
        if name not in tensors:
            continue
        value = tensors[name]
        if isinstance(value, nn.Parameter):
            module.register_parameter(name, value)
        else:
            module.register_buffer(name, value, persistent=getattr(c.node.opts, "persistent", True))


def _batched(graph: fx.Graph, args: list[fx.Node], values: list[Value]) -> list[fx.Node]:
    """A merge's inputs with each tensor that has no batch axis (a class token) expanded to
    the batch of the first that has one, as torchvision's ``class_token.expand(n, -1, -1)``:
    ``torch.cat`` does not broadcast."""
    batched = [a for a, v in zip(args, values, strict=True) if not v.batchless()]
    if not batched or len(batched) == len(args):
        return args
    n = graph.call_method("size", (batched[0], 0))
    return [
        a if not v.batchless() else graph.call_method("expand", (a, n, *[-1] * v.shape.rank))
        for a, v in zip(args, values, strict=True)
    ]
