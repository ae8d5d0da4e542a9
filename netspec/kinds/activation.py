"""Activations: element-wise functions that keep the shape and have no weights."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from ..errors import Problem
from ..ir import Shape
from ..registry import Cost, Family, Kind, register
from ..schema import AllowExpr, Bool, Float, Int, Options, PosFloat

if TYPE_CHECKING:
    from torch import nn


class InplaceSpec(Options):
    inplace: Bool = False


class LeakyReluSpec(Options):
    negative_slope: Float = 0.01
    inplace: Bool = False


class EluSpec(Options):
    alpha: PosFloat = 1.0
    inplace: Bool = False


class Approximate(enum.Enum):
    NONE = "none"
    TANH = "tanh"


class GeluSpec(Options):
    approximate: Annotated[Approximate, AllowExpr] = Approximate.NONE


class SoftmaxSpec(Options):
    dim: Int = 1


class PlainSpec(Options):
    pass


class Activation(Kind):
    """One activation; each built-in one is an instance of this class."""

    family = Family.ACTIVATION

    def __init__(
        self,
        name: str,
        options: type[Options],
        make: Callable[[Any, Any], nn.Module],
        summary: str,
        shorthand: str | None = None,
    ) -> None:
        self.name = name  # type: ignore[misc]
        self.Options = options  # type: ignore[misc]
        self.shorthand = shorthand  # type: ignore[misc]
        self.summary = summary  # type: ignore[misc]
        self._make = make

    def cost(self, opts: Any, shape: Shape) -> Cost:
        dim = getattr(opts, "dim", None)
        if dim is not None and not -(shape.rank + 1) <= dim <= shape.rank:
            raise Problem(
                f"{self.name} dim={dim} is out of range for a batch of {shape}",
                f"dim counts the batch: use 1 for {'features' if shape.rank == 1 else 'channels'}",
            )
        return Cost(shape)

    def module(self, opts: Any, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        return self._make(nn, opts)

    def describe(self, opts: Any) -> str:
        return self.name


_ACTIVATIONS = [
    Activation("relu", InplaceSpec, lambda nn, o: nn.ReLU(o.inplace), "max(0, x)"),
    Activation("relu6", InplaceSpec, lambda nn, o: nn.ReLU6(o.inplace), "min(max(0, x), 6)"),
    Activation(
        "leaky_relu",
        LeakyReluSpec,
        lambda nn, o: nn.LeakyReLU(o.negative_slope, o.inplace),
        "leaky ReLU: negative_slope (`- leaky_relu: 0.1`)",
        shorthand="negative_slope",
    ),
    Activation("elu", EluSpec, lambda nn, o: nn.ELU(o.alpha, o.inplace), "ELU: alpha"),
    Activation("sigmoid", PlainSpec, lambda nn, o: nn.Sigmoid(), "logistic sigmoid"),
    Activation("tanh", PlainSpec, lambda nn, o: nn.Tanh(), "hyperbolic tangent"),
    Activation(
        "gelu", GeluSpec, lambda nn, o: nn.GELU(o.approximate.value), "GELU: approximate none|tanh"
    ),
    Activation("silu", InplaceSpec, lambda nn, o: nn.SiLU(o.inplace), "SiLU (swish)"),
    Activation("hardswish", InplaceSpec, lambda nn, o: nn.Hardswish(o.inplace), "hard swish"),
    Activation("mish", InplaceSpec, lambda nn, o: nn.Mish(o.inplace), "mish"),
    Activation(
        "softmax", SoftmaxSpec, lambda nn, o: nn.Softmax(o.dim), "softmax over dim (1)", "dim"
    ),
    Activation(
        "log_softmax",
        SoftmaxSpec,
        lambda nn, o: nn.LogSoftmax(o.dim),
        "log-softmax over dim (1)",
        "dim",
    ),
]

for _activation in _ACTIVATIONS:
    register(_activation)
