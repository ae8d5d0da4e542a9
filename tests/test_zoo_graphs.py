"""The zoo's graph networks: SqueezeNet 1.0, ShuffleNet V2 1.0× and DenseNet-121.

Their specs read named tensors (``from:``/``to:``), merge them (``concat``) and choose layers
with ``if:``, and still give torchvision's ``state_dict`` key for key, in order
(``tests/data/torchvision``), so its checkpoints load with ``strict=True``. For each: the
static parameter count is torchvision's; the static MACs equal the conv and linear MACs
measured on the hand-written reference of ``bench/reference_graphs.py`` and round to
torchvision's published GFLOPS; the output equals the reference's with the reference's weights
loaded; the static shapes, counts and MACs equal the built module's; and the module traces,
and with fewer units a stage scripts, exports and compiles. Larger and smaller family members
follow from params.
"""

from __future__ import annotations

import os
import re
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
from bench import reference_graphs as ref
from netspec.cli import parse_sets

#: parameters, MACs (conv and linear weights at 224×224) and torchvision's published GFLOPS
EXPECTED = {
    "squeezenet1_0": (1_248_424, 818_924_576, 0.819),
    "shufflenet_v2_x1_0": (2_278_604, 144_907_992, 0.14),
    "densenet121": (7_978_856, 2_834_161_664, 2.834),
}

#: the hand-written plain-PyTorch networks with torchvision's layout
REFERENCES: dict[str, Callable[[], nn.Module]] = {
    "squeezenet1_0": ref.squeezenet1_0,
    "shufflenet_v2_x1_0": ref.shufflenet_v2_x1_0,
    "densenet121": ref.densenet121,
}

#: family members by params: (spec, settings, torchvision model, params, published GFLOPS)
FAMILY = [
    ("densenet121", ["block_config=[6,12,32,32]"], "densenet169", 14_149_480, 3.36),
    ("densenet121", ["block_config=[6,12,48,32]"], "densenet201", 20_013_928, 4.291),
    (
        "densenet121",
        ["growth_rate=48", "block_config=[6,12,36,24]", "num_init_features=96"],
        "densenet161",
        28_681_000,
        7.728,
    ),
    ("shufflenet_v2_x1_0", ["stages=[[4,48],[8,96],[4,192]]"], "x0_5", 1_366_792, 0.04),
    ("shufflenet_v2_x1_0", ["stages=[[4,176],[8,352],[4,704]]"], "x1_5", 3_503_624, 0.3),
    (
        "shufflenet_v2_x1_0",
        ["stages=[[4,244],[8,488],[4,976]]", "last=2048"],
        "x2_0",
        7_393_996,
        0.58,
    ),
]

NAMES = sorted(EXPECTED)

#: each network with fewer units a stage and the same modules (every kind of unit, a dense
#: layer reading the ones before it): what the tests compile (TorchScript, torch.export,
#: torch.compile), whose cost is by module (DenseNet-121's 58 dense layers: 8 s of CPU)
FEWER: dict[str, dict[str, Any]] = {
    "densenet121": {"block_config": [2, 2, 2, 2]},
    "shufflenet_v2_x1_0": {"stages": [[2, 116], [2, 232], [2, 464]]},
    "squeezenet1_0": {},  # eight fire modules, each different
}


