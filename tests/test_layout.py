"""Axes with meaning and the layout operations (issue 20): ``reshape``, ``permute``,
``transpose``, ``flatten`` between two axes, ``select``, ``strided_slice``,
``pixel_unshuffle``, ``roll``, ``pad`` and ``concat`` along an axis.

Each operation's static shape is checked against what torch computes on a real tensor, and its
values against the torch call it stands for; channels-last maps and tensors reach conv, pool
and the norms with the hint that fits. Golden messages are in ``fixtures/errors/layout_*``.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import Tensor

import netspec
from netspec.ir import Layout, Shape
from netspec.state_keys import state_keys


def load(shape: list[int] | dict[str, list[int]], layers: list[Any]) -> netspec.Spec:
    key = "inputs" if isinstance(shape, dict) else "input"
    return netspec.loads(yaml.safe_dump({"name": "layout", key: shape, "layers": layers}))


def run(spec: netspec.Spec, *xs: Tensor) -> Tensor:
    """The built module's output, whose shape must be the static one."""
    model = spec.build().eval()
    with torch.no_grad():
        y = model(*xs)
    assert tuple(y.shape[1:]) == spec.checked.output.dims
    assert spec.num_params == 0 and spec.checked.macs == 0
    assert state_keys(spec.checked).entries == {}
    return y


def error(shape: list[int], layers: list[Any]) -> str:
    with pytest.raises(netspec.NetspecError) as e:
        load(shape, layers)
    return str(e.value)


X = torch.randn(2, 6, 8, 10)

#: (layers on (6, 8, 10), the torch expression on the batch x they stand for)
OPS: dict[str, tuple[list[Any], Any]] = {
    "reshape": ([{"reshape": [-1, 20]}], lambda x: x.reshape(2, -1, 20)),
    "reshape_expression": ([{"reshape": ["${3 * 2}", 80]}], lambda x: x.reshape(2, 6, 80)),
    "permute": ([{"permute": [1, 2, 0]}], lambda x: x.permute(0, 2, 3, 1)),
    "permute_negative": ([{"permute": [-1, 0, 1]}], lambda x: x.permute(0, 3, 1, 2)),
    "transpose": ([{"transpose": [0, -1]}], lambda x: x.transpose(1, 3)),
    "flatten_between": ([{"flatten": {"start": 1, "end": 2}}], lambda x: x.flatten(2, 3)),
    "flatten_first_two": ([{"flatten": {"end": 1}}], lambda x: x.flatten(1, 2)),
    "select": ([{"select": {"axis": 1, "index": -1}}], lambda x: x[:, :, -1]),
    "strided_slice": (
        [{"strided_slice": {"axis": 2, "start": 1, "end": 9, "step": 3}}],
        lambda x: x[:, :, :, 1:9:3],
    ),
    "strided_slice_first": (
        [{"strided_slice": {"axis": 0, "step": 2}}],
        lambda x: x[:, 0::2],
    ),
    "pixel_unshuffle": ([{"pixel_unshuffle": 2}], lambda x: F.pixel_unshuffle(x, 2)),
    "roll": (
        [{"roll": {"shifts": [-3, 2], "axes": [1, 2]}}],
        lambda x: torch.roll(x, (-3, 2), (2, 3)),
    ),
    "pad": (
        [{"pad": {"amounts": [[0, 0], [1, 2], [0, 3]], "value": -1.5}}],
        lambda x: F.pad(x, (0, 3, 1, 2), value=-1.5),
    ),
    "pad_channels": ([{"pad": [[2, 1], [0, 0], [0, 0]]}], lambda x: F.pad(x, (0, 0, 0, 0, 2, 1))),
}


@pytest.mark.parametrize("case", sorted(OPS))
def test_static_shape_and_values_equal_torch(case):
    layers, expected = OPS[case]
    spec = load([6, 8, 10], layers)
    y = run(spec, X)
    assert torch.equal(y, expected(X))


def test_concat_along_an_axis():
    spec = load(
        {"cls": [1, 16], "patches": [9, 16]},
        [{"concat": {"from": ["cls", "patches"], "axis": 0}}],
    )
    assert spec.checked.output.what() == "the token sequence (10, 16)"
    a, b = torch.randn(2, 1, 16), torch.randn(2, 9, 16)
    assert torch.equal(run(spec, a, b), torch.cat([a, b], 1))
    last = load({"a": [4, 3], "b": [4, 5]}, [{"concat": {"from": ["a", "b"], "axis": -1}}])
    assert last.checked.output.dims == (4, 8)


