"""Two graph networks of the zoo against their hand-written references (bench/reference_graphs.py).

``specs/unet.yaml``: the classic U-Net as one recursive block, with the reference's keys.
``specs/torchvision/resnet50_fpn.yaml``: torchvision's ResNet-50 + FPN detection backbone, with
torchvision's keys (``tests/data/torchvision/resnet50_fpn.txt``) and five named outputs.

For both: the static parameters and MACs are the reference's (its MACs measured with forward
hooks), the ``state_dict`` is the reference's key for key and loads strictly, and with the
reference's weights loaded (and non-trivial batchnorm statistics) every output equals the
reference's; the module (its modules, fewer and narrower: ``SCRIPTED``) scripts, traces and
exports. Small inputs (3×64×64) keep this fast: both networks are fully convolutional.
"""

from __future__ import annotations

import pytest
import torch
from conftest import ROOT
from crosscheck import assert_static_matches_module, measure, randomise_norms
from torch import nn

import netspec as ns
from bench import reference_graphs as ref

DATA = ROOT / "tests" / "data" / "torchvision"

#: parameters, MACs (netspec's count, equal to the reference's measured conv MACs) and
#: published GFLOPS (None: torchvision publishes none for a backbone without its heads)
EXPECTED = {
    "resnet50_fpn": (26_852_416, 6_929_104_896, None),  # at 3×224×224
    "unet": (31_037_698, 48_171_581_440, None),  # at 3×256×256
}

SPECS = {"resnet50_fpn": "torchvision/resnet50_fpn", "unet": "unet"}
REFERENCES = {"resnet50_fpn": ref.resnet50_fpn, "unet": ref.unet}
#: netspec's output names for torchvision's
FPN_OUTPUTS = {"p2": "0", "p3": "1", "p4": "2", "p5": "3", "pool": "pool"}


