"""docs/tutorial.md, run as a user would: every command and its output, in order.

The tutorial is a sequence of steps: ``<!-- file: NAME -->`` before a ``yaml`` block writes
that file; a ``console`` block holds ``$ command`` lines, each followed by its output
(``...`` stands for any number of lines); a ``python`` block runs as a script, and the
``text`` block after it is its output. All run in one empty folder.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

TUTORIAL = ROOT / "docs" / "tutorial.md"
BLOCK = re.compile(r"(?:<!-- file: (?P<file>\S+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)


def steps(text: str) -> list[tuple[str, str, str]]:
    """(lang, file, body) for every fenced block, in order."""
    return [(m["lang"], m["file"] or "", m["body"]) for m in BLOCK.finditer(text)]


def matches(expected: str, actual: str) -> bool:
    """Line by line, trailing spaces and blank lines ignored; a line ``...`` matches any lines."""
    want = [line.rstrip() for line in expected.rstrip("\n").splitlines()]
    got = [line.rstrip() for line in actual.rstrip("\n").splitlines()]
    pattern = "\n".join(".*?" if line == "..." else re.escape(line) for line in want)
    pattern = pattern.replace("\n.*?\n", "(?:\n.*?)?\n").replace("\n.*?", "(?:\n.*)?")
    return re.fullmatch(pattern, "\n".join(got), flags=re.S) is not None


def run(command: str, cwd: Path) -> str:
    argv = shlex.split(command)
    assert argv[0] == "netspec", f"the tutorial runs only netspec commands: {command}"
    proc = subprocess.run(
        [sys.executable, "-m", "netspec", *argv[1:]],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    return proc.stdout


def console(body: str) -> list[tuple[str, str]]:
    """The (command, expected output) pairs of a console block."""
    pairs: list[tuple[str, str]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], ""))
        else:
            assert pairs, "a console block starts with a $ command"
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + line + "\n")
    return pairs


def test_matches_understands_ellipses():
    assert matches("a\n...\nd\n", "a\nb\nc\nd\n")
    assert matches("a\n...\nd\n", "a\nd\n")
    assert matches("a\n...\n", "a\nb\n")
    assert not matches("a\n...\nd\n", "a\nb\nc\n")
    assert not matches("a\nb\n", "a\nc\n")


@pytest.mark.slow
def test_the_tutorial_runs_as_written(tmp_path):
    blocks = steps(TUTORIAL.read_text(encoding="utf-8"))
    assert any(lang == "console" for lang, _, _ in blocks)
    done = 0
    for i, (lang, file, body) in enumerate(blocks):
        if file:
            (tmp_path / file).write_text(body, encoding="utf-8")
        elif lang == "console":
            for command, expected in console(body):
                output = run(command, tmp_path)
                assert matches(expected, output), (
                    f"$ {command}\n--- expected\n{expected}--- got\n{output}"
                )
                done += 1
        elif lang == "python":
            expected = blocks[i + 1]
            assert expected[0] == "text", "a python block is followed by its output"
            proc = subprocess.run(
                [sys.executable, "-c", body],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=300,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            assert proc.returncode == 0, proc.stderr
            assert matches(expected[2], proc.stdout), proc.stdout
            done += 1
    assert done >= 10
    assert (tmp_path / "cifar_resnet.svg").read_bytes().startswith(b"<?xml")
