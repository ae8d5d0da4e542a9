"""Layout operations: ``reshape``, ``permute``, ``transpose``, ``select``, ``strided_slice``,
``pixel_unshuffle``, ``roll`` and ``pad``. They move, pick or pad values: no weights, no MACs.

Axes are the tensor's without the batch axis (0 is the first after it; negative counts from
the end). Each carries the tensor's layout along (:mod:`netspec.axes`): after ``permute: [1,
2, 0]`` a map is channels last, and a conv there says so. ``flatten`` between two axes is in
:mod:`netspec.kinds.reshape`, ``concat`` along an axis in :mod:`netspec.kinds.merge`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from ..axes import axis, moved, need_map, reshaped
from ..errors import Problem
from ..ir import Layout, Saved, Shape
from ..registry import Cost, Kind, register
from ..schema import AllowExpr, Float, Int, NonNegInt, Options, PosInt

if TYPE_CHECKING:
    from torch import nn

#: Sizes or axes written in a spec, each maybe an expression.
Dims = Annotated[list[Int], Field(min_length=1, max_length=8)]


class _Layout(Kind):
    """A layer with no weights, no MACs and no tensors in its ``state_dict``."""

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def saved(self, opts: Any, input: Shape, output: Shape) -> Saved:
        return Saved(input=False, alias=True)  # a view of its input


def _written(values: list[int]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


class ReshapeSpec(Options):
    shape: Dims = Field(description="the sizes after the batch; one may be -1 (computed)")
    layout: Annotated[Layout, AllowExpr] | None = Field(
        default=None,
        description="what the axes mean: flat, tokens, channels_first, channels_last or "
        "tensor; default: kept where the channels keep their axis, else the rank's",
    )


class Reshape(_Layout):
    name = "reshape"
    Options = ReshapeSpec
    shorthand = "shape"
    summary = "reshape to sizes (one may be -1): shape, layout (`- reshape: [-1, 768]`)"

    def cost(self, opts: ReshapeSpec, shape: Shape) -> Cost:
        dims = _resolve(opts.shape, shape)
        fits = {Layout.FLAT: 1, Layout.TOKENS: 2}.get(opts.layout or Layout.TENSOR, len(dims))
        if fits != len(dims):
            raise Problem(
                f"reshape {_written(opts.shape)} has {len(dims)} axes, but layout: "
                f"{opts.layout.value if opts.layout else ''} has {fits}",
                "flat is one axis, tokens two (tokens, features); use channels_first, "
                "channels_last or tensor for the others",
            )
        return Cost(Shape.laid(dims, opts.layout or reshaped(shape, dims)))

    def module(self, opts: ReshapeSpec, input: Shape, output: Shape) -> nn.Module:
        from ..layout_modules import Reshape as ReshapeModule

        return ReshapeModule(list(output.dims))

    def describe(self, opts: ReshapeSpec) -> str:
        return f"reshape {_written(opts.shape)}"


def _resolve(target: list[int], shape: Shape) -> tuple[int, ...]:
    """``target`` with its -1 computed, or the error naming both counts of values."""
    written = _written(target)
    if any(d == 0 or d < -1 for d in target) or target.count(-1) > 1:
        raise Problem(
            f"reshape {written} is no shape: sizes are at least 1, and one of them may be -1",
            "write -1 once, for the size to compute from the others",
        )
    known = math.prod(d for d in target if d != -1)
    if -1 in target:
        if shape.numel % known == 0:
            return tuple(shape.numel // known if d == -1 else d for d in target)
        raise Problem(
            f"reshape {written} cannot hold the {shape.numel:,} values of {shape.what()}: "
            f"the other sizes make {known:,}, which {shape.numel:,} does not divide by",
            f"the sizes besides -1 must multiply to a divisor of {shape.numel:,}",
        )
    if known != shape.numel:
        raise Problem(
            f"reshape {written} holds {known:,} values, but {shape.what()} holds {shape.numel:,}",
            "the sizes must multiply out to the input's count: write -1 for one of them "
            "to have it computed",
        )
    return tuple(target)


class PermuteSpec(Options):
    axes: Dims = Field(description="the input's axes in their new order, e.g. [1, 2, 0]")


class Permute(_Layout):
    name = "permute"
    Options = PermuteSpec
    shorthand = "axes"
    summary = "reorder the axes (`- permute: [1, 2, 0]`: channels last)"
    torch_types = ("Permute",)  # torchvision.ops.misc.Permute

    def options_from(self, module: Any) -> dict[str, Any] | None:
        """torchvision's ``Permute([0, 2, 3, 1])``: the batch stays first, the rest move."""
        dims = list(getattr(module, "dims", []))
        if len(dims) < 2 or dims[0] != 0 or sorted(dims) != list(range(len(dims))):
            return None
        return {"axes": [d - 1 for d in dims[1:]]}

    def cost(self, opts: PermuteSpec, shape: Shape) -> Cost:
        order = _permutation(opts.axes, shape)
        return Cost(Shape.laid(tuple(shape.dims[a] for a in order), moved(shape, order)))

    def module(self, opts: PermuteSpec, input: Shape, output: Shape) -> nn.Module:
        from ..layout_modules import Permute as PermuteModule

        return PermuteModule([0, *(a + 1 for a in _permutation(opts.axes, input))])

    def describe(self, opts: PermuteSpec) -> str:
        return f"permute {_written(opts.axes)}"


