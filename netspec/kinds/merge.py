"""``concat``, ``add`` and ``mul``: layers that join named tensors (``from: [a, b]``).

They are the graph's merges: a U-Net's skip connection (``concat``), a residual written as a
graph (``add``), a squeeze-and-excitation gate (``mul``, which broadcasts a (C, 1, 1) gate over
(C, H, W)). Each input's shape and where it was made are in every error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Problem
from ..ir import Checked, Node, Saved, Shape, Value
from ..registry import Family, InferContext, Kind, register
from ..schema import Options

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
            shape = self.merged([v.shape for v in sources])
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

    def merged(self, shapes: list[Shape]) -> Shape:
        raise NotImplementedError

    def describe(self, opts: MergeSpec) -> str:
        return self.name


class _Mismatch(Problem):
    """Shapes that do not merge; :meth:`_Merge.infer` adds where each input was made."""


def _name(value: Value, index: int) -> str:
    """The tensor as a message names it: ``"skip"``, or its place in ``from:``."""
    return f'"{value.name}"' if value.name else f"input {index + 1}"


class Concat(_Merge):
    name = "concat"
    summary = "concatenate named tensors along channels: from: [a, b, ...]"

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

    def module(self, opts: MergeSpec, input: Shape, output: Shape) -> nn.Module:
        from ..modules import Concatenate

        return Concatenate(1)


class Add(_Merge):
    name = "add"
    summary = "add named tensors of one shape: from: [a, b, ...]"

    def merged(self, shapes: list[Shape]) -> Shape:
        if any(s != shapes[0] for s in shapes):
            raise _Mismatch(
                "they differ in shape",
                "project one of them to the other's shape (a 1×1 conv with a stride)",
            )
        return shapes[0]

    def saved(self, opts: MergeSpec, input: Shape, output: Shape) -> Saved:
        return Saved(input=False)  # its backward passes the gradient on

    def module(self, opts: MergeSpec, input: Shape, output: Shape) -> nn.Module:
        from ..modules import Add as AddModule

        return AddModule()


class Mul(_Merge):
    name = "mul"
    summary = "multiply named tensors, broadcasting (a (C, 1, 1) gate over (C, H, W))"

    def merged(self, shapes: list[Shape]) -> Shape:
        rank = shapes[0].rank
        if any(s.rank != rank for s in shapes):
            raise _Mismatch(
                "they have different ranks",
                "keep the gate's dimensions: pool with global: true gives (C, 1, 1)",
            )
        dims = []
        for sizes in zip(*(s.dims for s in shapes), strict=True):
            big = {d for d in sizes if d != 1}
            if len(big) > 1:
                raise _Mismatch(
                    "each size must be equal or 1 to broadcast",
                    "a gate is (C, 1, 1) with the C of the tensor it scales",
                )
            dims.append(max(sizes))
        return Shape(tuple(dims))

    def module(self, opts: MergeSpec, input: Shape, output: Shape) -> nn.Module:
        from ..modules import Multiply

        return Multiply()


register(Concat())
register(Add())
register(Mul())
