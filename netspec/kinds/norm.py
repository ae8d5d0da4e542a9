"""``batchnorm``: batch normalisation over channels (2-D) or features (1-D)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import Problem
from ..ir import Shape
from ..registry import Cost, Family, Kind, register
from ..schema import Bool, Options, PosFloat, Prob

if TYPE_CHECKING:
    from torch import nn


class BatchNormSpec(Options):
    eps: PosFloat = 1e-5
    momentum: Prob | None = 0.1
    affine: Bool = True
    track_running_stats: Bool = True


class BatchNorm(Kind):
    name = "batchnorm"
    Options = BatchNormSpec
    family = Family.NORM
    summary = "batch normalisation (BatchNorm2d on images, BatchNorm1d on features): eps, momentum"

    def cost(self, opts: BatchNormSpec, shape: Shape) -> Cost:
        if shape.rank not in (1, 3):
            raise Problem(f"batchnorm needs (channels, height, width) or (features,), got {shape}")
        c = shape.channels
        params = 2 * c if opts.affine else 0
        buffers = 2 * c + 1 if opts.track_running_stats else 0
        return Cost(shape, params, 0, buffers)

    def module(self, opts: BatchNormSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        cls = nn.BatchNorm2d if input.rank == 3 else nn.BatchNorm1d
        return cls(input.channels, opts.eps, opts.momentum, opts.affine, opts.track_running_stats)

    def describe(self, opts: BatchNormSpec) -> str:
        return "batchnorm"


register(BatchNorm())
