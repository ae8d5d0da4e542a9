"""Pictures a person can read (issue 21): a block's box says what it is, branches keep the
spec's order, a U-Net is drawn as a U, a long picture is cut into columns, a large one keeps
legible names. Facts about the picture are read from dot's own layout (``-Tjson``), not only
from the DOT text."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

import pytest
from conftest import BUNDLED, FIXTURES, ZOO, cli
from test_diagram import edges

import netspec as ns
from netspec.diagram import LAYOUTS, Depth, Layout, auto_depth
from netspec.diagram.columns import clean_cuts
from netspec.diagram.drawer import draw
from netspec.diagram.layout import arrange
from netspec.diagram.plan import READABLE, SCREEN, fit
from netspec.diagram.sizes import Sizes
from netspec.diagram.style import FRAME_POINTS, SAME_MODULE, SKIP_EDGE, frame_points

EVERY = [*BUNDLED, *ZOO, "ultralytics/yolov8", "ultralytics/yolov8-cls", "ultralytics/yolo11"]
EVERY += ["ultralytics/yolo11-cls"]
FULL = 10**6
FPN = "torchvision/resnet50_fpn"
#: pictures whose estimated size is compared with what dot draws
ESTIMATED = ["vgg", "unet", "torchvision/densenet121", "ultralytics/yolov8"]
#: the long thin ones of issue 21, every layer drawn
LONG = ["vgg", "alexnet", "nin", "resnet", "googlenet", "unet", "torchvision/vgg16"]
LONG += ["torchvision/resnet50", "torchvision/densenet121", "ultralytics/yolov8"]
LONG += ["ultralytics/yolo11", "torchvision/convnext_tiny", "torchvision/swin_t"]


@pytest.fixture
def dot_program():
    """Graphviz's dot: these tests skip without it on a workstation, and fail in CI."""
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz's dot is not installed; CI must render for real")
        pytest.skip("Graphviz's dot is not installed")


@dataclass
class Drawn:
    """Where dot put things, in points, y upwards (as dot's JSON says)."""

    width: float
    height: float
    nodes: dict[str, tuple[float, float]]
    #: each cluster's box (left, bottom, right, top) and label
    clusters: dict[str, tuple[tuple[float, ...], str]]
    #: each edge drawn: its tail's and head's names, and its spline's points, tail first
    lines: list[tuple[str, str, list[tuple[float, float]]]]

    def x(self, node: str) -> float:
        return self.nodes[node][0]

    def y(self, node: str) -> float:
        return self.nodes[node][1]


@functools.cache
def laid_out(dot: str) -> Drawn:
    """Where dot puts things in ``dot``: laid out once for the tests that ask of the same
    picture (read, never changed)."""
    run = subprocess.run(["dot", "-Tjson"], input=dot.encode(), capture_output=True, check=True)
    graph = json.loads(run.stdout)
    width, height = (float(v) for v in graph["bb"].split(",")[2:])
    nodes, clusters = {}, {}
    objects = graph.get("objects", [])
    for item in objects:
        if "pos" in item:
            x, y = (float(v) for v in item["pos"].split(","))
            nodes[item["name"]] = (x, y)
        elif item["name"].startswith("cluster") and "bb" in item:
            box = tuple(float(v) for v in item["bb"].split(","))
            clusters[item["name"]] = (box, item.get("label", ""))
    lines = []
    for edge in graph.get("edges", []):
        if edge.get("style") == "invis":
            continue
        first = edge.get("pos", "").split(";")[0]  # a line in several splines: its first
        spline = [p for p in first.split() if not p.startswith(("e,", "s,"))]
        points = [(float(x), float(y)) for x, y in (p.split(",") for p in spline)]
        lines.append((objects[edge["tail"]]["name"], objects[edge["head"]]["name"], points))
    return Drawn(width, height, nodes, clusters, lines)


def heads(dot: str) -> list[str]:
    """The bold first line of every box (the legend's arrow left out)."""
    return [h for h in re.findall(r"<b>([^<]*)</b>", dot) if h != "→"]


def frame_labels(dot: str) -> list[str]:
    """The names of the frames (not of the borderless clusters that hold columns)."""
    return re.findall(
        r'subgraph "?cluster_(?!/)[^\n]*\{\n\s*[^\n]*?label="?([^"\n]*?)"? labeljust', dot
    )


