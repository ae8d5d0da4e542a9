"""Tracing a module with torch.fx into a tree of layers: the module hierarchy as groups, each
call a layer of a kind, with the tensors it reads.

Modules whose class a kind names in ``torch_types`` stay whole (leaves); every other module is
traced through, and its calls become the layers of its group. What netspec has no kind for is
an error at the line of the user's code that calls it.
"""

from __future__ import annotations

import enum
import operator
from dataclasses import dataclass, field
from typing import Any

from torch import fx, nn

from ..errors import NetspecError
from ..registry import Kind, all_kinds, get_kind
from ..schema import is_layer_name
from .layout_ops import FALLBACKS as LAYOUT_FALLBACKS
from .layout_ops import drop_unread, held_tensor, lookup, misreads_size, sizes, wrapped
from .library import block_args, is_required
from .located import archived_error as archived_error  # where exported.py finds it
from .located import error_at
from .ops import (
    MODULES,
    WRAPPED,
    NotExpressible,
    ShapeOf,
    named_functions,
    shape_read,
)
from .schedule import module_path, schedule
from .swin import FALLBACKS as SWIN_FALLBACKS
from .transformer import FALLBACKS as TRANSFORMER_FALLBACKS
from .transformer import self_attention, traceable

#: modules no kind names, by class name: their kind (or library block) and options
FALLBACKS = {**TRANSFORMER_FALLBACKS, **SWIN_FALLBACKS}


@dataclass(eq=False)
class Layer:
    """One layer: a kind and its options, the tensors it reads, the fx node of its output."""

    kind: str
    opts: dict[str, Any]
    node: fx.Node
    sources: list[fx.Node]
    #: its name in the module tree; None: numbered by its position (a Sequential's child)
    name: str | None = None
    #: the module it was made from (None for a call in forward)
    module: nn.Module | None = None
    #: what the spec should say beside it (what an eval-mode stand-in leaves out)
    note: str = ""
    #: the tensors of a layer with several outputs (a split), each a ``getitem`` of ``node``
    parts: list[fx.Node | None] | None = None

    @property
    def refs(self) -> list[fx.Node]:
        """The tensors whose sizes its options read (``${height(x)}``)."""
        return [v.node for v in self.opts.values() if isinstance(v, ShapeOf)]

    @property
    def outputs(self) -> list[fx.Node]:
        """The tensors it makes: its parts, or its one output."""
        return [p for p in self.parts if p is not None] if self.parts else [self.node]


@dataclass(eq=False)
class Group:
    """A module that was traced through: its calls, in the order they run."""

    path: str
    name: str | None
    module: nn.Module
    items: list[Layer | Group] = field(default_factory=list)

    def layers(self) -> list[Layer]:
        out: list[Layer] = []
        for item in self.items:
            out.extend(item.layers() if isinstance(item, Group) else [item])
        return out


def _kinds_by_type() -> dict[str, Any]:
    return {t: k for k in all_kinds() for t in k.torch_types}


class _Tracer(fx.Tracer):
    def __init__(self, leaves: set[str], model: nn.Module) -> None:
        functions: tuple[Any, ...] = (*WRAPPED, *wrapped(), *named_functions(model))
        super().__init__(autowrap_functions=functions)
        self.leaves = leaves
        self.record_stack_traces = True

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return type(m).__name__ in self.leaves or super().is_leaf_module(m, module_qualified_name)


def trace(module: nn.Module, origin: str) -> tuple[Group, fx.Graph]:
    """The tree of ``module``'s layers; ``origin`` names the model in errors."""
    kinds = _kinds_by_type()
    module = traceable(module)  # torch's transformer modules, without their fast path
    tracer = _Tracer({*kinds, *MODULES, *FALLBACKS, *LAYOUT_FALLBACKS}, module)
    try:
        graph = tracer.trace(module)
    except Exception as e:  # the one boundary around torch.fx: whatever it raises
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise NetspecError.plain(
            origin,
            f"torch.fx cannot trace this model: {first}",
            "netspec imports models whose forward torch.fx can trace (no data-dependent "
            "control flow)",
        ) from e
    drop_unread(graph)  # attention's weights, unpacked and never read (x, _ = attn(...))
    other = self_attention(graph, module)
    if other is not None:
        raise error_at(
            other,
            origin,
            f"module {other.target} is an nn.MultiheadAttention used otherwise than as "
            "self-attention without masks (attn(x, x, x)[0]), which netspec's attention is",
            _PLUGIN_HINT,
        )
    return tree(graph, module, origin)


