"""``netspec import`` of torch's own transformer modules: nn.TransformerEncoder (whose forward
torch.fx cannot trace) and nn.MultiheadAttention as the ``attention`` kind; the spec holds the
same keys and computes the same function, and reads like specs/transformer_encoder.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

import netspec as ns


def _encoder(**layer: object) -> nn.TransformerEncoder:
    torch.manual_seed(0)
    options: dict[str, object] = {"batch_first": True, **layer}
    made = nn.TransformerEncoderLayer(512, 8, 2048, **options)  # type: ignore[arg-type]
    return nn.TransformerEncoder(made, 6, enable_nested_tensor=False).eval()


def _round_trip(model: nn.Module, shape: list[int]) -> tuple[str, ns.Spec]:
    text = ns.from_module(model, shape)
    spec = ns.loads(text)
    ours = spec.build().eval()
    assert sorted(ours.state_dict()) == sorted(model.state_dict())
    ours.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), model(x), rtol=1e-4, atol=1e-5)
    return text, spec


def test_transformer_encoder_round_trips_as_the_shipped_spec():
    model = _encoder()
    text, spec = _round_trip(model, [32, 512])
    shipped = ns.load("transformer_encoder")
    assert spec.num_params == shipped.num_params == 18_914_304
    assert spec.macs == shipped.macs
    assert sorted(spec.build(device="meta").state_dict()) == sorted(
        shipped.build(device="meta").state_dict()
    )
    document = yaml.safe_load(text)
    [block] = document["blocks"].values()
    assert block["description"] == "torch.nn.TransformerEncoderLayer"
    assert block["layers"][0] == {"attention": {"name": "self_attn", "heads": 8, "dropout": 0.1}}
    [repeat] = document["layers"]
    assert repeat["repeat"]["times"] == 6 and repeat["repeat"]["name"] == "layers"


def test_a_pre_norm_encoder_with_gelu_and_a_last_norm_round_trips():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        64, 4, 128, batch_first=True, norm_first=True, activation="gelu", bias=False
    )
    model = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(64), enable_nested_tensor=False)
    text, _ = _round_trip(model.eval(), [10, 64])
    assert "- gelu" in text and "bias: false" in text
    assert text.rstrip().endswith("- layernorm: {name: norm}")


def test_the_model_itself_is_left_as_it_was():
    model = _encoder()
    ns.from_module(model, [8, 512])
    assert type(model.layers[0]) is nn.TransformerEncoderLayer


class _Cross(nn.Module):
    def __init__(self, batch_first: bool = True) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 2, batch_first=batch_first)
        self.q = nn.Linear(16, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.attn(self.q(x), x, x)[0]
        return out


def test_attention_other_than_self_attention_is_an_error_at_the_call():
    with pytest.raises(ns.NetspecError, match=r"module attn is an nn\.MultiheadAttention used"):
        ns.from_module(_Cross(), [5, 16])


def test_multihead_attention_that_is_not_batch_first_says_why():
    class NotBatchFirst(_Cross):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.attn(x, x, x)[0]
            return out

    with pytest.raises(ns.NetspecError, match="batch_first=True"):
        ns.from_module(NotBatchFirst(batch_first=False), [5, 16])


def test_docs_report_the_lines_of_the_import():
    root = Path(__file__).parent.parent
    lines = len(ns.from_module(_encoder(), [32, 512]).splitlines())
    hand = len((root / "specs" / "transformer_encoder.yaml").read_text().splitlines())
    row = f"| {lines} | {hand} (`specs/transformer_encoder.yaml`) | {lines / hand:.2f} |"
    assert row in (root / "docs" / "import.md").read_text(encoding="utf-8")
