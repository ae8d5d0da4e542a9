"""netspec's benchmarks: ``python -m bench`` (``--quick`` for a tiny run, ``--device cuda``).

Every figure is a median over repeated runs on the same machine, or a ratio of two such
medians measured in alternation, so that a shared, noisy machine affects both sides alike.

1. feedback latency: ``netspec check`` / ``netspec render --format dot`` as processes, against
   ``python -c "import torch"``;
2. scaling of the static pass: generated specs of 1,000 to 100,000 layers;
3. forward overhead: each bundled network built by netspec against the hand-written
   reference in ``bench/reference_models.py`` (eval, no_grad, batch 32 and 1), also compiled;
   and torch.compile's fixed cost per call (guards), each side;
4. build cost: spec file to module, against the reference's constructor;
5. huge models: a generated spec of over 10 billion parameters, checked and summarised;
6. hostile: every read-only case of the hostile corpus (tests/hostile) as a process, per
   family the slowest, the median and how many exceed the budget of 5 s.
7. lsp: the language server's diagnostics after a change on a 200-layer spec, after a pause
   and while typing (the debounce), and with an error (bench/lsp_cases.py).
8. diff: netspec diff on two versions of a spec of about 10,000 layers (an insertion that
   shifts every later index, a block's width, a width param), in the process and as a command
   (bench/diff_cases.py).
9. training: images/s of netspec.training.train against a hand-written PyTorch loop on the
   same model, data, batch and optimizer (LeNet at 28×28, ResNet-18 at 96×96), and the hand
   loop against itself (bench/training.py).
10. train_memory: the peak memory of a training step predicted from the spec against torch's
   CPU allocator (profiler memory events), six classic specs and ResNet-50 at batch 32, each
   measured in a process of its own (bench/train_memory.py).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import date

from . import cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings, to check it runs")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (forward, compiled)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for CPU timing")
    parser.add_argument("--only", nargs="*", choices=cases.SECTIONS, help="run these sections")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    networks = "forward, compiled, guards: these networks only"
    choices = [*cases.BUNDLED, *cases.GRAPHS, *cases.shipped_transformers()]
    parser.add_argument("--networks", nargs="*", choices=choices, help=networks)
    parser.add_argument("--batches", nargs="*", type=int, help="forward, compiled: these batches")
    parser.add_argument(
        "--runs",
        type=int,
        help="runs a figure (forward, compiled: per module; latency, lsp; default: each its own)",
    )
    args = parser.parse_args(argv)
    results: dict[str, object] = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, "
        f"{cases.cpu_count()} cores, Python {platform.python_version()}",
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    if args.device.startswith("cuda"):
        import torch

        results["gpu"] = torch.cuda.get_device_name(args.device)
        results["torch"] = torch.__version__
    for section in args.only or cases.SECTIONS:
        print(f"== {section}", flush=True)
        results[section] = cases.SECTIONS[section](args)
        print(json.dumps(results[section], indent=2), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
