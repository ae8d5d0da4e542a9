"""The kinds beyond conv, pool and linear: upsampling, transposed convs, channel slices and
shuffles, more activations and norms.

Each option combination is checked statically and against the built module (shape, params,
buffers, MACs), run, scripted and traced; the size rules of ``upsample`` and ``conv_transpose``
are compared with torch over random sizes, including which options torch refuses.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
import yaml
from crosscheck import assert_static_matches_module
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import netspec
from netspec.errors import Problem
from netspec.ir import Shape
from netspec.modules import ChannelLayerNorm, ChannelShuffle, Slice
from netspec.registry import get_kind

#: (input, layers): each exercises options of one new kind
CASES: dict[str, list[tuple[list[int], list[Any]]]] = {
    "upsample": [
        ([3, 7, 9], [{"upsample": {"scale": 2}}]),
        ([3, 7, 9], [{"upsample": {"scale": 1.7, "mode": "nearest-exact"}}]),
        ([3, 7, 9], [{"upsample": {"scale": [1.5, 0.7], "mode": "bilinear"}}]),
        ([3, 7, 9], [{"upsample": {"scale": 3, "mode": "bicubic", "align_corners": True}}]),
        ([3, 7, 9], [{"upsample": {"size": 12, "mode": "bilinear", "align_corners": False}}]),
        ([3, 7, 9], [{"upsample": {"size": [5, 20]}}]),
    ],
    "conv_transpose": [
        ([4, 5, 6], [{"conv_transpose": {"out": 8, "kernel": 2, "stride": 2}}]),
        (
            [4, 5, 6],
            [
                {
                    "conv_transpose": {
                        "out": 6,
                        "kernel": 3,
                        "stride": 2,
                        "padding": 1,
                        "output_padding": 1,
                        "groups": 2,
                    }
                }
            ],
        ),
        (
            [4, 5, 6],
            [
                {
                    "conv_transpose": {
                        "out": 3,
                        "kernel": [2, 3],
                        "stride": [1, 3],
                        "padding": [0, 2],
                        "output_padding": [1, 2],
                        "dilation": 2,
                        "bias": False,
                    }
                }
            ],
        ),
        ([4, 5, 6], [{"conv_transpose": {"out": 4, "kernel": 3, "padding": 1, "groups": 4}}]),
    ],
    "slice": [
        ([8, 4, 4], [{"slice": {"start": 2, "end": 5}}]),
        ([8, 4, 4], [{"slice": {"start": -3}}]),
        ([8, 4, 4], [{"slice": {"end": -1}}]),
        ([8, 4, 4], [{"slice": {"start": -8, "end": 8}}]),
        ([10], [{"slice": {"start": 4}}]),
    ],
    "channel_shuffle": [
        ([6, 3, 5], [{"channel_shuffle": 2}]),
        ([6, 3, 5], [{"channel_shuffle": {"groups": 6}}]),
        ([12], [{"channel_shuffle": 4}]),
        # a slice hands the shuffle a non-contiguous tensor
        ([8, 3, 3], [{"slice": {"start": 1, "end": 7}}, {"channel_shuffle": 3}]),
    ],
    "prelu": [
        ([6, 4, 4], ["prelu"]),
        ([6, 4, 4], [{"prelu": {"channels": True, "init": 0.1}}]),
        ([7], [{"prelu": {"channels": True}}]),
    ],
    "hardsigmoid": [([3, 4, 4], ["hardsigmoid", {"hardsigmoid": {"inplace": True}}])],
    "softplus": [([3, 4, 4], [{"softplus": {"beta": 2, "threshold": 5}}])],
    "hardtanh": [([3, 4, 4], [{"hardtanh": {"min_val": -2, "max_val": 0.5, "inplace": True}}])],
    "selu": [([3, 4, 4], [{"selu": {"inplace": True}}])],
    "celu": [([3, 4, 4], [{"celu": {"alpha": 0.5}}])],
    "softsign": [([3, 4, 4], ["softsign"])],
    "tanhshrink": [([3, 4, 4], ["tanhshrink"])],
    "logsigmoid": [([3, 4, 4], ["logsigmoid"])],
    "hardshrink": [([3, 4, 4], [{"hardshrink": 0.3}])],
    "softshrink": [([3, 4, 4], [{"softshrink": {"lambd": 0}}])],
    "groupnorm": [
        ([6, 4, 4], [{"groupnorm": 3}]),
        ([6, 4, 4], [{"groupnorm": {"groups": 6, "eps": 0.001, "affine": False}}]),
        ([8], [{"groupnorm": 2}]),
    ],
    "instancenorm": [
        ([3, 4, 5], ["instancenorm"]),
        ([3, 4, 5], [{"instancenorm": {"affine": True}}]),
        ([3, 4, 5], [{"instancenorm": {"track_running_stats": True, "momentum": 0.2}}]),
        (
            [3, 1, 2],
            [{"instancenorm": {"eps": 0.001, "affine": True, "track_running_stats": True}}],
        ),
    ],
    "layernorm": [
        ([5, 3, 4], ["layernorm"]),
        ([5, 3, 4], [{"layernorm": {"eps": 1e-6, "bias": False}}]),
        ([5, 3, 4], [{"layernorm": {"affine": False}}]),
        ([9], ["layernorm"]),
        ([9], [{"layernorm": {"bias": False}}]),
    ],
}
NEW_KINDS = sorted(CASES)
EXAMPLES = [(kind, shape, layers) for kind, cases in CASES.items() for shape, layers in cases]


def load(shape: list[int], layers: list[Any]) -> netspec.Spec:
    return netspec.loads(yaml.safe_dump({"name": "example", "input": shape, "layers": layers}))


@pytest.mark.parametrize(("kind", "shape", "layers"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_static_equals_module_and_it_scripts_and_traces(kind, shape, layers):
    spec = load(shape, layers)
    model = spec.build().eval()
    assert_static_matches_module(spec, model)
    x = torch.randn(2, *shape)
    expected = model(x.clone())  # in-place layers may write to their input
    assert expected.shape[1:] == spec.checked.output.dims
    assert torch.allclose(torch.jit.script(model)(x.clone()), expected, atol=1e-6)
    assert torch.allclose(torch.fx.symbolic_trace(model)(x.clone()), expected, atol=1e-6)


def test_every_new_kind_is_registered_with_examples():
    assert all(get_kind(k) is not None for k in NEW_KINDS)


@pytest.mark.parametrize("kind", NEW_KINDS)
def test_summary_names_the_options(kind):
    found = get_kind(kind)
    assert found is not None and found.summary
    common = {"name", "expect", "inplace", "from_", "to", "if_"}  # every layer's
    for option in set(found.Options.model_fields) - common:
        assert option in found.summary, f"{kind}: summary does not name {option}"


@pytest.mark.parametrize(
    ("layer", "text"),
    [
        ({"upsample": {"scale": 2}}, "upsample ×2 nearest"),
        ({"upsample": {"scale": [2, 1.5], "mode": "bilinear"}}, "upsample ×2×1.5 bilinear"),
        (
            {"upsample": {"size": [32, 16], "mode": "nearest-exact"}},
            "upsample → 32×16 nearest-exact",
        ),
        ({"conv_transpose": {"out": 64, "kernel": 2, "stride": 2}}, "convT 2×2 /2, 64"),
        ({"conv_transpose": {"out": 8, "kernel": 3, "groups": 2}}, "convT 3×3, 8 g2"),
        ({"slice": {"start": 2, "end": 6}}, "slice 2:6"),
        ({"slice": {"start": -4}}, "slice -4:"),
        ({"channel_shuffle": 2}, "channel shuffle g2"),
        ({"groupnorm": 2}, "groupnorm g2"),
        ("layernorm", "layernorm"),
        ("prelu", "prelu"),
    ],
)
def test_describe_reads_like_a_paper(layer, text):
    (leaf,) = [c for c in load([8, 8, 8], [layer]).checked.walk() if not c.children]
    assert leaf.node.kind.describe(leaf.node.opts) == text


# --- upsample ----------------------------------------------------------------------------------


def static_upsample(shape: tuple[int, ...], **options: Any) -> Shape:
    kind = get_kind("upsample")
    assert kind is not None
    return kind.cost(kind.Options.model_validate(options), Shape(shape)).shape


def test_upsample_sizes_equal_torch_over_many_float_scales():
    scales = [0.1, 0.25, 1 / 3, 0.4, 0.5, 2 / 3, 0.7, 0.99, 1.1, 1.15, 1.3, 1.5, 1.7, 2.2, 2.5]
    scales += [3.3, 1e-1 * 7, 0.29, 0.57, 1.01]
    for scale in scales:
        layer = nn.Upsample(scale_factor=(scale, 1.0))
        for size in range(1, 120):
            expected = math.floor(size * scale)
            if expected < 1:
                continue
            static = static_upsample((1, size, 3), scale=[scale, 1])
            real = layer(torch.zeros(1, 1, size, 3)).shape
            assert static.dims[1:] == tuple(real[2:]), (size, scale)


@given(
    st.integers(1, 200),
    st.integers(1, 200),
    st.floats(0.01, 6, allow_nan=False),
    st.floats(0.01, 6, allow_nan=False),
    st.sampled_from(["nearest", "nearest-exact", "bilinear", "bicubic"]),
)
def test_upsample_output_size_equals_torch(h, w, sh, sw, mode):
    static = static_upsample((2, h, w), scale=[sh, sw], mode=mode)
    module = nn.Upsample(scale_factor=(sh, sw), mode=mode)
    try:
        real = module(torch.zeros(1, 2, h, w))
    except RuntimeError:  # torch refuses an empty output; so does netspec (shapes.py)
        assert min(static.dims) < 1
        return
    assert static.dims == tuple(real.shape[1:])


def test_upsample_scale_must_be_positive_numbers():
    for bad in (0, -1, [1, 2, 3], "two", [2, True], True):
        with pytest.raises(netspec.NetspecError, match="expected a number above 0"):
            load([3, 4, 4], [{"upsample": {"scale": bad}}])
    assert static_upsample((3, 4, 4), scale="2e0").dims == (3, 8, 8)  # YAML 1.1 reads 2e0 as text


def test_upsample_mode_can_come_from_an_expression():
    spec = netspec.loads(
        "name: x\ninput: [3, 4, 4]\nparams: {m: bilinear}\n"
        "layers:\n  - upsample: {scale: 2, mode: '${m}', align_corners: true}\n"
    )
    assert spec.checked.output == Shape((3, 8, 8))
    with pytest.raises(netspec.NetspecError, match="only modes bilinear and bicubic"):
        netspec.loads(
            "name: x\ninput: [3, 4, 4]\nparams: {m: nearest}\n"
            "layers:\n  - upsample: {scale: 2, mode: '${m}', align_corners: true}\n"
        )


# --- conv_transpose ----------------------------------------------------------------------------


@given(
    st.integers(1, 12),
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(0, 4),
    st.integers(0, 3),
    st.integers(1, 3),
)
def test_conv_transpose_size_and_refusals_equal_torch(size, kernel, stride, pad, extra, dilation):
    kind = get_kind("conv_transpose")
    assert kind is not None
    opts = kind.Options.model_validate(
        {
            "out": 2,
            "kernel": kernel,
            "stride": stride,
            "padding": pad,
            "output_padding": extra,
            "dilation": dilation,
        }
    )
    # on the CPU, not the meta device: the meta kernel skips torch's output_padding check
    module = nn.ConvTranspose2d(3, 2, kernel, stride, pad, output_padding=extra, dilation=dilation)
    try:
        real = module(torch.zeros(1, 3, size, size + 1)).shape
    except RuntimeError:
        real = torch.Size([0])
    if 0 in real:  # torch refuses, or gives an empty output: netspec refuses both
        with pytest.raises(Problem):
            kind.cost(opts, Shape((3, size, size + 1)))
        return
    cost = kind.cost(opts, Shape((3, size, size + 1)))
    assert cost.shape.dims == tuple(real[1:])
    assert cost.params == sum(p.numel() for p in module.parameters())


def test_conv_transpose_macs_count_every_input_pixel_against_every_weight():
    # U-Net's up-convolution: 64 → 32 channels, 2×2 /2, on an 8×8 input
    spec = load([64, 8, 8], [{"conv_transpose": {"out": 32, "kernel": 2, "stride": 2}}])
    assert spec.checked.output == Shape((32, 16, 16))
    assert spec.checked.macs == 64 * 32 * 2 * 2 * 8 * 8
    assert spec.checked.params == 64 * 32 * 2 * 2 + 32


# --- slice and channel_shuffle -----------------------------------------------------------------


@given(st.integers(1, 10), st.integers(-12, 12), st.none() | st.integers(-12, 12))
def test_slice_takes_what_python_takes_or_refuses(channels, start, end):
    x = torch.arange(channels).reshape(1, channels)
    try:
        spec = load([channels], [{"slice": {"start": start, "end": end}}])
    except netspec.NetspecError:
        # only an index past the channels, or an empty range, is refused
        inside = all(-channels <= i <= channels for i in (start, end) if i is not None)
        assert not inside or x[:, start:end].numel() == 0
        return
    assert torch.equal(spec.build()(x), x[:, start:end])


def test_channel_shuffle_equals_torch_and_exports():
    x = torch.randn(2, 12, 3, 4)
    assert torch.equal(ChannelShuffle(3)(x), nn.ChannelShuffle(3)(x))
    assert torch.equal(ChannelShuffle(4)(x[:, :8]), nn.ChannelShuffle(4)(x[:, :8].contiguous()))
    exported = torch.export.export(ChannelShuffle(3), (x,))
    assert torch.equal(exported.module()(x), nn.ChannelShuffle(3)(x))


def test_slice_exports():
    x = torch.randn(2, 6, 3, 3)
    exported = torch.export.export(Slice(1, 4), (x,))
    assert torch.equal(exported.module()(x), x[:, 1:4])


# --- prelu, norms ------------------------------------------------------------------------------


def test_prelu_has_one_slope_or_one_per_channel():
    shared, each = load([6, 4, 4], ["prelu", {"prelu": {"channels": True}}]).checked.children
    assert (shared.params, each.params) == (1, 6)


class LayerNorm2d(nn.LayerNorm):
    """torchvision's ``LayerNorm2d`` (ConvNeXt), copied to compare with."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


