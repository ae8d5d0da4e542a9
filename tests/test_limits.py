"""Hostile inputs are refused quickly, in bounded memory, with a clear error (never a crash).

Each case runs as a fresh `netspec` process; its wall time and peak memory (VmHWM) are checked
against generous bounds: the point is that every case ends, not how fast.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time

import pytest
from conftest import ROOT

SECONDS = 20
PEAK_BYTES = 400 * 1024 * 1024
#: what building may take beyond importing torch (whose own size differs between its builds:
#: about 220 MiB for the CPU build, 510 MiB for the CUDA build the test environment has)
PEAK_ABOVE_TORCH = 200 * 1024 * 1024

RUN = """
import json, re, sys
from netspec.cli import main
code = main(sys.argv[1:])
status = open("/proc/self/status").read()
peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024
print(json.dumps({"code": code, "peak": peak}), file=sys.__stdout__)
"""


def alias_bomb() -> str:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 12):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\nname: x\ninput: [1]\nlayers: [relu]\n"


CASES = {
    "alias_bomb": (alias_bomb(), "YAML nodes"),
    "deep_nesting": (
        "name: x\ninput: [1]\nlayers: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "nesting is too deep",
    ),
    "repeat_a_billion": (
        "name: x\ninput: [3]\nlayers:\n  - repeat: {times: 1000000000, body: [relu]}\n",
        "repeat of 1,000,000,000 copies",
    ),
    "nested_repeats": (
        "name: x\ninput: [3]\nlayers:\n  - repeat:\n      times: 1000\n      body:\n"
        "        - repeat: {times: 1000, body: [relu, tanh]}\n",
        "would expand to about",
    ),
    "block_recursion": (
        "name: x\ninput: [3]\nblocks:\n  a: {layers: [b]}\n  b: {layers: [a]}\nlayers: [a]\n",
        "uses itself",
    ),
    "huge_tensor": (
        "name: x\ninput: [2147483647, 2147483647, 2147483647]\nlayers: [relu]\n",
        "more values than a torch tensor",
    ),
    # graphs: recursions that never stop, each call making two more; references
    "recursion_never_stops": (
        "name: x\ninput: [3]\nblocks:\n  a:\n    args: {d: 0}\n    layers:\n"
        "      - a: {d: '${d + 1}', if: '${d >= 0}'}\n      - a: {d: '${d + 1}', if: '${d >= 0}'}\n"
        "layers: [a]\n",
        "calls itself more than 64 times",
    ),
    "recursion_through_an_expression": (
        "name: x\ninput: [3]\nparams: {me: a}\nblocks:\n  a: {layers: ['${me}', '${me}']}\n"
        "layers: [a]\n",
        "calls itself more than 64 times",
    ),
    "recursion_stopped_by_shapes_only": (
        "name: x\ninput: [3, 64, 64]\nblocks:\n  a:\n    layers:\n"
        "      - pool: {kernel: 2}\n"
        "      - a: {if: '${height() > 1}'}\n      - a: {if: '${height() > 1}'}\n"
        "layers: [a]\n",
        "calls itself more than 64 times",
    ),
    "tensor_before_it_is_made": (
        "name: x\ninput: [3]\nlayers:\n"
        + "".join(f"  - relu: {{from: t{i + 1}, to: t{i}}}\n" for i in range(5000)),
        'tensor "t1" is used before it is made',
    ),
    "expression_tower": (
        "name: x\ninput: [3]\nlayers:\n  - linear: '${9 ** 9 ** 9 ** 9}'\n",
        "exponent too large",
    ),
}


@pytest.mark.parametrize("command", ["check", "build"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_is_refused_quickly_in_bounded_memory(tmp_path, case, command):
    text, expected = CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", RUN, command, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.perf_counter() - start
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 1, proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"{path}:")
    assert seconds < SECONDS
    assert result["peak"] < PEAK_BYTES


def test_a_big_file_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    with path.open("wb") as f:
        f.truncate(100 * 1024 * 1024)
    proc = subprocess.run(
        [sys.executable, "-m", "netspec", "check", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "specs are limited to 16,777,216" in proc.stderr


@functools.cache
def torch_peak() -> int:
    """The peak memory of a process that only imports torch, in bytes."""
    code = "import torch, re; s = open('/proc/self/status').read(); "
    code += "print(int(re.search(r'VmHWM:\\s+(\\d+) kB', s).group(1)) * 1024)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return int(proc.stdout)


def test_building_only_what_fits(tmp_path):
    limit = torch_peak() + PEAK_ABOVE_TORCH
    path = tmp_path / "huge.yaml"
    path.write_text(
        "name: huge\ninput: [65536]\nlayers:\n  - repeat: {times: 3, body: [{linear: 65536}]}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", RUN, "build", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 1 and result["peak"] < limit
    assert "needs about 51.5 GB (12,885,098,496 parameters" in proc.stderr
    assert "--meta" in proc.stderr
    meta = subprocess.run(
        [sys.executable, "-c", RUN, "build", "--meta", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = json.loads(meta.stdout.strip().splitlines()[-1])
    assert result["code"] == 0 and result["peak"] < limit, meta.stderr
    assert "params  12,885,098,496" in meta.stdout
    small = subprocess.run(
        [sys.executable, "-m", "netspec", "build", "lenet", "--max-memory", "0.0001"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert small.returncode == 1 and "the limit is 100.0 kB" in small.stderr
