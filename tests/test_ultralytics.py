"""The YOLOv8 family (specs/ultralytics) against the figures Ultralytics publishes and records.

``tests/data/ultralytics`` holds Ultralytics 8.4.190's parameter counts for every scale and the
state_dict keys and shapes of yolov8n and yolov8n-cls (copied from the project's reference
data). The comparison with the Ultralytics package itself is in test_ultralytics_package.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from conftest import ROOT, cli, state_dict_keys

import netspec as ns

DATA = ROOT / "tests" / "data" / "ultralytics"
SCALES = ["n", "s", "m", "l", "x"]
#: the spec of each Ultralytics task, and the word counts.txt uses for it
TASKS = {"ultralytics/yolov8": "detect", "ultralytics/yolov8-cls": "classify"}


def recorded_counts() -> dict[tuple[str, str], int]:
    """(spec, scale) → parameter count, from counts.txt (the detector's with its DFL conv)."""
    counts = {}
    for line in (DATA / "counts.txt").read_text().splitlines():
        found = re.match(
            r"yolov8(\w)(-cls)?\.yaml (detect|classify) (\d+)(?: without_dfl \d+)?$", line
        )
        if found:
            scale, cls, _, total = found.groups()
            spec = "ultralytics/yolov8-cls" if cls else "ultralytics/yolov8"
            counts[(spec, scale)] = int(total)
    return counts


def recorded_keys(name: str) -> list[tuple[str, tuple[int, ...]]]:
    return state_dict_keys(DATA / f"{name}.txt")


def test_counts_file_covers_every_scale_of_both_tasks():
    assert sorted(recorded_counts()) == sorted((s, c) for s in TASKS for c in SCALES)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("spec_name", sorted(TASKS))
def test_parameter_counts_are_ultralytics(spec_name, scale):
    spec = ns.load(spec_name, scale=scale)
    assert spec.scale == scale
    assert spec.num_params == recorded_counts()[(spec_name, scale)]


def test_detector_outputs_are_the_three_raw_maps_and_the_dfl_distances():
    spec = ns.load("ultralytics/yolov8")
    assert spec.output_names == ["p3", "p4", "p5", "distances"]
    assert [s.dims for s in spec.output_shapes.values()] == [
        (144, 80, 80),
        (144, 40, 40),
        (144, 20, 20),
        (4, 8400),
    ]
    # Detect's inputs, as counts.txt records them for yolov8n at 640×640
    lines = (DATA / "counts.txt").read_text().splitlines()
    line = next(text for text in lines if "Detect inputs" in text)
    recorded = [
        tuple(int(d) for d in t.split(", ")[1:]) for t in re.findall(r"\(([\d, ]+)\)", line)
    ]
    rows = {c.path: c.output.dims for c in spec.checked.walk()}
    assert [rows[f"model.{i}"] for i in (15, 18, 21)] == recorded
    # fewer classes narrow the class branch only: 64 box channels + nc
    assert ns.load("ultralytics/yolov8", nc=3).output_shapes["p3"].dims == (67, 80, 80)


@pytest.mark.parametrize(
    ("spec_name", "keys"),
    [("ultralytics/yolov8", "yolov8n"), ("ultralytics/yolov8-cls", "yolov8n-cls")],
)
def test_state_dict_is_ultralytics_and_its_checkpoint_loads_strictly(spec_name, keys):
    model = ns.load(spec_name, scale="n").build(device="meta")
    expected = recorded_keys(keys)  # Detect's fixed DFL conv (model.22.dfl.conv.weight) too
    # the same keys and shapes; not in the same order: C2f registers cv2 before m, where
    # netspec registers layers in the order they run (a strict load does not mind)
    got = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert len(got) == len(expected) and dict(got) == dict(expected)
    checkpoint = {k: torch.empty(s, device="meta") for k, s in expected}
    result = model.load_state_dict(checkpoint, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys


@pytest.mark.parametrize(
    ("spec_name", "eps", "momentum"),
    [("ultralytics/yolov8", 1e-3, 0.03), ("ultralytics/yolov8-cls", 1e-5, 0.1)],
)
def test_batchnorm_is_set_as_ultralytics_sets_it(spec_name, eps, momentum):
    # DetectionModel sets eps and momentum after building; ClassificationModel keeps torch's
    model = ns.load(spec_name).build(device="meta")
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(m.eps == eps and m.momentum == momentum for m in norms)


def test_every_scale_changes_the_network():
    sizes = [ns.load("ultralytics/yolov8", scale=s).num_params for s in SCALES]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(SCALES)


def test_scale_on_the_command_line_and_in_the_table():
    run = cli("check", "ultralytics/yolov8", "--scale", "s", "--table")
    assert run.code == 0, run.err
    assert (
        "yolov8 (scale s)" in run.out
        and f"{recorded_counts()[('ultralytics/yolov8', 's')]:,} params" in run.out
    )
    assert re.search(r"^\* s\s+0\.33\s+0\.5\s+1024$", run.out, re.M), run.out
    assert re.search(r"^  m\s+0\.67\s+0\.75\s+768$", run.out, re.M)
    assert "model.2.m.0.cv1.conv" in run.out
    listing = cli("list")
    assert re.search(
        r"ultralytics/yolov8 .*\n.*\n\s+scales n, s, m, l, x \(--scale; default n\)", listing.out
    )


@pytest.mark.slow
def test_scale_works_with_every_command(tmp_path: Path):
    build = cli("build", "ultralytics/yolov8-cls", "--scale", "m", "--meta")
    assert build.code == 0, build.err
    assert f"{recorded_counts()[('ultralytics/yolov8-cls', 'm')]:,}" in build.out
    summary = cli(
        "summary", "ultralytics/yolov8-cls", "--scale", "x", "--static", "--format", "json"
    )
    assert summary.code == 0, summary.err
    render = cli(
        "render",
        "ultralytics/yolov8-cls",
        "--scale",
        "l",
        "--format",
        "dot",
        "-o",
        str(tmp_path / "l.dot"),
    )
    assert render.code == 0, render.err
    drawing = (tmp_path / "l.dot").read_text()
    assert drawing.count("C2f") >= 4 and "yolov8-cls (scale l): 37,480,744 params" in drawing
    # without -o, the file is named after the scale: drawing two sizes keeps both
    default = cli(
        "render", "ultralytics/yolov8-cls", "--scale", "s", "--format", "dot", cwd=tmp_path
    )
    assert default.code == 0 and (tmp_path / "yolov8-cls-s.dot").exists()


MISTAKES = sorted((ROOT / "tests" / "fixtures" / "ultralytics").glob("*.yaml"))


@pytest.mark.parametrize("case", MISTAKES, ids=[p.stem for p in MISTAKES])
def test_the_mistakes_of_yolo_yaml_writers_are_shown_at_their_line(case, golden):
    """Each fixture is a mistake people make editing YOLO YAMLs; an error (or, for a repeat
    scaled to nothing, a warning) at its line, with a hint."""
    run = cli("check", str(case.relative_to(ROOT)))
    assert run.code == (0 if case.stem == "zero_repeats" else 1), run.err
    assert "Traceback" not in run.err
    assert re.match(
        rf"^tests/fixtures/ultralytics/{case.stem}\.yaml:\d+:\d+: (error|warning): ", run.err
    )
    assert "\nhint: " in run.err
    golden(f"ultralytics/{case.stem}.txt", run.err)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("scale_unknown", ["check", "ultralytics/yolov8", "--scale", "xl"]),
        ("scale_none", ["check", "lenet", "--scale", "s"]),
        ("scale_type", ["check", "ultralytics/yolov8", "--scale", "n", "--set", "width=wide"]),
    ],
)
def test_scale_errors(name, args, golden):
    run = cli(*args)
    assert run.code == 1 and "Traceback" not in run.err
    golden(f"ultralytics/{name}.txt", run.err)
