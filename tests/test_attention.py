"""``attention``: multi-head self-attention with ``nn.MultiheadAttention``'s weights, through
torch's fused kernel; and ``specs/transformer_encoder.yaml``, torch's ``nn.TransformerEncoder``
written as a network of tokens, compared with torch's own module.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import netspec
from netspec.state_keys import state_keys

#: float32 outputs of two correct implementations differ by rounding only
TOLERANCE = {"atol": 1e-5, "rtol": 1e-5}


def load(shape: list[int], layers: list[Any]) -> netspec.Spec:
    return netspec.loads(yaml.safe_dump({"name": "attn", "input": shape, "layers": layers}))


def torch_attention(width: int, heads: int, bias: bool = True) -> nn.MultiheadAttention:
    return nn.MultiheadAttention(width, heads, bias=bias, batch_first=True).eval()


def counted_macs(model: nn.Module, x: torch.Tensor) -> int:
    """MACs of one sample as torch's flop counter sees them; the fused CPU kernel is invisible
    to it, so attention runs the math path here (its Q·Kᵀ and A·V are two batched products)."""
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as c:
        model.eval()(x)
    return c.get_total_flops() // 2 // x.shape[0]


@pytest.mark.parametrize("bias", [True, False])
def test_keys_shapes_and_counts_are_multihead_attentions(bias):
    spec = load([10, 32], [{"attention": {"heads": 4, "bias": bias, "name": "self_attn"}}])
    reference = torch_attention(32, 4, bias)
    want = {f"self_attn.{k}": tuple(v.shape) for k, v in reference.state_dict().items()}
    static = {k: e.shape.dims for k, e in state_keys(spec.checked).entries.items()}
    assert static == want
    model = spec.build()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == want
    assert spec.num_params == sum(p.numel() for p in reference.parameters())
    assert spec.checked.output.dims == (10, 32)


@pytest.mark.parametrize(
    ("tokens", "width", "heads", "bias"), [(10, 32, 4, True), (7, 24, 3, False)]
)
def test_outputs_equal_multihead_attentions_after_a_strict_load(tokens, width, heads, bias):
    reference = torch_attention(width, heads, bias)
    if bias:  # torch starts its biases at 0: make them count
        nn.init.normal_(reference.in_proj_bias)
        nn.init.normal_(reference.out_proj.bias)
    model = load([tokens, width], [{"attention": {"heads": heads, "bias": bias}}]).build().eval()
    model[0].load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(3, tokens, width)
    with torch.no_grad():
        want = reference(x, x, x, need_weights=False)[0]
        torch.testing.assert_close(model(x), want, **TOLERANCE)


def test_macs_count_the_projections_and_both_products():
    tokens, width = 9, 16
    spec = load([tokens, width], [{"attention": 4}])
    projections = 4 * tokens * width * width
    products = 2 * tokens * tokens * width  # Q·Kᵀ and A·V
    assert spec.checked.macs == projections + products
    assert counted_macs(spec.build(), torch.randn(2, tokens, width)) == spec.checked.macs


def test_forward_runs_torchs_fused_kernel(monkeypatch):
    calls = []
    fused = F.scaled_dot_product_attention

    def spy(*args: Any, **kwargs: Any) -> torch.Tensor:
        calls.append(args[0].shape)
        return fused(*args, **kwargs)

    model = load([5, 12], [{"attention": 3}]).build().eval()
    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    model(torch.randn(2, 5, 12))
    assert calls == [torch.Size([2, 3, 5, 4])]  # (batch, heads, tokens, width / heads)


def test_dropout_applies_in_training_only():
    model = load([6, 8], [{"attention": {"heads": 2, "dropout": 0.5}}]).build()
    x = torch.randn(2, 6, 8)
    torch.manual_seed(0)
    trained = [model.train()(x) for _ in range(2)]
    assert not torch.equal(trained[0], trained[1])
    assert torch.equal(model.eval()(x), model(x))


@pytest.mark.filterwarnings("ignore:`torch.jit.trace")
def test_it_scripts_and_traces():
    model = load([5, 12], [{"attention": 3}, "layernorm"]).build().eval()
    x = torch.randn(2, 5, 12)
    with torch.no_grad():
        want = model(x)
        torch.testing.assert_close(torch.jit.script(model)(x), want)
        torch.testing.assert_close(torch.jit.trace(model, x)(x), want)


@pytest.mark.parametrize(
    ("shape", "layers", "message", "hint"),
    [
        (
            [49, 96],
            [{"attention": 5}],
            "attention has heads=5, but its width 96 does not divide by it",
            "choose heads that divides 96, e.g. heads: 4",
        ),
        (
            [3, 8, 8],
            [{"attention": 1}],
            "attention needs a token sequence (tokens, features), got the feature map (3, 8, 8)",
            '"- flatten: {start: 1, end: 2}" then "- transpose: [0, 1]"',
        ),
        (
            [4, 8],
            ["flatten", {"attention": 1}],
            "attention needs a token sequence (tokens, features), got the flat features (32,)",
            "no flatten or global pooling before it",
        ),
    ],
)
def test_errors(shape, layers, message, hint):
    with pytest.raises(netspec.NetspecError) as e:
        load(shape, layers)
    assert message in str(e.value) and hint in str(e.value)


# specs/transformer_encoder.yaml


@pytest.fixture(scope="module")
def encoder() -> tuple[netspec.Spec, nn.TransformerEncoder]:
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(512, 8, 2048, batch_first=True)
    return netspec.load("transformer_encoder"), nn.TransformerEncoder(layer, 6).eval()


def test_encoder_has_torchs_count_and_keys(encoder):
    spec, reference = encoder
    assert spec.num_params == 18_914_304 == sum(p.numel() for p in reference.parameters())
    static = {k: e.shape.dims for k, e in state_keys(spec.checked).entries.items()}
    assert static == {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    assert "layers.0.self_attn.in_proj_weight" in static and "layers.5.norm2.bias" in static


def test_encoder_macs():
    spec = netspec.load("transformer_encoder", tokens=16)
    t, d, ff = 16, 512, 2048
    per_layer = 4 * t * d * d + 2 * t * t * d + 2 * t * d * ff
    assert spec.checked.macs == 6 * per_layer


def test_encoder_loads_torchs_weights_strictly_and_computes_the_same(encoder):
    spec, reference = encoder
    model = spec.build().eval()
    model.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 32, 512)
    with torch.no_grad():  # torch's own fast path for the encoder, in eval
        torch.testing.assert_close(model(x), reference(x), **TOLERANCE)


def test_the_hint_for_a_map_makes_it_tokens():
    """What the error on a feature map says to write is a network that checks."""
    layers = "  - conv: {out: 64, kernel: 4, stride: 4}\n"
    fixed = layers + "  - flatten: {start: 1, end: 2}\n  - transpose: [0, 1]\n"
    spec = netspec.loads(f"name: x\ninput: [3, 32, 32]\nlayers:\n{fixed}  - attention: 8\n")
    assert spec.output_shape.dims == (64, 64)  # 8×8 positions, 64 channels each
