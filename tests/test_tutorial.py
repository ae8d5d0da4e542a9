"""docs/tutorial.md, run as a user would: every command and its output, in order.

The tutorial is a sequence of steps: ``<!-- file: NAME -->`` before a ``yaml`` block writes
that file; a ``console`` block holds ``$ command`` lines, each followed by its output
(``...`` stands for any number of lines); a ``python`` block runs as a script, and the
``text`` block after it is its output.

Each ``##`` section is a test of its own, so that the sections run side by side: it runs in an
empty folder where the earlier sections' files have been written (their ``file:`` blocks and
``netspec new`` commands, replayed in order), then its own steps, in order. Commands and
scripts run in this process (``conftest.cli``; a script as ``__main__``), which shows what a
fresh process would: the command's exit code and output, with the Python warnings it would
print; the entry point itself is tested in fresh processes by test_cli.py.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, _as_a_fresh_process, cli

TUTORIAL = ROOT / "docs" / "tutorial.md"
BLOCK = re.compile(r"(?:<!-- file: (?P<file>\S+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)
HEADING = re.compile(r"^## (?P<title>.+)$", re.M)


@dataclass
class Section:
    title: str
    #: (lang, file, body) for every fenced block, in order
    blocks: list[tuple[str, str, str]]


def steps(text: str) -> list[tuple[str, str, str]]:
    """(lang, file, body) for every fenced block, in order."""
    return [(m["lang"], m["file"] or "", m["body"]) for m in BLOCK.finditer(text)]


def sections(text: str) -> list[Section]:
    """The ``##`` sections and their blocks (those before the first heading go to the first)."""
    starts = [m.start() for m in HEADING.finditer(text)]
    out = [Section(m["title"], []) for m in HEADING.finditer(text)]
    for m in BLOCK.finditer(text):
        index = max(0, sum(start < m.start() for start in starts) - 1)
        out[index].blocks.append((m["lang"], m["file"] or "", m["body"]))
    return out


def matches(expected: str, actual: str) -> bool:
    """Line by line, trailing spaces and blank lines ignored; a line ``...`` matches any lines."""
    want = [line.rstrip() for line in expected.rstrip("\n").splitlines()]
    got = [line.rstrip() for line in actual.rstrip("\n").splitlines()]
    pattern = "\n".join(".*?" if line == "..." else re.escape(line) for line in want)
    pattern = pattern.replace("\n.*?\n", "(?:\n.*?)?\n").replace("\n.*?", "(?:\n.*)?")
    return re.fullmatch(pattern, "\n".join(got), flags=re.S) is not None


def run(command: str, cwd: Path) -> str:
    """A ``$ netspec ...`` line's output, stdout and stderr together as a terminal shows them."""
    argv = shlex.split(command)
    assert argv[0] == "netspec", f"the tutorial runs only netspec commands: {command}"
    return cli(*argv[1:], cwd=cwd, together=True).out


def script(body: str, cwd: Path) -> str:
    """What a ``python`` block prints, run as a script (``__main__``) in ``cwd``."""
    out = io.StringIO()
    with _as_a_fresh_process(cwd), contextlib.redirect_stdout(out):
        exec(compile(body, "<tutorial>", "exec"), {"__name__": "__main__"})
    return out.getvalue()


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


def set_up(section: Section, folder: Path) -> None:
    """What an earlier section leaves for the later ones: its files and its ``netspec new``."""
    for lang, file, body in section.blocks:
        if file:
            (folder / file).write_text(body, encoding="utf-8")
        elif lang == "console":
            for command, _ in console(body):
                if shlex.split(command)[:2] == ["netspec", "new"]:
                    run(command, folder)


def run_section(section: Section, folder: Path) -> int:
    """Run a section's steps in order, checking each output; the number of steps checked."""
    done = 0
    for i, (lang, file, body) in enumerate(section.blocks):
        if file:
            (folder / file).write_text(body, encoding="utf-8")
        elif lang == "console":
            for command, expected in console(body):
                output = run(command, folder)
                assert matches(expected, output), (
                    f"$ {command}\n--- expected\n{expected}--- got\n{output}"
                )
                for svg in drawn(command):
                    assert (folder / svg).read_bytes().startswith(b"<?xml"), svg
                done += 1
        elif lang == "python":
            expected = section.blocks[i + 1]
            assert expected[0] == "text", "a python block is followed by its output"
            output = script(body, folder)
            assert matches(expected[2], output), output
            done += 1
    return done


def drawn(command: str) -> list[str]:
    """The SVG files a command writes (``-o NAME.svg``)."""
    argv = shlex.split(command)
    return [
        b for a, b in itertools.pairwise(argv) if a in ("-o", "--output") and b.endswith(".svg")
    ]


SECTIONS = sections(TUTORIAL.read_text(encoding="utf-8"))
#: the sections that run something, by index
RUN = [i for i, s in enumerate(SECTIONS) if any(b[0] in ("console", "python") for b in s.blocks)]


def test_matches_understands_ellipses():
    assert matches("a\n...\nd\n", "a\nb\nc\nd\n")
    assert matches("a\n...\nd\n", "a\nd\n")
    assert matches("a\n...\n", "a\nb\n")
    assert not matches("a\n...\nd\n", "a\nb\nc\n")
    assert not matches("a\nb\n", "a\nc\n")


def test_the_sections_hold_every_step():
    """Split into sections, the tutorial still runs every block, in order, and runs a lot."""
    text = TUTORIAL.read_text(encoding="utf-8")
    assert [b for s in SECTIONS for b in s.blocks] == steps(text)
    commands = [c for lang, _, body in steps(text) if lang == "console" for c in console(body)]
    scripts = [body for lang, file, body in steps(text) if lang == "python" and not file]
    assert len(commands) + len(scripts) >= 10
    assert any(drawn(command) for command, _ in commands)


@pytest.mark.slow
@pytest.mark.parametrize(
    "index", RUN, ids=[re.sub(r"\W+", "-", SECTIONS[i].title.lower()).strip("-") for i in RUN]
)
def test_the_tutorial_runs_as_written(index, tmp_path):
    for earlier in SECTIONS[:index]:
        set_up(earlier, tmp_path)
    assert run_section(SECTIONS[index], tmp_path) >= 1
