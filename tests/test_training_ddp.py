"""Training in several processes (issue 23): ``netspec train --nproc 2`` (gloo, on the CPU)
trains as one process does, writes its run from rank 0 alone, resumes under DDP, and refuses
what it cannot do (a bad --nproc, a batch the processes cannot share, a run resumed in another
number of processes) before any process starts.

The runs of two processes are processes of their own (torchrun's): about 20 s each on a loaded
two-core machine, most of it importing torch; they are marked slow. Their launcher, torchrun's
agent, runs in the test's process (``--nproc`` through conftest.cli, and torchrun's own main),
which has imported torch already: a launcher process of its own imported it again, about 3 s of
CPU a run; the processes it starts write to this process's stdout and stderr (read by capfd)."""

from __future__ import annotations

import csv
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from conftest import Run, cli
from training_specs import SMALL

import netspec
from netspec.cli import _parser
from netspec.cli.commands_train import RECIPE_OPTIONS
from netspec.cli.train_launch import worker_words
from netspec.training import Recipe, train
from netspec.training.distributed import World

SPEC = SMALL

#: two epochs of four global batches of 16 (8 a process)
QUICK = ("--data", "digits", "--epochs", "2", "--batch", "16", "--limit-batches", "4")

#: Two processes sum their half batches' gradients in another order than one process sums the
#: whole batch's: the losses agree to float32's rounding, not bit for bit.
TOLERANCE = 1e-5


