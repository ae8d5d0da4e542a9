"""Normalisation layers: ``batchnorm``, ``groupnorm``, ``instancenorm`` and ``layernorm``.

None of them changes the shape or has MACs (only conv and linear weights count); their
parameters are the affine scale and shift, their buffers the running statistics.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from ..axes import need_map
from ..errors import Problem
from ..ir import Layout, Shape
from ..registry import Cost, Family, Kind, register
from ..schema import AllowExpr, Bool, Options, PosFloat, PosInt, Prob
from .channels import divisor_hint

if TYPE_CHECKING:
    from torch import nn


_ON_TOKENS = "on a token sequence, use layernorm: it normalises each token's features"


def need_image_or_flat(shape: Shape, what: str) -> None:
    if shape.is_map or shape.layout is Layout.FLAT:
        return
    if shape.rank == 3:
        raise Problem(
            f"{what} needs (channels, height, width) or (features,), got {shape.what()}",
            'its channels are last: add "- permute: [2, 0, 1]" before this layer to bring '
            "them first, or use layernorm",
        )
    raise Problem(
        f"{what} needs (channels, height, width) or (features,), got "
        f"{shape.what() if shape.is_tokens else shape}",
        _ON_TOKENS if shape.is_tokens else "",
    )


def norm_tensors(channels: int, affine: bool, running: bool) -> dict[str, Shape]:
    """A norm's scale and shift (``affine``), then its running statistics (``running``), as
    torch's norms keep them; the count of batches seen is a number, of shape ()."""
    c = Shape((channels,))
    out = {"weight": c, "bias": c} if affine else {}
    if running:
        out.update(running_mean=c, running_var=c, num_batches_tracked=Shape(()))
    return out


class BatchNormSpec(Options):
    eps: PosFloat = Field(
        default=1e-5, description="a small number added to the variance, for numerical stability"
    )
    momentum: Prob | None = Field(
        default=0.1, description="the running statistics' update factor; null: a cumulative average"
    )
    affine: Bool = Field(default=True, description="a learned scale and shift per channel")
    track_running_stats: Bool = Field(
        default=True, description="keep running mean and variance for evaluation"
    )


