"""``python -m bench --only training``: the training speed of :func:`netspec.training.train`
against a hand-written PyTorch loop, on the same model, data, batch, optimizer and threads.

Both sides train one epoch at a time on digits fitted to the spec's input, from the same
fitted tensors. Each is timed around its training steps (netspec's epoch loop,
``netspec.training.loop.train_epoch``: without validation or the run folder; the hand loop's
``for``): in wall-clock images/s, and in images per second of the process's CPU time, which
a machine shared with other work disturbs far less (the wall clock counts the time the
process waits for a core; the CPU time only the work it does).

The hand loop is the plainest one can write: it indexes the fitted tensors for each batch (no
DataLoader), sets no learning rate and counts no hits; it runs with torch's defaults, netspec
with deterministic algorithms. Runs alternate (netspec, hand, hand, each first in
turn) so that a shared machine's load falls on every side alike; the first round is a
warm-up. The noise floor is the hand loop against itself.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from typing import Any

import torch
from torch import nn

import netspec
import netspec.training.session as session
from netspec.training import Recipe, train
from netspec.training.data import Data, prepare_data

#: images, wall seconds and CPU seconds of one epoch's training steps
Timing = tuple[int, float, float]

#: name: (spec, batch, training steps an epoch: all of digits' where None)
CASES: dict[str, tuple[str, int, int | None]] = {
    "lenet": ("lenet", 64, None),  # 28×28: 26 steps
    "resnet18_96": ("resnet", 32, 6),  # ResNet-18 at 96×96
}


def hand_loop(spec: netspec.Spec, data: Data, recipe: Recipe, device: torch.device) -> Timing:
    """Images/s of one epoch of a hand-written loop: SGD with the recipe's momentum, weight
    decay and learning rate, cross-entropy, the fitted images indexed a batch at a time."""
    model = spec.build(seed=recipe.seed, device=str(device))
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=recipe.lr_value,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay_value,
    )
    loss_fn = nn.CrossEntropyLoss()
    x_all, y_all = data.fitted["train"], data.train.y
    order = torch.randperm(len(y_all), generator=torch.Generator().manual_seed(recipe.seed))
    batches = order.split(recipe.batch)[: recipe.limit_batches]
    model.train()
    images = 0
    start, cpu = time.perf_counter(), time.process_time()
    for rows in batches:
        x = x_all[rows].to(device, non_blocking=True)
        y = y_all[rows].to(device, non_blocking=True)
        loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        images += len(rows)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return images, time.perf_counter() - start, time.process_time() - cpu


def netspec_loop(spec: netspec.Spec, data: Data, recipe: Recipe, device: torch.device) -> Timing:
    """One epoch of :func:`netspec.training.train`, its training steps timed."""
    timed: list[Timing] = []
    epoch = session.train_epoch

    def timed_epoch(*args: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        sums, rate = epoch(*args)  # waits for the device at its end
        timed.append((sums.images, time.perf_counter() - start, time.process_time() - cpu))
        return sums, rate

    session.train_epoch = timed_epoch
    try:
        train(spec, data, recipe, device=str(device))
    finally:
        session.train_epoch = epoch
    return timed[0]


def _median_rates(timings: list[Timing]) -> tuple[float, float]:
    """The median images/s of the wall clock, and of the CPU time."""
    wall = statistics.median(images / seconds for images, seconds, _ in timings)
    cpu = statistics.median(images / seconds for images, _, seconds in timings)
    return wall, cpu


def _best_rate(timings: list[Timing]) -> float:
    """The best images/s of the CPU time: other work on a shared machine only ever slows a
    run, so the fastest is the nearest to what the code itself costs (as ``timeit`` takes)."""
    return max(images / seconds for images, _, seconds in timings)


def one_case(
    spec_name: str, batch: int, steps: int | None, args: argparse.Namespace
) -> dict[str, Any]:
    spec = netspec.load(spec_name)
    recipe = Recipe(epochs=1, batch=batch, limit_batches=steps, seed=0).resolved()
    data = prepare_data(spec, "digits", recipe)
    device = torch.device(args.device)
    runs = 1 if args.quick else 9
    sides = (netspec_loop, hand_loop, hand_loop)
    timings: list[list[Timing]] = [[], [], []]
    for run in range(runs + 1):
        # each side first, second and third in turn: whichever side was timed first in a
        # round came out slowest in two runs of LeNet (by 8 to 9 %)
        turn = [(run + i) % 3 for i in range(3)]
        for side in turn:
            gc.collect()
            timing = sides[side](spec, data, recipe, device)
            if run > 0:  # the first round is a warm-up
                timings[side].append(timing)
    mine, hand, again = timings
    (wall, cpu), (hand_wall, hand_cpu), (again_wall, again_cpu) = (
        _median_rates(mine),
        _median_rates(hand),
        _median_rates(again),
    )
    return {
        "spec": spec_name,
        "inputs": data.fit.describe().split(":")[0],
        "batch": batch,
        "steps": steps if steps is not None else -(-len(data.train) // batch),
        "runs": runs,
        "netspec_images_per_s": round(wall, 1),
        "hand_images_per_s": round(hand_wall, 1),
        "ratio": round(wall / hand_wall, 3),
        "noise_hand_vs_hand": round(again_wall / hand_wall, 3),
        "netspec_images_per_cpu_s": round(cpu, 1),
        "hand_images_per_cpu_s": round(hand_cpu, 1),
        "cpu_ratio": round(cpu / hand_cpu, 3),
        "cpu_noise_hand_vs_hand": round(again_cpu / hand_cpu, 3),
        "best_cpu_ratio": round(_best_rate(mine) / _best_rate(hand), 3),
        "best_cpu_noise_hand_vs_hand": round(_best_rate(again) / _best_rate(hand), 3),
    }


def training_speed(args: argparse.Namespace) -> dict[str, Any]:
    """Every case of :data:`CASES` (LeNet alone, one step of 16 images, with --quick)."""
    torch.set_num_threads(args.threads)
    # --quick checks that it runs: LeNet, one step of 16 images an epoch
    chosen = {"lenet": ("lenet", 16, 1)} if args.quick else CASES
    found: dict[str, Any] = {"threads": torch.get_num_threads(), "device": args.device}
    for name, (spec_name, batch, steps) in chosen.items():
        found[name] = one_case(spec_name, batch, steps, args)
        print(f"  {name}: {found[name]}", flush=True)
    return found
