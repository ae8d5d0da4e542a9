"""``netspec import`` of torchvision's ConvNeXt and ViT (issue 20): layout calls, held tensors
(layer scale, class token, position embedding) and stochastic depth, against torchvision's own
models: the written spec checks, builds with the model's keys in its order, loads its
state_dict strictly and computes the same (in eval, and in training with the same draws).

The whole convnext_tiny and vit_b_16 are imported once each (counts, keys, a strict load);
outputs are compared on smaller instances of the same classes, which take a fraction of the
time.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch
from conftest import cli, need_torchvision
from torch import nn

import netspec as ns

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "importing"))
import beyond
import models

torchvision = need_torchvision()
import beyond_torchvision  # noqa: E402
from torchvision.models.convnext import CNBlockConfig, ConvNeXt  # noqa: E402
from torchvision.models.vision_transformer import VisionTransformer  # noqa: E402
from torchvision.ops import StochasticDepth, stochastic_depth  # noqa: E402


def _imported(model: nn.Module, shape: tuple[int, ...]) -> tuple[str, nn.Module]:
    """The spec text and its module, the model's state_dict loaded strictly, keys compared."""
    text = ns.from_module(model, shape)
    ours = ns.loads(text).build(device="meta")
    assert list(ours.state_dict()) == list(model.state_dict())  # the same keys, in order
    ours.load_state_dict(model.state_dict(), strict=True, assign=True)
    return text, ours


def _same_function(model: nn.Module, shape: tuple[int, ...], train: bool = False) -> str:
    torch.manual_seed(0)
    text, ours = _imported(model.eval(), shape)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), model(x))
        if train:  # stochastic depth: the same draws, block by block
            ours.train(), model.train()
            torch.manual_seed(1)
            theirs = model(x)
            torch.manual_seed(1)
            torch.testing.assert_close(ours(x), theirs)
    return text


def _small_convnext() -> nn.Module:
    torch.manual_seed(0)
    stages = [CNBlockConfig(16, 32, 2), CNBlockConfig(32, None, 3)]
    return ConvNeXt(stages, stochastic_depth_prob=0.4, num_classes=10)


def _small_vit(image_size: int = 32) -> nn.Module:
    torch.manual_seed(0)
    return VisionTransformer(
        image_size=image_size, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32
    )


@pytest.mark.parametrize(
    "name,count",
    [("convnext_tiny", 28_589_128), ("vit_b_16", 86_567_656)],
)
def test_the_whole_model_imports_with_its_keys_and_count(name, count):
    with torch.device("meta"):  # no weights drawn: the keys, shapes and count are compared
        model = getattr(torchvision.models, name)(weights=None)
    text, _ = _imported(model, (3, 224, 224))
    spec = ns.loads(text)
    assert spec.num_params == count == sum(p.numel() for p in model.parameters())
    assert spec.output_shape == ns.Shape((1000,))


def test_convnext_computes_as_torchvision_in_eval_and_training():
    """CNBlock: the layer scale a parameter of shape (C, 1, 1) under its key
    (features.1.0.layer_scale), the MLP channels last between two permutes, LayerNorm2d a
    layernorm over channels, and each block's stochastic depth a drop_path with its rate."""
    model = _small_convnext()
    assert "init: 1e-06" in ns.from_module(model, (3, 32, 32))  # torchvision's layer scale
    for block in model.modules():  # a scale of 1e-6 would hide what stochastic depth drops
        if hasattr(block, "layer_scale"):
            nn.init.ones_(block.layer_scale)
    text = _same_function(model, (3, 32, 32), train=True)
    assert 'shape: ["${out}", 1, 1], init: ones' in text, text
    assert "permute: {axes: [1, 2, 0]}" in text and "permute: {axes: [2, 0, 1]}" in text
    assert "layernorm: {over: channels, eps: 1e-06}" in text
    # the rates rise 0.4 / 4 a block, over both stages: a repeat's expression of its copies
    assert 'body: [{cnblock: {out: "${out}", p: "${p + i / 10}"}}]' in text, text
    theirs = [m.p for m in model.modules() if isinstance(m, StochasticDepth)]
    ours = [m.p for m in ns.loads(text).build().modules() if type(m).__name__ == "DropPath"]
    assert ours == pytest.approx(theirs, abs=1e-12) and theirs[-1] == pytest.approx(0.4)


