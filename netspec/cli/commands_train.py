"""``netspec train``: a spec trained on data by a recipe, into a run folder.

The options that name a recipe's keys (``--epochs``, ``--batch``, ``--lr``, ...) replace the
recipe file's values; their mistakes are the recipe's, said to come from the command line
(exit 1). The spec and the recipe are checked before torch is imported; the data, the spec
against the data and the run folder are checked by :func:`netspec.training.train` before
anything is written. Progress goes to stderr; the best epoch and the run folder to stdout.

Example::

    netspec train lenet --data digits --epochs 3 -o runs/lenet
    netspec train --resume runs/lenet          # after Ctrl-C: continues from the last epoch
    netspec train lenet --data digits --nproc 2  # two processes (torchrun, DDP)

Under torchrun (``--nproc N`` starts it; ``torchrun ... -m netspec train ...`` for many
machines), every process runs this command; rank 0 alone shows progress, writes the run and
reports, and the other ranks' errors are left to rank 0, which meets the same ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import NetspecError
from ..source import parse_value
from .commands_spec import _load
from .usage import Misuse, Terminated, _shown
from .values import _FLOAT_TEXT

#: The recipe's keys that have an option of their own (``limit_batches``: ``--limit-batches``).
RECIPE_OPTIONS = ("epochs", "batch", "lr", "seed", "amp", "limit_batches")

#: Where a run goes without ``-o``: ``runs/NAME``, or ``runs/NAME-2``, ... if that holds a run.
RUNS = Path("runs")


def _train(args: argparse.Namespace) -> int:
    overrides = recipe_overrides(args)
    _check_usage(args)
    recipe = _recipe(args, overrides)  # no torch yet
    spec = _load(args) if args.spec is not None else None
    from ..training import resume_spec
    from ..training.distributed import World

    world = World.from_env()
    if spec is None:
        spec = resume_spec(args.resume)
    # under torchrun, every process names the folder before rank 0 makes it (after DDP starts)
    folder = args.resume or args.output or _default_folder(spec, args.scale)
    if args.nproc is not None and args.nproc > 1:
        if world.group:
            raise Misuse("--nproc starts torchrun; under torchrun, leave it out")
        from .train_launch import launch_train

        return launch_train(args, recipe, folder, RECIPE_OPTIONS)
    try:
        return _run(args, recipe, spec, folder, world)
    except (NetspecError, Misuse):
        if world.lead:
            raise
        return 1  # rank 0 says why


def _run(args: argparse.Namespace, recipe: Any, spec: Any, folder: str, world: Any) -> int:
    """Train in this process (one of torchrun's, or the only one)."""
    from ..training import Silent, TextProgress, train

    if args.resume is None:
        heading = f"training {spec.title} on {args.data} into {folder}"
    else:
        heading = f"continuing {spec.title} in {folder}"
    if world.size > 1:
        heading += f" ({world.size} processes)"
    progress = _Headed(TextProgress(sys.stderr), _shown(heading)) if world.lead else Silent()
    try:
        result = train(
            spec,
            args.data,
            recipe,
            out=folder if args.resume is None else args.output,
            resume=args.resume,
            progress=progress,
            device=args.device,
            root=args.data_root,
        )
    except (KeyboardInterrupt, Terminated):
        if world.lead and (Path(folder) / "last.pt").is_file():
            again = f"netspec train --resume {folder}"
            if world.size > 1:
                again += f" --nproc {world.size}"
            print(f"\ninterrupted; continue with: {again}", file=sys.stderr)
        raise
    if world.lead:
        _report(result)
    return 0


class _Headed:
    """A progress display that says what the command does before its first line: once the
    data is read and found to fit the spec, so that an error is not preceded by it."""

    def __init__(self, shown: Any, heading: str) -> None:
        self.shown = shown
        self.heading: str | None = heading

    def note(self, text: str) -> None:
        if self.heading is not None:
            self.shown.note(self.heading)
            self.heading = None
        self.shown.note(text)

    def __getattr__(self, name: str) -> Any:  # start_epoch, step, end_epoch: as shown's
        return getattr(self.shown, name)


def recipe_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The recipe's keys given as options, their values read as YAML (``--lr 1e-3``: 0.001),
    for the recipe to check (``command line: error: "batch": must be at least 1``)."""
    found: dict[str, Any] = {}
    for key in RECIPE_OPTIONS:
        text = getattr(args, key)
        if text is None:
            continue
        flag = "--" + key.replace("_", "-")
        try:
            value = parse_value(text, flag)
        except NetspecError as e:
            raise Misuse(f"{flag} {text!r}: {e.diagnostics[0].message}") from e
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value):
            value = float(value)  # YAML 1.1 reads 1e-3 (no dot) as text
        found[key] = value
    return found


def _check_usage(args: argparse.Namespace) -> None:
    """Misuse: nothing to train, no data for a new run, or a resumed run's spec re-chosen."""
    if args.spec is None and args.resume is None:
        raise Misuse("name a SPEC to train, or --resume RUN to continue a run")
    if args.resume is None and args.data is None:
        raise Misuse(
            "--data is required: a data set's name (digits: no download), an .npz file "
            "or a folder of one folder per class"
        )
    if args.spec is None and (args.scale is not None or args.set):
        raise Misuse("--scale and --set choose a SPEC's params; a resumed run keeps its own")


def _recipe(args: argparse.Namespace, overrides: dict[str, Any]) -> Any:
    """The recipe: --recipe's file (a resumed run's own by default) with the options over it;
    None for a resumed run that changes nothing (it keeps its own)."""
    from ..training.recipe import load_recipe

    if args.resume is None:
        return load_recipe(args.recipe, overrides)
    if args.recipe is None and not overrides:
        return None
    if not (Path(args.resume) / "run.json").is_file():
        return None  # not a run: train() says so, rather than that it has no recipe.yaml
    base = args.recipe or Path(args.resume) / "recipe.yaml"
    return load_recipe(base, overrides)  # train() names what differs from the run's own


def _default_folder(spec: Any, scale: str | None) -> str:
    """``runs/NAME`` (``runs/NAME-SCALE`` with --scale), or the first ``-2``, ``-3``, ... that
    holds nothing: a new run never goes into an earlier one's folder."""
    stem = spec.name + (f"-{scale}" if scale else "")
    for n in range(1, 10_000):
        path = RUNS / (stem if n == 1 else f"{stem}-{n}")
        if not path.exists() or (path.is_dir() and not any(path.iterdir())):
            return str(path)
    raise Misuse(f"{RUNS}/ holds 9,999 runs of {stem}; name a folder with -o")


def _report(result: Any) -> None:
    """The best epoch's metrics, the memory a step took, and where the run is, on stdout."""
    from ..training.peak import memory_note

    best = result.best
    if best is not None:
        accuracies = "  ".join(
            f"{key} {100 * value:.1f} %" for key, value in best.items() if key.startswith("val_top")
        )
        print(f"best: epoch {best['epoch']}  val_loss {best['val_loss']:.4f}  {accuracies}")
    if result.peak_memory is not None:
        print(memory_note(result.predicted_memory, result.peak_memory))
    if result.folder is not None:
        folder = _shown(result.folder)
        print(f"run: {folder} (best.pt, last.pt, metrics.csv, curves.png; --resume {folder})")
