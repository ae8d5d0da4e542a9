"""The YOLO11 family (specs/ultralytics/yolo11*.yaml) against Ultralytics' figures and its models.

``tests/data/ultralytics`` holds Ultralytics 8.4.190's parameter counts for every scale (the
detector's with Detect's fixed DFL conv) and yolo11n's state_dict keys and shapes. The
comparison with Ultralytics' own yolo11n and yolo11n-cls (weights, outputs, GFLOPs) runs them
in a process of their own (tests/ultralytics11_peer.py), as test_ultralytics_package.py does
for YOLOv8; without Ultralytics those tests skip, and under ``CI=true`` they fail.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import torch
from conftest import (
    ROOT,
    state_dict_keys,
    ultralytics_at_size,
    ultralytics_gflops,
    ultralytics_peer,
)

import netspec as ns

DATA = ROOT / "tests" / "data" / "ultralytics"
SCALES = "nsmlx"
SPECS = {"detect": "ultralytics/yolo11", "classify": "ultralytics/yolo11-cls"}


def recorded_counts() -> dict[tuple[str, str], int]:
    """(task, scale) → parameter count of Ultralytics' model, DFL conv included."""
    counts = {}
    for line in (DATA / "counts.txt").read_text().splitlines():
        found = re.match(r"yolo11(\w)(?:-cls)?\.yaml (detect|classify) (\d+)", line)
        if found:
            scale, task, total = found.groups()
            counts[(task, scale)] = int(total)
    return counts


def test_counts_file_covers_every_scale_of_both_tasks():
    assert sorted(recorded_counts()) == sorted((t, s) for t in SPECS for s in SCALES)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("task", sorted(SPECS))
def test_parameter_counts_are_ultralytics(task, scale):
    spec = ns.load(SPECS[task], scale=scale)
    assert spec.scale == scale
    assert spec.num_params == recorded_counts()[(task, scale)]


def test_state_dict_is_ultralytics_and_its_checkpoint_loads_strictly():
    model = ns.load("ultralytics/yolo11", scale="n").build(device="meta")
    expected = state_dict_keys(DATA / "yolo11n.txt")
    got = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    # the same keys and shapes; not in the same order (netspec registers layers as they run)
    assert len(got) == len(expected) and dict(got) == dict(expected)
    checkpoint = {k: torch.empty(s, device="meta") for k, s in expected}
    result = model.load_state_dict(checkpoint, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_rows_and_blocks_are_numbered_as_ultralytics_numbers_them():
    spec = ns.load("ultralytics/yolo11", scale="m")
    kinds = {c.path: c.node.label for c in spec.checked.walk()}
    rows = [kinds[f"model.{i}"] for i in range(24)]
    assert rows[2] == rows[22] == "C3k2" and rows[10] == "C2PSA" and rows[23] == "Detect"
    # parse_model sets c3k for m, l and x: every C3k2 then holds C3k blocks of two Bottlenecks
    assert kinds["model.2.m.0"] == "C3k" and kinds["model.2.m.0.m.1"] == "Bottleneck"
    small = {c.path: c.node.label for c in ns.load("ultralytics/yolo11").checked.walk()}
    assert small["model.2.m.0"] == "Bottleneck" and small["model.6.m.0"] == "C3k"
    # YOLO11's class branch: DWConv and a 1×1 Conv, twice, then the 1×1 conv to nc
    assert kinds["model.23.cv3.0.0.0"] == "DWConv" and kinds["model.23.cv3.0.1.1"] == "Conv"


def test_detect_gives_the_raw_maps_and_the_dfl_distances():
    spec = ns.load("ultralytics/yolo11")
    assert spec.output_names == ["p3", "p4", "p5", "distances"]
    assert [s.dims for s in spec.output_shapes.values()] == [
        (144, 80, 80),
        (144, 40, 40),
        (144, 20, 20),
        (4, 80 * 80 + 40 * 40 + 20 * 20),
    ]
    rows = {c.path: c for c in spec.checked.walk()}
    # the DFL's fixed weights are a (1, 16, 1, 1) tensor, its expectation one product
    assert rows["model.23.dfl.conv.weight"].output.dims == (1, 16, 1, 1)
    assert rows["model.23.dfl.conv"].macs == 4 * 16 * 8400
    model = spec.build(device="cpu")
    weight = model.state_dict()["model.23.dfl.conv.weight"]
    assert torch.equal(weight, torch.arange(16.0).view(1, 16, 1, 1))


def test_attention_counts_both_products():
    spec = ns.load("ultralytics/yolo11")
    rows = {c.path: c for c in spec.checked.walk()}
    # C2PSA at 20×20 with 256 channels: 128 per PSABlock, 2 heads of 64, keys of 32
    positions, heads, key_dim, head_dim = 400, 2, 32, 64
    scores = rows["model.10.m.0.attn.6"]
    mixed = rows["model.10.m.0.attn.9"]
    assert scores.output.dims == (heads, positions, positions)
    assert scores.macs == heads * positions * positions * key_dim
    assert mixed.macs == heads * head_dim * positions * positions


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result: dict[str, Any] = ultralytics_peer(tmp_path_factory, "ultralytics11_peer.py", "YOLO11")
    return result


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(SPECS))
def test_counts_and_gflops_are_ultralytics(peer, task):
    spec = ns.load(SPECS[task])
    figures = peer[task]
    assert spec.num_params == figures["params"] == recorded_counts()[(task, "n")]
    assert ultralytics_gflops(spec) == pytest.approx(figures["gflops"], rel=1e-9)


def spec_frozen(task: str) -> int:
    """The values the static pass counts as params that do not learn."""
    return ns.load(SPECS[task]).checked.frozen


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(SPECS))
def test_outputs_equal_ultralytics_with_its_weights(peer, task):
    recorded = peer[task]
    model = ultralytics_at_size(ns.load(SPECS[task]), recorded["input"].shape[-1]).build().eval()
    result = model.load_state_dict(recorded["state_dict"], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    with torch.no_grad():
        out = model(recorded["input"])
    got = list(out.values()) if isinstance(out, dict) else [out]
    assert len(got) == len(recorded["outputs"])
    # the raw maps (and the logits) to float rounding; measured equal, DFL 1.5e-6 apart
    for mine, theirs in zip(got, recorded["outputs"], strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-5)
    # Ultralytics keeps the DFL weights fixed (requires_grad False); so does the spec
    frozen = [k for k, p in model.named_parameters() if not p.requires_grad]
    assert (
        frozen == recorded["frozen"] == (["model.23.dfl.conv.weight"] if task == "detect" else [])
    )
    assert spec_frozen(task) == sum(model.get_parameter(k).numel() for k in frozen)
