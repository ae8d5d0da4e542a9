"""``slice``, ``split`` and ``channel_shuffle``: layers that pick or reorder channels.

They have no weights and work along the channels of ``(C, H, W)`` or the features of
``(features,)``; on a map with its channels last they are an error (``strided_slice`` and
``permute`` say what is meant there). ``split`` makes several tensors: name them with
``to: [a, b]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, model_validator

from ..errors import Problem
from ..ir import BuildContext, Checked, InferContext, Layout, Node, Saved, Shape, Value
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


def channels_first(shape: Shape, what: str) -> None:
    """Refuse a map whose channels are last: these layers take the first axis as channels."""
    if shape.layout is Layout.CHANNELS_LAST:
        hint = 'bring them first with "- permute: [2, 0, 1]"'
        if what != "channel_shuffle":
            hint += ', or take them along the last axis: "- strided_slice: {axis: -1, ...}"'
        raise Problem(
            f"{what} works on the channels, the first axis, and {shape.what()} has them last",
            hint,
        )


def channel_range(start: int, end: int | None, shape: Shape) -> tuple[int, int]:
    """``start`` and ``end`` as non-negative channel indices, as Python's slicing reads them,
    except that an out-of-range index or an empty range is an error rather than clipped."""
    channels_first(shape, "slice")
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

    def saved(self, opts: SliceSpec, input: Shape, output: Shape) -> Saved:
        return Saved(input=False, alias=True)  # a view of its input

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

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
        channels_first(shape, "channel_shuffle")
        if shape.channels % opts.groups:
            raise Problem(
                f"channel_shuffle has groups={opts.groups}, but the {shape.channels} channels "
                "do not divide by it",
                divisor_hint(shape.channels, opts.groups),
            )
        return Cost(shape)

    def saved(self, opts: ChannelShuffleSpec, input: Shape, output: Shape) -> Saved:
        return Saved(input=False)  # a copy; its backward shuffles the gradient back

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def module(self, opts: ChannelShuffleSpec, input: Shape, output: Shape) -> nn.Module:
        from ..modules import ChannelShuffle as ChannelShuffleModule

        return ChannelShuffleModule(opts.groups)

    def describe(self, opts: ChannelShuffleSpec) -> str:
        return f"channel shuffle g{opts.groups}"


class SplitSpec(Options):
    parts: PosInt | None = Field(default=None, description="this many equal parts")
    sizes: Annotated[list[PosInt], Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="parts of these channel counts, in order (they add up)"
    )

    @model_validator(mode="after")
    def _one_way(self) -> SplitSpec:
        if (self.parts is None) == (self.sizes is None):
            raise ValueError("split needs exactly one of parts or sizes")
        return self


class Split(Kind):
    """Several tensors from one: ``torch.split`` along the channels (YOLO's C2f, ShuffleNet)."""

    name = "split"
    Options = SplitSpec
    shorthand = "parts"
    summary = "channels into parts (`- split: 2`) or sizes: [a, b]; name them with to: [x, y]"

    def infer(self, node: Node, sources: list[Value], ctx: InferContext, path: str) -> Checked:
        shape = sources[0].shape
        sizes = self.sizes(node.opts, shape)  # type: ignore[arg-type]
        checked = Checked(node, path, shape, Shape((sizes[0], *shape.spatial)))
        checked.results = [
            Value(Shape((size, *shape.spatial)), checked, i) for i, size in enumerate(sizes)
        ]
        return checked

    def sizes(self, opts: SplitSpec, shape: Shape) -> list[int]:
        channels_first(shape, "split")
        count = shape.channels
        if opts.parts is not None:
            if count % opts.parts:
                raise Problem(
                    f"split into {opts.parts} parts, but the {count} channels do not divide by it",
                    f"choose a number of parts that divides {count}, e.g. parts: "
                    f"{max(g for g in range(1, min(count, opts.parts) + 1) if count % g == 0)}",
                )
            return [count // opts.parts] * opts.parts
        assert opts.sizes is not None
        if sum(opts.sizes) != count:
            raise Problem(
                f"split sizes {opts.sizes} add up to {sum(opts.sizes)}, not the {count} channels",
                "give sizes that add up to the channels, or parts: N for equal ones",
            )
        return list(opts.sizes)

    def cost(self, opts: SplitSpec, shape: Shape) -> Cost:
        return Cost(Shape((self.sizes(opts, shape)[0], *shape.spatial)))

    def saved(self, opts: SplitSpec, input: Shape, output: Shape) -> Saved:
        return Saved(input=False, alias=True)  # views of its input

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def build(self, checked: Checked, ctx: BuildContext) -> nn.Module:
        from ..modules import Split as SplitModule

        return SplitModule([v.shape.channels for v in checked.results])

    def describe(self, opts: SplitSpec) -> str:
        return f"split {opts.parts}" if opts.parts is not None else f"split {opts.sizes}"


register(Slice())
register(Split())
register(ChannelShuffle())
