"""``concat``, ``add`` and ``mul``: layers that join named tensors (``from: [a, b]``).

They are the graph's merges: a U-Net's skip connection (``concat``), a residual written as a
graph (``add``), a squeeze-and-excitation gate (``mul``, which broadcasts a (C, 1, 1) gate over
(C, H, W)). Each input's shape and where it was made are in every error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..axes import axis as axis_index
from ..errors import Problem
from ..ir import Checked, Node, Saved, Shape, Value
from ..registry import Family, InferContext, Kind, register
from ..schema import Int, Options

if TYPE_CHECKING:
    from torch import nn


class MergeSpec(Options):
    pass


class _Merge(Kind):
    Options = MergeSpec
    family = Family.MERGE
    multi_input = True

    def infer(self, node: Node, sources: list[Value], ctx: InferContext, path: str) -> Checked:
        try:
            shape = self.joined(sources)
        except _Mismatch as e:
            notes = tuple(
                f"{_name(v, i)} is {v.shape}, "
                + (f"made by {v.where()}" if v.producer else v.where())
                for i, v in enumerate(sources)
            )
            raise Problem(
                f"{self.name} cannot join its inputs: {e.message}", e.hint, notes
            ) from None
        return Checked(node, path, sources[0].shape, shape)

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def joined(self, sources: list[Value]) -> Shape:
        """The shape of the result; a kind that reads where each tensor comes from overrides it."""
        return self.merged([v.shape for v in sources])

    def merged(self, shapes: list[Shape]) -> Shape:
        raise NotImplementedError

    def describe(self, opts: MergeSpec) -> str:
        axis = getattr(opts, "axis", None)
        return self.name if axis is None else f"{self.name} along axis {axis}"


class _Mismatch(Problem):
    """Shapes that do not merge; :meth:`_Merge.infer` adds where each input was made."""


def _name(value: Value, index: int) -> str:
    """The tensor as a message names it: ``"skip"``, or its place in ``from:``."""
    return f'"{value.name}"' if value.name else f"input {index + 1}"


class ConcatSpec(MergeSpec):
    axis: Int | None = Field(
        default=None,
        description="the axis to join along (0: the first after the batch); default: channels",
    )


class Concat(_Merge):
    name = "concat"
    Options = ConcatSpec
    summary = "concatenate named tensors along channels, or along axis: from: [a, b, ...]"

    def infer(self, node: Node, sources: list[Value], ctx: InferContext, path: str) -> Checked:
        opts = node.opts
        if not isinstance(opts, ConcatSpec) or opts.axis is None:
            return super().infer(node, sources, ctx, path)
        return _ConcatAlong(opts.axis).infer(node, sources, ctx, path)

    def merged(self, shapes: list[Shape]) -> Shape:
        first = shapes[0]
        if any(s.rank != first.rank or s.spatial != first.spatial for s in shapes):
            off_by_one = all(s.rank == first.rank for s in shapes) and all(
                abs(a - b) <= 1
                for s in shapes
                for a, b in zip(s.spatial, first.spatial, strict=True)
            )
            raise _Mismatch(
                "their sizes besides the channels differ",
                "an odd size was halved and doubled again: make the input's height and width "
                "divide by 2 ** the number of times the network halves them (16 for four "
                "halvings, 32 for five)"
                if off_by_one
                else "bring them to one height and width first (pool, upsample, or padding)",
            )
        return Shape((sum(s.channels for s in shapes), *first.spatial))

    def saved(self, opts: MergeSpec, input: Shape, output: Shape) -> Saved:
        return Saved(input=False)  # its backward only splits the gradient

    def module(self, opts: ConcatSpec, input: Shape, output: Shape) -> nn.Module:
        from ..modules import Concatenate

        along = 0 if opts.axis is None else axis_index(opts.axis, output, "concat")
        return Concatenate(along + 1)


class _ConcatAlong(_Merge):
    """A concat along ``along`` (as written): its shape rule, for :meth:`Concat.infer`."""

    name = "concat"

    def __init__(self, along: int) -> None:
        self.along = along

    def merged(self, shapes: list[Shape]) -> Shape:
        first = shapes[0]
        if any(s.rank != first.rank for s in shapes):
            raise _Mismatch(
                f"they have different ranks ({', '.join(str(s.rank) for s in shapes)})",
                "concat joins tensors of one rank: reshape or select first",
            )
        at = axis_index(self.along, first, "concat")
        differ = [
            str(a)
            for a in range(first.rank)
            if a != at and any(s.dims[a] != first.dims[a] for s in shapes)
        ]
        if differ:
            axes = (
                f"axes {', '.join(differ[:-1])} and {differ[-1]}"
                if differ[1:]
                else f"axis {differ[0]}"
            )
            raise _Mismatch(
                f"their sizes differ on {axes}, not only on axis {at}",
                f"every axis but the one joined (axis: {self.along}) must have one size",
            )
        dims = list(first.dims)
        dims[at] = sum(s.dims[at] for s in shapes)
        return Shape.laid(tuple(dims), first.layout)


class Add(_Merge):
    name = "add"
    summary = "add named tensors, broadcasting as torch does: from: [a, b, ...]"
    broadcasts = True

    def joined(self, sources: list[Value]) -> Shape:
        maps = all(v.shape.rank == 3 and not v.batchless() for v in sources)
        return broadcast(
            sources,
            _Mismatch(
                "they differ in shape",
                "project one of them to the other's shape (a 1×1 conv with a stride)"
                if maps
                else "make their sizes equal, axis by axis (a size 1 is shared along its axis)",
            ),
        )

    def saved(self, opts: MergeSpec, input: Shape, output: Shape) -> Saved:
        return Saved(input=False)  # its backward passes the gradient on

    def module(self, opts: MergeSpec, input: Shape, output: Shape) -> nn.Module:
        from ..modules import Add as AddModule

        return AddModule()


class Mul(_Merge):
    name = "mul"
    summary = "multiply named tensors, broadcasting (a (C, 1, 1) gate over (C, H, W))"
    broadcasts = True

    def joined(self, sources: list[Value]) -> Shape:
        return broadcast(
            sources,
            _Mismatch(
                "each size must be equal or 1 to broadcast",
                "a gate is (C, 1, 1) with the C of the tensor it scales",
            ),
            _Mismatch(
                "they have different ranks",
                "keep the gate's dimensions: pool with global: true gives (C, 1, 1)",
            ),
        )

    def module(self, opts: MergeSpec, input: Shape, output: Shape) -> nn.Module:
        from ..modules import Multiply

        return Multiply()


def broadcast(sources: list[Value], sizes: Problem, ranks: Problem | None = None) -> Shape:
    """The shape of tensors combined element by element, as torch broadcasts them: trailing
    axes aligned, a size 1 stretched; ``sizes`` is raised where two sizes differ and neither
    is 1. A tensor without a batch axis (a parameter) may have fewer axes; tensors of a batch
    must all have the most (their batch axes align), else ``ranks`` (``sizes`` if None)."""
    rank = max(v.shape.rank for v in sources)
    if any(v.shape.rank < rank and not v.batchless() for v in sources):
        raise ranks or sizes
    dims: list[int] = []
    for axis in range(-rank, 0):
        found = {v.shape.dims[axis] for v in sources if v.shape.rank >= -axis}
        if len(found - {1}) > 1:
            raise sizes
        dims.append(max(found))
    widest = next(v.shape for v in sources if v.shape.rank == rank)
    return Shape(tuple(dims)) if tuple(dims) != widest.dims else widest


register(Concat())
register(Add())
register(Mul())
