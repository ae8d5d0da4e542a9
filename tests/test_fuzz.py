"""Any input either works or fails with a NetspecError: mutated specs through every command.

The normal suite runs a sample; ``pytest -m fuzz`` runs the long campaign (10,000 cases) and
prints its figures (cases, outcomes, time, peak memory) for docs/reliability.md.
"""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from typing import Any

import pytest
import torch
import yaml
from conftest import FIXTURES, SPECS, tree_places
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netspec
from netspec.report import format_summary, format_table
from netspec.summary import static_summary, torch_summary

SEEDS = [
    p.read_text()
    for folder in (SPECS, FIXTURES / "seed_mistakes", FIXTURES / "graphs", FIXTURES / "tokens")
    for p in sorted(folder.glob("*.yaml"))
]
#: what a build may cost in the fuzz run, and how long one case may take before it is a hang
BUILD_BYTES = 64 * 10**6
CASE_SECONDS = 20
MAX_LAYERS = 20_000

WORDS = [
    "conv",
    "pool",
    "relu",
    "linear",
    "flatten",
    "repeat",
    "residual",
    "inception",
    "group",
    "out",
    "kernel",
    "stride",
    "padding",
    "body",
    "branches",
    "times",
    "over",
    "as",
    "name",
    "expect",
    "layers",
    "blocks",
    "params",
    "input",
    "output",
    "args",
    "after",
    "shortcut",
    "mode",
    "global",
    "inline",
    "first",
    "batchnorm",
    "dropout",
    "softmax",
    "dim",
    # graphs: named tensors, merges, conditions, several inputs and outputs
    "from",
    "to",
    "if",
    "concat",
    "add",
    "mul",
    "inputs",
    "outputs",
    "input",
    "skip",
    "upsample",
    "conv_transpose",
    "slice",
    "level",
    # tokens, layouts, attention and learnable tensors
    "attention",
    "heads",
    "layernorm",
    "eps",
    "gelu",
    "reshape",
    "shape",
    "layout",
    "permute",
    "transpose",
    "axes",
    "axis",
    "select",
    "index",
    "strided_slice",
    "start",
    "end",
    "step",
    "pixel_unshuffle",
    "factor",
    "roll",
    "shifts",
    "pad",
    "amounts",
    "parameter",
    "buffer",
    "init",
    "std",
    "batch_axis",
    "persistent",
    "tokens",
    "channels",
    "last",
]
scalars = st.one_of(
    st.integers(-3, 300),
    st.sampled_from([0, -1, 2**31, 2**63, 10**30, -(10**20)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.sampled_from(
        [
            "${out * 2}",
            "${i}",
            "${nope}",
            "${1/0}",
            "${2**4096}",
            "$${x}",
            "${",
            "${[1, 2]}",
            "${'a' * 3}",
            "${channels()}",
            "${channels(input)}",
            "${channels(skip) // 2}",
            "${height() > 4}",
            "${depth - 1}",
            "${depth > 0}",
            "${depth + 1}",
            "${shape()}",
            "same",
            "max",
            "avg",
            "identity",
            "projection",
        ]
    ),
    # a fresh list each time: the mutations edit what they place in the tree
    st.builds(lambda: ["skip", "up"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=6), inner, max_size=4),
    ),
    max_leaves=12,
)


def _get(tree: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        tree = tree[p]
    return tree


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    if draw(st.integers(0, 9)) == 0:  # damage the text itself: YAML errors, odd bytes
        cut = draw(st.integers(0, len(text)))
        junk = draw(st.text(max_size=8))
        return text[:cut] + junk + text[cut + draw(st.integers(0, 20)) :]
    tree = yaml.safe_load(text)
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3, 4]))):
        places = tree_places(tree)
        path = draw(st.sampled_from(places[1:] or places))
        parent = _get(tree, path[:-1]) if path else None
        action = draw(
            st.sampled_from(["tweak", "tweak", "replace", "delete", "duplicate", "nest", "rename"])
        )
        if parent is None:
            tree = draw(values)
            continue
        key = path[-1]
        if action == "tweak":  # a plausible edit: a nearby number, another word of the language
            old = parent[key]
            if isinstance(old, int) and not isinstance(old, bool):
                parent[key] = draw(st.sampled_from([old + 1, old - 1, old * 2, old // 2, 0, 1, 3]))
            else:
                parent[key] = draw(st.sampled_from(WORDS) if isinstance(old, str) else values)
        elif action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(key, parent[key])
        elif action == "nest":
            parent[key] = draw(
                st.sampled_from(
                    [
                        [parent[key]],
                        {"group": {"layers": [parent[key]]}},
                        {"repeat": {"times": 3, "body": [parent[key]]}},
                    ]
                )
            )
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(WORDS) | st.text(max_size=6))] = parent.pop(key)
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hang


OUTCOMES: Counter[str] = Counter()


def exercise(text: str, summaries: bool) -> None:
    """Everything a user can do with a spec; only NetspecError may come out."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        try:
            spec = netspec.loads(text, file="fuzz.yaml", max_layers=MAX_LAYERS)
        except netspec.NetspecError as e:
            assert e.diagnostics and all(d.file == "fuzz.yaml" for d in e.diagnostics)
            assert re.match(r"^fuzz\.yaml(:\d+:\d+)?: error: ", e.format())
            OUTCOMES["rejected"] += 1
            return
        format_table(spec.checked)
        spec.to_dot()
        format_summary(static_summary(spec), "json")
        if spec.memory(2) > BUILD_BYTES:  # the build's guard counts its forward batch of 2
            with pytest.raises(netspec.NetspecError, match="the limit is"):
                spec.build(max_bytes=BUILD_BYTES)
            OUTCOMES["checked, too big to build"] += 1
            return
        model = spec.build(max_bytes=BUILD_BYTES).eval()
        with torch.no_grad():
            out = model(*(torch.zeros(1, *s.dims) for s in spec.input_shapes.values()))
        outs = list(out.values()) if isinstance(out, dict) else [out]
        assert [tuple(o.shape[1:]) for o in outs] == [s.dims for s in spec.output_shapes.values()]
        if summaries:
            format_summary(torch_summary(spec), "csv")
        OUTCOMES["built"] += 1
    finally:
        signal.alarm(0)


@settings(
    max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
@given(mutated_specs(), st.integers(0, 9))
def _sample(text: str, n: int) -> None:
    exercise(text, summaries=n == 0)


#: the outcomes of the sample, once it has run through without a failure in this process
SAMPLED: Counter[str] = Counter()


def sampled() -> Counter[str]:
    """Run the sample (derandomized: the same cases each time) and count its outcomes."""
    OUTCOMES.clear()
    SAMPLED.clear()
    _sample()
    SAMPLED.update(OUTCOMES)
    return SAMPLED


def test_mutated_specs_fail_only_with_netspec_errors():
    sampled()


def test_the_mutations_leave_many_specs_valid():
    """The campaign must exercise build and summary, not only rejections. The sample is the
    test above's (run again where it has not run through in this process)."""
    outcomes = SAMPLED or sampled()
    assert outcomes["built"] >= 5 and outcomes["checked, too big to build"] >= 1, dict(outcomes)


@pytest.mark.fuzz
@settings(
    max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck), database=None
)
@given(mutated_specs(), st.integers(0, 9))
def test_fuzz_campaign(text, n):
    exercise(text, summaries=n == 0)


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Any:
    start = time.perf_counter()
    yield
    if request.config.getoption("-m") == "fuzz":
        status = open("/proc/self/status").read()  # noqa: SIM115 - read once
        peak = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) // 1024  # type: ignore[union-attr]
        seconds = time.perf_counter() - start
        print(
            f"\nfuzz: {sum(OUTCOMES.values()):,} cases in {seconds:,.0f} s, "
            f"peak memory {peak:,} MB; {dict(OUTCOMES)}"
        )
