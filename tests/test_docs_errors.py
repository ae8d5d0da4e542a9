"""docs/errors.md stays true: every error fixture is shown, and every quoted message is current.

The page marks each example with an HTML comment, followed by its code blocks:

- ``<!-- fixture: NAME -->``: a file of ``fixtures/errors`` or ``fixtures/seed_mistakes``; an
  optional ```` ```yaml ```` block (lines of the fixture; ``# ...`` marks a cut) and a
  ```` ```text ```` block (``$ netspec check FIXTURE``, then lines of its golden output with
  ``...`` for a cut) that holds the golden's first line;
- ``<!-- golden: cli/NAME -->``: the same for a golden of ``golden/cli``;
- ``<!-- run: exit N -->``: an optional ```` ```yaml ```` block, written as ``net.yaml``, and the
  ```` ```text ```` block of a command run in a fresh folder, which must exit with N and print
  those lines (its first ``error:`` line among them).
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
FIXTURE_DIRS = ("errors", "seed_mistakes")
_ANCHOR = re.compile(r"^<!-- (fixture|golden|run): (.+?) -->$", re.MULTILINE)
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_CUT = "..."


@dataclass(frozen=True)
class Example:
    """One anchored example: its kind, its name, and its code blocks by language."""

    kind: str
    name: str
    yaml: list[str] | None
    text: list[str] | None


def examples(doc: str) -> list[Example]:
    """The anchored examples of the page; an example's blocks are those before the next anchor."""
    found = list(_ANCHOR.finditer(doc))
    out = []
    for k, m in enumerate(found):
        end = found[k + 1].start() if k + 1 < len(found) else len(doc)
        blocks: dict[str, list[str]] = {}
        for b in _BLOCK.finditer(doc, m.end(), end):
            blocks.setdefault(b.group(1), b.group(2).splitlines())
        out.append(Example(m.group(1), m.group(2), blocks.get("yaml"), blocks.get("text")))
    return out


def fixture_path(name: str) -> Path | None:
    found = [FIXTURES / d / f"{name}.yaml" for d in FIXTURE_DIRS]
    found = [p for p in found if p.exists()]
    return found[0] if len(found) == 1 else None


def all_fixtures() -> set[str]:
    return {p.stem for d in FIXTURE_DIRS for p in (FIXTURES / d).glob("*.yaml")}


def quote_problems(quoted: list[str] | None, printed: list[str], command: str) -> list[str]:
    """What is wrong with a quoted output: its command, a line netspec does not print, or
    the missing first error line."""
    if not quoted:
        return ["no ```text block"]
    problems = []
    if quoted[0] != f"$ {command}":
        problems.append(f"the text block should start with `$ {command}`, not {quoted[0]!r}")
    printed = [line.rstrip() for line in printed]
    for line in quoted[1:]:
        if line != _CUT and line.rstrip() not in printed:
            problems.append(f"netspec does not print {line!r}")
    first = next((line for line in printed if "error:" in line), printed[0] if printed else "")
    if first not in quoted:
        problems.append(f"the first error line is missing: {first!r}")
    return problems


def fixture_problems(example: Example) -> list[str]:
    path = fixture_path(example.name)
    if path is None:
        return [f"no fixture {example.name}.yaml"]
    golden = GOLDEN / path.parent.name / f"{example.name}.txt"
    command = f"netspec check {path.relative_to(ROOT)}"
    problems = quote_problems(example.text, golden.read_text("utf-8").splitlines(), command)
    if example.yaml is not None:
        source = {line.rstrip() for line in path.read_text("utf-8").splitlines()}
        problems += [
            f"the fixture has no line {line!r}"
            for line in example.yaml
            if line.strip() and not line.lstrip().startswith("#") and line.rstrip() not in source
        ]
    return problems


def golden_problems(example: Example) -> list[str]:
    golden = GOLDEN / f"{example.name}.txt"
    if not golden.exists():
        return [f"no golden {example.name}.txt"]
    command = example.text[0].removeprefix("$ ") if example.text else ""
    if not command.startswith("netspec "):
        return ["the text block should start with `$ netspec ...`"]
    return quote_problems(example.text, golden.read_text("utf-8").splitlines(), command)


def coverage_problems(doc: str) -> list[str]:
    """Fixtures and CLI goldens the page does not show, and anchors naming nothing."""
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
RUNS = [e for e in EXAMPLES if e.kind == "run"]


def test_every_fixture_and_cli_golden_is_documented():
    assert coverage_problems(DOC_TEXT) == []


@pytest.mark.parametrize("example", FIXTURE_EXAMPLES, ids=[e.name for e in FIXTURE_EXAMPLES])
def test_quoted_fixture_messages_match_the_goldens(example):
    assert fixture_problems(example) == []


@pytest.mark.parametrize("example", GOLDEN_EXAMPLES, ids=[e.name for e in GOLDEN_EXAMPLES])
def test_quoted_command_line_messages_match_the_goldens(example):
    assert golden_problems(example) == []


@pytest.mark.parametrize(
    "example", RUNS, ids=[e.text[0].removeprefix("$ ") if e.text else "?" for e in RUNS]
)
def test_quoted_runs_match_what_netspec_prints(example, tmp_path, monkeypatch, capsys):
    match = re.fullmatch(r"exit (\d)", example.name)
    assert match, f"<!-- run: {example.name} -->: expected `exit N`"
    assert example.text and example.text[0].startswith("$ netspec ")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps its usage line to the terminal
    if example.yaml is not None:
        (tmp_path / "net.yaml").write_text("\n".join(example.yaml) + "\n", encoding="utf-8")
    command = example.text[0].removeprefix("$ ")
    try:
        code = main(shlex.split(command)[1:])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == int(match.group(1)), err
    assert quote_problems(example.text, err.splitlines(), command) == []


# The checks above must be able to fail: each is run on a page spoilt on purpose.


def _spoil(old: str, new: str) -> str:
    assert old in DOC_TEXT
    return DOC_TEXT.replace(old, new, 1)


def test_a_missing_fixture_is_caught():
    doc = _spoil("<!-- fixture: unknown_kind -->", "")
    assert coverage_problems(doc) == ["fixture unknown_kind is not in docs/errors.md"]


def test_a_stale_message_is_caught():
    doc = _spoil('error: unknown layer kind "relux"', 'error: unknown kind "relux"')
    (example,) = [e for e in examples(doc) if e.name == "unknown_kind"]
    assert any("first error line is missing" in p for p in fixture_problems(example))
    assert any("does not print" in p for p in fixture_problems(example))


def test_a_changed_example_is_caught():
    doc = _spoil("  - relux\n  - batchnrom", "  - relu\n  - batchnrom")
    (example,) = [e for e in examples(doc) if e.name == "unknown_kind"]
    assert fixture_problems(example) == ["the fixture has no line '  - relu'"]


def test_a_stale_command_line_message_is_caught():
    doc = _spoil("error: is a directory, not a spec file", "error: is a folder")
    (example,) = [e for e in examples(doc) if e.name == "cli/directory"]
    assert golden_problems(example)


def test_a_stale_run_is_caught():
    (example,) = [e for e in RUNS if e.text and e.text[0] == "$ netspec new 'my net'"]
    printed = ["netspec new: error: 'my net' is not a name"]
    assert quote_problems(example.text, printed, "netspec new 'my net'")
