"""The benchmark sections; each returns a dict of figures (seconds, ratios, bytes)."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .diff_cases import diff_speed
from .hostile_cases import hostile_corpus
from .lsp_cases import lsp_latency
from .train_memory import train_memory_peaks

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ["lenet", "alexnet", "vgg", "nin", "googlenet", "resnet"]
#: graph networks timed against hand-written references (bench/reference_graphs.py, _mobile.py)
GRAPHS = ["unet", "torchvision/efficientnet_b0"]
#: networks of tokens and attention timed against torchvision's own models (those shipped)
TRANSFORMERS = ["torchvision/vit_b_16", "torchvision/swin_t", "torchvision/convnext_tiny"]


def reference(name: str) -> Any:
    """The hand-written PyTorch module of a bundled network."""
    from . import reference_graphs, reference_mobile, reference_models

    if name in reference_models.REFERENCES:
        return reference_models.REFERENCES[name]()
    graphs = {
        "unet": reference_graphs.unet,
        "torchvision/efficientnet_b0": reference_mobile.efficientnet_b0,
    }
    if name in graphs:
        return graphs[name]()
    import torchvision

    return getattr(torchvision.models, name.removeprefix("torchvision/"))()


def shipped_transformers() -> list[str]:
    """The :data:`TRANSFORMERS` whose specs ship (those not yet written are left out)."""
    from netspec.bundled import bundled_names

    shipped = set(bundled_names())
    return [name for name in TRANSFORMERS if name in shipped]


def cpu_count() -> int:
    return os.cpu_count() or 1


def _median_process(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def latency(args: argparse.Namespace) -> dict[str, Any]:
    """Wall time of the static commands as processes, against importing torch."""
    runs = args.runs or (3 if args.quick else 11)
    specs = [f"specs/{n}.yaml" for n in BUNDLED]
    py = sys.executable
    torch_import = _median_process([py, "-c", "import torch"], runs)
    check = _median_process([py, "-m", "netspec", "check", *specs], runs)
    drawn = BUNDLED[:1] if args.quick else BUNDLED  # --quick checks that it runs
    with tempfile.TemporaryDirectory() as tmp:
        render = statistics.median(
            _median_process(
                [py, "-m", "netspec", "render", n, "--format", "dot", "-o", f"{tmp}/{n}.dot"], runs
            )
            for n in drawn
        )
    return {
        "import_torch_s": round(torch_import, 3),
        "check_all_bundled_s": round(check, 3),
        "render_dot_one_spec_median_s": round(render, 3),
        "check_over_torch_import": round(check / torch_import, 3),
        "render_over_torch_import": round(render / torch_import, 3),
    }


def generated(kind: str, layers: int) -> str:
    """A spec of about ``layers`` layers: a deep repeat, a wide inception, nested blocks, or a
    graph whose every other layer adds a tensor named 50 layers earlier (long-range edges)."""
    head = "name: generated\ninput: [8, 16, 16]\n"
    if kind == "deep":
        return head + (
            f"layers:\n  - repeat:\n      times: {layers // 2}\n"
            "      body: [{conv: {out: 8, kernel: 3, padding: 1}}, relu]\n"
        )
    if kind == "wide":
        branches = max(1, layers // 20)
        return head + (
            "layers:\n  - repeat:\n      times: 10\n      body:\n        - inception:\n"
            "            merge: add\n"
            f"            branches: {[[{'conv': {'out': 8, 'kernel': 1}}]] * branches}\n"
        ).replace("'", '"')
    if kind == "graph":
        return head + (
            "layers:\n  - relu: {to: t0}\n  - repeat:\n"
            f"      times: {layers // 2}\n"
            "      body:\n"
            '        - conv: {out: 8, kernel: 1, to: "t${i + 1}"}\n'
            '        - add: {from: ["t${i + 1}", "t${max(0, i - 50)}"]}\n'
        )
    # nested blocks: a block of blocks of blocks, repeated
    return head + (
        "blocks:\n"
        "  unit: {layers: [{conv: {out: 8, kernel: 3, padding: 1}}, batchnorm, relu]}\n"
        "  pair: {layers: [unit, unit]}\n"
        "  quad: {layers: [pair, pair]}\n"
        f"layers:\n  - repeat: {{times: {max(1, layers // 12)}, body: [quad]}}\n"
    )


def scaling(args: argparse.Namespace) -> dict[str, Any]:
    """In-process time of load + check for generated specs of growing size."""
    import netspec

    sizes = [1_000, 2_000] if args.quick else [1_000, 10_000, 100_000]
    runs = 1 if args.quick else 3
    out: dict[str, Any] = {}
    for kind in ("deep", "wide", "nested", "graph"):
        times = {}
        for n in sizes:
            text = generated(kind, n)
            samples = []
            for _ in range(runs):
                start = time.perf_counter()
                spec = netspec.loads(text, max_layers=1_000_000)
                samples.append(time.perf_counter() - start)
            times[len(spec.checked.walk()) - 1] = round(statistics.median(samples), 3)
        out[kind] = {"layers_to_seconds": times}
        counts = sorted(times)
        if len(counts) >= 2:
            big, small = counts[-1], counts[-2]
            out[kind]["growth"] = round(times[big] / times[small], 2)
            out[kind]["size_ratio"] = round(big / small, 2)
    return out


def _timed(fn: Callable[[], Any], device: str) -> float:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _pair_forward(a: Any, b: Any, x: Any, reps: int, device: str) -> tuple[float, float]:
    """Median forward times of two modules, measured alternately after a warm-up."""
    import torch

    with torch.no_grad():
        for _ in range(2):
            a(x)
            b(x)
        ta, tb = [], []
        for i in range(reps):  # ABBA: neither side always runs first
            if i % 2:
                tb.append(_timed(lambda: b(x), device))
                ta.append(_timed(lambda: a(x), device))
            else:
                ta.append(_timed(lambda: a(x), device))
                tb.append(_timed(lambda: b(x), device))
    return statistics.median(ta), statistics.median(tb)


def _against_reference(ours: Any, ref: Any, x: Any, reps: int, device: str) -> dict[str, Any]:
    """Median times of netspec's module and the reference, and the reference against itself."""
    t_ours, t_ref = _pair_forward(ours, ref, x, reps, device)
    # the noise floor: the same reference module against itself, measured the same way
    t_a, t_b = _pair_forward(ref, ref, x, reps, device)
    return {
        "netspec_ms": round(t_ours * 1e3, 3),
        "reference_ms": round(t_ref * 1e3, 3),
        "ratio": round(t_ours / t_ref, 3),
        "reference_vs_itself": round(t_a / t_b, 3),
        "runs": reps,
    }