def tree(graph: fx.Graph, module: nn.Module, origin: str) -> tuple[Group, fx.Graph]:
    """The tree of layers of a graph that calls ``module``'s leaf modules and functions."""
    kinds = _kinds_by_type()
    root = Group("", None, module)
    open_groups = [root]
    closed: set[str] = set()
    names: dict[str, set[str]] = {}
    splits: dict[fx.Node, Layer] = {}
    computed = sizes(graph)
    for node in schedule(graph):
        stack = module_path(node)
        while open_groups[-1].path and open_groups[-1].path not in stack:
            closed.add(open_groups.pop().path)
        for path in stack[stack.index(open_groups[-1].path) + 1 if open_groups[-1].path else 0 :]:
            if path in closed:
                raise error_at(node, origin, f"module {path} runs in two separate places")
            parent = open_groups[-1]
            group = Group(path, _own_name(path), module.get_submodule(path))
            parent.items.append(group)
            open_groups.append(group)
        group = open_groups[-1]
        taken = names.setdefault(group.path, set())
        if _part(node, splits) or node in computed or shape_read(node) is not None:
            continue  # no layer: a split's part, or a size a layer's option reads
        if misreads_size(node, computed):  # a size, as a tensor or an option no call takes
            raise _reads_shape_error(node, origin)
        for layer in _layers(node, module, kinds, origin):
            if node.op == "get_attr" and str(node.target).rpartition(".")[0] != group.path:
                raise _held_elsewhere(node, origin, group.path)
            if layer.kind == "split":
                count = layer.opts.get("parts") or len(layer.opts.get("sizes", []))
                layer.parts = [None] * count
                splits[layer.node] = layer
            if layer.name is not None and layer.name in taken:
                layer = _again(layer, node, origin, taken)
            if layer.name is not None:
                taken.add(layer.name)
            group.items.append(layer)
    return root, graph


def _fallback(
    node: fx.Node, sub: nn.Module, fallback: Any, sources: list[fx.Node], origin: str
) -> Layer:
    kind, options = fallback
    try:
        opts = options(sub)
    except NotExpressible as e:
        what = f"{type(sub).__module__}.{type(sub).__name__}"  # its repr may run over lines
        raise error_at(node, origin, f"cannot import module {node.target} ({what}): {e}") from None
    return Layer(kind, opts, node, sources, _own_name(str(node.target)), sub)


def _part(node: fx.Node, splits: dict[fx.Node, Layer]) -> bool:
    """``parts[i]`` of a split: no layer, one of the split's outputs."""
    if node.op != "call_function" or node.target is not operator.getitem:
        return False
    whole, index = node.args[0], node.args[1]
    if not isinstance(whole, fx.Node) or whole not in splits or not isinstance(index, int):
        return False
    parts = splits[whole].parts
    assert parts is not None
    parts[index] = node
    return True


def _own_name(path: str) -> str | None:
    """A module's name in its parent: None for a Sequential's numbered child."""
    last = path.rsplit(".", 1)[-1]
    if last.isdigit():
        return None
    if not is_layer_name(last):
        raise NetspecError.plain(
            path,
            f"module {path}: {last!r} cannot be a layer's name in a spec (letters, digits "
            "and _, starting with a letter), so its state_dict keys cannot be kept",
            "rename the module in the model (its checkpoint's keys with it)",
        )
    return last


def _again(layer: Layer, node: fx.Node, origin: str, taken: set[str]) -> Layer:
    """A module called a second time: one with weights is a ``call:`` of its first layer (the
    weights shared); one without (torchvision's ResNet calls one ReLU three times) a layer of
    its own under a new name, as before ``call:`` existed (the same keys: none)."""
    assert layer.module is not None and layer.name is not None
    if any(True for _ in layer.module.parameters()) or any(True for _ in layer.module.buffers()):
        if len(layer.sources) != 1:
            raise error_at(node, origin, f"module {node.target} is called again on several tensors")
        return Layer("call", {"layer": layer.name}, node, layer.sources)
    n = 1
    while f"{layer.name}_{n}" in taken:
        n += 1
    layer.name = f"{layer.name}_{n}"
    return layer


