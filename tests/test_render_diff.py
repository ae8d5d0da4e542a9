"""netspec render B --diff A: the picture of B with what changed since A marked.

Each kind of edit on a small network (insert, delete, change an option) has a golden DOT file
(``pytest --update-golden`` rewrites them); the marks are checked on the DOT text itself: an
added layer's green border and flag, a changed layer's amber flag saying what changed, a moved
layer's "was", a removed layer's ghost drawn where it stood (between the boxes around it, in
its block), a collapsed block holding a change, an added block's frame, a legend of the marks
used and only those. The Ultralytics index shift (a row inserted in YOLOv8's head) and a
layer inserted in every ResNet block are drawn with every layout. The command reads A as a
file, a bundled name or FILE@REV (a git repository made in tmp_path), and imports no torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import ROOT, SPECS, cli, imported_modules, imports_torch

import netspec
from netspec.diagram import Mark, changes_between, render_dot, to_dot
from netspec.diff import diff

BASE = """name: small
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - batchnorm
  - relu
  - group:
      name: body
      layers:
        - conv: {name: conv1, out: 8, kernel: 3, padding: 1}
        - batchnorm: {name: bn1}
        - relu
  - conv: {out: 16, kernel: 3, padding: 1}
  - pool: {mode: avg, global: true}
  - flatten
  - linear: 10
"""
EDITS = {
    "insert": ("  - relu\n  - group:", "  - relu\n  - conv: {out: 8, kernel: 1}\n  - group:"),
    "delete": ("        - batchnorm: {name: bn1}\n", ""),
    "option": ("  - conv: {out: 16, kernel: 3,", "  - conv: {out: 32, kernel: 3,"),
}
NODE = re.compile(r'^\t*("[^"]+"|[^\s"]+) \[(.*)\]$', re.M)
EDGE = re.compile(r'^\t*("[^"]+"|\S+) -> ("[^"]+"|\S+)(?: \[(.*)\])?$', re.M)


def base() -> netspec.Spec:
    return netspec.loads(BASE, file="a.yaml")


def edited(old: str, new: str, text: str = BASE, file: str = "b.yaml") -> netspec.Spec:
    assert text.count(old) == 1, old
    return netspec.loads(text.replace(old, new), file=file)


def drawn(a: netspec.Spec, b: netspec.Spec, depth: int | None = None, **options: str) -> str:
    """The DOT text of b, marked since a."""
    changes = changes_between(diff(a, b), a.checked)
    return to_dot(b.checked, b.title, depth, changes=changes, **options)


def nodes(dot: str) -> dict[str, str]:
    """Each node's attributes (as one string), by its id (quotes taken off)."""
    return {m[1].strip('"'): m[2] for m in NODE.finditer(dot) if " -> " not in m[0]}


def edges(dot: str) -> list[tuple[str, str, str]]:
    return [(t.strip('"'), h.strip('"'), attrs) for t, h, attrs in EDGE.findall(dot)]


def cluster_of(dot: str, node: str) -> str:
    """The innermost cluster a node is declared in ("" for none)."""
    stack: list[str] = []
    for line in dot.splitlines():
        opened = re.match(r'\s*subgraph "?(cluster_[^"{ ]+)"? \{', line)
        if opened:
            stack.append(opened[1])
        elif line.strip() == "}":
            if stack:
                stack.pop()
        elif NODE.match(line) and NODE.match(line)[1].strip('"') == node:  # type: ignore[index]
            return stack[-1] if stack else ""
    raise AssertionError(f"no node {node}")


def colour(attrs: str) -> str:
    found = re.search(r'\bcolor="?(#[0-9a-f]{6})', attrs)
    return found[1] if found else ""


@pytest.mark.parametrize("name", sorted(EDITS))
def test_dot_golden(name: str, golden) -> None:
    golden(f"dot/diff_{name}.dot", drawn(base(), edited(*EDITS[name])))


def test_an_inserted_layer_is_green_and_the_layers_after_it_that_hold_weights_moved() -> None:
    found = nodes(drawn(base(), edited(*EDITS["insert"])))
    assert colour(found["3"]) == Mark.ADDED.colour and "+ added" in found["3"]
    assert "penwidth=2.5" in found["3"]
    # the conv and the linear after it keep their weights under other names: "was"
    assert colour(found["5"]) == Mark.MOVED.colour and "&gt; was 4" in found["5"]
    assert "&gt; was 7" in found["8"]
    # a pool or a flatten whose index shifted loses nothing: not marked
    assert colour(found["6"]) == "" and "was" not in found["6"]
    # nothing else is marked
    marked = {n for n, attrs in found.items() if "penwidth=2.5" in attrs}
    assert marked == {"3", "5", "8"}


