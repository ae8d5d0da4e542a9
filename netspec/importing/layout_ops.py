"""Layout calls, tensors held by modules and stochastic depth, for ``netspec import``: the
table of :mod:`netspec.importing.ops` grown by what networks of tokens call in ``forward``.

torch counts a tensor's dims with the batch (``x.permute(0, 2, 3, 1)``, ``torch.cat(...,
dim=1)``, ``x[:, 0]``); a spec's axes start after it (``permute: [1, 2, 0]``, ``concat:
{axis: 0}``, ``select: 0``), so every dim here is one less, and a call that moves or picks the
batch is not expressible. Sizes a ``forward`` computes from its input's shape (ViT's ``n, c,
h, w = x.shape``, ``h // p``) make no layer (:func:`sizes`); where such a size feeds a
reshape, it is the one size the others leave (-1), and the batch size is the batch.

An ``nn.Parameter`` or buffer read in ``forward`` (fx's ``get_attr``: ConvNeXt's
``layer_scale``, ViT's ``class_token``) is a ``parameter`` or ``buffer`` layer under its own
name, its shape without a leading batch axis of 1 (``batch_axis: true``). Its values are not
written: its init is what its values look like (a constant, else normal with their deviation),
and a checkpoint loads the values themselves.

Example::

    entry = lookup(node)        # x.permute(0, 2, 3, 1) -> [("permute", {"axes": [1, 2, 0]})]
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable
from typing import Any

import torch
from torch import fx, nn

from .ops import Mapped, NotExpressible, is_shape, shape_read
from .ops import lookup as call_lookup
from .transformer import layernorm_options


def sizes(graph: fx.Graph) -> set[fx.Node]:
    """The nodes that compute sizes from tensors' shapes (``x.shape``, ``x.size(0)``,
    ``x.dim()``, ``h // p``, ``torch._assert(h == 224)``): no layers; what reads them says
    what it does with them."""
    found: set[fx.Node] = set()
    for node in graph.nodes:
        if node.op not in ("call_function", "call_method"):
            continue
        if is_shape(node) or (node.op == "call_method" and node.target in ("size", "dim")):
            found.add(node)
            continue
        inputs = node.all_input_nodes
        if inputs and all(n in found for n in inputs):
            found.add(node)
    return found


def misreads_size(node: fx.Node, computed: set[fx.Node]) -> bool:
    """``node`` reads a size computed from a shape where no entry takes one: as a tensor
    (``y * y.size(2)``) or an option (``size=(h * 2, w * 2)``). A reshape or expand takes the
    batch and one size (see :func:`_reshape`), an upsampling another tensor's height and width
    (``x.shape[-2:]``)."""
    if node.op == "call_method" and node.target in ("reshape", "view", "expand"):
        return False
    if node.op == "call_function" and node.target is torch.reshape:
        return False
    return any(n in computed and shape_read(n) is None for n in node.all_input_nodes)


def is_batch(value: Any) -> bool:
    """``value`` is the batch size: ``x.shape[0]``, ``x.size(0)`` or ``x.size()[0]``."""
    if not isinstance(value, fx.Node):
        return False
    if value.op == "call_method" and value.target == "size":
        return bool(len(value.args) > 1 and value.args[1] == 0)
    if value.op == "call_function" and value.target is operator.getitem:
        base = value.args[0]
        sized = isinstance(base, fx.Node) and (
            is_shape(base) or (base.op == "call_method" and base.target == "size")
        )
        return bool(sized and value.args[1] == 0)
    return False


def _tensor(node: fx.Node) -> fx.Node:
    x = node.args[0] if node.args else node.kwargs.get("input")
    if not isinstance(x, fx.Node):
        raise NotExpressible("its input is not a tensor of the network")
    return x


def _dims(node: fx.Node, name: str) -> list[Any]:
    """The dims a call lists, as ``x.permute(0, 2, 1)`` or ``torch.permute(x, (0, 2, 1))``."""
    rest = list(node.args[1:]) or [node.kwargs.get(name, [])]
    if len(rest) == 1 and isinstance(rest[0], list | tuple):
        rest = list(rest[0])
    return rest


def _without_batch(dim: Any, what: str) -> int:
    """A dim counted with the batch as an axis counted without it (negative stays)."""
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise NotExpressible(f"{what} needs its dims as numbers")
    if dim == 0:
        raise NotExpressible(f"{what} on the batch (dim 0): a spec's layers keep it first")
    return dim - 1 if dim > 0 else dim


def _permute(node: fx.Node) -> Mapped:
    dims = _dims(node, "dims")
    if all(isinstance(d, int) for d in dims):  # negative dims count from the end
        dims = [d % len(dims) for d in dims]
    if not dims or dims[0] != 0 or sorted(dims) != list(range(len(dims))):
        raise NotExpressible("permute keeps the batch first (dims 0, ...) and lists each dim once")
    return [("permute", {"axes": [d - 1 for d in dims[1:]]})], [_tensor(node)]


def _reshape(node: fx.Node) -> Mapped:
    """``x.reshape(n, 768, h * w)``: the batch first, then the sizes; one computed from the
    input's shape is the size the others leave (-1)."""
    dims = _dims(node, "shape")
    if not dims or not (is_batch(dims[0]) or dims[0] == -1):
        raise NotExpressible("reshape keeps the batch first (x.shape[0] or -1, then the sizes)")
    computed = any(isinstance(d, fx.Node) for d in dims[1:])
    if dims[0] == -1 and computed:  # -1 first is the batch only where the rest are numbers
        raise NotExpressible(
            "reshape(-1, ...) with a size computed from the input's shape may fold other "
            "dims into the batch; write the batch first (x.shape[0])"
        )
    shape = [-1 if isinstance(d, fx.Node) else d for d in dims[1:]]
    if not shape:
        raise NotExpressible("reshape(-1) joins the batch with the rest: keep it first")
    if shape.count(-1) > 1 or not all(isinstance(d, int) for d in shape):
        raise NotExpressible(
            "reshape computes more than one size from the input's shape; a spec's sizes are "
            "numbers, one of them -1"
        )
    return [("reshape", {"shape": shape})], [_tensor(node)]