@pytest.fixture
def here(tmp_path: Path) -> Path:
    (tmp_path / "small.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path


#: the signals torchrun's agent handles (it stops its processes), for its own process's life
AGENT_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


@pytest.fixture
def launcher() -> Iterator[None]:
    """torchrun's agent may run in this process: the signal handlers and the variables it sets
    (OMP_NUM_THREADS where none is, the signals it handles) are as they were after the test."""
    handlers = {sig: signal.getsignal(sig) for sig in AGENT_SIGNALS}
    environ = dict(os.environ)
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    os.environ.clear()
    os.environ.update(environ)


def launched(capfd: pytest.CaptureFixture[str], *words: str, cwd: Path) -> Run:
    """``netspec WORDS`` (with ``--nproc``), its launcher in this process: its exit code, and
    what its processes and it wrote, each stream in the order written."""
    capfd.readouterr()
    run = cli(*words, cwd=cwd)
    written = capfd.readouterr()
    return Run(run.code, run.out + written.out, run.err + written.err)


def rows(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_two_processes_train_as_one_and_only_rank_0_writes(here, launcher, capfd):
    two = launched(capfd, "train", "small.yaml", *QUICK, "--nproc", "2", "-o", "two", cwd=here)
    assert two.code == 0, two.err
    one = cli("train", "small.yaml", *QUICK, "-o", "one", cwd=here)
    assert one.code == 0, one.err
    for a, b in zip(rows(here / "one"), rows(here / "two"), strict=True):
        for key in ("train_loss", "val_loss", "train_top1", "val_top1", "lr"):
            assert float(b[key]) == pytest.approx(float(a[key]), rel=TOLERANCE), key
    weights = [torch.load(here / run / "last.pt", weights_only=True) for run in ("one", "two")]
    for key, value in weights[0]["state_dict"].items():
        torch.testing.assert_close(weights[1]["state_dict"][key], value, rtol=1e-4, atol=1e-6)
    # rank 0 alone speaks and writes: one heading, one report, the files of one run
    assert two.err.splitlines()[0] == "training small on digits into two (2 processes)"
    assert two.err.count("digits: 1,797 images") == 1
    assert two.err.count("memory: a training step is predicted") == 1
    out = two.out.splitlines()
    assert out[1].startswith("memory: a training step peaked at ")  # rank 0's share of a step
    assert out[2:] == ["run: two (best.pt, last.pt, metrics.csv, curves.png; --resume two)"]
    assert sorted(p.name for p in (here / "two").iterdir()) == sorted(
        p.name for p in (here / "one").iterdir()
    )
    assert sorted(p.name for p in here.iterdir()) == ["one", "small.yaml", "two"]
    assert json.loads((here / "two" / "run.json").read_text())["processes"] == 2
    # every process's generators are kept, rank 0's in the usual place
    assert len(weights[1]["rng"]["ranks"]) == 2
    assert torch.equal(weights[1]["rng"]["cpu"], weights[1]["rng"]["ranks"][0]["cpu"])


#: Under torchrun, in one process group: a run, the same run stopped at its second epoch's
#: start (KeyboardInterrupt in every process), and that run resumed. With dropout and
#: batchnorm, which a resume must carry for each process (its own dropout generator). The runs
#: draw no curves (covered by the command's run above): 3 drawings, 2 s of CPU, in rank 0.
RESUMED = """
import sys
import torch
import torch.distributed as dist
import netspec
import netspec.training.session as session
from netspec.training import Recipe, train

session.Session._plot = lambda self: None

dist.init_process_group("gloo")
spec = netspec.loads(open(sys.argv[1]).read(), "small.yaml")
recipe = Recipe(batch=16, limit_batches=3, epochs=2, lr=0.05)
whole = train(spec, "digits", recipe, out=sys.argv[2] + "/whole", device="cpu")
epoch = session.train_epoch

def stopped(model, batches, optimizer, run, first_step, progress):
    if first_step > 0:
        raise KeyboardInterrupt
    return epoch(model, batches, optimizer, run, first_step, progress)

session.train_epoch = stopped
try:
    train(spec, "digits", recipe, out=sys.argv[2] + "/cut", device="cpu")
except KeyboardInterrupt:
    dist.barrier()  # rank 0 has written the first epoch's last.pt
    cut = torch.load(sys.argv[2] + "/cut/last.pt", weights_only=True)["epoch"]
    print(f"cut: rank {dist.get_rank()} after epoch {cut}")
session.train_epoch = epoch
resumed = train(spec, None, resume=sys.argv[2] + "/cut", device="cpu")
a, b = whole.model.state_dict(), resumed.model.state_dict()
same = all(torch.equal(a[k], b[k]) for k in a)
# parameters: batchnorm's running statistics are each process's own (DDP broadcasts rank 0's
# at each forward, and each process then updates its copy)
total = sum(float(p.detach().double().sum()) for p in whole.model.parameters())
print(f"rank {dist.get_rank()}: {'same' if same else 'different'} {total:.6f}")
print(f"peaks: rank {dist.get_rank()} {whole.peak_memory} {resumed.peak_memory}")
dist.destroy_process_group()
"""

DROPOUT_SPEC = SPEC.replace("  - flatten\n", "  - batchnorm\n  - flatten\n  - dropout: 0.3\n")


@pytest.mark.slow
def test_a_run_resumed_under_ddp_ends_as_one_without_a_stop(here, launcher, capfd, monkeypatch):
    from torch.distributed.run import main as torchrun

    (here / "small.yaml").write_text(DROPOUT_SPEC, encoding="utf-8")
    (here / "resumed.py").write_text(RESUMED, encoding="utf-8")
    monkeypatch.chdir(here)
    capfd.readouterr()
    torchrun(["--standalone", "--nproc-per-node", "2", "resumed.py", "small.yaml", "runs"])
    done = capfd.readouterr()  # torchrun raises where a process fails (its error and output)
    lines = sorted(line for line in done.out.splitlines() if line.startswith("rank"))
    assert [line.split()[:3] for line in lines] == [["rank", "0:", "same"], ["rank", "1:", "same"]]
    assert lines[0].split()[3] == lines[1].split()[3]  # DDP: the same parameters in each
    assert "cut: rank 0 after epoch 1" in done.out.splitlines()
    # in a group of the script's own, which outlives each run, no profiler runs on the CPU
    # (docs/training.md): a peak is measured only where the run leaves its group first
    assert {"peaks: rank 0 None None", "peaks: rank 1 None None"} <= set(done.out.splitlines())


@pytest.mark.slow
def test_an_error_in_the_processes_is_said_once_and_is_the_commands_exit(here, launcher, capfd):
    """Every process meets a missing data folder; rank 0 alone says so, and the command exits
    as it did (1), with nothing written."""
    done = launched(capfd, "train", "small.yaml", "--data", "nosuch", "--nproc", "2", cwd=here)
    assert (done.code, done.out) == (1, "")
    assert done.err.count("error:") == 1 and "nosuch" in done.err, done.err
    assert "Traceback" not in done.err
    assert sorted(p.name for p in here.iterdir()) == ["small.yaml"]


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_nproc_must_be_a_positive_number(here, value):
    run = cli("train", "small.yaml", *QUICK, "--nproc", value, cwd=here)
    assert (run.code, run.out) == (2, "")
    assert run.err.splitlines()[-1] == (
        f"netspec train: error: argument --nproc: expected a positive integer, got '{value}'"
    )
    assert sorted(p.name for p in here.iterdir()) == ["small.yaml"]


def test_a_batch_the_processes_cannot_share_is_refused_before_they_start(here):
    run = cli("train", "small.yaml", *QUICK[:4], "--batch", "15", "--nproc", "2", cwd=here)
    assert (run.code, run.out) == (1, "")
    assert run.err == (
        "command line: error: the batch (15) is the global batch, over the 2 processes "
        "together, and 2 processes cannot share it evenly\n"
        "hint: make the batch a multiple of 2, e.g. --batch 14\n"
    )
    assert sorted(p.name for p in here.iterdir()) == ["small.yaml"]


def test_a_run_resumes_only_in_as_many_processes_as_it_ran_in(here):
    assert cli("train", "small.yaml", *QUICK, "-o", "run", cwd=here).code == 0
    before = (here / "run" / "last.pt").read_bytes()
    run = cli("train", "--resume", "run", "--nproc", "2", cwd=here)
    assert (run.code, run.out) == (1, "")
    assert run.err == (
        "run: error: the run was trained by 1 process, not 2 processes\n"
        "hint: resume it as it ran: --nproc 1 (or torchrun's --nproc-per-node and --nnodes, "
        "1 process in all)\n"
    )
    about = json.loads((here / "run" / "run.json").read_text())
    (here / "run" / "run.json").write_text(json.dumps({**about, "processes": 2}))
    run = cli("train", "--resume", "run", cwd=here)
    assert run.err.startswith("run: error: the run was trained by 2 processes, not 1 process\n")
    assert (here / "run" / "last.pt").read_bytes() == before


def test_nproc_on_gpus_needs_one_each(here, monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    run = cli("train", "small.yaml", *QUICK, "--device", "cuda", "--nproc", "2", cwd=here)
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        "netspec train: error: --nproc 2 trains on a GPU each, and this machine has 1\n"
    )


def test_the_batch_is_checked_in_each_process_too(monkeypatch, tmp_path):
    """Under torchrun (started by hand), the API refuses the batch before reading data."""
    for key, value in {"RANK": "0", "WORLD_SIZE": "3", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(key, value)
    spec = netspec.loads(SPEC, "small.yaml")
    with pytest.raises(netspec.NetspecError, match=r"the batch \(16\) .* 3 processes"):
        train(spec, "digits", Recipe(batch=16), out=tmp_path / "run", device="cpu")
    assert not (tmp_path / "run").exists()


def test_world_from_torchruns_variables():
    assert World.from_env({}) == World()
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}
    world = World.from_env(env)
    assert (world.rank, world.size, world.local_rank, world.group, world.lead) == (
        3,
        4,
        1,
        True,
        False,
    )
    assert world.device(torch.device("cuda")) == torch.device("cuda", 1)
    assert world.device(torch.device("cpu")) == torch.device("cpu")
    assert world.local_batch(64, "recipe") == 16
    with pytest.raises(netspec.NetspecError, match="4 processes cannot share it evenly"):
        world.local_batch(66, "recipe")


def test_each_process_runs_the_command_without_nproc_into_one_folder():
    words = ["train", "small.yaml", "--data", "digits", "--lr", "5e-2", "--nproc", "2"]
    words += ["--set", "num_classes=10", "--amp", "bf16", "--limit-batches", "3"]
    args = _parser().parse_args(words)
    assert worker_words(args, "runs/small", RECIPE_OPTIONS) == [
        "train",
        "small.yaml",
        "--data",
        "digits",
        "--lr",
        "5e-2",
        "--amp",
        "bf16",
        "--limit-batches",
        "3",
        "--output",
        "runs/small",
        "--set",
        "num_classes=10",
        "--max-layers",
        str(args.max_layers),
    ]
    again = _parser().parse_args(worker_words(args, "runs/small", RECIPE_OPTIONS))
    assert (again.nproc, again.output, again.lr) == (None, "runs/small", "5e-2")
