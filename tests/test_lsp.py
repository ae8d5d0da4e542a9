"""``netspec lsp``: a real server process driven over JSON-RPC (tests/lsp_client.py), its
diagnostics compared with what ``netspec.load`` raises for the same text. Completion and
hover have files of their own (test_lsp_completion.py, test_lsp_hover.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsp_client import ROOT, Client, frame

import netspec
from netspec.files import MAX_FILE_BYTES
from netspec.imports import is_library, load_library
from netspec.lsp.framing import MAX_MESSAGE_BYTES
from netspec.lsp.markdown import text as md
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


def test_the_debounce_applies_while_typing_only() -> None:
    """A change after a pause is checked at once; one that follows another within the
    debounce (a keystroke) waits for typing to pause, so a burst is checked once."""
    from netspec.lsp.server import DEBOUNCE, check_delay

    assert check_delay(None) == 0.0  # the document's first text
    assert check_delay(DEBOUNCE * 2) == 0.0
    assert check_delay(DEBOUNCE / 6) == DEBOUNCE
    assert check_delay(0.0, debounce=1.5) == 1.5


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
        "netspec lsp: error: the language server needs pygls: pip install 'netspec-nn[lsp]'\n"
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


# --- the wire: bytes from a process netspec does not control ---------------------------------


@pytest.fixture(scope="module")
def wire() -> Iterator[Client]:
    server = Client()
    server.initialize()
    yield server
    assert server.close() == 0


def alive(client: Client) -> None:
    """The server answers a well-formed request, as before."""
    assert client.at("hover", (ROOT / "nowhere.yaml").as_uri(), 0, 0) is None


def test_a_content_length_of_10_to_the_11_is_skipped_not_read(wire: Client) -> None:
    """The server neither dies nor allocates the size announced: the frame is skipped up to
    the next header, and answered with a parse error once the next frame is found."""
    wire.send_bytes(b"Content-Length: 100000000000\r\n\r\n" + b'{"jsonrpc": "2.0"}' * 1000)
    alive(wire)
    error = wire.response(None)["error"]
    assert error == {
        "code": -32700,
        "message": "Parse error: a message of 100,000,000,000 bytes, over the limit of "
        f"{MAX_MESSAGE_BYTES:,} (18,000 bytes skipped)",
    }
    assert wire.peak_memory() < 400 * 1024**2


FRAMES = {
    "non-numeric length": (
        b"Content-Length: abc\r\n\r\n{}",
        -32700,
        "Parse error: a Content-Length that is no size: Content-Length: abc (25 bytes skipped)",
    ),
    "negative length": (
        b"Content-Length: -2\r\n\r\n{}",
        -32700,
        "Parse error: a Content-Length that is no size: Content-Length: -2 (24 bytes skipped)",
    ),
    "no header": (
        b'{"jsonrpc": "2.0", "id": 1, "method": "shutdown"}\r\n',
        -32700,
        "Parse error: no Content-Length header before them (51 bytes skipped)",
    ),
    "header without blank line": (
        b"Content-Length: 2\r\n{}",
        -32700,
        "Parse error: not a header: {}Content-Length: ",
    ),
    "invalid JSON": (
        frame(b"{nope}"),
        -32700,
        "Parse error: the message is not JSON (Expecting property name enclosed in double "
        "quotes: line 1 column 2 (char 1))",
    ),
    "not UTF-8": (frame(b'"\xff"'), -32700, "Parse error: the message is not JSON ("),
    "nested too deep": (frame(b"[" * 100_000), -32700, "Parse error: the message is not JSON ("),
    "too many lists": (
        frame(
            b'{"jsonrpc": "2.0", "id": 7, "method": "x", "params": [' + b"[]," * 1_000_000 + b"[]]}"
        ),
        -32700,
        "Parse error: the message holds 1,000,003 lists and objects; the limit is 1,000,000",
    ),
    "an array": (frame(b"[]"), -32600, "Invalid request: a message is an object, not a batch"),
    "a number": (frame(b"42"), -32600, "Invalid request: a message is an object, not int"),
    "jsonrpc 1.0": (
        frame(b'{"jsonrpc": "1.0", "id": 5, "method": "textDocument/hover"}'),
        -32600,
        'Invalid request: jsonrpc must be "2.0"',
    ),
    "method not a string": (
        frame(b'{"jsonrpc": "2.0", "id": 5, "method": 7}'),
        -32600,
        "Invalid request: method must be a string",
    ),
    "id a list": (
        frame(b'{"jsonrpc": "2.0", "id": [5], "method": "textDocument/hover"}'),
        -32600,
        "Invalid request: an id is an integer or a string",
    ),
}


@pytest.mark.parametrize("case", sorted(FRAMES))
def test_a_malformed_frame_is_answered_and_the_server_goes_on(wire: Client, case: str) -> None:
    data, code, message = FRAMES[case]
    wire.send_bytes(data)
    alive(wire)
    error = wire.response(5 if b'"id": 5' in data else None)["error"]
    assert error["code"] == code
    assert error["message"].startswith(message), error["message"]


def test_a_length_too_short_costs_that_message_only(wire: Client) -> None:
    """The body's tail runs into the next header without a line break: the server finds the
    header there and answers the request after it."""
    body = b'{"jsonrpc": "2.0", "id": "short", "method": "textDocument/hover"}'
    wire.send_bytes(b"Content-Length: 10\r\n\r\n" + body)
    alive(wire)
    assert wire.response(None)["error"]["message"].startswith("Parse error: the message is not")
    assert wire.response(None)["error"]["message"] == (
        "Parse error: no Content-Length header before them (55 bytes skipped)"
    )


def test_every_request_is_answered(wire: Client) -> None:
    """Params that do not fit the method: Invalid params (-32602), saying where."""
    wire.send({"id": "bad", "method": "textDocument/hover", "params": {"textDocument": 5}})
    assert wire.response("bad")["error"] == {
        "code": -32602,
        "message": "Invalid params for textDocument/hover: invalid value for type, expected "
        "str @ $.params.text_document.uri; required field missing @ $.params.position",
    }
    position = {"line": 10**30, "character": 0}
    hover = {"textDocument": {"uri": "file:///x.yaml"}, "position": position}
    wire.send({"id": "huge", "method": "textDocument/hover", "params": hover})
    assert wire.response("huge")["error"]["code"] == -32602
    wire.send({"id": 10**40, "method": "no/such/method", "params": {}})
    assert wire.response(10**40)["error"]["code"] == -32601
    alive(wire)


def test_requests_after_shutdown_are_refused_not_ignored() -> None:
    client = Client()
    client.initialize()
    client.request("shutdown", None)
    client.send({"id": "late", "method": "textDocument/hover", "params": {}})
    assert client.response("late")["error"] == {
        "code": -32600,
        "message": "Invalid request: the server is shutting down",
    }
    client.notify("exit", None)
    assert client.process.wait(10) == 0


# --- documents: their URIs and their size ------------------------------------------------------

LIB = (
    "blocks:\n  head:\n    description: pool and classify\n    args: {classes: int}\n"
    "    layers:\n      - pool: {mode: avg, global: true}\n      - flatten\n"
    "      - linear: ${classes}\n"
)


@pytest.mark.parametrize("folder", ["my nets", "réseaux ☃", "50% done"])
def test_percent_encoded_uris(client: Client, tmp_path: Path, folder: str) -> None:
    """A document in a folder with a space or a non-ASCII name (its URI percent-encoded, as
    editors send it) is checked as that file, its ./ imports from that folder; hover works
    however the URI is spelt."""
    here = tmp_path / folder
    here.mkdir()
    (here / "lib.yaml").write_text(LIB, encoding="utf-8")
    spec = here / "nét.yaml"
    text = (
        "name: net\ninput: [3, 8, 8]\nimports: [./lib.yaml]\n"
        "layers:\n  - head: {classes: 10}\n  - sigmod\n"
    )
    spec.write_text(text, encoding="utf-8")
    uri = spec.as_uri()
    assert "%" in uri
    client.open(uri, text)
    published = client.diagnostics(uri)
    assert_same(published, text, found_by_netspec(spec))
    assert 'did you mean "sigmoid"?' in published[0]["message"]
    for spelt in (uri, "file://" + str(spec)):  # encoded, and not
        value = client.at("hover", spelt, 4, 5)["contents"]["value"]
        assert "**head** (block from `./lib.yaml`)\n\npool and classify" in value


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("file:///tmp/a%00b.yaml", "file:///tmp/a%00b.yaml"),
        ("file:///tmp/a\u0000b.yaml", "file:///tmp/a\\x00b.yaml"),
        ("file:///tmp/a%1Bb.yaml", "file:///tmp/a%1Bb.yaml"),
        ("untitled:a\u009bb", "untitled:a\\x9bb"),
    ],
)
def test_a_control_character_in_a_uri_is_refused(client: Client, uri: str, shown: str) -> None:
    client.open(uri, "name: x\ninput: [4]\nlayers: [relu]\n")
    (got,) = client.diagnostics(uri)
    char = re.search(r"\\x[0-9a-f]{2}", shown.replace("%00", "\\x00").replace("%1B", "\\x1b"))
    assert char is not None
    assert got["message"] == (
        f"netspec cannot check this document: its URI holds a control character ({char[0]})\n"
        "hint: rename the file or its folder; netspec checks files whose names are printable text"
    )
    assert got["range"]["start"] == {"line": 0, "character": 0}
    assert client.at("hover", uri, 0, 1) is None


def test_a_uri_that_is_not_utf8_is_refused(client: Client) -> None:
    uri = "file:///tmp/caf%E9.yaml"
    client.open(uri, "name: x\ninput: [4]\nlayers: [relu]\n")
    (got,) = client.diagnostics(uri)
    assert got["message"].startswith(
        "netspec cannot check this document: its URI's percent-encoding is not UTF-8 text\n"
    )


def test_the_16_mib_limit_of_check(client: Client, tmp_path: Path) -> None:
    """A buffer netspec check refuses is refused alike, with check's message."""
    path = tmp_path / "big.yaml"
    head = "name: big\ninput: [4]\nlayers: [relu]\n"
    text = head + "#" * (MAX_FILE_BYTES + 1 - len(head) - 1) + "\n"
    path.write_text(text)
    client.open(path.as_uri(), text)
    published = client.diagnostics(path.as_uri(), timeout=60)
    expected = found_by_netspec(path)
    assert expected[0].message == "file is 16,777,217 bytes; specs are limited to 16,777,216"
    assert_same(published, text, expected)
    client.notify("textDocument/didClose", {"textDocument": {"uri": path.as_uri()}})


