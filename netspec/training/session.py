"""The epochs of one training run: the model, optimizer and loaders, and what each epoch
writes to the run's folder (see :mod:`.runfolder`)."""

from __future__ import annotations

import gc
import json
import platform
import time
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .. import __version__
from ..checkpoints import checkpoint_dict
from ..spec import Spec
from .data import Data
from .distributed import World
from .loop import Pass, Sums, epoch_row, evaluate, learning_rate, make_optimizer, train_epoch
from .metrics import Row, best_row, metrics_csv, metrics_json
from .plots import plot_curves
from .progress import Progress
from .recipe import Recipe
from .runfolder import RUN_FORMAT, RunFolder, spec_hash

#: Seconds between two drawings of a run's curves while it trains (drawing takes about a
#: second, which a short epoch should not wait for); they are drawn at its end in any case.
PLOT_EVERY = 60


def start_files(
    folder: RunFolder,
    spec: Spec,
    data: Data,
    recipe: Recipe,
    hashed: str,
    device: torch.device,
    root: str | None,
    world: World | None = None,
) -> None:
    """Write what a new run is, before its first epoch: the spec, the recipe and run.json."""
    about = {
        "format": RUN_FORMAT,
        "spec": {
            "name": spec.name,
            "file": spec.file,
            "scale": spec.scale,
            "params": spec.overrides,
            "hash": hashed,
        },
        "data": {**data.plain(), "root": root},
        "recipe": recipe.plain(),
        "device": str(device),
        "processes": 1 if world is None else world.size,
        "versions": {
            "netspec": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    folder.write_text("spec.yaml", spec.document.text)
    folder.write_text("recipe.yaml", recipe.text())
    folder.write_text("run.json", json.dumps(about, indent=2, default=str) + "\n")


class Session:
    """One run's training state, from its first epoch (or a restored one) to its last, in
    this process of ``world``: under torchrun, the model is wrapped in DDP, the batches are
    this process's share, and the metrics are summed over every process."""

    def __init__(
        self,
        spec: Spec,
        data: Data,
        recipe: Recipe,
        device: torch.device,
        progress: Progress,
        folder: RunFolder | None = None,
        world: World | None = None,
    ) -> None:
        self.spec = spec
        self.data = data
        self.recipe = recipe
        self.device = device
        self.folder = folder
        self.progress = progress
        self.world = world = World() if world is None else world
        self.model: nn.Module = spec.build(seed=recipe.seed, device=str(device))
        #: what trains: the model, or DDP around it (which averages the gradients)
        self.net: nn.Module = self.model
        if world.group:
            ids = [device] if device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = make_optimizer(self.model, recipe)
        batch = world.local_batch(recipe.batch, "recipe")
        self.train_batches, self.sampler = self._loader(data, "train", batch)
        self.val_batches, _ = self._loader(data, "val", batch)
        steps = len(self.train_batches)
        if recipe.limit_batches is not None:
            steps = min(steps, recipe.limit_batches)
        k = min(recipe.top_k, len(data.classes))
        loss = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
        self.run_pass = Pass(device, recipe, k, steps, loss, world.size)
        self.rows: list[Row] = []
        self.epoch = 0  # finished epochs
        self.plotted = time.monotonic()

    def _loader(self, data: Data, which: str, batch: int) -> Any:
        """This process's loader of ``which`` (and its sampler), ``batch`` images a step."""
        return data.loader(
            which,
            batch,
            seed=self.recipe.seed,
            workers=self.recipe.num_workers,
            rank=self.world.rank,
            world=self.world.size,
            pin=self.device.type == "cuda",
        )

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's state (see :mod:`.runfolder`)."""
        self.model.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        ranks = state["rng"].get("ranks") or [state["rng"]]
        rng = ranks[self.world.rank]
        torch.set_rng_state(rng["cpu"])
        if self.device.type == "cuda" and rng.get("cuda"):
            torch.cuda.set_rng_state_all(rng["cuda"])
        self.rows = list(state["metrics"])
        self.epoch = int(state["epoch"])
        self.progress.note(f"resumed after epoch {self.epoch} of {self.recipe.epochs}")

    def run(self) -> None:
        """Train the remaining epochs, writing each one's results."""
        while self.epoch < self.recipe.epochs:
            self.progress.start_epoch(self.epoch + 1, self.recipe.epochs, self.run_pass.steps)
            self.sampler.set_epoch(self.epoch)
            start = time.perf_counter()
            first = self.epoch * self.run_pass.steps
            sums, rate = train_epoch(
                self.net, self.train_batches, self.optimizer, self.run_pass, first, self.progress
            )
            mine = sums.images
            sums = self._reduced(sums)
            rate *= sums.images / max(mine, 1)  # every process's images in rank 0's time
            val = self._reduced(evaluate(self.model, self.val_batches, self.run_pass))
            self.epoch += 1
            lr = self.optimizer.param_groups[0]["lr"]
            seconds = time.perf_counter() - start
            row = epoch_row(self.epoch, lr, sums, val, self.run_pass.k, rate, seconds)
            self.rows.append(row)
            self._write(row)
            self.progress.end_epoch(row)
        self._plot()

    def close(self) -> None:
        """Let go of DDP before the process group goes: its reducer holds gloo's work, which
        destroyed at the interpreter's exit, after the group, may abort the process."""
        if self.net is not self.model:
            self.net = self.model
            gc.collect()

    def _reduced(self, sums: Sums) -> Sums:
        """A pass's sums over every process (as they are, in one process)."""
        if not self.world.group:
            return sums
        images = torch.tensor(float(sums.images), device=sums.loss.device)
        loss, top1, topk, total = self.world.reduce([sums.loss, sums.top1, sums.topk, images])
        return Sums(loss, top1, topk, int(total))

    def _rng(self) -> dict[str, Any]:
        """This process's generators; in a checkpoint, rank 0's beside every rank's own."""
        rng: dict[str, Any] = {"cpu": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state_all()
        ranks = self.world.gather(rng)
        return {**ranks[0], "ranks": ranks} if self.world.group else rng

    def _state(self, rng: dict[str, Any]) -> dict[str, Any]:
        steps = self.epoch * self.run_pass.steps
        return checkpoint_dict(
            self.spec,
            self.model.state_dict(),
            epoch=self.epoch,
            optimizer=self.optimizer.state_dict(),
            schedule={"step": steps, "lr": learning_rate(self.recipe, steps, self.run_pass.steps)},
            rng=rng,
            metrics=list(self.rows),
            recipe=self.recipe.plain(),
            spec_hash=spec_hash(self.spec),
            classes=list(self.data.classes),
        )

    def _write(self, row: Row) -> None:
        """An epoch's files: the metrics, last.pt, best.pt if it is the best, the curves (by
        rank 0 alone, once every process has given its generators' state)."""
        rng = self._rng()
        if self.folder is None:
            return
        state = self._state(rng)
        self.folder.save("last.pt", state)
        if best_row(self.rows) is row:
            self.folder.save("best.pt", state)
        best = best_row(self.rows)
        self.folder.write_text("metrics.csv", metrics_csv(self.rows))
        self.folder.write_text(
            "metrics.json", metrics_json(self.rows, spec=self.spec.name, best=best)
        )
        if time.monotonic() - self.plotted > PLOT_EVERY:
            self._plot()

    def _plot(self) -> None:
        """Draw the curves (at the run's end, and during a long run every PLOT_EVERY s)."""
        if self.folder is not None and self.rows:
            plot_curves({self.spec.name: self.rows}, self.folder.path / "curves")
            self.plotted = time.monotonic()
