"""``netspec train --nproc N``: the checks that can fail before any process starts, then
torchrun's launcher, starting ``netspec train`` (without ``--nproc``) N times.

Example::

    netspec train lenet --data digits --nproc 2 -o runs/lenet
    # → torchrun, 2 processes of: netspec train lenet --data digits -o runs/lenet ...
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from .usage import Misuse

#: The options of ``train`` given to each process as they were given (besides the recipe's).
PASSED = ("data", "recipe", "device", "resume", "data_root", "scale")


def launch_train(args: argparse.Namespace, recipe: Any, folder: str, options: Sequence[str]) -> int:
    """Check what ``--nproc`` adds (the batch shared evenly, a resumed run's processes, a GPU
    each), then train in ``args.nproc`` processes, given the recipe's ``options`` as they
    were given; their exit code."""
    import torch

    from ..training.distributed import batch_error, check_processes, launch
    from ..training.runfolder import RunFolder

    nproc: int = args.nproc
    if args.resume is not None:
        run = RunFolder.existing(args.resume)
        check_processes(run, nproc)
        recipe = recipe or run.recipe()
    batch = recipe.resolved().batch
    if batch % nproc:
        raise batch_error(batch, nproc, "command line" if args.batch else "recipe")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    gpus = torch.cuda.device_count()
    if device.startswith("cuda") and nproc > gpus:
        raise Misuse(f"--nproc {nproc} trains on a GPU each, and this machine has {gpus}")
    return launch(nproc, worker_words(args, folder, options))


def worker_words(args: argparse.Namespace, folder: str, options: Sequence[str]) -> list[str]:
    """The command each process runs: this one's, without ``--nproc``, into ``folder``."""
    words = ["train"]
    if args.spec is not None:
        words.append(args.spec)
    for key in (*PASSED, *options):
        value = getattr(args, key)
        if value is not None:
            words += ["--" + key.replace("_", "-"), str(value)]
    if args.resume is None:
        words += ["--output", folder]
    for assignment in args.set:
        words += ["--set", assignment]
    words += ["--max-layers", str(args.max_layers)]
    for module in args.plugin:
        words += ["--plugin", module]
    if args.no_entry_points:
        words.append("--no-entry-points")
    return words
