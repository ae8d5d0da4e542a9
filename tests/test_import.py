"""``netspec import`` and ``netspec.from_module``: the spec rebuilds the model exactly.

The round trip: import → check → build → the original's state_dict loads with strict=True →
the same outputs. torchvision's models are in the test environment (``make test``); elsewhere
those tests skip, and under ``CI=true`` a missing torchvision fails them.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
from pathlib import Path

import pytest
import torch
import yaml
from conftest import cli, need_torchvision
from torch import nn

import netspec as ns

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "importing"))
import beyond
import models


def _round_trip(model: nn.Module, shape: tuple[int, ...]) -> str:
    """Import, check, build (on the meta device: the original's weights are loaded, so none
    need drawing), load the state_dict strictly, and compare outputs."""
    torch.manual_seed(0)
    model = model.eval()
    for module in model.modules():  # statistics that are not the identity
        if isinstance(module, nn.BatchNorm2d):
            nn.init.uniform_(module.running_mean, -0.1, 0.1)
            nn.init.uniform_(module.running_var, 0.5, 1.5)
    text = ns.from_module(model, shape)
    spec = ns.loads(text)
    ours = spec.build(device="meta").eval()
    state = model.state_dict()
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict(state, strict=True, assign=True)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        expected, got = model(x), ours(x)
    if isinstance(expected, dict | tuple | list):  # several outputs: a dict, in their order
        expected = list(expected.values() if isinstance(expected, dict) else expected)
        got = list(got.values())
    torch.testing.assert_close(got, expected)
    return text


def test_a_graph_with_functional_calls_round_trips():
    text = _round_trip(models.Gate(), (3, 16, 16))
    assert "mul: {from: [" in text and "add: {from: [" in text
    assert "in_channels" not in text and "kernel: 1}" in text


def test_options_at_their_default_are_left_out():
    text = ns.from_module(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten()), [3, 8, 8])
    assert text.splitlines()[-3:] == ["  - conv: {out: 8, kernel: 3}", "  - relu", "  - flatten"]


#: torchvision's classification models netspec has kinds for, with the lines of their imported
#: specs (docs/import.md shows the same table, beside the hand-written zoo specs)
TORCHVISION = [
    "alexnet",
    "vgg11",
    "vgg11_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnext50_32x4d",
    "wide_resnet50_2",
    "googlenet",
    "densenet121",
    "squeezenet1_0",
    "squeezenet1_1",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "shufflenet_v2_x1_0",
    "efficientnet_b0",
    "mnasnet1_0",
    "regnet_x_400mf",
]


#: in the table, not in the round trips above at 64 × 64 (ViT's position embedding is for 224;
#: Swin lists PatchMerging's keys in the order its layers run; tests/test_import_vit_convnext.py
#: and tests/test_import_swin.py compare these with torchvision)
TABLE_ONLY = ["convnext_tiny", "vit_b_16", "swin_t"]


def _torchvision(name: str, device: str = "cpu") -> nn.Module:
    """A model with random weights (:func:`_with_weights`); on ``meta``, without any (RegNet
    computes its widths with tensors, so it is made on the CPU, with torchvision's)."""
    tv = need_torchvision()
    kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    if name.startswith("regnet"):
        return getattr(tv.models, name)(weights=None, **kwargs)
    with torch.device("meta"):
        model = getattr(tv.models, name)(weights=None, **kwargs)
    return model if device == "meta" else _with_weights(model)


#: random tensors of a million values or more, by shape and by which of that shape in its model
#: they are: VGG's 123 M classifier weights are drawn once for the six VGGs and bench's VGG, not
#: twice for each (torch's default, then torchvision's own), which took most of their round trip
_LARGE: dict[tuple[tuple[int, ...], int], torch.Tensor] = {}


def _with_weights(model: nn.Module) -> nn.Module:
    """``model`` (built on the meta device) on the CPU, its weights drawn once at a scale that
    keeps the activations of a deep ReLU network near 1 (He's), so that outputs compared are
    not all near 0; biases and normalisations' weights near 0 and 1. The tensors of a shape are
    different tensors within a model; large ones are shared between models, never written."""
    model = model.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(0)
    seen: dict[tuple[int, ...], int] = {}
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        shape = tuple(tensor.shape)
        if tensor.dim() >= 2 and tensor.numel() >= 2**20:
            key = (shape, seen.setdefault(shape, 0))
            seen[shape] += 1
            if key not in _LARGE:
                _LARGE[key] = _he(torch.empty(shape), torch.Generator().manual_seed(len(_LARGE)))
            tensor.data = _LARGE[key]
        elif tensor.dim() >= 2:
            _he(tensor.data, generator)
        elif name.endswith("num_batches_tracked"):
            tensor.data.zero_()
        elif name.endswith(("weight", "running_var")):
            tensor.data.uniform_(0.5, 1.5, generator=generator)
        elif name.endswith(("bias", "running_mean")):
            tensor.data.uniform_(-0.1, 0.1, generator=generator)
        else:
            raise AssertionError(f"{name}: no rule draws it")
    return model


def _he(weight: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    fan_in = weight[0].numel()
    bound = (6 / fan_in) ** 0.5
    return weight.uniform_(-bound, bound, generator=generator)


@pytest.mark.slow
@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_round_trip(name):
    _round_trip(_torchvision(name), (3, 64, 64))


def _hand_written_lines(name: str) -> int | None:
    path = Path(__file__).parent.parent / "specs" / "torchvision" / f"{name}.yaml"
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else None


def test_resnet50_reads_like_the_hand_written_spec():
    """A block for the bottleneck, a repeat for each stage, and at most twice the lines of
    specs/torchvision/resnet50.yaml."""
    text = ns.from_module(_torchvision("resnet50", "meta"), (3, 224, 224))
    hand = _hand_written_lines("resnet50")
    assert hand is not None and len(text.splitlines()) <= 2 * hand, text
    document = yaml.safe_load(text)
    assert "bottleneck" in document["blocks"], list(document["blocks"])
    stages = [(k, v) for e in document["layers"] if isinstance(e, dict) for k, v in e.items()]
    calls = {v["name"]: k for k, v in stages if isinstance(v, dict) and "name" in v}
    assert [n for n in calls if n.startswith("layer")] == ["layer1", "layer2", "layer3", "layer4"]
    stage = document["blocks"][calls["layer1"]]["layers"]
    assert len(stage) == 1 and "repeat" in stage[0], stage
    assert {"times", "first", "body"} <= set(stage[0]["repeat"])


def test_docs_report_the_line_ratio_of_every_model():
    """docs/import.md's table: each model's imported lines, and the hand-written spec's."""
    table = (Path(__file__).parent.parent / "docs" / "import.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` \| (\d+) \|", table, re.MULTILINE))
    assert sorted(rows) == sorted(TORCHVISION + TABLE_ONLY)
    for name in TORCHVISION + TABLE_ONLY:
        lines = len(ns.from_module(_torchvision(name, "meta"), (3, 224, 224)).splitlines())
        assert int(rows[name]) == lines, name
        hand = _hand_written_lines(name)
        if hand is not None:
            assert f"| `{name}` | {lines} | {hand} | {lines / hand:.2f} |" in table


#: bench/'s hand-written references: the seed's six networks as corrected PyTorch code
#: (reference_models), and the graph and mobile networks; each at the input it is timed with
REFERENCES = {
    "lenet": ("reference_models", "lenet", (1, 28, 28)),
    "alexnet": ("reference_models", "alexnet", (3, 224, 224)),
    "vgg": ("reference_models", "vgg", (3, 224, 224)),
    "nin": ("reference_models", "nin", (1, 224, 224)),
    "googlenet": ("reference_models", "googlenet", (1, 96, 96)),
    "resnet": ("reference_models", "resnet18", (1, 96, 96)),
    "unet": ("reference_graphs", "unet", (3, 64, 64)),
    "squeezenet1_0": ("reference_graphs", "squeezenet1_0", (3, 64, 64)),
    "shufflenet_v2_x1_0": ("reference_graphs", "shufflenet_v2_x1_0", (3, 64, 64)),
    "densenet121": ("reference_graphs", "densenet121", (3, 64, 64)),
    "resnet50_fpn": ("reference_graphs", "resnet50_fpn", (3, 64, 64)),
    "efficientnet_b0": ("reference_mobile", "efficientnet_b0", (3, 64, 64)),
    "mobilenet_v2": ("reference_mobile", "mobilenet_v2", (3, 64, 64)),
    "mobilenet_v3_small": ("reference_mobile", "mobilenet_v3_small", (3, 64, 64)),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", REFERENCES)
def test_bench_reference_round_trip(name):
    _reference_round_trip(name)


@functools.cache
def _reference_round_trip(name: str) -> str:
    """The spec of a bench reference, once it has round-tripped (once for the tests that ask)."""
    module, function, shape = REFERENCES[name]
    make = getattr(importlib.import_module(f"bench.{module}"), function)
    with torch.device("meta"):
        model = make()
    return _round_trip(_with_weights(model), shape)


def test_interleaved_modules_are_written_module_by_module():
    """The FPN runs inner_blocks[3], layer_blocks[3], inner_blocks[2], ...: the spec lists each
    ModuleList whole (the same tensors, in an order the data flow allows) and reads the
    lateral's size by name."""
    text = _reference_round_trip("resnet50_fpn")
    assert text.count("name: inner_blocks") == text.count("name: layer_blocks") == 1
    assert 'size: ["${height(' in text


@pytest.mark.parametrize("name", ["lenet", "resnet", "squeezenet1_0"])
def test_a_saved_pt2_archive_round_trips(name, tmp_path):
    """torch.export's archive: the rebuilt spec takes the archive's state_dict strictly and
    computes what the original did (the structure and the blocks as from the Python model)."""
    module, function, shape = REFERENCES[name]
    model = getattr(importlib.import_module(f"bench.{module}"), function)().eval()
    x = torch.randn(2, *shape)
    path = tmp_path / f"{name}.pt2"
    torch.export.save(torch.export.export(model, (x,)), str(path))
    text = ns.from_exported(path, name)
    assert text == ns.from_module(model, shape, name=name, origin=str(path))
    ours = ns.loads(text).build(device="meta").eval()
    state = torch.export.load(str(path)).module().state_dict()
    ours.load_state_dict(state, strict=True, assign=True)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), model(x))