def test_channel_layernorm_loads_torchvisions_weights_and_agrees():
    reference = LayerNorm2d(5, eps=1e-6)
    with torch.no_grad():
        reference.weight.normal_()
        reference.bias.normal_()
    spec = load([5, 3, 4], [{"layernorm": {"eps": 1e-6, "name": "norm"}}])
    model = spec.build()
    assert isinstance(model.norm, ChannelLayerNorm)
    state = {f"norm.{k}": v for k, v in reference.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {
        "norm.weight": (5,),
        "norm.bias": (5,),
    }
    model.load_state_dict(state)
    x = torch.randn(2, 5, 3, 4)
    assert torch.allclose(model(x), reference(x), atol=1e-6)


def test_layernorm_on_features_is_torchs():
    model = load([9], [{"layernorm": {"name": "norm"}}]).build()
    assert type(model.norm) is nn.LayerNorm and model.norm.normalized_shape == (9,)


def test_familiar_option_names_of_the_new_kinds_are_suggested():
    for layer, familiar in (
        ({"groupnorm": {"num_groups": 2}}, "groups"),
        ({"upsample": {"scale_factor": 2}}, "scale"),
        ({"layernorm": {"elementwise_affine": False}}, "affine"),
    ):
        with pytest.raises(netspec.NetspecError, match=f'did you mean "{familiar}"'):
            load([4, 4, 4], [layer])
