"""netspec lsp: the hover of a layer says what changed since the file's last commit.

Each test makes a git repository in tmp_path, commits a spec and edits it (the editor's
buffer, not the file). Through the functions the checker runs (compare_head, hover): an
inserted layer is "added", a changed option says what changed and which keys will not carry
over, a removed layer is named by the layer that held it, a layer that did not change shows
nothing; a file outside a repository, untracked, in a repository without commits, or whose
committed version does not check, shows nothing. The answers are cached by both texts, and a
new commit is seen. In the server, a comparison never delays diagnostics (a historian that
never answers), and one end-to-end run through the real server shows a change on hover.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("pygls")

from lsp_client import Client
from lsprotocol import types
from pygls.workspace import Workspace

from netspec.lsp.analysis import analyse
from netspec.lsp.history import HeadCache, History, compare_head
from netspec.lsp.hover import MAX_LISTED, hover
from netspec.lsp.positions import Text
from netspec.lsp.server import NetspecServer
from netspec.lsp.worker import Job, Outcome

if shutil.which("git") is None:
    pytest.skip("git is not installed", allow_module_level=True)

SPEC = """name: small
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - relu
  - group:
      name: body
      layers:
        - conv: {name: conv1, out: 8, kernel: 3, padding: 1}
        - batchnorm: {name: bn1}
        - relu
  - conv: {name: last, out: 16, kernel: 3, padding: 1}
  - pool: {mode: avg, global: true}
  - flatten
  - linear: 10
"""
INSERT = ("  - relu\n  - group:", "  - relu\n  - conv: {out: 8, kernel: 1}\n  - group:")
OPTION = ("{name: last, out: 16,", "{name: last, out: 32,")
DELETE = ("        - batchnorm: {name: bn1}\n", "")


def git(folder: Path, *args: str) -> None:
    who = ["-c", "user.name=netspec", "-c", "user.email=netspec@example.com"]
    subprocess.run(["git", *who, *args], cwd=folder, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose last commit holds net.yaml (SPEC)."""
    git(tmp_path, "init", "-q")
    (tmp_path / "net.yaml").write_text(SPEC)
    git(tmp_path, "add", "net.yaml")
    git(tmp_path, "commit", "-q", "-m", "a network")
    return tmp_path


def edit(change: tuple[str, str], text: str = SPEC) -> str:
    assert text.count(change[0]) == 1, change[0]
    return text.replace(*change)


def since(path: Path, text: str, cache: HeadCache | None = None) -> History | None:
    return compare_head(text, str(path), path.name, cache or HeadCache())


def hovered(path: Path, text: str, needle: str, history: History | None) -> str:
    """The hover on the first word of the first line holding ``needle``, its escapes
    removed."""
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if needle in line)
    col = lines[row].index(needle)
    found = hover(
        analyse(text, str(path)), Text.of(text), path.name, types.Position(row, col), history
    )
    assert found is not None
    value = found.contents.value  # type: ignore[union-attr]
    assert isinstance(value, str)
    return plain(value)


