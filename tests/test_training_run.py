"""Training end to end on digits, in seconds: the run folder, determinism, resume, errors."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys

import pytest
import torch
from training_specs import RUN_FILES

import netspec
from netspec import NetspecError
from netspec.checkpoints import Kind, read_checkpoint
from netspec.training import Recipe, TextProgress, resume_spec, train
from netspec.training.data import prepare_data
from netspec.training.progress import Silent
from netspec.training.session import Session
from tests.conftest import ROOT

#: an 8×8 classifier with what a resume must carry: batchnorm's running statistics, and
#: dropout, which draws from torch's generator at every step
SPEC = """\
name: small
input: [1, 8, 8]
output: ["${num_classes}"]
params: {num_classes: 10, width: 4}
layers:
  - conv: {out: "${width}", kernel: 3, padding: 1, bias: false}
  - batchnorm
  - relu
  - pool: {mode: max, kernel: 2}
  - flatten
  - dropout: 0.2
  - linear: ${num_classes}
"""

#: a few batches an epoch: seconds for a whole run
QUICK = {"batch": 16, "limit_batches": 3, "epochs": 2, "lr": 0.05}


def small(**params) -> netspec.Spec:
    return netspec.loads(SPEC, "small.yaml", **params)


def quick(**changes) -> Recipe:
    return Recipe(**{**QUICK, **changes})


@pytest.fixture(scope="module")
def digits():
    """The digits, split and fitted once for the module's runs."""
    return prepare_data(small(), "digits", quick())


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def measured(rows: list[dict]) -> list[dict]:
    """The rows without their timings, which differ from run to run."""
    return [{k: v for k, v in row.items() if k not in ("images_per_s", "seconds")} for row in rows]


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture
def no_curves(monkeypatch):
    """Runs that draw no curves (half a second of CPU a drawing), for the tests whose claim is
    not what a run's folder holds (test_a_run_writes_its_folder draws them)."""
    monkeypatch.setattr(Session, "_plot", lambda self: None)


def test_a_run_writes_its_folder(tmp_path, digits):
    run = tmp_path / "run"
    result = train(small(), digits, quick(), out=run, device="cpu")
    assert sorted(p.name for p in run.iterdir()) == RUN_FILES
    assert [row["epoch"] for row in result.rows] == [1, 2]
    header = (run / "metrics.csv").read_text(encoding="utf-8").splitlines()[0]
    assert (
        header == "epoch,lr,train_loss,train_top1,val_loss,val_top1,val_top5,images_per_s,seconds"
    )
    saved = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert saved["epochs"] == result.rows and saved["best"] == result.best
    assert (run / "spec.yaml").read_text(encoding="utf-8") == SPEC
    assert (
        Recipe.model_validate(json.loads((run / "run.json").read_text())["recipe"])
        == quick().resolved()
    )
    checkpoint = read_checkpoint(run / "last.pt")  # netspec's format, read as data
    assert checkpoint.kind is Kind.NETSPEC and same(checkpoint.tensors, weights(result.model))
    state = torch.load(run / "last.pt", weights_only=True)
    assert (
        state["epoch"] == 2 and state["schedule"]["step"] == 6 and state["metrics"] == result.rows
    )
    assert state["classes"] == [str(k) for k in range(10)]


def test_the_same_seed_trains_the_same_weights(digits):
    one = train(small(), digits, quick(epochs=1), device="cpu")
    two = train(small(), digits, quick(epochs=1), device="cpu")
    other = train(small(), digits, quick(epochs=1, seed=1), device="cpu")
    assert same(weights(one.model), weights(two.model))
    assert not same(weights(one.model), weights(other.model))


def test_training_leaves_the_callers_generator_as_it_was(digits):
    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    train(small(), digits, quick(epochs=1, limit_batches=1), device="cpu")
    assert torch.equal(torch.rand(3), expected)