def test_concat_without_axis_stays_on_channels():
    spec = load({"a": [2, 4, 4], "b": [3, 4, 4]}, [{"concat": {"from": ["a", "b"]}}])
    assert spec.checked.output.dims == (5, 4, 4)


def test_layouts_follow_the_axes():
    spec = load(
        [96, 8, 8],
        [
            {"permute": {"axes": [1, 2, 0], "name": "last"}},
            {"flatten": {"start": 0, "end": 1, "name": "tokens"}},
            {"transpose": {"axes": [0, 1], "name": "first"}},
            {"reshape": {"shape": [96, 4, 16], "name": "map"}},
            {"reshape": {"shape": [4, 16, 96], "layout": "tensor", "name": "tensor"}},
        ],
    )
    shapes = {c.node.name: c.output for c in spec.checked.children}
    assert shapes["last"].what() == "the channels-last map (8, 8, 96)"
    assert shapes["tokens"].what() == "the token sequence (64, 96)"
    assert shapes["first"].what() == "the feature map (96, 64)"
    assert shapes["map"].layout is Layout.CHANNELS_FIRST
    assert shapes["tensor"].what() == "the tensor (4, 16, 96)"


def test_a_layout_is_no_part_of_equality():
    # outputs:, expect: and the merges compare sizes; what the axes mean is for the checks
    last = Shape.laid((8, 8, 96), Layout.CHANNELS_LAST)
    assert last == Shape((8, 8, 96)) and hash(last) == hash(Shape((8, 8, 96)))
    assert Shape.laid((5, 7), Layout.CHANNELS_LAST).is_tokens
    assert Shape.laid((7,), Layout.TENSOR).layout is Layout.FLAT
    assert Shape.laid((2, 3, 4), Layout.FLAT).layout is Layout.TENSOR  # flat is one axis


@pytest.mark.parametrize(
    "layer",
    [
        "conv",
        "pool",
        "batchnorm",
        "upsample",
        "instancenorm",
        "pixel_unshuffle",
        "conv_transpose",
        "slice",
        "split",
        "channel_shuffle",
    ],
)
def test_a_channels_last_map_is_no_image(layer):
    options = {
        "conv": {"conv": {"out": 4, "kernel": 3}},
        "pool": {"pool": {"kernel": 2}},
        "upsample": {"upsample": {"scale": 2}},
        "pixel_unshuffle": {"pixel_unshuffle": 2},
        "conv_transpose": {"conv_transpose": {"out": 4, "kernel": 2}},
        "slice": {"slice": {"start": 0, "end": 2}},
        "split": {"split": 2},
        "channel_shuffle": {"channel_shuffle": 2},
    }
    message = error([6, 8, 8], [{"permute": [1, 2, 0]}, options.get(layer, layer)])
    assert "the channels-last map (8, 8, 6)" in message
    assert '"- permute: [2, 0, 1]"' in message


def test_linear_and_layernorm_work_on_the_last_axis_of_channels_last_maps_and_tensors():
    spec = load(
        [6, 4, 5],
        [
            {"permute": [1, 2, 0]},
            {"layernorm": {"eps": 1e-6, "name": "norm"}},
            {"linear": {"out": 12, "name": "fc"}},
            {"reshape": [4, 5, 3, 4]},
            {"layernorm": {"name": "norm4"}},
            {"linear": {"out": 2, "name": "fc4"}},
        ],
    )
    assert spec.checked.output.what() == "the tensor (4, 5, 3, 2)"
    assert spec.checked.macs == 4 * 5 * 6 * 12 + 4 * 5 * 3 * 4 * 2
    model = spec.build().eval()
    x = torch.randn(2, 6, 4, 5)
    with torch.no_grad():
        h = F.layer_norm(x.permute(0, 2, 3, 1), (6,), model.norm.weight, model.norm.bias, 1e-6)
        h = model.fc(h).reshape(2, 4, 5, 3, 4)
        h = model.fc4(F.layer_norm(h, (4,), model.norm4.weight, model.norm4.bias))
        assert torch.allclose(model(x), h, atol=1e-6)


