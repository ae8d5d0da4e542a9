"""``flatten``, ``dropout`` and ``identity``: layers that move or mask values, with no weights.

``flatten`` joins every axis into flat features, or the axes ``start`` to ``end`` into one
(ViT's patches: ``flatten: {start: 1, end: 2}`` turns (768, 14, 14) into (768, 196)).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..axes import axis
from ..errors import Problem
from ..ir import Layout, Saved, Shape
from ..registry import Cost, Kind, register
from ..schema import Int, Options, Prob

if TYPE_CHECKING:
    from torch import nn


class FlattenSpec(Options):
    start: Int = Field(
        default=0, description="the first axis joined (0: the first after the batch)"
    )
    end: Int = Field(default=-1, description="the last axis joined; -1: the last")


class Flatten(Kind):
    name = "flatten"
    Options = FlattenSpec
    summary = "flatten everything but the batch into features, or axes start to end into one"
    torch_types = ("Flatten",)

    def options_from(self, module: Any) -> dict[str, Any] | None:
        start, end = module.start_dim, module.end_dim
        if start < 1 or 0 <= end < start:
            return None  # it joins the batch in, or its axes count from the end
        out = {} if start == 1 else {"start": start - 1}
        return out if end == -1 else {**out, "end": end - 1 if end > 0 else end}

    def cost(self, opts: FlattenSpec, shape: Shape) -> Cost:
        if (opts.start, opts.end) == (0, -1):
            return Cost(Shape((shape.numel,)))
        start, end = self.span(opts, shape)
        dims = shape.dims
        joined = (*dims[:start], math.prod(dims[start : end + 1]), *dims[end + 1 :])
        first = shape.layout is Layout.CHANNELS_FIRST and start == 0
        return Cost(Shape.laid(joined, Layout.TENSOR if first else shape.layout))

    def span(self, opts: FlattenSpec, shape: Shape) -> tuple[int, int]:
        start = axis(opts.start, shape, "flatten", "start")
        end = axis(opts.end, shape, "flatten", "end")
        if end < start:
            raise Problem(
                f"flatten start={opts.start} comes after end={opts.end} on {shape.what()}",
                "start is the first axis joined and end the last: start <= end",
            )
        return start, end

    def saved(self, opts: FlattenSpec, input: Shape, output: Shape) -> Saved:
        return Saved(input=False, alias=True)  # a view of its input

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def module(self, opts: FlattenSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        if (opts.start, opts.end) == (0, -1):
            return nn.Flatten()
        start, end = self.span(opts, input)
        return nn.Flatten(start + 1, end + 1)

    def describe(self, opts: FlattenSpec) -> str:
        plain = (opts.start, opts.end) == (0, -1)
        return "flatten" if plain else f"flatten {opts.start}..{opts.end}"


class DropoutSpec(Options):
    p: Prob = Field(default=0.5, description="the probability of zeroing an element in training")


class Dropout(Kind):
    name = "dropout"
    Options = DropoutSpec
    shorthand = "p"
    summary = "dropout with probability p (`- dropout: 0.5`)"
    torch_types = ("Dropout",)

    def options_from(self, module: Any) -> dict[str, Any] | None:
        return {"p": module.p}

    def cost(self, opts: DropoutSpec, shape: Shape) -> Cost:
        return Cost(shape)

    def saved(self, opts: DropoutSpec, input: Shape, output: Shape) -> Saved:
        """On a CPU, ATen draws a float mask as large as the input and multiplies by it,
        keeping the mask (a GPU's fused kernel keeps a bool one); p = 0 passes the input."""
        if opts.p == 0:
            return Saved(input=False, alias=True)
        return Saved(input=False, extra=input.numel if opts.p < 1 else 0)

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def module(self, opts: DropoutSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        return nn.Dropout(opts.p)

    def describe(self, opts: DropoutSpec) -> str:
        return f"dropout {opts.p:g}"


class IdentitySpec(Options):
    pass


class Identity(Kind):
    name = "identity"
    Options = IdentitySpec
    summary = "passes its input through (an empty inception branch is one)"
    torch_types = ("Identity",)

    def options_from(self, module: Any) -> dict[str, Any] | None:
        return {}

    def cost(self, opts: IdentitySpec, shape: Shape) -> Cost:
        return Cost(shape)

    def saved(self, opts: IdentitySpec, input: Shape, output: Shape) -> Saved:
        return Saved(input=False, alias=True)

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def module(self, opts: IdentitySpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        return nn.Identity()


register(Flatten())
register(Dropout())
register(Identity())
