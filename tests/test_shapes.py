"""The static pass against the real thing, kind by kind and on random networks (hypothesis).

Every registered kind needs an example here (a new kind is tested without anyone remembering
to); each example, and each generated network, is built and measured with forward hooks.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from crosscheck import assert_static_matches_module
from hypothesis import given
from hypothesis import strategies as st

import netspec
from netspec.registry import kind_names

#: kind → (input shape, layers) that exercise its options
EXAMPLES: dict[str, tuple[list[int], list[Any]]] = {
    "conv": (
        [6, 17, 15],
        [
            {"conv": {"out": 8, "kernel": [3, 5], "stride": [2, 1], "padding": [1, 2]}},
            {"conv": {"out": 4, "kernel": 3, "dilation": 2, "groups": 2, "bias": False}},
            {"conv": {"out": 4, "kernel": 4, "padding": "same", "padding_mode": "reflect"}},
            {"conv": {"out": 4, "kernel": 2, "padding": "valid", "padding_mode": "circular"}},
        ],
    ),
    "pool": (
        [3, 15, 16],
        [
            {"pool": {"mode": "max", "kernel": 3, "stride": 2, "ceil_mode": True}},
            {"pool": {"mode": "avg", "kernel": [2, 3], "padding": 1, "count_include_pad": False}},
            {"pool": {"mode": "max", "output": [3, 2]}},
            {"pool": {"mode": "avg", "global": True}},
        ],
    ),
    "linear": ([12], [{"linear": 7}, {"linear": {"out": 3, "bias": False}}]),
    "flatten": ([2, 3, 4], ["flatten"]),
    "dropout": ([5], [{"dropout": 0.3}]),
    "drop_path": ([4, 3, 3], [{"drop_path": 0.2}]),
    # attention written as a block (Swin's windows): scores, a scale, a bias read from a table
    "matmul": (
        [2, 5, 4],
        [
            {"identity": {"to": "x"}},
            {"matmul": {"from": ["x", "x"], "transpose": True, "to": "scores"}},
            {"matmul": {"from": ["scores", "x"]}},
        ],
    ),
    "scale": ([4, 3, 3], [{"scale": 0.5}, {"scale": {"by": -2}}]),
    "gather": (
        [3, 4, 4],
        [
            {"identity": {"to": "x"}},
            {"parameter": {"name": "table", "shape": [9, 3], "to": "t"}},
            {
                "buffer": {
                    "name": "index",
                    "shape": [16],
                    "init": "relative_position_index",
                    "window": 2,
                    "to": "i",
                }
            },
            {"gather": {"from": ["t", "i"]}},
            {"reshape": [4, 4, 3]},
            {"permute": {"axes": [2, 0, 1], "to": "bias"}},
            {"add": {"from": ["x", "bias"]}},
        ],
    ),
    # SPPF's one pool, run three times
    "call": (
        [4, 8, 8],
        [
            {"pool": {"name": "m", "kernel": 5, "stride": 1, "padding": 2}},
            {"call": "m"},
            {"call": "m"},
        ],
    ),
    "parameter": (
        [5, 8],
        [
            {"parameter": {"name": "cls", "shape": [1, 8], "batch_axis": True, "to": "c"}},
            {"concat": {"from": ["c", "input"], "to": "t"}},
            {"parameter": {"shape": [6, 8], "init": "normal", "std": 0.02, "to": "p"}},
            {"add": {"from": ["t", "p"]}},
        ],
    ),
    "buffer": (
        [4, 3],
        [
            {"buffer": {"shape": [4, 3], "init": "arange", "axis": -1, "to": "b"}},
            {"buffer": {"shape": [3], "init": "ones", "persistent": False, "to": "o"}},
            {"mul": {"from": ["input", "b", "o"]}},
        ],
    ),
    "identity": ([5], ["identity"]),
    "batchnorm": (
        [3, 4, 4],
        [
            {"batchnorm": {"eps": 0.001, "momentum": 0.01}},
            "flatten",
            {"batchnorm": {"affine": False}},
        ],
    ),
    "groupnorm": ([6, 4, 4], [{"groupnorm": 3}, {"groupnorm": {"groups": 2, "affine": False}}]),
    "instancenorm": (
        [3, 4, 4],
        [{"instancenorm": {"affine": True, "track_running_stats": True}}, "instancenorm"],
    ),
    "attention": (
        [6, 8],
        [{"attention": 2}, {"attention": {"heads": 4, "bias": False, "dropout": 0.1}}],
    ),
    "layernorm": (
        [3, 4, 4],
        ["layernorm", {"layernorm": {"bias": False}}, "flatten", {"layernorm": {"affine": False}}],
    ),
    "upsample": (
        [3, 5, 7],
        [
            {"upsample": {"scale": 2}},
            {"upsample": {"scale": [0.5, 1.5], "mode": "bilinear", "align_corners": False}},
            {"upsample": {"size": [9, 4], "mode": "nearest-exact"}},
        ],
    ),
    "conv_transpose": (
        [4, 5, 6],
        [
            {"conv_transpose": {"out": 6, "kernel": 3, "stride": 2, "padding": 1, "groups": 2}},
            {"conv_transpose": {"out": 3, "kernel": [2, 3], "dilation": 2, "output_padding": 1}},
        ],
    ),
    "slice": ([6, 3, 3], [{"slice": {"start": 1, "end": -1}}, "flatten", {"slice": {"end": 10}}]),
    "channel_shuffle": ([6, 3, 3], [{"channel_shuffle": 3}]),
    "group": (
        [3, 8, 8],
        [
            {"group": {"name": "stem", "layers": [{"conv": {"out": 4, "kernel": 3}}, "relu"]}},
            {"group": {"name": "one", "keep": True, "layers": [{"conv": {"out": 2, "kernel": 1}}]}},
        ],
    ),
    "repeat": (
        [3, 8, 8],
        [
            {"repeat": {"times": 3, "body": [{"conv": {"out": "${4 * (i + 1)}", "kernel": 1}}]}},
            {
                "repeat": {
                    "over": [[2, 3], [4, 1]],
                    "as": ["c", "k"],
                    "inline": True,
                    "body": [{"conv": {"out": "${c}", "kernel": "${k}"}}, "relu"],
                }
            },
            {"repeat": {"times": 2, "first": [{"pool": {"kernel": 2}}], "body": ["tanh"]}},
        ],
    ),
    "inception": (
        [4, 9, 9],
        [
            {
                "inception": {
                    "branches": [
                        [{"conv": {"out": 3, "kernel": 3, "padding": 1}}],
                        [],
                        [{"pool": {"kernel": 3, "stride": 1, "padding": 1}}],
                    ]
                }
            },
            {
                "inception": {
                    "merge": "add",
                    "branches": {"a": [{"conv": {"out": 11, "kernel": 1}}], "b": []},
                }
            },
        ],
    ),
    "residual": (
        [4, 9, 9],
        [
            {
                "residual": {
                    "body": [{"conv": {"out": 4, "kernel": 3, "padding": 1}}],
                    "after": "relu",
                }
            },
            {"residual": {"body": [{"conv": {"out": 8, "kernel": 3, "stride": 2, "padding": 1}}]}},
            {
                "residual": {
                    "body": [{"conv": {"out": 6, "kernel": 3, "stride": 2}}],
                    "shortcut": "projection",
                    "projection": {"batchnorm": True},
                }
            },
            {
                "residual": {
                    "body": [{"conv": {"out": 6, "kernel": 1}}],
                    "shortcut": "identity",
                    "after": {"leaky_relu": 0.2},
                }
            },
        ],
    ),
    "concat": (
        [4, 9, 9],
        [
            {"conv": {"out": 3, "kernel": 3, "padding": 1, "to": "a"}},
            {"conv": {"out": 5, "kernel": 1, "from": "input", "to": "b"}},
            {"concat": {"from": ["a", "b", "input"]}},
        ],
    ),
    "add": (
        [4, 9, 9],
        [
            {"conv": {"out": 4, "kernel": 3, "padding": 1, "to": "a"}},
            {"add": {"from": ["input", "a", "a"]}},
        ],
    ),
    "split": (
        [6, 5, 5],
        [
            {"split": {"parts": 2, "to": ["a", "b"]}},
            {"conv": {"out": 4, "kernel": 1, "from": "b", "to": "c"}},
            {"split": {"sizes": [1, 3], "from": "c", "to": ["d", "e"]}},
            {"concat": {"from": ["a", "e", "d"]}},
            {"split": 7},
        ],
    ),
    "mul": (
        [6, 9, 9],
        [
            {"pool": {"global": True, "mode": "avg"}},
            {"conv": {"out": 6, "kernel": 1}},
            {"sigmoid": {"to": "gate"}},
            {"mul": {"from": ["input", "gate"]}},
        ],
    ),
    # layouts (issue 20)
    "reshape": (
        [6, 4, 4],
        [{"reshape": [-1, 8]}, {"reshape": {"shape": [4, 3, 8], "layout": "tensor"}}],
    ),
    "permute": ([6, 4, 5], [{"permute": [1, 2, 0]}, {"linear": 3}, {"permute": [-1, 0, 1]}]),
    "transpose": ([6, 4, 5], [{"flatten": {"start": 1}}, {"transpose": [0, 1]}, {"linear": 2}]),
    "select": ([5, 6], [{"select": 0}, {"linear": 2}]),
    "strided_slice": ([6, 8, 8], [{"strided_slice": {"axis": 1, "start": 1, "step": 2}}]),
    "pixel_unshuffle": ([3, 8, 8], [{"pixel_unshuffle": 2}, {"conv": {"out": 4, "kernel": 1}}]),
    "roll": ([4, 6, 6], [{"roll": {"shifts": [-2, 3], "axes": [1, 2]}}]),
    "pad": ([4, 6, 6], [{"pad": {"amounts": [[0, 0], [0, 1], [1, 1]], "value": 1.0}}]),
}
ACTIVATION_INPUT = ([3, 4, 4], None)
ACTIVATIONS = {
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "sigmoid",
    "tanh",
    "gelu",
    "silu",
    "hardswish",
    "mish",
    "softmax",
    "log_softmax",
    "hardsigmoid",
    "prelu",
    "softplus",
    "hardtanh",
    "selu",
    "celu",
    "softsign",
    "tanhshrink",
    "logsigmoid",
    "hardshrink",
    "softshrink",
}


def test_a_kept_group_of_one_layer_is_a_sequential_of_one():
    spec = netspec.loads(spec_text([3, 8, 8], EXAMPLES["group"][1]))
    keys = list(spec.build(device="meta").state_dict())
    assert keys == ["stem.0.weight", "stem.0.bias", "one.0.weight", "one.0.bias"]
    plain = {"group": EXAMPLES["group"][1][1]["group"] | {"keep": False}}
    keys = list(netspec.loads(spec_text([3, 8, 8], [plain])).build(device="meta").state_dict())
    assert keys == ["one.weight", "one.bias"]


def test_every_kind_has_an_example():
    assert set(kind_names()) == set(EXAMPLES) | ACTIVATIONS


def spec_text(input_shape: list[int], layers: list[Any]) -> str:
    return yaml.safe_dump({"name": "example", "input": input_shape, "layers": layers})


@pytest.mark.parametrize("kind", sorted(set(EXAMPLES) | ACTIVATIONS))
def test_kind_static_rule_equals_module(kind):
    if kind in ACTIVATIONS:
        shape, layers = [3, 4, 4], [kind, {kind: None}]
    else:
        shape, layers = EXAMPLES[kind]
    spec = netspec.loads(spec_text(shape, layers))
    assert_static_matches_module(spec, spec.build())


def test_a_group_input_is_what_its_first_layer_reads():
    """A group whose first layer reads a named tensor has that tensor's shape as its input (the
    diagram labels a collapsed group "input → output"), not the previous layer's output."""
    spec = netspec.loads(
        "name: x\ninputs: {image: [3, 8, 8], mask: [1, 8, 8]}\nlayers:\n"
        "  - conv: {out: 16, kernel: 1, to: a}\n"
        "  - conv: {out: 32, kernel: 3, stride: 2, padding: 1}\n"
        "  - group: {name: side, layers: [{conv: {out: 4, kernel: 1, from: a}}, relu], to: s}\n"
        "  - group: {name: masked, layers: [{conv: {out: 4, kernel: 1, from: mask}}, relu], "
        "to: m}\n"
        "  - add: {from: [s, m]}\n"
    )
    assert spec.checked.child("side").input.dims == (16, 8, 8)
    assert spec.checked.child("masked").input.dims == (1, 8, 8)
    assert spec.checked.input.dims == (3, 8, 8)  # the network's: its first input
    assert "16×8×8 → 4×8×8" in spec.to_dot(depth=1)