def test_a_pt2_operator_without_a_kind_is_named_at_its_line(golden, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).parent.parent)
    path = tmp_path / "view.pt2"
    model = models.WithView().eval()
    torch.export.save(torch.export.export(model, (torch.randn(1, 3, 8, 8),)), str(path))
    with pytest.raises(ns.NetspecError) as e:
        ns.from_exported(path)
    golden("import/pt2_unsupported.txt", e.value.format().replace(str(path), "view.pt2") + "\n")


def test_command_imports_a_pt2_archive(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten()).eval()
    archive = tmp_path / "small.pt2"
    torch.export.save(torch.export.export(model, (torch.randn(1, 3, 6, 6),)), str(archive))
    run = cli("import", str(archive), "-o", str(tmp_path / "small.yaml"))
    assert run.code == 0, run.err
    spec = ns.load(str(tmp_path / "small.yaml"))
    assert spec.input_shape == ns.Shape((3, 6, 6)) and spec.output_shape == ns.Shape((64,))
    run = cli("import", str(archive), "--input", "3,6,6")
    assert run.code == 2 and "has its input shape" in run.err, run.err


def test_a_repeat_keeps_the_numbers_of_its_copies():
    """Equal units numbered 0, 2, 3: 2 and 3 may be a repeat, 0 and 2 may not."""
    model = models.SkipsAChild()
    model.stage[1] = nn.Identity()  # a child that never runs, without weights
    text = _round_trip(model, (4, 6, 6))
    assert "times: 2" in text and "times: 3" not in text, text


