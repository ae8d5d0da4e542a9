"""Hostile inputs are refused quickly, in bounded memory, with a clear error (never a crash).

Each case runs as a `netspec` process of its own (forked from a server that has imported the
command line, tests/forkserver.py, as the hostile corpus's are; the building ones below, fresh);
its exit code, message and peak memory (VmHWM) are checked. How long a case takes depends on
the machine, so no test asserts it: the limits that keep it short are counts (steps, nodes,
copies), each tested here by the message that names it, and a process still running after
``HANG_SECONDS`` only stops a real hang.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT, cli
from forkserver import Server, Servers
from hostile import HANG_SECONDS

import netspec
from netspec.budget import COMMAND_STEPS
from netspec.source import read_source

#: every spec netspec ships or tests with: its specs, and the fixtures that load
BUNDLED_SPECS = sorted(
    str(p.relative_to(ROOT))
    for folder in ("specs", "tests/fixtures/graphs", "examples")
    for p in (ROOT / folder).glob("**/*.yaml")
    if "plugins" not in p.parts  # they need their plugin loaded
)

PEAK_BYTES = 400 * 1024 * 1024
#: what building may take beyond importing torch (whose own size differs between its builds:
#: about 220 MiB for the CPU build, 510 MiB for the CUDA build the test environment has)
PEAK_ABOVE_TORCH = 200 * 1024 * 1024

#: Each command of argv[1] (a JSON list of argument lists) in turn, in one process that imports
#: torch first: its peak (VmHWM) after torch alone, then its exit code and peak after each
#: command, a JSON line each. A peak only grows, so each command's is at most the one printed
#: after it; one process, not one a command and one for torch alone (about 3 s of CPU each).
#: It ends without the interpreter's teardown of torch's modules (half a second of CPU).
RUN = """
import json, os, re, sys
def peak():
    status = open("/proc/self/status").read()
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024
import torch
print(json.dumps({"torch": peak()}), file=sys.__stdout__)
from netspec.cli import main
for words in json.loads(sys.argv[1]):
    code = main(words)
    print(json.dumps({"code": code, "peak": peak()}), file=sys.__stdout__, flush=True)
    print(f"-- end of {words[0]}", file=sys.stdout, flush=True)
    print(f"-- end of {words[0]}", file=sys.stderr, flush=True)
sys.stdout.flush()
os._exit(0)
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


@pytest.fixture
def server(fork_servers: Servers) -> Server:
    return fork_servers[False]


