"""netspec's JSON Schema as the real yaml-language-server (VS Code's YAML extension) reads it.

One server process for the module, the version that ``make test`` installs from
tools/yaml-ls/package-lock.json, driven over stdio by tests/lsp_client.py as an editor would.
It is given the texts that test_schema_json.py gives jsonschema (tests/schema_cases.py): every
bundled, library and documented file must come back without a diagnostic, each mistake with one
that underlines it; completion and hover are checked where a user types. Without node or the
installed server these tests skip on a workstation, and under ``CI=true`` they fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from lsp_client import ROOT, Client
from schema_cases import ACCEPTED, BUNDLED, DOCUMENTED, LIBRARY_FILES, MISTAKES, TEMPLATE

from netspec.registry import all_kinds, get_kind
from netspec.schema_json import schema_line
from netspec.schema_layers import UNKNOWN

SERVER = ROOT / "tools/yaml-ls/node_modules/yaml-language-server/bin/yaml-language-server"
#: what VS Code tells the server it can do, where that changes completion and hover
EDITOR = {
    "textDocument": {
        "completion": {"completionItem": {"snippetSupport": True}},
        "hover": {"contentFormat": ["markdown", "plaintext"]},
    }
}
#: the schema comes from each file's first line only: no schema store (and no network)
SETTINGS = {
    "yaml": {"validate": True, "hover": True, "completion": True, "schemaStore": {"enable": False}}
}
#: where the texts that are no file are said to be; they get `netspec new`'s first line
UNTITLED = ROOT / "tests" / "untitled"
#: where a user completes and hovers: line numbers below count the schema line as 0
TYPING = "name: x\ninput: [3, 8, 8]\nlayers:\n  - conv:\n      out: 8\n      \n  - \n"


def untitled(text: str) -> str:
    """The URI that a text without a file of its own is opened under."""
    return (UNTITLED / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml").as_uri()


def _documents() -> dict[str, str]:
    """Every text the server is given, by URI: the files where they are (so that their own
    relative schema lines resolve), the rest as new files that `netspec new` would write."""
    texts = {path.as_uri(): path.read_text() for path in [*BUNDLED, *LIBRARY_FILES]}
    texts[TEMPLATE.as_uri()] = schema_line() + texts[TEMPLATE.as_uri()]
    written = [*(p.values[0] for p in [*MISTAKES, *ACCEPTED]), *(b for _, b in DOCUMENTED), TYPING]
    texts.update({untitled(text): schema_line() + text for text in written})
    return texts


@pytest.fixture(scope="module")
def server() -> Iterator[Client]:
    node = shutil.which("node")
    if node is None or not SERVER.is_file():
        if os.environ.get("CI"):
            pytest.fail("yaml-language-server is not installed (node, make yaml-ls); CI runs it")
        pytest.skip("yaml-language-server is not installed (make test installs it with npm)")
    client = Client(command=[node, str(SERVER), "--stdio"])
    try:
        client.initialize(EDITOR)
        client.notify("workspace/didChangeConfiguration", {"settings": SETTINGS})
        for uri, text in _documents().items():  # all at once; each test waits for its own
            client.open(uri, text)
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def published(server) -> Callable[[str], list[dict[str, Any]]]:
    """The diagnostics published for a URI (each comes once; several tests read some)."""
    seen: dict[str, list[dict[str, Any]]] = {}

    def diagnostics(uri: str) -> list[dict[str, Any]]:
        if uri not in seen:
            seen[uri] = server.diagnostics(uri, timeout=20)
        return seen[uri]

    return diagnostics


def said(found: list[dict[str, Any]]) -> list[str]:
    """Diagnostics as an editor's problem list shows them: ``line:column: message``."""
    return [f"{_at(d)}: {d['message']}" for d in found]


def _at(diagnostic: dict[str, Any]) -> str:
    start = diagnostic["range"]["start"]
    return f"{start['line']}:{start['character']}"


