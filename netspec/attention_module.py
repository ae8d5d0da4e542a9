"""The runtime module of the ``attention`` kind: multi-head self-attention over a token sequence
``(N, T, D)``, with ``nn.MultiheadAttention``'s parameters and names, so that its checkpoints
(and ``nn.TransformerEncoder``'s) load.

Like :mod:`netspec.modules`, it holds no configuration beyond its sizes and does no checking:
the shape pass decided everything. Its ``forward`` runs torch's fused kernel
(``scaled_dot_product_attention``), the path ``nn.MultiheadAttention`` takes for
``need_weights=False``, without that module's checks on every call.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


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
