"""netspec render: deterministic DOT (golden files), every format, no torch, no dot, gallery."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import BUNDLED, ROOT, ZOO, imported_modules, imports_torch, netspec

import netspec as ns
from netspec.diagram import SCREEN_NODES, auto_depth

MAGIC = {"svg": b"<svg", "png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}


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
    skip = r'color="#1f78b4" fontcolor="#1f78b4" penwidth=1.4\]'
    assert re.search(
        r'"stage2\.0\.shortcut" -> "stage2\.0/add" \[label="128×12×12" ' + skip, resnet
    )
    assert re.search(r'"stage1\.0\.after" -> "stage1\.1/add" \[label="64×24×24" ' + skip, resnet)
    assert "style=dashed]" not in resnet.split("legend")[0].replace('style="rounded,dashed"', "")
    google = ns.load("googlenet").to_dot(depth=99)
    # four branches from one input into one concat node
    for p in ("p1", "p2", "p3", "p4"):
        assert f'subgraph "cluster_b3.0.{p}"' in google
    assert len(re.findall(r'-> "b3\.0/merge"', google)) == 4
    # paper-style labels with parameters, edges with shapes
    assert "<b>conv 7×7 /2, 64</b>" in google and "3,200 params" in google
    assert '[label="192×12×12"]' in google


def test_collapsed_blocks_show_shapes_params_macs():
    dot = ns.load("resnet").to_dot(depth=1)
    assert "stage1: stage ×2" in dot
    assert "64×24×24 → 64×24×24" in dot and "148,224 params" in dot and "84.9 M MACs" in dot


def test_default_depth_fits_a_screen():
    for name in BUNDLED:
        root = ns.load(name).checked
        depth = auto_depth(root)
        assert depth >= 1
        nodes = len(re.findall(r"^\s+\"[^\"]+\" \[label=", ns.load(name).to_dot(), re.M))
        assert nodes <= SCREEN_NODES + 12  # + input, output, merges and the legend


def test_colours_and_legend():
    dot = ns.load("resnet").to_dot(depth=99)
    for family in ("convolution", "pooling", "normalisation", "activation", "linear", "merge"):
        assert re.search(rf'"?legend_\w+"? \[label={family} fillcolor="#[0-9a-f]{{6}}"', dot)
    assert 'fillcolor="#a6cee3"' in dot  # convolutions are blue


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
    run = netspec("render", name, "-o", str(out))
    assert run.code == 0, run.err
    data = out.read_bytes()
    if fmt == "dot":
        assert data.decode() == ns.load(name).to_dot()
    else:
        assert MAGIC[fmt] in data[:400]
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # nothing half-written left


@pytest.mark.usefixtures("dot_program")
def test_render_options(tmp_path):
    run = netspec(
        "render", "googlenet", "--expand", "--rankdir", "LR", "--format", "svg", cwd=tmp_path
    )
    assert run.code == 0, run.err
    svg = (tmp_path / "googlenet.svg").read_text()
    assert "conv 5×5, 32" in svg
    assert netspec("render", "lenet", "--depth", "0").code == 2
    assert netspec("render", "lenet", "--depth", "1", "--expand").code == 2
    assert netspec("render", "lenet", "-o", str(tmp_path / "x.gif")).code == 2
    assert netspec("render", "lenet", "-o", str(tmp_path / "x.svg"), "--format", "png").code == 2


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
    """Each picture carries the hash of the DOT it was drawn from: rerun `make gallery`."""
    text = (ROOT / "docs" / "gallery.md").read_text()
    for name in BUNDLED:
        assert f"gallery/{name}.svg" in text
        svg = (ROOT / "docs" / "gallery" / f"{name}.svg").read_text()
        mark = re.search(r"netspec-dot-sha256: ([0-9a-f]{64})", svg)
        assert mark, f"{name}.svg has no netspec mark"
        expected = hashlib.sha256(ns.load(name).to_dot().encode()).hexdigest()
        assert mark.group(1) == expected, f"docs/gallery/{name}.svg is out of date: make gallery"


def test_merge_nodes_cannot_collide_with_layers_named_add():
    spec = ns.loads(
        "name: r\ninput: [4, 8, 8]\nlayers:\n"
        "  - residual: {name: a, inline: true, after: relu, body: [{conv: {name: add, out: 4,"
        " kernel: 3, padding: 1}}]}\n"
        "  - residual: {name: b, body: [{conv: {out: 8, kernel: 1}}], projection: {name: add}}\n"
    )
    dot = spec.to_dot(depth=10**6)
    # the layers named add and the + nodes of the additions are different nodes
    assert '"a.add" [label=<<b>conv' in dot and '"a/add" [label="+"' in dot
    assert '"b.add" -> "b/add"' in dot and '"b/add" -> "b/add"' not in dot
