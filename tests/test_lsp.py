"""``netspec lsp``: a real server process driven over JSON-RPC (tests/lsp_client.py), its
diagnostics compared with what ``netspec.load`` raises for the same text."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsp_client import ROOT, Client

import netspec
from netspec.imports import is_library, load_library
from netspec.source import read_source

pytest.importorskip("pygls")

BUNDLED = sorted([*ROOT.glob("specs/*.yaml"), *ROOT.glob("specs/*/*.yaml")])
LIBRARY = sorted((ROOT / "netspec" / "library").glob("*.yaml"))


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    server = Client("-X", "importtime")  # for test_never_imports_torch
    server.initialize()
    yield server
    assert server.close() == 0


def found_by_netspec(path: Path) -> list[netspec.Diagnostic]:
    """What ``netspec check`` reports for the file: errors, or else warnings."""
    try:
        doc = read_source(path)
        if is_library(doc):
            load_library(doc)
            return []
        return list(netspec.load(path).warnings)
    except netspec.NetspecError as e:
        return list(e.diagnostics)


def start(text: str, d: netspec.Diagnostic) -> dict[str, int]:
    """netspec's 1-based position as the protocol's: 0-based, columns in UTF-16 units."""
    assert d.pos is not None
    line = text.splitlines()[d.pos.line - 1]
    units = len(line[: d.pos.col - 1].encode("utf-16-le")) // 2
    return {"line": d.pos.line - 1, "character": units}


def assert_same(published: list[dict[str, Any]], text: str, expected: list[Any]) -> None:
    """Each of netspec's diagnostics arrives at its position, with its message and hint."""
    assert len(published) == len(expected), (published, expected)
    for got, d in zip(published, expected, strict=True):
        first, *rest = got["message"].split("\n")
        assert first == d.message
        if d.hint:
            assert f"hint: {d.hint}" in rest
        assert got["severity"] == (1 if d.severity == "error" else 2)
        if d.pos is None:
            assert got["range"]["start"] == {"line": 0, "character": 0}
        else:
            assert got["range"]["start"] == start(text, d)


def test_capabilities(client: Client) -> None:
    caps = client.capabilities
    assert caps["hoverProvider"] and caps["definitionProvider"]
    assert "-" in caps["completionProvider"]["triggerCharacters"]
    assert caps["textDocumentSync"]["openClose"]
    # a document never opened: no answer, and no error
    assert client.at("hover", (ROOT / "nowhere.yaml").as_uri(), 0, 0) is None


def test_bundled_specs_and_library(client: Client) -> None:
    """Every bundled spec and library file: exactly what netspec reports (nothing, or its
    warnings), in one server that checks them one after the other."""
    files = [*BUNDLED, *LIBRARY]
    for path in files:
        client.open(path.as_uri(), path.read_text(encoding="utf-8"))
    for path in files:
        text = path.read_text(encoding="utf-8")
        published = client.diagnostics(path.as_uri())
        assert_same(published, text, found_by_netspec(path))


def _mutate(name: str, old: str, new: str) -> str:
    text = (ROOT / "specs" / name).read_text(encoding="utf-8")
    assert old in text, old
    return text.replace(old, new, 1)


BROKEN = {
    # a shape error: the flatten that AlexNet's listing forgot
    "no_flatten": ("alexnet.yaml", "  - flatten\n", ""),
    # an unknown kind, with did you mean
    "unknown_kind": ("lenet.yaml", "  - sigmoid\n", "  - sigmod\n"),
    # YAML syntax
    "yaml_syntax": ("lenet.yaml", "  - flatten\n", "  - flatten: {\n"),
    # an expression naming no param
    "expression": ("lenet.yaml", "linear: ${num_classes}", "linear: ${num_clases}"),
    # pydantic's validation, translated
    "validation": ("lenet.yaml", "kernel: 5, padding: 2", "kernel: -5, padding: 2"),
    # an option that is not one
    "unknown_option": ("lenet.yaml", "kernel: 5}", "kernel: 5, strides: 2}"),
    # a named tensor nothing reads: a warning
    "warning": (
        "lenet.yaml",
        "  - linear: 84\n",
        "  - linear: {out: 84, to: h}\n  - relu: {to: dead}\n  - identity: {from: h}\n",
    ),
}