def test_several_inputs_are_named_inputs(tmp_path):
    model = models.TwoInputs().eval()
    text = ns.from_module(model, [[3, 8, 8], [1, 8, 8]])
    assert "inputs: {x: [3, 8, 8], mask: [1, 8, 8]}" in text, text
    ours = ns.loads(text).build(device="meta").eval()
    ours.load_state_dict(model.state_dict(), strict=True, assign=True)
    x, mask = torch.randn(2, 3, 8, 8), torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(ours(x, mask), model(x, mask))
    with pytest.raises(ns.NetspecError, match="takes 2 input"):
        ns.from_module(model, [3, 8, 8])


def test_several_outputs_are_named_outputs():
    text = _round_trip(models.TwoHeads(), (3, 8, 8))
    assert "outputs: {mask: null, edges: null}" in text


@pytest.mark.parametrize(
    "model,golden_name",
    [
        (models.WithBilinear, "unsupported_module"),
        (beyond.WithCumsum, "unsupported_call"),
        (beyond.ScalesBySize, "reads_shape"),
    ],
)
def test_what_netspec_cannot_express_is_named_at_its_line(model, golden_name, golden, monkeypatch):
    monkeypatch.chdir(Path(__file__).parent.parent)  # the fixture's path as the golden has it
    with pytest.raises(ns.NetspecError) as e:
        ns.from_module(model(), [3, 8, 8])
    golden(f"import/{golden_name}.txt", e.value.format() + "\n")


def test_command_writes_a_spec_that_checks(tmp_path):
    out = tmp_path / "identity.yaml"
    run = cli("import", "torch.nn:Flatten", "--input", "3,4,4", "-o", str(out))
    assert run.code == 0, run.err
    assert ns.load(str(out)).output_shape == ns.Shape((48,))


@pytest.mark.parametrize(
    "args,message",
    [
        (["torch.nn", "--input", "3,4,4"], "expected MODULE:CALLABLE"),
        (["torch.nn:Nope", "--input", "3,4,4"], "torch.nn has no Nope"),
        (["torch.nn:Flatten", "--input", "3,x"], "expected sizes such as 3,224,224"),
        (["torch.nn:Linear", "--input", "4", "--arg", "out=2"], "unexpected keyword argument"),
        (["torch.nn:Flatten"], "--input C,H,W is required"),
        (["missing.pt2"], "missing.pt2: no such file"),
    ],
)
def test_command_misuse_is_exit_2(args, message):
    run = cli("import", *args)
    assert run.code == 2 and message in run.err, run.err
