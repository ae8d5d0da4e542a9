"""``linear``: a fully connected layer (``nn.Linear``) on a flat input."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..ir import Shape
from ..registry import Cost, Family, Kind, need_rank, register
from ..schema import Bool, Options, PosInt

if TYPE_CHECKING:
    from torch import nn


class LinearSpec(Options):
    out: PosInt = Field(description="output features")
    bias: Bool = Field(default=True, description="a learned bias per output feature")


class Linear(Kind):
    name = "linear"
    Options = LinearSpec
    family = Family.LINEAR
    shorthand = "out"
    summary = "fully connected layer: out, bias (`- linear: 10`)"
    torch_types = ("Linear",)

    def options_from(self, module: Any) -> dict[str, Any] | None:
        return {"out": module.out_features, "bias": module.bias is not None}

    def cost(self, opts: LinearSpec, shape: Shape) -> Cost:
        need_rank(shape, 1, "linear", 'add "- flatten" before this layer')
        weights = shape.dims[0] * opts.out
        return Cost(Shape((opts.out,)), weights + (opts.out if opts.bias else 0), weights)

    def tensors(self, opts: LinearSpec, input: Shape, output: Shape) -> dict[str, Shape]:
        weight = Shape((opts.out, input.dims[0]))
        return {"weight": weight, "bias": Shape((opts.out,))} if opts.bias else {"weight": weight}

    def module(self, opts: LinearSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        return nn.Linear(input.dims[0], opts.out, bias=opts.bias)

    def describe(self, opts: LinearSpec) -> str:
        return f"linear {opts.out}"


register(Linear())