@pytest.mark.parametrize("image_size", [32, 48])
def test_vit_computes_as_torchvision(image_size):
    """_process_input's sizes (read from x.shape, asserted) are the reshape's -1; the class
    token joins the patches by concat, x[:, 0] is select, the attention is self-attention."""
    text = _same_function(_small_vit(image_size), (3, image_size, image_size))
    assert "reshape: {shape: [16, -1]}" in text, text
    assert "parameter: {name: class_token, shape: [1, 16], batch_axis: true" in text
    tokens = (image_size // 8) ** 2 + 1
    assert f"parameter: {{name: pos_embedding, shape: [{tokens}, 16]" in text
    assert "attention: {name: self_attention, heads: 2}" in text
    assert 'body: [{encoder_block: {name: "encoder_layer_${i}"}}]' in text, text
    assert "select: {index: 0}" in text


def test_the_written_spec_checks_on_the_command_line(tmp_path):
    out = tmp_path / "vit.yaml"
    out.write_text(ns.from_module(_small_vit(), (3, 32, 32)), encoding="utf-8")
    run = cli("check", str(out))
    assert run.code == 0, run.err


class _Layout(nn.Module):
    """One call of a forward, on a (2, 3, 4, 6) map made by a conv."""

    def __init__(self, call) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.call = call

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.call(self.conv(x))


LAYOUT_CALLS = {
    "permute": lambda x: x.permute(0, 2, 3, 1),
    "torch.permute": lambda x: torch.permute(x, (0, 3, 1, 2)),
    "reshape": lambda x: x.reshape(x.shape[0], 4, -1),
    "view with batch -1": lambda x: x.view(-1, 2, 2, 24),
    "flatten between two dims": lambda x: x.flatten(2, 3),
    "torch.flatten": lambda x: torch.flatten(x, 1, 2),
    "transpose": lambda x: x.transpose(1, 3).contiguous(),
    "cat along height": lambda x: torch.cat([x, x * x], dim=2),
    "cat along the last dim": lambda x: torch.cat([x, x], dim=-1),
    "select": lambda x: x[:, 1],
    "select two": lambda x: x[:, 1, :, 2],
    "strided slice": lambda x: x[:, :, 0::2, 1::2],
    "ellipsis": lambda x: x[..., 1:5:2],
    "ellipsis select": lambda x: x[..., 0, :],
    "permute with a negative dim": lambda x: x.permute(0, -1, 1, 2),
    "transpose by keywords": lambda x: torch.transpose(x, dim0=1, dim1=2),
    "reshape by keyword": lambda x: x.reshape(shape=(x.shape[0], -1)),
    "batch from x.size()": lambda x: x.reshape(x.size()[0], 2, -1),
}

#: calls that move, join or pick the batch, or index otherwise: errors of the import
BATCH_CALLS = {
    "reshape(-1)": (lambda x: x.reshape(-1), "joins the batch"),
    "cat on dim 0": (lambda x: torch.cat([x, x], 0), "on the batch"),
    "transpose(0, 1)": (lambda x: x.transpose(0, 1), "on the batch"),
    "x[1:]": (lambda x: x[1:], "keeps the whole batch first"),
    "x[:, None]": (lambda x: x[:, None], "a new axis"),
    "x[:, [0, 1]]": (lambda x: x[:, [0, 1]], "numbers and slices"),
    "expand the map": (lambda x: x.expand(2, -1, -1, -1), "widens only the batch"),
}


@pytest.mark.parametrize("name", list(BATCH_CALLS))
def test_a_call_on_the_batch_is_an_import_error(name):
    call, message = BATCH_CALLS[name]
    with pytest.raises(ns.NetspecError, match=re.escape(message)):
        ns.from_module(_Layout(call), (3, 4, 6))


@pytest.mark.parametrize("name", list(LAYOUT_CALLS))
def test_a_layout_call_imports_as_its_layout_kind(name):
    _same_function(_Layout(LAYOUT_CALLS[name]), (3, 4, 6))


@pytest.mark.parametrize(
    "model", [models.WithView, models.ReadsShape, beyond.LayerScale], ids=lambda m: m.__name__
)
def test_reshapes_and_held_tensors_of_small_models_import(model):
    _same_function(model(), (3, 8, 8))


def test_a_forward_calling_stochastic_depth_itself_imports_as_drop_path():
    class Row(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + stochastic_depth(self.conv(x), 0.25, "row", self.training)

    text = _same_function(Row(), (3, 4, 4), train=True)
    assert "drop_path: {p: 0.25" in text, text


@pytest.mark.parametrize(
    "model,shape,golden_name",
    [
        (beyond.Masked, [4, 8], "attention_mask"),
        (beyond.PaddingMask, [4, 8], "attention_key_padding_mask"),
        (beyond.OtherKeys, [4, 8], "attention_other_keys"),
        (beyond_torchvision.BatchMode, [4, 8], "stochastic_depth_batch"),
        (beyond_torchvision.BatchModeCall, [4, 8], "stochastic_depth_batch_call"),
        (beyond_torchvision.MovesTheBatch, [4, 8], "permute_moves_the_batch"),
        (beyond.ReadsItsChildsTensor, [3, 4, 4], "parameter_read_elsewhere"),
        (beyond.MakesATensor, [3, 4, 4], "tensor_made_in_forward"),
        (beyond.FoldsIntoTheBatch, [3, 4, 4], "reshape_folds_into_the_batch"),
        (beyond.UpsamplesByItsSize, [3, 4, 4], "upsample_to_computed_sizes"),
    ],
)
def test_what_stays_inexpressible_is_named_at_its_line(
    model, shape, golden_name, golden, monkeypatch
):
    monkeypatch.chdir(Path(__file__).parent.parent)  # the fixture's path as the golden has it
    with pytest.raises(ns.NetspecError) as e:
        ns.from_module(model(), shape)
    golden(f"import/{golden_name}.txt", e.value.format() + "\n")


def test_only_a_rate_that_rises_evenly_is_a_progression():
    from netspec.importing.progression import rising, steps

    rates = [{"p": 0.1 * k / 17, "out": 8} for k in range(3, 7)]
    found = steps(rates, 0, {"p"})
    assert found is not None and found["p"][1] == 1 / 170
    assert rising(found["p"][0], found["p"][1]) == f"${{{found['p'][0]!r} + i / 170}}"
    assert rising("${p}", found["p"][1]) == "${p + i / 170}"
    assert steps(rates, 0, set()) is None  # p is no rate here: the calls differ
    assert steps([{"p": 0.0}, {"p": 0.1}, {"p": 0.3}], 0, {"p"}) is None  # uneven
    assert steps([{"out": 8}, {"out": 16}], 0, {"out"}) is None  # whole numbers: structure
    assert steps([{"p": 0.2}, {"p": 0.3}], 1, {"p"})["p"] == pytest.approx((0.1, 0.1))