def test_a_changed_option_says_what_changed_and_a_shape_that_follows_says_so() -> None:
    found = nodes(drawn(base(), edited(*EDITS["option"])))
    assert colour(found["4"]) == Mark.CHANGED.colour
    assert "~ out 16 → 32" in found["4"]
    assert 'tooltip="4: changed: out 16 → 32; output (16, 16, 16) → (32, 16, 16)"' in found["4"]
    assert "~ output 16×1×1 → 32×1×1" in found["5"]
    assert "~ input 16 → 32" in found["7"]  # the linear's weights follow its input
    assert colour(found["0"]) == "" and colour(found["body.conv1"]) == ""


def test_a_removed_layer_is_a_ghost_where_it_stood() -> None:
    dot = drawn(base(), edited(*EDITS["delete"]))
    ghost = "/removed/body.bn1"
    attrs = nodes(dot)[ghost]
    assert colour(attrs) == Mark.REMOVED.colour and "dashed" in attrs and "− removed" in attrs
    assert "bn1: batchnorm" in attrs
    assert cluster_of(dot, ghost) == "cluster_body"
    around = [(t, h) for t, h, a in edges(dot) if ghost in (t, h)]
    assert around == [("body.conv1", ghost), (ghost, "body.1")]  # the relu, moved up
    assert all("dashed" in a for t, h, a in edges(dot) if ghost in (t, h))
    # the edge that now goes past it is still drawn
    assert ("body.conv1", "body.1") in [(t, h) for t, h, _ in edges(dot)]


@pytest.mark.parametrize(
    ("old", "new", "ghosts", "chain"),
    [
        # the first layer: from the input
        (
            "  - conv: {out: 8, kernel: 3, padding: 1}\n  - batchnorm\n",
            "  - batchnorm\n",
            ["/removed/0"],
            ["input", "/removed/0", "0"],
        ),
        # the last layer: into the output
        (
            "  - flatten\n  - linear: 10\n",
            "  - flatten\n",
            ["/removed/7"],
            ["6", "/removed/7", "output"],
        ),
        # two in a row: a chain of ghosts
        (
            "  - batchnorm\n  - relu\n",
            "",
            ["/removed/1", "/removed/2"],
            ["0", "/removed/1", "/removed/2", "body.conv1"],
        ),
    ],
)
def test_ghosts_at_the_ends_and_in_a_row(old: str, new: str, ghosts, chain) -> None:
    dot = drawn(base(), edited(old, new), layout="straight")
    links = [(t, h) for t, h, a in edges(dot) if t in ghosts or h in ghosts]
    assert links == list(pairwise(chain))
    assert all(g in nodes(dot) for g in ghosts)


def test_a_collapsed_block_says_what_changed_inside_it_and_draws_no_ghost() -> None:
    dot = drawn(base(), edited(*EDITS["delete"]), depth=1)
    body = nodes(dot)["body"]
    assert colour(body) == Mark.CHANGED.colour and "dashed" in body
    assert "~ inside: 1 removed" in body
    assert not any(n.startswith("/removed/") for n in nodes(dot))
    assert "changed inside" in nodes(dot)["/legend"]


def test_an_added_block_is_framed_in_green_with_its_layers() -> None:
    block = "  - group:\n      name: extra\n      layers: [{conv: {out: 8, kernel: 1}}, relu]\n"
    body = "  - group:\n      name: body"
    dot = drawn(base(), edited(body, block + body))
    frame = re.search(r"subgraph cluster_extra \{\n((?:\t+\w+=.*\n)+)", dot)
    assert frame is not None
    assert f'color="{Mark.ADDED.colour}"' in frame[1] and "+ added" in frame[1]
    found = nodes(dot)
    assert colour(found["extra.0"]) == colour(found["extra.1"]) == Mark.ADDED.colour


def test_the_legend_lists_the_marks_used_and_no_others() -> None:
    legend = nodes(drawn(base(), edited(*EDITS["insert"])))["/legend"]
    assert "+ added" in legend and "&gt; moved" in legend
    assert "removed" not in legend and "changed" not in legend
    legend = nodes(drawn(base(), edited(*EDITS["delete"])))["/legend"]
    assert "− removed" in legend and "+ added" not in legend


def test_the_same_network_is_drawn_unmarked_and_says_so() -> None:
    dot = drawn(base(), base())
    assert "the same as small (a.yaml)" in dot
    assert "penwidth=2.5" not in dot and "/removed/" not in dot
    plain = to_dot(base().checked, base().title)
    assert dot.replace("\nthe same as small (a.yaml)", "") == plain


def test_the_title_says_what_changed_and_which_keys_load() -> None:
    dot = drawn(base(), edited(*EDITS["option"]))
    d = diff(base(), edited(*EDITS["option"]))
    assert "since small (a.yaml): 4 changed; params +1,328; 15 of 18 keys load by name" in dot
    assert d.b.keys == 18


