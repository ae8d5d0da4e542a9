"""The few runtime modules netspec needs beyond ``torch.nn``: merges and the residual add.

They hold no configuration and do no checking: everything was decided before they were built,
so their ``forward`` is what one would write by hand, and they script, trace and compile.
"""

from __future__ import annotations

import torch
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
    """``after(body(x) + shortcut(x))``; a missing shortcut is the identity."""

    def __init__(
        self, body: nn.Module, shortcut: nn.Module | None, after: nn.Module | None
    ) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.after = after

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.body(x)
        if self.shortcut is not None:  # noqa: SIM108 - TorchScript refines None in a plain if
            out = out + self.shortcut(x)
        else:
            out = out + x
        if self.after is not None:
            out = self.after(out)
        return out
