"""``netspec import`` of torchvision's Swin Transformer: each ``ShiftedWindowAttention`` is a
call of ``std:swin``'s ``window_attention`` and each ``_patch_merging_pad`` of its
``patch_merging_pad``; the spec holds torchvision's keys, loads its state_dict strictly and
computes the same function, at any input size (maps padded to whole windows, maps that one
window covers along one axis only).

Most checks use a small ``SwinTransformer`` (a few seconds); torchvision's ``swin_t`` itself is
imported once, on the meta device, for its counts, keys and ``netspec check``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from conftest import cli, need_torchvision
from test_zoo import assert_computes_the_same, published, torchvision_model
from torch import nn

import netspec as ns


def _swin(**options: Any) -> nn.Module:
    """A Swin of two stages (16 then 32 wide, windows of 4): seconds to import and compare."""
    swin = need_torchvision().models.swin_transformer
    torch.manual_seed(0)
    settings: dict[str, Any] = {
        "patch_size": [4, 4],
        "embed_dim": 16,
        "depths": [2, 2],
        "num_heads": [2, 4],
        "window_size": [4, 4],
        "stochastic_depth_prob": 0.1,
        "num_classes": 10,
        **options,
    }
    return swin.SwinTransformer(**settings).eval()


def _torchvision_order(keys: list[str]) -> list[str]:
    """Keys as torchvision lists them, but for PatchMerging's reduction, which it makes
    before the norm that runs first (netspec lists a module's layers in the order they run)."""
    return [k for k in keys if ".reduction." not in k]


def _round_trip(model: nn.Module, shape: list[int]) -> tuple[str, ns.Spec]:
    text = ns.from_module(model, shape)
    spec = ns.loads(text)
    ours = spec.build().eval()
    theirs = model.state_dict()
    assert sorted(ours.state_dict()) == sorted(theirs)
    assert _torchvision_order(list(ours.state_dict())) == _torchvision_order(list(theirs))
    ours.load_state_dict(theirs, strict=True)
    assert spec.num_params == sum(p.numel() for p in model.parameters())
    x = torch.randn(2, *shape)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), model(x), rtol=1e-5, atol=1e-5)
    return text, spec


def test_a_swin_round_trips_with_its_window_attention_from_the_library():
    model = _swin()
    text, spec = _round_trip(model, [3, 32, 32])
    # in training too: stochastic depth at each block's rate, the same draws as torchvision's
    ours = spec.build()
    ours.load_state_dict(model.state_dict(), strict=True)
    assert_computes_the_same(ours, model, torch.randn(2, 3, 32, 32))
    document = yaml.safe_load(text)
    assert document["imports"] == [
        {"file": "std:swin", "blocks": ["patch_merging_pad", "window_attention"]}
    ]
    block = document["blocks"]["swin_transformer_block"]
    assert block["description"] == "torchvision.models.swin_transformer.SwinTransformerBlock"
    attention = block["layers"][1]["window_attention"]
    assert attention == {"name": "attn", "heads": "${heads}", "window": 4, "shift": "${shift}"}


@pytest.mark.parametrize(
    "shape",
    [
        # 9×9 patches: padded to 3×3 windows of 4; then 5×5, padded to 2×2 windows
        [3, 36, 36],
        # 8×12, then 4×6: one window covers the rows, so torchvision shifts the columns only
        [3, 32, 48],
        [3, 44, 28],
    ],
)
def test_a_map_of_no_whole_number_of_windows_round_trips(shape):
    _round_trip(_swin(), shape)


def test_dropouts_and_biases_are_arguments_of_the_call():
    model = _swin(attention_dropout=0.1, dropout=0.2)
    for module in model.modules():
        if type(module).__name__ == "ShiftedWindowAttention":
            module.proj.bias = None
    text, _ = _round_trip(model, [3, 32, 32])
    assert "attention_dropout: 0.1, dropout: 0.2, proj_bias: false}" in text, text


def test_swin_t_imports_with_torchvisions_figures_and_checks(tmp_path):
    model = torchvision_model("swin_t", "meta")
    text = ns.from_module(model, [3, 224, 224], name="swin_t")
    spec = ns.loads(text)
    shipped = ns.load("torchvision/swin_t")
    weights = need_torchvision().models.Swin_T_Weights.IMAGENET1K_V1
    assert spec.num_params == weights.meta["num_params"] == shipped.num_params
    assert spec.macs == shipped.macs and published(spec.macs, weights.meta["_ops"])
    built = spec.build(device="meta").state_dict()
    want = model.state_dict()
    assert sorted(built) == sorted(want)
    assert _torchvision_order(list(built)) == _torchvision_order(list(want))
    assert [tuple(v.shape) for k, v in sorted(built.items())] == [
        tuple(v.shape) for k, v in sorted(want.items())
    ]
    hand = Path(__file__).parent.parent / "specs" / "torchvision" / "swin_t.yaml"
    assert len(text.splitlines()) < len(hand.read_text(encoding="utf-8").splitlines())
    path = tmp_path / "swin_t.yaml"
    path.write_text(text, encoding="utf-8")
    run = cli("check", str(path))
    assert run.code == 0 and "28,288,354 params" in run.out, run.err


def _error(model: nn.Module) -> str:
    with pytest.raises(ns.NetspecError) as e:
        ns.from_module(model, [3, 32, 32])
    return re.sub(r"^\S*/torchvision/", "torchvision/", e.value.format(), flags=re.MULTILINE)


def test_swin_v2_attention_is_an_error_at_its_line():
    swin = need_torchvision().models.swin_transformer
    model = _swin(block=swin.SwinTransformerBlockV2, downsample_layer=swin.PatchMergingV2)
    message = _error(model)
    first = message.splitlines()[0]
    assert re.fullmatch(
        r"torchvision/models/swin_transformer\.py:\d+:9: error: cannot import module "
        r"features\.1\.0\.attn \(torchvision\.models\.swin_transformer\."
        r"ShiftedWindowAttentionV2\): Swin V2's attention \(cosine attention with a learnt "
        r"logit_scale, and its position bias made by an MLP, cpb_mlp\) has no block in "
        r"std:swin; Swin V1's ShiftedWindowAttention has \(window_attention\)",
        first,
    ), message
    assert "self.stochastic_depth(self.norm1(self.attn(x)))" in message


def test_windows_that_are_not_square_are_an_error_at_their_line():
    message = _error(_swin(window_size=[4, 2]))
    first = message.splitlines()[0]
    assert re.fullmatch(
        r"torchvision/models/swin_transformer\.py:\d+:9: error: cannot import module "
        r"features\.1\.0\.attn \(torchvision\.models\.swin_transformer\.ShiftedWindowAttention"
        r"\): std:swin's window_attention has square windows shifted alike on both axes; "
        r"this one has window_size \[4, 2\] and shift_size \[0, 0\]",
        first,
    ), message