class BatchNorm(Kind):
    name = "batchnorm"
    Options = BatchNormSpec
    family = Family.NORM
    summary = "batch normalisation (BatchNorm2d on images, BatchNorm1d on features): eps, momentum"
    torch_types = ("BatchNorm2d", "BatchNorm1d")

    def options_from(self, module: Any) -> dict[str, Any] | None:
        return {
            "eps": module.eps,
            "momentum": module.momentum,
            "affine": module.affine,
            "track_running_stats": module.track_running_stats,
        }

    def cost(self, opts: BatchNormSpec, shape: Shape) -> Cost:
        need_image_or_flat(shape, "batchnorm")
        c = shape.channels
        params = 2 * c if opts.affine else 0
        buffers = 2 * c + 1 if opts.track_running_stats else 0
        return Cost(shape, params, 0, buffers)

    def tensors(self, opts: BatchNormSpec, input: Shape, output: Shape) -> dict[str, Shape]:
        return norm_tensors(input.channels, opts.affine, opts.track_running_stats)

    def step_scratch(
        self, opts: BatchNormSpec, input: Shape, output: Shape, batch: int, input_grad: bool = True
    ) -> tuple[int, int]:
        """It keeps its input (the default :meth:`saved`); its CPU backward makes an
        input-sized temporary besides the input's gradient (measured)."""
        return 0, batch * input.numel if input_grad else 0

    def module(self, opts: BatchNormSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        cls = nn.BatchNorm2d if input.rank == 3 else nn.BatchNorm1d
        return cls(input.channels, opts.eps, opts.momentum, opts.affine, opts.track_running_stats)

    def describe(self, opts: BatchNormSpec) -> str:
        return "batchnorm"


class GroupNormSpec(Options):
    groups: PosInt = Field(description="the channels are normalised in this many groups")
    eps: PosFloat = Field(
        default=1e-5, description="a small number added to the variance, for numerical stability"
    )
    affine: Bool = Field(default=True, description="a learned scale and shift per channel")


class GroupNorm(Kind):
    name = "groupnorm"
    Options = GroupNormSpec
    family = Family.NORM
    shorthand = "groups"
    summary = "group normalisation (GroupNorm): groups, eps, affine (`- groupnorm: 32`)"
    torch_types = ("GroupNorm",)

    def options_from(self, module: Any) -> dict[str, Any] | None:
        return {"groups": module.num_groups, "eps": module.eps, "affine": module.affine}

    def cost(self, opts: GroupNormSpec, shape: Shape) -> Cost:
        need_image_or_flat(shape, "groupnorm")
        c = shape.channels
        if c % opts.groups:
            raise Problem(
                f"groupnorm has groups={opts.groups}, but its {c} channels do not divide by it",
                divisor_hint(c, opts.groups),
            )
        return Cost(shape, 2 * c if opts.affine else 0)

    def tensors(self, opts: GroupNormSpec, input: Shape, output: Shape) -> dict[str, Shape]:
        return norm_tensors(input.channels, opts.affine, running=False)

    def module(self, opts: GroupNormSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        return nn.GroupNorm(opts.groups, input.channels, opts.eps, opts.affine)

    def describe(self, opts: GroupNormSpec) -> str:
        return f"groupnorm g{opts.groups}"


class InstanceNormSpec(Options):
    eps: PosFloat = Field(
        default=1e-5, description="a small number added to the variance, for numerical stability"
    )
    # a number, not None: InstanceNorm reads None as 0 (frozen running statistics), where
    # BatchNorm reads it as a cumulative average
    momentum: Prob = Field(default=0.1, description="the running statistics' update factor")
    affine: Bool = Field(default=False, description="a learned scale and shift per channel")
    track_running_stats: Bool = Field(
        default=False, description="keep running mean and variance for evaluation"
    )


class InstanceNorm(Kind):
    name = "instancenorm"
    Options = InstanceNormSpec
    family = Family.NORM
    summary = "instance normalisation (InstanceNorm2d): eps, momentum, affine, track_running_stats"

    def cost(self, opts: InstanceNormSpec, shape: Shape) -> Cost:
        hint = {1: "on flat features, use layernorm", 2: _ON_TOKENS}.get(shape.rank, "")
        need_map(shape, "instancenorm", hint)
        c, h, w = shape.dims
        if h * w == 1:
            # torch refuses it whenever it uses the input's statistics (always in training)
            raise Problem(
                f"instancenorm on {shape} normalises each channel's one value to 0",
                "use it before the image shrinks to 1×1, or use batchnorm or layernorm here",
            )
        params = 2 * c if opts.affine else 0
        buffers = 2 * c + 1 if opts.track_running_stats else 0
        return Cost(shape, params, 0, buffers)

    def tensors(self, opts: InstanceNormSpec, input: Shape, output: Shape) -> dict[str, Shape]:
        return norm_tensors(input.channels, opts.affine, opts.track_running_stats)

    def module(self, opts: InstanceNormSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        return nn.InstanceNorm2d(
            input.channels, opts.eps, opts.momentum, opts.affine, opts.track_running_stats
        )

    def describe(self, opts: InstanceNormSpec) -> str:
        return "instancenorm"


class NormOver(enum.Enum):
    """Which values layernorm normalises together."""

    CHANNELS = "channels"  # an image's channels at each pixel; the features of anything else
    LAST = "last"  # the last axis, as nn.LayerNorm does


class LayerNormSpec(Options):
    over: Annotated[NormOver, AllowExpr] | None = Field(
        default=None,
        description="channels (at each pixel of an image) or last (the last axis); default: "
        "an image's channels, any other tensor's last axis",
    )
    eps: PosFloat = Field(
        default=1e-5, description="a small number added to the variance, for numerical stability"
    )
    affine: Bool = Field(default=True, description="a learned scale (torch's elementwise_affine)")
    bias: Bool = Field(default=True, description="a learned shift, with affine: true")


class LayerNorm(Kind):
    name = "layernorm"
    Options = LayerNormSpec
    family = Family.NORM
    summary = (
        "layer normalisation over features, over each token's features, or over the channels "
        "at each pixel of an image (ConvNeXt's LayerNorm2d): eps, affine, bias"
    )

    def cost(self, opts: LayerNormSpec, shape: Shape) -> Cost:
        c = _normalised(shape, opts.over)
        weights = (c + (c if opts.bias else 0)) if opts.affine else 0
        return Cost(shape, weights)

    def tensors(self, opts: LayerNormSpec, input: Shape, output: Shape) -> dict[str, Shape]:
        if not opts.affine:
            return {}
        c = Shape((_normalised(input, opts.over),))
        return {"weight": c, "bias": c} if opts.bias else {"weight": c}

    def module(self, opts: LayerNormSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        from ..modules import ChannelLayerNorm

        cls = ChannelLayerNorm if _over_channels(input, opts.over) else nn.LayerNorm
        return cls(
            _normalised(input, opts.over), opts.eps, elementwise_affine=opts.affine, bias=opts.bias
        )

    def describe(self, opts: LayerNormSpec) -> str:
        return "layernorm" + (f" over {opts.over.value}" if opts.over is not None else "")


def _over_channels(shape: Shape, over: NormOver | None) -> bool:
    """Whether layernorm normalises an image's channels at each pixel (torchvision's
    ``LayerNorm2d``) rather than the last axis."""
    return over is not NormOver.LAST and shape.layout is Layout.CHANNELS_FIRST


def _normalised(shape: Shape, over: NormOver | None) -> int:
    """How many values layernorm normalises together: an image's channels at each pixel, or
    the last axis (a token's features, a channels-last map's channels, the flat features), as
    ``nn.LayerNorm`` does."""
    if not _over_channels(shape, over):
        return shape.dims[-1]
    if not shape.is_map:
        raise Problem(
            f"layernorm over the channels needs (channels, height, width), got {shape.what()}",
            'bring the channels last ("- transpose: [0, 1]") and normalise there, or write '
            "over: last",
        )
    return shape.channels


register(BatchNorm())
register(GroupNorm())
register(InstanceNorm())
register(LayerNorm())
