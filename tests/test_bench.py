"""The benchmark script runs end to end on a tiny setting (times are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


def test_bench_quick_runs_end_to_end(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = json.loads(out.read_text())
    from bench.cases import SECTIONS

    for section in SECTIONS:
        assert figures[section], section
    assert figures["forward"]["resnet/batch2"]["ratio"] > 0
    assert figures["huge"]["summary_meta"]["peak_mb"] > 0
    # --quick times one read-only case of each family of the hostile corpus
    assert figures["hostile"]["budget"]["cases"] == 1
    assert figures["hostile"]["all"]["cases"] >= 9


def test_generated_specs_have_the_sizes_they_claim():
    import netspec
    from bench.cases import generated

    for kind in ("deep", "wide", "nested"):
        small, big = (
            len(netspec.loads(generated(kind, n), max_layers=100_000).checked.walk()) - 1
            for n in (1000, 10_000)
        )
        assert 500 <= small <= 2000 and 9 <= big / small <= 11, (kind, small, big)
