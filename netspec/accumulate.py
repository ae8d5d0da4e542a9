"""Residual adds that accumulate into a tensor nothing reads afterwards (imports torch).

A residual add ``x + branch(x)`` makes a new tensor the size of a stage's map. At a large
batch that is tens of megabytes, which the allocator takes from the system afresh (page
faults, zeroed by the kernel) each forward pass; torchvision's ConvNeXt writes
``result += input`` instead. :func:`accumulate_in_place` finds, in every graph of a built
network, the ``add`` of two tensors where one of them was made for it (by a layer that
allocates its output: a linear, a conv, a product, a roll, ...; or a view of such a tensor)
and is read by nothing after the add, and lets that add write its sum there
(:attr:`netspec.modules.Add.into`); and each ``residual`` whose body allocates its output,
which it writes its sum into as torchvision's ``BasicBlock`` does (``out += identity``).

The sum is the same, bit for bit (IEEE addition is commutative). The add still makes a new
tensor wherever autograd records it (gradients enabled and an operand that requires one: in
training) or the other operand does not broadcast into the one written.

Example::

    model = compile_spec(checked)
    accumulate_in_place(model)
"""

from __future__ import annotations

from torch import fx, nn

from .attention_modules import MatMul, Scale
from .layout_modules import Permute, Reshape, Roll, Transpose
from .modules import (
    Add,
    ChannelLayerNorm,
    Concatenate,
    DropPath,
    Multiply,
    Residual,
    SelfAttention,
    SequentialResidual,
)

#: modules whose output is a tensor they allocate, which neither they nor their input hold
_FRESH: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose2d,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.GELU,
    nn.SiLU,
    nn.ReLU,
    nn.ReLU6,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softmax,
    ChannelLayerNorm,
    Concatenate,
    MatMul,
    Multiply,
    Roll,
    Scale,
    SelfAttention,
)

#: modules whose output may be their input itself or a view of it (dropout in eval)
_VIEWS: tuple[type[nn.Module], ...] = (
    nn.Identity,
    nn.Dropout,
    nn.Flatten,
    DropPath,
    Permute,
    Reshape,
    Transpose,
)


def accumulate_in_place(model: nn.Module) -> int:
    """Mark each ``add`` of ``model``'s graphs that may write into one of its two operands,
    and each residual whose body allocates its output (see the module's docstring); how many
    were marked."""
    called: dict[int, int] = {}
    for _, m in model.named_modules(remove_duplicate=False):
        called[id(m)] = called.get(id(m), 0) + 1
    marked = 0
    for m in model.modules():
        if isinstance(m, fx.GraphModule):
            marked += _mark(m, called)
        elif isinstance(m, Residual):
            m._accumulate = _fresh(m.body)
            marked += m._accumulate
        elif isinstance(m, SequentialResidual):
            m._accumulate = _chain_fresh(list(m.children())[: m._body])
            marked += m._accumulate
    return marked


def _mark(graph_module: fx.GraphModule, called: dict[int, int]) -> int:
    nodes = list(graph_module.graph.nodes)
    order = {n: i for i, n in enumerate(nodes)}
    targets = [n.target for n in nodes if n.op == "call_module"]
    marked = 0
    for node in nodes:
        add = _module(graph_module, node)
        if not isinstance(add, Add) or targets.count(node.target) != 1 or called[id(add)] != 1:
            continue
        operands = node.args[0]
        if not isinstance(operands, list | tuple) or len(operands) != 2:
            continue
        for k in (0, 1):
            written, other = operands[k], operands[1 - k]
            if isinstance(written, fx.Node) and _writable(
                graph_module, written, other, node, order
            ):
                add.into = k
                marked += 1
                break
    return marked


def _module(graph_module: fx.GraphModule, node: fx.Node) -> nn.Module | None:
    if node.op != "call_module" or not isinstance(node.target, str):
        return None
    return graph_module.get_submodule(node.target)


def _root(graph_module: fx.GraphModule, node: fx.Node) -> fx.Node | None:
    """The node that allocated ``node``'s storage, if a layer of this graph did."""
    while True:
        m = _module(graph_module, node)
        if m is None:
            return None
        if isinstance(m, Add) and m.into >= 0:
            written = node.args[0][m.into]  # type: ignore[index]
            if not isinstance(written, fx.Node):
                return None
            node = written
        elif _fresh(m):
            return node
        elif _passes_on(m) and node.args and isinstance(node.args[0], fx.Node):
            node = node.args[0]
        else:
            return None


def _fresh(m: nn.Module) -> bool:
    """Whether ``m`` returns a tensor it allocated (a chain or graph: its last layer's)."""
    if isinstance(m, _FRESH):
        return not getattr(m, "inplace", False)
    if isinstance(m, Add):
        return m.into < 0
    if type(m) is nn.Sequential:
        return _chain_fresh(list(m.children()))
    # a residual's sum is a new tensor, or written into its body's (allocated by the body)
    if isinstance(m, Residual):
        return _chain_fresh([] if m.after is None else [m.after], True)
    if isinstance(m, SequentialResidual):
        return _chain_fresh(list(m.children())[m._body + m._projected :], True)
    if isinstance(m, fx.GraphModule):
        out = next(n for n in m.graph.nodes if n.op == "output").args[0]
        return isinstance(out, fx.Node) and _root(m, out) is not None
    return False


def _passes_on(m: nn.Module) -> bool:
    """Whether ``m`` may return its input or a view of it (an activation in place too)."""
    return isinstance(m, _VIEWS) or (isinstance(m, _FRESH) and getattr(m, "inplace", False))


def _chain_fresh(chain: list[nn.Module], made: bool = False) -> bool:
    """Whether a chain of layers returns a tensor that one of them allocated: the last that
    does not pass its input on; ``made``: whether the chain's input was allocated for it."""
    for child in reversed(chain):
        if _fresh(child):
            return True
        if not _passes_on(child):
            return False
    return made


def _writable(
    graph_module: fx.GraphModule,
    written: fx.Node,
    other: object,
    add: fx.Node,
    order: dict[fx.Node, int],
) -> bool:
    """Whether ``add`` may write into ``written``: its storage was allocated in this graph,
    and nothing that shares it (``other`` included) is read after ``add`` or returned."""
    root = _root(graph_module, written)
    if root is None:
        return False
    sharing = {root}
    pending = [root]
    while pending:
        node = pending.pop()
        for user in node.users:
            if user.op == "output" or order[user] > order[add]:
                return False
            m = _module(graph_module, user)
            if user is not add and (m is None or not _fresh(m)) and user not in sharing:
                sharing.add(user)  # may hand the same storage on (a view, an unknown layer)
                pending.append(user)
    return other not in sharing
