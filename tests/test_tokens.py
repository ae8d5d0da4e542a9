"""Token sequences ``(tokens, features)``: the rank-2 tensor of transformers.

``linear`` applies to each token's features (the last axis, as ``nn.Linear`` does), and so do
``layernorm``, the activations, dropout and residuals; ``linear`` on a feature map stays an
error unless ``over: last`` asks for its last axis. Shapes, parameters and MACs are checked
against the built module, MACs against torch's own flop counter.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import netspec
from netspec.state_keys import state_keys


def load(shape: list[int], layers: list[Any]) -> netspec.Spec:
    return netspec.loads(yaml.safe_dump({"name": "tokens", "input": shape, "layers": layers}))


def counted_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-accumulates of one sample, as torch's flop counter sees them (2 flops each)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.eval()(x)
    return counter.get_total_flops() // 2 // x.shape[0]


def check_against_module(spec: netspec.Spec) -> nn.Module:
    """Static output, parameters, MACs and state_dict keys equal the built module's."""
    model = spec.build().eval()
    x = torch.randn(2, *spec.checked.input.dims)
    with torch.no_grad():
        y = model(x)
    assert tuple(y.shape[1:]) == spec.checked.output.dims
    assert sum(p.numel() for p in model.parameters()) == spec.num_params
    assert counted_macs(model, x) == spec.checked.macs
    static = {k: e.shape.dims for k, e in state_keys(spec.checked).entries.items()}
    assert static == {k: tuple(v.shape) for k, v in model.state_dict().items()}
    return model


def test_linear_applies_to_each_token():
    spec = load([10, 16], [{"linear": {"out": 24, "name": "proj"}}])
    assert spec.checked.output.dims == (10, 24)
    assert spec.num_params == 16 * 24 + 24
    assert spec.checked.macs == 10 * 16 * 24  # one product per token
    model = check_against_module(spec)
    x = torch.randn(3, 10, 16)
    with torch.no_grad():
        assert torch.equal(model(x), F.linear(x, model.proj.weight, model.proj.bias))


def test_linear_on_a_feature_map_still_asks_for_flatten():
    with pytest.raises(netspec.NetspecError) as e:
        load([8, 5, 5], [{"linear": 10}])
    message = str(e.value)
    assert "linear needs a flat (features,) input, got (8, 5, 5)" in message
    assert 'hint: add "- flatten" before this layer' in message


def test_linear_over_the_last_axis_of_a_map():
    spec = load([8, 5, 6], [{"linear": {"out": 3, "over": "last", "bias": False}}])
    assert spec.checked.output.dims == (8, 5, 3)
    assert spec.checked.macs == 8 * 5 * 6 * 3
    assert spec.checked.children[0].text() == "linear 3 over last"
    check_against_module(spec)


def test_linear_over_last_on_flat_features_is_the_plain_linear():
    plain, last = load([12], [{"linear": 4}]), load([12], [{"linear": {"out": 4, "over": "last"}}])
    assert (plain.checked.output, plain.num_params, plain.checked.macs) == (
        last.checked.output,
        last.num_params,
        last.checked.macs,
    )


def test_layernorm_normalises_each_token_with_torchs_defaults():
    spec = load([7, 12], [{"layernorm": {"name": "norm"}}])
    model = check_against_module(spec)
    assert isinstance(model.norm, nn.LayerNorm)
    assert model.norm.normalized_shape == (12,) and model.norm.eps == 1e-5
    nn.init.normal_(model.norm.weight)
    nn.init.normal_(model.norm.bias)
    x = torch.randn(2, 7, 12) * 3 + 1
    want = F.layer_norm(x, (12,), model.norm.weight, model.norm.bias, 1e-5)
    with torch.no_grad():
        torch.testing.assert_close(model(x), want)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_on_tokens(approximate):
    model = load([5, 6], [{"gelu": {"approximate": approximate}}]).build()
    x = torch.randn(2, 5, 6)
    assert torch.equal(model(x), F.gelu(x, approximate=approximate))


def test_a_residual_over_tokens_with_dropout():
    spec = load(
        [9, 16],
        [
            {
                "residual": {
                    "shortcut": "identity",
                    "body": [
                        {"linear": 32},
                        "gelu",
                        {"dropout": 0.1},
                        {"linear": 16},
                    ],
                    "after": "layernorm",
                }
            }
        ],
    )
    assert spec.checked.output.dims == (9, 16)
    model = check_against_module(spec)
    body = model[0].body
    x = torch.randn(2, 9, 16)
    with torch.no_grad():
        want = F.layer_norm(x + body(x), (16,), model[0].after.weight, model[0].after.bias)
        torch.testing.assert_close(model(x), want)


def test_named_tensors_and_add_over_tokens():
    spec = load([4, 8], [{"linear": {"out": 8, "to": "h"}}, {"add": {"from": ["input", "h"]}}])
    assert spec.checked.output.dims == (4, 8)
    check_against_module(spec)


@pytest.mark.parametrize(
    ("kind", "message", "hint"),
    [
        (
            "batchnorm",
            "batchnorm needs (channels, height, width) or (features,), got the token "
            "sequence (6, 8)",
            "on a token sequence, use layernorm: it normalises each token's features",
        ),
        (
            "instancenorm",
            "instancenorm needs (channels, height, width) input, got (6, 8)",
            "on a token sequence, use layernorm: it normalises each token's features",
        ),
        ({"softmax": {"dim": 3}}, "softmax dim=3 is out of range", "use -1 for each token's"),
        ({"conv": {"out": 4, "kernel": 1}}, "conv needs (channels, height, width) input", ""),
        ({"pool": {"kernel": 2}}, "pool needs (channels, height, width) input", ""),
    ],
)
def test_a_token_sequence_where_a_map_is_needed(kind, message, hint):
    with pytest.raises(netspec.NetspecError) as e:
        load([6, 8], [kind])
    assert message in str(e.value)
    assert hint in str(e.value)


@settings(max_examples=15, deadline=None)
@given(
    tokens=st.integers(1, 9),
    width=st.integers(1, 12),
    out=st.integers(1, 12),
    bias=st.booleans(),
)
def test_linear_and_layernorm_on_any_token_sequence(tokens, width, out, bias):
    spec = load([tokens, width], [{"linear": {"out": out, "bias": bias}}, "layernorm"])
    assert spec.checked.output.dims == (tokens, out)
    assert spec.checked.macs == tokens * width * out
    check_against_module(spec)
