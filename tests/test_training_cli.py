"""``netspec train``: a run on digits end to end, Ctrl-C and --resume, and each mistake as a
clear error that writes nothing. Run in this process (``conftest.cli``); a few seconds each."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import torch
from conftest import cli
from training_specs import RUN_FILES, SMALL

from netspec.cli import Terminated, _parser
from netspec.cli.completion import Value, commands
from netspec.training.progress import TextProgress

SPEC = SMALL

#: one epoch of three batches
QUICK = ("--data", "digits", "--epochs", "1", "--batch", "16", "--limit-batches", "3")


@pytest.fixture
def here(tmp_path: Path) -> Path:
    """A folder holding small.yaml, where the command runs."""
    (tmp_path / "small.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def test_a_run_on_digits_writes_its_folder_and_says_what_it_did(here):
    run = cli("train", "small.yaml", *QUICK, "--lr", "5e-2", "-o", "run", cwd=here)
    assert run.code == 0, run.err
    assert sorted(p.name for p in (here / "run").iterdir()) == RUN_FILES
    err = run.err.splitlines()
    assert err[:3] == [
        "training small on digits into run",
        "digits: 1,797 images of 1×8×8, 10 classes",
        "split: 1,617 training, 180 validation (val_split 0.1, seed 0)",
    ]
    assert err[3].startswith("inputs: 1×8×8 → 1×8×8: values ÷ 16")
    predicted = r"memory: a training step is predicted to peak at (\d+\.\d\d) MiB"
    assert re.fullmatch(predicted, err[4])  # before training, from the spec alone
    assert re.fullmatch(r"epoch 1/1  loss \d\.\d{4}  val_loss .* s", err[-1])
    out = run.out.splitlines()
    assert re.fullmatch(r"best: epoch 1  val_loss \d\.\d{4}  val_top1 .* %  val_top5 .* %", out[0])
    guess = re.fullmatch(predicted, err[4]).group(1)
    measured = rf"memory: a training step peaked at [\d,]+\.\d+ MiB \(predicted {guess} MiB\)"
    assert re.fullmatch(measured, out[1])  # after, as torch's CPU allocator held it
    assert out[2:] == ["run: run (best.pt, last.pt, metrics.csv, curves.png; --resume run)"]
    recipe = (here / "run" / "recipe.yaml").read_text(encoding="utf-8")  # the options, in it
    for line in ("epochs: 1", "batch: 16", "limit_batches: 3", "lr: 0.05"):
        assert f"\n{line}\n" in recipe
    with open(here / "run" / "metrics.csv", encoding="utf-8") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1"]


def test_without_o_a_run_goes_to_runs_name_and_never_into_an_earlier_one(here):
    for folder in ("runs/small", "runs/small-2"):
        run = cli("train", "small.yaml", *QUICK, "--limit-batches", "1", cwd=here)
        assert run.code == 0, run.err
        assert run.out.splitlines()[-1].startswith(f"run: {folder} (")
        assert (here / folder / "last.pt").is_file()


def interrupting(signal: type[BaseException]):
    """A TextProgress.step that raises ``signal`` in epoch 2, at its second step."""
    step = TextProgress.step

    def interrupt(progress, at, *args):
        if (progress.epoch, at) == (2, 2):
            raise signal
        step(progress, at, *args)

    return interrupt


@pytest.mark.parametrize(("signal", "code"), [(KeyboardInterrupt, 130), (Terminated, 143)])
def test_an_interrupted_run_keeps_its_last_epoch_and_resumes(here, monkeypatch, signal, code):
    two = ("small.yaml", *QUICK, "--epochs", "2")
    with monkeypatch.context() as patched:
        patched.setattr(TextProgress, "step", interrupting(signal))
        stopped = cli("train", *two, "-o", "run", cwd=here)
    assert stopped.code == code
    assert stopped.out == ""
    assert stopped.err.splitlines()[-1] == "interrupted; continue with: netspec train --resume run"
    assert "Traceback" not in stopped.err
    assert torch.load(here / "run" / "last.pt", weights_only=True)["epoch"] == 1
    resumed = cli("train", "--resume", "run", cwd=here)
    assert resumed.code == 0, resumed.err
    assert resumed.err.splitlines()[:2] == [
        "continuing small in run",
        "digits: 1,797 images of 1×8×8, 10 classes",
    ]
    assert "resumed after epoch 1 of 2" in resumed.err.splitlines()
    assert torch.load(here / "run" / "last.pt", weights_only=True)["epoch"] == 2
    if signal is KeyboardInterrupt:  # the weights of a run never interrupted, bit for bit
        assert cli("train", *two, "-o", "whole", cwd=here).code == 0
        mine, whole = weights(here / "run" / "last.pt"), weights(here / "whole" / "last.pt")
        assert mine.keys() == whole.keys()
        assert all(torch.equal(mine[k], whole[k]) for k in mine)


def test_resume_of_a_folder_that_is_no_run(here):
    (here / "run").mkdir()
    for options in ((), ("--epochs", "3")):
        run = cli("train", "--resume", "run", *options, cwd=here)
        assert (run.code, run.out) == (1, "")
        assert run.err == (
            "run: error: is not a run folder (it has no run.json)\n"
            "hint: name the folder netspec train wrote (its -o)\n"
        )


def test_resume_refuses_a_changed_recipe(here):
    assert cli("train", "small.yaml", *QUICK, "-o", "run", cwd=here).code == 0
    run = cli("train", "--resume", "run", "--epochs", "3", cwd=here)
    assert (run.code, run.out) == (1, "")
    assert run.err == (
        "run: error: the recipe differs from the run's own in epochs\n"
        "hint: a resumed run keeps its recipe: leave the recipe and its options out\n"
    )


def nothing_written(here: Path) -> bool:
    """Only what the test wrote: no run folder, not even an empty one."""
    return {p.name for p in here.iterdir()} <= {"small.yaml", "recipe.yaml"}


def test_a_recipe_mistake_is_named_at_its_line(here):
    (here / "recipe.yaml").write_text("epochs: 2\noptimzer: adamw\n", encoding="utf-8")
    run = cli("train", "small.yaml", "--data", "digits", "--recipe", "recipe.yaml", cwd=here)
    assert (run.code, run.out) == (1, "")
    assert run.err.splitlines()[0] == 'recipe.yaml:2:1: error: unknown key "optimzer"'
    assert run.err.splitlines()[1].startswith('hint: did you mean "optimizer"? valid keys: ')
    assert run.err.splitlines()[2:] == ["     2 | optimzer: adamw", "       | ^"]
    assert nothing_written(here)


@pytest.mark.parametrize(
    ("option", "error"),
    [
        (("--batch", "0"), 'command line: error: "batch": must be at least 1, got 0 (integer)'),
        (
            ("--epochs", "two"),
            "command line: error: \"epochs\": expected an integer, got 'two' (string)",
        ),
        (
            ("--lr=-1e-3",),
            'command line: error: "lr": must be greater than 0.0, got -0.001 (number)',
        ),
    ],
)
def test_an_options_mistake_is_the_recipes_from_the_command_line(here, option, error):
    (here / "recipe.yaml").write_text("batch: 8\n", encoding="utf-8")
    run = cli(
        "train", "small.yaml", "--data", "digits", "--recipe", "recipe.yaml", *option, cwd=here
    )
    assert (run.code, run.out, run.err.splitlines()[0]) == (1, "", error)
    assert nothing_written(here)


def test_a_missing_data_folder_writes_nothing(here):
    run = cli("train", "small.yaml", "--data", "pictures/", "-o", "run", cwd=here)
    assert (run.code, run.out) == (1, "")
    assert run.err.splitlines() == [
        "pictures/: error: no such file or folder, and no data set of that name",
        "hint: valid data set names: cifar10, digits, fashion-mnist, mnist; or name an image "
        "folder (one folder per class) or an .npz file",
    ]
    assert nothing_written(here)


def test_a_spec_whose_output_does_not_match_the_classes(here):
    run = cli("train", "small.yaml", *QUICK, "--set", "num_classes=3", "-o", "run", cwd=here)
    assert (run.code, run.out) == (1, "")
    assert run.err.splitlines() == [
        "small.yaml:3:1: error: the spec's output scores 3 classes; digits has 10",
        "hint: --set num_classes=10",
        '     3 | output: ["${num_classes}"]',
        "       | ^",
    ]
    assert nothing_written(here)


@pytest.mark.parametrize(
    ("words", "error"),
    [
        (
            ("small.yaml",),
            "--data is required: a data set's name (digits: no download), an "
            ".npz file or a folder of one folder per class",
        ),
        (("--data", "digits"), "name a SPEC to train, or --resume RUN to continue a run"),
        (
            ("--resume", "run", "--set", "num_classes=3"),
            "--scale and --set choose a SPEC's params; a resumed run keeps its own",
        ),
        (("small.yaml", "--data", "digits", "--lr", "[1"), "--lr '[1': "),
    ],
)
def test_misuse_exits_2(here, words, error):
    run = cli("train", *words, cwd=here)
    assert (run.code, run.out) == (2, "")
    assert run.err.startswith(f"netspec train: error: {error}")
    assert nothing_written(here)


def test_train_and_its_options_are_completed():
    train = {c.name: c for c in commands(_parser())}["train"]
    assert train.positional is Value.SPEC
    values = {flag: option for option in train.options for flag in option.flags}
    for flag in ("--data", "--recipe", "-o", "--resume", "--data-root"):
        assert values[flag].value is Value.FILE, flag
    assert values["--amp"].choices == ("none", "bf16")
    assert values["--scale"].value is Value.SCALE
