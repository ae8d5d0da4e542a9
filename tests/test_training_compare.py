"""``netspec compare`` and :func:`netspec.training.compare`: two small specs on digits, one
epoch of a few batches each (seconds); the table's values taken from the runs, the files it
writes, and each mistake a clear error that writes nothing."""

from __future__ import annotations

import csv
import json
import re
import shlex
from pathlib import Path

import pytest
from conftest import ROOT, cli
from training_specs import SMALL

import netspec
from netspec import NetspecError
from netspec.cli import _parser
from netspec.cli.completion import Value, commands
from netspec.training import Recipe, compare
from netspec.training.comparison import distinct_labels
from netspec.training.comparison_text import CSV_COLUMNS, report_markdown
from netspec.training.session import Session

#: the small spec named NAME, with ACTIVATION (relu or sigmoid) after its conv
SPEC = SMALL.replace("name: small", "name: NAME").replace("  - relu\n", "  - ACTIVATION\n")

#: one epoch of two batches a run
QUICK = {"epochs": 1, "batch": 16, "limit_batches": 2, "lr": 0.05}
QUICK_OPTIONS = ("--data", "digits", "--epochs", "1", "--batch", "16", "--limit-batches", "2")


def small(name: str = "small", activation: str = "relu") -> str:
    return SPEC.replace("NAME", name).replace("ACTIVATION", activation)


@pytest.fixture
def here(tmp_path: Path) -> Path:
    """A folder holding relu.yaml and sigmoid.yaml, both named "small", where commands run."""
    for activation in ("relu", "sigmoid"):
        (tmp_path / f"{activation}.yaml").write_text(small("small", activation), encoding="utf-8")
    return tmp_path


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """Two specs of different names, two seeds each, a target low enough to be reached. Each
    run draws no curves of its own (half a second of CPU a drawing; the command's test below
    draws them): the comparison's plot is drawn."""
    out = tmp_path_factory.mktemp("compared") / "cmp"
    specs = [netspec.loads(small("wide"), "wide.yaml"), netspec.loads(small("flat"), "flat.yaml")]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Session, "_plot", lambda self: None)
        found = compare(
            specs, "digits", Recipe(**QUICK), seeds=(3, 1), target=0.01, out=out, device="cpu"
        )
    return found, out


def test_the_table_holds_each_specs_numbers_from_its_runs(compared):
    found, _ = compared
    assert found.seeds == (3, 1)
    table = found.table()
    assert [row["label"] for row in table] == ["wide", "flat"]
    for row, contender in zip(table, found.contenders, strict=True):
        spec, runs = contender.spec, contender.runs
        assert len(runs) == 2
        assert [run.recipe.seed for run in runs] == [3, 1]
        assert (row["params"], row["macs"]) == (spec.num_params, spec.macs)
        best = [max(r["val_top1"] for r in run.rows) for run in runs]
        assert row["best_top1_mean"] == pytest.approx(sum(best) / 2)
        assert (row["best_top1_min"], row["best_top1_max"]) == (min(best), max(best))
        assert row["best_top1_std"] == pytest.approx(abs(best[0] - best[1]) / 2**0.5)
        assert row["final_top1_mean"] == pytest.approx(
            sum(r.rows[-1]["val_top1"] for r in runs) / 2
        )
        assert row["seconds_mean"] == pytest.approx(sum(run.seconds for run in runs) / 2)
        reached = [1 if run.rows[0]["val_top1"] >= 0.01 else None for run in runs]
        assert row["epochs_to_target"] == reached
        assert row["reached"] == sum(e is not None for e in reached)
        assert row["peak_memory"] == max(
            (run.peak_memory for run in runs if run.peak_memory is not None), default=None
        )


