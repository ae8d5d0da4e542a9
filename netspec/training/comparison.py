"""``compare``: several specs trained by one recipe on the same data and seeds, side by side.

Every spec is checked against the data before anything is written; then each is trained once
a seed, each run into a folder of its own (``DIR/LABEL/seed-S``, a run folder as ``train``
writes it), and the comparison is written beside them: its table (``compare.md``,
``compare.csv``, ``compare.json``) and every run's curves in one plot (``curves.png``,
``curves.svg``). A spec's label is its name, numbered where two specs share one.

Example::

    from netspec.training import compare, Recipe
    found = compare([netspec.load("lenet"), netspec.load("alt.yaml")], "digits",
                    Recipe(epochs=20), seeds=(0, 1, 2), target=0.95, out="runs/lenet-vs-alt")
    for row in found.table():
        print(row["label"], row["best_top1_mean"], row["epochs_to_target"])
"""

from __future__ import annotations

import os
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import NetspecError
from ..files import write_bytes_atomic
from ..spec import Spec
from .comparison_text import report_csv, report_json, report_markdown
from .data import prepare_data
from .metrics import Row, best_row, epochs_to
from .plots import plot_curves
from .progress import Progress, Silent
from .recipe import Recipe
from .run import RunResult, train

#: What a comparison writes beside its runs' folders.
REPORT_FILES = ("compare.md", "compare.csv", "compare.json", "curves.png", "curves.svg")