def layout(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def torchvision_layout(name: str) -> list[tuple[str, tuple[int, ...]]]:
    """torchvision's state_dict keys and shapes, in order, from the data file."""
    lines = (DATA / f"{name}.txt").read_text().splitlines()[1:]
    rows = [line.split(" ", 1) for line in lines]
    return [(k, tuple(int(d) for d in s.strip("[]").split(",") if d.strip())) for k, s in rows]


def with_statistics(model: nn.Module) -> nn.Module:
    """Random weights and batchnorm statistics, so that a misplaced layer shows."""
    torch.manual_seed(0)
    return randomise_norms(model).eval()


@pytest.fixture(scope="module")
def unet() -> tuple[ns.Spec, nn.Module, nn.Module]:
    """The spec at 3×64×64, its module with the reference's weights, and the reference."""
    spec = ns.load("unet", size=64)
    reference = with_statistics(ref.unet())
    model = spec.build().eval()
    model.load_state_dict(reference.state_dict(), strict=True)
    return spec, model, reference


@pytest.fixture(scope="module")
def fpn() -> tuple[ns.Spec, nn.Module, nn.Module]:
    """The spec (at 3×224×224), its module with the reference's weights, and the reference."""
    spec = ns.load("torchvision/resnet50_fpn")
    reference = with_statistics(ref.resnet50_fpn())
    model = spec.build().eval()
    model.load_state_dict(reference.state_dict(), strict=True)
    return spec, model, reference


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_params_and_macs_are_the_references(name):
    spec = ns.load(SPECS[name])
    params, macs, _ = EXPECTED[name]
    assert spec.num_params == params
    assert spec.macs == macs
    with torch.device("meta"):  # nothing allocated, nothing initialised
        reference = REFERENCES[name]()
    assert sum(p.numel() for p in reference.parameters()) == params
    _, measured = measure(reference, spec.input_shape.dims)
    assert sum(measured.values()) == macs


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_state_dict_is_the_references(name):
    model = ns.load(SPECS[name]).build(device="meta")
    with torch.device("meta"):
        expected = layout(REFERENCES[name]())
    assert layout(model) == expected
    if name == "resnet50_fpn":
        assert expected == torchvision_layout(name)
    checkpoint = {k: torch.empty(shape, device="meta") for k, shape in expected}
    result = model.load_state_dict(checkpoint, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_unet_computes_the_reference(unet):
    spec, model, reference = unet
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out = model(x)
        assert out.shape == (2, 2, 64, 64)
        assert torch.allclose(out, reference(x), atol=1e-5)
    assert_static_matches_module(spec, model)


def test_fpn_computes_the_reference_at_every_output(fpn):
    spec, model, reference = fpn
    assert spec.output_names == list(FPN_OUTPUTS)
    assert {n: s.dims for n, s in spec.output_shapes.items()} == {
        "p2": (256, 56, 56),
        "p3": (256, 28, 28),
        "p4": (256, 14, 14),
        "p5": (256, 7, 7),
        "pool": (256, 4, 4),
    }
    x = torch.randn(2, 3, 64, 64)  # the same module runs on any multiple of 32
    with torch.no_grad():
        out, expected = model(x), reference(x)
    assert list(out) == list(FPN_OUTPUTS) and list(expected) == list(FPN_OUTPUTS.values())
    for name, theirs in FPN_OUTPUTS.items():
        assert out[name].shape == expected[theirs].shape, name
        assert torch.allclose(out[name], expected[theirs], atol=1e-5), name
    assert out["pool"].shape == (2, 256, 1, 1)


def test_fpn_static_pass_equals_module_at_every_output(fpn):
    spec, _, _ = fpn
    model = spec.build(device="meta")
    # the dict of five outputs, and body's tuple of the four stages' outputs, are measured
    assert_static_matches_module(spec, model)


#: the networks scripted, traced and exported: the same modules, fewer and narrower (tracing
#: ResNet-50-FPN's 16 bottleneck blocks, one module repeated, took 2.7 s of CPU): U-Net at a
#: quarter of its widths, ResNet-50-FPN with one block a stage (its stages, pyramid and outputs)
SCRIPTED = {
    "unet": ("unet", {"size": 64, "base": 16}),
    "fpn": (SPECS["resnet50_fpn"], {"layers": [1, 1, 1, 1]}),
}


@pytest.mark.parametrize("name", ["unet", "fpn"])
def test_scripts_traces_and_exports(name):
    bundled, params = SCRIPTED[name]
    spec = ns.load(bundled, **params)
    model = with_statistics(spec.build())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
        exported = torch.export.export(model, (x,)).module()
        for module in (torch.jit.script(model), torch.fx.symbolic_trace(model), exported):
            got = module(x)
            if spec.output_names:
                assert list(got) == spec.output_names
                assert all(torch.allclose(got[k], expected[k], atol=1e-5) for k in expected)
            else:
                assert torch.allclose(got, expected, atol=1e-5)


def test_unet_depth_and_width_are_params():
    spec = ns.load("unet", depth=2, base=8, in_channels=1, num_classes=5, size=12)
    reference = ref.unet(in_channels=1, num_classes=5, base=8, depth=2)
    assert spec.num_params == sum(p.numel() for p in reference.parameters())
    model = spec.build()
    assert layout(model) == layout(reference)
    assert "level.inner.inner.3.weight" in model.state_dict()  # the bottom, 16 → 16 channels
    assert "level.inner.inner.encode.0.weight" not in model.state_dict()
    assert spec.output_shape.dims == (5, 12, 12)
    assert_static_matches_module(spec, model)
    # the reference's recursion, level by level
    assert ns.load("unet", depth=1).num_params == sum(
        p.numel() for p in ref.unet(depth=1).parameters()
    )


def test_unet_size_must_divide_by_two_to_the_depth():
    with pytest.raises(ns.NetspecError) as info:
        ns.load("unet", size=100)
    message = str(info.value)
    assert "error: concat cannot join its inputs: their sizes besides the channels" in message
    assert '"skip" is (256, 25, 25), made by layer level.inner.inner.encode.5' in message
    assert '"up" is (256, 24, 24), made by layer level.inner.inner.up' in message
    assert ns.load("unet", size=96, depth=5).output_shape.dims == (2, 96, 96)  # 96 = 3 × 2^5


def test_fpn_on_resnet101_by_one_param():
    # torchvision's resnet_fpn_backbone("resnet101"): ResNet-101 without its fc, plus the FPN
    spec = ns.load("torchvision/resnet50_fpn", layers=[3, 4, 23, 3])
    fpn_params = 26_852_416 - (25_557_032 - 2048 * 1000 - 1000)
    assert spec.num_params == 44_549_160 - 2048 * 1000 - 1000 + fpn_params
