"""docs/errors.md stays true: every error fixture is shown, and every quoted message is current.

The page marks each example with an HTML comment; the code blocks up to the next mark are its:

- ``<!-- fixture: NAME -->``: a fixture with a golden output (``fixtures/errors``,
  ``fixtures/seed_mistakes``, ``fixtures/imports``). Its ```` ```yaml ```` blocks hold lines of
  the fixture (``# ...`` marks a cut), or, after a first line ``# PATH``, of the file PATH
  beside it; its ```` ```text ```` block is ``$ netspec check FIXTURE`` and lines of the golden
  (``...`` marks a cut), the golden's first line among them.
- ``<!-- golden: cli/NAME -->``: the same for a golden of ``golden/cli``.
- ``<!-- run: exit N -->``: an optional ```` ```yaml ```` block, written as ``net.yaml`` in a
  fresh folder, and a ```` ```text ```` block of ``$ netspec ...`` commands, each followed by
  lines it prints (its first ``error:`` line among them); each must exit with N.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import FIXTURES, GOLDEN, ROOT

from netspec.cli import main

DOC = ROOT / "docs" / "errors.md"
FIXTURE_DIRS = ("errors", "seed_mistakes", "imports")
_ANCHOR = re.compile(r"^<!-- (fixture|golden|run): (.+?) -->$", re.MULTILINE)
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_FILE_LINE = re.compile(r"^# (\S+\.yaml)$")
_CUT = "..."


@dataclass(frozen=True)
class Example:
    """One marked example: its kind, its name, and its code blocks."""

    kind: str
    name: str
    yaml: list[list[str]]
    text: list[str] | None


def examples(doc: str) -> list[Example]:
    """The marked examples of the page, each with the blocks before the next mark."""
    found = list(_ANCHOR.finditer(doc))
    out = []
    for k, m in enumerate(found):
        end = found[k + 1].start() if k + 1 < len(found) else len(doc)
        yaml: list[list[str]] = []
        text: list[str] | None = None
        for b in _BLOCK.finditer(doc, m.end(), end):
            if b.group(1) == "yaml":
                yaml.append(b.group(2).splitlines())
            elif b.group(1) == "text" and text is None:
                text = b.group(2).splitlines()
        out.append(Example(m.group(1), m.group(2), yaml, text))
    return out


def fixture_path(name: str) -> Path | None:
    """The one fixture of that name that has a golden output."""
    found = [FIXTURES / d / f"{name}.yaml" for d in FIXTURE_DIRS]
    found = [p for p in found if p.exists() and golden_of(p).exists()]
    return found[0] if len(found) == 1 else None


def golden_of(fixture: Path) -> Path:
    return GOLDEN / fixture.parent.name / f"{fixture.stem}.txt"


def all_fixtures() -> set[str]:
    return {
        p.stem for d in FIXTURE_DIRS for p in (FIXTURES / d).glob("*.yaml") if golden_of(p).exists()
    }


def quote_problems(quoted: list[str], printed: list[str], command: str) -> list[str]:
    """What is wrong with one quoted command and its output: the command, a line netspec
    does not print, or the first error line missing."""
    if not quoted or quoted[0] != f"$ {command}":
        return [f"the quote should start with `$ {command}`"]
    problems = []
    printed = [line.rstrip() for line in printed]
    for line in quoted[1:]:
        if line != _CUT and line.rstrip() not in printed:
            problems.append(f"netspec does not print {line!r}")
    first = next((line for line in printed if "error:" in line), printed[0] if printed else "")
    if first not in quoted:
        problems.append(f"the first error line is missing: {first!r}")
    return problems


def commands(text: list[str]) -> list[list[str]]:
    """A text block split into its ``$ command`` and the lines each prints."""
    out: list[list[str]] = []
    for line in text:
        if line.startswith("$ ") or not out:
            out.append([])
        out[-1].append(line)
    return out


def yaml_problems(blocks: list[list[str]], fixture: Path) -> list[str]:
    """Lines of the yaml blocks that are not in the fixture (or the file a block names)."""
    problems = []
    for block in blocks:
        named = _FILE_LINE.match(block[0]) if block else None
        path = fixture.parent / named.group(1) if named else fixture
        if not path.is_file():
            problems.append(f"no file {path.relative_to(ROOT)}")
            continue
        source = {line.rstrip() for line in path.read_text("utf-8").splitlines()}
        problems += [
            f"{path.name} has no line {line!r}"
            for line in block
            if line.strip() and not line.lstrip().startswith("#") and line.rstrip() not in source
        ]
    return problems


def fixture_problems(example: Example) -> list[str]:
    path = fixture_path(example.name)
    if path is None:
        return [f"no fixture {example.name}.yaml with a golden output"]
    if example.text is None:
        return ["no ```text block"]
    printed = golden_of(path).read_text("utf-8").splitlines()
    command = f"netspec check {path.relative_to(ROOT)}"
    return quote_problems(example.text, printed, command) + yaml_problems(example.yaml, path)


def golden_problems(example: Example) -> list[str]:
    golden = GOLDEN / f"{example.name}.txt"
    if not golden.exists():
        return [f"no golden {example.name}.txt"]
    if not example.text or not example.text[0].startswith("$ netspec "):
        return ["the ```text block should start with `$ netspec ...`"]
    command = example.text[0].removeprefix("$ ")
    return quote_problems(example.text, golden.read_text("utf-8").splitlines(), command)


def coverage_problems(doc: str) -> list[str]:
    """Fixtures and CLI goldens the page does not show, and marks naming nothing."""
    shown = {e.name for e in examples(doc) if e.kind == "fixture"}
    goldens = {e.name for e in examples(doc) if e.kind == "golden"}
    cli = {f"cli/{p.stem}" for p in (GOLDEN / "cli").glob("*.txt")}
    return (
        [f"fixture {n} is not in docs/errors.md" for n in sorted(all_fixtures() - shown)]
        + [f"<!-- fixture: {n} --> names no fixture" for n in sorted(shown - all_fixtures())]
        + [f"golden {n} is not in docs/errors.md" for n in sorted(cli - goldens)]
    )


DOC_TEXT = DOC.read_text(encoding="utf-8")
EXAMPLES = examples(DOC_TEXT)
FIXTURE_EXAMPLES = [e for e in EXAMPLES if e.kind == "fixture"]
GOLDEN_EXAMPLES = [e for e in EXAMPLES if e.kind == "golden"]
RUNS = [
    (e, quote)
    for e in EXAMPLES
    if e.kind == "run"
    for quote in commands(e.text or ["(no ```text block)"])
]


def test_every_fixture_and_cli_golden_is_documented():
    assert coverage_problems(DOC_TEXT) == []


@pytest.mark.parametrize("example", FIXTURE_EXAMPLES, ids=[e.name for e in FIXTURE_EXAMPLES])
def test_quoted_fixture_messages_match_the_goldens(example):
    assert fixture_problems(example) == []


@pytest.mark.parametrize("example", GOLDEN_EXAMPLES, ids=[e.name for e in GOLDEN_EXAMPLES])
def test_quoted_command_line_messages_match_the_goldens(example):
    assert golden_problems(example) == []


@pytest.mark.parametrize(("example", "quote"), RUNS, ids=[q[0].removeprefix("$ ") for _, q in RUNS])
def test_quoted_runs_match_what_netspec_prints(example, quote, tmp_path, monkeypatch, capsys):
    match = re.fullmatch(r"exit (\d)", example.name)
    assert match, f"<!-- run: {example.name} -->: expected `exit N`"
    assert quote[0].startswith("$ netspec "), quote[0]
    assert len(example.yaml) <= 1, "a run has at most one yaml block (net.yaml)"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps its usage line to the terminal
    for block in example.yaml:
        (tmp_path / "net.yaml").write_text("\n".join(block) + "\n", encoding="utf-8")
    command = quote[0].removeprefix("$ ")
    try:
        code = main(shlex.split(command)[1:])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == int(match.group(1)), err
    assert quote_problems(quote, err.splitlines(), command) == []


# The checks above must be able to fail: each is run on a page spoilt on purpose.


def _spoil(old: str, new: str) -> str:
    assert old in DOC_TEXT
    return DOC_TEXT.replace(old, new, 1)


def _example(doc: str, name: str) -> Example:
    (example,) = [e for e in examples(doc) if e.name == name]
    return example


def test_a_missing_fixture_is_caught():
    doc = _spoil("<!-- fixture: unknown_kind -->", "")
    assert coverage_problems(doc) == ["fixture unknown_kind is not in docs/errors.md"]


def test_a_stale_message_is_caught():
    doc = _spoil('error: unknown layer kind "relux"', 'error: unknown kind "relux"')
    problems = fixture_problems(_example(doc, "unknown_kind"))
    assert any("first error line is missing" in p for p in problems)
    assert any("does not print" in p for p in problems)


def test_a_changed_example_is_caught():
    doc = _spoil("  - relux\n  - batchnrom", "  - relu\n  - batchnrom")
    assert fixture_problems(_example(doc, "unknown_kind")) == [
        "unknown_kind.yaml has no line '  - relu'"
    ]


def test_a_changed_imported_file_is_caught():
    doc = _spoil("      - conv: {out: 8, kernal: 3}\n```", "      - conv: {out: 8}\n```")
    assert fixture_problems(_example(doc, "broken")) == [
        "broken.yaml has no line '      - conv: {out: 8}'"
    ]


def test_a_stale_command_line_message_is_caught():
    doc = _spoil("error: is a folder, not a spec file", "error: is a directory")
    assert golden_problems(_example(doc, "cli/directory"))


def test_a_stale_run_is_caught():
    quote = ["$ netspec new 'my net'", "netspec new: error: 'my net' is not a name"]
    printed = ["netspec new: error: 'my net' is not a spec name: use letters, digits, _ . and -"]
    assert quote_problems(quote, printed, "netspec new 'my net'") == [
        "netspec does not print \"netspec new: error: 'my net' is not a name\"",
        f"the first error line is missing: {printed[0]!r}",
    ]
