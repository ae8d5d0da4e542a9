"""``netspec lsp`` hover in a file with errors: every layer that no error reaches keeps its
shapes (the error stops what depends on it, not the whole file), the diagnostics stay those
of ``netspec check``, and what the recovery keeps equals what the valid file gives. Called
directly (:func:`netspec.lsp.analysis.analyse`, :func:`netspec.lsp.hover.hover`), and end to
end through a real server."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsp_client import ROOT, Client

import netspec
from netspec.lsp.markdown import text as md
from netspec.source import Document, PathKey, read_source

pytest.importorskip("pygls")

from lsprotocol import types

from netspec.lsp.analysis import Analysis, Layer, analyse
from netspec.lsp.hover import hover, layer_text
from netspec.lsp.places import entry_ends
from netspec.lsp.positions import Text
from netspec.lsp.recovery import MAX_ROUNDS

BUNDLED = sorted([*ROOT.glob("specs/*.yaml"), *ROOT.glob("specs/*/*.yaml")])


def plain(markdown: str) -> str:
    """Markdown with netspec's escapes removed (``\\(8\\, 32\\)`` reads ``(8, 32)``)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def hovered(analysis: Analysis, text: str, line_has: str, word: str) -> str:
    """The hover's text on ``word`` in the first line holding ``line_has`` ("" for none),
    its escapes removed."""
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if line_has in line)
    col = lines[row].index(word) + 1
    found = hover(analysis, Text.of(text), "x.yaml", types.Position(row, col))
    return plain(found.contents.value) if found is not None else ""  # type: ignore[union-attr]


def shape(value: str) -> str:
    """The output shape a hover shows (``**(8, 32, 32)**``), or "" where it shows none."""
    start = value.find("→ **")
    return value[start + 4 : value.index("**", start + 4)] if start >= 0 else ""


def same_diagnostics(text: str, analysis: Analysis) -> None:
    """The analysis reports exactly what netspec reports for the text."""
    try:
        expected = list(netspec.loads(text, "x.yaml").warnings)
    except netspec.NetspecError as e:
        expected = list(e.diagnostics)
    assert analysis.diagnostics == expected


TEN = "name: ten\ninput: [3, 32, 32]\nlayers:\n" + "".join(
    f"  - conv: {{name: c{i}, out: 8, kernel: 3, padding: 1}}\n"
    if i != 7
    else "  - linear: {name: fc, out: 10}\n"
    for i in range(10)
)


@pytest.mark.parametrize("recover", [False, True], ids=["first check", "recovered"])
def test_a_shape_error_keeps_the_shapes_before_it(recover: bool) -> None:
    """An error in layer 7 of 10: layers 0-6 hover with their shapes, already from the check
    that finds the error; the layers after it, which read its output, show none."""
    analysis = analyse(TEN, None, "x.yaml", recover=recover)
    same_diagnostics(TEN, analysis)
    before = TEN.split("  - linear")[0]  # the layers before the error, a valid spec
    valid = {c.path: c for c in netspec.loads(before).check().walk()}
    for i in range(7):
        value = hovered(analysis, TEN, f"name: c{i},", "conv")
        layer = valid[f"c{i}"]
        assert f"`c{i}`: {layer.text()}" in value and shape(value) == str(layer.output), i
        assert f"{layer.params:,} params, {layer.macs:,} MACs" in value
    for line in ("name: fc", "name: c8", "name: c9"):
        assert shape(hovered(analysis, TEN, line, "n")) == ""


INCEPTION = """\
name: branches
input: [3, 32, 32]
layers:
  - conv: {name: stem, out: 8, kernel: 3, padding: 1}
  - inception:
      name: mix
      branches:
        a: [{conv: {out: 4, kernel: 1}}]
        b: [{conv: {out: 4, kernel: 1}}, {linear: 3}]
        c: [{conv: {out: 4, kernel: 3, padding: 1}}, relu]
  - relu: {name: after}
"""


def test_an_error_in_one_branch_keeps_the_other_branches() -> None:
    analysis = analyse(INCEPTION, None, "x.yaml", recover=True)
    same_diagnostics(INCEPTION, analysis)
    assert shape(hovered(analysis, INCEPTION, "name: stem", "conv")) == "(8, 32, 32)"
    value = hovered(analysis, INCEPTION, "a: [", "conv")
    assert "`mix.a`: conv 1×1, 4" in value and shape(value) == "(4, 32, 32)"
    assert shape(hovered(analysis, INCEPTION, "b: [", "conv")) == "(4, 32, 32)"
    # the branch after the one that fails, checked with a stand-in for it
    value = hovered(analysis, INCEPTION, "c: [", "conv")
    assert "`mix.c.0`: conv 3×3, 4" in value and shape(value) == "(4, 32, 32)"
    assert "`mix.c.1`: relu" in hovered(analysis, INCEPTION, "c: [", "relu")
    # the failing layer, the inception that merges it and the layer after: no shapes
    for line, word in (("b: [", "linear"), ("name: mix", "mix"), ("name: after", "relu")):
        assert shape(hovered(analysis, INCEPTION, line, word)) == "", line


