"""``linear``: a fully connected layer (``nn.Linear``) on flat features, or on each token of a
token sequence (``(tokens, features)``); ``over: last`` applies it to the last axis of any
tensor, as ``nn.Linear`` does."""

from __future__ import annotations

import enum
import math
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from ..errors import Problem
from ..ir import Shape
from ..registry import Cost, Family, Kind, need_rank, register
from ..schema import AllowExpr, Bool, Options, PosInt

if TYPE_CHECKING:
    from torch import nn


class Over(enum.Enum):
    """Which values one output feature is computed from."""

    FEATURES = "features"  # flat features, or each token's features
    LAST = "last"  # the last axis of any tensor (a map's rows: a linear per row)


class LinearSpec(Options):
    out: PosInt = Field(description="output features")
    bias: Bool = Field(default=True, description="a learned bias per output feature")
    over: Annotated[Over, AllowExpr] = Field(
        default=Over.FEATURES,
        description="features (flat, or each token's) or last (the last axis of any tensor)",
    )


class Linear(Kind):
    name = "linear"
    Options = LinearSpec
    family = Family.LINEAR
    shorthand = "out"
    summary = "fully connected layer: out, bias, over (`- linear: 10`)"
    torch_types = ("Linear",)

    def options_from(self, module: Any) -> dict[str, Any] | None:
        return {"out": module.out_features, "bias": module.bias is not None}

    def cost(self, opts: LinearSpec, shape: Shape) -> Cost:
        if opts.over is Over.FEATURES and not shape.features_last:
            if shape.rank == 2:  # (channels, positions): a map flattened, not yet tokens
                raise Problem(
                    f"linear applies to the last axis, but {shape.what()} has its channels "
                    "on the first",
                    'add "- transpose: [0, 1]" before this layer for tokens (tokens, '
                    'features), or "- flatten" for flat features',
                )
            need_rank(shape, 1, "linear", 'add "- flatten" before this layer')
        width = shape.dims[-1]
        weights = width * opts.out
        rows = math.prod(shape.dims[:-1])  # one product per token (or row): nn.Linear's
        out = Shape.laid((*shape.dims[:-1], opts.out), shape.layout)
        return Cost(out, weights + (opts.out if opts.bias else 0), weights * rows)

    def tensors(self, opts: LinearSpec, input: Shape, output: Shape) -> dict[str, Shape]:
        weight = Shape((opts.out, input.dims[-1]))
        return {"weight": weight, "bias": Shape((opts.out,))} if opts.bias else {"weight": weight}

    def module(self, opts: LinearSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        return nn.Linear(input.dims[-1], opts.out, bias=opts.bias)

    def describe(self, opts: LinearSpec) -> str:
        return f"linear {opts.out}" + (" over last" if opts.over is Over.LAST else "")


register(Linear())
