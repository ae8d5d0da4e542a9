"""Where a forward pass spends its time, op by op: netspec's module against torchvision's own.

``python -m bench.op_profile torchvision/swin_t --batch 22`` builds the spec and torchvision's
model of the same name (eval, no_grad, the same input, ``--threads`` as the bench's forward
section), runs each once to warm up, then ``--runs`` times in turns (ABBA) under
``torch.profiler`` (CPU), and prints per aten op its calls and its self CPU milliseconds a
pass, side by side; then the page faults of one pass each (the fresh memory the allocator took
from the system).

The calls are exact and do not depend on the machine's load; the milliseconds do. A shared
machine: read the counts, and the milliseconds only where they differ by far more than the
two totals do. ``--shapes N`` adds each side's N costliest (op, input shapes).
"""

from __future__ import annotations

import argparse
import resource
from collections import defaultdict
from typing import Any

Totals = dict[str, list[float]]


def profile_ops(models: list[Any], x: Any, runs: int, shapes: bool) -> list[Totals]:
    """For each model, the calls and self CPU ms per pass of each aten op (key: the op, or the
    op and its input shapes), the models profiled in turns (ABBA), each warmed up first."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    found: list[Totals] = [defaultdict(lambda: [0.0, 0.0]) for _ in models]
    with torch.no_grad():
        for model in models:
            model(x)
        for run in range(runs):
            turns = list(enumerate(models))
            for i, model in turns[::-1] if run % 2 else turns:
                with profile(activities=[ProfilerActivity.CPU], record_shapes=shapes) as p:
                    model(x)
                for e in p.key_averages(group_by_input_shape=shapes):
                    key = f"{e.key} {e.input_shapes}" if shapes else e.key
                    found[i][key][0] += e.count / runs
                    found[i][key][1] += e.self_cpu_time_total / runs / 1e3
    return found


def page_faults(model: Any, x: Any) -> int:
    """Minor page faults of one forward pass (after one to warm up)."""
    import torch

    with torch.no_grad():
        model(x)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        model(x)
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def side_by_side(ours: Totals, ref: Totals, floor_ms: float = 0.5) -> list[str]:
    """One line per op whose calls differ or that takes ``floor_ms`` on either side."""
    keys = sorted(set(ours) | set(ref), key=lambda k: -max(ours[k][1], ref[k][1]))
    lines = [f"{'op':32s} {'netspec calls':>13s} {'ms':>8s} {'torchvision calls':>17s} {'ms':>8s}"]
    for k in keys:
        a, b = ours[k], ref[k]
        if a[0] != b[0] or max(a[1], b[1]) >= floor_ms:
            lines.append(f"{k:32s} {a[0]:13g} {a[1]:8.1f} {b[0]:17g} {b[1]:8.1f}")
    total = [sum(v[i] for v in t.values()) for t in (ours, ref) for i in (0, 1)]
    lines.append(f"{'total':32s} {total[0]:13g} {total[1]:8.1f} {total[2]:17g} {total[3]:8.1f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.op_profile", description=__doc__)
    parser.add_argument("network", help="a shipped spec with a torchvision model of its name")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shapes", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)

    import torch

    import netspec

    from .cases import reference

    torch.set_num_threads(args.threads)
    spec = netspec.load(args.network)
    torch.manual_seed(0)
    ours, ref = spec.build().eval(), reference(args.network).eval()
    x = torch.randn(args.batch, *spec.input_shape.dims)
    a, b = profile_ops([ours, ref], x, args.runs, False)
    print("\n".join(side_by_side(a, b)))
    print(f"page faults a pass: netspec {page_faults(ours, x)}, torchvision {page_faults(ref, x)}")
    if args.shapes:
        both = profile_ops([ours, ref], x, args.runs, True)
        for label, costly in zip(("netspec", "torchvision"), both, strict=True):
            print(f"== {label}: the {args.shapes} costliest (op, input shapes)")
            top = sorted(costly.items(), key=lambda kv: -kv[1][1])[: args.shapes]
            for key, (calls, ms) in top:
                print(f"{calls:6g} {ms:8.1f}  {key[:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
