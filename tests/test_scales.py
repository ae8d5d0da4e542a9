"""Families of sizes (``scales:``) and a file's own ``functions:``, the general mechanism."""

from __future__ import annotations

import time

import pytest

import netspec as ns
from netspec.errors import NetspecError

FAMILY = """
name: family
input: [3, 32, 32]
params:
  classes: 10
  hidden: ${round(64 * width)}
scales:
  small: {width: 0.5, depth: 1}
  large: {width: 2.0, depth: 3}
functions:
  ch(c): ${ceil(c * width / 8) * 8}
  twice(c): ${2 * ch(c)}
layers:
  - conv: {out: "${ch(20)}", kernel: 3, padding: 1}
  - repeat:
      times: ${depth}
      body:
        - conv: {out: "${twice(8)}", kernel: 1}
  - pool: {global: true}
  - flatten
  - linear: ${hidden}
  - linear: ${classes}
"""


def test_the_first_scale_is_the_default_and_others_are_chosen_by_name():
    small = ns.loads(FAMILY)
    assert small.scale == "small" and list(small.scales) == ["small", "large"]
    assert small.scales["large"] == {"width": 2.0, "depth": 3}
    assert small.params == {"width": 0.5, "depth": 1, "classes": 10, "hidden": 32}
    large = ns.loads(FAMILY, scale="large")
    assert large.params["hidden"] == 128
    convs = [c for c in large.checked.walk() if c.node.kind.name == "conv"]
    # ch(20) = ceil(20 * 2 / 8) * 8 = 40; twice(8) = 2 * 16; three copies at depth 3
    assert [c.output.dims[0] for c in convs] == [40, 32, 32, 32]
    assert small.with_scale("large").num_params == large.num_params


def test_overrides_beat_the_scale_and_params_see_both():
    spec = ns.loads(FAMILY, scale="large", width=1.0, classes=5)
    assert spec.params == {"width": 1.0, "depth": 3, "classes": 5, "hidden": 64}
    assert spec.with_params(depth=2).scale == "large"


def test_a_scale_may_set_a_declared_param():
    text = FAMILY.replace(
        "  small: {width: 0.5, depth: 1}", "  small: {width: 0.5, depth: 1, classes: 3}"
    )
    text = text.replace("large: {width: 2.0, depth: 3}", "large: {width: 2.0, depth: 3}")
    assert ns.loads(text).params["classes"] == 3
    assert ns.loads(text, scale="large").params["classes"] == 10  # the default, where unset


def error(text: str, **kw: object) -> str:
    with pytest.raises(NetspecError) as e:
        ns.loads(text, "f.yaml", **kw)
    return e.value.format()


def test_an_unknown_scale_points_at_the_scales():
    message = error(FAMILY, scale="Large")
    assert 'f.yaml:7:1: error: scale "Large" is not one of the spec\'s scales' in message
    assert 'did you mean "large"? the scales are small, large' in message
    assert "declares no scales" in error("name: x\ninput: [3]\nlayers: [relu]\n", scale="n")


def test_a_scale_that_leaves_a_param_unset_is_an_error():
    text = FAMILY.replace("large: {width: 2.0, depth: 3}", "large: {width: 2.0}")
    message = error(text)
    assert 'f.yaml:8:23: error: scale small sets "depth", which scale large does not set' in message


def test_a_scale_value_of_the_wrong_type_is_an_error_at_it():
    text = FAMILY.replace(
        "small: {width: 0.5, depth: 1}", "small: {width: 0.5, depth: 1, classes: many}"
    )
    assert "scale small's classes: " in error(text)


@pytest.mark.parametrize(
    ("functions", "expected"),
    [
        ("  ch: ${c}", "function 'ch' is not written as name(parameters)"),
        ("  max(c): ${c}", 'function "max" is a helper'),
        ("  classes(c): ${c}", 'function "classes" is a param'),
        ("  f(c, c): ${c}", 'function "f" repeats a parameter'),
        ("  f(c): c + 1", "the body of f() must be one ${...} expression"),
        ("  f(c): ${c + later(c)}\n  later(c): ${c}", 'f() uses "later", which is not a parameter'),
        ("  f(c): ${f(c)}", 'f() uses "f", which is not a parameter'),
        ("  f(c): ${c +}", "cannot parse expression"),
    ],
)
def test_function_definitions_are_checked_where_written(functions, expected):
    text = FAMILY.split("functions:")[0] + "functions:\n" + functions + "\nlayers: [relu]\n"
    message = error(text)
    assert expected in message, message
    assert "f.yaml:11:" in message


def test_a_call_with_the_wrong_arguments_names_the_function():
    text = FAMILY.replace('"${ch(20)}"', '"${ch(20, 3)}"')
    assert "ch(c) takes 1 argument(s), got 2" in error(text)
    text = FAMILY.replace('"${ch(20)}"', '"${ch(0.5 * width)}"').replace("ceil(c", "ceil(c / 0")
    assert "in ch(c): division by zero" in error(text)


def test_functions_that_call_each_other_cannot_blow_up():
    chain = "".join(f"  f{k}(x): ${{f{k - 1}(x) + f{k - 1}(x)}}\n" for k in range(1, 40))
    text = (
        "name: blowup\ninput: [3]\nfunctions:\n  f0(x): ${x}\n"
        + chain
        + "layers:\n  - linear: ${f39(1)}\n"
    )
    start = time.perf_counter()
    message = error(text)
    assert time.perf_counter() - start < 5  # a budget, not a benchmark: exponential would be hours
    assert "steps to evaluate" in message or "nest more than" in message


WIDE_BLOCK = """blocks:
  wide:
    args: {c: int}
    layers:
      - conv: {out: "${ch(c)}", kernel: 1}
layers:
  - wide: {c: 20}
  - conv"""


def test_functions_are_the_files_own_and_blocks_see_them():
    spec = ns.loads(FAMILY.replace("layers:\n  - conv", WIDE_BLOCK), scale="large")
    assert spec.checked.walk()[1].output.dims[0] == 40


def test_numbered_names_tensors_for_a_concat():
    text = """
name: numbered
input: [4, 8, 8]
layers:
  - split: {parts: 2, to: [y0, y1]}
  - repeat:
      times: 3
      body:
        - conv: {out: 2, kernel: 1, from: "y${i + 1}", to: "y${i + 2}"}
  - concat: {from: "${numbered('y', 5)}"}
"""
    assert ns.loads(text).output_shape.dims == (10, 8, 8)
    assert "numbered() makes 0 to" in error(text.replace("numbered('y', 5)", "numbered('y', -1)"))


def test_a_count_that_rounds_to_zero_is_a_warning_at_the_repeat():
    text = FAMILY.replace("times: ${depth}", "times: ${round(depth * 0.3)}")
    spec = ns.loads(text, "f.yaml")
    assert [w.format().splitlines()[0] for w in spec.warnings] == [
        "f.yaml:16:14: warning: this repeat runs 0 times (${round(depth * 0.3)} is 0 here): "
        "its layers are left out"
    ]
    assert not ns.loads(text, "f.yaml", scale="large").warnings
    # a count of 0 written as a number is meant: no warning
    assert not ns.loads(text.replace("${round(depth * 0.3)}", "0")).warnings


def test_a_scale_holds_plain_values():
    text = FAMILY.replace("small: {width: 0.5, depth: 1}", 'small: {width: "${1 / 2}", depth: 1}')
    assert "f.yaml:8:18: error: scale small's width is an expression" in error(text)
