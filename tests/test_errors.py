"""Every error a user can cause, by its exact text: golden files hold the messages.

Fixtures in ``fixtures/errors`` and ``fixtures/seed_mistakes`` (the seed document's mistakes,
written as specs) must each fail ``netspec check`` with exit 1, the golden message, and no
traceback. Regenerate with ``pytest --update-golden`` and review the diff.
"""

from __future__ import annotations

import re

import pytest
from conftest import FIXTURES, ROOT

from netspec.cli import main

CASES = sorted(
    p.relative_to(FIXTURES)
    for d in ("errors", "seed_mistakes")
    for p in (FIXTURES / d).glob("*.yaml")
)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_error_message(case, golden, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = main(["check", str((FIXTURES / case).relative_to(ROOT))])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    assert re.match(r"^tests/fixtures/\S+\.yaml(:\d+:\d+)?: error: ", err), err
    golden(f"{case.with_suffix('.txt')}", err)


EXPECTED_LINES = {
    # seed mistake → (line, column) of the first error, as a person would point at it
    "alexnet_no_flatten": (18, 5),  # the first linear after the last pool
    "vgg_padding_2": (25, 23),  # the flatten's expect: [25088]
    "nin_pool_arguments": (24, 34),  # return_indices
    "nin_not_global": (4, 9),  # output: [10]
    "googlenet_mxnet_api": (7, 29),  # the first kernel_size
    "googlenet_no_padding": (10, 9),  # branch p2
    "resnet_identity_width": (9, 9),  # the residual inside the block
}


@pytest.mark.parametrize("name", sorted(EXPECTED_LINES))
def test_seed_mistakes_point_at_the_right_place(name, capsys):
    assert main(["check", str(FIXTURES / "seed_mistakes" / f"{name}.yaml")]) == 1
    first = capsys.readouterr().err.splitlines()[0]
    line, col = EXPECTED_LINES[name]
    assert f".yaml:{line}:{col}: error:" in first


def test_every_seed_mistake_fixture_has_an_expected_position():
    assert {p.stem for p in (FIXTURES / "seed_mistakes").glob("*.yaml")} == set(EXPECTED_LINES)


def test_errors_are_reported_in_line_order(capsys):
    main(["check", str(FIXTURES / "errors" / "wrong_type.yaml")])
    lines = [
        int(m.group(1)) for m in re.finditer(r"\.yaml:(\d+):\d+: error", capsys.readouterr().err)
    ]
    assert len(lines) == 4
    assert lines == sorted(lines)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("set_unknown", ["check", "lenet", "--set", "num_clases=3"]),
        ("set_type", ["check", "nin", "--set", "num_classes=0.5"]),
        ("missing_file", ["check", "specs/no_such.yaml"]),
        ("directory", ["check", "specs"]),
    ],
)
def test_command_line_errors(name, args, golden, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    golden(f"cli/{name}.txt", err)
