"""A netspec plugin: the squeeze-and-excitation block of Hu et al. (2018) as the kind ``se``.

    - se: {reduction: 16}      # or `- se: 16`, or `- se` for the default

It rescales each channel by a gate in (0, 1) computed from the channel means: a linear map
down to ``channels // reduction`` values, ReLU, a linear map back up, sigmoid. The output shape
is the input shape. Load it with ``--plugin netspec_se`` (this folder on PYTHONPATH) or
``netspec.load_plugins("netspec_se")``; importing it does not import torch.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from pydantic import Field

import netspec
from netspec.plugins import Cost, Family, Kind, Options, PosInt, Problem, Shape, need_rank

if TYPE_CHECKING:
    from torch import nn


class SESpec(Options):
    """The options of ``se``; ``name:`` and ``expect:`` come with :class:`Options`."""

    reduction: PosInt = Field(
        default=16, description="the gate's hidden width is channels // reduction"
    )


@netspec.kind
class SqueezeExcite(Kind):
    name = "se"
    Options = SESpec
    family = Family.OTHER
    shorthand = "reduction"  # `- se: 16`
    summary = "squeeze-and-excitation channel gate: reduction (`- se: 16`)"

    def cost(self, opts: SESpec, shape: Shape) -> Cost:
        need_rank(shape, 3, "se")
        channels = shape.channels
        hidden = channels // opts.reduction
        if hidden < 1:
            raise Problem(
                f"se with reduction {opts.reduction} leaves no hidden channels "
                f"for {channels} channels",
                f"use a reduction of at most {channels}",
            )
        weights = 2 * channels * hidden  # the two linear maps, on one value per channel
        return Cost(shape, params=weights + hidden + channels, macs=weights)

    def module(self, opts: SESpec, input: Shape, output: Shape) -> nn.Module:
        channels = input.channels
        return _module_class()(channels, channels // opts.reduction)

    def describe(self, opts: SESpec) -> str:
        return f"se /{opts.reduction}"


@functools.cache
def _module_class() -> type[nn.Module]:
    """The module's class, defined on the first build: importing the plugin imports no torch."""
    import math

    import torch
    from torch import Tensor, nn
    from torch.nn import functional

    class SqueezeExcitation(nn.Module):
        """``x * sigmoid(w2 @ relu(w1 @ mean(x) + b1) + b2)``, one gate value per channel.

        It holds its four parameters itself (submodules would work too, but make longer
        state_dict keys). w1 and w2 are initialised as nn.Linear's.
        """

        def __init__(self, channels: int, hidden: int) -> None:
            super().__init__()
            self.w1 = nn.Parameter(torch.empty(hidden, channels))
            self.b1 = nn.Parameter(torch.empty(hidden))
            self.w2 = nn.Parameter(torch.empty(channels, hidden))
            self.b2 = nn.Parameter(torch.empty(channels))
            for weight, bias in ((self.w1, self.b1), (self.w2, self.b2)):
                nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
                bound = 1 / math.sqrt(weight.shape[1])
                nn.init.uniform_(bias, -bound, bound)

        def forward(self, x: Tensor) -> Tensor:
            squeezed = x.mean((2, 3))
            hidden = functional.relu(functional.linear(squeezed, self.w1, self.b1))
            gate = torch.sigmoid(functional.linear(hidden, self.w2, self.b2))
            return x * gate[:, :, None, None]

    return SqueezeExcitation
