"""The runtime modules of the layout operations (:mod:`netspec.kinds.layout`): a reshape, a
permute, a transpose, a select, a strided slice, a roll and a pad of a batch.

Every size and axis was checked and resolved before they were built: each holds its torch
call's arguments as constants, counted with the batch axis (axis ``i`` of a spec is axis
``i + 1`` here), and its ``forward`` is that one call, so that they script, trace, export and
compile like hand-written code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Reshape(nn.Module):
    """``x.reshape(batch, *dims)``: ``dims`` are the sizes after the batch, none of them -1."""

    __constants__ = ("dims",)

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape([x.shape[0]] + self.dims)  # noqa: RUF005 - TorchScript has no [*a]

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class Permute(nn.Module):
    """``x.permute(order)``; ``order`` starts with 0, the batch."""

    __constants__ = ("order",)

    def __init__(self, order: list[int]) -> None:
        super().__init__()
        self.order = order

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(self.order)

    def extra_repr(self) -> str:
        return f"order={self.order}"


class Transpose(nn.Module):
    """``x.transpose(first, second)``: two axes swapped."""

    __constants__ = ("first", "second")

    def __init__(self, first: int, second: int) -> None:
        super().__init__()
        self.first = first
        self.second = second

    def forward(self, x: Tensor) -> Tensor:
        return x.transpose(self.first, self.second)

    def extra_repr(self) -> str:
        return f"first={self.first}, second={self.second}"


class Select(nn.Module):
    """``x.select(axis, index)``: one index along an axis, which goes (``x[:, 0]``)."""

    __constants__ = ("axis", "index")

    def __init__(self, axis: int, index: int) -> None:
        super().__init__()
        self.axis = axis
        self.index = index

    def forward(self, x: Tensor) -> Tensor:
        return x.select(self.axis, self.index)

    def extra_repr(self) -> str:
        return f"axis={self.axis}, index={self.index}"


class StridedSlice(nn.Module):
    """``x[..., start:end:step]`` along ``axis``: the axis is swapped to the end and back,
    all views, as one slice needs a fixed place among the indices."""

    __constants__ = ("axis", "start", "end", "step")

    def __init__(self, axis: int, start: int, end: int, step: int) -> None:
        super().__init__()
        self.axis = axis
        self.start = start
        self.end = end
        self.step = step

    def forward(self, x: Tensor) -> Tensor:
        moved = x.transpose(self.axis, -1)
        return moved[..., self.start : self.end : self.step].transpose(self.axis, -1)

    def extra_repr(self) -> str:
        return f"axis={self.axis}, start={self.start}, end={self.end}, step={self.step}"


class Roll(nn.Module):
    """``torch.roll(x, shifts, axes)``: Swin's shift of its windows."""

    __constants__ = ("shifts", "axes")

    def __init__(self, shifts: list[int], axes: list[int]) -> None:
        super().__init__()
        self.shifts = shifts
        self.axes = axes

    def forward(self, x: Tensor) -> Tensor:
        return torch.roll(x, self.shifts, self.axes)

    def extra_repr(self) -> str:
        return f"shifts={self.shifts}, axes={self.axes}"


class Pad(nn.Module):
    """``F.pad(x, amounts, value=value)``: ``amounts`` as torch orders them, the last axis's
    two first."""

    __constants__ = ("amounts", "value")

    def __init__(self, amounts: list[int], value: float) -> None:
        super().__init__()
        self.amounts = amounts
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        return F.pad(x, self.amounts, value=self.value)

    def extra_repr(self) -> str:
        return f"amounts={self.amounts}, value={self.value}"
