"""The benchmark script runs end to end on a tiny setting (times are not asserted).

Each section is a test of its own, run in this process (``bench.__main__.main``), so that the
sections run side by side and share this process's import of torch; ``python -m bench`` as a
command is run once, on its cheapest section.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from conftest import ROOT

from bench.__main__ import main
from bench.cases import SECTIONS

#: what a section's figures must show besides being there
EXPECTED: dict[str, Callable[[Any], bool]] = {
    "forward": lambda figures: figures["resnet/batch2"]["ratio"] > 0,
    "huge": lambda figures: figures["summary_meta"]["peak_mb"] > 0,
    # --quick times one read-only case, of the hostile corpus's first family
    "hostile": lambda figures: figures["archives"]["cases"] == 1 and figures["all"]["cases"] == 1,
}


def test_expected_figures_name_sections():
    assert set(EXPECTED) <= set(SECTIONS)


@pytest.mark.slow
@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_bench_quick_section_runs(section, tmp_path, capsys):
    import torch

    out = tmp_path / "bench.json"
    threads = torch.get_num_threads()
    try:
        # one timed run a module (forward, compiled): what is checked is that it runs; with the
        # threads this process has (the suite's share of the cores: more wait for each other)
        words = ["--quick", "--runs", "1", "--threads", str(threads), "--only", section]
        assert main([*words, "--json", str(out)]) == 0
    finally:
        torch.set_num_threads(threads)  # the timed sections set their own
    figures = json.loads(out.read_text())
    assert figures[section], section
    assert EXPECTED.get(section, bool)(figures[section]), figures[section]
    assert f"== {section}" in capsys.readouterr().out


def test_bench_command_runs_end_to_end(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "scaling", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(out.read_text())["scaling"]["deep"]["layers_to_seconds"]


def test_generated_specs_have_the_sizes_they_claim():
    import netspec
    from bench.cases import generated

    for kind in ("deep", "wide", "nested"):
        small, big = (
            len(netspec.loads(generated(kind, n), max_layers=100_000).checked.walk()) - 1
            for n in (1000, 10_000)
        )
        assert 500 <= small <= 2000 and 9 <= big / small <= 11, (kind, small, big)