def _permutation(axes: list[int], shape: Shape) -> list[int]:
    """``axes`` from 0, or the error that says why they are no permutation of the axes."""
    rank = shape.rank
    order = [v + rank if -rank <= v < 0 else v for v in axes]
    if sorted(order) != list(range(rank)):
        missing = sorted(set(range(rank)) - set(order))
        raise Problem(
            f"permute {_written(axes)} is not a permutation of the {rank} axes of {shape.what()}",
            f"name each axis 0 to {rank - 1} once"
            + (f"; missing: {', '.join(map(str, missing))}" if missing else ""),
        )
    return order


class TransposeSpec(Options):
    axes: Annotated[list[Int], Field(min_length=2, max_length=2)] = Field(
        description="the two axes to swap, e.g. [0, 1]"
    )


class Transpose(_Layout):
    name = "transpose"
    Options = TransposeSpec
    shorthand = "axes"
    summary = "swap two axes (`- transpose: [0, 1]`)"

    def cost(self, opts: TransposeSpec, shape: Shape) -> Cost:
        first, second = self.pair(opts, shape)
        order = list(range(shape.rank))
        order[first], order[second] = second, first
        return Cost(Shape.laid(tuple(shape.dims[a] for a in order), moved(shape, order)))

    def pair(self, opts: TransposeSpec, shape: Shape) -> tuple[int, int]:
        first, second = (axis(a, shape, "transpose", "axes") for a in opts.axes)
        if first == second:
            raise Problem(
                f"transpose {_written(opts.axes)} names axis {first} twice",
                "name two different axes",
            )
        return first, second

    def module(self, opts: TransposeSpec, input: Shape, output: Shape) -> nn.Module:
        from ..layout_modules import Transpose as TransposeModule

        first, second = self.pair(opts, input)
        return TransposeModule(first + 1, second + 1)

    def describe(self, opts: TransposeSpec) -> str:
        return f"transpose {_written(opts.axes)}"


class SelectSpec(Options):
    index: Int = Field(description="the index to take; negative counts from the end")
    axis: Int = Field(default=0, description="the axis it is taken along, which goes")


