"""Training memory: the peak of one training step predicted from the spec
(``netspec.train_memory``, no torch) against the peak torch's CPU allocator holds
(``netspec.training.peak.step_peak``: the profiler's memory events over two steps of SGD with
momentum, float32), for the six classic specs and torchvision's ResNet-50 at batch 32.

Each measurement runs in a process of its own, so that the memory of one network is returned
before the next is built. ``python -m bench --only train_memory``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPECS = ["lenet", "alexnet", "vgg", "nin", "googlenet", "resnet", "torchvision/resnet50"]
BATCH = 32
#: the estimate's promise against the measurement
TOLERANCE = 0.10

_MEASURE = """
import sys, torch
torch.set_num_threads(int(sys.argv[3]))
import netspec
from netspec.training.peak import step_peak
from netspec.training.recipe import Recipe
print(step_peak(netspec.load(sys.argv[1]), Recipe(batch=int(sys.argv[2]))))
"""


def measured(spec: str, batch: int, threads: int) -> int:
    """The measured peak of a step of ``spec`` (a file), in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, spec, str(batch), str(threads)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    return int(proc.stdout.split()[-1])


def train_memory_peaks(args: argparse.Namespace) -> dict[str, Any]:
    """Predicted and measured peak (MiB) and their difference (%) for each spec."""
    import netspec
    from netspec.train_memory import train_memory

    names, batch = (["lenet"], 4) if args.quick else (SPECS, BATCH)
    out: dict[str, Any] = {"batch": batch, "optimizer": "sgd, momentum 0.9"}
    out["threads"] = args.threads
    for name in names:
        path = str(ROOT / "specs" / f"{name}.yaml")
        predicted = train_memory(netspec.load(path), batch).peak
        peak = measured(path, batch, args.threads)
        error = (predicted - peak) / peak
        out[name] = {
            "predicted_mib": round(predicted / 2**20, 2),
            "measured_mib": round(peak / 2**20, 2),
            "error_percent": round(100 * error, 2),
            "within_10_percent": abs(error) <= TOLERANCE,
        }
        print(f"{name}: {out[name]}", flush=True)
    return out
