"""``flatten``, ``dropout`` and ``identity``: layers that move or mask values, with no weights."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..ir import Saved, Shape
from ..registry import Cost, Kind, register
from ..schema import Options, Prob

if TYPE_CHECKING:
    from torch import nn


class FlattenSpec(Options):
    pass


class Flatten(Kind):
    name = "flatten"
    Options = FlattenSpec
    summary = "flatten everything but the batch into features"
    torch_types = ("Flatten",)

    def options_from(self, module: Any) -> dict[str, Any] | None:
        return {} if (module.start_dim, module.end_dim) == (1, -1) else None

    def cost(self, opts: FlattenSpec, shape: Shape) -> Cost:
        return Cost(Shape((shape.numel,)))

    def saved(self, opts: FlattenSpec, input: Shape, output: Shape) -> Saved:
        return Saved(input=False, alias=True)  # a view of its input

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def module(self, opts: FlattenSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        return nn.Flatten()


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
