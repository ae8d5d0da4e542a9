"""Latency of the language server: a real ``netspec lsp`` process, driven as an editor drives
it (tests/lsp_client.py), on a spec of 200 layers written out one a line.

- ``after_pause_s``: a change made after a pause (longer than the debounce), to the diagnostics
  published for that version: the server checks it at once, so this is the check (in the
  checker process) plus the trips through the pipes and the JSON-RPC framing;
- ``while_typing_s``: the last of a burst of changes 50 ms apart, to its diagnostics: the
  debounce (the server waits until typing pauses for ``DEBOUNCE`` seconds) plus the above;
- ``with_error_s``: a change that breaks layer 100 (a shape error), to its diagnostics; the
  hovers' second check (:mod:`netspec.lsp.recovery`) runs after they are published;
- ``analyse_s`` and ``analyse_recover_s``: the check alone, in this process, of the valid
  spec and of the broken one with its recovery.

Each figure is the median of ``runs`` measurements (11; 3 with ``--quick``; ``--runs N``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent / "tests"
#: layers in the spec the server is timed on
LAYERS = 200
#: seconds between the changes of a burst, as keys are typed
KEYSTROKE = 0.05


def spec_text(layers: int = LAYERS, width: int = 16, broken: bool = False) -> str:
    """A spec of ``layers`` layers, one a line (conv, batchnorm, relu, ...); ``broken``: a
    linear at the middle, which needs a flat input (a shape error)."""
    lines = ["name: lsp_bench", "input: [3, 32, 32]", "layers:"]
    cycle = [
        f"  - conv: {{out: {width}, kernel: 3, padding: 1, bias: false}}",
        "  - batchnorm",
        "  - relu",
    ]
    for i in range(layers):
        lines.append("  - linear: 10" if broken and i == layers // 2 else cycle[i % 3])
    return "\n".join(lines) + "\n"


def _median_in_process(text: str, recover: bool, runs: int) -> float:
    from netspec.lsp.analysis import analyse

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        analyse(text, None, "bench.yaml", recover=recover)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def lsp_latency(args: argparse.Namespace) -> dict[str, Any]:
    """Diagnostics latency of ``netspec lsp`` on a 200-layer spec (see the module's text)."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from lsp_client import Client

    from netspec.lsp.server import DEBOUNCE

    runs = args.runs or (3 if args.quick else 11)
    client = Client()
    client.initialize()
    out: dict[str, Any] = {"layers": LAYERS, "debounce_s": DEBOUNCE, "runs": runs}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            uri = (Path(tmp) / "bench.yaml").as_uri()
            version = 1
            client.open(uri, spec_text(), version)
            client.diagnostics(uri, version=version, timeout=60)  # the checker's start
            timed: dict[str, list[float]] = {}
            for _ in range(runs):
                for name, burst, broken in (
                    ("after_pause_s", 1, False),
                    ("while_typing_s", 5, False),
                    ("with_error_s", 1, True),
                ):
                    time.sleep(DEBOUNCE * 2)  # a pause: the next change is not typing
                    for k in range(burst):
                        version += 1
                        start = time.perf_counter()
                        text = spec_text(width=16 + (version % 7), broken=broken)
                        client.change(uri, text, version)
                        if k < burst - 1:
                            time.sleep(KEYSTROKE)
                    client.diagnostics(uri, version=version, timeout=60)
                    timed.setdefault(name, []).append(time.perf_counter() - start)
            for name, samples in timed.items():
                out[name] = round(statistics.median(samples), 4)
    finally:
        client.close()
    out["analyse_s"] = round(_median_in_process(spec_text(), False, runs), 4)
    out["analyse_recover_s"] = round(_median_in_process(spec_text(broken=True), True, runs), 4)
    return out
