"""The peak memory of a training step, from torch's own accounting.

A fresh copy of the network (built from the spec) takes two training steps on random data of
the recipe's batch, exactly as :func:`netspec.training.loop.train_epoch` takes them: forward,
loss, ``zero_grad(set_to_none=True)``, backward, optimizer step, with the last logits still
held. The second step is the one every later step repeats: the previous step's gradients and
the optimizer's state are alive during its forward pass. The peak is the most bytes held at
once over both steps, counting the model's parameters and buffers held before them.

On a CPU the bytes come from ``torch.profiler.profile(profile_memory=True)``, every allocation
and free of c10's allocator in order (exact and deterministic, unlike a process's resident
memory); on a GPU from ``torch.cuda.max_memory_allocated``.

Example::

    step_peak(netspec.load("lenet"), Recipe(batch=32))   # bytes
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from ..spec import Spec
from ..train_memory import classes as train_classes
from .loop import make_optimizer
from .recipe import Recipe

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
        return held + _cpu_peak(lambda: _steps(model, recipe, where, (shapes, classes)))


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


def _cpu_peak(run: Callable[[], None]) -> int:
    """The most bytes c10's CPU allocator held at once during ``run``, above what it held
    before."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    events: Any = prof.profiler.kineto_results.events()
    held = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        if event.name() == "[memory]":
            held += event.nbytes()
            peak = max(peak, held)
    return peak


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
