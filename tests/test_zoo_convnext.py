"""ConvNeXt (torchvision's convnext_tiny ... _large) as one spec with four scales.

The block is written with the layers torchvision's CNBlock holds: a depthwise conv, the
channels moved last (``permute``) for layernorm and an MLP of per-pixel linears, a learned
``parameter`` layer scale of shape (C, 1, 1) multiplied in, ``drop_path`` (stochastic depth,
its rate rising with the block's number over all stages), the input added back. Its
``state_dict`` is torchvision's key for key and in order (``features.1.0.layer_scale``,
``features.1.0.block.3.weight``), so torchvision's model loads with ``strict=True`` and computes
the same, in eval and, drawing the same random numbers, in training; the other scales are
compared with torchvision's models made on the meta device (no memory).
"""

from __future__ import annotations

import pytest
import torch
from test_zoo import (
    assert_computes_the_same,
    assert_figures_are_torchvisions,
    assert_loads_torchvisions_checkpoint,
    torchvision_model,
)

import netspec as ns
from netspec.state_keys import state_keys

#: parameters, MACs (conv and linear weights at 224×224: torch's flop counter's count, whose
#: half the reference file records) and torchvision's published GFLOPS
EXPECTED = {"convnext_tiny": (28_589_128, 4_455_531_264, 4.456)}

SCALES = ["tiny", "small", "base", "large"]


def _theirs(scale: str, device: str = "cpu") -> torch.nn.Module:
    return torchvision_model(f"convnext_{scale}", device)


def test_params_and_macs_are_torchvisions():
    assert_figures_are_torchvisions("convnext_tiny", *EXPECTED["convnext_tiny"])


def test_keys_are_torchvisions_and_its_checkpoint_loads():
    spec = assert_loads_torchvisions_checkpoint("convnext_tiny")
    assert "features.1.0.layer_scale" in state_keys(spec.checked).entries


def test_outputs_equal_torchvisions_in_eval_and_in_training():
    torch.manual_seed(0)
    theirs = _theirs("tiny")
    with torch.no_grad():  # a layer scale of 1e-6 would hide a wrong block: make it count
        for name, p in theirs.named_parameters():
            if name.endswith("layer_scale"):
                p.uniform_(0.5, 1.5)
    ours = ns.load("torchvision/convnext_tiny").build()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    # stochastic depth in training: the same draws, block by block, each block's rate theirs
    assert_computes_the_same(ours, theirs, torch.randn(2, 3, 64, 64))


@pytest.mark.parametrize("scale", SCALES)
def test_every_scale_is_torchvisions_model_of_that_name(scale):
    spec = ns.load("torchvision/convnext_tiny", scale=scale)
    theirs = _theirs(scale, "meta")
    want = [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert [(e.key, e.shape.dims) for e in state_keys(spec.checked)] == want
    assert spec.num_params == sum(p.numel() for p in theirs.parameters())
    rates = [m.p for n, m in theirs.named_modules() if n.endswith("stochastic_depth")]
    drops = [c for c in spec.checked.walk() if c.node.kind.name == "drop_path"]
    assert [c.node.opts.p for c in drops] == pytest.approx(rates, abs=1e-12)
    assert [c.path for c in drops] == [
        n for n, _ in theirs.named_modules() if n.endswith("stochastic_depth")
    ]
