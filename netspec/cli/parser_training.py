"""The training commands' arguments: ``train`` and ``compare``, and the recipe options they
share (a recipe file, the options that set its keys, --amp)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TypeAlias

from .commands_compare import _compare, target_percent
from .commands_train import _train
from .options import add_set
from .values import _natural, _positive

if TYPE_CHECKING:
    #: the command line's subparsers (of its own parser class, parser._Parser)
    Subparsers: TypeAlias = "argparse._SubParsersAction[Any]"


def add_train(sub: Subparsers) -> None:
    train = sub.add_parser(
        "train",
        help="train a spec as a classifier on data, into a run folder (netspec-nn[train])",
        description="Train SPEC on DATA by a recipe (its file, then these options over it), "
        "writing a run folder: the spec and recipe, metrics, curves, last.pt and best.pt. "
        "Ctrl-C keeps last.pt (the last finished epoch); --resume RUN continues it. See "
        "docs/training.md.",
    )
    train.add_argument(
        "spec", metavar="SPEC", nargs="?", help="a spec file or bundled name (with --resume: none)"
    )
    train.add_argument(
        "--data",
        metavar="DATA",
        help="digits (shipped, no download), fashion-mnist, mnist or cifar10 (torchvision's "
        "download), an .npz file (x, y), or a folder of one folder per class",
    )
    _add_recipe_options(train)
    train.add_argument(
        "--device", metavar="DEVICE", help="cpu, cuda, cuda:1 (default: cuda if any)"
    )
    train.add_argument(
        "-o", "--output", metavar="RUN", help="the run folder, new or empty (default: runs/NAME)"
    )
    train.add_argument("--resume", metavar="RUN", help="continue this run from its last epoch")
    train.add_argument(
        "--nproc",
        type=_positive,
        metavar="N",
        help="train in N processes on this machine (torchrun, DDP: gloo on CPUs, NCCL on one "
        "GPU each); the batch is over all of them. Many machines: run torchrun yourself",
    )
    train.add_argument(
        "--data-root",
        metavar="FOLDER",
        help="where torchvision's data sets are kept (default: ~/.cache/netspec/datasets)",
    )
    add_set(train)
    train.set_defaults(run=_train)


def add_compare(sub: Subparsers) -> None:
    compare = sub.add_parser(
        "compare",
        help="train specs by one recipe on the same data and seeds; a table and their curves",
        description="Train each SPEC on DATA by the same recipe, once a seed, each run into "
        "DIR/LABEL/seed-S; then a table (params, MACs, best and final accuracy, epochs to "
        "--target, time, memory) printed and written to DIR as compare.md, .csv and .json, "
        "and every run's curves in DIR/curves.png and .svg. See docs/training.md.",
    )
    compare.add_argument("specs", nargs="+", metavar="SPEC", help="spec files or bundled names")
    compare.add_argument("--data", metavar="DATA", required=True, help="as train's --data")
    _add_recipe_options(compare, without="seed")  # --seeds below
    compare.add_argument(
        "--seeds",
        nargs="+",
        type=_natural,
        metavar="N",
        help="train once for each (default: the recipe's seed, 0)",
    )
    compare.add_argument(
        "--target",
        type=target_percent,
        metavar="ACC",
        help="a validation top-1 accuracy in percent: the table gives each run's first epoch there",
    )
    compare.add_argument("--device", metavar="DEVICE", help="cpu, cuda (default: cuda if any)")
    compare.add_argument(
        "-o", "--output", metavar="DIR", help="a new or empty folder (default: runs/compare)"
    )
    compare.add_argument("--data-root", metavar="FOLDER", help="as train's --data-root")
    add_set(compare)
    compare.set_defaults(run=_compare)


def _add_recipe_options(p: argparse.ArgumentParser, without: str = "") -> None:
    """--recipe, the options that set a recipe's keys (but ``without``), and --amp: what
    train and compare take alike."""
    p.add_argument("--recipe", metavar="FILE", help="a recipe file (YAML; default: defaults)")
    for key, metavar, said in _RECIPE_HELP:
        if key != without:
            p.add_argument(f"--{key.replace('_', '-')}", dest=key, metavar=metavar, help=said)
    p.add_argument("--amp", choices=("none", "bf16"), help="bf16: bfloat16 autocast")


#: The options of ``train`` that set a recipe's key: (key, metavar, help).
_RECIPE_HELP = (
    ("epochs", "N", "passes over the training data (recipe: epochs, default 10)"),
    ("batch", "N", "images per step (recipe: batch, default 64)"),
    ("lr", "X", "peak learning rate (recipe: lr, default 0.1 sgd, 0.001 adamw)"),
    ("seed", "N", "seeds weights, split, batch order and dropout (recipe: seed, default 0)"),
    ("limit_batches", "N", "at most N batches an epoch: a smoke run (recipe: limit_batches)"),
)