# --- what a block says ---------------------------------------------------------------------


@pytest.mark.parametrize("name", EVERY)
def test_no_box_or_frame_is_a_bare_kind(name):
    """A collapsed block says its name and what it is, a frame its name: never a bare "group"
    (the FPN's boxes were all "group"), an empty frame name (a repeat's copies had none), or a
    name said twice ("level: level")."""
    spec = ns.load(name)
    for depth in (None, 1, 2, 3, FULL):
        dot = spec.to_dot(depth=depth)
        for head in heads(dot):
            assert head != "group" and not head.endswith(": group"), (depth, head)
        labels = frame_labels(dot)
        assert len(labels) == len(re.findall(r'subgraph "?cluster_(?!/)', dot))
        for text in labels:
            name_part, _, what = text.partition(": ")
            assert text and text not in ("group", "repeat") and name_part != what, (depth, text)


def test_the_fpn_says_what_each_block_is():
    spec = ns.load(FPN)
    shown = heads(spec.to_dot())
    assert "inner_blocks: conv 1×1, 256 ×4" in shown and "layer_blocks: conv 3×3, 256 ×4" in shown
    assert "layer3: bottleneck_stage ×6" in shown
    deeper = heads(spec.to_dot(depth=3))
    for n in range(4):  # a block of one layer is drawn as that layer, with the block's name
        assert f"inner_blocks.{n}: conv 1×1, 256" in deeper
        assert f"layer_blocks.{n}: conv 3×3, 256" in deeper
    assert "layer1.2: bottleneck" in deeper
    resnet = heads(ns.load("resnet").to_dot(depth=1))  # groups say what they hold
    assert "stem: conv 7×7 /2, 64 … (4 layers)" in resnet
    assert "head: global avgpool → flatten → linear 10" in resnet


# --- parallel branches --------------------------------------------------------------------


@pytest.mark.usefixtures("dot_program")
@pytest.mark.parametrize("depth", [3, FULL])
def test_parallel_branches_keep_the_spec_order(depth):
    """The FPN's lateral and output convolutions read c2 to c5 (56 to 7 pixels): side by side,
    left to right as the spec writes them (they came 14, 28, 7, 56)."""
    drawn = laid_out(ns.load(FPN).to_dot(depth=depth))
    for repeat in ("inner_blocks", "layer_blocks"):
        paths = [f"fpn.{repeat}.{n}" + (".0" if depth == FULL else "") for n in range(4)]
        xs = [drawn.x(p) for p in paths]
        assert xs == sorted(xs) and len(set(xs)) == 4, (repeat, xs)
        assert len({drawn.y(p) for p in paths}) == 1  # one level
    if depth == FULL:  # their frames too
        lefts = [drawn.clusters[f"cluster_fpn.inner_blocks.{n}"][0][0] for n in range(4)]
        assert lefts == sorted(lefts)


@pytest.mark.usefixtures("dot_program")
@pytest.mark.parametrize(("name", "depth"), [(FPN, 3), ("ultralytics/yolo11", None)])
def test_outputs_keep_the_spec_order(name, depth):
    """A network's outputs side by side, left to right as its spec lists them (the FPN's pool
    came before p4 and p5, below them; YOLO11's distances before p3)."""
    spec = ns.load(name)
    drawn = laid_out(spec.to_dot(depth=depth))
    outputs = [f"output/{n}" for n in spec.checked.node.opens.outputs]
    xs = [drawn.x(o) for o in outputs]
    assert len(outputs) >= 4 and xs == sorted(xs), dict(zip(outputs, xs, strict=True))
    assert len({drawn.y(o) for o in outputs}) == 1


@pytest.mark.usefixtures("dot_program")
def test_inception_branches_and_two_heads_keep_the_spec_order():
    drawn = laid_out(ns.load("googlenet").to_dot(depth=FULL))
    for block in ("b3.0", "b4.2", "b5.1"):
        lefts = [drawn.clusters[f"cluster_{block}.p{n}"][0][0] for n in range(1, 5)]
        assert lefts == sorted(lefts), (block, lefts)
    graph = laid_out(ns.load(str(FIXTURES / "graphs" / "two_in_two_out.yaml")).to_dot(depth=99))
    assert graph.x("0") < graph.x("1") and graph.y("0") == graph.y("1")  # image, then depth
    assert graph.x("4") < graph.x("5")  # the mask's conv, then the score's pool