def test_layernorm_over_channels_is_torchvisions_layernorm2d():
    from torchvision.models.convnext import LayerNorm2d

    spec = load([6, 4, 5], [{"layernorm": {"over": "channels", "eps": 1e-6, "name": "norm"}}])
    assert list(spec.build().state_dict()) == ["norm.weight", "norm.bias"]
    reference = LayerNorm2d(6, eps=1e-6)
    torch.nn.init.normal_(reference.weight)
    torch.nn.init.normal_(reference.bias)
    model = spec.build().eval()
    model.norm.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 6, 4, 5)
    with torch.no_grad():
        assert torch.allclose(model(x), reference(x), atol=1e-6)
    over_last = load([6, 4, 5], [{"layernorm": {"over": "last"}}])
    assert state_keys(over_last.checked).entries["0.weight"].shape.dims == (5,)


def test_the_seed_mistake_stays_an_error_unless_over_last():
    message = error([8, 5, 5], [{"linear": 10}])
    assert 'hint: add "- flatten" before this layer' in message
    assert load([8, 5, 5], [{"linear": {"out": 10, "over": "last"}}]).checked.output.dims == (
        8,
        5,
        10,
    )


def test_vit_patches_are_torchvisions_process_input():
    from torchvision.models.vision_transformer import VisionTransformer

    vit = VisionTransformer(224, 16, num_layers=1, num_heads=12, hidden_dim=768, mlp_dim=8)
    spec = load(
        [3, 224, 224],
        [
            {"conv": {"out": 768, "kernel": 16, "stride": 16, "name": "conv_proj"}},
            {"flatten": {"start": 1, "end": 2}},
            {"transpose": [0, 1]},
        ],
    )
    assert spec.checked.output.what() == "the token sequence (196, 768)"
    model = spec.build().eval()
    model.load_state_dict({k: v for k, v in vit.state_dict().items() if "conv_proj" in k})
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(model(x), vit._process_input(x))


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([{"reshape": [-1, -1]}], "reshape [-1, -1] is no shape"),
        (
            [{"reshape": {"shape": [6, 80], "layout": "flat"}}],
            "reshape [6, 80] has 2 axes, but layout: flat has 1",
        ),
        ([{"transpose": [1, -2]}], "transpose [1, -2] names axis 1 twice"),
        ([{"select": {"axis": 3, "index": 0}}], "select axis=3 is not an axis of the feature map"),
        ([{"flatten": {"start": 2, "end": 1}}], "flatten start=2 comes after end=1"),
        ([{"strided_slice": {"axis": 1, "start": 5, "end": 2}}], "strided_slice takes nothing"),
        ([{"pixel_unshuffle": 3}], "pixel_unshuffle factor=3 does not divide"),
        ([{"roll": {"shifts": [1, 2], "axes": [0]}}], "roll has 2 shifts for 1 axes"),
        ([{"pad": [[0, 1]]}], "pad gives 1 [before, after] pairs for the 3 axes"),
        ([{"concat": {"from": ["input", "input"], "axis": 3}}], "concat axis=3 is not an axis"),
        (
            [{"flatten": {"start": 1}}, {"layernorm": {"over": "channels"}}],
            "layernorm over the channels needs (channels, height, width), got the feature map",
        ),
    ],
)
def test_errors_name_the_axes(layers, message):
    assert message in error([6, 8, 10], layers)


def test_layout_modules_script_trace_and_export():
    spec = load(
        [6, 8, 8],
        [
            {"pad": [[0, 0], [0, 1], [0, 1]]},
            {"roll": {"shifts": [1], "axes": [-1]}},
            {"strided_slice": {"axis": 1, "step": 2}},
            {"permute": [1, 2, 0]},
            {"reshape": [-1, 6]},
            {"select": 0},
        ],
    )
    model = spec.build().eval()
    x = torch.randn(2, 6, 8, 8)
    with torch.no_grad():
        y = model(x)
        assert torch.equal(torch.jit.script(model)(x), y)
        assert torch.equal(torch.jit.trace(model, x)(x), y)
        assert torch.equal(torch.fx.symbolic_trace(model)(x), y)
        assert torch.equal(torch.export.export(model, (x,)).module()(x), y)


def test_torch_modules_import_as_layout_kinds():
    from netspec.registry import get_kind

    flatten, unshuffle = get_kind("flatten"), get_kind("pixel_unshuffle")
    assert flatten is not None and unshuffle is not None
    assert flatten.options_from(torch.nn.Flatten()) == {}
    assert flatten.options_from(torch.nn.Flatten(2, 3)) == {"start": 1, "end": 2}
    assert flatten.options_from(torch.nn.Flatten(1, -2)) == {"end": -2}
    assert flatten.options_from(torch.nn.Flatten(0)) is None  # it joins the batch in
    assert unshuffle.options_from(torch.nn.PixelUnshuffle(2)) == {"factor": 2}