@pytest.fixture(scope="module")
def broken(client: Client, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every broken copy, opened at once (the server checks them one after the other)."""
    opened: dict[str, tuple[Path, str]] = {}
    for case, (name, old, new) in BROKEN.items():
        path = tmp_path_factory.mktemp(case) / name
        text = _mutate(name, old, new)
        path.write_text(text, encoding="utf-8")
        client.open(path.as_uri(), text)
        opened[case] = (path, text)
    return {
        case: (path, text, client.diagnostics(path.as_uri()))
        for case, (path, text) in opened.items()
    }


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_copies(broken: dict[str, Any], case: str) -> None:
    """Each error arrives where netspec.load of the same file puts it, with its message."""
    path, text, published = broken[case]
    assert_same(published, text, found_by_netspec(path))
    assert published, "a broken copy has diagnostics"
    if case == "unknown_kind":
        assert 'did you mean "sigmoid"?' in published[0]["message"]
    if case == "no_flatten":
        assert "linear needs a flat" in published[0]["message"]
    if case == "warning":
        assert {d["severity"] for d in published} == {2}


def test_buffer_not_disk_and_relative_imports(client: Client, tmp_path: Path) -> None:
    """The unsaved text is checked, and its ./ imports resolve from the document's folder
    (not the server's working directory)."""
    (tmp_path / "lib.yaml").write_text(
        "blocks:\n  head:\n    description: pool and classify\n    args: {classes: int}\n"
        "    layers:\n      - pool: {mode: avg, global: true}\n      - linear: ${classes}\n"
    )
    spec = tmp_path / "net.yaml"
    spec.write_text("name: on_disk\ninput: [4]\nlayers: [relu]\n")
    text = (
        "name: net\ninput: [3, 8, 8]\nimports: [./lib.yaml, std:conv]\nlayers:\n"
        "  - conv_bn_act: {out: 8}\n  - head: {classes: 10}\n"
    )
    client.open(spec.as_uri(), text)
    published = client.diagnostics(spec.as_uri())
    spec.write_text(text)
    (expected,) = found_by_netspec(spec)
    assert expected.file.endswith("lib.yaml") and expected.pos is not None
    (got,) = published
    # placed at the call of the block that fails, which netspec's note names
    assert got["range"]["start"] == {"line": 5, "character": 4}
    where = f"{expected.file}:{expected.pos.line}:{expected.pos.col}"
    assert got["message"].startswith(f"{where}: {expected.message}\n")
    (related,) = got["relatedInformation"]
    assert related["location"]["uri"] == (tmp_path / "lib.yaml").as_uri()
    assert related["location"]["range"]["start"]["line"] == expected.pos.line - 1


def test_changes_are_debounced_and_never_stale(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "lenet.yaml"
    good = (ROOT / "specs" / "lenet.yaml").read_text(encoding="utf-8")
    bad = good.replace("- sigmoid", "- sigmod", 1)
    client.open(path.as_uri(), good)
    assert client.diagnostics(path.as_uri(), version=1) == []
    for version in range(2, 7):  # typing: five changes within the debounce time
        client.change(path.as_uri(), bad if version % 2 else good, version)
    client.change(path.as_uri(), bad, 7)
    final = client.diagnostics(path.as_uri(), version=7)
    assert len(final) == 1 and "sigmod" in final[0]["message"]
    time.sleep(0.5)
    versions = [p.get("version") for p in client.published(path.as_uri())]
    assert versions == [], f"only the last version is published, got also {versions}"


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
    assert f"`stage2.0.body.conv1`: {conv.text()}" in value
    assert f"**{conv.output}**, {conv.params:,} params, {conv.macs:,} MACs" in value

    # a block call: the block's description and args, and the layer it makes
    row = next(i for i, line in enumerate(lines) if "- stage: {name: stage3" in line)
    value = client.at("hover", path.as_uri(), row, lines[row].index("stage"))["contents"]["value"]
    data = read_source(path).data["blocks"]["stage"]
    assert data["description"] in value
    assert "`out`: required int" in value and "`stride`: default `2`" in value
    assert "`stage3`: stage" in value and f"**{layers['stage3'].output}**" in value

    # a param in an expression: its value
    row = next(i for i, line in enumerate(lines) if "linear: ${num_classes}" in line)
    value = client.at("hover", path.as_uri(), row, lines[row].index("num_classes") + 2)
    assert value["contents"]["value"] == "`num_classes` = `10` (param)"


def test_completion(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "typing.yaml"
    head = (
        "name: typing\ninput: [3, 8, 8]\nparams: {width: 16}\nimports: [std:conv]\n"
        "blocks:\n  mine:\n    args: {out: int}\n    layers: [{conv: {out: 1, kernel: 1}}]\n"
        "layers:\n"
    )
    client.open(path.as_uri(), head + "  - relu\n")
    assert client.diagnostics(path.as_uri(), version=1) == []
    # being typed: not YAML yet; the blocks and params known from version 1 still complete
    client.change(path.as_uri(), head + "  - con\n  - conv: {out: 4, ker\n  - linear: ${wi\n", 2)
    assert client.diagnostics(path.as_uri(), version=2)

    items = client.at("completion", path.as_uri(), 9, 7)["items"]
    labels = {i["label"] for i in items}
    assert {"conv", "conv_transpose", "residual", "mine", "conv_bn_act"} <= labels
    assert set(netspec.registry.kind_names()) <= labels

    items = client.at("completion", path.as_uri(), 10, 21)["items"]
    by_label = {i["label"]: i for i in items}
    assert "out" not in by_label  # written already
    assert by_label["kernel"]["detail"] == "kernel: int | pair (required)"
    assert by_label["padding_mode"]["detail"] == (
        "padding_mode: zeros | reflect | replicate | circular = 'zeros'"
    )

    items = client.at("completion", path.as_uri(), 11, 16)["items"]
    assert {"width", "make_divisible", "channels"} <= {i["label"] for i in items}


def test_definition(client: Client, tmp_path: Path) -> None:
    path = ROOT / "specs" / "unet.yaml"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    client.open(path.as_uri(), text)
    client.diagnostics(path.as_uri())

    def goto(row: int, col: int) -> list[dict[str, Any]]:
        found = client.at("definition", path.as_uri(), row, col)
        assert found, (row, col, lines[row])
        return list(found)

    # from: [skip, up] → the layers whose to: makes them
    row = next(i for i, line in enumerate(lines) if "from: [skip, up]" in line)
    for name in ("skip", "up"):
        (target,) = goto(row, lines[row].index(name, lines[row].index("from")) + 1)
        made = target["range"]["start"]["line"]
        assert f"to: {name}" in lines[made]
    # a block call → its definition
    row = next(i for i, line in enumerate(lines) if "- double_conv:" in line)
    (target,) = goto(row, lines[row].index("double_conv") + 2)
    assert lines[target["range"]["start"]["line"]].strip() == "double_conv:"

    # an import, and a block of the library it imports
    spec = tmp_path / "net.yaml"
    spec_text = "name: net\ninput: [3, 8, 8]\nimports: [std:conv]\nlayers:\n  - conv_bn_act: 8\n"
    client.open(spec.as_uri(), spec_text)
    client.diagnostics(spec.as_uri())
    library = ROOT / "netspec" / "library" / "conv.yaml"
    (target,) = client.at("definition", spec.as_uri(), 2, 12)
    assert target["uri"] == library.as_uri()
    (target,) = client.at("definition", spec.as_uri(), 4, 6)
    assert target["uri"] == library.as_uri()
    library_lines = library.read_text(encoding="utf-8").splitlines()
    assert library_lines[target["range"]["start"]["line"]].strip() == "conv_bn_act:"


def test_without_pygls_one_line_and_exit_2() -> None:
    code = (
        "import sys; sys.modules['pygls'] = None\n"
        "from netspec.cli import main\nsys.exit(main(['lsp']))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert run.returncode == 2
    assert run.stderr == (
        "netspec lsp: error: the language server needs pygls: pip install 'netspec[lsp]'\n"
    )


def test_never_imports_torch(client: Client) -> None:
    """Neither the server nor its checker process (started with the server's -X importtime)
    imports torch, once a spec has been checked and hovered."""
    path = ROOT / "specs" / "resnet.yaml"
    client.open(path.as_uri(), path.read_text(encoding="utf-8"))
    client.diagnostics(path.as_uri())
    client.at("hover", path.as_uri(), 14, 24)
    imported = [line.rstrip() for line in client.stderr if line.startswith("import time:")]
    assert any(re.search(r"\|\s+netspec\.lsp\.analysis$", line) for line in imported)
    assert any(re.search(r"\|\s+netspec\.lsp\.hover$", line) for line in imported)
    assert not [line for line in imported if re.search(r"\|\s+torch(\.|$)", line)]


def test_checker_time_limit_kills_and_recovers() -> None:
    """A check past its time limit costs the checker process, not the server: the job is
    answered as a timeout, and the next job gets a fresh process."""
    from netspec.lsp.worker import Checker, Job

    slow = "name: slow\ninput: [8]\nlayers:\n  - repeat: {times: 9000, body: [relu]}\n"
    checker = Checker(time_limit=0.01)
    try:
        assert checker.run(Job(slow, None)).timeout
        checker.time_limit = 60
        outcome = checker.run(Job("name: ok\ninput: [4]\nlayers: [{linear: 2}]\n", None))
        assert outcome.analysis is not None and outcome.analysis.diagnostics == []
        assert outcome.analysis.layers[-1].output == "(2,)"
    finally:
        checker.close()