def forward(args: argparse.Namespace) -> dict[str, Any]:
    """netspec's module against the hand-written one: forward time ratio (≤ 1.02 is the goal)."""
    import torch

    import netspec

    torch.set_num_threads(args.threads)
    device = args.device
    names = ["lenet", "resnet"] if args.quick else (args.networks or [*BUNDLED, *GRAPHS])
    if not args.quick and not args.networks:
        names += shipped_transformers()
    out: dict[str, Any] = {}
    for name in names:
        spec = netspec.load(name)
        torch.manual_seed(0)
        ours = spec.build().eval().to(device)
        ref = reference(name).eval().to(device)
        # a batch of 32, or as many as about 1e11 MACs allow (a U-Net at 572×572 is 1 a batch)
        big = max(1, min(32, int(1e11 // max(spec.macs, 1))))
        batches = [2] if args.quick else (args.batches or sorted({big, 1}, reverse=True))
        for batch in batches:
            x = torch.randn(batch, *spec.input_shape.dims, device=device)
            work = spec.macs * batch
            reps = 3 if args.quick else max(5, min(101, int(2e10 / max(work, 1))))
            reps = args.runs or reps
            out[f"{name}/batch{batch}"] = _against_reference(ours, ref, x, reps, device)
    return out


def compiled(args: argparse.Namespace) -> dict[str, Any]:
    """The same with torch.compile (inductor) on both modules."""
    import torch

    import netspec

    torch.set_num_threads(args.threads)
    device = args.device
    names = ["lenet"] if args.quick else (args.networks or ["lenet", "resnet"])
    batches = [2] if args.quick else (args.batches or [32])
    # --quick only checks that this runs: aot_eager skips inductor's minutes of codegen
    backend = "aot_eager" if args.quick else "inductor"
    out: dict[str, Any] = {}
    for name in names:
        spec = netspec.load(name)
        ours = torch.compile(spec.build().eval().to(device), fullgraph=True, backend=backend)
        ref = torch.compile(reference(name).eval().to(device), backend=backend)
        for batch in batches:
            x = torch.randn(batch, *spec.input_shape.dims, device=device)
            reps = args.runs or (5 if args.quick else 31)
            out[f"{name}/batch{batch}"] = _against_reference(ours, ref, x, reps, device)
    return out


def guards(args: argparse.Namespace) -> dict[str, Any]:
    """torch.compile's fixed cost per call: a backend that runs no kernels leaves the guards."""
    import torch

    import netspec

    def no_kernels(gm: Any, _inputs: Any) -> Callable[..., Any]:
        outputs = len(next(n for n in gm.graph.nodes if n.op == "output").args[0])
        return lambda *_: (torch.empty(0),) * outputs

    names = ["lenet"] if args.quick else (args.networks or ["resnet", "googlenet"])
    calls, rounds = (20, 3) if args.quick else (200, 21)
    out: dict[str, Any] = {}
    for name in names:
        spec = netspec.load(name)
        x = torch.randn(1, *spec.input_shape.dims)
        sides = {
            "netspec": spec.build().eval(),
            "reference": reference(name).eval(),
        }
        compiled_sides = {
            side: torch.compile(m, backend=no_kernels, fullgraph=True) for side, m in sides.items()
        }
        times: dict[str, list[float]] = {side: [] for side in sides}
        with torch.no_grad():
            for fn in compiled_sides.values():
                fn(x)
            for _ in range(rounds):
                for side, fn in compiled_sides.items():
                    start = time.perf_counter()
                    for _ in range(calls):
                        fn(x)
                    times[side].append((time.perf_counter() - start) / calls)
        out[name] = {
            f"{side}_us": round(statistics.median(t) * 1e6, 1) for side, t in times.items()
        } | {f"{side}_modules": len(list(m.modules())) for side, m in sides.items()}
        torch._dynamo.reset()
    return out


def build_cost(args: argparse.Namespace) -> dict[str, Any]:
    """Spec file to ready module, against the hand-written constructor (torch imported)."""
    import torch

    import netspec

    torch.set_num_threads(args.threads)
    names = ["lenet"] if args.quick else BUNDLED
    runs = 3 if args.quick else 7
    out: dict[str, Any] = {}
    for name in names:
        path = ROOT / "specs" / f"{name}.yaml"
        netspec.load(path).build()  # warm: first use of each kind's model and of torch.nn
        reference(name)
        ta, tb = [], []
        for _ in range(runs):
            start = time.perf_counter()
            netspec.load(path).build()
            ta.append(time.perf_counter() - start)
            start = time.perf_counter()
            reference(name)
            tb.append(time.perf_counter() - start)
        a, b = statistics.median(ta), statistics.median(tb)
        out[name] = {
            "netspec_ms": round(a * 1e3, 2),
            "reference_ms": round(b * 1e3, 2),
            "ratio": round(a / b, 3),
        }
    return out


HUGE = """name: huge
description: a generated network of over 10 billion parameters
input: [4096]
layers:
  - repeat:
      name: blocks
      times: {times}
      body:
        - linear: {{name: fc, out: 32768}}
        - relu
  - linear: {{name: head, out: 1000}}
"""

PEAK = """
import re, sys, time
start = time.perf_counter()
from netspec.cli import main
code = main(sys.argv[1:])
seconds = time.perf_counter() - start
status = open("/proc/self/status").read()
peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024
print(code, seconds, peak, file=sys.__stderr__)
"""


def huge(args: argparse.Namespace) -> dict[str, Any]:
    """A spec of over 10 billion parameters: static check and meta-device summary."""
    times = 2 if args.quick else 11
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "huge.yaml"
        path.write_text(HUGE.format(times=times))
        for label, cmd in (
            ("check", ["check", str(path)]),
            ("summary_static", ["summary", "--static", str(path), "-o", f"{tmp}/s.json"]),
            ("summary_meta", ["summary", str(path), "-o", f"{tmp}/m.txt"]),
        ):
            samples = []
            for _ in range(1 if args.quick else 3):
                start = time.perf_counter()
                proc = subprocess.run(
                    [sys.executable, "-c", PEAK, *cmd],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                wall = time.perf_counter() - start
                code, inside, peak = proc.stderr.strip().splitlines()[-1].split()
                if code != "0":
                    raise RuntimeError(f"netspec {cmd[0]} failed: {proc.stderr[-500:]}")
                samples.append((wall, float(inside), int(peak)))
            out[label] = {
                "process_s": round(statistics.median(s[0] for s in samples), 3),
                "in_process_s": round(statistics.median(s[1] for s in samples), 3),
                "peak_mb": round(max(s[2] for s in samples) / 2**20),
            }
        import netspec

        spec = netspec.load(path)
        out["params"] = spec.num_params
        start = time.perf_counter()
        netspec.load(path)
        out["static_pass_in_process_s"] = round(time.perf_counter() - start, 4)
    return out


def training_speed(args: argparse.Namespace) -> dict[str, Any]:
    """bench/training.py's section, imported when it runs: it imports torch, which the static
    sections (``python -m bench --only scaling``) never need."""
    from .training import training_speed as timed

    return timed(args)


SECTIONS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "latency": latency,
    "scaling": scaling,
    "forward": forward,
    "compiled": compiled,
    "guards": guards,
    "build_cost": build_cost,
    "huge": huge,
    "hostile": hostile_corpus,
    "lsp": lsp_latency,
    "diff": diff_speed,
    "train_memory": train_memory_peaks,
    "training": training_speed,
}
