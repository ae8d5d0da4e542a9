"""Any ``.pt2`` archive either imports or fails with a NetspecError, and nothing in it runs.

Real archives (``netspec build SPEC -o x.pt2``'s, and ``torch.export.save`` of small models:
a torchvision MobileNetV3, a gated and a two-headed network, one with an operator netspec
has no kind for) are mutated: bytes flipped, the file truncated, zip members replaced,
dropped, duplicated or deflated, the program's JSON edited (module paths, operator names,
shapes, symbolic sizes, huge numbers, recorded source files), weights turned into pickles.
Each case imports the archive as ``netspec import`` does (the spec written must check), and
then: only a NetspecError may have come out, the canary file that every payload would write
does not exist, and the case ended within :data:`CASE_SECONDS` (a FIFO named as a source file
would block it).

The normal suite runs a sample; ``pytest -m fuzz -s tests/test_fuzz_archive.py`` runs the
campaign (10,000 cases) and prints its figures (cases, outcomes, time, peak memory).
"""

from __future__ import annotations

import functools
import io
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import warnings
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pt2_archives as A
import pytest
from conftest import FIXTURES, SPECS, tree_places
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netspec

CASE_SECONDS = 20
#: where the campaign works: the canary every payload would create, a FIFO a trace names
WORK = Path(tempfile.mkdtemp(prefix="netspec-fuzz-archive-"))
CANARY = WORK / "canary"
FIFO = WORK / "fifo"
OUTCOMES: Counter[str] = Counter()

#: operators an edit may put in a node's place: ones netspec imports and ones it does not
TARGETS = [
    "torch.ops.aten.conv2d.default",
    "torch.ops.aten.linear.default",
    "torch.ops.aten.batch_norm.default",
    "torch.ops.aten.relu.default",
    "torch.ops.aten.cat.default",
    "torch.ops.aten.add.Tensor",
    "torch.ops.aten.mean.dim",
    "torch.ops.aten.max_pool2d.default",
    "torch.ops.aten.flatten.using_ints",
    "torch.ops.aten.view.default",
    "torch.ops.higher_order.cond",
    "_operator.getitem",
    "builtins.eval",
    "os.system",
    "",
]
#: values an edit may put anywhere in the program's JSON
VALUES: list[Any] = [
    0,
    1,
    -1,
    3,
    2**31,
    2**63,
    10**30,
    -(10**20),
    int("9" * 50),
    0.5,
    float("inf"),
    True,
    None,
    "",
    "a..b",
    "__class__",
    "forward",
    "training",
    "99999999999999999999",
    "0.20000",
    "stage.01",
    "x\ny",
    "\x1b[31mred",
    "L__self__,features.0,torch.nn.modules.conv.Conv2d",
    "L__self__,,torch.nn.modules.container.Sequential;L__self__x,x,os.system",
    f'File "{FIFO}", line 1, in forward\n    x = f(x)',
    'File "/dev/zero", line 99999999999, in forward\n    x',
    'File "/etc/passwd", line 1, in forward\n    x',
    A.sympy_payload(CANARY),
    "s0",
    {"as_int": 7},
    {"as_expr": {"expr_str": A.sympy_payload(CANARY), "hint": {"as_int": 2}}},
    {"as_tensor": {"name": "nowhere"}},
    {"as_tensors": [{"name": "input"}, {"name": "input"}]},
    {"as_ints": [1, 2**70]},
    {"as_scalar_type": 7},
    {"as_sym_int": {"as_name": "s0"}},
    [],
    [[[[[]]]]],
    {},
]


