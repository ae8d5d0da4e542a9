"""The training memory estimate (:mod:`netspec.train_memory`) as ``netspec check --train``
prints it: the peak and its parts, and what each layer keeps for backward. Text only."""

from __future__ import annotations

from .train_memory import STATE_BUFFERS, Optimizer, TrainMemory

_OPTIMIZERS = {Optimizer.SGD: "SGD with momentum", Optimizer.ADAMW: "AdamW"}
_BUFFERS = {1: "one buffer a parameter", 2: "two buffers a parameter"}


def mib(n: int) -> str:
    """Bytes in MiB, as torch's memory figures are read: ``2,917.6 MiB``, ``0.24 MiB``."""
    value = n / 2**20
    return f"{value:,.1f} MiB" if value >= 100 else f"{value:.2f} MiB"


def binary(n: int) -> str:
    """Bytes as people read a memory size: ``512 B``, ``16.0 KiB``, ``2.50 MiB``."""
    for size, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= size:
            return f"{n / size:,.1f} {unit}" if n >= 100 * size else f"{n / size:.2f} {unit}"
    return f"{n:,} B"


def format_train_memory(memory: TrainMemory) -> str:
    """The peak of a training step and its parts, one a line::

    training step, batch 32, SGD with momentum: peak 2.9 MiB (backward at 0)
      parameters          0.2 MiB
      ...
    """
    buffers = STATE_BUFFERS[memory.optimizer] if memory.optimizer_state else 0
    parts = [
        ("parameters", memory.params, ""),
        ("buffers", memory.buffers, "running statistics"),
        ("gradients", memory.gradients, ""),
        ("optimizer state", memory.optimizer_state, _BUFFERS.get(buffers, "")),
        ("activations", memory.activations, "kept for backward, not yet released"),
        ("data", memory.data, "inputs, labels, logits, log-probabilities"),
        ("transient", memory.transient, "what the step allocates at its peak"),
    ]
    width = max(len(mib(n)) for _, n, _ in parts)
    head = (
        f"training step, batch {memory.batch:,}, {_OPTIMIZERS[memory.optimizer]}: "
        f"peak {mib(memory.peak)} ({memory.moment})"
    )
    lines = [head]
    for name, n, note in parts:
        lines.append(f"  {name:<17}{mib(n):>{width}}" + (f"  {note}" if note else ""))
    return "\n".join(lines)


def format_layer_memory(memory: TrainMemory) -> str:
    """What each layer is the first to keep for backward (a tensor kept by several counts
    once, at the first), one a line, with the total."""
    rows = [(m.path, m.layer, mib(m.kept)) for m in memory.layers]
    rows.append(("total", "", mib(sum(m.kept for m in memory.layers))))
    path = max(len("layer"), *(len(r[0]) for r in rows))
    text = max(len("kind"), *(len(r[1]) for r in rows))
    size = max(len("kept for backward"), *(len(r[2]) for r in rows))
    lines = [f"  {'layer':<{path}}  {'kind':<{text}}  {'kept for backward':>{size}}"]
    lines += [f"  {a:<{path}}  {b:<{text}}  {c:>{size}}" for a, b, c in rows]
    return "\n".join(line.rstrip() for line in lines)
