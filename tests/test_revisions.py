"""netspec.revisions: a spec as a git revision has it (``FILE@REV``), its imports read at the
same revision, and a clear error for each way a word can name no such file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from git_repos import NET, git, make_repo

import netspec
from netspec import revisions
from netspec.errors import NetspecError
from netspec.revisions import RevisionError, load_revision, read_revision, repository, resolve


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return make_repo(tmp_path / "repo")


def widths(spec: netspec.Spec) -> dict[str, tuple[int, ...]]:
    return {c.path: c.output.dims for c in spec.checked.walk() if c.node.kind.name == "conv"}


def test_resolve_splits_a_word_at_its_revision(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "odd@name.yaml").write_text("x")
    assert resolve("specs/x.yaml@HEAD~2") == ("specs/x.yaml", "HEAD~2")
    assert resolve("x.yml@main@{yesterday}") == ("x.yml", "main@{yesterday}")
    assert resolve("lenet@v1.0") == ("lenet", "v1.0")  # a bundled name
    assert resolve("torchvision/resnet18@HEAD") == ("torchvision/resnet18", "HEAD")
    assert resolve("odd@name.yaml") == ("odd@name.yaml", None)  # a file that exists
    assert resolve("odd@name.yaml@HEAD") == ("odd@name.yaml", "HEAD")
    assert resolve("lenet") == ("lenet", None)
    assert resolve("nothing@HEAD") == ("nothing@HEAD", None)  # neither file nor name: as it is
    assert resolve("x.yaml@") == ("x.yaml", "")


def test_a_revision_is_read_with_its_imports_at_that_revision(repo):
    now = netspec.load("repo/net.yaml")
    head = load_revision("repo/net.yaml", "HEAD")
    before = load_revision("repo/net.yaml", "HEAD~1")
    assert (head.file, before.file) == ("repo/net.yaml@HEAD", "repo/net.yaml@HEAD~1")
    assert widths(before)["body.conv"] == (8, 16, 16)  # the block as the first commit had it
    assert widths(head)["body.conv"] == widths(now)["body.conv"] == (16, 16, 16)
    assert "extra" in widths(now) and "extra" not in widths(head)
    # the block's layers are named as the revision's file, never the temporary copy's
    conv = next(c for c in before.checked.walk() if c.path == "body.conv")
    assert conv.node.doc.file == "repo/blocks/unit.yaml@HEAD~1"


def test_read_revision_gives_the_committed_text(repo):
    text, shown = read_revision(repo / "net.yaml", "main")
    assert shown == f"{repo / 'net.yaml'}@main"
    assert text == git(repo, "show", "HEAD:net.yaml") != (repo / "net.yaml").read_text()


def test_a_file_deleted_from_the_working_tree_is_read_from_its_commit(repo):
    (repo / "blocks" / "unit.yaml").unlink()
    (repo / "blocks").rmdir()
    text, _ = read_revision("repo/blocks/unit.yaml", "HEAD")
    assert "out: 16" in text


def test_repository(repo, tmp_path):
    assert repository(repo / "net.yaml") == Path(os.path.realpath(repo))
    assert repository(tmp_path / "elsewhere.yaml") is None


def message(error: pytest.ExceptionInfo[NetspecError]) -> str:
    return str(error.value)


@pytest.mark.parametrize(
    ("path", "rev", "expected"),
    [
        ("repo/net.yaml", "nope", 'repo/net.yaml@nope: error: unknown revision "nope" in '),
        ("repo/net.yaml", "HEAD~5", 'repo/net.yaml@HEAD~5: error: unknown revision "HEAD~5"'),
        ("repo/gone.yaml", "HEAD", "repo/gone.yaml@HEAD: error: no such file at revision HEAD"),
        ("repo/blocks", "HEAD", "repo/blocks@HEAD: error: is a folder at revision HEAD"),
        ("repo/net.yaml", "", "repo/net.yaml@: error: no revision after @"),
        ("repo/net.yaml", "--output=x", "repo/net.yaml@--output=x: error: '--output=x' is not"),
        ("elsewhere.yaml", "HEAD", "elsewhere.yaml@HEAD: error: is not in a git repository"),
    ],
)
def test_a_word_that_names_no_file_at_a_revision(repo, path, rev, expected):
    with pytest.raises(RevisionError) as e:
        load_revision(path, rev)
    assert message(e).startswith(expected)


def test_a_link_at_a_revision_is_refused(repo):
    os.symlink("net.yaml", repo / "link.yaml")
    git(repo, "add", "link.yaml")
    git(repo, "commit", "-qm", "link")
    with pytest.raises(RevisionError) as e:
        load_revision("repo/link.yaml", "HEAD")
    assert "is a symbolic link at revision HEAD" in message(e)


def test_a_file_too_big_at_a_revision_is_refused_before_it_is_read(repo, monkeypatch):
    monkeypatch.setattr(revisions, "MAX_FILE_BYTES", 50)
    with pytest.raises(RevisionError) as e:
        read_revision("repo/net.yaml", "HEAD")
    size = len(NET.encode())
    assert f"file is {size} bytes at revision HEAD; specs are limited to 50" in message(e)


def test_without_git(repo, monkeypatch):
    monkeypatch.setenv("PATH", str(repo / "nowhere"))
    with pytest.raises(RevisionError) as e:
        load_revision("repo/net.yaml", "HEAD")
    assert message(e).startswith("repo/net.yaml@HEAD: error: cannot read the revision: git could")
    assert message(e).endswith("hint: install git")


def test_an_import_missing_at_the_revision_is_said_at_the_import(repo):
    git(repo, "rm", "-q", "blocks/unit.yaml")
    git(repo, "commit", "-qm", "no blocks")
    with pytest.raises(NetspecError) as e:
        load_revision("repo/net.yaml", "HEAD")
    assert message(e).splitlines()[0] == (
        "repo/net.yaml@HEAD:2:11: error: cannot import './blocks/unit.yaml': no such file "
        "(repo/blocks/unit.yaml@HEAD)"
    )


def test_an_error_in_an_import_names_it_at_the_revision(repo):
    (repo / "blocks" / "unit.yaml").write_text("blocks:\n  unit:\n    layers: [bogus]\n")
    git(repo, "commit", "-qam", "broken")
    with pytest.raises(NetspecError) as e:
        load_revision("repo/net.yaml", "HEAD")
    lines = message(e).splitlines()
    assert lines[0].startswith("repo/blocks/unit.yaml@HEAD:3:14: error: ")
    assert "note: repo/net.yaml@HEAD:2:11: imported here" in lines


def test_an_import_outside_the_repository_is_an_error_at_its_line(repo):
    (repo / "net.yaml").write_text("name: n\nimports: [../outside.yaml]\ninput: [3]\nlayers: []\n")
    (repo.parent / "outside.yaml").write_text("blocks: {}\n")  # there, but not in the commit
    git(repo, "commit", "-qam", "outside")
    with pytest.raises(NetspecError) as e:
        load_revision("repo/net.yaml", "HEAD")
    assert message(e).splitlines()[0] == (
        "repo/net.yaml@HEAD:2:11: error: cannot import ../outside.yaml at revision HEAD: "
        "it is outside the repository"
    )


def test_no_temporary_file_is_left(repo, monkeypatch, tmp_path):
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr("tempfile.tempdir", None)
    load_revision("repo/net.yaml", "HEAD~1")
    assert list(folder.iterdir()) == []