@functools.cache
def seed(name: str) -> bytes:
    """A real archive a case starts from (made once, kept in memory)."""
    import torch
    import torchvision

    sys.path.insert(0, str(FIXTURES / "importing"))
    import models

    from netspec.build import save_module

    if name == "lenet":  # what `netspec build specs/lenet.yaml -o lenet.pt2` saves
        spec = netspec.load(SPECS / "lenet.yaml")
        save_module(spec.build(), spec, WORK / "lenet.pt2")
        return (WORK / "lenet.pt2").read_bytes()
    made = {
        "gate": (models.Gate, (3, 16, 16)),
        "two_heads": (models.TwoHeads, (3, 8, 8)),
        "with_view": (models.WithView, (3, 8, 8)),
        "mobilenet": (
            functools.partial(torchvision.models.mobilenet_v3_small, width_mult=0.25),
            (3, 32, 32),
        ),
    }
    make, shape = made[name]
    torch.manual_seed(0)
    return A.export(make(), shape, WORK / f"{name}.pt2").read_bytes()


SEEDS = ("lenet", "gate", "two_heads", "with_view", "mobilenet")


def _entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def _zipped(entries: list[tuple[str, bytes]], deflate: bool) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", method) as z:
        warnings.simplefilter("ignore")  # a duplicated name is the point
        for name, content in entries:
            z.writestr(zipfile.ZipInfo(name), content, compress_type=method)
    return buffer.getvalue()


def _edit_json(program: dict[str, Any], rng: random.Random) -> None:
    """One edit of the program: mostly where it matters (nodes, sizes, the signature)."""
    graph = program["graph_module"]["graph"]
    nodes = graph["nodes"]
    action = rng.choice(["target", "stack", "trace", "size", "anywhere", "anywhere", "anywhere"])
    if action == "target" and nodes:
        rng.choice(nodes)["target"] = rng.choice(TARGETS)
        return
    if action in ("stack", "trace") and nodes:
        key = "nn_module_stack" if action == "stack" else "stack_trace"
        value = rng.choice([v for v in VALUES if isinstance(v, str)])
        rng.choice(nodes).setdefault("metadata", {})[key] = value
        return
    if action == "size" and graph["tensor_values"]:
        meta = graph["tensor_values"][rng.choice(list(graph["tensor_values"]))]
        if meta.get("sizes"):
            at = rng.randrange(len(meta["sizes"]))
            meta["sizes"][at] = rng.choice(
                [
                    {"as_int": rng.choice([0, 1, 7, 2**40, 2**63, 10**30, -1])},
                    {"as_expr": {"expr_str": A.sympy_payload(CANARY), "hint": None}},
                    {"as_int": "3"},
                ]
            )
        return
    places = tree_places(program)[1:]
    path = rng.choice(places)
    parent: Any = program
    for step in path[:-1]:
        parent = parent[step]
    key = path[-1]
    old = parent[key]
    choice = rng.choice(["tweak", "replace", "delete", "duplicate"])
    if choice == "tweak" and isinstance(old, int) and not isinstance(old, bool):
        parent[key] = rng.choice([old + 1, old - 1, old * 2, -old, 0, 2**63, 10**30])
    elif choice == "delete":
        del parent[key]
    elif choice == "duplicate" and isinstance(parent, list):
        parent.insert(key, json.loads(json.dumps(old)))
    else:
        parent[key] = json.loads(json.dumps(rng.choice(VALUES)))