CALLED = """\
name: with_blocks
input: [3, 32, 32]
blocks:
  unused:
    layers: [{conv: {out: 3, kernel: 1, strides: 2}}]
  cb:
    args: {out: int}
    layers:
      - conv: {name: inner, out: "${out}", kernel: 3, padding: 1}
      - batchnrm
layers:
  - conv: {name: stem, out: 8, kernel: 3, padding: 1}
  - cb: {name: call, out: 4}
  - relu: {name: next}
  - conv: {name: side, out: 6, kernel: 1, from: input}
"""


def test_an_unknown_kind_in_a_called_block_keeps_the_rest_of_the_file() -> None:
    """The structure errors (an unknown kind in a used block, an unknown option in an unused
    one) stop the check before any shape; the layers they do not reach still hover."""
    analysis = analyse(CALLED, None, "x.yaml", recover=True)
    same_diagnostics(CALLED, analysis)
    assert len(analysis.diagnostics) == 2
    assert shape(hovered(analysis, CALLED, "name: stem", "conv")) == "(8, 32, 32)"
    value = hovered(analysis, CALLED, "name: inner", "conv")
    assert "`call.inner`: conv 3×3, 4" in value and shape(value) == "(4, 32, 32)"
    value = hovered(analysis, CALLED, "name: side", "conv")
    assert "`side`: conv 1×1, 6" in value and shape(value) == "(6, 32, 32)"
    for line in ("name: call", "name: next", "- batchnrm"):
        assert shape(hovered(analysis, CALLED, line, "n")) == "", line
    # a block's description still hovers on its call
    assert "**cb** (block)" in hovered(analysis, CALLED, "name: call", "cb")


#: the file above without its errors
VALID = CALLED.replace("strides: 2", "stride: 2").replace("- batchnrm", "- batchnorm")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("input: [3, 32, 32]\n", "input: [3, 32, 32]\noutput: [99]\n"),
        ("input: [3, 32, 32]\n", "input: [3, 32, 32]\nlayer: []\n"),
        ("blocks:\n", "imports: [./nowhere.yaml]\nblocks:\n"),
        ("name: with_blocks", "name: 'not a name!'"),
        ("  unused:\n", "  unused:\n    argz: {x: 1}\n"),
    ],
    ids=[
        "output that does not hold",
        "unknown top-level key",
        "missing import",
        "bad name",
        "a block's definition",
    ],
)
def test_errors_outside_the_layers_keep_them(old: str, new: str) -> None:
    """An error that no layer depends on: every layer hovers, as in the valid file."""
    text = VALID.replace(old, new, 1)
    analysis = analyse(text, None, "x.yaml", recover=True)
    same_diagnostics(text, analysis)
    assert analysis.diagnostics
    valid = analyse(VALID, None, "x.yaml")
    expected = {(x.name, x.written, x.site): x for x in valid.layers if x.name}
    got = {(x.name, x.written, x.site): x for x in analysis.layers if x.name}
    assert got == expected


def test_an_import_with_an_error_keeps_the_layers_that_do_not_call_it(tmp_path: Path) -> None:
    (tmp_path / "lib.yaml").write_text(
        "blocks:\n  head:\n    args: {classes: int}\n    layers:\n      - linear: ${classes}\n"
    )
    text = (
        "name: net\ninput: [3, 8, 8]\nimports: [./lib.yaml]\nlayers:\n"
        "  - conv: {name: stem, out: 4, kernel: 1}\n  - head: {classes: 10}\n"
        "  - conv: {name: side, out: 6, kernel: 1, from: input}\n"
    )
    spec = tmp_path / "net.yaml"
    spec.write_text(text)
    analysis = analyse(text, str(spec), "net.yaml", recover=True)
    assert "linear needs a flat" in analysis.diagnostics[0].message
    assert shape(hovered(analysis, text, "name: stem", "conv")) == "(4, 8, 8)"
    assert shape(hovered(analysis, text, "name: side", "conv")) == "(6, 8, 8)"
    assert shape(hovered(analysis, text, "- head", "head")) == ""


