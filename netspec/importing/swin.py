"""torchvision's Swin Transformer, for ``netspec import``: its ``ShiftedWindowAttention`` is
one call of ``std:swin``'s ``window_attention`` block (the same keys: ``qkv``, ``proj``,
``relative_position_bias_table``, ``relative_position_index``).

torchvision computes the attention in ``shifted_window_attention``, a function ``torch.fx``
records as one call that reads the module's weights as tensors (``self.qkv.weight``) and
reads its input's shape at run time; no layer of a kind says that, but the library block says
it whole, with the sizes read from its input. The module is therefore a leaf, written from its
attributes (``num_heads``, ``window_size``, ``shift_size``, its dropouts and biases).
torchvision's ``PatchMerging`` is traced through: its ``_patch_merging_pad`` is the library's
``patch_merging_pad`` (see :data:`netspec.importing.ops.NAMED`).

Example::

    window_attention_options(model.features[1][1].attn)  # {"heads": 3, "shift": 3, ...}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .ops import NotExpressible


def window_attention_options(module: Any) -> dict[str, Any]:
    """``ShiftedWindowAttention``'s attributes as ``window_attention``'s arguments."""
    window, shift = list(module.window_size), list(module.shift_size)
    if len(set(window)) != 1 or len(set(shift)) != 1:
        raise NotExpressible(
            f"std:swin's window_attention has square windows shifted alike on both axes; this "
            f"one has window_size {window} and shift_size {shift}"
        )
    return {  # the writer leaves out what is at the block's default
        "heads": module.num_heads,
        "window": window[0],
        "shift": shift[0],
        "attention_dropout": float(module.attention_dropout),
        "dropout": float(module.dropout),
        "qkv_bias": module.qkv.bias is not None,
        "proj_bias": module.proj.bias is not None,
    }


def _version_2(module: Any) -> dict[str, Any]:
    raise NotExpressible(
        "Swin V2's attention (cosine attention with a learnt logit_scale, and its position "
        "bias made by an MLP, cpb_mlp) has no block in std:swin; Swin V1's "
        "ShiftedWindowAttention has (window_attention)"
    )


#: modules no kind names, by class name: the library block and its arguments
FALLBACKS: dict[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "ShiftedWindowAttention": ("window_attention", window_attention_options),
    "ShiftedWindowAttentionV2": ("window_attention", _version_2),
}
