"""netspec render: deterministic DOT (golden files), every format, no torch, no dot, gallery;
and the picture's own rules: labels clear of the next line, skips unlike borders, a compact
legend, a tensor's shape written once."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    BUNDLED,
    FIXTURES,
    ROOT,
    ZOO,
    cli,
    imported_modules,
    imports_torch,
    netspec,
)

import netspec as ns
from netspec.diagram import CLUSTER, SCREEN_NODES, SKIP_COLOUR, auto_depth, render_dot

MAGIC = {"svg": b"<svg", "png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}
#: small networks, one for each thing a picture got wrong once (issue 12)
SMALL = {
    # one tensor read by three branches: its shape is written once
    "fanout": "name: fanout\ninput: [8, 16, 16]\nlayers:\n"
    "  - conv: {out: 8, kernel: 1}\n"
    "  - inception: {merge: concat, branches: {a: [{conv: {out: 4, kernel: 1}}],"
    " b: [{conv: {out: 4, kernel: 3, padding: 1}}], c: [{pool: {mode: max, kernel: 3,"
    " stride: 1, padding: 1}}]}}\n",
    # an identity shortcut and a projection, in named blocks: skips beside cluster borders
    "skip": "name: skip\ninput: [4, 8, 8]\nlayers:\n"
    "  - residual: {name: same, body: [{conv: {out: 4, kernel: 3, padding: 1}}], after: relu}\n"
    "  - residual: {name: wider, body: [{conv: {out: 8, kernel: 3, padding: 1, stride: 2}}],"
    " shortcut: auto}\n",
}
ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|<.*>|[^\s\]]+)')


def edges(dot: str) -> list[tuple[str, str, dict[str, str]]]:
    """The DOT text's edges: tail, head and attributes (quotes taken off). An edge written
    from head to tail with its arrow turned back (``dir=back``: a U's right side, a column's
    bridge) is given as the tensor flows, ``dir`` left out."""
    found = []
    for tail, head, attrs in re.findall(
        r'^\s*("[^"]+"|\S+) -> ("[^"]+"|\S+)(?: \[(.*)\])?$', dot, re.M
    ):
        pairs = {k: v.strip('"') for k, v in ATTR.findall(attrs)}
        if pairs.pop("dir", None) == "back":
            tail, head = head, tail
        found.append((tail.strip('"'), head.strip('"'), pairs))
    return found


def drawings() -> list[tuple[str, str]]:
    """Every bundled spec and small network, drawn at its default depth and expanded."""
    specs = [(n, ns.load(n)) for n in [*BUNDLED, "torchvision/googlenet", "ultralytics/yolov8"]]
    specs += [(n, ns.loads(text)) for n, text in SMALL.items()]
    specs += [("two_in_two_out", ns.load(str(FIXTURES / "graphs" / "two_in_two_out.yaml")))]
    return [(f"{n}@{d}", spec.to_dot(depth=d)) for n, spec in specs for d in (None, 10**6)]


DRAWINGS = drawings()


@pytest.fixture
def dot_program():
    """Graphviz's dot: these tests skip without it on a workstation, and fail in CI."""
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz's dot is not installed; CI must render for real")
        pytest.skip("Graphviz's dot is not installed")


@pytest.mark.parametrize(
    ("name", "depth"),
    [("lenet", None), ("googlenet", None), ("googlenet", 99), ("resnet", None), ("resnet", 99)],
)
def test_dot_golden(name, depth, golden):
    suffix = "" if depth is None else "_expanded"
    golden(f"dot/{name}{suffix}.dot", ns.load(name).to_dot(depth=depth))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_dot_golden(name, golden):
    golden(f"dot/{name}.dot", ns.loads(SMALL[name]).to_dot(depth=10**6))


def test_graph_dot_golden(golden):
    """Named tensors, two inputs, two outputs: the legend under both, skips in blue."""
    spec = ns.load(str(FIXTURES / "graphs" / "two_in_two_out.yaml"))
    golden("dot/two_in_two_out.dot", spec.to_dot(depth=99))


def test_dot_is_deterministic_across_processes():
    code = "import netspec; print(netspec.load('googlenet').to_dot(depth=99))"
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