def test_an_inline_call_with_an_error_shifts_no_number() -> None:
    """A stand-in is one layer where an inline call is two: the unnamed layers after it,
    which would be numbered otherwise, show no shapes rather than another layer's name."""
    valid = (
        "name: x\ninput: [3, 8, 8]\nblocks:\n  two:\n    layers: [relu, relu]\nlayers:\n"
        "  - conv: {out: 4, kernel: 1, to: a}\n  - two: {inline: true}\n"
        "  - conv: {out: 5, kernel: 1, from: a}\n"
    )
    text = valid.replace("inline: true}", "inline: true, bogus: 1}")
    analysis = analyse(text, None, "x.yaml", recover=True)
    assert "unknown argument" in analysis.diagnostics[0].message
    expected = {(x.name, x.written): x for x in analyse(valid, None, "x.yaml").layers}
    kept = {(x.name, x.written): x for x in analysis.layers}
    assert kept and all(expected.get(key) == layer for key, layer in kept.items()), kept


def test_what_a_kind_makes_of_a_failing_child_is_not_kept() -> None:
    """A residual whose body fails: its projection (made by the kind from the body's shape)
    and the layer after its sum (a tensor no layer makes) show no shapes; the layers before
    it and beside it do, as the valid file gives them."""
    valid = (
        "name: r\ninput: [8, 16, 16]\nlayers:\n  - conv: {name: stem, out: 8, kernel: 1}\n"
        "  - residual:\n      name: block\n      body:\n"
        "        - conv: {out: 16, kernel: 3, stride: 2, padding: 1}\n        - batchnorm\n"
        "      projection: {batchnorm: true}\n      after: relu\n"
        "  - conv: {name: side, out: 4, kernel: 1, from: input}\n"
    )
    text = valid.replace("- batchnorm\n", "- batchnrm\n")
    analysis = analyse(text, None, "x.yaml", recover=True)
    expected = {(x.name, x.written): x for x in analyse(valid, None, "x.yaml").layers}
    kept = {(x.name, x.written): x for x in analysis.layers}
    assert {name for name, _ in kept} == {"stem", "block.body.0", "side"}
    assert all(expected[key] == layer for key, layer in kept.items())


def test_independent_errors_take_one_check_each_and_stop() -> None:
    """Branches that fail one after the other: each needs a check of its own, up to the
    limit; the branches before the limit keep their shapes."""
    branches = "".join(
        f"        b{i}: [{{conv: {{out: 2, kernel: 1}}}}, {{linear: 3}}]\n"
        for i in range(MAX_ROUNDS + 3)
    )
    text = "name: many\ninput: [3, 8, 8]\nlayers:\n  - inception:\n      branches:\n" + branches
    analysis = analyse(text, None, "x.yaml", recover=True)
    kept = {layer.name for layer in analysis.layers}
    assert {f"0.b{i}.0" for i in range(MAX_ROUNDS + 1)} <= kept
    assert f"0.b{MAX_ROUNDS + 2}.0" not in kept


def _entries(doc: Document, network: bool) -> list[PathKey]:
    """Layer entries written as ``kind: {...}`` (not inline calls), for a typo to break:
    the network's, at the top or in groups (where each runs once, after the entries before
    it); or (``network=False``) any other, in blocks, repeats, residuals and branches."""
    found: list[PathKey] = []
    for key in doc.keys:
        entry, ends = key[:-1], entry_ends(key[:-1])
        if not ends or ends[-1] != len(entry) or not isinstance(entry[-1], int):
            continue
        simple = key[0] == "layers" and all(key[e] == "group" for e in ends[:-1])
        options = _at(doc.data, key)
        if simple == network and not (isinstance(options, dict) and options.get("inline")):
            found.append(entry)
    return found