def _flatten(node: fx.Node) -> Mapped:
    start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
    end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
    if (start, end) == (1, -1):
        return [("flatten", {})], [_tensor(node)]
    first = _without_batch(start, "flatten")
    last = _without_batch(end, "flatten") if end != -1 else -1
    return [("flatten", {"start": first, "end": last})], [_tensor(node)]


def _transpose(node: fx.Node) -> Mapped:
    given = list(node.args[1:3]) + [node.kwargs[k] for k in ("dim0", "dim1") if k in node.kwargs]
    axes = [_without_batch(d, "transpose") for d in given]
    if len(axes) != 2:
        raise NotExpressible("transpose swaps two dims")
    return [("transpose", {"axes": axes})], [_tensor(node)]


def _cat(node: fx.Node) -> Mapped:
    given: Any = node.args[0] if node.args else node.kwargs.get("tensors", [])
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
    if not isinstance(given, list | tuple) or not all(isinstance(t, fx.Node) for t in given):
        raise NotExpressible("concat joins tensors of the network")
    tensors: list[fx.Node] = list(given)
    if len(tensors) == 1:
        return [("identity", {})], tensors
    along = _without_batch(dim, "concat")
    return [("concat", {} if along == 0 else {"axis": along})], tensors


def _expand(node: fx.Node) -> Mapped:
    """``class_token.expand(n, -1, -1)``: the tensor made as wide as the batch, which a spec's
    concat does itself (an identity here)."""
    dims = _dims(node, "size")
    if not dims or not is_batch(dims[0]) or any(d != -1 for d in dims[1:]):
        raise NotExpressible("expand widens only the batch (x.expand(n, -1, ...)): concat does")
    return [("identity", {})], [_tensor(node)]