def test_structure_is_visible():
    resnet = ns.load("resnet").to_dot(depth=99)
    # clusters for named groups and blocks; the shortcut bypasses the body into the add node,
    # drawn as a skip (solid, coloured), never dashed like a cluster's border
    assert (
        re.search(r'subgraph "?cluster_stage2"? \{', resnet) and 'label="stage2: stage"' in resnet
    )
    drawn = {(tail, head): attrs for tail, head, attrs in edges(resnet)}
    projection = drawn["stage2.0.shortcut", "stage2.0/add"]
    assert projection["label"] == "128×12×12" and projection["color"] == SKIP_COLOUR
    identity = drawn["stage1.0.after", "stage1.1/add"]  # the shape is on the body's edge
    assert "label" not in identity and identity["color"] == SKIP_COLOUR
    assert drawn["stage1.0.after", "stage1.1.body.conv1"]["label"] == "64×24×24"
    google = ns.load("googlenet").to_dot(depth=99)
    # four branches from one input into one concat node
    for p in ("p1", "p2", "p3", "p4"):
        assert f'subgraph "cluster_b3.0.{p}"' in google
    assert len(re.findall(r'-> "b3\.0/merge"', google)) == 4
    fan = [a for t, h, a in edges(google) if t == "b2.4" and h.startswith("b3.0.")]
    assert len(fan) == 4 and [a.get("label") for a in fan] == ["192×12×12", None, None, None]
    # paper-style labels with parameters, edges with shapes
    assert "<b>conv 7×7 /2, 64</b>" in google and "3,200 params" in google
    assert '[label="192×24×24"]' in google


def test_collapsed_blocks_show_shapes_params_macs():
    dot = ns.load("resnet").to_dot(depth=1)
    assert "stage1: stage ×2" in dot
    assert "64×24×24 → 64×24×24" in dot and "148,224 params" in dot and "84.9 M MACs" in dot


def test_default_depth_fits_a_screen():
    for name in BUNDLED:
        root = ns.load(name).checked
        depth = auto_depth(root)
        assert depth.blocks >= depth.layers >= 1
        nodes = len(re.findall(r"^\s+\"[^\"]+\" \[label=", ns.load(name).to_dot(), re.M))
        assert nodes <= SCREEN_NODES + 12  # + input, output, merges and the legend


def test_colours_and_legend():
    dot = ns.load("resnet").to_dot(depth=99)
    legend = re.search(r'^\t"/legend" \[label=<(.*)> .*shape=none', dot, re.M)
    assert legend
    for family in ("convolution", "pooling", "normalisation", "activation", "linear", "merge"):
        assert re.search(rf'<td bgcolor="#[0-9a-f]{{6}}" [^>]*>{family}</td>', legend.group(1))
    assert "structure" not in legend.group(1)  # only what the picture uses: no collapsed block
    assert f'color="{SKIP_COLOUR}"' in legend.group(1) and "skip" in legend.group(1)
    assert 'style="dashed"' in legend.group(1) and "block" in legend.group(1)
    assert 'fillcolor="#a6cee3"' in dot  # convolutions are blue
    lenet = ns.load("lenet").to_dot()  # no skips, no clusters: the legend says neither
    assert "skip" not in lenet and "block" not in lenet


@pytest.mark.parametrize(("name", "dot"), DRAWINGS, ids=[n for n, _ in DRAWINGS])
def test_legend_is_one_narrow_node_under_the_outputs(name, dot):
    """A row of legend nodes beside the output made a 200 px graph a 1,000 px picture."""
    legend = re.findall(r'^\t"/legend" \[label=<(.*)> ', dot, re.M)
    assert len(legend) == 1 and "legend_" not in dot
    rows = re.findall(r"<tr>(.*?)</tr>", legend[0])
    assert rows and all(row.count("<td") <= 2 for row in rows)  # two columns at most
    outputs = {h for _, h, _ in edges(dot) if h == "output" or h.startswith("output/")}
    under = {t for t, h, a in edges(dot) if h == "/legend" and a == {"style": "invis"}}
    if name.startswith("unet"):  # a U's outputs are at its top: the legend under its bottom
        assert len(under) == 1 and not under & outputs
    else:
        assert outputs and under == outputs  # below every output, never in a row beside one
    assert "rank=same" not in dot.split('"/legend"')[0].rsplit("}", 1)[-1]


