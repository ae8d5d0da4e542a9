"""A saved ``torch.export`` archive (``.pt2``) as the module torch.fx would have traced.

An exported program is a graph of ATen operators over lifted weights; each node records the
modules it ran in (``nn_module_stack``) with their classes' names. From that, this rebuilds
what the rest of ``netspec import`` reads: a module tree with the same paths (a leaf layer
made anew, on the meta device, from its operator's arguments and its weights' shapes, a
container a class of the recorded name) and an fx graph that calls the leaves and the
functions a ``forward`` would. The weights' values stay in the archive, unread: the spec
rebuilds the structure, and the archive's ``state_dict`` loads into it.

The archive is data: :mod:`.archive` reads its program and nothing else, :mod:`.program`
checks it; nothing in it is unpickled, evaluated or opened (see those modules).
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from ..errors import NetspecError, printable
from ..files import shorten
from .archive import read_program
from .program import Op, load_program
from .tagged import Ref
from .trace import archived_error

aten = torch.ops.aten

#: a leaf module made anew from its operator: (the operator, its arguments with the weights'
#: shapes in their places) → module
Maker = Callable[[Op, list[Any]], nn.Module]


def _arg(args: list[Any], index: int, default: Any) -> Any:
    return args[index] if len(args) > index and args[index] is not None else default


class _Unfit(Exception):
    """An operator's arguments that make no layer of its kind (a weight of another rank)."""


def _shape(weight: Any, rank: int) -> tuple[int, ...]:
    """A weight's shape, of ``rank`` sizes."""
    shape = weight.shape if isinstance(weight, _Shaped) else None
    if shape is None or len(shape) != rank:
        raise _Unfit(f"expected a weight of {rank} dimension(s), got {_described(weight)}")
    return shape


def _described(value: Any) -> str:
    if isinstance(value, _Shaped):
        return f"one of shape {list(value.shape)}"
    return "a computed tensor" if isinstance(value, fx.Node) else f"{printable(repr(value))[:40]}"


def _conv(node: Op, args: list[Any]) -> nn.Module:
    weight, bias, groups = args[1], _arg(args, 2, None), _arg(args, 6, 1)
    out, per_group, height, width = _shape(weight, 4)
    return nn.Conv2d(
        per_group * groups,
        out,
        (height, width),
        stride=_arg(args, 3, 1),
        padding=_arg(args, 4, 0),
        dilation=_arg(args, 5, 1),
        groups=groups,
        bias=bias is not None,
    )


def _linear(node: Op, args: list[Any]) -> nn.Module:
    out, features = _shape(args[1], 2)
    return nn.Linear(features, out, bias=_arg(args, 2, None) is not None)


def _batchnorm(node: Op, args: list[Any]) -> nn.Module:
    weight, mean = args[1], args[3]
    no_training = node.overload is aten._native_batch_norm_legit_no_training.default
    momentum, eps = (args[5], args[6]) if no_training else (args[6], args[7])
    (channels,) = _shape(weight if weight is not None else mean, 1)
    kind = nn.BatchNorm2d if node.rank in (4, None) else nn.BatchNorm1d
    return kind(channels, eps, momentum, weight is not None, mean is not None)


def _max_pool(node: Op, args: list[Any]) -> nn.Module:
    kernel = args[1]
    stride = _arg(args, 2, []) or kernel
    padding, dilation = _arg(args, 3, 0), _arg(args, 4, 1)
    return nn.MaxPool2d(kernel, stride, padding, dilation, ceil_mode=_arg(args, 5, False))


def _avg_pool(node: Op, args: list[Any]) -> nn.Module:
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
    aten.dropout_.default: lambda node, args: nn.Dropout(args[1], inplace=True),
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

    def __init__(self, origin: str) -> None:
        self.root = nn.Module()
        self.graph = fx.Graph()
        self.classes: dict[str, type[nn.Module]] = {}
        #: the paths made so far: True for a leaf (a layer), False for a container
        self.leaves: dict[str, bool] = {"": False}
        self.origin = origin

    def container(self, path: str, qualified: str, op: Op) -> None:
        """A module of ``path`` that is traced through, of a class named as the original's
        (its parents made first, as plain modules, where the program never ran them)."""
        if self._made(path, leaf=False, op=op):
            return
        cls = self.classes.get(qualified)
        if cls is None:
            module, _, name = qualified.rpartition(".")
            cls = type(name, (nn.Module,), {"__module__": module, "__qualname__": name})
            self.classes[qualified] = cls
        self.place(path, cls(), op, leaf=False)

    def leaf(self, path: str, make: Callable[[], nn.Module], op: Op) -> None:
        """The layer at ``path``, made once (a module without weights may run more than once)."""
        if not self._made(path, leaf=True, op=op):
            self.place(path, make(), op, leaf=True)

    def _made(self, path: str, leaf: bool, op: Op) -> bool:
        was = self.leaves.get(path)
        if was is not None and was != leaf:
            raise archived_error(
                op.trace, self.origin, f"module {path} is both a layer and a module of layers"
            )
        return was is not None

    def place(self, path: str, module: nn.Module, op: Op, leaf: bool) -> None:
        parent, _, name = path.rpartition(".")
        if parent not in self.leaves:
            self.container(parent, "torch.nn.modules.module.Module", op)
        elif self.leaves[parent]:
            raise archived_error(
                op.trace, self.origin, f"module {parent} is both a layer and a module of layers"
            )
        self.root.get_submodule(parent).add_module(name, module)
        self.leaves[path] = leaf