class Select(_Layout):
    name = "select"
    Options = SelectSpec
    shorthand = "index"
    summary = "one index along an axis, dropping the axis: axis, index (ViT's x[:, 0])"

    def cost(self, opts: SelectSpec, shape: Shape) -> Cost:
        at, _ = self.place(opts, shape)
        order = [a for a in range(shape.rank) if a != at]
        return Cost(Shape.laid(tuple(shape.dims[a] for a in order), moved(shape, order)))

    def place(self, opts: SelectSpec, shape: Shape) -> tuple[int, int]:
        if shape.rank == 1:
            raise Problem(
                f"select takes one value of {shape.what()}: there is no axis left",
                "use strided_slice to keep a part of the features",
            )
        at = axis(opts.axis, shape, "select")
        size = shape.dims[at]
        if not -size <= opts.index < size:
            raise Problem(
                f"select index={opts.index} is outside axis {at} of {shape.what()}, of size {size}",
                f"index counts from 0 to {size - 1}, or back from the end from -1 to -{size}",
            )
        return at, opts.index

    def module(self, opts: SelectSpec, input: Shape, output: Shape) -> nn.Module:
        from ..layout_modules import Select as SelectModule

        at, index = self.place(opts, input)
        return SelectModule(at + 1, index)

    def describe(self, opts: SelectSpec) -> str:
        return f"select {opts.index} of axis {opts.axis}"


class StridedSliceSpec(Options):
    axis: Int = Field(description="the axis it slices")
    start: Int = Field(default=0, description="first index, from 0; negative counts from the end")
    end: Int | None = Field(default=None, description="index after the last (exclusive); all")
    step: PosInt = Field(default=1, description="take every step-th index")


class StridedSlice(_Layout):
    name = "strided_slice"
    Options = StridedSliceSpec
    summary = "start:end:step along an axis (Swin's x[0::2, 1::2]): axis, start, end, step"

    def cost(self, opts: StridedSliceSpec, shape: Shape) -> Cost:
        at, start, end = self.bounds(opts, shape)
        dims = list(shape.dims)
        dims[at] = len(range(start, end, opts.step))
        return Cost(Shape.laid(tuple(dims), shape.layout))

    def bounds(self, opts: StridedSliceSpec, shape: Shape) -> tuple[int, int, int]:
        at = axis(opts.axis, shape, "strided_slice")
        size = shape.dims[at]
        ends = []
        for option, value in (
            ("start", opts.start),
            ("end", size if opts.end is None else opts.end),
        ):
            if not -size <= value <= size:
                raise Problem(
                    f"strided_slice {option}={value} is outside axis {at} of {shape.what()}, "
                    f"of size {size}",
                    f"{option} counts from 0 to {size}, or back from the end from -1 to -{size}",
                )
            ends.append(value + size if value < 0 else value)
        if ends[0] >= ends[1]:
            raise Problem(
                f"strided_slice takes nothing of axis {at} of {shape.what()}: it runs from "
                f"{ends[0]} to {ends[1]}",
                "end is exclusive and must come after start",
            )
        return at, ends[0], ends[1]

    def module(self, opts: StridedSliceSpec, input: Shape, output: Shape) -> nn.Module:
        from ..layout_modules import StridedSlice as StridedSliceModule

        at, start, end = self.bounds(opts, input)
        return StridedSliceModule(at + 1, start, end, opts.step)

    def describe(self, opts: StridedSliceSpec) -> str:
        # as Python writes it: x[1::2], x[:4]
        start = opts.start or ""
        end = "" if opts.end is None else opts.end
        step = f":{opts.step}" if opts.step != 1 else ""
        return f"slice {start}:{end}{step} of axis {opts.axis}"


class PixelUnshuffleSpec(Options):
    factor: PosInt = Field(description="each factor×factor patch becomes factor² channels")


