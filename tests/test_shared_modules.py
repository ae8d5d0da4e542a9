"""One module, several calls (``- call: m``): one set of keys, parameters counted once, MACs
counted at each call, the shape checked at each call, and the same function as a hand-written
module that calls one submodule several times."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import cli
from torch import nn

import netspec
from netspec.diagram import to_dot
from netspec.state_keys import state_keys

SPPF = """
name: sppf
input: [8, 16, 16]
layers:
  - conv: {name: cv1, out: 4, kernel: 1, to: y0}
  - pool: {name: m, mode: max, kernel: 5, stride: 1, padding: 2, to: y1}
  - call: {layer: m, to: y2}
  - call: {layer: m, to: y3}
  - concat: {from: [y0, y1, y2, y3]}
  - conv: {name: cv2, out: 8, kernel: 1}
"""

#: a head shared by two levels of a pyramid: a block called on two tensors of other sizes
SHARED_HEAD = """
name: shared_head
inputs: {p3: [16, 8, 8], p4: [16, 4, 4]}
outputs: {o3: null, o4: null}
blocks:
  Head:
    args: {c: int}
    layers:
      - conv: {name: conv, out: "${c}", kernel: 3, padding: 1, to: z}
      - relu
      - add: {from: [z, input]}
      - conv: {name: fc, out: 5, kernel: 1}
layers:
  - Head: {name: head, c: 16, from: p3, to: o3}
  - call: {layer: head, from: p4, to: o4}
"""

#: a linear over the tokens called twice in a chain
TWICE = """
name: twice
input: [6, 12]
layers:
  - linear: {name: fc, out: 12}
  - relu
  - call: fc