@pytest.mark.parametrize("command", ["check", "build"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_is_refused_in_bounded_memory(tmp_path, case, command, server):
    text, expected = CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    code, peak, err = server.run([command, str(path)], ROOT, {}, HANG_SECONDS)
    assert code == 1, err
    assert expected in err and "Traceback" not in err
    assert err.startswith(f"{path}:")
    assert peak < PEAK_BYTES


def test_a_big_file_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    with path.open("wb") as f:
        f.truncate(100 * 1024 * 1024)
    run = cli("check", str(path))
    assert run.code == 1 and "specs are limited to 16,777,216" in run.err


@pytest.mark.slow
def test_building_only_what_fits(tmp_path):
    """A build that does not fit is refused before it allocates, and the same network builds
    on the meta device: each within what importing torch takes, plus PEAK_ABOVE_TORCH."""
    path = tmp_path / "huge.yaml"
    path.write_text(
        "name: huge\ninput: [65536]\nlayers:\n  - repeat: {times: 3, body: [{linear: 65536}]}\n"
    )
    commands = [["build", str(path)], ["build", "--meta", str(path)]]
    proc = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(commands)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_SECONDS,
    )
    assert proc.returncode == 0, proc.stderr
    torch_alone, refused, meta = (
        json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")
    )
    limit = torch_alone["torch"] + PEAK_ABOVE_TORCH
    assert refused["code"] == 1 and refused["peak"] < limit
    err_refused, err_meta = proc.stderr.split("-- end of build\n")[:2]
    assert "needs about 51.5 GB (12,885,098,496 parameters" in err_refused
    assert "--meta" in err_refused
    assert meta["code"] == 0 and meta["peak"] < limit, err_meta
    assert "params  12,885,098,496" in proc.stdout.split("-- end of build\n")[1]
    small = cli("build", "lenet", "--max-memory", "0.0001")
    assert small.code == 1 and "the limit is 100.0 kB" in small.err


def _functions_in_a_repeat(copies: int) -> str:
    """f9(i) calls f1 2^8 times (about 2,000 steps), once in each copy of a repeat."""
    chain = "".join(f"  f{k}(x): ${{f{k - 1}(x) + f{k - 1}(x)}}\n" for k in range(2, 10))
    return (
        "name: x\ninput: [3]\nfunctions:\n  f1(x): ${x + 1}\n" + chain + "layers:\n"
        f"  - repeat:\n      times: {copies}\n      body:\n"
        '        - relu: {inplace: "${f9(i) < 0}"}\n'
    )


def test_one_budget_for_every_expression_of_a_command():
    # each expression stays within its own 10,000 steps; together they are far over the budget
    spec = netspec.loads(_functions_in_a_repeat(100))
    assert 100 * 2_000 < spec.program.budget.spent < 100 * 2_100
    with pytest.raises(netspec.NetspecError) as e:
        netspec.loads(_functions_in_a_repeat(600), file="x.yaml")
    first = e.value.format().splitlines()[0]
    assert first == (
        "x.yaml:17:28: error: evaluating this spec takes more than 1,000,000 steps (every "
        "expression, repeat copy, block call and import of one command counted together); it ran "
        "out here"
    )
    assert len(e.value.diagnostics) == 1  # it stops there: every later expression would fail too


def test_the_budget_grows_with_the_layers_allowed():
    spec = netspec.loads(_functions_in_a_repeat(600), max_layers=20_000)
    assert spec.program.budget.limit == 2_000_000 and spec.program.budget.spent > 1_000_000


def test_the_shape_pass_and_the_imports_pay_from_the_same_budget(tmp_path):
    (tmp_path / "lib.yaml").write_text(
        "params: {w: 2}\nfunctions:\n  f1(x): ${x + w}\n"
        + "".join(f"  f{k}(x): ${{f{k - 1}(x) + f{k - 1}(x)}}\n" for k in range(2, 10))
        + "blocks:\n  unit:\n    layers:\n"
        + '      - conv: {out: 4, kernel: 1, groups: "${1 if f9(channels()) > 0 else 2}"}\n'
    )
    spec = tmp_path / "net.yaml"
    body = "name: x\ninput: [4, 4, 4]\nimports: [lib.yaml]\nlayers:\n"
    spec.write_text(body + "  - repeat: {times: 100, body: [unit]}\n")
    assert netspec.load(str(spec)).program.budget.spent > 100 * 2_000
    spec.write_text(body + "  - repeat: {times: 600, body: [unit]}\n")
    with pytest.raises(netspec.NetspecError) as e:
        netspec.load(str(spec))
    assert e.value.format().startswith(f"{tmp_path / 'lib.yaml'}:15:44: error: evaluating this")


def test_reading_a_long_list_in_every_layer_costs_one_step_a_read():
    text = (
        "name: x\ninput: [3]\nparams:\n  xs: ${numbered('y', 10000)}\nlayers:\n"
        '  - repeat:\n      times: 9000\n      body:\n        - relu: {inplace: "${len(xs) < 0}"}\n'
    )
    spent = netspec.loads(text).program.budget.spent
    assert spent < 10_000 * 3 + 9_000 * 10  # made and weighed once, then a few steps a copy


@pytest.mark.parametrize("name", [*BUNDLED_SPECS])
def test_every_bundled_spec_takes_a_small_part_of_the_budget(name):
    path = str(ROOT / name)
    doc = read_source(ROOT / name, name)
    for scale in [*(doc.data.get("scales") or {})] or [None]:
        spent = netspec.load(path, scale=scale).program.budget.spent
        # 2 %: Swin-S and -B, whose blocks read their sizes from their input, spend 11,835
        assert spent < COMMAND_STEPS // 50, (name, scale, spent)