class PixelUnshuffle(_Layout):
    name = "pixel_unshuffle"
    Options = PixelUnshuffleSpec
    shorthand = "factor"
    summary = "patches into channels: (C, H, W) to (C·r², H/r, W/r) (`- pixel_unshuffle: 2`)"
    torch_types = ("PixelUnshuffle",)

    def options_from(self, module: Any) -> dict[str, Any] | None:
        return {"factor": module.downscale_factor}

    def cost(self, opts: PixelUnshuffleSpec, shape: Shape) -> Cost:
        need_map(shape, "pixel_unshuffle")
        c, h, w = shape.dims
        r = opts.factor
        if h % r or w % r:
            raise Problem(
                f"pixel_unshuffle factor={r} does not divide the height and width of "
                f"{shape.what()}",
                f"make the height and width multiples of {r} (pad, or a size that divides)",
            )
        return Cost(Shape((c * r * r, h // r, w // r)))

    def saved(self, opts: Any, input: Shape, output: Shape) -> Saved:
        return Saved(input=False)  # a copy; its backward reorders the gradient back

    def module(self, opts: PixelUnshuffleSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        return nn.PixelUnshuffle(opts.factor)

    def describe(self, opts: PixelUnshuffleSpec) -> str:
        return f"pixel_unshuffle {opts.factor}"


class RollSpec(Options):
    shifts: Dims = Field(description="how far to roll along each axis of axes (negative: back)")
    axes: Dims = Field(description="the axes to roll along, one for each shift")


class Roll(_Layout):
    name = "roll"
    Options = RollSpec
    summary = "roll values along axes, wrapping around (Swin's shifted windows): shifts, axes"

    def cost(self, opts: RollSpec, shape: Shape) -> Cost:
        self.axes(opts, shape)
        return Cost(shape)

    def axes(self, opts: RollSpec, shape: Shape) -> list[int]:
        if len(opts.shifts) != len(opts.axes):
            raise Problem(
                f"roll has {len(opts.shifts)} shifts for {len(opts.axes)} axes",
                "give one shift for each axis",
            )
        return [axis(a, shape, "roll", "axes") for a in opts.axes]

    def saved(self, opts: Any, input: Shape, output: Shape) -> Saved:
        return Saved(input=False)  # a copy; its backward rolls the gradient back

    def module(self, opts: RollSpec, input: Shape, output: Shape) -> nn.Module:
        from ..layout_modules import Roll as RollModule

        return RollModule(list(opts.shifts), [a + 1 for a in self.axes(opts, input)])

    def describe(self, opts: RollSpec) -> str:
        return f"roll {_written(opts.shifts)} along {_written(opts.axes)}"


Amounts = Annotated[list[Annotated[list[NonNegInt], Field(min_length=2, max_length=2)]], AllowExpr]


class PadSpec(Options):
    amounts: Amounts = Field(description="[before, after] for each axis, from axis 0")
    value: Float = Field(default=0.0, description="the value padded in")


class Pad(_Layout):
    name = "pad"
    Options = PadSpec
    shorthand = "amounts"
    summary = "pad each axis with a constant: amounts ([before, after] per axis), value"

    def cost(self, opts: PadSpec, shape: Shape) -> Cost:
        if len(opts.amounts) != shape.rank:
            raise Problem(
                f"pad gives {len(opts.amounts)} [before, after] pairs for the {shape.rank} axes "
                f"of {shape.what()}",
                "give one pair for each axis, [0, 0] for an axis left alone",
            )
        dims = tuple(d + a + b for d, (a, b) in zip(shape.dims, opts.amounts, strict=True))
        return Cost(Shape.laid(dims, shape.layout))

    def saved(self, opts: Any, input: Shape, output: Shape) -> Saved:
        return Saved(input=False)  # a copy; its backward slices the gradient

    def module(self, opts: PadSpec, input: Shape, output: Shape) -> nn.Module:
        from ..layout_modules import Pad as PadModule

        amounts = [n for pair in reversed(opts.amounts) for n in pair]
        while len(amounts) > 2 and amounts[-2:] == [0, 0]:
            amounts = amounts[:-2]  # leading axes left alone: torch need not see them
        return PadModule(amounts, opts.value)

    def describe(self, opts: PadSpec) -> str:
        return "pad " + ", ".join(_written(p) for p in opts.amounts)


register(Reshape())
register(Permute())
register(Transpose())
register(Select())
register(StridedSlice())
register(PixelUnshuffle())
register(Roll())
register(Pad())
