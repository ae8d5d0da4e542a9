"""One epoch of training, one pass of validation, and the optimizer and schedule of a recipe.

The learning rate is a function of the step (:func:`learning_rate`), set on the optimizer
before every step: a run resumed at an epoch's start continues the schedule exactly, and the
schedule's state is the step count alone.

Nothing here waits for the device inside the loop (losses and hits are summed where they are
computed); the progress display reads them only when it redraws.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .metrics import Row, correct, topk_key
from .progress import Progress
from .recipe import Amp, Optimizer, Recipe, Schedule


def make_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """The recipe's optimizer over every parameter of ``model`` (weight decay on all, as
    torchvision's reference recipe does by default)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if recipe.optimizer is Optimizer.ADAMW:
        beta1, beta2 = recipe.betas
        return torch.optim.AdamW(
            params,
            lr=recipe.lr_value,
            betas=(beta1, beta2),
            weight_decay=recipe.weight_decay_value,
        )
    return torch.optim.SGD(
        params,
        lr=recipe.lr_value,
        momentum=recipe.momentum,
        nesterov=recipe.nesterov,
        weight_decay=recipe.weight_decay_value,
    )


def learning_rate(recipe: Recipe, step: int, steps_per_epoch: int) -> float:
    """The learning rate of training step ``step`` (from 0): a linear warm-up from
    ``warmup_start × lr`` over ``warmup_epochs``, then the schedule (cosine from ``lr`` to
    ``min_lr`` over the rest of the run; ``step``: × ``step_gamma`` every ``step_epochs``
    epochs, counted from the run's start; ``none``: ``lr``).

    >>> learning_rate(Recipe(epochs=10, lr=0.1, schedule="step", step_epochs=3), 40, 10)
    0.010000000000000002
    """
    peak = recipe.lr_value
    done = step / steps_per_epoch  # epochs, with their fraction
    warm = recipe.warmup_epochs
    if done < warm:
        return peak * (recipe.warmup_start + (1 - recipe.warmup_start) * done / warm)
    if recipe.schedule is Schedule.COSINE:
        span = recipe.epochs - warm
        progress = (done - warm) / span if span > 0 else 1.0
        low = recipe.min_lr
        return low + (peak - low) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    if recipe.schedule is Schedule.STEP:
        return peak * recipe.step_gamma ** math.floor(done / recipe.step_epochs_value)
    return peak


@dataclass
class Sums:
    """Running sums of a pass, on the device: loss × images, top-1 and top-k hits, images."""

    loss: torch.Tensor
    top1: torch.Tensor
    topk: torch.Tensor
    images: int = 0

    @classmethod
    def zero(cls, device: torch.device) -> Sums:
        def zero() -> torch.Tensor:
            return torch.zeros((), dtype=torch.float64, device=device)

        return cls(zero(), zero(), zero())

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor, k: int) -> None:
        """Add a batch's mean ``loss`` and its hits among the first ``k`` (top-1 alone for
        ``k`` 1, as training counts: an argmax, not a top-k). A few small ops a step, in
        place: they are the loop's only work besides torch's."""
        n = labels.shape[0]
        self.loss.add_(loss.detach(), alpha=n)
        if k == 1:
            self.top1.add_((logits.detach().argmax(dim=1) == labels).sum())
        else:
            one, some = correct(logits.detach(), labels, k)
            self.top1.add_(one)
            self.topk.add_(some)
        self.images += n

    def mean_loss(self) -> float:
        return float(self.loss) / max(self.images, 1)


def autocast(device: torch.device, recipe: Recipe) -> contextlib.AbstractContextManager[Any]:
    """bfloat16 autocast where the recipe asks for it, on the CPU as on a GPU."""
    if recipe.amp is Amp.BF16:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def limited(batches: Iterable[Any], limit: int | None) -> Iterator[Any]:
    """At most ``limit`` of ``batches`` (all of them for None)."""
    for index, batch in enumerate(batches):
        if limit is not None and index >= limit:
            return
        yield batch


@dataclass(frozen=True)
class Pass:
    """What a pass over the data needs besides the model: where, how, and how many batches."""

    device: torch.device
    recipe: Recipe
    k: int
    #: training steps an epoch (its batches, or limit_batches)
    steps: int
    loss: nn.Module
    #: processes training together, each on its share of a batch (for images/s)
    world: int = 1


def train_epoch(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    run: Pass,
    first_step: int,
    progress: Progress,
) -> tuple[Sums, float]:
    """Train ``model`` on one epoch's batches; the sums of the pass and its images per second."""
    model.train()
    sums = Sums.zero(run.device)
    start = time.perf_counter()
    for index, (x, y) in enumerate(limited(batches, run.steps)):
        x = x.to(run.device, non_blocking=True)
        y = y.to(run.device, non_blocking=True)
        lr = learning_rate(run.recipe, first_step + index, run.steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with autocast(run.device, run.recipe):
            logits = model(x)
            loss = run.loss(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sums.add(loss, logits, y, 1)  # training reports its top-1 alone
        images = sums.images * run.world
        progress.step(index + 1, run.steps, images, time.perf_counter() - start, sums.mean_loss)
    if run.device.type == "cuda":
        torch.cuda.synchronize(run.device)
    seconds = time.perf_counter() - start
    return sums, sums.images / seconds if seconds > 0 else 0.0


@torch.no_grad()
def evaluate(
    model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], run: Pass
) -> Sums:
    """The loss and hits of ``model`` on the validation batches (in eval mode)."""
    model.eval()
    sums = Sums.zero(run.device)
    for x, y in limited(batches, run.recipe.limit_batches):
        x = x.to(run.device, non_blocking=True)
        y = y.to(run.device, non_blocking=True)
        with autocast(run.device, run.recipe):
            logits = model(x)
            loss = run.loss(logits.float(), y)
        sums.add(loss, logits, y, run.k)
    return sums


def epoch_row(
    epoch: int, lr: float, train: Sums, val: Sums, k: int, rate: float, seconds: float
) -> Row:
    """The row of metrics one epoch adds (see :mod:`.metrics`)."""
    images = max(val.images, 1)
    return {
        "epoch": epoch,
        "lr": lr,
        "train_loss": train.mean_loss(),
        "train_top1": float(train.top1) / max(train.images, 1),
        "val_loss": val.mean_loss(),
        "val_top1": float(val.top1) / images,
        topk_key(k): float(val.topk) / images,
        "images_per_s": rate,
        "seconds": seconds,
    }
