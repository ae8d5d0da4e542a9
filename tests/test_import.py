"""``netspec import`` and ``netspec.from_module``: the spec rebuilds the model exactly.

The round trip: import → check → build → the original's state_dict loads with strict=True →
the same outputs. torchvision's models are in the test environment (``make test``); elsewhere
those tests skip, and under ``CI=true`` a missing torchvision fails them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from conftest import need_torchvision, netspec
from torch import nn

import netspec as ns

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "importing"))
import models


def _round_trip(model: nn.Module, shape: tuple[int, ...]) -> str:
    torch.manual_seed(0)
    model = model.eval()
    for module in model.modules():  # statistics that are not the identity
        if isinstance(module, nn.BatchNorm2d):
            nn.init.uniform_(module.running_mean, -0.1, 0.1)
            nn.init.uniform_(module.running_var, 0.5, 1.5)
    text = ns.from_module(model, shape)
    spec = ns.loads(text)
    ours = spec.build().eval()
    state = model.state_dict()
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict(state, strict=True)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), model(x))
    return text


def test_a_graph_with_functional_calls_round_trips():
    text = _round_trip(models.Gate(), (3, 16, 16))
    assert "mul: {from: [" in text and "add: {from: [" in text
    assert "in_channels" not in text and "kernel: 1}" in text


def test_options_at_their_default_are_left_out():
    text = ns.from_module(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten()), [3, 8, 8])
    assert text.splitlines()[-3:] == ["  - conv: {out: 8, kernel: 3}", "  - relu", "  - flatten"]


TORCHVISION = [
    "alexnet",
    "vgg11",
    "vgg11_bn",
    "resnet18",
    "resnet50",
    "resnext50_32x4d",
    "densenet121",
    "squeezenet1_0",
    "squeezenet1_1",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "mnasnet1_0",
    "googlenet",
]


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_round_trip(name):
    tv = need_torchvision()
    kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    _round_trip(getattr(tv.models, name)(weights=None, **kwargs), (3, 64, 64))


@pytest.mark.parametrize(
    "model,golden_name",
    [(models.WithBilinear, "unsupported_module"), (models.WithView, "unsupported_call")],
)
def test_what_netspec_cannot_express_is_named_at_its_line(model, golden_name, golden, monkeypatch):
    monkeypatch.chdir(Path(__file__).parent.parent)  # the fixture's path as the golden has it
    with pytest.raises(ns.NetspecError) as e:
        ns.from_module(model(), [3, 8, 8])
    golden(f"import/{golden_name}.txt", e.value.format() + "\n")


def test_command_writes_a_spec_that_checks(tmp_path):
    out = tmp_path / "identity.yaml"
    run = netspec("import", "torch.nn:Flatten", "--input", "3,4,4", "-o", str(out))
    assert run.code == 0, run.err
    assert ns.load(str(out)).output_shape == ns.Shape((48,))


@pytest.mark.parametrize(
    "args,message",
    [
        (["torch.nn", "--input", "3,4,4"], "expected MODULE:CALLABLE"),
        (["torch.nn:Nope", "--input", "3,4,4"], "torch.nn has no Nope"),
        (["torch.nn:Flatten", "--input", "3,x"], "expected sizes such as 3,224,224"),
        (["torch.nn:Linear", "--input", "4", "--arg", "out=2"], "unexpected keyword argument"),
    ],
)
def test_command_misuse_is_exit_2(args, message):
    run = netspec("import", *args)
    assert run.code == 2 and message in run.err, run.err