class Interrupt(Silent):
    """Stops a run (as Ctrl-C does) at a step of an epoch."""

    def __init__(self, epoch: int, step: int) -> None:
        self.at = (epoch, step)
        self.epoch = 0

    def start_epoch(self, epoch, epochs, steps):
        self.epoch = epoch

    def step(self, step, steps, images, seconds, loss):
        if (self.epoch, step) == self.at:
            raise KeyboardInterrupt


def test_resume_after_an_interruption_mid_epoch_ends_with_the_same_weights(
    tmp_path, digits, no_curves
):
    whole = train(small(), digits, quick(), device="cpu")
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(small(), digits, quick(), out=run, device="cpu", progress=Interrupt(2, 2))
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 1  # epoch 2 unsaved
    resumed = train(small(), None, resume=run, device="cpu")
    assert same(weights(resumed.model), weights(whole.model))
    assert measured(resumed.rows) == measured(whole.rows)
    # the run's own spec, read back from its folder, is the one it was trained from
    assert resume_spec(run).document.text == SPEC


KILLED = """
import sys, netspec
from netspec.training import Recipe, train
from netspec.training.progress import Silent

class Killed(Silent):
    def start_epoch(self, epoch, epochs, steps):
        self.epoch = epoch
    def step(self, step, steps, images, seconds, loss):
        if (self.epoch, step) == (2, 2):
            print("mid-epoch", flush=True)
            sys.stdin.read()  # wait here to be killed

spec = netspec.loads(open(sys.argv[1]).read(), "small.yaml")
recipe = Recipe(batch=16, limit_batches=3, epochs=2, lr=0.05)
train(spec, "digits", recipe, out=sys.argv[2], device="cpu", progress=Killed())
"""


@pytest.mark.slow
def test_resume_after_a_kill_mid_epoch(tmp_path, no_curves):
    """A process killed (SIGKILL) in its second epoch: the run resumes from the first, and
    ends where one run without a kill does (the killed process's torch uses as many threads
    as this one, as it inherits its environment: sums are the same only then)."""
    spec_file = tmp_path / "small.yaml"
    spec_file.write_text(SPEC, encoding="utf-8")
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(spec_file), str(run)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "mid-epoch\n"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []
    spec = netspec.loads(SPEC, "small.yaml")
    resumed = train(spec, None, resume=run, device="cpu")
    whole = train(spec, "digits", quick(), device="cpu")
    assert same(weights(resumed.model), weights(whole.model))


def test_bf16_autocast_trains_on_the_cpu(digits):
    result = train(small(), digits, quick(epochs=1, amp="bf16"), device="cpu")
    row = result.rows[0]
    assert torch.isfinite(torch.tensor(row["train_loss"])) and 0 <= row["val_top1"] <= 1


@pytest.mark.parametrize(
    "changes",
    [
        {"optimizer": "adamw", "schedule": "step", "step_epochs": 1, "lr": 0.01},
        {"nesterov": True, "warmup_epochs": 1, "label_smoothing": 0.1, "normalize": False},
        {"schedule": "none", "top_k": 20, "weight_decay": 0},
    ],
)
def test_each_recipe_option_trains(changes, digits):
    recipe = quick(**changes)
    data = digits if recipe.normalize else prepare_data(small(), "digits", recipe)
    result = train(small(), data, recipe, device="cpu")
    assert len(result.rows) == 2 and all(
        torch.isfinite(torch.tensor(r["train_loss"])) for r in result.rows
    )
    assert (
        "val_top10" in result.rows[0]
        if changes.get("top_k") == 20
        else "val_top5" in result.rows[0]
    )


def test_data_loader_processes_give_the_same_run(digits):
    alone = train(small(), digits, quick(epochs=1), device="cpu")
    helped = train(small(), digits, quick(epochs=1, num_workers=1), device="cpu")
    assert same(weights(alone.model), weights(helped.model))


