"""The runtime modules of the parts of an attention written as a block
(:mod:`netspec.kinds.matmul`, :mod:`netspec.kinds.gather`): a product of two tensors, a scaling
by a constant, and a bias gathered from its table.

Each is one torch call with its arguments checked before it was built, so that it scripts,
traces, exports and compiles like hand-written code.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MatMul(nn.Module):
    """``torch.matmul(a, b)``, or ``a @ b.transpose(-2, -1)`` with ``transpose``."""

    __constants__ = ("transpose",)

    def __init__(self, transpose: bool) -> None:
        super().__init__()
        self.transpose = transpose

    def forward(self, xs: list[Tensor]) -> Tensor:
        second = xs[1].transpose(-2, -1) if self.transpose else xs[1]
        return torch.matmul(xs[0], second)

    def extra_repr(self) -> str:
        return f"transpose={self.transpose}"


class Scale(nn.Module):
    """``x * by``."""

    __constants__ = ("by",)

    def __init__(self, by: float) -> None:
        super().__init__()
        self.by = by

    def forward(self, x: Tensor) -> Tensor:
        return x * self.by

    def extra_repr(self) -> str:
        return f"by={self.by}"


class Gather(nn.Module):
    """``table[index]`` with a leading axis of 1, as a tensor of one sample: what layers after
    it (a reshape, a permute) read as the batch axis, and what ``add`` broadcasts over the
    batch. ``table`` and ``index`` are read in their shapes without a batch axis, whether
    they are stored with one or not."""

    __constants__ = ("table_dims", "index_dims")

    def __init__(self, table_dims: list[int], index_dims: list[int]) -> None:
        super().__init__()
        self.table_dims = table_dims
        self.index_dims = index_dims

    def forward(self, xs: list[Tensor]) -> Tensor:
        table = xs[0].reshape(self.table_dims)
        index = xs[1].reshape(self.index_dims).long()
        return table[index].unsqueeze(0)

    def extra_repr(self) -> str:
        return f"table_dims={self.table_dims}, index_dims={self.index_dims}"
