"""The functions and tensor methods ``netspec import`` maps to kinds: one table.

A module maps through its kind's own ``options_from`` (each kind's file); a call in a
``forward`` (``torch.cat``, ``x + y``, ``F.relu``, ``x.mean([2, 3])``) through the entry here
for its function or method name. Each entry turns the call into the layers that compute it.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx

from ..kinds.pool import adaptive_options
from ..registry import pair_option


@dataclass(frozen=True)
class ShapeOf:
    """A size read from another tensor of the network (``size=lateral.shape[-2:]``), which a
    spec writes as ``["${height(lateral)}", "${width(lateral)}"]``."""

    node: fx.Node


def shape_read(node: fx.Node) -> fx.Node | None:
    """The tensor whose height and width ``node`` is (``x.shape[-2:]``), if it is that."""
    if node.op != "call_function" or node.target is not operator.getitem:
        return None
    base, index = node.args[0], node.args[1]
    if not (isinstance(base, fx.Node) and is_shape(base)):
        return None
    return base.args[0] if index in (slice(-2, None), slice(2, None)) else None  # type: ignore[return-value]


def is_shape(node: fx.Node) -> bool:
    """``x.shape``: no layer; a call that reads it says what it reads."""
    return bool(
        node.op == "call_function"
        and node.target is getattr
        and len(node.args) > 1
        and node.args[1] == "shape"
        and isinstance(node.args[0], fx.Node)
    )


class NotExpressible(Exception):
    """A call netspec has a kind for, with arguments no option says (``torch.cat`` on dim 2)."""


#: what a call becomes: layers in a chain, each ``(kind, options)``, and the tensors it reads
Mapped = tuple[list[tuple[str, dict[str, Any]]], list[fx.Node]]


def _arg(node: fx.Node, index: int, name: str, default: Any) -> Any:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def _tensor(node: fx.Node) -> fx.Node:
    x = node.args[0] if node.args else node.kwargs.get("input")
    if not isinstance(x, fx.Node):
        raise NotExpressible("its input is not a tensor of the network")
    return x


def _merge(kind: str) -> Callable[[fx.Node], Mapped]:
    def mapped(node: fx.Node) -> Mapped:
        a, b = node.args[:2]
        if not (isinstance(a, fx.Node) and isinstance(b, fx.Node)):
            raise NotExpressible(f"{kind} with a constant: netspec's {kind} joins two tensors")
        return [(kind, {})], [a, b]

    return mapped


def _cat(node: fx.Node) -> Mapped:
    tensors = _arg(node, 0, "tensors", [])
    if _arg(node, 1, "dim", 0) != 1 or not all(isinstance(t, fx.Node) for t in tensors):
        raise NotExpressible("concat joins tensors of the network along the channels (dim 1)")
    if len(tensors) == 1:
        return [("identity", {})], list(tensors)
    return [("concat", {})], list(tensors)


def _flatten(default_start: int) -> Callable[[fx.Node], Mapped]:
    def mapped(node: fx.Node) -> Mapped:
        if (_arg(node, 1, "start_dim", default_start), _arg(node, 2, "end_dim", -1)) != (1, -1):
            raise NotExpressible("flatten keeps the batch and flattens the rest (start_dim 1)")
        return [("flatten", {})], [_tensor(node)]

    return mapped


def _activation(kind: str, inplace: bool | None = None) -> Callable[[fx.Node], Mapped]:
    """``inplace``: what the function itself does (``torch.relu_``); None: its argument."""

    def mapped(node: fx.Node) -> Mapped:
        opts: dict[str, Any] = {}
        if inplace is not None:
            opts["inplace"] = inplace
        elif "inplace" in node.kwargs or len(node.args) > 1:
            opts["inplace"] = bool(_arg(node, 1, "inplace", False))
        return [(kind, opts)], [_tensor(node)]

    return mapped


def _gelu(node: fx.Node) -> Mapped:
    approximate = _arg(node, 1, "approximate", "none")
    return [("gelu", {} if approximate == "none" else {"approximate": approximate})], [
        _tensor(node)
    ]


def _adaptive(mode: str) -> Callable[[fx.Node], Mapped]:
    def mapped(node: fx.Node) -> Mapped:
        opts = adaptive_options(mode, _arg(node, 1, "output_size", None))
        if opts is None:
            raise NotExpressible("an adaptive pool that keeps a size (None)")
        return [("pool", opts)], [_tensor(node)]

    return mapped


def _dropout(node: fx.Node) -> Mapped:
    return [("dropout", {"p": _arg(node, 1, "p", 0.5)})], [_tensor(node)]


def _mean(node: fx.Node) -> Mapped:
    dims = _arg(node, 1, "dim", None)
    keep = _arg(node, 2, "keepdim", False)
    if sorted(dims or []) not in ([2, 3], [-2, -1]):
        raise NotExpressible("a mean over the height and width ([2, 3]) is a global pool")
    pool: tuple[str, dict[str, Any]] = ("pool", {"mode": "avg", "global": True})
    return ([pool] if keep else [pool, ("flatten", {})]), [_tensor(node)]


def _interpolate(node: fx.Node) -> Mapped:
    size, scale = _arg(node, 1, "size", None), _arg(node, 2, "scale_factor", None)
    opts: dict[str, Any] = {"mode": _arg(node, 3, "mode", "nearest")}
    if _arg(node, 4, "align_corners", None) is not None:
        opts["align_corners"] = _arg(node, 4, "align_corners", None)
    if _arg(node, 5, "recompute_scale_factor", None):
        raise NotExpressible("upsample keeps the scale it is given (recompute_scale_factor)")
    other = shape_read(size) if isinstance(size, fx.Node) else None
    if other is not None:
        opts["size"] = ShapeOf(other)
    elif isinstance(size, int | tuple | list) and not isinstance(size, bool):
        opts["size"] = pair_option(size)
    elif isinstance(scale, int | float) and not isinstance(scale, bool):
        opts["scale"] = float(scale)
    elif isinstance(scale, tuple | list) and len(scale) == 2:
        opts["scale"] = [float(v) for v in scale]
    else:
        raise NotExpressible("upsample takes a size, another tensor's size or a scale")
    return [("upsample", opts)], [_tensor(node)]


def _pool(mode: str) -> Callable[[fx.Node], Mapped]:
    def mapped(node: fx.Node) -> Mapped:
        kernel = _arg(node, 1, "kernel_size", None)
        opts: dict[str, Any] = {"mode": mode, "kernel": pair_option(kernel)}
        stride = _arg(node, 2, "stride", None)
        if stride and pair_option(stride) != pair_option(kernel):  # else: the kernel, the default
            opts["stride"] = pair_option(stride)
        opts["padding"] = pair_option(_arg(node, 3, "padding", 0))
        if mode == "max" and pair_option(_arg(node, 4, "dilation", 1)) != 1:
            raise NotExpressible("pool has no dilation")
        opts["ceil_mode"] = bool(_arg(node, 5 if mode == "max" else 4, "ceil_mode", False))
        if mode == "avg":
            opts["count_include_pad"] = bool(_arg(node, 5, "count_include_pad", True))
        return [("pool", opts)], [_tensor(node)]

    return mapped


def _chunk(node: fx.Node) -> Mapped:
    if _arg(node, 2, "dim", 0) != 1:
        raise NotExpressible("split parts the channels (dim 1)")
    return [("split", {"parts": _arg(node, 1, "chunks", None)})], [_tensor(node)]


def _split(node: fx.Node) -> Mapped:
    sizes = _arg(node, 1, "split_size_or_sections", None)
    if _arg(node, 2, "dim", 0) != 1 or not isinstance(sizes, list | tuple):
        raise NotExpressible("split parts the channels (dim 1) into sizes given as a list")
    return [("split", {"sizes": list(sizes)})], [_tensor(node)]


def _channel_shuffle(node: fx.Node) -> Mapped:
    return [("channel_shuffle", {"groups": _arg(node, 1, "groups", None)})], [_tensor(node)]


def _patch_merging_pad(node: fx.Node) -> Mapped:
    return [("patch_merging_pad", {})], [_tensor(node)]  # std:swin's block (importing.library)


#: functions of the model's own code, by name, that stand for one kind: ShuffleNet's
#: ``channel_shuffle(x, groups)`` (torchvision's and every port of it), written with view and
#: transpose, which have no kind and need the shape at run time; torchvision's Swin's
#: ``_patch_merging_pad`` (strided slices joined on the last axis), std:swin's block of its name
NAMED: dict[str, Callable[[fx.Node], Mapped]] = {
    "channel_shuffle": _channel_shuffle,
    "_patch_merging_pad": _patch_merging_pad,
}


def named_functions(model: Any) -> list[Callable[..., Any]]:
    """The functions of ``NAMED`` in the modules that define the model's classes: recorded as
    one call each, as ``WRAPPED`` functions are."""
    found = []
    modules = {type(m).__module__ for m in model.modules()}
    for module in sorted(modules):
        for name in NAMED:
            function = getattr(sys.modules.get(module), name, None)
            if callable(function) and getattr(function, "__module__", None) == module:
                found.append(function)
    return found


#: functions by identity, as torch.fx records them
FUNCTIONS: dict[Any, Callable[[fx.Node], Mapped]] = {
    operator.add: _merge("add"),
    operator.iadd: _merge("add"),
    torch.add: _merge("add"),
    operator.mul: _merge("mul"),
    operator.imul: _merge("mul"),
    torch.mul: _merge("mul"),
    torch.cat: _cat,
    torch.concat: _cat,
    torch.flatten: _flatten(0),
    torch.relu: _activation("relu", False),
    torch.relu_: _activation("relu", True),
    F.relu: _activation("relu"),
    F.relu6: _activation("relu6"),
    F.hardswish: _activation("hardswish"),
    F.hardsigmoid: _activation("hardsigmoid"),
    F.silu: _activation("silu"),
    F.gelu: _gelu,
    torch.sigmoid: _activation("sigmoid"),
    F.sigmoid: _activation("sigmoid"),
    torch.tanh: _activation("tanh"),
    F.adaptive_avg_pool2d: _adaptive("avg"),
    F.adaptive_max_pool2d: _adaptive("max"),
    F.dropout: _dropout,
    torch.chunk: _chunk,
    F.interpolate: _interpolate,
    F.max_pool2d: _pool("max"),
    F.avg_pool2d: _pool("avg"),
    torch.split: _split,
}

#: tensor methods by name (``x.flatten(1)``)
METHODS: dict[str, Callable[[fx.Node], Mapped]] = {
    "add": _merge("add"),
    "add_": _merge("add"),
    "mul": _merge("mul"),
    "flatten": _flatten(0),
    "relu": _activation("relu", False),
    "relu_": _activation("relu", True),
    "sigmoid": _activation("sigmoid", None),
    "mean": _mean,
    "chunk": _chunk,
    "split": _split,
}

#: functions fx would otherwise trace into: recorded as one call each
WRAPPED = (
    F.interpolate,
    F.max_pool2d,
    F.avg_pool2d,
    F.relu,
    F.relu6,
    F.hardswish,
    F.hardsigmoid,
    F.silu,
    F.sigmoid,
    F.adaptive_avg_pool2d,
    F.adaptive_max_pool2d,
    F.dropout,
)


#: modules of other libraries with no kind of their own, by class name: the kind that computes
#: what they compute in eval mode (a spec's module is built for inference and fine-tuning
#: alike, so each says what it leaves out, as a comment beside its layer)
MODULES: dict[str, Callable[[Any], tuple[str, str]]] = {
    # none now: torchvision's StochasticDepth is drop_path (its kind's torch_types)
}


def lookup(node: fx.Node) -> Callable[[fx.Node], Mapped] | None:
    """The entry for a ``call_function`` or ``call_method`` node, if netspec has one."""
    if node.op == "call_method":
        return METHODS.get(str(node.target))
    found = FUNCTIONS.get(node.target)
    return NAMED.get(getattr(node.target, "__name__", "")) if found is None else found