def test_progress_as_plain_lines(digits):
    out = io.StringIO()
    train(small(), digits, quick(limit_batches=4), device="cpu", progress=TextProgress(out))
    lines = out.getvalue().splitlines()
    assert lines[:3] == digits.describe()
    assert lines[3].startswith("memory: a training step is predicted to peak at ")
    shown = [line.split("  loss")[0] for line in lines[4:]]
    assert shown == [
        f"epoch {e}/2{step}"
        for e in (1, 2)
        for step in ("  step 1/4", "  step 2/4", "  step 3/4", "")
    ]
    assert "\r" not in out.getvalue()


def test_progress_on_a_terminal_redraws_one_line(digits):
    out = io.StringIO()
    train(small(), digits, quick(epochs=1), device="cpu", progress=TextProgress(out, tty=True))
    text = out.getvalue()
    assert "\r" in text and "img/s" in text and text.endswith("s\n")


# what cannot be run, refused before anything is written


def test_a_new_run_never_replaces_an_earlier_one(tmp_path, digits):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text("earlier", encoding="utf-8")
    with pytest.raises(NetspecError, match="the run folder is not empty"):
        train(small(), digits, quick(), out=run, device="cpu")
    assert (run / "metrics.csv").read_text(encoding="utf-8") == "earlier"


def test_resume_refuses_another_spec_or_recipe(tmp_path, digits, no_curves):
    run = tmp_path / "run"
    train(small(), digits, quick(epochs=1), out=run, device="cpu")
    with pytest.raises(NetspecError) as e:
        train(small(width=8), None, resume=run, device="cpu")
    assert str(e.value) == (
        f"{run}: error: the run was trained from another spec (or other params) than small.yaml\n"
        "hint: resume it with the spec it was trained from (its spec.yaml and run.json)"
    )
    with pytest.raises(NetspecError) as e:
        train(small(), None, quick(epochs=1, batch=8), resume=run, device="cpu")
    assert "the recipe differs from the run's own in batch" in str(e.value)
    with pytest.raises(NetspecError, match="is not a run folder"):
        train(small(), None, resume=tmp_path, device="cpu")


def test_a_finished_run_resumed_trains_no_more(tmp_path, digits, no_curves):
    run = tmp_path / "run"
    done = train(small(), digits, quick(epochs=1), out=run, device="cpu")
    again = train(small(), None, resume=run, device="cpu")
    assert again.rows == done.rows and same(weights(again.model), weights(done.model))


def test_a_spec_that_does_not_match_the_classes(tmp_path):
    with pytest.raises(NetspecError) as e:
        train(small(num_classes=3), "digits", quick(), out=tmp_path / "run", device="cpu")
    assert str(e.value).splitlines()[:2] == [
        "small.yaml:3:1: error: the spec's output scores 3 classes; digits has 10",
        "hint: --set num_classes=10",
    ]
    assert not (tmp_path / "run").exists()


def test_a_damaged_run_is_refused_by_name(tmp_path, digits, no_curves):
    run = tmp_path / "run"
    train(small(), digits, quick(epochs=1, limit_batches=1), out=run, device="cpu")
    about = json.loads((run / "run.json").read_text(encoding="utf-8"))
    (run / "run.json").write_text(json.dumps({**about, "recipe": "lost"}), encoding="utf-8")
    with pytest.raises(NetspecError) as e:
        train(small(), None, resume=run, device="cpu")
    assert str(e.value) == f"{run}/run.json: error: is damaged: it lacks the spec, data or recipe"
    (run / "run.json").write_text(json.dumps(about), encoding="utf-8")
    (run / "last.pt").write_bytes(b"cut short")
    with pytest.raises(NetspecError, match=r"last\.pt: error: cannot read the checkpoint"):
        train(small(), None, resume=run, device="cpu")


def test_a_device_that_is_not_there_writes_nothing(tmp_path, digits):
    with pytest.raises(NetspecError, match="cannot train on device 'nonsense'"):
        train(small(), digits, quick(), out=tmp_path / "run", device="nonsense")
    assert not (tmp_path / "run").exists()