@pytest.mark.parametrize(("name", "dot"), DRAWINGS, ids=[n for n, _ in DRAWINGS])
def test_skips_look_unlike_cluster_borders(name, dot):
    """A skip is solid, blue and thick with an arrowhead; a block's border thin, dashed, grey."""
    for _, _, attrs in edges(dot):
        if attrs.get("style") == "invis":
            continue
        assert "dashed" not in attrs.get("style", "") and "dotted" not in attrs.get("style", "")
        if attrs.get("color") == SKIP_COLOUR:
            assert attrs["style"] == "solid" and attrs.get("arrowhead", "normal") != "none"
            assert float(attrs["penwidth"]) >= 2 * float(CLUSTER["penwidth"])
    for border in re.findall(r"^\s*color=(\S+) .*style=\S+$", dot, re.M):
        assert border.strip('"') != SKIP_COLOUR
    assert "dashed" in CLUSTER["style"] and CLUSTER["color"] != SKIP_COLOUR
    clusters = re.findall(r"^\s*subgraph (\S+) \{\n\s*(.*)$", dot, re.M)
    for cluster, attrs in clusters:
        if "cluster_/" in cluster:  # a column: no border at all
            assert attrs == 'label="" peripheries=0'
        elif "cluster" in cluster:
            assert f'color="{CLUSTER["color"]}"' in attrs and "dashed" in attrs


@pytest.mark.parametrize(("name", "dot"), DRAWINGS, ids=[n for n, _ in DRAWINGS])
def test_a_tensor_shape_is_written_once(name, dot):
    """A fan-out (inception's branches, a shortcut) labels one of its edges, not each."""
    seen: set[tuple[str, str]] = set()
    for tail, _, attrs in edges(dot):
        if "label" in attrs:
            assert (tail, attrs["label"]) not in seen, f"{tail} says {attrs['label']} twice"
            seen.add((tail, attrs["label"]))
    tails = {t for t, _, a in edges(dot) if a.get("style") != "invis"}
    assert tails == {t for t, _ in seen}  # and every node's tensor is written somewhere


@pytest.mark.parametrize(("name", "dot"), DRAWINGS, ids=[n for n, _ in DRAWINGS])
def test_label_lines_are_table_rows(name, dot):
    """``<br/>`` lines sit on each other (an underscore touched the next line): rows do not."""
    assert "<br" not in dot
    labels = re.findall(r'^\t+(?!"/legend")\S+ \[label=<(<table.*?</table>)>', dot, re.M)
    assert labels  # every drawing has a layer with parameters, or a collapsed block
    for label in labels:
        assert 'cellpadding="1"' in label and label.count("<tr>") >= 2


@pytest.mark.parametrize("name", ZOO)
def test_zoo_draws_at_every_depth(name):
    spec = ns.load(name)
    for depth in (1, 2, 3, 4, 10**6):
        dot = spec.to_dot(depth=depth)
        assert dot.startswith("digraph") and "output" in dot
    if "resnet" in name:  # inline residuals: the block's own layers, and the named projection
        assert "downsample" in spec.to_dot(depth=10**6)


@pytest.mark.usefixtures("dot_program")
@pytest.mark.parametrize("name", BUNDLED)
@pytest.mark.parametrize("fmt", ["svg", "png", "pdf", "dot"])
def test_render_every_format(name, fmt, tmp_path):
    out = tmp_path / f"{name}.{fmt}"
    run = cli("render", name, "-o", str(out))
    assert run.code == 0, run.err
    data = out.read_bytes()
    if fmt == "dot":
        assert data.decode() == ns.load(name).to_dot()
    else:
        assert MAGIC[fmt] in data[:400]
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # nothing half-written left


@pytest.mark.usefixtures("dot_program")
def test_render_options(tmp_path):
    run = cli("render", "googlenet", "--expand", "--rankdir", "LR", "--format", "svg", cwd=tmp_path)
    assert run.code == 0, run.err
    svg = (tmp_path / "googlenet.svg").read_text()
    assert "conv 5×5, 32" in svg
    assert cli("render", "lenet", "--depth", "0").code == 2
    assert cli("render", "lenet", "--depth", "1", "--expand").code == 2
    assert cli("render", "lenet", "-o", str(tmp_path / "x.gif")).code == 2
    assert cli("render", "lenet", "-o", str(tmp_path / "x.svg"), "--format", "png").code == 2


def svg_size(svg: str) -> tuple[float, float]:
    width, height = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups()
    return float(width), float(height)


@pytest.mark.usefixtures("dot_program")
@pytest.mark.parametrize("name", ["lenet", "resnet", "googlenet", "unet"])
def test_the_legend_does_not_widen_the_picture(name):
    """The picture is as wide with its legend as without it: the graph sets the width."""
    dot = ns.load(name).to_dot()
    bare = "\n".join(line for line in dot.splitlines() if '"/legend"' not in line)
    with_legend = svg_size(render_dot(dot, "svg").decode())
    without = svg_size(render_dot(bare, "svg").decode())
    assert with_legend[0] == without[0]
    assert with_legend[1] < without[1] + 100  # and adds a few lines, not a page