def load_exported(path: Path, origin: str) -> tuple[nn.Module, fx.Graph, tuple[int, ...]]:
    """The rebuilt module and graph of a ``.pt2`` archive, and its input's shape without the
    batch (from the example it was exported with)."""
    shown = shorten(printable(origin))
    program = load_program(read_program(path, shown), shown, SUPPORTED)
    rebuilt = _Rebuilt(shown)
    mapped: dict[str, Any] = {
        name: _Weight(key, shape) for name, (key, shape) in program.weights.items()
    }
    mapped.update({name: _Constant() for name in program.constants})
    mapped[program.input] = rebuilt.graph.placeholder(_input_name(program.input))
    with torch.device("meta"):  # hostile sizes allocate nothing
        for op in program.ops:
            value = _call(op, rebuilt, mapped, shown)
            mapped.update({o: _Unused() for o in op.outputs[1:] if o is not None})
            if op.outputs and op.outputs[0] is not None:
                mapped[op.outputs[0]] = value
    returned = [mapped[ref.name] for ref in program.outputs]
    if not all(isinstance(r, fx.Node) for r in returned):
        raise NetspecError.plain(
            shown, "the program returns something else than computed tensors", _HINT
        )
    rebuilt.graph.output(returned[0] if len(returned) == 1 else tuple(returned))
    return rebuilt.root, rebuilt.graph, program.shape


def _input_name(name: str) -> str:
    return name if name.isidentifier() and name.isascii() and len(name) < 100 else "x"


#: the operators netspec imports, by the names an archive gives them
SUPPORTED: dict[str, Any] = {f"torch.ops.{op}": op for op in (*LEAVES, *FUNCTIONS, aten.mean.dim)}


class _Weight:
    """A lifted parameter or buffer: its path in the state_dict, and its shape."""

    def __init__(self, path: str, shape: tuple[int, ...]) -> None:
        self.path, self.shape = path, shape


class _Constant:
    """A lifted constant (a tensor made in ``forward``): nothing a spec can say."""


class _Unused:
    """An operator's second output (a batch norm's saved statistics): never read by a layer."""


def _call(op: Op, rebuilt: _Rebuilt, mapped: dict[str, Any], origin: str) -> Any:
    if op.overload is None:
        raise _unsupported(op, origin)
    args = _mapped(op.args, mapped)
    stack = op.stack
    maker = LEAVES.get(op.overload)
    leaf = bool(stack) and _is_layer(stack[-1][1]) and maker is not None and bool(stack[-1][0])
    for path, qualified in stack[:-1] if leaf else stack:
        if path:
            rebuilt.container(path, qualified, op)
    if leaf:
        assert maker is not None
        path = stack[-1][0]
        shaped = [_Shaped(a.shape) if isinstance(a, _Weight) else a for a in args]
        try:
            with warnings.catch_warnings():  # a layer of 0 channels warns that it is empty
                warnings.simplefilter("ignore")
                rebuilt.leaf(path, lambda: maker(op, shaped), op)
        except _Unfit as e:
            raise archived_error(op.trace, origin, f"cannot rebuild {op.target}: {e}") from None
        except (ValueError, TypeError, RuntimeError) as e:  # torch's own checks of a layer
            said = shorten(printable(str(e).strip().splitlines()[0] if str(e).strip() else ""))
            raise archived_error(op.trace, origin, f"cannot rebuild {op.target}: {said}") from None
        if not isinstance(args[0], fx.Node):
            raise _unsupported(op, origin)
        new = rebuilt.graph.call_module(path, (args[0],))
        stack = stack[:-1]
    elif any(isinstance(a, _Weight | _Constant | _Unused) for a in _flat(args)):
        raise _unsupported(op, origin)
    elif op.overload is aten.mean.dim:
        new = rebuilt.graph.call_method("mean", tuple(args))
    elif op.overload in FUNCTIONS:
        new = rebuilt.graph.call_function(FUNCTIONS[op.overload], tuple(args))
    else:  # a layer's operator outside a layer of torch.nn (or none recorded)
        raise _unsupported(op, origin)
    new.meta["nn_module_stack"] = {path: (path, qualified) for path, qualified in stack}
    new.meta["archived"] = True  # its recorded line is quoted, its file never opened
    new.stack_trace = op.trace
    return new


def _mapped(args: list[Any], mapped: dict[str, Any]) -> list[Any]:
    return [
        mapped[a.name] if isinstance(a, Ref) else _mapped(a, mapped) if isinstance(a, list) else a
        for a in args
    ]


def _flat(args: list[Any]) -> list[Any]:
    return [b for a in args for b in (_flat(a) if isinstance(a, list) else [a])]


def _is_layer(qualified: str) -> bool:
    """A torch.nn module that is one layer (not a container), as the program records it."""
    name = qualified.rpartition(".")[2]
    return qualified.startswith("torch.nn.modules.") and name not in _CONTAINERS


_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")


class _Shaped:
    """A weight's stand-in for a maker: it has the shape and nothing else."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape


def _unsupported(op: Op, origin: str) -> NetspecError:
    return archived_error(op.trace, origin, f"no kind for the operator {op.target}", _HINT)


_HINT = "netspec imports the layers it has kinds for; import the Python model instead"