def _layers(node: fx.Node, root: nn.Module, kinds: dict[str, Any], origin: str) -> list[Layer]:
    if node.op == "call_module":
        target = str(node.target)
        sub = root.get_submodule(target)
        sources = [a for a in node.args if isinstance(a, fx.Node)]
        stand_in = MODULES.get(type(sub).__name__)
        if stand_in is not None:
            name, note = stand_in(sub)
            return [Layer(name, {}, node, sources[:1], _own_name(target), sub, note)]
        kind = kinds.get(type(sub).__name__)
        fallbacks = {**FALLBACKS, **LAYOUT_FALLBACKS}
        fallback = fallbacks.get(type(sub).__name__) if kind is None else None
        if fallback is not None:  # a torch module no kind names (nn.LayerNorm)
            return [_fallback(node, sub, fallback, sources[:1], origin)]
        opts = kind.options_from(sub) if kind is not None else None
        if kind is None or opts is None:
            what = "no kind for" if kind is None else f"netspec's {kind.name} cannot express"
            raise error_at(
                node,
                origin,
                f"{what} {type(sub).__module__}.{type(sub).__name__} (module {target}): {sub}",
                _PLUGIN_HINT,
            )
        return [
            Layer(kind.name, _drop_defaults(kind.name, opts), node, sources, _own_name(target), sub)
        ]
    if node.op in ("call_function", "call_method"):
        entry = lookup(node)
        what = (
            f"the tensor method .{node.target}()"
            if node.op == "call_method"
            else _function_name(node.target)
        )
        if entry is None and _reads_shape(node):
            raise _reads_shape_error(node, origin)
        if entry is None:
            raise error_at(node, origin, f"no kind for {what}", _PLUGIN_HINT)
        try:
            chain, sources = entry(node)
        except NotExpressible as e:
            raise error_at(node, origin, f"cannot import {what}: {e}") from None
        return [
            Layer(k, _drop_defaults(k, o), node, sources if i == 0 else [])
            for i, (k, o) in enumerate(chain)
        ]
    if node.op == "get_attr":
        try:
            kind_name, opts, note = held_tensor(node, root)
        except NotExpressible as e:
            raise error_at(node, origin, f"cannot import {node.target}: {e}") from None
        name = str(node.target).rsplit(".", 1)[-1]
        return [Layer(kind_name, _drop_defaults(kind_name, opts), node, [], name, note=note)]
    raise error_at(node, origin, f"cannot import {node.op} {node.target} (a {node.op} node)")


def _held_elsewhere(node: fx.Node, origin: str, path: str) -> NetspecError:
    reader = f"module {path}" if path else "the model itself"
    return error_at(
        node,
        origin,
        f"{node.target} is read by {reader}, not by the module that holds it; a spec's "
        "parameter or buffer belongs to the group that reads it, so its key would change",
        "read it in the forward of the module that holds it, or move it to the reader",
    )


def _reads_shape_error(node: fx.Node, origin: str) -> NetspecError:
    return error_at(
        node,
        origin,
        "this reads a tensor's shape while the model runs (x.shape, x.size()); a spec's "
        "sizes are fixed when it is checked",
        "write the sizes the model has at this input size, or a plugin kind for the "
        "module that does this (docs/plugins.md) and import with --plugin",
    )


def _reads_shape(node: fx.Node) -> bool:
    if node.op == "call_method":
        return node.target in ("size", "dim")
    return node.target is getattr and len(node.args) > 1 and node.args[1] in ("shape", "ndim")


def kind_named(name: str) -> Kind:
    """The registered kind a table of this package names (all of them are registered)."""
    found = get_kind(name)
    if found is None:
        raise KeyError(name)
    return found


_PLUGIN_HINT = "write a plugin kind for it (docs/plugins.md) and import with --plugin"


def _function_name(target: Any) -> str:
    module = getattr(target, "__module__", None) or "torch"
    name = getattr(target, "__name__", str(target))
    return f"{'torch' if module.startswith('torch._') else module}.{name}"


#: what ``option_default`` answers for an option without a default (a required one)
REQUIRED = object()


def option_default(kind: str, key: str) -> Any:
    """The value a kind's option has when a spec leaves it out (``REQUIRED`` if it must be
    written), as a spec would write it: ``3`` for ``(3, 3)``, an enum as its value. A
    library block's argument (``window_attention``'s ``window``) has its file's default."""
    args = block_args(kind)
    if args is not None:
        spec = args.get(key, REQUIRED)
        return REQUIRED if spec is REQUIRED or is_required(spec) else spec
    fields = kind_named(kind).Options.model_fields
    found = fields.get(key) or fields.get(key + "_")
    if found is None or found.is_required():
        return REQUIRED
    default: Any = found.default
    if isinstance(default, tuple) and len(set(default)) == 1:
        default = default[0]
    if isinstance(default, enum.Enum):
        default = default.value
    return default


def _drop_defaults(kind: str, opts: dict[str, Any]) -> dict[str, Any]:
    """Options without the ones at their kind's default: only what differs is written."""
    return {k: v for k, v in opts.items() if option_default(kind, k) != v}
