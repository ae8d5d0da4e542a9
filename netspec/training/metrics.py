"""The numbers of a run: what one epoch measured, and the files that hold them all.

A run's metrics are a list of rows, one an epoch, each a dict of plain numbers (so that a
checkpoint, ``metrics.json`` and ``metrics.csv`` hold the same), with these keys:

``epoch`` (from 1), ``lr`` (at the epoch's end), ``train_loss``, ``train_top1`` (on the batches
as they were trained, dropout and all), ``val_loss``, ``val_top1``, ``val_topK`` (``K`` the
recipe's ``top_k``, at most the number of classes), ``images_per_s`` (training), ``seconds``
(the epoch's, validation included).

Example::

    rows = [{"epoch": 1, "val_top1": 0.91, ...}]
    best_row(rows)["epoch"]        # the epoch of the best validation top-1
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import torch

Row = dict[str, Any]


def correct(
    logits: torch.Tensor, labels: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """How many of the batch's images have their label first, and among the first ``k``
    (two 0-dimensional tensors, left on the device: reading them would wait for it)."""
    top = logits.topk(k, dim=1).indices
    hits = top == labels[:, None]
    return hits[:, 0].sum(), hits.any(dim=1).sum()


def topk_key(k: int) -> str:
    """The key of the top-k accuracy in a row: ``val_top5``."""
    return f"val_top{k}"


def best_row(rows: Sequence[Row]) -> Row | None:
    """The row of the best validation top-1 (the earliest of equals), or None for no rows."""
    best: Row | None = None
    for row in rows:
        if best is None or row["val_top1"] > best["val_top1"]:
            best = row
    return best


def epochs_to(rows: Sequence[Row], accuracy: float) -> int | None:
    """The first epoch whose validation top-1 reached ``accuracy`` (a fraction), or None."""
    for row in rows:
        if row["val_top1"] >= accuracy:
            return int(row["epoch"])
    return None


def metrics_csv(rows: Sequence[Row]) -> str:
    """The rows as CSV text, a header first (the keys of the first row, in its order)."""
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


def metrics_json(rows: Sequence[Row], **about: Any) -> str:
    """The rows as JSON, under ``epochs``, with what else the run says of itself (``about``)."""
    return json.dumps({**about, "epochs": list(rows)}, indent=2) + "\n"
