"""Residual adds that write into a tensor nothing reads afterwards
(:func:`netspec.accumulate.accumulate_in_place`): which adds may, the same sums bit for bit,
a new tensor wherever autograd records the add, and the module still traces and scripts."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
import torch
import yaml
from conftest import at_input
from torch import Tensor, nn

import netspec
from netspec.accumulate import accumulate_in_place
from netspec.modules import Add, Residual, SequentialResidual

X = torch.randn(2, 8, 6, 6)


def build(layers: list[Any]) -> tuple[nn.Module, nn.Module, int]:
    """The network of ``layers`` on (8, 6, 6) twice, with the same weights: as built, and
    with its adds marked; how many were marked."""
    spec = netspec.loads(yaml.safe_dump({"name": "acc", "input": [8, 6, 6], "layers": layers}))
    plain, marked = spec.build(seed=0).eval(), spec.build(seed=0).eval()
    return plain, marked, accumulate_in_place(marked)


def sums(model: nn.Module, x: Tensor) -> list[tuple[bool, Tensor]]:
    """Each add's result in one forward pass, and whether it is one of its operands' storage."""
    seen: list[tuple[bool, Tensor]] = []

    def hook(module: nn.Module, args: tuple[list[Tensor]], out: Tensor) -> None:
        seen.append((any(out.data_ptr() == t.data_ptr() for t in args[0]), out.detach()))

    for m in model.modules():
        if isinstance(m, Add):
            m.register_forward_hook(hook)
    model(x)
    return seen


BRANCH = {"conv": {"out": 8, "kernel": 3, "padding": 1, "to": "branch"}}


def test_writes_into_the_branch_made_for_the_add() -> None:
    plain, marked, count = build([BRANCH, {"add": {"from": ["input", "branch"]}}])
    assert count == 1
    with torch.no_grad():
        written = sums(marked, X)
        assert [w for w, _ in written] == [True]
        assert torch.equal(written[0][1], plain(X))


def test_leaves_a_tensor_read_after_the_add() -> None:
    layers = [
        BRANCH,
        {"add": {"from": ["branch", "input"], "to": "total"}},
        {"mul": {"from": ["total", "branch"]}},
    ]
    plain, marked, count = build(layers)
    assert count == 0  # the branch is read by the product, the input is the caller's
    x = X.clone()
    with torch.no_grad():
        assert torch.equal(marked(x), plain(X))
    assert torch.equal(x, X)


def test_training_makes_a_new_tensor_with_the_same_gradients() -> None:
    plain, marked, _ = build([BRANCH, {"add": {"from": ["branch", "input"]}}])
    written = sums(marked, X)
    assert [w for w, _ in written] == [False]
    marked(X).sum().backward()
    plain(X).sum().backward()
    for (name, a), b in zip(marked.named_parameters(), plain.parameters(), strict=True):
        assert a.grad is not None and b.grad is not None
        assert torch.equal(a.grad, b.grad), name


def test_a_sum_that_does_not_fit_the_operand_is_new() -> None:
    # the gate (8, 1, 1) is made for the add, but the sum is (8, 6, 6): it cannot hold it
    layers = [
        {"pool": {"mode": "avg", "global": True}},
        {"conv": {"out": 8, "kernel": 1, "to": "gate"}},
        {"add": {"from": ["gate", "input"]}},
    ]
    plain, marked, count = build(layers)
    assert count == 1
    with torch.no_grad():
        written = sums(marked, X)
        assert [w for w, _ in written] == [False]
        assert torch.equal(written[0][1], plain(X))


def test_traces_and_scripts() -> None:
    plain, marked, _ = build([BRANCH, {"add": {"from": ["input", "branch"]}}])
    with torch.no_grad():
        want = plain(X)
        for module in (torch.fx.symbolic_trace(marked), torch.jit.script(marked)):
            assert torch.equal(module(X), want)


#: zoo networks at a smaller image size: the same blocks, a fifth of the forward pass (not Swin:
#: below 224 its maps are no multiple of its 7×7 windows, and padded branches cannot hold a sum)
SMALL = ["torchvision/convnext_tiny", "torchvision/resnet18"]


def load(name: str) -> netspec.Spec:
    spec = netspec.load(name)
    return at_input(spec, 96) if name in SMALL else spec


@pytest.mark.parametrize("name", ["torchvision/convnext_tiny", "torchvision/swin_t"])
def test_shipped_residual_blocks(name: str) -> None:
    spec = load(name)
    plain, marked = spec.build(seed=0).eval(), spec.build(seed=0).eval()
    accumulate_in_place(marked)
    adds = [(k, m) for k, m in marked.named_modules() if isinstance(m, Add)]
    # every residual add (its block's input plus a branch) writes into the branch
    blocks = [k for k, m in adds if k.count(".") == 3]
    assert blocks and all(m.into >= 0 for k, m in adds if k in blocks)
    x = torch.randn(1, *spec.input_shape.dims)
    with torch.no_grad():
        assert torch.equal(marked(x), plain(x))


def test_a_small_strided_operand_is_made_dense_before_the_add() -> None:
    # Swin's relative position bias: (heads, w², w²) permuted from its table's (w², heads)
    bias = torch.randn(49, 49, 3).permute(2, 0, 1).unsqueeze(0)
    scores = torch.randn(16, 3, 49, 49)
    with torch.profiler.profile() as p:
        out = Add()([scores, bias])
    assert torch.equal(out, scores + bias)
    assert "aten::clone" in {e.key for e in p.key_averages()}  # the bias, made contiguous
    with torch.profiler.profile() as p:  # as large as the sum: read where it lies
        Add()([scores, scores.transpose(-2, -1)])
    assert "aten::clone" not in {e.key for e in p.key_averages()}


@pytest.mark.parametrize("name", ["resnet", "torchvision/resnet18"])
def test_residuals_write_into_their_body(name: str) -> None:
    # torchvision's BasicBlock: out += identity (a Residual, and a SequentialResidual)
    spec = load(name)
    plain, marked = spec.build(seed=0).eval(), spec.build(seed=0).eval()
    accumulate_in_place(marked)
    blocks = [m for m in marked.modules() if isinstance(m, Residual | SequentialResidual)]
    assert blocks and all(m._accumulate for m in blocks)
    x = torch.randn(2, *spec.input_shape.dims)
    kept = x.clone()
    with torch.no_grad():
        assert torch.equal(marked(x), plain(x))
    assert torch.equal(x, kept)
    for module in (torch.fx.symbolic_trace(marked), torch.jit.script(marked)):
        with torch.no_grad():
            assert torch.equal(module.eval()(x), plain(x))
    marked.train()(x).sum().backward()  # autograd records the sums: new tensors
    assert all(p.grad is not None for p in marked.parameters())


def test_an_empty_body_leaves_its_input() -> None:
    block = SequentialResidual(OrderedDict(), 0, False)
    accumulate_in_place(block)
    x = torch.randn(2, 3)
    with torch.no_grad():
        assert torch.equal(block(x), 2 * x)
    assert not block._accumulate and torch.equal(x + x, 2 * x)