def _identity(node: fx.Node) -> Mapped:
    return [("identity", {})], [_tensor(node)]


def _index(node: fx.Node) -> Mapped:
    """``x[:, 0]`` (select), ``x[..., 0::2, :]`` (strided_slice): the batch kept whole."""
    index: Any = node.args[1]
    entries: list[Any] = list(index) if isinstance(index, tuple) else [index]
    if not entries or entries[0] not in (slice(None), Ellipsis):
        raise NotExpressible("an index keeps the whole batch first (x[:, ...])")
    if entries[0] != Ellipsis:
        entries = entries[1:]
    if entries.count(Ellipsis) > 1 or any(e is None for e in entries):
        raise NotExpressible("an index with several ... or a new axis (None)")
    cut = entries.index(Ellipsis) if Ellipsis in entries else len(entries)
    chain: list[tuple[str, dict[str, Any]]] = []
    dropped = 0
    for n, entry in enumerate(entries[:cut]):
        if _pick(entry, n - dropped, chain):
            dropped += 1
    after = entries[cut + 1 :]
    for n, entry in enumerate(after):
        _pick(entry, n - len(after), chain)
    return chain or [("identity", {})], [_tensor(node)]


def _pick(entry: Any, at: int, chain: list[tuple[str, dict[str, Any]]]) -> bool:
    """The layer for one entry of an index at axis ``at``; True where it drops the axis."""
    if isinstance(entry, int) and not isinstance(entry, bool):
        chain.append(("select", {"index": entry, "axis": at}))
        return True
    if not isinstance(entry, slice) or not all(
        v is None or (isinstance(v, int) and not isinstance(v, bool))
        for v in (entry.start, entry.stop, entry.step)
    ):
        raise NotExpressible("an index of numbers and slices of numbers")
    if entry == slice(None):
        return False
    if entry.step is not None and entry.step < 1:
        raise NotExpressible("a slice whose step is at least 1")
    opts: dict[str, Any] = {"axis": at}
    for key, value in (("start", entry.start), ("end", entry.stop), ("step", entry.step)):
        if value is not None:
            opts[key] = value
    chain.append(("strided_slice", opts))
    return False


def _stochastic_depth(node: fx.Node) -> Mapped:
    """torchvision's ``stochastic_depth(x, p, mode, training)``: ``drop_path`` for mode "row"."""
    args = [*node.args, *([None] * 4)]
    p = node.kwargs.get("p", args[1])
    mode = node.kwargs.get("mode", args[2])
    if mode != "row":
        raise NotExpressible(
            f'stochastic depth of mode "{mode}" drops the whole batch at once; drop_path '
            'drops each sample\'s tensor on its own (mode "row")'
        )
    if not isinstance(p, int | float) or isinstance(p, bool):
        raise NotExpressible("stochastic depth's p is a number")
    return [("drop_path", {"p": float(p)})], [_tensor(node)]


#: functions by identity
FUNCTIONS: dict[Any, Callable[[fx.Node], Mapped]] = {
    torch.permute: _permute,
    torch.reshape: _reshape,
    torch.flatten: _flatten,
    torch.transpose: _transpose,
    torch.cat: _cat,
    torch.concat: _cat,
    operator.getitem: _index,
}

#: functions of other libraries by module and name (torchvision is not netspec's dependency:
#: they are found where the model has loaded them)
NAMED: dict[tuple[str, str], Callable[[fx.Node], Mapped]] = {
    ("torchvision.ops.stochastic_depth", "stochastic_depth"): _stochastic_depth,
}


def wrapped() -> list[Callable[..., Any]]:
    """The functions of ``NAMED`` that are loaded, which fx would otherwise trace into (a
    forward that calls torchvision's ``stochastic_depth`` itself): recorded as one call each."""
    found = [getattr(sys.modules.get(module), name, None) for module, name in NAMED]
    return [f for f in found if callable(f)]


