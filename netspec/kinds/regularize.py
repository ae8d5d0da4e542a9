"""``drop_path``: stochastic depth per sample (Huang et al. 2016), as torchvision's
``StochasticDepth(p, "row")``: in training, each sample's tensor is zeroed with probability
``p`` and the others scaled by ``1 / (1 - p)``; in eval it is the identity. It has no weights.

Put before the addition of a residual branch, it drops the branch of random samples: a network
of the depth of its surviving blocks in each step. torchvision raises the rate with depth
(ConvNeXt: ``p · block / (blocks - 1)`` over all stages); docs/language.md shows it written
with expressions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..ir import Saved, Shape
from ..registry import Cost, Kind, register
from ..schema import Options, Prob

if TYPE_CHECKING:
    from torch import nn


class DropPathSpec(Options):
    p: Prob = Field(
        default=0.0, description="the probability of dropping a sample's tensor in training"
    )


class DropPath(Kind):
    name = "drop_path"
    Options = DropPathSpec
    shorthand = "p"
    summary = "stochastic depth: drops a whole sample's tensor with probability p in training"
    torch_types = ("StochasticDepth",)

    def options_from(self, module: Any) -> dict[str, Any] | None:
        mode = getattr(module, "mode", "row")  # a port without modes drops rows (bench's)
        return {"p": float(module.p)} if mode == "row" else None

    def cost(self, opts: DropPathSpec, shape: Shape) -> Cost:
        return Cost(shape)

    def saved(self, opts: DropPathSpec, input: Shape, output: Shape) -> Saved:
        """In training it multiplies by a mask of one value a sample, which it keeps;
        p = 0 passes the input."""
        if opts.p == 0:
            return Saved(input=False, alias=True)
        return Saved(input=False, extra=1)

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def module(self, opts: DropPathSpec, input: Shape, output: Shape) -> nn.Module:
        from ..modules import DropPath as DropPathModule

        return DropPathModule(opts.p)

    def describe(self, opts: DropPathSpec) -> str:
        return f"drop_path {opts.p:g}"


register(DropPath())