"""


class HandSPPF(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cv1 = nn.Conv2d(8, 4, 1)
        self.m = nn.MaxPool2d(5, 1, 2)
        self.cv2 = nn.Conv2d(16, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


def _macs_per_call(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Conv and linear weight MACs of one forward pass, each call of a module counted."""
    total = 0

    def hook(mod: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            total += mod.weight.numel() * math.prod(out.shape[2:])
        elif isinstance(mod, nn.Linear):
            total += mod.weight.numel() * math.prod(out.shape[1:-1])

    hooks = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model.eval()(*inputs)
    for h in hooks:
        h.remove()
    return total


def test_sppf_holds_one_pool_and_computes_the_hand_written_function():
    spec = netspec.loads(SPPF)
    model = spec.build()
    hand = HandSPPF()
    assert list(model.state_dict()) == list(hand.state_dict())
    assert [n for n, _ in model.named_children()] == ["cv1", "m", "4", "cv2"]
    model.load_state_dict(hand.state_dict(), strict=True)
    x = torch.randn(2, 8, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(model(x), hand(x), rtol=0, atol=0)
    assert spec.num_params == sum(p.numel() for p in hand.parameters())
    assert spec.macs == _macs_per_call(hand, x)


def test_a_shared_block_counts_its_params_once_and_its_macs_at_each_call():
    spec = netspec.loads(SHARED_HEAD)
    model = spec.build()
    assert list(model.state_dict()) == [f"head.{k}" for k in ("conv.weight", "conv.bias")] + [
        "head.fc.weight",
        "head.fc.bias",
    ]
    assert [e.key for e in state_keys(spec.checked)] == list(model.state_dict())
    assert spec.num_params == sum(p.numel() for p in model.parameters())
    p3, p4 = torch.randn(1, 16, 8, 8), torch.randn(1, 16, 4, 4)
    assert spec.macs == _macs_per_call(model, p3, p4)
    call = spec.checked.child("1")
    assert call is not None and call.params == 0
    assert call.macs == spec.checked.child("head").macs // 4  # a quarter of the positions
    with torch.no_grad():
        out = model(p3, p4)
        head = model.get_submodule("head")
        torch.testing.assert_close(out["o4"], head(p4))
        torch.testing.assert_close(out["o3"], head(p3))
    assert out["o4"].shape[1:] == torch.Size(call.output.dims)


def test_a_call_in_a_chain_runs_the_same_weights():
    spec = netspec.loads(TWICE)
    model = spec.build()
    assert list(model.state_dict()) == ["fc.weight", "fc.bias"]
    x = torch.randn(3, 6, 12)
    fc = model.get_submodule("fc")
    with torch.no_grad():
        torch.testing.assert_close(model(x), fc(torch.relu(fc(x))))
    assert spec.macs == 2 * 6 * 12 * 12


@pytest.mark.parametrize("text", [SPPF, SHARED_HEAD, TWICE], ids=["sppf", "head", "twice"])
def test_calls_script_trace_and_export(text):
    spec = netspec.loads(text)
    model = spec.build().eval()
    inputs = tuple(torch.randn(2, *s.dims) for s in spec.input_shapes.values())
    with torch.no_grad():
        expected = model(*inputs)
        for other in (
            torch.jit.script(model),
            torch.fx.symbolic_trace(model),
            torch.export.export(model, inputs).module(),
        ):
            torch.testing.assert_close(other(*inputs), expected)


def test_the_table_marks_each_call(tmp_path):
    path = tmp_path / "sppf.yaml"
    path.write_text(SPPF)
    run = cli("check", str(path), "--table")
    assert run.code == 0
    out = run.out
    rows = [line.split() for line in out.splitlines() if "call m" in line]
    assert len(rows) == 2
    # path, "call", "m:", "maxpool", "5×5", shape (3 words), params, MACs
    assert [r[0] for r in rows] == ["2", "3"]
    assert all(r[-2:] == ["0", "0"] for r in rows)


def test_a_call_follows_what_set_changes_in_its_layer():
    text = """
name: pools
input: [4, 16, 16]
layers:
  - pool: {name: m, mode: max, kernel: 5, stride: 1, padding: 2}
  - call: m
"""
    spec = netspec.loads(text, **{"m.kernel": 3, "m.padding": 0})
    assert [c.output.dims for c in spec.checked.children] == [(4, 14, 14), (4, 12, 12)]
    assert spec.checked.children[1].text() == "call m: maxpool 3×3"
    assert spec.build()(torch.zeros(1, 4, 16, 16)).shape == (1, 4, 12, 12)


def test_the_picture_draws_a_call_as_its_layer_tied_to_it():
    dot = to_dot(netspec.loads(SPPF).checked, "sppf", depth=9)
    pool = "#b2df8a"
    assert dot.count(f'fillcolor="{pool}"') == 3  # the pool and its two calls
    assert dot.count("same module as m") == 2
    assert dot.count('color="#999999:#ffffff:#999999"') == 2  # from the pool to each call
    assert dot.count("rounded,filled,dashed") == 2


def test_ultralytics_sppf_is_one_pool_called_three_times():
    text = """
name: sppf
input: [16, 8, 8]
imports: [std:ultralytics]
layers:
  - SPPF: {name: sppf, c2: 32}
"""
    spec = netspec.loads(text)
    sppf = spec.checked.child("sppf")
    assert sppf is not None
    assert [c.text() for c in sppf.children[1:4]] == ["maxpool 5×5"] + 2 * ["call m: maxpool 5×5"]
    module = spec.build().get_submodule("sppf")
    assert [n for n, _ in module.named_children()] == ["cv1", "m", "4", "cv2"]
    assert isinstance(module.get_submodule("m"), nn.MaxPool2d)
    assert module.code.count("self.m(") == 3


def test_a_call_keeps_the_channels_its_layer_read():
    """A split keeps its input's channels in its module: called on fewer, it is an error, though
    it has no weights to compare."""
    text = """
name: split_again
input: [4, 8, 8]
layers:
  - split: {name: sp, parts: 2, to: [a, b]}
  - call: {layer: sp, from: a}
"""
    with pytest.raises(netspec.NetspecError, match="the same channels") as e:
        netspec.loads(text)
    assert "made for (4, 8, 8)" in str(e.value)


class _SharedHead(nn.Module):
    """A conv applied to two levels, a pool applied three times: one module, several calls."""

    def __init__(self) -> None:
        super().__init__()
        self.cv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.m = nn.MaxPool2d(5, 1, 2)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.m(self.m(self.m(self.cv1(x))))
        small = nn.functional.max_pool2d(y, 2)
        return self.head(y) + nn.functional.interpolate(self.head(small), scale_factor=2.0)


def test_import_writes_a_module_with_weights_called_again_as_a_call():
    torch.manual_seed(0)
    model = _SharedHead().eval()
    text = netspec.from_module(model, [8, 16, 16])
    assert "- call: {layer: head, from: pool}" in text
    spec = netspec.loads(text)
    built = spec.build().eval()
    built.load_state_dict(model.state_dict(), strict=True)
    assert spec.num_params == sum(p.numel() for p in model.parameters())
    x = torch.randn(2, 8, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(built(x), model(x))
