"""``matmul`` and ``scale``: the parts of an attention written as a block.

``matmul`` is the product of two named tensors (``from: [q, k]``), as ``torch.matmul`` computes
it: the last two axes of each are the matrices, the axes before them are batches of matrices
and broadcast (a ``(heads, 49, 49)`` bias table against ``(windows, heads, 49, 49)`` scores).
``transpose: true`` swaps the last two axes of the second tensor first (``Q·Kᵀ``). Its MACs are
the product's, ``batches · m · k · n``: the attention products that torch's flop counter on a
CPU does not see in the fused kernel are plain products here.

``scale`` multiplies a tensor by a constant (``q * head_dim ** -0.5``).

Example (one window's attention scores, the heads in the batch axes)::

    - matmul: {from: [q, k], transpose: true, to: scores}   # (heads, T, d)·(heads, T, d)ᵀ
    - softmax: {axis: -1}
    - matmul: {from: [input, v]}                            # (heads, T, T)·(heads, T, d)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..errors import Problem
from ..ir import Checked, Layout, Node, Saved, Shape, Value
from ..registry import Cost, Family, InferContext, Kind, register
from ..schema import Bool, Float, Options

if TYPE_CHECKING:
    from torch import nn


class MatmulSpec(Options):
    transpose: Bool = Field(
        default=False,
        description="swap the last two axes of the second tensor first (Q·Kᵀ)",
    )


class Matmul(Kind):
    name = "matmul"
    Options = MatmulSpec
    family = Family.LINEAR
    multi_input = True
    broadcasts = True  # torch.matmul broadcasts the batch axes (a tensor with none as well)
    summary = (
        "the matrix product of two named tensors, batch axes broadcast: from: [a, b], "
        "transpose (of the second: Q·Kᵀ)"
    )

    def infer(self, node: Node, sources: list[Value], ctx: InferContext, path: str) -> Checked:
        opts: MatmulSpec = node.opts  # type: ignore[assignment]
        if len(sources) != 2:
            raise Problem(
                f"matmul multiplies two tensors, but from: names {len(sources)}",
                "write from: [a, b] for a·b",
            )
        first, second = sources
        try:
            dims, inner = _product(first, second, opts.transpose)
        except Problem as e:
            notes = tuple(
                f"{_name(v, i)} is {v.shape.what()}, "
                + (f"made by {v.where()}" if v.producer else v.where())
                for i, v in enumerate(sources)
            )
            raise Problem(e.message, e.hint, notes) from None
        out = Shape.laid(dims, Layout.TENSOR)
        macs = math.prod(dims) * inner
        return Checked(node, path, first.shape, out, 0, macs)

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def saved(self, opts: MatmulSpec, input: Shape, output: Shape) -> Saved:
        return Saved(input=True)  # each factor's gradient reads the other

    def module(self, opts: MatmulSpec, input: Shape, output: Shape) -> nn.Module:
        from ..attention_modules import MatMul

        return MatMul(opts.transpose)

    def describe(self, opts: MatmulSpec) -> str:
        return "matmul a·bᵀ" if opts.transpose else "matmul a·b"


def _name(value: Value, index: int) -> str:
    """The tensor as a message names it: ``"q"``, or its place in ``from:``."""
    return f'"{value.name}"' if value.name else f"input {index + 1}"


def _product(first: Value, second: Value, transpose: bool) -> tuple[tuple[int, ...], int]:
    """The sizes of ``first · second`` (``second`` transposed first) and the inner size, or
    the :class:`Problem` that says why they do not multiply."""
    a, b = first.shape, second.shape
    for i, shape in enumerate((a, b)):
        if shape.rank < 2:
            raise Problem(
                f"matmul multiplies matrices, but input {i + 1} is {shape.what()}, one axis",
                "each tensor needs two axes at least (its last two are the matrices): "
                "reshape it first",
            )
    rows, inner = a.dims[-2:]
    other, cols = (b.dims[-1], b.dims[-2]) if transpose else b.dims[-2:]
    if inner != other:
        fix = (
            "with transpose: true the second is used as its transpose: drop it"
            if transpose and b.dims[-2] == inner
            else "add transpose: true to multiply by the second's transpose (Q·Kᵀ)"
            if not transpose and b.dims[-1] == inner
            else "the first's last size must equal the second's second-to-last"
        )
        second_is = f"{b.dims[-2]}×{b.dims[-1]}" + (
            f", transposed {other}×{cols}" if transpose else ""
        )
        raise Problem(
            f"matmul's inner sizes differ: the first is {rows}×{inner} matrices, the second "
            f"{second_is}",
            fix,
        )
    return (*_batches(first, second), rows, cols), inner


def _batches(first: Value, second: Value) -> tuple[int, ...]:
    """The batch axes of the product (those before the matrices), broadcast as torch does:
    aligned from the last, a size 1 stretched. Tensors of the batch need as many of them (their
    batch axes align); a tensor without a batch axis (a bias table) may have fewer."""
    a, b = first.shape.dims[:-2], second.shape.dims[:-2]
    if len(a) != len(b) and not (first.batchless() or second.batchless()):
        raise Problem(
            f"matmul's inputs have {len(a)} and {len(b)} batch axes before their matrices",
            "reshape one so that both have the same number of axes",
        )
    dims: list[int] = []
    for axis in range(-max(len(a), len(b)), 0):
        found = {d[axis] for d in (a, b) if len(d) >= -axis}
        if len(found - {1}) > 1:
            raise Problem(
                f"matmul's batch axes do not broadcast: {_sizes(a)} and {_sizes(b)}",
                "each batch axis must have one size in both, or 1 in one of them",
            )
        dims.append(max(found))
    return tuple(dims)


def _sizes(dims: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ")"


class ScaleSpec(Options):
    by: Float = Field(description="the constant every value is multiplied by (0.125)")


class Scale(Kind):
    name = "scale"
    Options = ScaleSpec
    family = Family.OTHER  # not an activation: the differential campaign draws those from torch
    shorthand = "by"
    summary = "multiply by a constant: by (`- scale: ${head_dim ** -0.5}`)"

    def cost(self, opts: ScaleSpec, shape: Shape) -> Cost:
        return Cost(shape)

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def saved(self, opts: ScaleSpec, input: Shape, output: Shape) -> Saved:
        return Saved(input=False)  # its gradient is the constant's

    def module(self, opts: ScaleSpec, input: Shape, output: Shape) -> nn.Module:
        from ..attention_modules import Scale as ScaleModule

        return ScaleModule(opts.by)

    def describe(self, opts: ScaleSpec) -> str:
        return f"scale ×{opts.by:.4g}"


register(Matmul())
register(Scale())