def _misspelt(text: str, doc: Document, entry: PathKey) -> str:
    """``text`` with the kind of the layer at ``entry`` misspelt (an x before it)."""
    pos = doc.keys[(*entry, next(iter(_at(doc.data, entry))))]
    lines = text.splitlines(keepends=True)
    line = lines[pos.line - 1]
    broken = line[: pos.col - 1] + "x" + line[pos.col - 1 :]
    return "".join([*lines[: pos.line - 1], broken, *lines[pos.line :]])


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_what_recovery_keeps_is_what_the_valid_file_gives(path: Path) -> None:
    """Each bundled spec with one layer's kind misspelt (four layers a spec, one of them in
    a block, a repeat, a residual or a branch where the spec has one): every layer the
    recovery keeps has the path, shapes, parameters and MACs the valid spec gives it, and
    of a network's own list the layers before the broken one are all kept."""
    text = path.read_text(encoding="utf-8")
    valid = {(x.name, x.written, x.site): x for x in analyse(text, str(path)).layers}
    doc = read_source(path)
    entries = [e for e in _entries(doc, network=True) if e[-1] > 0]
    inner = _entries(doc, network=False)
    assert entries or inner  # a network of one repeat (transformer_encoder): its inner layers
    chosen = [*entries[:: max(1, len(entries) // 3)][:3], *inner[len(inner) // 2 :][:1]]
    for where in chosen:
        analysis = analyse(_misspelt(text, doc, where), str(path), recover=True)
        assert analysis.diagnostics and "unknown layer kind" in analysis.diagnostics[0].message
        kept = {(x.name, x.written, x.site): x for x in analysis.layers}
        for key, layer in kept.items():
            assert valid[key] == layer, (where, layer)
        if where in entries:
            before = [k for k, x in valid.items() if _before(x, where)]
            assert before and set(before) <= set(kept), where


def _at(data: Any, path: PathKey) -> Any:
    for part in path:
        data = data[part]
    return data


def _before(layer: Layer, entry: PathKey) -> bool:
    """Whether a layer is written (or called) in an entry before ``entry`` in its list."""
    path, size = (layer.site or layer.written)[1], len(entry) - 1
    here = path[size] if len(path) > size and path[:size] == entry[:size] else None
    return isinstance(here, int) and here < int(entry[-1])


# --- end to end ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    server = Client()
    server.initialize()
    yield server
    assert server.close() == 0


def _hover_text(client: Client, uri: str, row: int, col: int) -> str:
    found = client.at("hover", uri, row, col)
    return plain(found["contents"]["value"]) if found else ""


def test_hover_after_an_error_through_the_server(client: Client, tmp_path: Path) -> None:
    """The diagnostics come first, with the shapes checked before the error; the shapes of
    the branch after the failing one follow from the server's second check."""
    path = tmp_path / "branches.yaml"
    client.open(path.as_uri(), INCEPTION)
    (published,) = client.diagnostics(path.as_uri(), version=1)
    assert "linear needs a flat" in published["message"]
    lines = INCEPTION.splitlines()
    stem = next(i for i, line in enumerate(lines) if "name: stem" in line)
    assert "**(8, 32, 32)**" in _hover_text(client, path.as_uri(), stem, 6)
    row = next(i for i, line in enumerate(lines) if "c: [" in line)
    deadline = time.monotonic() + 30  # a hang guard: the second check takes milliseconds
    while "`mix.c.0`" not in _hover_text(client, path.as_uri(), row, 14):
        assert time.monotonic() < deadline, "the recovered shapes never arrived"
        time.sleep(0.05)
    assert "**(4, 32, 32)**" in _hover_text(client, path.as_uri(), row, 14)


def test_hover_layer_block_and_param(client: Client) -> None:
    path = ROOT / "specs" / "resnet.yaml"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    client.open(path.as_uri(), text)
    client.diagnostics(path.as_uri())
    layers = {c.path: c for c in netspec.load(path).check().walk()}

    # a layer inside a block: once per use, with netspec's shapes, params and MACs
    row = next(i for i, line in enumerate(lines) if "name: conv1" in line)
    value = client.at("hover", path.as_uri(), row, lines[row].index("conv:") + 1)["contents"]
    value = value["value"]
    conv = layers["stage2.0.body.conv1"]
    assert f"`stage2.0.body.conv1`: {md(conv.text())}" in value
    assert f"**{md(str(conv.output))}**, {conv.params:,} params, {conv.macs:,} MACs" in value

    # a block call: the block's description and args, and the layer it makes
    row = next(i for i, line in enumerate(lines) if "- stage: {name: stage3" in line)
    value = client.at("hover", path.as_uri(), row, lines[row].index("stage"))["contents"]["value"]
    data = read_source(path).data["blocks"]["stage"]
    assert md(data["description"]) in value
    assert "`out`: required int" in value and "`stride`: default `2`" in value
    assert "`stage3`: stage" in value and f"**{md(str(layers['stage3'].output))}**" in value

    # a param in an expression: its value
    row = next(i for i, line in enumerate(lines) if "linear: ${num_classes}" in line)
    value = client.at("hover", path.as_uri(), row, lines[row].index("num_classes") + 2)
    assert value["contents"]["value"] == "`num_classes` = `10` (param)"


def test_a_parameter_reads_nothing_in_its_hover() -> None:
    """A class token has no input: its hover gives its shape alone, not the tensor before it."""
    text = (
        "name: x\ninput: [4, 8]\nlayers:\n"
        "  - parameter: {name: cls, shape: [1, 8], to: c}\n"
        "  - concat: {from: [c, input], axis: 0}\n"
    )
    (token,) = [x for x in analyse(text, None, "x.yaml").layers if x.name == "cls"]
    assert token.input == "" and layer_text(token).splitlines()[1].startswith("**")