# --- a U ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("dot_program")
def test_unet_is_drawn_as_a_u():
    """Down the left, up the right, each skip straight across into its concat; every level
    shown, each double conv one box (it was a 9:1 strip of 40 boxes)."""
    spec = ns.load("unet")
    picture = draw(spec.checked, spec.name, auto_depth(spec.checked))
    assert arrange(picture).kind is Layout.U
    dot = spec.to_dot()
    assert "<b>conv 3×3, 64</b>" not in dot and dot.count("<b>concat</b>") == 4
    drawn = laid_out(dot)
    level = "level"
    for _ in range(4):
        encode, join = f"{level}.encode", f"{level}.join"
        assert drawn.y(encode) == drawn.y(join) and drawn.x(encode) < drawn.x(join)
        assert drawn.x(f"{level}.decode") > drawn.x(join)  # decoded beside it, on the right
        assert drawn.y(f"{level}.up") < drawn.y(join)  # coming up from below
        inner = f"{level}.inner"
        if inner + ".encode" in drawn.nodes:
            assert drawn.y(inner + ".encode") < drawn.y(encode)  # the next level lower
        level = inner
    bottom = drawn.y(level)  # the innermost double conv
    assert bottom == min(y for n, (_, y) in drawn.nodes.items() if n != "/legend")
    assert drawn.y("output") > drawn.y("level.decode") > bottom  # back up the right
    assert drawn.height / drawn.width <= 2.0


@pytest.mark.usefixtures("dot_program")
def test_a_small_unet_is_a_u_too_and_any_chain_folds_when_asked(tmp_path):
    small = ns.load(str(FIXTURES / "graphs" / "unet_small.yaml"))
    picture = draw(small.checked, small.name, auto_depth(small.checked))
    assert arrange(picture).kind is Layout.U
    out = tmp_path / "lenet.dot"
    run = cli("render", "lenet", "--layout", "u", "-o", str(out))
    assert run.code == 0, run.err
    drawn = laid_out(out.read_text())
    # down the left to the middle, back up the right: input and output at the top
    assert drawn.x("input") < drawn.x("output") and drawn.y("input") > drawn.y("6")
    assert drawn.y("output") > drawn.y("6")


# --- long pictures ------------------------------------------------------------------------


def _not_a_strip(name: str, depth: int | None, rankdir: str = "TB") -> None:
    """More than three times as long as it is broad, either way, only where it still fits a
    screen legibly."""
    drawn = laid_out(ns.load(name).to_dot(depth=depth, rankdir=rankdir))
    size = (drawn.width / 72, drawn.height / 72)
    thin = max(size) / min(size)
    assert thin <= 3 or fit(size) >= READABLE, f"{size[0]:.1f} × {size[1]:.1f} in"


@pytest.mark.usefixtures("dot_program")
@pytest.mark.parametrize("name", EVERY)
def test_default_pictures_are_not_strips(name):
    """Taller than three times its width only where it still fits a screen legibly (vgg was
    3.9 × 27 inches, 7:1)."""
    _not_a_strip(name, None)


@pytest.mark.usefixtures("dot_program")
@pytest.mark.parametrize("name", LONG)
def test_every_layer_drawn_is_not_a_strip(name):
    """Densenet-121 drawn whole was 4.5 × 365 inches (80:1), ResNet-18 60 inches tall; YOLOv8
    with its DFL 15 × 180 inches (its weights, read in the last block, were estimated at the
    top, level with the input: no column could be cut)."""
    _not_a_strip(name, FULL)


def test_data_is_estimated_beside_its_reader():
    """A parameter reads nothing: the estimate puts it one rank above its first reader, as dot
    draws it, and what is made from it alone just below (at the top, YOLO's DFL weights held
    every box before them level with the input, and no column could be cut)."""
    for name, weight in [("ultralytics/yolov8", "model.22"), ("ultralytics/yolo11", "model.23")]:
        spec = ns.load(name)
        picture = draw(spec.checked, spec.name, Depth(FULL, FULL))
        rank = dict(zip((b.id for b in picture.boxes), Sizes(picture).rank, strict=True))
        weight += ".dfl.conv.weight"
        reader = min(rank[line.head] for line in picture.lines if line.tail == weight)
        assert rank[weight] == reader - 1 > rank["model.21.cv2.act" if "v8" in name else "input"]
        assert clean_cuts(picture, Sizes(picture))


