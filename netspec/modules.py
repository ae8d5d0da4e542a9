"""The few runtime modules netspec needs beyond ``torch.nn``: merges, residual adds,
channel operations (a slice, a shuffle, layer normalisation over channels), and multi-head
self-attention with ``nn.MultiheadAttention``'s parameters, run through torch's fused
``scaled_dot_product_attention`` (the path that module takes for ``need_weights=False``,
without its checks on every call).

They hold no configuration and do no checking: everything was decided before they were built,
so their ``forward`` is what one would write by hand, and they script, trace and compile.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Concat(nn.Sequential):
    """Runs each child on the same input and concatenates the results along channels."""

    def forward(self, x: Tensor) -> Tensor:
        outs: list[Tensor] = []
        for branch in self:
            outs.append(branch(x))
        return torch.cat(outs, 1)


class Sum(nn.Sequential):
    """Runs each child on the same input and adds the results."""

    def forward(self, x: Tensor) -> Tensor:
        outs: list[Tensor] = []
        for branch in self:
            outs.append(branch(x))
        total = outs[0]
        for i in range(1, len(outs)):
            total = total + outs[i]
        return total


class Residual(nn.Module):
    """``after(body(x) + shortcut(x))``; a missing shortcut is the identity. ``_accumulate``:
    the sum may be written into the body's output, which the body allocated
    (:func:`netspec.accumulate.accumulate_in_place` sets it), as torchvision's ``out +=
    identity``."""

    __constants__ = ("_accumulate",)

    def __init__(
        self, body: nn.Module, shortcut: nn.Module | None, after: nn.Module | None
    ) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.after = after
        self._accumulate = False

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.body(x)
        shortcut = x
        if self.shortcut is not None:  # a plain if: TorchScript refines None there
            shortcut = self.shortcut(x)
        # a constant: TorchScript keeps one side
        out = _accumulated(out, shortcut) if self._accumulate else out + shortcut
        if self.after is not None:
            out = self.after(out)
        return out


class SequentialResidual(nn.Sequential):
    """A residual whose children are its body's layers, then the shortcut, then what comes after.

    ``after(layers[:body](x) + shortcut(x))``, where the shortcut is the child at index ``body``
    if ``projected``, else the identity. The counts are constants: TorchScript unrolls the one
    loop over the children, and fx and dynamo see plain calls. This is how torchvision's
    ``BasicBlock`` is laid out (``conv1``, ``bn1``, ..., ``downsample``). ``_accumulate``: as
    :class:`Residual`'s.
    """

    # constants, which TorchScript folds into the unrolled loop; underscored, because a layer
    # name starts with a letter, so no child can shadow them
    __constants__ = ("_body", "_projected", "_add_last", "_accumulate")

    def __init__(self, layers: OrderedDict[str, nn.Module], body: int, projected: bool) -> None:
        super().__init__(layers)
        self._body = body
        self._projected = projected
        self._add_last = not projected and len(layers) == body  # nothing after the identity add
        self._accumulate = False

    def forward(self, x: Tensor) -> Tensor:
        out = x
        for i, layer in enumerate(self):
            if i < self._body:
                out = layer(out)
            elif i == self._body and self._projected:
                # a constant: TorchScript keeps one side, out + layer(x) as written by hand
                out = _accumulated(out, layer(x)) if self._accumulate else out + layer(x)
            else:
                if i == self._body:  # the identity shortcut, before the first layer after
                    out = _accumulated(out, x) if self._accumulate else out + x
                out = layer(out)
        if self._add_last:
            out = _accumulated(out, x) if self._accumulate else out + x
        return out


def _accumulated(out: Tensor, other: Tensor) -> Tensor:
    """``out + other``, written into ``out`` where :func:`_may_write` lets."""
    if _may_write(out, other):
        return out.add_(other)
    return out + other


class Concatenate(nn.Module):
    """``torch.cat`` of the tensors it is given, along ``dim`` (channels)."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, xs: list[Tensor]) -> Tensor:
        return torch.cat(xs, self.dim)


class Add(nn.Module):
    """The sum of the tensors it is given (of one shape, or broadcasting).

    ``into``: the index of one of two operands that the sum may be written into, as
    ``result += input``, -1 for none. :func:`netspec.accumulate.accumulate_in_place` sets it
    where nothing reads that operand afterwards; the sum is still a new tensor where autograd
    records the add or the other operand does not broadcast into the one written.
    """

    __constants__ = ("into",)

    def __init__(self) -> None:
        super().__init__()
        self.into = -1

    def forward(self, xs: list[Tensor]) -> Tensor:
        if len(xs) == 2:
            xs = [_dense(xs[0], xs[1]), _dense(xs[1], xs[0])]
            if self.into >= 0 and _may_write(xs[self.into], xs[1 - self.into]):
                return xs[self.into].add_(xs[1 - self.into])
        total = xs[0]
        for i in range(1, len(xs)):
            total = total + xs[i]
        return total


