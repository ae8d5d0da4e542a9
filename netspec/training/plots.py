"""Learning curves as pictures: loss and accuracy by epoch, for one run or several.

Drawn with matplotlib's Agg canvas (no window, no global backend switched), written as PNG and
SVG, each atomically. The SVG is the same for the same numbers (no date, a fixed id salt).

Example::

    plot_curves({"lenet": rows}, Path("runs/lenet/curves"))   # curves.png, curves.svg
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import NetspecError
from ..files import write_bytes_atomic
from .metrics import Row

#: Each run's colour, in order (matplotlib's default cycle).
COLOURS = ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9")


def plot_curves(runs: Mapping[str, Sequence[Row]], stem: Path) -> list[Path]:
    """Draw every run's curves (loss on the left, validation accuracy on the right) and write
    ``stem.png`` and ``stem.svg``; the paths written."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as e:
        raise NetspecError.plain(
            str(stem), "drawing curves needs matplotlib", "pip install 'netspec-nn[train]'"
        ) from e
    figure = Figure(figsize=(10, 4), layout="constrained")
    loss, accuracy = figure.subplots(1, 2)
    for index, (name, rows) in enumerate(runs.items()):
        colour = COLOURS[index % len(COLOURS)]
        epochs = [row["epoch"] for row in rows]
        mark = {"color": colour, "marker": "o", "markersize": 3}  # a run of one epoch shows too
        loss.plot(epochs, [r["train_loss"] for r in rows], ls="--", lw=1, **mark)
        loss.plot(epochs, [r["val_loss"] for r in rows], label=name, **mark)
        accuracy.plot(epochs, [100 * r["val_top1"] for r in rows], label=name, **mark)
    loss.set(xlabel="epoch", ylabel="loss (dashed: training)", title="loss")
    accuracy.set(xlabel="epoch", ylabel="top-1 %", title="validation top-1 accuracy")
    for axes in (loss, accuracy):
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
        axes.xaxis.get_major_locator().set_params(integer=True)
    written = []
    with matplotlib.rc_context({"svg.hashsalt": "netspec", "svg.fonttype": "none"}):
        for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
            buffer = io.BytesIO()
            figure.savefig(buffer, format=fmt, dpi=100, metadata=metadata)
            target = stem.with_suffix(f".{fmt}")
            write_bytes_atomic(target, buffer.getvalue())
            written.append(target)
    return written