@pytest.mark.usefixtures("dot_program")
@pytest.mark.parametrize("name", ["vgg", "unet", "torchvision/densenet121", "ultralytics/yolov8"])
def test_left_to_right_pictures_are_not_strips(name):
    """With --rankdir LR the columns are rows, the U lies on its side (vgg was 29 × 4 inches)."""
    _not_a_strip(name, None, "LR")


@pytest.mark.usefixtures("dot_program")
def test_columns_read_left_to_right_each_from_the_top():
    spec = ns.load("vgg")
    picture = draw(spec.checked, spec.name, auto_depth(spec.checked))
    plan = arrange(picture)
    assert plan.kind is Layout.COLUMNS and len(plan.heads) >= 1
    dot = spec.to_dot()
    drawn = laid_out(dot)
    column = {b.id: plan.columns.get(b.id, 0) for b in picture.boxes}
    tops: list[float] = []
    previous = 0.0  # the right edge of the column before
    for n in range(len(plan.heads) + 1):
        inside = [b for b, c in column.items() if c == n and b not in ("input", "output")]
        tops.append(max(drawn.y(b) for b in inside))
        lefts = [drawn.x(b) for b in inside]
        if n:  # a column starts at the top, beside the one before
            assert drawn.y(plan.heads[n - 1]) == tops[n]
            assert min(lefts) > previous
        previous = max(lefts)
    assert max(tops) - min(tops) < 72  # within an inch of each other
    bridges = [(t, h) for t, h, a in edges(dot) if h in plan.heads and a.get("style") != "invis"]
    assert len(bridges) == len(plan.heads)  # each column joined to the next by its edge


def test_a_block_cut_by_a_column_is_continued():
    dot = ns.load("torchvision/densenet121").to_dot(depth=FULL)
    assert re.search(r'subgraph "cluster_features\.denseblock\d~2" \{', dot)
    assert re.search(r'label="denseblock\d: dense_block \(continued\)"', dot)


def test_frame_names_grow_with_the_block():
    """A block of 168 boxes (densenet's third) names itself in 18 pt, legible where the
    picture is shrunk; a small one in 10 pt."""
    assert frame_points(1) == frame_points(8) == FRAME_POINTS
    assert frame_points(16) > FRAME_POINTS and frame_points(10**9) <= 24
    dot = ns.load("torchvision/densenet121").to_dot(depth=FULL)
    sizes = dict(re.findall(r'subgraph "?cluster_([^"\s]+)"? \{\n\s*.*fontsize=(\d+)', dot))
    assert int(sizes["features.denseblock3"]) >= 16
    assert int(sizes["features.denseblock3.denselayer1"]) == FRAME_POINTS


# --- the screen ---------------------------------------------------------------------------


@pytest.mark.usefixtures("dot_program")
@pytest.mark.parametrize("name", [*ESTIMATED, "ultralytics/yolo11", "torchvision/swin_t"])
def test_the_estimate_is_near_what_dot_draws(name):
    """The layout decides from an estimate of the picture's size: within a factor of 1.6 of
    what dot draws, at the default depth and with every layer drawn."""
    spec = ns.load(name)
    for depth in (None, FULL):
        shown = auto_depth(spec.checked) if depth is None else Depth(depth, depth)
        estimated = arrange(draw(spec.checked, spec.name, shown)).size
        drawn = laid_out(spec.to_dot(depth=depth))
        for guess, real in zip(estimated, (drawn.width / 72, drawn.height / 72), strict=True):
            assert 1 / 1.6 <= guess / real <= 1.6, (depth, estimated, drawn.width, drawn.height)
    assert SCREEN[0] > SCREEN[1]  # a landscape screen