#: tensor methods by name
METHODS: dict[str, Callable[[fx.Node], Mapped]] = {
    "permute": _permute,
    "reshape": _reshape,
    "view": _reshape,
    "flatten": _flatten,
    "transpose": _transpose,
    "expand": _expand,
    "contiguous": _identity,
}


def lookup(node: fx.Node) -> Callable[[fx.Node], Mapped] | None:
    """The entry for a ``call_function`` or ``call_method`` node: this table's, else
    :func:`netspec.importing.ops.lookup`'s."""
    if node.op == "call_method":
        found = METHODS.get(str(node.target))
    else:
        found = FUNCTIONS.get(node.target) if _hashable(node.target) else None
        where = (getattr(node.target, "__module__", ""), getattr(node.target, "__name__", ""))
        found = found or NAMED.get(where)
    return found if found is not None else call_lookup(node)


def _hashable(target: Any) -> bool:
    try:
        hash(target)
    except TypeError:
        return False
    return True


def held_tensor(node: fx.Node, root: nn.Module) -> tuple[str, dict[str, Any], str]:
    """A ``get_attr`` node as a layer: its kind (``parameter`` or ``buffer``), options and
    what the spec says beside it."""
    path, _, name = str(node.target).rpartition(".")
    owner = root.get_submodule(path)
    tensor = getattr(owner, name)
    if name not in owner._parameters and name not in owner._buffers:
        raise NotExpressible(
            "a tensor made in forward (torch.tensor(...), a constant) is neither a parameter "
            "nor a buffer of the model, so no state_dict holds it"
        )
    if not isinstance(tensor, torch.Tensor) or tensor.dim() == 0:
        raise NotExpressible(f"{node.target} is not a tensor of at least one axis")
    dims = list(tensor.shape)
    opts: dict[str, Any] = {"shape": dims}
    if len(dims) >= 2 and dims[0] == 1:  # torch's leading 1: the batch it broadcasts over
        opts = {"shape": dims[1:], "batch_axis": True}
    values = tensor.detach().float()
    if values.is_meta:  # no values to look at (a model built on the meta device)
        opts["init"] = "zeros"
    elif bool((values == values.flatten()[0]).all()):
        first = float(values.flatten()[0])
        first = float(f"{first:.7g}")  # a float32 as written: 1e-06, not 9.99999997e-07
        opts["init"] = {0.0: "zeros", 1.0: "ones"}.get(first, first)
    else:
        opts["init"] = "normal"
        opts["std"] = float(f"{float(values.std()):.2g}") or 1.0
    if isinstance(tensor, nn.Parameter):
        return "parameter", opts, ""
    if name in getattr(owner, "_non_persistent_buffers_set", set()) and opts["init"] == "normal":
        raise NotExpressible(
            f"buffer {node.target} is not in the state_dict, and its values are no constant"
        )
    if name in getattr(owner, "_non_persistent_buffers_set", set()):
        opts["persistent"] = False
    return "buffer", opts, "its values: the checkpoint's"


def drop_unread(graph: fx.Graph) -> None:
    """Erase the parts of a module's result that nothing reads (``x, _ = attn(x, x, x)``:
    fx unpacks the attention's weights too)."""
    for node in list(graph.nodes):
        unread = node.op == "call_function" and node.target is operator.getitem and not node.users
        base = node.args[0] if node.args else None
        if unread and isinstance(base, fx.Node) and base.op == "call_module":
            graph.erase_node(node)


def _layernorm2d(module: Any) -> dict[str, Any]:
    return {"over": "channels", **layernorm_options(module)}


#: modules no kind names, by class name: the kind and its options (torchvision's LayerNorm2d:
#: permute, layer_norm over the channels, permute back)
FALLBACKS: dict[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "LayerNorm2d": ("layernorm", _layernorm2d),
}
