"""``attention``: multi-head self-attention over a token sequence ``(tokens, features)``.

Its module has ``nn.MultiheadAttention``'s tensors under their names (``in_proj_weight``,
``in_proj_bias``, ``out_proj.weight``, ``out_proj.bias``), so that torch's checkpoints load, and
runs torch's fused kernel (``scaled_dot_product_attention``). netspec's tensors are batch first:
it is ``nn.MultiheadAttention(..., batch_first=True)`` called as ``attn(x, x, x)``.

Its MACs are the four projections (queries, keys, values and the output: ``4·T·D²``) and both
products of the attention itself, ``Q·Kᵀ`` and ``A·V`` (``T²·D`` each), which torch's
``flop_counter`` on the CPU and thop do not see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ..errors import Problem
from ..ir import Checked, Saved, Shape
from ..registry import Cost, Family, Kind, register
from ..schema import Bool, Options, PosInt, Prob

if TYPE_CHECKING:
    from torch import nn


class AttentionSpec(Options):
    heads: PosInt = Field(description="attention heads; the width must divide by it")
    dropout: Prob = Field(default=0.0, description="dropout on the attention weights, in training")
    bias: Bool = Field(default=True, description="learned biases of the projections")


class Attention(Kind):
    name = "attention"
    Options = AttentionSpec
    family = Family.LINEAR
    shorthand = "heads"
    summary = (
        "multi-head self-attention over tokens, nn.MultiheadAttention's weights: heads, "
        "dropout, bias (`- attention: 8`)"
    )

    def cost(self, opts: AttentionSpec, shape: Shape) -> Cost:
        tokens, width = _tokens(shape)
        if width % opts.heads:
            fits = max(h for h in range(1, min(width, opts.heads) + 1) if width % h == 0)
            raise Problem(
                f"attention has heads={opts.heads}, but its width {width} does not divide by it",
                f"choose heads that divides {width}, e.g. heads: {fits}",
            )
        projections = 4 * width * width
        biases = 4 * width if opts.bias else 0
        products = 2 * tokens * tokens * width  # Q·Kᵀ and A·V, over all heads
        return Cost(shape, projections + biases, tokens * projections + products)

    def tensors(self, opts: AttentionSpec, input: Shape, output: Shape) -> dict[str, Shape]:
        d = input.dims[-1]
        out = {"in_proj_weight": Shape((3 * d, d))}
        if opts.bias:
            out["in_proj_bias"] = Shape((3 * d,))
        out["out_proj.weight"] = Shape((d, d))
        if opts.bias:
            out["out_proj.bias"] = Shape((d,))
        return out

    def scratch(self, opts: AttentionSpec, input: Shape, output: Shape, batch: int) -> int:
        """The projected queries, keys and values (3·T·D), and the heads' result put back
        in token order before the output projection (T·D)."""
        return batch * 4 * input.numel

    def saved(self, opts: AttentionSpec, input: Shape, output: Shape) -> Saved:
        """What autograd keeps on a CPU (measured with saved-tensor hooks): the input, the
        projected queries, keys and values (3·T·D) and the heads' result (T·D); without
        dropout the fused kernel adds its log-sum-exp (heads·T), with dropout torch takes the
        math path, which keeps the attention weights three times over (softmax, mask, dropped:
        3·heads·T²)."""
        tokens, width = input.dims
        if opts.dropout == 0:
            return Saved(extra=4 * tokens * width + opts.heads * tokens)
        return Saved(extra=4 * tokens * width + 3 * opts.heads * tokens * tokens)

    def step_scratch(
        self, opts: AttentionSpec, input: Shape, output: Shape, batch: int, input_grad: bool = True
    ) -> tuple[int, int]:
        """The fused kernel's intermediates are kept (:meth:`saved`), none transient; the
        math path (with dropout) frees some as :meth:`scratch` says. Measured on a CPU against
        the profiler's peak of a step: 0.92 to 1.0 of it without dropout, 1.0 with."""
        if opts.dropout == 0:
            return 0, 0
        return self.scratch(opts, input, output, batch), 0

    def module(self, opts: AttentionSpec, input: Shape, output: Shape) -> nn.Module:
        from ..modules import SelfAttention

        return SelfAttention(input.dims[-1], opts.heads, opts.dropout, opts.bias)

    def describe(self, opts: AttentionSpec) -> str:
        return f"attention {opts.heads} heads"

    def notes(self, checked: Checked) -> tuple[str, ...]:
        """Its width, shared by the heads: ``512 wide, 8 × 64``."""
        width = checked.input.dims[-1]
        opts: AttentionSpec = checked.node.opts  # type: ignore[assignment]
        heads = opts.heads
        return (f"{width} wide, {heads} × {width // heads}",)


def _tokens(shape: Shape) -> tuple[int, int]:
    """The tokens and their width, or the error that says why this is no token sequence."""
    if shape.is_tokens:
        return shape.dims[0], shape.dims[1]
    if shape.rank == 1:
        hint = (
            "attention mixes the tokens of a sequence; a flat vector has none: keep the tokens "
            "(no flatten or global pooling before it)"
        )
    elif shape.is_map:
        hint = (
            'make each position a token, as ViT does with its patches: "- flatten: {start: 1, '
            'end: 2}" then "- transpose: [0, 1]" give (positions, channels)'
        )
    else:
        hint = f'make it (tokens, features) first, e.g. "- reshape: [-1, {shape.dims[-1]}]"'
    raise Problem(f"attention needs a token sequence (tokens, features), got {shape.what()}", hint)


register(Attention())