def test_the_folder_holds_every_run_the_table_and_the_curves(compared):
    found, out = compared
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["compare.csv", "compare.json", "compare.md", "curves.png", "curves.svg", "flat", "wide"]
    )
    for label in ("wide", "flat"):
        assert sorted(p.name for p in (out / label).iterdir()) == ["seed-1", "seed-3"]
        assert (out / label / "seed-3" / "best.pt").is_file()
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    svg = (out / "curves.svg").read_text(encoding="utf-8")
    for run in found.curves():  # every run in the one plot's legend
        assert f">{run}<" in svg
    with open(out / "compare.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(CSV_COLUMNS)
    table = found.table()
    for row, expected in zip(rows, table, strict=True):
        assert row["label"] == expected["label"]
        assert float(row["best_top1_mean"]) == pytest.approx(expected["best_top1_mean"])
        assert int(row["params"]) == expected["params"]
    about = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert (about["format"], about["data"], about["seeds"]) == (
        "netspec-compare/1",
        "digits",
        [3, 1],
    )
    assert "seed" not in about["recipe"]
    wide = about["specs"][0]
    assert [run["seed"] for run in wide["runs"]] == [3, 1]
    assert wide["runs"][0]["folder"] == str(Path("wide", "seed-3"))
    assert wide["runs"][0]["val_top1"] == [r["val_top1"] for r in found.contenders[0].runs[0].rows]
    markdown = (out / "compare.md").read_text(encoding="utf-8")
    assert markdown == report_markdown(table, 0.01, 2)


def test_the_markdown_table_shows_mean_spread_epochs_and_unknowns():
    row = {
        "label": "a|b",
        "params": 61706,
        "macs": 416520,
        "best_top1_mean": 0.975,
        "best_top1_std": 0.0125,
        "final_top1_mean": 0.9,
        "final_top1_std": None,
        "epochs_to_target": [3, None],
        "seconds_mean": 12.34,
        "peak_memory": 2_500_000,
        "predicted_memory": None,
    }
    lines = report_markdown([row], 0.95, 2).splitlines()
    assert lines[0] == (
        "| spec | params | MACs | best top-1 | final top-1 | epochs to 95 % | time a run "
        "| peak memory | predicted |"
    )
    assert lines[2] == (
        "| a\\|b | 61,706 | 417 k | 97.5 ± 1.2 % | 90.0 % | 3, — | 12.3 s | 2.5 MB | — |"
    )
    assert "epochs to" not in report_markdown([row], None, 2).splitlines()[0]


def test_specs_of_one_name_get_distinct_labels():
    specs = [
        netspec.loads(small(name), f"{i}.yaml") for i, name in enumerate(["a", "a", "a-1", "b"])
    ]
    assert distinct_labels(specs) == ["a-2", "a-3", "a-1", "b"]


def test_the_command_trains_both_and_prints_the_table(here):
    run = cli(
        "compare",
        "relu.yaml",
        "sigmoid.yaml",
        *QUICK_OPTIONS,
        "--target",
        "5",
        "-o",
        "cmp",
        cwd=here,
    )
    assert run.code == 0, run.err
    err = run.err.splitlines()
    assert err[:2] == ["comparing small, small on digits into cmp", "[1/2] small-1, seed 0"]
    assert "[2/2] small-2, seed 0" in err
    out = run.out.splitlines()
    assert out[0].startswith("| spec | params | MACs | best top-1 | final top-1 | epochs to 5 % |")
    assert [line.split(" | ")[0] for line in out[2:4]] == ["| small-1", "| small-2"]
    assert out[-1] == "comparison: cmp (compare.md, compare.csv, compare.json, curves.png)"
    assert (here / "cmp" / "compare.md").read_text(encoding="utf-8") == "\n".join(out[:-2]) + "\n"
    spec = (here / "cmp" / "small-2" / "seed-0" / "spec.yaml").read_text(encoding="utf-8")
    assert "sigmoid" in spec


def nothing_written(here: Path) -> bool:
    return sorted(p.name for p in here.iterdir()) == ["relu.yaml", "sigmoid.yaml"]


def test_a_spec_that_does_not_check_is_its_positioned_error(here):
    (here / "bad.yaml").write_text("name: bad\ninput: [1, 8, 8]\nlayers:\n  - linear: 10\n")
    run = cli("compare", "relu.yaml", "bad.yaml", *QUICK_OPTIONS, cwd=here)
    assert (run.code, run.out) == (1, "")
    assert run.err.splitlines()[:2] == [
        "bad.yaml:4:5: error: linear needs a flat (features,) input, got (1, 8, 8)",
        'hint: add "- flatten" before this layer',
    ]
    assert not (here / "runs").exists()


def test_a_spec_that_does_not_fit_the_data_writes_nothing(here):
    (here / "three.yaml").write_text(small("three").replace("num_classes: 10", "num_classes: 3"))
    run = cli("compare", "relu.yaml", "three.yaml", *QUICK_OPTIONS, "-o", "cmp", cwd=here)
    assert (run.code, run.out) == (1, "")
    assert run.err.startswith(
        "three.yaml:3:1: error: the spec's output scores 3 classes; digits has 10"
    )
    assert not (here / "cmp").exists()


def test_a_folder_that_holds_anything_is_refused(here):
    (here / "cmp").mkdir()
    (here / "cmp" / "notes.txt").write_text("mine")
    run = cli("compare", "relu.yaml", *QUICK_OPTIONS, "-o", "cmp", cwd=here)
    assert (run.code, run.out) == (1, "")
    assert run.err.splitlines() == [
        "cmp: error: the folder is not empty (an earlier comparison?)",
        "hint: choose a new folder with -o",
    ]
    assert [p.name for p in (here / "cmp").iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("words", "error"),
    [
        (("relu.yaml", "--data", "digits", "--seeds", "1", "1"), "--seeds: 1 is given twice"),
        (
            ("relu.yaml", "--data", "digits", "--target", "120"),
            "argument --target: expected a percentage",
        ),
        (
            ("relu.yaml", "--data", "digits", "--seeds", "-1"),
            "argument --seeds: expected a whole number",
        ),
        (("relu.yaml",), "the following arguments are required: --data"),
        (("--data", "digits"), "the following arguments are required: SPEC"),
        (("relu.yaml", "--data", "digits", "--epochs", "0"), None),
    ],
)
def test_misuse_writes_nothing(here, words, error):
    run = cli("compare", *words, cwd=here)
    if error is None:  # a recipe value: the recipe's error, from the command line
        assert (run.code, run.err.splitlines()[0]) == (
            1,
            'command line: error: "epochs": must be at least 1, got 0 (integer)',
        )
    else:
        assert run.code == 2
        assert f"netspec compare: error: {error}" in run.err
    assert nothing_written(here)


def test_the_library_refuses_what_the_command_cannot_give(tmp_path):
    spec = netspec.loads(small(), "small.yaml")
    with pytest.raises(NetspecError, match="nothing to compare"):
        compare([], "digits")
    with pytest.raises(NetspecError, match="seed 2 is given twice"):
        compare([spec], "digits", seeds=[2, 0, 2])
    with pytest.raises(NetspecError, match="the target accuracy must be above 0 and at most 1"):
        compare([spec], "digits", target=95)


def test_compare_and_its_options_are_completed():
    compare_command = {c.name: c for c in commands(_parser())}["compare"]
    assert compare_command.positional is Value.SPEC
    values = {flag: option for option in compare_command.options for flag in option.flags}
    for flag in ("--data", "--recipe", "-o", "--data-root"):
        assert values[flag].value is Value.FILE, flag


def test_the_experiments_spec_checks_and_the_docs_command_parses():
    """docs/experiments.md's command: its specs check, and the command line parses."""
    text = (ROOT / "docs" / "experiments.md").read_text(encoding="utf-8")
    commands_shown = re.findall(r"^netspec compare .*$", text, flags=re.MULTILINE)
    assert commands_shown
    for line in commands_shown:
        words = shlex.split(line)[1:]
        args = _parser().parse_args(words)
        assert args.command == "compare"
        for name in args.specs:
            netspec.load(ROOT / name)