FILES = [*BUNDLED, *LIBRARY_FILES]


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(ROOT).as_posix() for p in FILES])
def test_every_bundled_and_library_file_is_clean(server, published, path):
    uri = path.as_uri()
    assert said(published(uri)) == []
    # ... because its schema line resolves from where it lies: hover on its first key says so
    text = schema_line() + path.read_text() if path == TEMPLATE else path.read_text()
    first = next(i for i, line in enumerate(text.splitlines()) if re.match(r"[a-z]", line))
    hover = server.at("hover", uri, first, 1)
    assert hover is not None, f"{path.name}: no schema applies"
    assert "Source: [netspec.schema.json](file://" in hover["contents"]["value"]


@pytest.mark.parametrize("body", [b for _, b in DOCUMENTED], ids=[n for n, _ in DOCUMENTED])
def test_every_documented_file_is_clean(published, body):
    assert said(published(untitled(body))) == []


@pytest.mark.parametrize("text", ACCEPTED)
def test_what_looks_odd_but_is_right_is_clean(published, text):
    assert said(published(untitled(text))) == []


def _span(text: str, word: str) -> tuple[int, int, int]:
    """Line, first and last column of the last ``word`` in ``text``."""
    at = text.rindex(word)
    line = text.count("\n", 0, at)
    column = at - (text.rfind("\n", 0, at) + 1)
    return line, column, column + len(word)


@pytest.mark.parametrize(("text", "word"), MISTAKES)
def test_every_mistake_is_underlined(published, text, word):
    line, first, last = _span(schema_line() + text, word)
    found = published(untitled(text))
    assert found and all(d["severity"] == 1 for d in found)  # errors, not warnings
    underlined = [
        d["message"]
        for d in found
        if d["range"]["start"]["line"] == line == d["range"]["end"]["line"]
        and d["range"]["start"]["character"] <= first
        and last <= d["range"]["end"]["character"]
    ]
    assert underlined, f"nothing underlines {word!r} at {line}:{first}: {said(found)}"


def _mistake(name: str) -> str:
    return next(p.values[0] for p in MISTAKES if p.id == name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("unknown-kind", UNKNOWN),
        ("pair-option-type", 'Incorrect type. Expected "integer | array".'),
        ("misspelt-library-arg", "Property strde is not allowed."),
    ],
)
def test_what_the_server_says(published, name, message):
    assert [d["message"] for d in published(untitled(_mistake(name)))] == [message]


def _completions(server: Client, line: int, character: int) -> list[dict[str, Any]]:
    found = server.at("completion", untitled(TYPING), line, character)
    return found["items"] if isinstance(found, dict) else found


def _inserted(item: dict[str, Any]) -> str:
    return item.get("textEdit", {}).get("newText") or item.get("insertText") or item["label"]


def test_a_layer_item_completes_every_kind(server):
    items = _completions(server, 7, 4)  # after "  - "
    labels = {item["label"] for item in items}
    assert {kind.name for kind in all_kinds()} <= labels
    assert _inserted(next(i for i in items if i["label"] == "conv")) == "conv: "
    # an alternative without a title would be offered as object(...), and a null default
    # would be written in
    assert [i for i in items if "object(" in str(i) or "null" in _inserted(i)] == []


def test_an_option_completes_as_key_colon(server):
    items = _completions(server, 6, 6)  # the empty line under conv's out: 8
    labels = {item["label"] for item in items}
    assert {"kernel", "stride", "padding"} <= labels and "out" not in labels
    wrong = [_inserted(i) for i in items if not re.match(r"[a-z_]+: ", _inserted(i))]
    assert wrong == [] and not any("null" in _inserted(i) for i in items)


def test_hover_shows_the_descriptions_of_the_model(server):
    conv = get_kind("conv")
    assert conv is not None
    on_kind = server.at("hover", untitled(TYPING), 4, 5)["contents"]["value"]
    assert " ".join(conv.summary.split()) in on_kind.split("\n\n")
    on_out = server.at("hover", untitled(TYPING), 5, 7)["contents"]["value"]
    described = conv.Options.model_fields["out"].description
    assert described == "output channels" and described in on_out.split("\n\n")


def test_the_server_is_the_locked_version(server):
    """A server older or newer than the lock file means node_modules is stale: make yaml-ls."""
    lock = json.loads((ROOT / "tools" / "yaml-ls" / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/yaml-language-server"]["version"]
    assert server.info == {"name": "yaml-language-server", "version": locked}