# --- hover and completion: nothing a spec says becomes markup ----------------------------------

EVIL = (
    "![tracker](http://evil.example/p.png) [run](command:workbench.action.terminal.new) "
    "<img src=x onerror=alert(1)> <b>bold</b> www.evil.example a@evil.example &lt;"
)


def outside_code_and_escapes(markdown: str) -> str:
    """The Markdown that a renderer reads as markup: outside code spans, escapes removed."""
    out, i = [], 0
    while i < len(markdown):
        if markdown[i] == "\\":
            i += 2
            continue
        if markdown[i] == "`":
            fence = re.match(r"`+", markdown[i:])
            assert fence is not None
            end = re.compile(rf"(?<!`){fence[0]}(?!`)").search(markdown, i + len(fence[0]))
            if end is not None:
                i = end.end()
                continue
        out.append(markdown[i])
        i += 1
    return "".join(out)


def test_hover_and_completion_escape_what_a_spec_says(client: Client, tmp_path: Path) -> None:
    tricky = "a```b`\n\n<img src=x>"
    lib = tmp_path / "lib.yaml"
    lib.write_text(
        "blocks:\n  evil:\n"
        f"    description: {json.dumps(EVIL)}\n"
        f"    args: {{out: int, tricky: {json.dumps(tricky)}}}\n"
        "    layers:\n      - linear: ${out}\n"
    )
    spec = tmp_path / "net.yaml"
    text = (
        f"name: net\ninput: [4]\nparams: {{evil: {json.dumps(EVIL)}}}\nimports: [./lib.yaml]\n"
        "layers:\n  - ev\n  - evil: {out: 3}\n  - linear: ${evil}\n"
    )
    client.open(spec.as_uri(), text)
    client.diagnostics(spec.as_uri())
    block = client.at("hover", spec.as_uri(), 6, 5)["contents"]["value"]
    param = client.at("hover", spec.as_uri(), 7, 14)["contents"]["value"]
    items = client.at("completion", spec.as_uri(), 5, 6)["items"]
    (item,) = [i for i in items if i["label"] == "evil"]
    documentation = item["documentation"]["value"]
    assert documentation in block
    # a code span the text cannot close
    assert "- `tricky`: default ````'a```b`\\n\\n<img src=x>'````" in block
    assert param == "`evil` = `'![tracker](http://evil.example/p.png...` (param)"
    for markdown in (block, param, documentation):
        markup = outside_code_and_escapes(markdown)
        for word in ("![", "](", "<", "http:", "command:", "www.", "@", "&"):
            assert word not in markup, (word, markdown)
    # rendered, the description reads as written
    assert re.sub(r"\\(.)", r"\1", block.split("\n\n")[1]) == EVIL


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u2028", "\x1b"])
def test_hover_text_escapes_characters_that_reorder_or_break_a_line(char):
    """A right-to-left override or a line separator in a spec's words would make a hover show
    other text than the spec holds; they are escaped like control characters."""
    from netspec.lsp.markdown import code

    for shown in (md(f"safe{char}txt.exe"), code(f"safe{char}txt.exe")):
        assert char not in shown
        assert f"\\u{ord(char):04x}" in shown or f"\\x{ord(char):02x}" in shown
