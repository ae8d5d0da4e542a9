"""``train``: a spec, data and a recipe in; a trained network and a run folder out.

Everything that can fail for a reason of the user's (the recipe, the data, the spec against the
data, the run folder) fails before anything is written. With a seed, one process trains the
same weights every time (torch's deterministic algorithms, its generators seeded, forked so
that the caller's are left as they were). ``resume=RUN`` continues a run from its last finished
epoch with the state it saved, and ends with the weights an uninterrupted run would have.

Example::

    from netspec.training import train, TextProgress
    result = train(netspec.load("lenet"), "digits", Recipe(epochs=3), out="runs/lenet",
                   progress=TextProgress(sys.stderr))
    result.best["val_top1"]
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import NetspecError
from ..spec import Spec
from .data import Data, prepare_data
from .distributed import World, check_processes, in_a_group, joined
from .metrics import Row, best_row
from .peak import measured_step, memory_note, predicted_step
from .progress import Progress, Silent
from .recipe import Recipe
from .runfolder import RunFolder, spec_hash
from .session import Session, start_files


@dataclass(frozen=True)
class RunResult:
    """What a run gives back: the trained model (on its device), the metrics of every epoch,
    the best epoch's row, the data it used, the folder (None when nothing was written), the
    seconds this call trained, the peak memory of one training step predicted from the spec
    (bytes; None when not predicted) and the peak torch's allocator measured (bytes; None when
    not measured)."""

    model: nn.Module
    rows: list[Row]
    best: Row | None
    data: Data
    recipe: Recipe
    folder: Path | None
    seconds: float
    peak_memory: int | None = None
    predicted_memory: int | None = None


def train(
    spec: Spec,
    data: str | os.PathLike[str] | Data | None,
    recipe: Recipe | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    device: str | None = None,
    root: str | None = None,
) -> RunResult:
    """Train ``spec`` on ``data`` (a name, path or prepared :class:`~.data.Data`; with
    ``resume``, None reads it from the run) by ``recipe`` (the defaults where None), writing
    the run to the folder ``out`` (nothing where None), or continuing the run ``resume``.

    ``device``: "cuda" where a GPU is, else "cpu", unless given. ``root``: where torchvision's
    data sets are kept. Raises :class:`~netspec.NetspecError` for what the user can fix.
    """
    world = World.from_env()
    shown = Silent() if progress is None or not world.lead else progress
    folder, state, recipe, data = _plan(spec, data, recipe, out, resume, world)
    recipe = recipe.resolved()
    if data is None:
        raise NetspecError.plain(spec.file, "train needs data: a data set's name or a path")
    local = world.local_batch(recipe.batch, "recipe")
    if folder is None and out is not None:
        # every process checks; rank 0 makes it only after DDP's first collective, which
        # each process reaches after this check
        RunFolder.check_new(out)
    where = _device(device, spec.file, world)
    with joined(world, where):
        with world.lead_first():  # a data set is downloaded once, by rank 0
            prepared = _prepared(spec, data, recipe, root)
        for line in prepared.describe():
            shown.note(line)
        predicted = predicted_step(spec, recipe, local)
        if predicted is not None:
            shown.note(memory_note(predicted, None))
        start = time.perf_counter()
        with deterministic(recipe.seed + world.rank, where):
            session = Session(spec, prepared, recipe, where, shown, world=world)
            if state is not None:
                session.restore(state)
            if folder is None and out is not None and world.lead:  # once all else has succeeded
                folder = RunFolder.new(out)
                start_files(folder, spec, prepared, recipe, spec_hash(spec), where, root, world)
            session.folder = folder if world.lead else None
            try:
                session.run()
            finally:
                session.close()
    seconds = time.perf_counter() - start
    # rank 0 measures a step's peak once the run has left its group. In a group of the caller's,
    # which outlives the run, it does so on a GPU only: torch's profiler, run on the CPU while a
    # gloo group that has run DDP is alive, made a process abort at its exit now and then
    # ("terminate called without an active exception"), its run done
    measure = world.lead and (where.type == "cuda" or not in_a_group())
    peak = measured_step(spec, recipe, local, where) if measure else None
    return RunResult(
        model=session.model,
        rows=session.rows,
        best=best_row(session.rows),
        data=prepared,
        recipe=recipe,
        folder=folder.path if folder is not None else None,
        seconds=seconds,
        peak_memory=peak,
        predicted_memory=predicted,
    )


def _prepared(
    spec: Spec, data: str | os.PathLike[str] | Data, recipe: Recipe, root: str | None
) -> Data:
    return data if isinstance(data, Data) else prepare_data(spec, data, recipe, root=root)


def _plan(
    spec: Spec,
    data: str | os.PathLike[str] | Data | None,
    recipe: Recipe | None,
    out: str | os.PathLike[str] | None,
    resume: str | os.PathLike[str] | None,
    world: World,
) -> tuple[RunFolder | None, dict[str, Any] | None, Recipe, str | os.PathLike[str] | Data | None]:
    """The folder, saved state, recipe and data of a run: a new one's as given; a resumed
    one's from its folder, once the spec, any recipe given and the number of processes are
    checked to be its own."""
    if resume is None:
        return None, None, recipe or Recipe(), data
    if out is not None and Path(out).resolve() != Path(resume).resolve():
        raise NetspecError.plain(
            os.fspath(out), "a resumed run is written to its own folder", "leave out -o"
        )
    folder = RunFolder.existing(resume)
    about = folder.about()
    if about["spec"]["hash"] != spec_hash(spec):
        raise NetspecError.plain(
            folder.shown,
            f"the run was trained from another spec (or other params) than {spec.file}",
            "resume it with the spec it was trained from (its spec.yaml and run.json)",
        )
    saved = folder.recipe()
    if recipe is not None and recipe.resolved() != saved:
        mine, theirs = recipe.resolved().plain(), saved.plain()
        changed = ", ".join(k for k in theirs if mine[k] != theirs[k])
        raise NetspecError.plain(
            folder.shown,
            f"the recipe differs from the run's own in {changed}",
            "a resumed run keeps its recipe: leave the recipe and its options out",
        )
    check_processes(folder, world.size)
    return folder, folder.last(), saved, data if data is not None else about["data"]["source"]


def _device(device: str | None, file: str, world: World) -> torch.device:
    """The device ``device`` names (a GPU where there is one, for None), checked to be there;
    under torchrun, this process's own GPU of a run on GPUs."""
    if device is None and not torch.cuda.is_available():
        return torch.device("cpu")
    try:
        where = world.device(torch.device(device or "cuda"))
        torch.empty(0, device=where)
    except (RuntimeError, AssertionError) as e:
        message = f"cannot train on device {device!r}: {e}".splitlines()[0]
        raise NetspecError.plain(file, message, "use 'cpu' or 'cuda'") from e
    return where


@contextlib.contextmanager
def deterministic(seed: int, device: torch.device) -> Iterator[None]:
    """Seeded, deterministic torch for the block; the caller's generators and settings are
    restored after it."""
    if device.type == "cuda":
        # cuBLAS is deterministic only with a fixed workspace, set before CUDA starts (where
        # CUDA has started already, it is as the process set it)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    was = torch.are_deterministic_algorithms_enabled()
    warn = torch.is_deterministic_algorithms_warn_only_enabled()
    benchmark = torch.backends.cudnn.benchmark
    filled = torch.utils.deterministic.fill_uninitialized_memory  # type: ignore[attr-defined]
    gpus = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=gpus):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        # deterministic mode also fills every new tensor with NaN before an op writes it
        # (only an op that reads memory it did not write would see it): a pass over each
        # activation, 3-4 % of a ResNet-18 step on the CPU
        torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]
        torch.backends.cudnn.benchmark = False
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(was, warn_only=warn)
            torch.utils.deterministic.fill_uninitialized_memory = filled  # type: ignore[attr-defined]
            torch.backends.cudnn.benchmark = benchmark
