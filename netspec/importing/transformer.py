"""torch's own transformer modules, for ``netspec import``: what torch.fx cannot trace in them,
and the modules that no kind names in its ``torch_types``.

``nn.TransformerEncoder`` and ``nn.TransformerEncoderLayer`` choose in ``forward`` between a
fused fast path and the plain one by looking at their input, which torch.fx cannot trace: a copy
of the model holds traceable stand-ins instead (:func:`traceable`), with the same submodules
under the same names (the same ``state_dict``) and the plain path's computation, which is what
both paths compute. ``nn.MultiheadAttention`` called as self-attention (``attn(x, x, x)``)
without masks is the ``attention`` kind, whose output is the call's first result;
``nn.LayerNorm`` over one axis is ``layernorm``.

Example::

    model = traceable(nn.TransformerEncoder(layer, 6))      # the same weights, traceable
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable
from typing import Any

from torch import Tensor, fx, nn

from .ops import NotExpressible


class TransformerEncoderLayer(nn.Module):
    """``nn.TransformerEncoderLayer`` without its fast path (eval mode computes the same)."""

    stands_for = nn.TransformerEncoderLayer
    self_attn: nn.MultiheadAttention
    linear1: nn.Module
    linear2: nn.Module
    norm1: nn.Module
    norm2: nn.Module
    dropout: nn.Module
    dropout1: nn.Module
    dropout2: nn.Module
    activation: Callable[[Tensor], Tensor]

    def __init__(self, layer: nn.TransformerEncoderLayer) -> None:
        super().__init__()
        for name, child in layer.named_children():
            self.add_module(name, child)
        self.norm_first = layer.norm_first
        if not isinstance(layer.activation, nn.Module):
            self.activation = layer.activation  # a function: F.relu, F.gelu

    def forward(self, x: Tensor) -> Tensor:
        if self.norm_first:
            x = x + self._attend(self.norm1(x))
            return x + self._feed(self.norm2(x))
        x = self.norm1(x + self._attend(x))
        out: Tensor = self.norm2(x + self._feed(x))
        return out

    def _attend(self, x: Tensor) -> Tensor:
        attended = self.self_attn(x, x, x, need_weights=False)[0]
        out: Tensor = self.dropout1(attended)
        return out

    def _feed(self, x: Tensor) -> Tensor:
        out: Tensor = self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))
        return out


class TransformerEncoder(nn.Module):
    """``nn.TransformerEncoder``: its layers in turn, then its ``norm`` where it has one."""

    stands_for = nn.TransformerEncoder
    layers: nn.ModuleList
    norm: nn.Module

    def __init__(self, encoder: nn.TransformerEncoder) -> None:
        super().__init__()
        for name, child in encoder.named_children():
            self.add_module(name, child)
        self.has_norm = encoder.norm is not None

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.norm(x) if self.has_norm else x


_STAND_INS: dict[type[nn.Module], Callable[[Any], nn.Module]] = {
    nn.TransformerEncoderLayer: TransformerEncoderLayer,
    nn.TransformerEncoder: TransformerEncoder,
}


def traceable(model: nn.Module) -> nn.Module:
    """``model``, or a copy of it sharing its tensors whose torch transformer modules are
    stand-ins that torch.fx traces (the same names and ``state_dict``)."""
    if not any(type(m) in _STAND_INS for m in model.modules()):
        return model
    shared = {id(t): t for t in (*model.parameters(), *model.buffers())}
    copied = copy.deepcopy(model, memo=shared)  # the tensors are the model's own
    return _replaced(copied)


def _replaced(module: nn.Module) -> nn.Module:
    for name, child in list(module.named_children()):
        module._modules[name] = _replaced(child)
    make = _STAND_INS.get(type(module))
    return module if make is None else make(module)


def attention_options(module: Any) -> dict[str, Any]:
    """``nn.MultiheadAttention``'s options as the ``attention`` kind's, where it is one."""
    if not module.batch_first:
        raise NotExpressible("attention reads (batch, tokens, features): batch_first=True")
    if not module._qkv_same_embed_dim or module.bias_k is not None or module.add_zero_attn:
        raise NotExpressible("attention has one input projection, no bias_k, bias_v or zero keys")
    opts: dict[str, Any] = {"heads": module.num_heads}
    if module.dropout:
        opts["dropout"] = module.dropout
    if module.in_proj_bias is None:
        opts["bias"] = False
    return opts


def layernorm_options(module: Any) -> dict[str, Any]:
    """``nn.LayerNorm``'s options as the ``layernorm`` kind's, over one (the last) axis."""
    if len(module.normalized_shape) != 1:
        raise NotExpressible("layernorm normalises one axis: a normalized_shape of one size")
    opts: dict[str, Any] = {}
    if module.eps != 1e-5:
        opts["eps"] = module.eps
    if not module.elementwise_affine:
        opts["affine"] = False
    elif module.bias is None:
        opts["bias"] = False
    return opts


#: modules no kind names in its ``torch_types``, by class name: the kind and its options
FALLBACKS: dict[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "MultiheadAttention": ("attention", attention_options),
    "LayerNorm": ("layernorm", layernorm_options),
}


def self_attention(graph: fx.Graph, root: nn.Module) -> fx.Node | None:
    """Make each call of an ``nn.MultiheadAttention`` output its first result itself (its
    ``[0]`` read no more), where it is self-attention without masks; return the first call
    that is not (for the error), or None."""
    nodes: list[fx.Node] = list(graph.nodes)
    for node in nodes:
        if node.op != "call_module":
            continue
        if not isinstance(root.get_submodule(str(node.target)), nn.MultiheadAttention):
            continue
        query = node.args[0] if node.args else None
        same = len(node.args) == 3 and node.args[1] is query and node.args[2] is query
        masks = any(v is not None for k, v in node.kwargs.items() if "mask" in k)
        firsts = [u for u in node.users if _first_of(u, node)]
        if not same or masks or len(firsts) != len(node.users):
            return node
        for first in firsts:
            first.replace_all_uses_with(node)
            graph.erase_node(first)
    return None


def _first_of(user: fx.Node, node: fx.Node) -> bool:
    return bool(
        user.op == "call_function"
        and user.target is operator.getitem
        and user.args[0] is node
        and user.args[1] == 0
    )
