"""Swin Transformer (torchvision's swin_t, swin_s, swin_b) as one spec with three scales.

The shifted window attention is written from its parts (docs/language.md, "Attention as a
block"): the map padded to whole windows and rolled by half a window, cut into windows in an
axis of their own, ``qkv``, the heads in another axis, ``matmul`` of q (scaled) and kᵀ, the
relative position bias ``gather``-ed from its table by the fixed ``relative_position_index``,
torchvision's mask of shifted windows (a non-persistent buffer), ``softmax`` over the last
axis, ``matmul`` with v, ``proj``, and the windows put back. Its keys are torchvision's, so
torchvision's model loads with ``strict=True`` and computes the same; the other scales are
compared with torchvision's models made on the meta device.
"""

from __future__ import annotations

import pytest
import torch
from conftest import need_torchvision
from test_zoo import (
    assert_computes_the_same,
    assert_figures_are_torchvisions,
    published,
    reference,
    torchvision_model,
)

import netspec as ns
from netspec.state_keys import state_keys

#: parameters, MACs at 224×224 (conv, linears and both attention products: torch's flop
#: counter's count, whose half the reference file records) and torchvision's published GFLOPS
EXPECTED = {"swin_t": (28_288_354, 4_490_566_656, 4.491)}

SCALES = ["t", "s", "b"]


def _theirs(scale: str, device: str = "cpu") -> torch.nn.Module:
    return torchvision_model(f"swin_{scale}", device)


def _merging_first(keys: list[tuple[str, tuple[int, ...]]]) -> list[tuple[str, tuple[int, ...]]]:
    """Keys in torchvision's order: its PatchMerging makes reduction before norm, which runs
    first (netspec lists a module's layers in the order they run)."""
    return sorted(keys, key=lambda k: (k[0].split(".")[:2], ".reduction." not in k[0]))


def test_params_and_macs_are_torchvisions():
    assert_figures_are_torchvisions("swin_t", *EXPECTED["swin_t"])


def test_keys_are_torchvisions_and_its_checkpoint_loads():
    spec = ns.load("torchvision/swin_t")
    ours = [(e.key, e.shape.dims) for e in state_keys(spec.checked)]
    expected = reference("swin_t")
    assert sorted(ours) == sorted(expected)
    model = spec.build(device="meta")
    built = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert built == ours
    checkpoint = {k: torch.empty(shape, device="meta") for k, shape in expected}
    result = model.load_state_dict(checkpoint, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys
    # the shifted windows' mask is computed, not loaded, as torchvision's
    assert "features.1.1.attn.attn_mask" in dict(model.named_buffers())


def test_outputs_equal_torchvisions_in_eval_and_in_training():
    # at 64×64 the maps are 16, 8, 4, 2: padded to whole windows (21, 14, 7, 7), the first
    # two stages' odd blocks shifted and masked, the last two unshifted (one window)
    torch.manual_seed(0)
    ours = ns.load("torchvision/swin_t", image_size=64).build()
    # torchvision's model without its init (seconds of CPU): our weights, its own index
    theirs = _theirs("t", "meta").to_empty(device="cpu")
    for module in theirs.modules():
        if hasattr(module, "define_relative_position_index"):
            module.define_relative_position_index()
    weights = {k: v for k, v in ours.state_dict().items() if "relative_position_index" not in k}
    missing = theirs.load_state_dict(weights, strict=False).missing_keys
    assert all(k.endswith(".relative_position_index") for k in missing)
    assert torch.equal(
        ours.state_dict()["features.5.3.attn.relative_position_index"],
        theirs.state_dict()["features.5.3.attn.relative_position_index"],
    )
    # stochastic depth in training: twice a block, the same draws as torchvision's
    assert_computes_the_same(ours, theirs, torch.randn(2, 3, 64, 64))


@pytest.mark.parametrize("scale", SCALES)
def test_every_scale_is_torchvisions_model_of_that_name(scale):
    spec = ns.load("torchvision/swin_t", scale=scale)
    theirs = _theirs(scale, "meta")
    want = [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours = [(e.key, e.shape.dims) for e in state_keys(spec.checked)]
    assert _merging_first(ours) == _merging_first(want)
    assert spec.num_params == sum(p.numel() for p in theirs.parameters())
    # torchvision's published figures for its weights: swin_s 8.741 G, swin_b 15.431 G
    weights = getattr(need_torchvision().models, f"Swin_{scale.upper()}_Weights").IMAGENET1K_V1
    assert published(spec.macs, weights.meta["_ops"])
    assert spec.num_params == weights.meta["num_params"]
    rates = [m.p for n, m in theirs.named_modules() if n.endswith("stochastic_depth")]
    drops = [c for c in spec.checked.walk() if c.node.kind.name == "drop_path"]
    # two a block, after the attention and after the MLP (torchvision: one module called twice)
    assert [c.node.opts.p for c in drops[::2]] == pytest.approx(rates, abs=1e-12)
    assert [c.node.opts.p for c in drops[1::2]] == pytest.approx(rates, abs=1e-12)
    # odd blocks shift, but in the last stage at 224 (7×7, one window) torchvision's forward
    # sets the shift to 0: no roll, no mask there
    shifted = [
        n[: -len(".attn")]
        for n, m in theirs.named_modules()
        if n.endswith(".attn") and m.shift_size[0] > 0 and not n.startswith("features.7.")
    ]
    masks = [c.path for c in spec.checked.walk() if c.path.endswith(".attn.attn_mask")]
    assert masks == [f"{n}.attn.attn_mask" for n in shifted]