@pytest.mark.usefixtures("dot_program")
def test_a_bold_line_clears_the_line_below():
    """In the SVG, a collapsed block's name (bold 10 pt, with an underscore) and the 8 pt line
    under it are at least the bold line's descent plus the small line's ascent apart."""
    svg = render_dot(ns.load("resnet").to_dot(depth=2), "svg").decode()
    node = svg.split("<title>stage1.0</title>", 1)[1].split("</g>", 1)[0]
    baselines = [float(y) for y in re.findall(r'<text [^>]*y="(-?[\d.]+)"', node)]
    assert len(baselines) == 3
    assert baselines[1] - baselines[0] >= 11  # was 8.4: the underscore touched "64×24×24"
    box = [float(y) for y in re.findall(r"-?[\d.]+,(-?[\d.]+)", node.split("<text", 1)[0])]
    assert max(box) - baselines[-1] >= 3  # the last line's descenders clear the border


def test_render_without_dot_writes_dot_and_says_how_to_install(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    run = netspec("render", "lenet", "-o", str(tmp_path / "lenet.svg"), env={"PATH": str(empty)})
    assert run.code == 3  # not the asked file: a script or Makefile must notice
    assert not (tmp_path / "lenet.svg").exists()
    assert (tmp_path / "lenet.dot").read_text() == ns.load("lenet").to_dot()
    assert len(run.err.strip().splitlines()) == 1
    assert "install Graphviz" in run.err and "apt-get install graphviz" in run.err


def test_render_does_not_import_torch(tmp_path):
    imported = imported_modules(
        "render", "resnet", "--format", "dot", "-o", str(tmp_path / "r.dot")
    )
    assert "netspec.diagram" in imported
    assert not imports_torch(imported)


@pytest.mark.usefixtures("dot_program")
def test_notebook_repr_is_the_diagram():
    bundle = ns.load("lenet")._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")
    assert "61,706 params" in bundle["text/plain"]


def test_gallery_is_up_to_date():
    """Each picture carries the hash of the DOT it was drawn from, and the command that drew
    it: rerun `make gallery`. Every bundled classic is there, and every picture is shown."""
    text = (ROOT / "docs" / "gallery.md").read_text()
    pictures = sorted((ROOT / "docs" / "gallery").glob("*.svg"))
    assert {f"{name}.svg" for name in BUNDLED} <= {p.name for p in pictures}
    for path in pictures:
        assert f"(gallery/{path.name})" in text, f"docs/gallery.md does not show {path.name}"
        svg = path.read_text()
        mark = re.search(r"netspec-dot-sha256: ([0-9a-f]{64}) \(netspec render (\S+)(.*)\)", svg)
        assert mark, f"{path.name} has no netspec mark"
        digest, name, args = mark.groups()
        depth = 10**6 if args == " --expand" else int(args.split()[-1]) if args else None
        expected = hashlib.sha256(ns.load(name).to_dot(depth=depth).encode()).hexdigest()
        assert digest == expected, f"docs/gallery/{path.name} is out of date: make gallery"


def test_merge_nodes_cannot_collide_with_layers_named_add():
    spec = ns.loads(
        "name: r\ninput: [4, 8, 8]\nlayers:\n"
        "  - residual: {name: a, inline: true, after: relu, body: [{conv: {name: add, out: 4,"
        " kernel: 3, padding: 1}}]}\n"
        "  - residual: {name: b, body: [{conv: {out: 8, kernel: 1}}], projection: {name: add}}\n"
    )
    dot = spec.to_dot(depth=10**6)
    # the layers named add and the + nodes of the additions are different nodes
    assert '"a.add" [label=<<table' in dot and '"a/add" [label="+"' in dot
    assert '"b.add" -> "b/add"' in dot and '"b/add" -> "b/add"' not in dot


# Graphviz's dot under a deadline: a fake dot on PATH says what dot does (sleeps past any
# deadline, fails, cannot be run), so that no test depends on how fast a machine draws


@pytest.fixture
def fake_dot(tmp_path, monkeypatch):
    """``fake_dot(script)``: a program called dot, first on PATH, running the shell ``script``."""

    def make(script: str, mode: int = 0o755) -> None:
        folder = tmp_path / "fake-bin"
        folder.mkdir(exist_ok=True)
        program = folder / "dot"
        program.write_text(script)
        program.chmod(mode)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")

    return make


def _render_in_process(tmp_path, capsys, *args: str) -> tuple[int, str, str]:
    from netspec.cli import main

    code = main(["render", "lenet", "-o", str(tmp_path / "lenet.svg"), *args])
    out, err = capsys.readouterr()
    return code, out, err


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (gone, or a zombie nobody reaped yet)."""
    try:
        state = (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split() or ["X"])[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def test_dot_past_its_deadline_is_killed_with_its_children(tmp_path, capsys, fake_dot, monkeypatch):
    """A dot that never ends is stopped at its deadline, its whole process group with it (a
    child of dot that holds the pipes open included), and render keeps the .dot, exit 3."""
    from netspec import diagram

    pids = tmp_path / "pids"
    fake_dot(f"#!/bin/sh\nsleep 300 &\necho $! $$ > {pids}\nsleep 300\n")
    monkeypatch.setattr(diagram, "DOT_SECONDS", 0.3)
    monkeypatch.setattr(diagram, "DOT_SECONDS_PER_LINE", 0.0)
    code, out, err = _render_in_process(tmp_path, capsys)
    assert code == 3 and out == ""
    assert err == (
        f"netspec render: wrote {tmp_path / 'lenet.dot'} instead of {tmp_path / 'lenet.svg'}. "
        "Graphviz's dot did not finish within 0.3 s (the limit for a graph of 40 lines), and "
        "was stopped\nhint: draw fewer nodes: --depth 1, or leave out --expand\n"
    )
    assert (tmp_path / "lenet.dot").read_text() == ns.load("lenet").to_dot()
    assert not (tmp_path / "lenet.svg").exists()
    assert all(_gone(int(pid)) for pid in pids.read_text().split())


def test_the_deadline_grows_with_the_graph():
    from netspec.diagram import DOT_SECONDS, DOT_SECONDS_PER_LINE, dot_deadline

    small, big = ns.load("lenet").to_dot(), ns.load("googlenet").to_dot(depth=99)
    assert dot_deadline(small) == DOT_SECONDS + DOT_SECONDS_PER_LINE * small.count("\n")
    assert dot_deadline(big) > dot_deadline(small) >= DOT_SECONDS


@pytest.mark.parametrize(
    ("script", "said"),
    [
        (  # what dot says of an edge too long for it, with a terminal escape and two lines
            "#!/bin/sh\necho 'Error: trouble in init_rank\x1b[31m' >&2\necho 'line 2' >&2\n"
            "exit 1\n",
            "Graphviz's dot failed (exit status 1): Error: trouble in init_rank\\x1b[31m\\nline 2",
        ),
        ("#!/bin/sh\nkill -9 $$\n", "Graphviz's dot was killed (signal SIGKILL)"),
        ("#!/bin/sh\nexit 2\n", "Graphviz's dot failed (exit status 2) and said nothing"),
        (
            "#!/nonexistent/interpreter\n",
            "Graphviz's dot could not be run: No such file or directory",
        ),
        ("\x7fELF not really\n", "Graphviz's dot could not be run: Exec format error"),
    ],
    ids=["fails", "killed", "silent", "bad_interpreter", "not_a_program"],
)
def test_a_failing_dot_is_a_message_not_a_traceback(tmp_path, capsys, fake_dot, script, said):
    fake_dot(script)
    code, out, err = _render_in_process(tmp_path, capsys)
    assert code == 3 and out == ""
    head = f"netspec render: wrote {tmp_path / 'lenet.dot'} instead of {tmp_path / 'lenet.svg'}. "
    assert err.startswith(head + said), err
    assert "Traceback" not in err and len(err.splitlines()) == 2  # the message and a hint
    assert (tmp_path / "lenet.dot").read_text() == ns.load("lenet").to_dot()


def test_a_failing_dot_says_little_of_a_long_complaint(tmp_path, capsys, fake_dot):
    fake_dot("#!/bin/sh\nhead -c 100000 /dev/zero | tr '\\0' x >&2\nexit 1\n")
    code, _, err = _render_in_process(tmp_path, capsys)
    assert code == 3 and len(err) < 1000 and err.count("x") < 400


def test_render_dot_raises_no_picture_the_api_can_catch(fake_dot):
    from netspec.diagram import GraphvizFailed, NoPicture

    fake_dot("#!/bin/sh\nexit 1\n")
    with pytest.raises(GraphvizFailed) as raised:
        render_dot(ns.load("lenet").to_dot(), "svg")
    assert isinstance(raised.value, NoPicture)


@pytest.mark.usefixtures("dot_program")
def test_render_with_the_real_dot_under_its_deadline(tmp_path, capsys):
    code, _, err = _render_in_process(tmp_path, capsys, "--expand")
    assert (code, err) == (0, "")
    assert (tmp_path / "lenet.svg").read_bytes().lstrip().startswith(b"<?xml")
