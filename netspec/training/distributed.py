"""Training in several processes: torchrun's environment, the process group, what the ranks
share, and ``--nproc N``, which starts torchrun's own launcher.

The engine is torch.distributed itself: DistributedDataParallel averages the gradients, a
``DistributedSampler`` gives each process its share of every global batch, and torchrun (its
elastic agent, in this process for ``--nproc``) starts the processes and their rendezvous.
A process knows it is one of many from the variables torchrun sets (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``); :func:`joined` joins the group (gloo on CPUs, NCCL on GPUs)
and leaves it however the block ends.

Example::

    world = World.from_env()            # rank 0 of 1 outside torchrun
    with joined(world, torch.device("cpu")):
        ...                             # train; world.reduce(sums) after each pass
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from ..errors import NetspecError
from .runfolder import RunFolder

#: The variables torchrun sets in each process it starts.
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@dataclass(frozen=True)
class World:
    """This process among the run's: its ``rank`` of ``size``, its ``local_rank`` on its
    machine (its GPU), and whether it runs under torchrun (``group``: it joins a process
    group, even a group of one)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    group: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> World:
        """This process's place, from torchrun's variables (one process of one without)."""
        env = os.environ if environ is None else environ
        if not all(key in env for key in TORCHRUN_ENV):
            return cls()
        try:
            rank, size, local = (int(env[key]) for key in TORCHRUN_ENV)
        except ValueError as e:
            shown = ", ".join(f"{key}={env[key]!r}" for key in TORCHRUN_ENV)
            raise NetspecError.plain(
                "environment", f"torchrun's variables are not numbers: {shown}"
            ) from e
        return cls(rank, size, local, group=True)

    @property
    def lead(self) -> bool:
        """Rank 0: the process that shows progress and writes the run folder."""
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """This process's device: its own GPU (``cuda:LOCAL_RANK``) where the run is on GPUs."""
        if device.type != "cuda" or not self.group:
            return device
        return torch.device("cuda", self.local_rank)

    def local_batch(self, batch: int, file: str) -> int:
        """This process's share of the global ``batch``, which must divide evenly."""
        if batch % self.size:
            raise batch_error(batch, self.size, file)
        return batch // self.size

    @contextlib.contextmanager
    def lead_first(self) -> Iterator[None]:
        """The block in each machine's first process (``LOCAL_RANK`` 0), then in the others:
        what it downloads, they find. Where it fails in a first process, the others stop
        too (their error is not shown: the first process says why)."""
        if not self.group:
            yield
            return
        if self.local_rank == 0:
            try:
                yield
            except BaseException:
                self._all_went_well(False)
                raise
            self._all_went_well(True)
            return
        if not self._all_went_well(True):
            raise NetspecError.plain(f"rank {self.rank}", "another process failed")
        yield

    def _all_went_well(self, mine: bool) -> bool:
        """Whether every process went well (each says for itself; a collective)."""
        flag = torch.tensor([int(mine)], device=_collective_device())
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item())

    def reduce(self, values: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """The sums over every process of ``values`` (scalars; as they are in one process)."""
        if not self.group:
            return list(values)
        both = torch.stack([v.to(torch.float64) for v in values])
        dist.all_reduce(both)
        return list(both.unbind())

    def gather(self, value: Any) -> list[Any]:
        """``value`` of every process, in rank order (pickled; for small things: RNG states)."""
        if not self.group:
            return [value]
        every: list[Any] = [None] * self.size
        dist.all_gather_object(every, value)
        return every


def _collective_device() -> torch.device:
    """Where the group's collectives take their tensors: this process's GPU under NCCL."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def batch_error(batch: int, size: int, file: str) -> NetspecError:
    return NetspecError.plain(
        file,
        f"the batch ({batch}) is the global batch, over the {size} processes together, "
        f"and {size} processes cannot share it evenly",
        f"make the batch a multiple of {size}, e.g. --batch {max(size, batch - batch % size)}",
    )


def check_processes(folder: RunFolder, size: int) -> None:
    """Refuse to resume a run in another number of processes than it ran in (each process's
    generators, and its share of each batch, are its own)."""
    trained_by = int(folder.about().get("processes", 1))
    if trained_by != size:
        raise NetspecError.plain(
            folder.shown,
            f"the run was trained by {_processes(trained_by)}, not {_processes(size)}",
            f"resume it as it ran: --nproc {trained_by} (or torchrun's --nproc-per-node and "
            f"--nnodes, {_processes(trained_by)} in all)",
        )


def _processes(n: int) -> str:
    return "1 process" if n == 1 else f"{n} processes"


def in_a_group() -> bool:
    """Whether this process is in a process group now (after :func:`joined`'s block: a group of
    the caller's, which it leaves as it found it)."""
    return dist.is_available() and dist.is_initialized()


@contextlib.contextmanager
def joined(world: World, device: torch.device) -> Iterator[None]:
    """The block in the run's process group (NCCL on GPUs, gloo on CPUs, by torchrun's
    ``env://`` rendezvous); the group is left however the block ends. Nothing to join for one
    process outside torchrun, or where the caller has joined a group already."""
    if not world.group or in_a_group():
        yield
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, rank=world.rank, world_size=world.size)
    try:
        yield
    finally:
        dist.destroy_process_group()


def launch(nproc: int, words: Sequence[str]) -> int:
    """Run ``netspec WORDS`` in ``nproc`` processes on this machine, started by torchrun's
    launcher (a standalone rendezvous on localhost, no restarts); the exit code of the first
    process that failed, else 0. Each process's torch gets its share of the cores, unless
    OMP_NUM_THREADS says otherwise."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    # the agent's own log (starting, stopping workers, which failed) is torchrun's, not the
    # run's, whose processes say why they fail; each of its modules' loggers has a level of its
    # own (torchrun's LOGLEVEL)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    if "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // nproc))
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=uuid.uuid4().hex,
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
        monitor_interval=0.1,
        start_method="spawn",
    )
    try:
        elastic_launch(config, sys.executable)("-m", "netspec", *words)
    except ChildFailedError as e:
        _, failure = e.get_first_failure()
        return failure.exitcode if failure.exitcode > 0 else 128 - failure.exitcode
    except SignalException as e:
        return 128 + int(e.sigval)
    return 0