@pytest.fixture(autouse=True)
def one_thread():
    """Small inputs: on a shared machine, a pool of threads costs more than it saves (a
    DenseNet forward takes a second with them, 0.04 s without)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", NAMES)
def test_params_and_macs_are_torchvisions(name):
    assert_figures_are_torchvisions(name, *EXPECTED[name], REFERENCES[name])


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_is_torchvisions_and_loads_strictly(name):
    assert_loads_torchvisions_checkpoint(name)


@pytest.mark.parametrize("name", NAMES)
def test_static_pass_equals_built_module(name):
    spec = ns.load(f"torchvision/{name}")
    assert_static_matches_module(spec, spec.build(device="meta"))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_computes_what_the_hand_written_network_computes(name):
    """The reference's weights, loaded strictly, give the reference's output: the graph is the
    same (the fire module's two expands, the shuffle unit's split, the dense concatenation),
    not only the names; and the module traces to the same function, and with fewer units a
    stage (the same modules: ``FEWER``) scripts and exports to it."""
    torch.manual_seed(0)
    hand_written = REFERENCES[name]().eval()
    randomise_norms(hand_written)
    # built without weights of its own (they would be replaced): the reference's, assigned
    model = ns.load(f"torchvision/{name}").build(device="meta").eval()
    model.load_state_dict(hand_written.state_dict(), strict=True, assign=True)
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
    # one whole graph (running it is left to the compile test; a free batch size doubles the time)
    exported = torch.export.export(model, (x,))
    (result,) = (n for n in exported.graph.nodes if n.op == "output")
    assert [tuple(v.meta["val"].shape) for v in result.args[0]] == [(2, 1000)]


@pytest.mark.slow
def test_compiles_without_graph_breaks():
    torch.manual_seed(0)
    name = "shufflenet_v2_x1_0"
    model = ns.load(f"torchvision/{name}", **FEWER[name]).build().eval()
    x = torch.randn(2, 3, 64, 64)
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), atol=1e-5)


@pytest.mark.parametrize(("name", "settings", "model", "params", "gflops"), FAMILY)
def test_family_members_by_params(name, settings, model, params, gflops):
    spec = ns.load(f"torchvision/{name}", **parse_sets(settings))
    assert spec.num_params == params, model
    assert published(spec.macs, gflops), model


def test_shufflenet_widths_match_the_hand_written_network():
    """The hand-written ShuffleNetV2 takes the widths as arguments: the same counts there."""
    for name, settings, _, params, _ in FAMILY:
        if name != "shufflenet_v2_x1_0":
            continue
        rows = parse_sets(settings)
        widths = (24, *(out for _, out in rows["stages"]), rows.get("last", 1024))
        with torch.device("meta"):
            hand_written = ref.ShuffleNetV2((4, 8, 4), widths, 1000)
        assert sum(p.numel() for p in hand_written.parameters()) == params


def edges(dot: str) -> set[tuple[str, str]]:
    """The DOT text's edges, by node (quoted or not)."""
    return set(re.findall(r'^\s*"?([\w.]+)"? -> "?([\w.]+)"?', dot, re.MULTILINE))


def test_diagrams_draw_the_graph():
    """Every expand reads the squeeze, both halves of a shuffle unit meet at its concat, and a
    dense layer's input reaches its concat past the layer's convolutions."""
    fire = edges(ns.load("torchvision/squeezenet1_0").to_dot(depth=10**6))
    assert {
        ("features.3.squeeze_activation", "features.3.expand1x1"),
        ("features.3.squeeze_activation", "features.3.expand3x3"),
        ("features.3.expand1x1_activation", "features.3.6"),
        ("features.3.expand3x3_activation", "features.3.6"),
    } <= fire
    shuffle = edges(ns.load("torchvision/shufflenet_v2_x1_0").to_dot(depth=10**6))
    assert {
        ("maxpool", "stage2.0.branch1.0"),  # stride 2: both branches read the whole input
        ("maxpool", "stage2.0.branch2.0"),
        ("stage2.0.3", "stage2.1.0"),  # stride 1: the two slices of the input
        ("stage2.0.3", "stage2.1.1"),
        ("stage2.1.1", "stage2.1.branch2.0"),
        ("stage2.1.0", "stage2.1.3"),  # the first half passes to the concat
        ("stage2.1.branch2.7", "stage2.1.3"),
        ("stage2.1.3", "stage2.1.4"),  # then the shuffle
    } <= shuffle
    dense = edges(ns.load("torchvision/densenet121").to_dot(depth=10**6))
    layer = "features.denseblock1.denselayer2"
    assert {
        ("features.denseblock1.denselayer1.6", f"{layer}.norm1"),
        ("features.denseblock1.denselayer1.6", f"{layer}.6"),
        (f"{layer}.conv2", f"{layer}.6"),
    } <= dense


def test_check_and_render_from_the_command_line(tmp_path):
    specs = [f"torchvision/{name}" for name in NAMES]
    run = cli("check", "--table", *specs)
    assert run.code == 0, run.err
    assert run.out.count(": ok ") == 3
    for row in ("features.12.expand3x3 ", "stage4.3.branch2.7 ", "denselayer16.conv2 "):
        assert row in run.out
    if shutil.which("dot") is None and not os.environ.get("CI"):
        pytest.skip("Graphviz's dot is not installed")
    for name in NAMES:
        for depth in ([], ["--expand"]):
            png = tmp_path / f"{name}{'_full' if depth else ''}.png"
            run = cli("render", f"torchvision/{name}", *depth, "-o", str(png))
            assert run.code == 0, run.err
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
