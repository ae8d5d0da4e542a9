"""``parameter`` and ``buffer``: tensors a network holds, read by name; their keys (the layer's
own path), counts, init values, learnable or fixed, and how their readers broadcast them."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import yaml

import netspec
from netspec.errors import NetspecError
from netspec.state_keys import state_keys


def load(shape: list[int], layers: list[Any], **extra: Any) -> netspec.Spec:
    text = yaml.safe_dump({"name": "tensors", "input": shape, "layers": layers, **extra})
    return netspec.loads(text)


def static_keys(spec: netspec.Spec) -> dict[str, tuple[int, ...]]:
    return {k: e.shape.dims for k, e in state_keys(spec.checked).entries.items()}


def built_keys(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


CLASS_TOKEN = [
    {"parameter": {"name": "class_token", "shape": [1, 8], "batch_axis": True, "to": "cls"}},
    {"concat": {"from": ["cls", "input"]}},
]


def test_a_class_token_is_a_top_level_key_without_weight():
    spec = load([5, 8], CLASS_TOKEN)
    model = spec.build()
    assert static_keys(spec) == built_keys(model) == {"class_token": (1, 1, 8)}
    assert spec.num_params == 8 == sum(p.numel() for p in model.parameters())
    assert spec.checked.output.dims == (6, 8)


def test_concat_expands_a_class_token_to_the_batch():
    model = load([5, 8], CLASS_TOKEN).build().eval()
    with torch.no_grad():
        model.class_token.normal_()
        x = torch.randn(3, 5, 8)
        y = model(x)
    # torchvision's ViT: torch.cat([class_token.expand(n, -1, -1), x], dim=1)
    assert torch.equal(y, torch.cat([model.class_token.expand(3, -1, -1), x], dim=1))


def test_a_tensor_in_a_block_is_keyed_on_the_block():
    layers = [
        {"conv": {"name": "conv", "out": 4, "kernel": 1, "to": "x"}},
        {"parameter": {"name": "layer_scale", "shape": [4, 1, 1], "init": 0.5, "to": "s"}},
        {"mul": {"from": ["s", "x"]}},
    ]
    spec = load([3, 6, 6], [{"group": {"name": "block", "layers": layers}}])
    model = spec.build()
    want = {
        "block.layer_scale": (4, 1, 1),
        "block.conv.weight": (4, 3, 1, 1),
        "block.conv.bias": (4,),
    }
    assert static_keys(spec) == built_keys(model) == want
    assert list(model.state_dict()) == list(want)  # its own tensors, then its children's
    x = torch.randn(2, 3, 6, 6)
    assert torch.allclose(model(x), 0.5 * model.block.conv(x))


@pytest.mark.parametrize(
    ("init", "expected"),
    [
        ("zeros", torch.zeros(2, 3)),
        ("ones", torch.ones(2, 3)),
        (0.25, torch.full((2, 3), 0.25)),
        ("arange", torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])),
    ],
)
def test_init_values(init, expected):
    spec = load(
        [2, 3],
        [
            {"parameter": {"name": "p", "shape": [2, 3], "init": init, "to": "p"}},
            {"add": {"from": ["input", "p"]}},
        ],
    )
    assert torch.equal(spec.build().p.detach(), expected)


def test_arange_along_the_last_axis_and_normal_deviations():
    layers = [
        {"buffer": {"name": "a", "shape": [2, 3], "init": "arange", "axis": -1, "to": "a"}},
        {"parameter": {"name": "n", "shape": [200, 100], "init": "normal", "std": 0.02, "to": "n"}},
        {
            "parameter": {
                "name": "t",
                "shape": [200, 100],
                "init": "trunc_normal",
                "std": 3.0,
                "to": "t",
            }
        },
        {"add": {"from": ["a", "input"]}},
    ]
    model = load([2, 3], layers).build()
    assert torch.equal(model.a, torch.tensor([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]))
    assert 0.018 < model.n.std().item() < 0.022
    assert model.t.abs().max().item() <= 2.0  # cut at ±2, as torch's trunc_normal_


@pytest.mark.parametrize("persistent", [True, False])
def test_a_buffer_is_fixed_and_in_the_state_dict_where_persistent(persistent):
    layers = [
        {
            "buffer": {
                "name": "b",
                "shape": [4],
                "init": "ones",
                "persistent": persistent,
                "to": "b",
            }
        },
        {"add": {"from": ["input", "b"]}},
    ]
    spec = load([4], layers)
    model = spec.build()
    want = {"b": (4,)} if persistent else {}
    assert static_keys(spec) == built_keys(model) == want
    assert spec.num_params == 0 and spec.checked.buffers == 4
    assert not list(model.parameters())
    assert not model.b.requires_grad
    assert torch.equal(model(torch.zeros(2, 4)), torch.ones(2, 4))


def test_a_parameter_is_learnable():
    model = load(
        [4],
        [{"parameter": {"name": "p", "shape": [4], "to": "p"}}, {"add": {"from": ["input", "p"]}}],
    ).build()
    model(torch.randn(2, 4)).sum().backward()
    assert model.p.requires_grad and torch.equal(model.p.grad, torch.full((4,), 2.0))


def test_a_parameter_that_is_not_trainable_keeps_its_values():
    layers = [
        {"parameter": {"name": "p", "shape": [4], "init": "arange", "trainable": False, "to": "p"}},
        {"parameter": {"name": "q", "shape": [4], "to": "q"}},
        {"add": {"from": ["input", "p", "q"]}},
    ]
    spec = load([4], layers)
    model = spec.build()
    assert spec.num_params == 8 and spec.checked.frozen == 4
    assert spec.summary(static=True).totals.trainable_params == 4
    assert list(model.state_dict()) == ["p", "q"]
    model(torch.randn(2, 4)).sum().backward()
    assert not model.p.requires_grad and model.p.grad is None and model.q.grad is not None
    assert "frozen: 4 of the params" in str(spec.table())


def test_trainable_is_a_parameters_option_not_a_buffers():
    with pytest.raises(NetspecError, match="trainable"):
        load([4], [{"buffer": {"name": "b", "shape": [4], "trainable": False, "to": "b"}}])


def test_a_layout_operation_reads_a_held_tensors_own_axes():
    """A parameter has no batch axis: a slice of it reads its own axes (axis 0 is its first),
    as the static check does, and the result broadcasts over the batch."""
    layers = [
        {"parameter": {"name": "p", "shape": [6], "init": "arange", "to": "m"}},
        {"strided_slice": {"axis": 0, "end": 4, "from": "m", "to": "cut"}},
        {"add": {"from": ["input", "cut"]}},
    ]
    model = load([4], layers).build()
    x = torch.randn(3, 4)
    assert torch.equal(model(x), x + model.p[:4])


def test_a_held_tensor_reshaped_and_permuted_is_one_samples():
    layers = [
        {"parameter": {"name": "p", "shape": [6], "init": "arange", "to": "m"}},
        {"reshape": {"shape": [2, 3], "from": "m"}},
        {"permute": {"axes": [1, 0], "to": "t"}},
        {"mul": {"from": ["input", "t"]}},
    ]
    spec = load([3, 2], layers)
    model = spec.build()
    x = torch.randn(5, 3, 2)
    assert torch.equal(model(x), x * model.p.reshape(2, 3).T)


def test_parameters_come_before_buffers_as_torch_lists_them():
    layers = [
        {"buffer": {"name": "b", "shape": [4], "to": "b"}},
        {"parameter": {"name": "p", "shape": [4], "to": "p"}},
        {"add": {"from": ["input", "b", "p"]}},
    ]
    spec = load([4], layers)
    assert list(static_keys(spec)) == list(spec.build().state_dict()) == ["p", "b"]


def test_scripts_and_traces():
    model = load([5, 8], CLASS_TOKEN).build().eval()
    x = torch.randn(2, 5, 8)
    with torch.no_grad():
        want = model(x)
        assert torch.equal(torch.jit.script(model)(x), want)
        traced = torch.jit.trace(model, x)
        other = torch.randn(4, 5, 8)
        assert torch.equal(traced(other), model(other))


def test_arange_along_an_axis_it_lacks_is_an_error():
    with pytest.raises(NetspecError, match="counts along axis 2, but its shape"):
        load(
            [4],
            [
                {"buffer": {"shape": [4], "init": "arange", "axis": 2, "to": "b"}},
                {"add": {"from": ["input", "b"]}},
            ],
        )


# drop_path: torchvision's StochasticDepth(p, "row")


def drop_path_model(p: float) -> torch.nn.Module:
    return load([4, 3, 3], [{"drop_path": {"name": "stochastic_depth", "p": p}}]).build()


def test_drop_path_is_the_identity_in_eval_and_has_no_tensors():
    spec = load([4, 3, 3], [{"drop_path": 0.5}])
    model = spec.build().eval()
    x = torch.randn(8, 4, 3, 3)
    assert model(x) is x or torch.equal(model(x), x)
    assert spec.num_params == 0 and static_keys(spec) == built_keys(model) == {}


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_drop_path_in_training_draws_as_torchvisions_stochastic_depth(p):
    from torchvision.ops import StochasticDepth

    model = drop_path_model(p).train()
    reference = StochasticDepth(p, "row").train()
    x = torch.randn(64, 4, 3, 3)
    torch.manual_seed(0)
    got = model(x)
    torch.manual_seed(0)
    assert torch.equal(got, reference(x))
    kept = got.flatten(1).abs().sum(1) > 0  # whole samples, dropped or scaled
    assert torch.allclose(got[kept], x[kept] / (1 - p)) if p < 1 else not kept.any()


def test_drop_path_imports_from_stochastic_depth():
    from torchvision.ops import StochasticDepth

    kind = netspec.registry.get_kind("drop_path")
    assert kind.options_from(StochasticDepth(0.2, "row")) == {"p": 0.2}
    assert kind.options_from(StochasticDepth(0.2, "batch")) is None


def test_drop_path_scripts_and_draws_as_in_eager_mode_in_training():
    model = drop_path_model(0.5).train()
    scripted = torch.jit.script(model)
    x = torch.randn(16, 4, 3, 3)
    torch.manual_seed(2)
    want = model(x)
    torch.manual_seed(2)
    assert torch.equal(scripted(x), want)


def test_a_tensor_is_drawn_as_data_that_reads_nothing():
    from netspec.diagram import to_dot

    dot = to_dot(load([5, 8], CLASS_TOKEN).checked, "tensors", depth=2)
    node = next(line for line in dot.splitlines() if line.strip().startswith("class_token ["))
    assert "shape=note" in node and "class_token: parameter 1×8, init zeros" in node
    edges = [line.strip() for line in dot.splitlines() if "->" in line]
    assert not any(e.endswith("class_token") or "-> class_token " in e for e in edges)
    into_concat = next(e for e in edges if e.startswith("class_token -> 1"))
    assert "style=solid" not in into_concat  # read where it is used, not a skip connection


def test_a_block_that_starts_with_a_parameter_reads_the_blocks_input():
    layers = [
        {"parameter": {"name": "layer_scale", "shape": [4, 1, 1], "to": "s"}},
        {"conv": {"out": 4, "kernel": 1, "from": "input", "to": "x"}},
        {"mul": {"from": ["s", "x"]}},
    ]
    spec = load([3, 6, 6], [{"group": {"name": "block", "layers": layers}}])
    assert spec.checked.child("block").input.dims == (3, 6, 6)
    assert "3×6×6 → 4×6×6" in spec.to_dot(depth=1)


def test_a_tensor_layer_reads_nothing_so_an_unread_tensor_before_it_is_said():
    """A parameter has no input: the tensor made just before it is not read by it, and a
    tensor nothing reads is reported at its to:."""
    text = (
        "name: x\ninput: [4, 8, 8]\nlayers:\n"
        "  - conv: {out: 4, kernel: 1, to: lost}\n"
        "  - parameter: {shape: [4, 1, 1], to: p}\n"
        "  - mul: {from: [input, p]}\n"
    )
    spec = netspec.loads(text)
    assert [(w.message, w.pos and w.pos.line) for w in spec.warnings] == [
        ('tensor "lost" is never used', 4)
    ]
    assert [c.sources for c in spec.checked.children if c.node.kind.name == "parameter"] == [[]]
