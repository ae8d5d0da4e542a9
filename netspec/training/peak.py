"""The peak memory of a training step, from torch's own accounting.

A fresh copy of the network (built from the spec) takes two training steps on random data of
the recipe's batch, exactly as :func:`netspec.training.loop.train_epoch` takes them: forward,
loss, ``zero_grad(set_to_none=True)``, backward, optimizer step, with the last logits still
held. The second step is the one every later step repeats: the previous step's gradients and
the optimizer's state are alive during its forward pass. The peak is the most bytes held at
once over both steps, counting the model's parameters and buffers held before them.

On a CPU the bytes come from the profiler's memory events (``profile_memory=True``): every
allocation and free of c10's allocator in order (exact and deterministic, unlike a process's
resident memory); on a GPU from ``torch.cuda.max_memory_allocated``.

Example::

    step_peak(netspec.load("lenet"), Recipe(batch=32))   # bytes
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from torch.autograd.profiler import profile

from ..spec import Spec
from ..train_memory import Optimizer as TrainOptimizer
from ..train_memory import classes as train_classes
from ..train_memory import train_memory
from ..train_memory_text import mib
from .loop import make_optimizer
from .recipe import Amp, Recipe

#: steps measured: the first makes the optimizer's state, the second runs as all later ones
STEPS = 2


def step_peak(spec: Spec, recipe: Recipe | None = None, device: str = "cpu") -> int:
    """The most bytes torch's allocator holds during a training step of ``spec`` by
    ``recipe`` (its batch, optimizer and label smoothing) on ``device``, the network's own
    parameters and buffers included. Random weights and data: the bytes do not depend on them.
    """
    recipe = (recipe or Recipe()).resolved()
    where = torch.device(device)
    classes = train_classes(spec)
    shapes = [s.dims for s in spec.input_shapes.values()]
    with torch.random.fork_rng(devices=[where.index or 0] if where.type == "cuda" else []):
        torch.manual_seed(recipe.seed)
        if where.type == "cuda":
            return _cuda_peak(spec, recipe, where, (shapes, classes))
        model = spec.build(seed=recipe.seed)
        held = _tensor_bytes(model)
        return held + cpu_peak(lambda: _steps(model, recipe, where, (shapes, classes)))


#: the shapes of a sample's inputs, and the number of classes
Task = tuple[list[tuple[int, ...]], int]


def _steps(model: nn.Module, recipe: Recipe, device: torch.device, task: Task) -> None:
    """Two training steps, as the training loop takes them."""
    model.train()
    optimizer = make_optimizer(model, recipe)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    shapes, classes = task
    x = tuple(torch.randn(recipe.batch, *s, device=device) for s in shapes)
    y = torch.randint(0, classes, (recipe.batch,), device=device)
    for _ in range(STEPS):
        logits = model(*x)
        loss = loss_fn(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    del logits, loss, optimizer


def _tensor_bytes(model: nn.Module) -> int:
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def cpu_peak(run: Callable[[], None]) -> int:
    """The most bytes c10's CPU allocator held at once during ``run``, above what it held
    before."""
    # autograd's profiler, which torch.profiler wraps: the same events, without the seconds
    # torch.profiler takes to import torch._dynamo the first time
    with _quiet_stderr(), profile(profile_memory=True) as prof:
        run()
    with _quiet_stderr():
        events: Any = prof.kineto_results.events()
    held = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        if event.name() == "[memory]":
            held += event.nbytes()
            peak = max(peak, held)
    return peak


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """The process's stderr closed for the block: libkineto, under torch's profiler, writes
    lines of its own there (profiler_start, a failed count of GPUs), not the user's business."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _cuda_peak(spec: Spec, recipe: Recipe, device: torch.device, task: Task) -> int:
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    model = spec.build(seed=recipe.seed, device=str(device))
    _steps(model, recipe, device, task)
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - before
    del model
    return peak


def predicted_step(spec: Spec, recipe: Recipe, batch: int) -> int | None:
    """The estimate of a step of ``batch`` (:func:`netspec.train_memory.train_memory`) by
    ``recipe``; None under autocast (the estimate counts float32)."""
    if recipe.amp is not Amp.NONE:
        return None
    optimizer = TrainOptimizer(recipe.optimizer.value)
    return train_memory(spec, batch, optimizer, momentum=recipe.momentum > 0).peak


def measured_step(spec: Spec, recipe: Recipe, batch: int, device: torch.device) -> int | None:
    """The peak a run measured: on a GPU, what torch's allocator held at most (the run so
    far); on a CPU, two steps of ``batch`` under the profiler (:func:`step_peak`); None under
    autocast on a CPU."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    if recipe.amp is not Amp.NONE:
        return None
    return step_peak(spec, recipe.model_copy(update={"batch": batch}), str(device))


def memory_note(predicted: int | None, measured: int | None) -> str:
    """The line ``netspec train`` shows before training (``measured`` None) and after."""
    if measured is None:
        return f"memory: a training step is predicted to peak at {mib(predicted or 0)}"
    guess = "" if predicted is None else f" (predicted {mib(predicted)})"
    return f"memory: a training step peaked at {mib(measured)}{guess}"
