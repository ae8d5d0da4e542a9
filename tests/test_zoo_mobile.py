"""The zoo's mobile networks: EfficientNet-B0, MobileNetV2 and MobileNetV3-Small.

Their specs write the inverted-residual block once, with the residual addition as an
``add`` under an ``if:`` and the depthwise, expansion and squeeze widths read from the input
(``channels()``); the stage table is a list param. They still give torchvision's
``state_dict`` key for key, in order (``tests/data/torchvision``), so its checkpoints load with
``strict=True``. For each: the static parameter count is torchvision's; the static MACs equal
the conv and linear MACs measured on the hand-written reference of ``bench/reference_mobile.py``
and round to torchvision's published GFLOPS; with the reference's weights loaded, the output
and every batchnorm's settings are the reference's, and the residual additions sit where the
reference adds; the static shapes, counts and MACs equal the built module's; the module
traces, and with fewer blocks scripts, exports and compiles; the command line checks and draws
them. Family members (B1-B4, MobileNetV3-Large) follow from params.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import pytest
import torch
from conftest import cli
from crosscheck import assert_static_matches_module, randomise_norms
from test_zoo import (
    assert_figures_are_torchvisions,
    assert_loads_torchvisions_checkpoint,
    published,
)
from torch import nn

import netspec as ns
from bench import reference_mobile as ref
from netspec.modules import Add

#: parameters, MACs (conv and linear weights at 224×224) and torchvision's published GFLOPS
EXPECTED = {
    "efficientnet_b0": (5_288_548, 385_814_752, 0.386),
    "mobilenet_v2": (3_504_872, 300_774_272, 0.301),
    "mobilenet_v3_small": (2_542_856, 56_510_400, 0.057),
}

#: the hand-written plain-PyTorch networks with torchvision's layout
REFERENCES: dict[str, Callable[[], nn.Module]] = {
    "efficientnet_b0": ref.efficientnet_b0,
    "mobilenet_v2": ref.mobilenet_v2,
    "mobilenet_v3_small": ref.mobilenet_v3_small,
}

NAMES = sorted(EXPECTED)

#: each network with fewer blocks and the same kinds of block (no expansion, a stride of 2, a
#: residual, a new width at stride 1; with and without squeeze-excitation, ReLU and hardswish):
#: what the tests compile (TorchScript, torch.export, torch.compile), whose cost is by module
FEWER: dict[str, dict[str, Any]] = {
    "efficientnet_b0": {"stages": [[1, 3, 1, 16, 1], [6, 3, 2, 24, 2], [6, 5, 1, 40, 2]]},
    "mobilenet_v2": {"stages": [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 2, 1]]},
    "mobilenet_v3_small": {
        "blocks": [
            [3, 16, 16, True, "relu", 2],
            [3, 72, 24, False, "relu", 2],
            [3, 88, 24, False, "relu", 1],
            [5, 96, 40, True, "hardswish", 1],
            [5, 240, 40, True, "hardswish", 1],
        ]
    },
}

#: MobileNetV3-Large's bneck rows in the spec's columns (torchvision's, less input channels
#: and dilation): kernel, expanded, out, squeeze-excitation, activation, stride
V3_LARGE = [
    [3, 16, 16, False, "relu", 1],
    [3, 64, 24, False, "relu", 2],
    [3, 72, 24, False, "relu", 1],
    [5, 72, 40, True, "relu", 2],
    [5, 120, 40, True, "relu", 1],
    [5, 120, 40, True, "relu", 1],
    [3, 240, 80, False, "hardswish", 2],
    [3, 200, 80, False, "hardswish", 1],
    [3, 184, 80, False, "hardswish", 1],
    [3, 184, 80, False, "hardswish", 1],
    [3, 480, 112, True, "hardswish", 1],
    [3, 672, 112, True, "hardswish", 1],
    [5, 672, 160, True, "hardswish", 2],
    [5, 960, 160, True, "hardswish", 1],
    [5, 960, 160, True, "hardswish", 1],
]

#: family members by params: (spec, params, torchvision model, its params, published GFLOPS at
#: the resolution of its weights)
FAMILY: list[tuple[str, dict[str, Any], str, int, float]] = [
    ("efficientnet_b0", {"depth": 1.1, "resolution": 240}, "efficientnet_b1", 7_794_184, 0.687),
    (
        "efficientnet_b0",
        {"width": 1.1, "depth": 1.2, "resolution": 288, "dropout": 0.3},
        "efficientnet_b2",
        9_109_994,
        1.088,
    ),
    (
        "efficientnet_b0",
        {"width": 1.2, "depth": 1.4, "resolution": 300, "dropout": 0.3},
        "efficientnet_b3",
        12_233_232,
        1.827,
    ),
    (
        "efficientnet_b0",
        {"width": 1.4, "depth": 1.8, "resolution": 380, "dropout": 0.4},
        "efficientnet_b4",
        19_341_616,
        4.394,
    ),
    (
        "mobilenet_v3_small",
        {"blocks": V3_LARGE, "last_channel": 1280},
        "mobilenet_v3_large",
        5_483_032,
        0.217,
    ),
]


@pytest.mark.parametrize("name", NAMES)
def test_params_and_macs_are_torchvisions(name):
    assert_figures_are_torchvisions(name, *EXPECTED[name], REFERENCES[name])


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_is_torchvisions_and_loads_strictly(name):
    spec = assert_loads_torchvisions_checkpoint(name)
    model = spec.build(device="meta")
    assert spec.warnings == []  # the residual's named branch is read wherever the add exists
    assert_static_matches_module(spec, model)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_computes_what_the_hand_written_network_computes(name):
    """The reference's weights, loaded strictly, give the reference's output: the blocks are
    the same (expansion left out where the factor is 1, squeeze widths, the residual only where
    stride and width allow), not only the names; and the module traces to the same function,
    and with fewer blocks (the same kinds: ``FEWER``) scripts and exports to it."""
    torch.manual_seed(0)
    hand_written = REFERENCES[name]().eval()
    randomise_norms(hand_written)
    # built without weights of its own (they would be replaced): the reference's, assigned
    model = ns.load(f"torchvision/{name}").build(device="meta").eval()
    model.load_state_dict(hand_written.state_dict(), strict=True, assign=True)

    def norms(m: nn.Module) -> list[tuple[float, float | None]]:
        return [(n.eps, n.momentum) for n in m.modules() if isinstance(n, nn.BatchNorm2d)]

    assert norms(model) == norms(hand_written)
    # an addition in the block at each path where the reference has use_residual
    blocks = dict(model.named_modules())
    residual = {
        p: m.use_residual for p, m in hand_written.named_modules() if hasattr(m, "use_residual")
    }
    assert residual
    for path, adds in residual.items():
        assert any(isinstance(c, Add) for c in blocks[path].children()) == adds, path

    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = hand_written(x)
        assert expected.abs().mean() > 1e-3  # a real signal, not a vanished one
        out = model(x)
        assert torch.allclose(out, expected, atol=1e-5, rtol=1e-4)
        assert torch.equal(torch.fx.symbolic_trace(model)(x), out)
        model = randomise_norms(ns.load(f"torchvision/{name}", **FEWER[name]).build().eval())
        out = model(x)
        # the compiled function as it is, without the profiling executor's passes (0.5 s)
        with torch.jit.optimized_execution(False):
            assert torch.equal(torch.jit.script(model)(x), out)
        exported = torch.export.export(model, (x,))
        assert torch.allclose(exported.module()(x), out, atol=1e-6)


@pytest.mark.slow
def test_compiles_without_graph_breaks():
    torch.manual_seed(0)
    name = "mobilenet_v3_small"
    model = ns.load(f"torchvision/{name}", **FEWER[name]).build().eval()
    x = torch.randn(2, 3, 64, 64)
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), atol=1e-5)


@pytest.mark.parametrize(("name", "params", "model", "count", "gflops"), FAMILY)
def test_family_members_by_params(name, params, model, count, gflops):
    spec = ns.load(f"torchvision/{name}", **params)
    assert spec.num_params == count, model
    assert published(spec.macs, gflops), model


@pytest.mark.parametrize("name", NAMES)
def test_command_line_checks_and_draws(name, tmp_path):
    run = cli("check", f"torchvision/{name}")
    assert run.code == 0 and run.err == "", run.err
    assert f"{EXPECTED[name][0]:,} params" in run.out
    if not shutil.which("dot"):
        pytest.skip("Graphviz's dot is not installed")
    # the default depth for each; every layer (slower to lay out) for the largest
    for extra in ([], ["--expand"]) if name == "efficientnet_b0" else ([],):
        out = tmp_path / f"{name}{len(extra)}.svg"
        run = cli("render", f"torchvision/{name}", "-o", str(out), *extra)
        assert run.code == 0, run.err
        assert "<svg" in out.read_text()