def mutate(data: bytes, rng: random.Random) -> bytes:
    """A mutated archive: 1 to 3 edits of its bytes, its members or its program."""
    for _ in range(rng.choice([1, 1, 2, 3])):
        kind = rng.choice(["json"] * 6 + ["bytes", "truncate", "member", "pickle", "symbolic"])
        if kind == "bytes":
            raw = bytearray(data)
            for _ in range(rng.randint(1, 16)):
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            data = bytes(raw)
            continue
        if kind == "truncate":
            data = data[: rng.randrange(len(data))]
            continue
        try:
            entries = _entries(data)
        except Exception:  # already no readable zip (whatever zipfile says): no member edits
            continue
        top = entries[0][0].split("/")[0] + "/"
        if kind == "member":
            at = rng.randrange(len(entries))
            name, content = entries[at]
            what = rng.choice(["replace", "drop", "duplicate", "swap", "deflate"])
            if what == "replace":
                entries[at] = (name, rng.choice([b"", b"{", b"pt2", A.canary_pickle(CANARY)]))
            elif what == "drop":
                del entries[at]
            elif what == "duplicate":
                entries.insert(at, (name, rng.choice([content, b"{}"])))
            elif what == "swap":
                entries[at] = (name, rng.choice(entries)[1])
            data = _zipped(entries, deflate=what == "deflate")
            continue
        index = {n: i for i, (n, _) in enumerate(entries)}
        program_at = index.get(top + "models/model.json")
        if program_at is None:
            continue
        try:
            program = json.loads(entries[program_at][1])
        except ValueError:
            continue
        try:
            if kind == "pickle":
                config_at = index[top + "data/weights/model_weights_config.json"]
                config = json.loads(entries[config_at][1])
                for meta in config["config"].values():
                    meta["use_pickle"] = True
                    weight_at = index.get(top + "data/weights/" + meta["path_name"])
                    if weight_at is not None:
                        entries[weight_at] = (entries[weight_at][0], A.canary_pickle(CANARY))
                entries[config_at] = (entries[config_at][0], json.dumps(config).encode())
            elif kind == "symbolic":
                A.symbolic_sizes(CANARY)(program)
            else:
                _edit_json(program, rng)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError):
            continue  # an earlier edit took away what this one edits
        entries[program_at] = (entries[program_at][0], json.dumps(program).encode())
        data = _zipped(entries, deflate=rng.random() < 0.1)
    return data


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hang


def exercise(data: bytes) -> None:
    """``netspec import`` of the archive: a spec that checks, or a NetspecError; no payload
    ran, nothing blocked."""
    path = WORK / "case.pt2"
    path.write_bytes(data)
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        try:
            text = netspec.from_exported(path, "fuzz")
            netspec.loads(text, file="fuzz.yaml")  # the command writes only what checks
            OUTCOMES["imported"] += 1
        except netspec.NetspecError as e:
            assert e.diagnostics and e.format()
            OUTCOMES["refused"] += 1
    finally:
        signal.alarm(0)
    assert not CANARY.exists(), "an archive's payload ran"


@pytest.fixture(scope="module", autouse=True)
def _work() -> Any:
    # made here, not only when the module is imported: pytest-xdist may set this fixture up
    # again after its teardown removed the folder
    WORK.mkdir(parents=True, exist_ok=True)
    if not FIFO.exists():
        os.mkfifo(FIFO)
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    shutil.rmtree(WORK, ignore_errors=True)
    status = Path("/proc/self/status").read_text()
    peak = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) // 1024  # type: ignore[union-attr]
    print(
        f"\nfuzz archives: {sum(OUTCOMES.values()):,} cases in {seconds:,.0f} s, "
        f"peak memory {peak:,} MB; {dict(OUTCOMES)}"
    )


#: the normal suite's seeds (two, to stay within seconds); the campaign uses all
SAMPLE_SEEDS = ("lenet", "gate")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.sampled_from(SAMPLE_SEEDS), st.integers(0, 2**32))
def test_mutated_archives_fail_only_with_netspec_errors(name, n):
    exercise(mutate(seed(name), random.Random(n)))


@pytest.mark.fuzz
@pytest.mark.parametrize("name", SEEDS)
def test_the_seeds_import(name):
    """The campaign starts from archives netspec imports (one of them it refuses, by name)."""
    OUTCOMES.clear()
    exercise(seed(name))
    assert {"refused" if name == "with_view" else "imported": 1} == OUTCOMES
    OUTCOMES.clear()


@pytest.mark.fuzz
@settings(
    max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck), database=None
)
@given(st.sampled_from(SEEDS), st.integers())
def test_fuzz_archive_campaign(name, n):
    exercise(mutate(seed(name), random.Random(n)))