def yolov8_row() -> tuple[netspec.Spec, netspec.Spec]:
    """YOLOv8 and YOLOv8 with a 3×3 Conv row inserted after row 15 of its head (the
    Ultralytics index shift)."""
    text = (SPECS / "ultralytics" / "yolov8.yaml").read_text()
    row = '        - C2f: {c2: "${ch(256)}", n: "${reps(3)}", to: small}       # 15 (P3/8-small)\n'
    new = (
        row.replace(", to: small}", "}")
        + '        - Conv: {c2: "${ch(256)}", k: 3, s: 1, to: small}\n'
    )
    return netspec.loads(text, file="yolov8.yaml"), edited(row, new, text, "yolov8.yaml")


YOLO = yolov8_row()


@pytest.fixture
def dot_program():
    """Graphviz's dot: these tests skip without it on a workstation, and fail in CI."""
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz's dot is not installed; CI must render for real")
        pytest.skip("Graphviz's dot is not installed")


@pytest.mark.parametrize("layout", ["auto", "straight", "columns", "u"])
@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_the_yolov8_row_insert_with_every_layout(layout: str, rankdir: str) -> None:
    a, b = YOLO
    found = nodes(drawn(a, b, layout=layout, rankdir=rankdir))
    assert "+ added" in found["model.16"]
    assert "~ to [small] → []" in found["model.15"]
    for row in (17, 19, 20, 22, 23):  # the rows with weights after it: each says where it was
        assert f"&gt; was model.{row - 1}" in found[f"model.{row}"]


@pytest.mark.usefixtures("dot_program")
@pytest.mark.parametrize("layout", ["auto", "columns", "u"])
def test_marked_pictures_render(layout: str) -> None:
    a, b = YOLO
    assert render_dot(drawn(a, b, layout=layout), "svg").lstrip().startswith(b"<?xml")
    text = (SPECS / "resnet.yaml").read_text()
    mid = "            - relu\n            - conv: {name: conv2,"
    wider = "            - relu\n            - conv: {name: mid, out: 8, kernel: 1}\n"
    b = edited(mid, wider + "            - conv: {name: conv2,", text, "resnet.yaml")
    a = netspec.loads(text, file="resnet.yaml")
    assert render_dot(drawn(a, b, 10**6, layout=layout), "svg").lstrip().startswith(b"<?xml")


def test_a_named_layer_in_every_resnet_block() -> None:
    text = (SPECS / "resnet.yaml").read_text()
    mid = "            - relu\n            - conv: {name: conv2,"
    new = '            - relu\n            - conv: {name: mid, out: "${out}", kernel: 1}\n'
    b = edited(mid, new + "            - conv: {name: conv2,", text, "resnet.yaml")
    a = netspec.loads(text, file="resnet.yaml")
    expanded = nodes(drawn(a, b, 10**6))
    added = {n for n, attrs in expanded.items() if "+ added" in attrs and n != "/legend"}
    assert added == {f"stage{s}.{i}.body.mid" for s in range(1, 5) for i in range(2)}
    assert not any("was" in attrs for attrs in expanded.values())  # every other key stays
    closed = nodes(drawn(a, b, 1))
    assert all("~ inside: 2 added" in closed[f"stage{s}"] for s in range(1, 5))
    assert colour(closed["stem"]) == colour(closed["head"]) == ""


def test_deterministic() -> None:
    a, b = base(), edited(*EDITS["delete"])
    assert drawn(a, b) == drawn(a, b)