@dataclass(frozen=True)
class Contender:
    """One spec of a comparison: its label, and its runs, one a seed in the seeds' order."""

    label: str
    spec: Spec
    runs: tuple[RunResult, ...]


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` gives back: each spec's runs, the seeds, the recipe (its seed
    aside), the target accuracy (a fraction, or None) and the folder (None: nothing written)."""

    contenders: tuple[Contender, ...]
    seeds: tuple[int, ...]
    recipe: Recipe
    target: float | None
    folder: Path | None

    def table(self) -> list[Row]:
        """One row a spec, plain numbers (see :func:`table_row`)."""
        return [table_row(c, self.target) for c in self.contenders]

    def curves(self) -> dict[str, list[Row]]:
        """Every run's metrics, by ``LABEL seed S``."""
        return {
            f"{c.label} seed {seed}": run.rows
            for c in self.contenders
            for seed, run in zip(self.seeds, c.runs, strict=True)
        }


def compare(
    specs: Sequence[Spec],
    data: str | os.PathLike[str],
    recipe: Recipe | None = None,
    *,
    seeds: Sequence[int] | None = None,
    target: float | None = None,
    out: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    device: str | None = None,
    root: str | None = None,
) -> Comparison:
    """Train each of ``specs`` on ``data`` by ``recipe`` once for each of ``seeds`` (default:
    the recipe's seed), writing the runs and the comparison to the folder ``out`` (nothing
    where None), which must be new or empty. ``target``: the validation top-1 accuracy (a
    fraction) whose first epoch the table gives. ``device`` and ``root`` as :func:`train`'s.

    Raises :class:`~netspec.NetspecError` for what the user can fix, before anything is
    written: no spec, seeds given twice, a target outside (0, 1], a folder that holds
    anything, data that does not fit a spec.
    """
    base = recipe if recipe is not None else Recipe()
    chosen = _seeds(seeds, base)
    if not specs:
        raise NetspecError.plain("compare", "nothing to compare: name at least one spec")
    if target is not None and not 0 < target <= 1:
        raise NetspecError.plain(
            "target", f"the target accuracy must be above 0 and at most 1, got {target!r}"
        )
    folder = None if out is None else _check_folder(out)
    labels = distinct_labels(specs)
    for spec in specs:  # every spec against the data, before any run: an error writes nothing
        prepare_data(spec, data, _seeded(base, chosen[0]), root=root)
    shown = Silent() if progress is None else progress
    total = len(specs) * len(chosen)
    contenders = []
    for index, (label, spec) in enumerate(zip(labels, specs, strict=True)):
        runs = []
        for n, seed in enumerate(chosen):
            shown.note(f"[{index * len(chosen) + n + 1}/{total}] {label}, seed {seed}")
            where = None if folder is None else folder / label / f"seed-{seed}"
            run = train(
                spec, data, _seeded(base, seed), out=where, progress=shown, device=device, root=root
            )
            runs.append(run)
        contenders.append(Contender(label, spec, tuple(runs)))
    found = Comparison(tuple(contenders), chosen, base.resolved(), target, folder)
    if folder is not None:
        write_report(found, folder, data)
    return found


def write_report(found: Comparison, folder: Path, data: str | os.PathLike[str]) -> list[Path]:
    """Write the comparison's table and curves into ``folder``; the paths written."""
    table = found.table()
    about = {
        "data": os.fspath(data),
        "seeds": list(found.seeds),
        "target": found.target,
        "recipe": {k: v for k, v in found.recipe.plain().items() if k != "seed"},
    }
    runs = {
        c.label: [
            _run_summary(seed, run, found.target, folder)
            for seed, run in zip(found.seeds, c.runs, strict=True)
        ]
        for c in found.contenders
    }
    texts = {
        "compare.md": report_markdown(table, found.target, len(found.seeds)),
        "compare.csv": report_csv(table),
        "compare.json": report_json(table, runs, about),
    }
    written = []
    for name, text in texts.items():
        write_bytes_atomic(folder / name, text.encode("utf-8"))
        written.append(folder / name)
    return written + plot_curves(found.curves(), folder / "curves")


def table_row(contender: Contender, target: float | None) -> Row:
    """A spec's numbers over its seeds: ``label``, ``spec`` (its name), ``file``, ``params``,
    ``macs``, ``seeds`` (how many), ``best_top1_mean``/``_std``/``_min``/``_max`` (each run's
    best validation top-1), ``final_top1_mean``/``_std`` (the last epoch's), ``target``,
    ``reached`` (how many runs reached it), ``epochs_to_target`` (each run's first epoch at
    the target, None where it did not), ``epochs_to_target_mean`` (over those that did),
    ``seconds_mean`` (a run's), ``peak_memory`` (the largest measured, bytes) and
    ``predicted_memory`` (bytes). The spread (``_std``) is the sample standard deviation,
    None for one seed; a number that is not known is None."""
    runs = contender.runs
    best = [_top1(best_row(run.rows)) for run in runs]
    final = [_top1(run.rows[-1] if run.rows else None) for run in runs]
    reached = [None if target is None else epochs_to(run.rows, target) for run in runs]
    hits = [e for e in reached if e is not None]
    peaks = [run.peak_memory for run in runs if run.peak_memory is not None]
    predicted = [run.predicted_memory for run in runs if run.predicted_memory is not None]
    return {
        "label": contender.label,
        "spec": contender.spec.name,
        "file": contender.spec.file,
        "params": contender.spec.num_params,
        "macs": contender.spec.macs,
        "seeds": len(runs),
        **_spread("best_top1", best, full=True),
        **_spread("final_top1", final, full=False),
        "target": target,
        "reached": len(hits) if target is not None else None,
        "epochs_to_target": reached if target is not None else None,
        "epochs_to_target_mean": statistics.fmean(hits) if hits else None,
        "seconds_mean": statistics.fmean(run.seconds for run in runs),
        "peak_memory": max(peaks) if peaks else None,
        "predicted_memory": max(predicted) if predicted else None,
    }


def distinct_labels(specs: Sequence[Spec]) -> list[str]:
    """Each spec's label: its name (made safe as a folder's name), numbered ``-1``, ``-2``, ...
    where several specs share it, so that no two are the same."""
    names = [re.sub(r"[^A-Za-z0-9._-]+", "_", spec.name).strip(".") or "spec" for spec in specs]
    counts = Counter(names)
    taken = {name for name in names if counts[name] == 1}
    labels, seen = [], Counter[str]()
    for name in names:
        label = name
        while counts[name] > 1 and (label == name or label in taken):
            seen[name] += 1
            label = f"{name}-{seen[name]}"
        taken.add(label)
        labels.append(label)
    return labels


def _seeds(seeds: Sequence[int] | None, recipe: Recipe) -> tuple[int, ...]:
    chosen = (recipe.seed,) if seeds is None else tuple(seeds)
    if not chosen:
        raise NetspecError.plain("seeds", "no seeds: give at least one")
    twice = sorted({s for s in chosen if chosen.count(s) > 1})
    if twice:
        raise NetspecError.plain(
            "seeds", f"seed {twice[0]} is given twice", "each seed once: its run is the same"
        )
    bad = [s for s in chosen if isinstance(s, bool) or not isinstance(s, int) or s < 0]
    if bad:
        raise NetspecError.plain("seeds", f"a seed is a whole number from 0, got {bad[0]!r}")
    return chosen


def _seeded(recipe: Recipe, seed: int) -> Recipe:
    return recipe.model_copy(update={"seed": seed})


def _check_folder(out: str | os.PathLike[str]) -> Path:
    """The comparison's folder: new, or an empty folder; never one that holds anything."""
    path, shown = Path(out), os.fspath(out)
    if path.exists() and not path.is_dir():
        raise NetspecError.plain(shown, "is a file, not a folder for a comparison")
    if path.is_dir() and any(path.iterdir()):
        raise NetspecError.plain(
            shown,
            "the folder is not empty (an earlier comparison?)",
            "choose a new folder with -o",
        )
    return path


def _top1(row: Row | None) -> float | None:
    return None if row is None else float(row["val_top1"])


def _spread(key: str, values: Sequence[float | None], *, full: bool) -> Row:
    """``KEY_mean`` and ``KEY_std`` (and with ``full``, ``KEY_min`` and ``KEY_max``)."""
    known = [v for v in values if v is not None]
    out: Row = {
        f"{key}_mean": statistics.fmean(known) if known else None,
        f"{key}_std": statistics.stdev(known) if len(known) > 1 else None,
    }
    if full:
        out[f"{key}_min"] = min(known) if known else None
        out[f"{key}_max"] = max(known) if known else None
    return out


def _run_summary(seed: int, run: RunResult, target: float | None, folder: Path) -> Row:
    """One run, as ``compare.json`` lists it (its folder relative to the comparison's)."""
    best = best_row(run.rows)
    return {
        "seed": seed,
        "folder": None if run.folder is None else os.path.relpath(run.folder, folder),
        "epochs": len(run.rows),
        "best_epoch": None if best is None else best["epoch"],
        "best_top1": _top1(best),
        "final_top1": _top1(run.rows[-1] if run.rows else None),
        "epochs_to_target": None if target is None else epochs_to(run.rows, target),
        "seconds": run.seconds,
        "peak_memory": run.peak_memory,
        "predicted_memory": run.predicted_memory,
        "val_top1": [row["val_top1"] for row in run.rows],
    }