def test_layouts_are_deterministic_across_processes():
    code = (
        "import netspec; print(netspec.load('unet').to_dot());"
        "print(netspec.load('torchvision/densenet121').to_dot(depth=10**6))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1


def test_render_layout_option(tmp_path):
    from netspec.cli.parser import _parser

    commands = next(a for a in _parser()._actions if a.dest == "command")
    render = commands.choices["render"]
    option = next(a for a in render._actions if "--layout" in a.option_strings)
    assert tuple(option.choices) == LAYOUTS  # the parser's names, without importing the diagram
    for layout, columns, turned in [("straight", 0, 0), ("columns", 1, 0), ("u", 0, 1)]:
        out = tmp_path / f"{layout}.dot"
        run = cli("render", "vgg", "--layout", layout, "-o", str(out))
        assert run.code == 0, run.err
        dot = out.read_text()
        assert ('subgraph "cluster_/column1"' in dot) == bool(columns), layout
        assert ("dir=back" in dot) == bool(turned), layout  # a U's right side goes up
    assert cli("render", "vgg", "--layout", "spiral").code == 2


# --- shared modules and held tensors --------------------------------------------------------

#: a head shared by two levels of a pyramid: a block called on a second level
SHARED_HEAD = """
name: shared_head
inputs: {p3: [16, 8, 8], p4: [16, 4, 4]}
outputs: {o3: null, o4: null}
layers:
  - group:
      name: head
      from: p3
      to: o3
      layers: [{conv: {out: 16, kernel: 3, padding: 1}}, relu, {conv: {out: 5, kernel: 1}}]
  - call: {layer: head, from: p4, to: o4}
"""


@pytest.mark.usefixtures("dot_program")
def test_a_block_called_again_is_tied_to_its_frame():
    """A block drawn with its layers and called again: the grey double line of one module
    leaves its frame's border for the call's box (there was none: only a block drawn as one
    box was tied to its calls)."""
    spec = ns.loads(SHARED_HEAD)
    grey = SAME_MODULE["color"]
    assert [(t, h) for t, h, a in edges(spec.to_dot(depth=1)) if a.get("color") == grey] == [
        ("head", "1")  # drawn as one box, the block is tied to its call by its box
    ]
    drawn = laid_out(spec.to_dot(depth=9))
    left, bottom, right, top = drawn.clusters["cluster_head"][0]
    tied = [points for tail, head, points in drawn.lines if head == "1" and tail != "input/p4"]
    assert len(tied) == 1
    x, y = tied[0][0]  # where it starts: on the frame's border, not inside it
    assert left - 2 <= x <= right + 2 and bottom - 2 <= y <= top + 2
    assert min(x - left, right - x, y - bottom, top - y) < 3, (x, y, left, right)


HELD = """
name: bias
input: [4, 8]
layers:
  - linear: {out: 8, to: x}
  - parameter: {name: bias, shape: [8], init: zeros, to: b}
  - add: {from: [x, b]}
"""


def test_the_legend_says_what_a_shared_line_and_a_held_tensor_are():
    """The legend explains the grey double line of one module called again and the note box
    of a parameter (a square cell), only where the picture draws them; a parameter is no
    "other" layer."""
    shared = ns.loads(SHARED_HEAD).to_dot(depth=9)
    legend = shared[shared.index('"/legend" [') :]
    assert "same module</td>" in legend and "parameter" not in legend
    held = ns.loads(HELD).to_dot(depth=9)
    legend = held[held.index('"/legend" [') :]
    assert ">parameter</td>" in legend and ">other</td>" not in legend
    assert "same module" not in legend
    plain = ns.load("lenet").to_dot(depth=9)
    assert "same module" not in plain and ">parameter" not in plain


def test_branches_of_an_attention_block_are_not_skips():
    """Query, key and value read from one tensor are branches, not shortcuts: a blue skip
    arrow only where something else leads from its tail to its head (Swin-T's window
    attention had 8 blue arrows a block, YOLO's DFL its softmax's). A residual's shortcut and
    a projection's stay blue."""
    swin = edges(ns.load("torchvision/swin_t").to_dot(depth=FULL))
    blue = {(t, h) for t, h, a in swin if a.get("color") == SKIP_EDGE["color"]}
    assert not [(t, h) for t, h in blue if ".attn." in t + h]
    adds = {h for _, h in blue}  # each block's two residual adds, its 4th and 8th layers
    assert len(blue) == 2 * 12 and all(re.fullmatch(r"features\.\d\.\d\.[37]", h) for h in adds)
    yolo = edges(ns.load("ultralytics/yolov8").to_dot(depth=FULL))
    into = [a for t, h, a in yolo if h == "model.22.dfl.conv.2"]
    assert len(into) == 2 and all(a.get("color") != SKIP_EDGE["color"] for a in into)
    resnet = edges(ns.load("resnet").to_dot(depth=FULL))
    assert any(
        t.endswith(".shortcut") and a.get("color") == SKIP_EDGE["color"] for t, _, a in resnet
    )
