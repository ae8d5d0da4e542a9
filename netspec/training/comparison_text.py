"""A comparison's table as text: Markdown (printed, and ``compare.md``), CSV and JSON.

The numbers come from :func:`netspec.training.comparison.table_row`; this module only presents
them. Accuracies are fractions in CSV and JSON, percentages in Markdown; a number that is not
known (a memory not measured, a target not reached) is empty in CSV, ``null`` in JSON and
"—" in Markdown. Nothing here imports torch.

Example::

    print(report_markdown(found.table(), target=0.95, seeds=3))
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..report import human, human_bytes

Row = dict[str, Any]

#: The CSV's columns, in order (the JSON's rows hold the same keys).
CSV_COLUMNS = (
    "label",
    "spec",
    "file",
    "params",
    "macs",
    "seeds",
    "best_top1_mean",
    "best_top1_std",
    "best_top1_min",
    "best_top1_max",
    "final_top1_mean",
    "final_top1_std",
    "target",
    "reached",
    "epochs_to_target_mean",
    "seconds_mean",
    "peak_memory",
    "predicted_memory",
)

COMPARE_FORMAT = "netspec-compare/1"
NONE = "—"


def report_markdown(table: Sequence[Row], target: float | None, seeds: int) -> str:
    """The table in Markdown, with a line saying how to read it."""
    head = ["spec", "params", "MACs", "best top-1", "final top-1"]
    if target is not None:
        head.append(f"epochs to {_percent(target)}")
    head += ["time a run", "peak memory", "predicted"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|--:" * (len(head) - 1) + "|"]
    for row in table:
        cells = [
            row["label"],
            f"{row['params']:,}",
            human(row["macs"]),
            _mean_std(row["best_top1_mean"], row["best_top1_std"]),
            _mean_std(row["final_top1_mean"], row["final_top1_std"]),
        ]
        if target is not None:
            cells.append(_epochs(row["epochs_to_target"]))
        cells += [
            f"{row['seconds_mean']:,.1f} s",
            _bytes(row["peak_memory"]),
            _bytes(row["predicted_memory"]),
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n\n" + _legend(target, seeds) + "\n"


def report_csv(table: Sequence[Row]) -> str:
    """The table as CSV: a header of :data:`CSV_COLUMNS`, one row a spec."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in table:
        writer.writerow({k: "" if row[k] is None else row[k] for k in CSV_COLUMNS})
    return out.getvalue()


def report_json(
    table: Sequence[Row], runs: Mapping[str, Sequence[Row]], about: Mapping[str, Any]
) -> str:
    """The table as JSON (``netspec-compare/1``): what was compared (``about``: data, seeds,
    target, recipe), a row a spec under ``specs``, each with its runs under ``runs``."""
    specs = [{**row, "runs": list(runs[row["label"]])} for row in table]
    return json.dumps({"format": COMPARE_FORMAT, **about, "specs": specs}, indent=2) + "\n"


def _legend(target: float | None, seeds: int) -> str:
    noun = "seed" if seeds == 1 else "seeds"
    text = (
        f"{seeds} {noun} a spec; top-1: validation accuracy, the mean"
        + (" ± the sample standard deviation over the seeds" if seeds > 1 else "")
        + "; best: each run's best epoch, final: its last"
    )
    if target is not None:
        text += f"; epochs to {_percent(target)}: each seed's first epoch there ({NONE}: never)"
    return text + f"; {NONE}: not measured."


def _percent(fraction: float) -> str:
    return f"{100 * fraction:g} %"


def _mean_std(mean: float | None, std: float | None) -> str:
    if mean is None:
        return NONE
    if std is None:
        return f"{100 * mean:.1f} %"
    return f"{100 * mean:.1f} ± {100 * std:.1f} %"


def _epochs(epochs: Sequence[int | None] | None) -> str:
    if not epochs:
        return NONE
    return ", ".join(NONE if e is None else str(e) for e in epochs)


def _bytes(n: int | None) -> str:
    return NONE if n is None else human_bytes(n)
