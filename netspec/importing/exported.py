"""A saved ``torch.export`` archive (``.pt2``) as the module torch.fx would have traced.

An exported program is a graph of ATen operators over lifted weights; each node records the
modules it ran in (``nn_module_stack``) with their classes' names. From that, this rebuilds
what the rest of ``netspec import`` reads: a module tree with the same paths (a leaf layer
made anew from its operator's arguments and its weights' shapes, a container a class of the
recorded name) and an fx graph that calls the leaves and the functions a ``forward`` would.
The weights' values stay in the archive: the spec rebuilds the structure, and the archive's
``state_dict`` loads into it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from ..errors import NetspecError
from .trace import error_at

aten = torch.ops.aten

#: a leaf module made anew from its operator's node: (arguments, the weights' shapes by
#: argument position) → module
Maker = Callable[[fx.Node, list[Any]], nn.Module]


def _arg(args: list[Any], index: int, default: Any) -> Any:
    return args[index] if len(args) > index and args[index] is not None else default


def _conv(node: fx.Node, args: list[Any]) -> nn.Module:
    weight, bias, groups = args[1], _arg(args, 2, None), _arg(args, 6, 1)
    out, per_group, *kernel = weight.shape
    return nn.Conv2d(
        per_group * groups,
        out,
        tuple(kernel),
        stride=_arg(args, 3, 1),
        padding=_arg(args, 4, 0),
        dilation=_arg(args, 5, 1),
        groups=groups,
        bias=bias is not None,
    )


def _linear(node: fx.Node, args: list[Any]) -> nn.Module:
    out, features = args[1].shape
    return nn.Linear(features, out, bias=_arg(args, 2, None) is not None)


def _batchnorm(node: fx.Node, args: list[Any]) -> nn.Module:
    weight, mean = args[1], args[3]
    no_training = node.target is aten._native_batch_norm_legit_no_training.default
    momentum, eps = (args[5], args[6]) if no_training else (args[6], args[7])
    channels = (weight if weight is not None else mean).shape[0]
    rank = node.meta["val"].dim() if "val" in node.meta else 4
    kind = nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d
    return kind(channels, eps, momentum, weight is not None, mean is not None)


def _max_pool(node: fx.Node, args: list[Any]) -> nn.Module:
    kernel = args[1]
    stride = _arg(args, 2, []) or kernel
    padding, dilation = _arg(args, 3, 0), _arg(args, 4, 1)
    return nn.MaxPool2d(kernel, stride, padding, dilation, ceil_mode=_arg(args, 5, False))


def _avg_pool(node: fx.Node, args: list[Any]) -> nn.Module:
    kernel = args[1]
    stride = _arg(args, 2, []) or kernel
    return nn.AvgPool2d(kernel, stride, _arg(args, 3, 0), _arg(args, 4, False), _arg(args, 5, True))


def _plain(kind: type[nn.Module], **options: Any) -> Maker:
    return lambda node, args: kind(**options)


#: the operators a leaf module of a kind netspec has runs, and how to make it again
LEAVES: dict[Any, Maker] = {
    aten.conv2d.default: _conv,
    aten.linear.default: _linear,
    aten.batch_norm.default: _batchnorm,
    aten._native_batch_norm_legit_no_training.default: _batchnorm,
    aten.max_pool2d.default: _max_pool,
    aten.avg_pool2d.default: _avg_pool,
    aten.adaptive_avg_pool2d.default: lambda node, args: nn.AdaptiveAvgPool2d(args[1]),
    aten.relu.default: _plain(nn.ReLU),
    aten.relu_.default: _plain(nn.ReLU, inplace=True),
    aten.sigmoid.default: _plain(nn.Sigmoid),
    aten.tanh.default: _plain(nn.Tanh),
    aten.silu.default: _plain(nn.SiLU),
    aten.silu_.default: _plain(nn.SiLU, inplace=True),
    aten.hardswish.default: _plain(nn.Hardswish),
    aten.hardswish_.default: _plain(nn.Hardswish, inplace=True),
    aten.hardsigmoid.default: _plain(nn.Hardsigmoid),
    aten.flatten.using_ints: lambda node, args: nn.Flatten(_arg(args, 1, 1), _arg(args, 2, -1)),
    aten.dropout.default: lambda node, args: nn.Dropout(args[1]),
}

#: operators a forward calls itself, as the torch function fx would have recorded
FUNCTIONS: dict[Any, Callable[..., Any]] = {
    aten.add.Tensor: operator.add,
    aten.add_.Tensor: operator.add,
    aten.mul.Tensor: operator.mul,
    aten.mul_.Tensor: operator.mul,
    aten.cat.default: torch.cat,
    aten.relu.default: torch.relu,
    aten.relu_.default: torch.relu_,
    aten.sigmoid.default: torch.sigmoid,
    aten.tanh.default: torch.tanh,
    aten.silu.default: F.silu,
    aten.flatten.using_ints: torch.flatten,
    aten.adaptive_avg_pool2d.default: F.adaptive_avg_pool2d,
    aten.max_pool2d.default: F.max_pool2d,
    aten.avg_pool2d.default: F.avg_pool2d,
}


class _Rebuilt:
    """The module tree and graph being rebuilt."""

    def __init__(self) -> None:
        self.root = nn.Module()
        self.graph = fx.Graph()
        self.classes: dict[str, type[nn.Module]] = {}

    def container(self, path: str, qualified: str) -> None:
        """A module of ``path`` that is traced through, of a class named as the original's."""
        if not path or _has(self.root, path):
            return
        cls = self.classes.get(qualified)
        if cls is None:
            module, _, name = qualified.rpartition(".")
            cls = type(name, (nn.Module,), {"__module__": module, "__qualname__": name})
            self.classes[qualified] = cls
        self.place(path, cls())

    def place(self, path: str, module: nn.Module) -> None:
        parent, _, name = path.rpartition(".")
        self.root.get_submodule(parent).add_module(name, module)


