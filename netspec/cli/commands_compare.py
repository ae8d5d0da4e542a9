"""``netspec compare``: several specs trained by one recipe on the same data and seeds, and
their table and curves side by side.

The specs and the recipe are checked before torch is imported (every spec's errors shown, then
exit 1); the data against each spec and the folder are checked by
:func:`netspec.training.compare` before anything is written. Progress goes to stderr; the table
(Markdown) and the folder to stdout.

Example::

    netspec compare lenet alt.yaml --data digits --epochs 20 --seeds 0 1 2 --target 95 -o cmp
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import NetspecError
from .commands_spec import _warn
from .commands_train import _Headed, recipe_overrides
from .usage import Misuse, _shown
from .values import parse_sets

#: Where a comparison goes without ``-o``: ``runs/compare``, or ``runs/compare-2``, ...
DEFAULT_STEM = Path("runs") / "compare"


def _compare(args: argparse.Namespace) -> int:
    from ..training.recipe import load_recipe

    args.seed = None  # the seeds are --seeds'; recipe_overrides reads every recipe option
    overrides = recipe_overrides(args)
    seeds = _seeds(args.seeds)
    target = None if args.target is None else args.target / 100
    recipe = load_recipe(args.recipe, overrides)  # no torch yet
    specs = _load_all(args)
    from ..training import TextProgress, compare

    folder = args.output or _default_folder()
    names = ", ".join(spec.name for spec in specs)
    heading = f"comparing {names} on {args.data} into {folder}"
    progress = _Headed(TextProgress(sys.stderr), _shown(heading))
    found = compare(
        specs,
        args.data,
        recipe,
        seeds=seeds,
        target=target,
        out=folder,
        progress=progress,
        device=args.device,
        root=args.data_root,
    )
    from ..training.comparison_text import report_markdown

    print(report_markdown(found.table(), found.target, len(found.seeds)), end="")
    print(f"\ncomparison: {_shown(folder)} (compare.md, compare.csv, compare.json, curves.png)")
    return 0


def _load_all(args: argparse.Namespace) -> list[Any]:
    """Every spec, checked; the errors of all that fail raised together."""
    from ..spec import load

    sets = parse_sets(args.set)
    specs, errors = [], []
    for name in args.specs:
        try:
            spec = load(name, max_layers=args.max_layers, scale=args.scale, **sets)
        except NetspecError as e:
            errors += e.diagnostics
            continue
        _warn(spec)
        specs.append(spec)
    if errors:
        raise NetspecError(errors)
    return specs


def _seeds(seeds: list[int] | None) -> list[int] | None:
    if seeds is not None:
        twice = sorted({s for s in seeds if seeds.count(s) > 1})
        if twice:
            raise Misuse(f"--seeds: {twice[0]} is given twice; each seed once")
    return seeds


def _default_folder() -> str:
    """``runs/compare``, or the first ``-2``, ``-3``, ... that holds nothing."""
    for n in range(1, 10_000):
        path = Path(f"{DEFAULT_STEM}-{n}") if n > 1 else DEFAULT_STEM
        if not path.exists() or (path.is_dir() and not any(path.iterdir())):
            return str(path)
    raise Misuse(f"{DEFAULT_STEM.parent}/ holds 9,999 comparisons; name a folder with -o")


def target_percent(text: str) -> float:
    """An argparse type: an accuracy in percent, above 0 and at most 100 (``95``, ``97.5``)."""
    try:
        value = float(text.rstrip("% "))
    except ValueError:
        value = -1.0
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(
            f"expected a percentage above 0 and at most 100, got {text!r}"
        )
    return value
