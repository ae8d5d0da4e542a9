"""``slice`` and ``channel_shuffle``: layers that pick or reorder channels, with no weights.

Both work along the channels of ``(C, H, W)`` or the features of ``(features,)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ..errors import Problem
from ..ir import Shape
from ..registry import Cost, Kind, register
from ..schema import Int, Options, PosInt

if TYPE_CHECKING:
    from torch import nn


def divisor_hint(count: int, groups: int) -> str:
    """What to write instead of ``groups`` that does not divide ``count``: the nearest below."""
    fits = max(g for g in range(1, min(count, groups) + 1) if count % g == 0)
    return f"choose groups that divides {count}, e.g. groups: {fits}"


class SliceSpec(Options):
    start: Int = Field(default=0, description="first channel, from 0; negative counts from the end")
    end: Int | None = Field(
        default=None, description="channel after the last one (exclusive); default: all"
    )


def channel_range(start: int, end: int | None, shape: Shape) -> tuple[int, int]:
    """``start`` and ``end`` as non-negative channel indices, as Python's slicing reads them,
    except that an out-of-range index or an empty range is an error rather than clipped."""
    count = shape.channels
    bounds = []
    for option, value in (("start", start), ("end", count if end is None else end)):
        if not -count <= value <= count:
            raise Problem(
                f"slice {option}={value} is outside the {count} channels of {shape}",
                f"{option} counts from 0 to {count}, or back from the end from -1 to -{count}",
            )
        bounds.append(value + count if value < 0 else value)
    lo, hi = bounds
    if lo >= hi:
        written = f"start={start}" + ("" if end is None else f", end={end}")
        raise Problem(
            f"slice {written} takes no channels of {shape}: it runs from {lo} to {hi}",
            f"end is exclusive and must come after start; the channels run from 0 to {count}",
        )
    return lo, hi


class Slice(Kind):
    name = "slice"
    Options = SliceSpec
    summary = "channels start to end (exclusive; negative from the end), as x[:, start:end]"

    def cost(self, opts: SliceSpec, shape: Shape) -> Cost:
        lo, hi = channel_range(opts.start, opts.end, shape)
        return Cost(Shape((hi - lo, *shape.spatial)))

    def module(self, opts: SliceSpec, input: Shape, output: Shape) -> nn.Module:
        from ..modules import Slice as SliceModule

        return SliceModule(*channel_range(opts.start, opts.end, input))

    def describe(self, opts: SliceSpec) -> str:
        return f"slice {opts.start}:{'' if opts.end is None else opts.end}"


class ChannelShuffleSpec(Options):
    groups: PosInt = Field(description="the channels are split into groups and interleaved")


class ChannelShuffle(Kind):
    name = "channel_shuffle"
    Options = ChannelShuffleSpec
    shorthand = "groups"
    summary = "ShuffleNet's channel shuffle: interleave groups of channels (`- channel_shuffle: 2`)"

    def cost(self, opts: ChannelShuffleSpec, shape: Shape) -> Cost:
        if shape.channels % opts.groups:
            raise Problem(
                f"channel_shuffle has groups={opts.groups}, but the {shape.channels} channels "
                "do not divide by it",
                divisor_hint(shape.channels, opts.groups),
            )
        return Cost(shape)

    def module(self, opts: ChannelShuffleSpec, input: Shape, output: Shape) -> nn.Module:
        from ..modules import ChannelShuffle as ChannelShuffleModule

        return ChannelShuffleModule(opts.groups)

    def describe(self, opts: ChannelShuffleSpec) -> str:
        return f"channel shuffle g{opts.groups}"


register(Slice())
register(ChannelShuffle())