def _has(root: nn.Module, path: str) -> bool:
    try:
        root.get_submodule(path)
    except AttributeError:
        return False
    return True


def load_exported(path: Path, origin: str) -> tuple[nn.Module, fx.Graph, tuple[int, ...]]:
    """The rebuilt module and graph of a ``.pt2`` archive, and its input's shape without the
    batch (from the example it was exported with)."""
    try:
        program = torch.export.load(str(path))
    except Exception as e:  # the one boundary around torch's loader: whatever it raises
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise NetspecError.plain(origin, f"not a torch.export archive: {first}") from e
    signature = program.graph_signature
    if len(signature.user_inputs) != 1:
        raise NetspecError.plain(
            origin, "the program takes several inputs", "netspec imports one input for now"
        )
    weights = {**signature.inputs_to_parameters, **signature.inputs_to_buffers}
    rebuilt = _Rebuilt()
    mapped: dict[fx.Node, Any] = {}
    shape: tuple[int, ...] = ()
    for node in program.graph.nodes:
        if node.op == "placeholder":
            if node.name in weights:
                mapped[node] = _Weight(weights[node.name], node.meta.get("val"))
            else:
                mapped[node] = rebuilt.graph.placeholder(node.name)
                shape = tuple(node.meta["val"].shape[1:])
        elif node.op == "output":
            value = node.args[0]
            value = value[0] if isinstance(value, tuple | list) and len(value) == 1 else value
            rebuilt.graph.output(fx.node.map_arg(value, lambda n: mapped[n]))
        else:
            mapped[node] = _call(node, rebuilt, mapped, origin)
    return rebuilt.root, rebuilt.graph, shape


class _Weight:
    """A lifted parameter or buffer: its path in the state_dict, and its fake tensor."""

    def __init__(self, path: str, value: Any) -> None:
        self.path, self.shape = path, getattr(value, "shape", None)


def _call(node: fx.Node, rebuilt: _Rebuilt, mapped: dict[fx.Node, Any], origin: str) -> Any:
    stack = [(str(p), str(q)) for p, q in node.meta.get("nn_module_stack", {}).values()]
    args = list(
        fx.node.map_aggregate(node.args, lambda a: mapped[a] if isinstance(a, fx.Node) else a)
    )
    maker = LEAVES.get(node.target)
    leaf = bool(stack) and _is_layer(stack[-1][1]) and maker is not None
    for path, qualified in stack[:-1] if leaf else stack:
        rebuilt.container(path, qualified)
    if leaf:
        assert maker is not None
        path = stack[-1][0]
        shaped = [_Shaped(a.shape) if isinstance(a, _Weight) else a for a in args]
        if not _has(rebuilt.root, path):  # a module without weights may run more than once
            rebuilt.place(path, maker(node, shaped))
        new = rebuilt.graph.call_module(path, (args[0],))
        stack = stack[:-1]
    elif any(isinstance(a, _Weight) for a in args):
        raise _unsupported(node, origin)
    elif node.target is aten.mean.dim:
        new = rebuilt.graph.call_method("mean", tuple(args))
    else:
        function = FUNCTIONS.get(node.target)
        if function is None:
            raise _unsupported(node, origin)
        new = rebuilt.graph.call_function(function, tuple(args))
    new.meta["nn_module_stack"] = {path: (path, qualified) for path, qualified in stack}
    new.stack_trace = node.meta.get("stack_trace")
    return new


def _is_layer(qualified: str) -> bool:
    """A torch.nn module that is one layer (not a container), as the program records it."""
    name = qualified.rpartition(".")[2]
    return qualified.startswith("torch.nn.modules.") and name not in _CONTAINERS


_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")


class _Shaped:
    """A weight's stand-in for a maker: it has the shape and nothing else."""

    def __init__(self, shape: Any) -> None:
        self.shape = tuple(shape) if shape is not None else ()


def _unsupported(node: fx.Node, origin: str) -> NetspecError:
    return error_at(node, origin, f"no kind for the operator {node.target}", _HINT)


_HINT = "netspec imports the layers it has kinds for; import the Python model instead"
