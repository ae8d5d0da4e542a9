"""A per-layer summary as data: what :mod:`netspec.summary` computes and :mod:`netspec.report`
and :mod:`netspec.notebook` present. Numbers only; no formatting and no torch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    """One layer: where it is, what it is, what it gives and costs (per sample)."""

    path: str
    module: str
    layer: str
    depth: int
    output: tuple[int, ...]
    params: int
    macs: int
    mult_adds: int | None = None  # torchinfo's count for the batch (torchinfo summaries only)


@dataclass
class Totals:
    params: int
    trainable_params: int
    macs: int
    param_bytes: int
    activation_bytes: int
    buffers: int
    mult_adds: int | None = None
    #: the peak of a training step (SGD with momentum, float32); None: not a classifier
    train_bytes: int | None = None

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params


@dataclass
class SummaryData:
    """The rows and totals of a summary (:class:`netspec.summary.Summary` adds how Jupyter
    shows it)."""

    spec: str
    file: str
    source: str  # "static" or "torchinfo"
    batch: int
    input: tuple[int, ...]
    rows: list[Row] = field(default_factory=list)
    totals: Totals | None = None
