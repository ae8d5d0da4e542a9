"""Wall time of the hostile corpus (tests/hostile): every read-only case as a process.

The tests check how each case ends (exit code, message, memory, files) but not how long it
takes, which depends on the machine; this section times the cases against the budget
(``hostile.SECONDS``) on the machine it runs on.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent / "tests"


def _seconds(hostile: Any, case: Any, runs: int) -> tuple[float, int]:
    """Median wall time and largest peak memory of ``runs`` runs, each in a fresh folder."""
    samples, peaks = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "case"
            folder.mkdir()
            outcome = hostile.run(case, folder)
        samples.append(outcome.seconds)
        peaks.append(outcome.peak)
    return statistics.median(samples), max(peaks)


def hostile_corpus(args: argparse.Namespace) -> dict[str, Any]:
    """Per family of read-only cases: the slowest, the median and how many exceed the budget.

    Each case runs once; one over the budget runs twice more and keeps the median of three, so
    that a moment of load on a shared machine is not counted. ``--quick``: the first
    family's first case (each case is a process: one case of each family took 7 s of CPU)."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    import hostile

    out: dict[str, Any] = {"budget_s": hostile.SECONDS}
    every: list[float] = []
    families = sorted(hostile.corpus().items())
    for family, cases in families[:1] if args.quick else families:
        readers = [c for c in cases if not c.torch and not (c.skip and c.skip())]
        if args.quick:
            readers = readers[:1]
        if not readers:
            continue
        times: dict[str, float] = {}
        peak = 0
        for case in readers:
            seconds, case_peak = _seconds(hostile, case, 1)
            if seconds >= hostile.SECONDS:
                seconds, case_peak = _seconds(hostile, case, 3)
            times[case.name] = seconds
            peak = max(peak, case_peak)
        slowest = max(times, key=lambda name: times[name])
        out[family] = {
            "cases": len(times),
            "slowest": slowest,
            "slowest_s": round(times[slowest], 3),
            "median_s": round(statistics.median(times.values()), 3),
            "over_budget": sum(t >= hostile.SECONDS for t in times.values()),
            "largest_peak_mib": round(peak / 2**20),
        }
        every.extend(times.values())
    out["all"] = {
        "cases": len(every),
        "slowest_s": round(max(every), 3),
        "median_s": round(statistics.median(every), 3),
        "over_budget": sum(t >= hostile.SECONDS for t in every),
    }
    return out