# --- random networks ---------------------------------------------------------------------------


def keep_size_layer() -> st.SearchStrategy[Any]:
    """Layers that keep height and width (so they fit inception branches and residual bodies)."""
    conv = st.builds(
        lambda out, k, bias: {"conv": {"out": out, "kernel": k, "padding": k // 2, "bias": bias}},
        st.integers(1, 6),
        st.sampled_from([1, 3, 5]),
        st.booleans(),
    )
    same = st.builds(
        lambda out, k: {"conv": {"out": out, "kernel": k, "padding": "same"}},
        st.integers(1, 6),
        st.integers(1, 4),
    )
    pool = st.builds(
        lambda mode: {"pool": {"mode": mode, "kernel": 3, "stride": 1, "padding": 1}},
        st.sampled_from(["max", "avg"]),
    )
    transposed = st.builds(
        lambda out: {"conv_transpose": {"out": out, "kernel": 3, "padding": 1}}, st.integers(1, 6)
    )
    simple = st.sampled_from(
        [
            "relu",
            "tanh",
            "batchnorm",
            "identity",
            {"dropout": 0.1},
            "gelu",
            "layernorm",
            {"groupnorm": 1},
            {"prelu": {"channels": True}},
            {"channel_shuffle": 1},
        ]
    )
    return st.one_of(conv, same, pool, transposed, simple)


def residual(body: list[Any], downsample: bool, bn: bool) -> Any:
    """A residual whose shortcut is the identity, or a projection when the body downsamples."""
    if downsample:
        body = [{"conv": {"out": 4, "kernel": 3, "stride": 2, "padding": 1}}, *body]
    return {
        "residual": {"body": body or ["relu"], "after": "relu", "projection": {"batchnorm": bn}}
    }


def any_layer(depth: int) -> st.SearchStrategy[Any]:
    conv = st.builds(
        lambda out, k, s, p, d: {
            "conv": {"out": out, "kernel": k, "stride": s, "padding": p, "dilation": d}
        },
        st.integers(1, 8),
        st.integers(1, 4),
        st.integers(1, 2),
        st.integers(0, 2),
        st.integers(1, 2),
    )
    pool = st.builds(
        lambda mode, k, s, ceil: {
            "pool": {"mode": mode, "kernel": k, "stride": s, "ceil_mode": ceil}
        },
        st.sampled_from(["max", "avg"]),
        st.integers(1, 3),
        st.integers(1, 2),
        st.booleans(),
    )
    adaptive = st.builds(
        lambda h, w: {"pool": {"mode": "avg", "output": [h, w]}},
        st.integers(1, 3),
        st.integers(1, 3),
    )
    upsample = st.builds(
        lambda scale, mode: {"upsample": {"scale": scale, "mode": mode}},
        st.sampled_from([0.5, 1.5, 2, [2, 0.75]]),
        st.sampled_from(["nearest", "bilinear"]),
    )
    grow = st.builds(
        lambda out, k, s: {"conv_transpose": {"out": out, "kernel": k, "stride": s}},
        st.integers(1, 8),
        st.integers(1, 4),
        st.integers(1, 2),
    )
    options = [conv, pool, adaptive, upsample, grow, keep_size_layer()]
    if depth < 2:
        body = st.lists(keep_size_layer(), min_size=0, max_size=3)
        options.append(
            st.builds(
                lambda bs: {"inception": {"branches": bs}}, st.lists(body, min_size=1, max_size=3)
            )
        )
        options.append(
            st.builds(
                residual, st.lists(keep_size_layer(), max_size=3), st.booleans(), st.booleans()
            )
        )
        options.append(
            st.builds(
                lambda n, b: {"repeat": {"times": n, "body": b}},
                st.integers(1, 3),
                st.lists(any_layer(depth + 1), min_size=1, max_size=2),
            )
        )
    return st.one_of(*options)


@st.composite
def networks(draw: st.DrawFn) -> str:
    shape = [draw(st.integers(1, 4)), draw(st.integers(6, 20)), draw(st.integers(6, 20))]
    layers = draw(st.lists(any_layer(0), min_size=1, max_size=5))
    if draw(st.booleans()):
        layers += ["flatten", {"linear": draw(st.integers(1, 10))}]
    return spec_text(shape, layers)


@given(networks())
def test_random_networks_static_equals_built(text):
    try:
        spec = netspec.loads(text)
    except netspec.NetspecError as e:
        # generated shapes may shrink below a kernel; anything else is a bug in the generator
        allowed = (
            "larger than the padded input",
            "empty output",
            "more than half the kernel",
            "cannot be concatenated",
        )
        assert any(a in str(e) for a in allowed), str(e)
        return
    assert_static_matches_module(spec, spec.build())


UNUSED = """
name: unused
input: [8, 8, 8]
blocks:
  block:
    args: {out: int, keep: true}
    layers:
      - conv: {out: "${out}", kernel: 1, to: y}
      - add: {from: [input, y], if: "${keep and channels(input) == out}"}
      - conv: {out: "${out}", kernel: 1, to: never}
      - relu: {from: y}
layers:
  - block: {out: 8, keep: false}
  - block: {out: 8}
"""


def test_unused_tensor_is_judged_over_every_call_of_its_block():
    """A tensor read only where an if: holds (the residual add, in some calls of a block) is
    used; a tensor read by no call (and not what the block hands back) is reported once, at
    its to:."""
    warnings = netspec.loads(UNUSED).warnings
    assert [(w.message, w.pos and w.pos.line) for w in warnings] == [
        ('tensor "never" is never used', 10)
    ]