def git(folder: Path, *args: str) -> None:
    who = ["-c", "user.name=netspec", "-c", "user.email=netspec@example.com"]
    subprocess.run(["git", *who, *args], cwd=folder, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose last commit holds net.yaml (BASE), edited since (a delete)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    git(tmp_path, "init", "-q")
    (tmp_path / "net.yaml").write_text(BASE)
    git(tmp_path, "add", "net.yaml")
    git(tmp_path, "commit", "-q", "-m", "a network")
    (tmp_path / "net.yaml").write_text(BASE.replace(*EDITS["delete"]))
    return tmp_path


@pytest.mark.parametrize("word", ["@HEAD", "net.yaml@HEAD", "old.yaml"])
def test_the_command_draws_the_spec_marked_since_the_version_named(repo: Path, word) -> None:
    (repo / "old.yaml").write_text(BASE)
    run = cli("render", "net.yaml", "--diff", word, "--format", "dot", cwd=repo)
    assert (run.code, run.err) == (0, ""), run.err
    assert run.out == "net.yaml: wrote small-diff.dot\n"
    dot = (repo / "small-diff.dot").read_text()
    against = "old.yaml" if word == "old.yaml" else "net.yaml@HEAD"
    assert f"since small ({against}): 1 removed, 1 moved" in dot
    b = netspec.load(repo / "net.yaml")
    expected = drawn(netspec.loads(BASE, file=against), b)
    assert dot == expected


def test_the_command_keeps_its_layout_options_and_the_diff_side_its_own_scale(
    tmp_path: Path,
) -> None:
    out = tmp_path / "y.dot"
    run = cli(
        "render", "ultralytics/yolov8", "--scale", "s", "--diff", "ultralytics/yolov8",
        "--diff-scale", "n", "--layout", "columns", "--rankdir", "LR", "-o", str(out),
    )  # fmt: skip
    assert run.code == 0, run.err
    a = netspec.load("ultralytics/yolov8", scale="n")
    b = netspec.load("ultralytics/yolov8", scale="s")
    assert out.read_text() == drawn(a, b, layout="columns", rankdir="LR")
    assert "since yolov8 (scale n) (specs/ultralytics/yolov8.yaml): " in out.read_text()


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--diff", "@nope"], 1, 'net.yaml@nope: error: unknown revision "nope"'),
        (["--diff", "gone.yaml"], 1, "gone.yaml: error: no such file"),
        (["--diff-scale", "n"], 2, "--diff-scale and --diff-set say which version --diff"),
        (["--diff", "@HEAD", "--diff-set", "x"], 2, "--diff-set 'x': expected NAME=VALUE"),
    ],
)
def test_the_command_says_what_is_wrong(repo: Path, args, code: int, said: str) -> None:
    run = cli("render", "net.yaml", *args, "-o", "x.dot", cwd=repo)
    assert run.code == code and said in run.err, run.err
    assert not (repo / "x.dot").exists()


def test_the_command_imports_no_torch(tmp_path: Path) -> None:
    out = str(tmp_path / "r.dot")
    imported = imported_modules("render", "resnet", "--diff", "lenet", "-o", out)
    assert {"netspec.diagram.marks", "netspec.diff", "netspec.revisions"} <= imported
    assert not imports_torch(imported)


def test_the_diff_pictures_are_up_to_date() -> None:
    """docs/gallery/diff: each picture carries the hash of the DOT it was drawn from; rerun
    python docs/make_diff_pictures.py when one is out of date."""
    found = importlib.util.spec_from_file_location(
        "pictures", ROOT / "docs" / "make_diff_pictures.py"
    )
    assert found is not None and found.loader is not None
    pictures = importlib.util.module_from_spec(found)
    found.loader.exec_module(pictures)
    drawn = sorted(p.stem for p in pictures.FOLDER.glob("*.svg"))
    assert drawn == sorted(pictures.EDITS)
    for name in drawn:
        svg = (pictures.FOLDER / f"{name}.svg").read_text()
        mark = re.search(
            r"netspec-dot-sha256: ([0-9a-f]{64}) \(docs/make_diff_pictures.py (\S+)\)", svg
        )
        assert mark is not None and mark[2] == name, f"{name}.svg has no mark"
        expected = hashlib.sha256(pictures.diff_dot(name).encode()).hexdigest()
        assert mark[1] == expected, f"docs/gallery/diff/{name}.svg is out of date"


def test_a_removed_branch_stands_beside_the_others_and_a_removed_body_layer_in_its_chain() -> None:
    text = (
        "name: r\ninput: [8, 16, 16]\nlayers:\n"
        "  - residual: {name: res, after: relu, body: [{conv: {out: 8, kernel: 3, padding: 1}},"
        " batchnorm, relu, {conv: {out: 8, kernel: 3, padding: 1}}]}\n"
        "  - inception: {merge: concat, branches: {a: [{conv: {out: 4, kernel: 1}}],"
        " b: [{conv: {out: 4, kernel: 1}}, {conv: {out: 4, kernel: 3, padding: 1}}],"
        " c: [{pool: {mode: max, kernel: 3, stride: 1, padding: 1}}]}}\n"
    )
    a = netspec.loads(text, file="a.yaml")
    branch = " b: [{conv: {out: 4, kernel: 1}}, {conv: {out: 4, kernel: 3, padding: 1}}],"
    b = edited(" batchnorm, relu,", " relu,", text.replace(branch, ""))
    dot = drawn(a, b, 10**6)
    links = [(t, h) for t, h, _ in edges(dot)]
    # the branch: from what feeds the branches, into their merge, not from one to the next
    feeds = next(t for t, h in links if h == "1.a")
    assert [x for x in links if "/removed/1.b" in x] == [
        (feeds, "/removed/1.b"),
        ("/removed/1.b", "1/merge"),
    ]
    # the body's batchnorm: between the conv before it and the relu after it
    body = [x for x in links if "/removed/res.body.1" in x]
    assert body == [("res.body.0", "/removed/res.body.1"), ("/removed/res.body.1", "res.body.1")]
