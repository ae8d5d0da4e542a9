"""A small git repository for the tests of ``FILE@REV`` (tests/test_revisions.py,
tests/test_diff_cli.py): a spec that imports a block from ``blocks/unit.yaml``, in two commits
and an edit not yet committed.

- commit 1 (``HEAD~1``): the block's conv is 8 wide; the spec is stem, unit, head;
- commit 2 (``HEAD``): the block's conv is 16 wide;
- the working tree: a layer named ``extra`` inserted before the head.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

NET = """\
name: net
imports: [./blocks/unit.yaml]
input: [3, 16, 16]
layers:
  - conv: {name: stem, out: 8, kernel: 3, padding: 1}
  - unit: {name: body}
  - pool: {mode: avg, global: true}
  - flatten
  - linear: {name: head, out: 10}
"""

UNIT = """\
blocks:
  unit:
    layers:
      - conv: {name: conv, out: WIDTH, kernel: 3, padding: 1}
      - relu
"""

EXTRA = "  - conv: {name: extra, out: 8, kernel: 1}\n"


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` as a user would, with an identity of its own."""
    run = subprocess.run(
        [
            "git",
            "-c",
            "user.name=netspec tests",
            "-c",
            "user.email=tests@netspec.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.hooksPath=/dev/null",
            *args,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout


def make_repo(repo: Path) -> Path:
    """The repository described above, in ``repo``; returns ``repo``."""
    (repo / "blocks").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "net.yaml").write_text(NET)
    (repo / "blocks" / "unit.yaml").write_text(UNIT.replace("WIDTH", "8"))
    git(repo, "add", "net.yaml", "blocks/unit.yaml")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "blocks" / "unit.yaml").write_text(UNIT.replace("WIDTH", "16"))
    git(repo, "commit", "-q", "-am", "two")
    anchor = "  - pool:"
    (repo / "net.yaml").write_text(NET.replace(anchor, EXTRA + anchor))
    return repo