def _dense(x: Tensor, other: Tensor) -> Tensor:
    """``x`` contiguous if it is a strided view at most an eighth the size of ``other``: a
    small operand broadcast over a large one (Swin's relative position bias, permuted) makes
    the add read it with a stride along the innermost axis, which does not vectorise; the
    copy costs its size, the add over the large one runs up to twice as fast."""
    if not isinstance(x, Tensor) or not isinstance(other, Tensor):
        return x  # fx's symbolic tracing: proxies
    if x.numel() * 8 <= other.numel() and not x.is_contiguous():
        return x.contiguous()
    return x


def _may_write(written: Tensor, other: Tensor) -> bool:
    """Whether ``written += other`` gives ``written + other`` without a graph to keep: no
    gradient recorded, the same dtype and device, ``other`` broadcast into ``written``. fx's
    symbolic tracing hands proxies, not tensors: it records the plain sum."""
    if not isinstance(written, Tensor) or not isinstance(other, Tensor):
        return False
    if torch.is_grad_enabled() and (written.requires_grad or other.requires_grad):
        return False
    if written.dtype != other.dtype or written.device != other.device:
        return False
    if other.dim() > written.dim():
        return False
    for i in range(1, other.dim() + 1):
        if other.shape[-i] != written.shape[-i] and other.shape[-i] != 1:
            return False
    return True


class Multiply(nn.Module):
    """The product of the tensors it is given, broadcasting (a (C, 1, 1) gate over (C, H, W))."""

    def forward(self, xs: list[Tensor]) -> Tensor:
        product = xs[0]
        for i in range(1, len(xs)):
            product = product * xs[i]
        return product


class DropPath(nn.Module):
    """Stochastic depth per sample, torchvision's ``StochasticDepth(p, "row")``: in training,
    each sample is zeroed with probability ``p`` and the rest scaled by ``1 / (1 - p)``."""

    __constants__ = ("p",)

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.dim() - 1)
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Slice(nn.Module):
    """``x[:, start:end]``: a range of channels (or features); both ends are non-negative."""

    __constants__ = ("start", "end")

    def __init__(self, start: int, end: int) -> None:
        super().__init__()
        self.start = start
        self.end = end

    def forward(self, x: Tensor) -> Tensor:
        return x[:, self.start : self.end]

    def extra_repr(self) -> str:
        return f"start={self.start}, end={self.end}"


class Split(nn.Module):
    """``torch.split`` along the channels into parts of the given sizes: a list of tensors."""

    __constants__ = ("sizes",)

    def __init__(self, sizes: list[int]) -> None:
        super().__init__()
        self.sizes = sizes

    def forward(self, x: Tensor) -> list[Tensor]:
        sizes = self.sizes  # eager: a tuple of parts, TorchScript: a list
        parts: list[Tensor] = x.split(sizes, 1)  # type: ignore[no-untyped-call]
        return parts

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}"


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle: split the channels into ``groups``, interleave them.

    Written as a reshape, a transpose and a reshape rather than ``nn.ChannelShuffle``, so that
    it scripts, traces and exports. The first step is a ``reshape``, not a ``view``: a slice
    before the shuffle hands it a non-contiguous tensor.
    """

    __constants__ = ("groups",)

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        split = x.reshape(shape[0], self.groups, shape[1] // self.groups, -1)
        return split.transpose(1, 2).reshape(shape)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class ChannelLayerNorm(nn.LayerNorm):
    """Layer normalisation over the channels at each position of a ``(N, C, H, W)`` batch.

    ConvNeXt's ``LayerNorm2d`` (torchvision's): channels last, ``F.layer_norm`` over ``C``,
    channels first again. Its ``state_dict`` holds ``weight`` and ``bias`` of shape ``[C]``, as
    torchvision's does, so their checkpoints load.
    """

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class SelfAttention(nn.Module):
    """``nn.MultiheadAttention(dim, heads, batch_first=True)`` applied as ``attn(x, x, x)``.

    Its ``state_dict``: ``in_proj_weight`` (3·dim, dim), ``in_proj_bias`` (3·dim),
    ``out_proj.weight`` (dim, dim), ``out_proj.bias`` (dim), initialised as torch does.
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * dim)) if bias else None
        self.out_proj = nn.Linear(dim, dim, bias=bias)
        nn.init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            nn.init.zeros_(self.in_proj_bias)
        if self.out_proj.bias is not None:
            nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: Tensor) -> Tensor:
        n, t, d = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        # (N, T, 3·D) → three of (N, heads, T, D / heads)
        q, k, v = qkv.view(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        out: Tensor = self.out_proj(y.transpose(1, 2).reshape(n, t, d))
        return out

    def extra_repr(self) -> str:
        return f"heads={self.heads}, dropout={self.dropout}"
