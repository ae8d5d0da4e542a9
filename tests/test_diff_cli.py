"""``netspec diff``: its sides (files, bundled names, FILE@REV, scales and --set's of one
spec), its text and JSON (golden files in tests/golden/diff_cli/), its exit status (0 same,
1 different, 2 trouble) and that it imports no torch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import cli, imported_modules, imports_torch
from git_repos import git, make_repo

import netspec
from netspec.diff import diff, format_json, format_text


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


SCALED = """\
name: scaled
input: [3, 8, 8]
params: {width: 4, classes: 10}
scales:
  s: {width: 4}
  m: {width: 8}
layers:
  - conv: {name: stem, out: "${width}", kernel: 3}
  - pool: {mode: avg, global: true}
  - flatten
  - linear: {name: head, out: "${classes}"}
"""


@pytest.fixture
def scaled(tmp_path: Path) -> Path:
    path = tmp_path / "scaled.yaml"
    path.write_text(SCALED)
    return path


def test_the_edits_since_the_last_commit(repo, golden):
    run = cli("diff", "repo/net.yaml", cwd=repo.parent)
    assert (run.code, run.err) == (1, "")
    golden("diff_cli/head.txt", run.out)
    run = cli("diff", "repo/net.yaml", "--format", "json", cwd=repo.parent)
    assert run.code == 1 and json.loads(run.out)["same"] is False
    golden("diff_cli/head.json", run.out)
    # the same as naming both sides
    both = cli("diff", "repo/net.yaml@HEAD", "repo/net.yaml", "--format", "json", cwd=repo.parent)
    assert (both.code, both.out) == (run.code, run.out)


def test_two_revisions_read_their_imports_at_their_revision(repo, golden):
    run = cli("diff", "repo/net.yaml@HEAD~1", "repo/net.yaml@main", cwd=repo.parent)
    assert (run.code, run.err) == (1, "")
    assert "repo/blocks/unit.yaml@main:4:9" in run.out  # the block's line, at B's revision
    golden("diff_cli/revisions.txt", run.out)


def test_the_same_network_is_exit_0(repo):
    git(repo, "commit", "-qam", "three")
    run = cli("diff", "repo/net.yaml", cwd=repo.parent)
    assert run.code == 0
    assert run.out.splitlines()[2] == "the networks are the same"
    run = cli("diff", "repo/net.yaml@HEAD", "repo/net.yaml", "--format", "json", cwd=repo.parent)
    assert run.code == 0 and json.loads(run.out)["same"] is True


def test_two_scales_of_one_spec(scaled):
    a, b = netspec.load(scaled, scale="s"), netspec.load(scaled, scale="m")
    run = cli("diff", str(scaled), "--a-scale", "s", "--b-scale", "m")
    assert (run.code, run.out) == (1, format_text(diff(a, b)))
    run = cli("diff", str(scaled), str(scaled), "--b-scale", "m", "--format", "json")
    assert (run.code, run.out) == (1, format_json(diff(a, b)))  # A at the default scale, s
    run = cli("diff", str(scaled), str(scaled), "--scale", "m")  # both sides
    assert run.code == 0


def test_sets_of_each_side_win_over_those_of_both(scaled):
    run = cli("diff", str(scaled), "--set", "classes=5", "--b-set", "classes=7")
    a = netspec.load(scaled, classes=5)
    b = netspec.load(scaled, classes=7)
    assert (run.code, run.out) == (1, format_text(diff(a, b)))
    run = cli("diff", str(scaled), "--a-set", "classes=5", "--b-set", "classes=5")
    assert run.code == 0


@pytest.mark.parametrize(
    ("args", "err"),
    [
        (("lenet", "nope.yaml"), "nope.yaml: error: no such file\n"),
        (
            ("lenet", "lenett"),
            'lenett: error: no such file or bundled spec\nhint: did you mean "lenet"',
        ),
        (("lenet", "--b-scale", "x"), "error: scale"),
        (
            ("lenet", "--b-set", "num_classes"),
            "netspec diff: error: --b-set 'num_classes': expected",
        ),
        (("lenet", "--a-set", "x=[1"), "netspec diff: error: --a-set 'x=[1': the value is not"),
        (("lenet", "--format", "yaml"), 'invalid choice: "yaml"'),
        (("repo/net.yaml@nope",), 'repo/net.yaml@nope: error: unknown revision "nope"'),
        (("repo/gone.yaml@HEAD", "lenet"), "repo/gone.yaml@HEAD: error: no such file at revision"),
        (("broken.yaml", "lenet"), "broken.yaml:3:10: error: unknown layer kind"),
    ],
)
def test_trouble_is_exit_2_and_said_on_stderr(repo, args, err):
    (repo.parent / "broken.yaml").write_text("name: x\ninput: [3]\nlayers: [bogus]\n")
    run = cli("diff", *args, cwd=repo.parent)
    assert (run.code, run.out) == (2, "")
    assert err in run.err


def test_a_spec_out_of_git_alone_is_trouble(tmp_path):
    (tmp_path / "net.yaml").write_text(SCALED)
    run = cli("diff", "net.yaml", cwd=tmp_path)
    assert run.code == 2
    assert run.err.startswith("net.yaml@HEAD: error: is not in a git repository")


def test_diff_imports_no_torch():
    for args in (("lenet", "lenet"), ("lenet@HEAD", "lenet@HEAD", "--format", "json")):
        assert not imports_torch(imported_modules("diff", *args))