def plain(markdown: str) -> str:
    """Markdown with netspec's escapes removed (``\\(8\\, 32\\)`` reads ``(8, 32)``)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_an_inserted_layer_is_added_and_the_others_keep_their_keys(repo: Path) -> None:
    text = edit(INSERT)
    found = since(repo / "net.yaml", text)
    assert found is not None and found.against == "HEAD"
    # the named layers keep their names; the pool, flatten and linear after it shift
    assert found.layers == {
        "2": "added",
        "5": "moved from 4",
        "6": "moved from 5",
        "7": "moved from 6",
    }
    assert found.keys == {
        "2.weight": "new: initialised, not loaded",
        "2.bias": "new: initialised, not loaded",
        "7.weight": "not loaded by name: it was 6.weight (a rename loads it)",
        "7.bias": "not loaded by name: it was 6.bias (a rename loads it)",
    }
    shown = hovered(repo / "net.yaml", text, "conv: {out: 8, kernel: 1}", found)
    assert "since `HEAD`: added" in shown
    assert "- `2.weight`: new: initialised, not loaded" in shown
    assert "since" not in hovered(repo / "net.yaml", text, "conv: {name: conv1", found)


def test_a_changed_option_says_what_and_which_keys_do_not_carry(repo: Path) -> None:
    text = edit(OPTION)
    found = since(repo / "net.yaml", text)
    assert found is not None
    shown = hovered(repo / "net.yaml", text, "conv: {name: last", found)
    assert "since `HEAD`: changed: out 16 → 32; output (16, 16, 16) → (32, 16, 16)" in shown
    assert "weights that do not carry over since `HEAD`:" in shown
    assert "- `last.weight`: (16, 8, 3, 3) → (32, 8, 3, 3): not loaded" in shown
    linear = hovered(repo / "net.yaml", text, "linear: 10", found)
    assert "since `HEAD`: changed: input (16,) → (32,)" in linear


def test_a_removed_layer_is_named_by_the_block_that_held_it(repo: Path) -> None:
    text = edit(DELETE)
    found = since(repo / "net.yaml", text)
    assert found is not None
    shown = hovered(repo / "net.yaml", text, "name: body", found)
    assert "removed inside since `HEAD`: bn1: batchnorm" in shown
    assert "- `body.bn1.weight`: dropped: not in this version" in shown


def test_many_keys_are_counted_past_the_first_few(repo: Path) -> None:
    text = edit(("{name: conv1, out: 8,", "{name: conv1, out: 16,"))  # and the bn1 after it
    found = since(repo / "net.yaml", text)
    assert found is not None
    keys = [k for k in found.keys if k.startswith("body.")]
    assert len(keys) > MAX_LISTED
    shown = hovered(repo / "net.yaml", text, "name: body", found)
    assert shown.count("\n- `body.") == MAX_LISTED
    assert f"- … and {len(keys) - MAX_LISTED:,} more keys" in shown


@pytest.mark.parametrize("where", ["outside", "untracked", "no_commits", "broken_head"])
def test_nothing_is_shown_without_a_committed_version_that_checks(
    tmp_path: Path, where: str
) -> None:
    path = tmp_path / "net.yaml"
    if where == "untracked":
        git(tmp_path, "init", "-q")
        (tmp_path / "other.yaml").write_text(SPEC)
        git(tmp_path, "add", "other.yaml")
        git(tmp_path, "commit", "-q", "-m", "another file")
    elif where == "no_commits":
        git(tmp_path, "init", "-q")
    elif where == "broken_head":
        git(tmp_path, "init", "-q")
        path.write_text(SPEC.replace("linear: 10", "linear: {out: 10, typo: 1}"))
        git(tmp_path, "add", "net.yaml")
        git(tmp_path, "commit", "-q", "-m", "broken")
    path.write_text(SPEC)
    assert since(path, edit(INSERT)) is None


def test_a_document_that_does_not_check_shows_nothing(repo: Path) -> None:
    assert since(repo / "net.yaml", SPEC.replace("linear: 10", "linear: -1")) is None


def test_answers_are_kept_by_both_texts_and_a_new_commit_is_seen(repo: Path) -> None:
    cache = HeadCache()
    text = edit(INSERT)
    first = since(repo / "net.yaml", text, cache)
    assert since(repo / "net.yaml", text, cache) is first  # the same texts: the same answer
    assert len(cache.heads) == 1
    other = since(repo / "net.yaml", edit(OPTION), cache)
    assert other is not None and other is not first and len(cache.heads) == 1
    (repo / "net.yaml").write_text(text)  # the edit committed: nothing changed since HEAD
    git(repo, "commit", "-q", "-am", "a layer more")
    now = since(repo / "net.yaml", text, cache)
    assert now is not None and now.layers == {} and now.keys == {}


class InProcess:
    """A checker that runs jobs in this process (the diagnostics' side of the server)."""

    def run(self, job: Job) -> Outcome:
        return Outcome(analysis=analyse(job.text, job.path, job.shown, job.recover))

    def close(self) -> None:
        pass


class Stuck:
    """A history checker that answers only when released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.jobs: list[Job] = []

    def run(self, job: Job) -> Outcome:
        self.jobs.append(job)
        assert self.release.wait(30)
        return Outcome(history=History("HEAD", {"0": "added"}))

    def close(self) -> None:
        self.release.set()


def test_a_comparison_never_delays_diagnostics(repo: Path) -> None:
    historian = Stuck()
    server = NetspecServer(InProcess(), 0.0, historian)  # type: ignore[arg-type]
    server.protocol._workspace = Workspace(None)
    published: list[types.PublishDiagnosticsParams] = []
    server.text_document_publish_diagnostics = published.append  # type: ignore[method-assign]
    uri = (repo / "net.yaml").as_uri()
    server.workspace.put_text_document(types.TextDocumentItem(uri, "yaml", 1, edit(INSERT)))

    async def run() -> None:
        await server._check_later(uri, 0.0)
        # the diagnostics are out while the comparison is still waiting for its checker
        assert [p.version for p in published] == [1]
        assert historian.jobs == [] or historian.jobs[0].history
        assert server.history(uri) is None
        historian.release.set()
        await server.comparing[(uri)]

    try:
        asyncio.run(run())
    finally:
        historian.release.set()
    assert historian.jobs[0].history and historian.jobs[0].path == str(repo / "net.yaml")
    found = server.history(uri)
    assert found is not None and found.layers == {"0": "added"}


def test_hover_through_the_server(repo: Path) -> None:
    """The real server, its checkers real processes: the change arrives on hover."""
    client = Client(cwd=repo)
    try:
        client.initialize()
        path = repo / "net.yaml"
        text = edit(INSERT)
        client.open(path.as_uri(), text)
        assert client.diagnostics(path.as_uri(), version=1) == []
        lines = text.splitlines()
        row = next(i for i, line in enumerate(lines) if "kernel: 1}" in line)
        deadline = time.monotonic() + 60  # a hang guard: the comparison takes a second or two
        while True:
            found = client.at("hover", path.as_uri(), row, 5)
            if found and "since `HEAD`: added" in found["contents"]["value"]:
                break
            assert time.monotonic() < deadline, "the change since HEAD never arrived"
            time.sleep(0.1)
        row = next(i for i, line in enumerate(lines) if "name: conv1" in line)
        value = client.at("hover", path.as_uri(), row, 10)["contents"]["value"]
        assert "`body.conv1`" in value and "since" not in value
    finally:
        assert client.close() == 0
