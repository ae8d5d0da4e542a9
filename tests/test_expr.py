"""The ${...} interpreter: arithmetic that works, and everything else refused."""

from __future__ import annotations

import pytest

from netspec.errors import Problem
from netspec.expr import evaluate, split_template, substitute
from netspec.helpers import make_divisible


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("out * 4", 256),
        ("width * 64", 32.0),
        ("out // 3", 21),
        ("out / 2", 32.0),
        ("max(1, out // 128)", 1),
        ("min(out, 10)", 10),
        ("round(width * 7)", 4),
        ("round(2.345, 1)", 2.3),
        ("2 if i == 0 else 1", 2),
        ("arch[1][0]", 3),
        ("arch[-1]", [3, 4]),
        ("len(arch)", 2),
        ("-out + 1", -63),
        ("out % 5", 4),
        ("2 ** 10", 1024),
        ("i < 1 and out > 1", True),
        ("not i", True),
        ("[out, out * 2]", [64, 128]),
        ("make_divisible(width * 60)", 32),
        ("ceil(out / 3)", 22),
        ("'a' + 'b'", "ab"),
    ],
)
def test_arithmetic(text, value):
    env = {"out": 64, "width": 0.5, "i": 0, "arch": [[1, 2], [3, 4]]}
    assert evaluate(text, env) == value


def test_templates_keep_types_or_format_text():
    assert substitute("${out}", {"out": 8}) == 8
    assert substitute("layer${i + 1}", {"i": 0}) == "layer1"
    assert substitute("${a}x${b}", {"a": 1.0, "b": True}) == "1xtrue"
    assert substitute("$${literal}", {}) == "${literal}"
    assert [getattr(p, "text", p) for p in split_template("a${x}b${y}")] == ["a", "x", "b", "y"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('echo hi')", "not allowed"),
        ("().__class__.__bases__", "not allowed"),
        ("open('/etc/passwd')", 'calling "open" is not allowed'),
        ("eval('1')", 'calling "eval" is not allowed'),
        ("exec('x=1')", 'calling "exec" is not allowed'),
        ("getattr(out, 'real')", 'calling "getattr" is not allowed'),
        ("out.real", "attribute access"),
        ("[x for x in arch]", "comprehension"),
        ("lambda: 1", "lambda"),
        ("__builtins__", "reserved"),
        ("_secret", "reserved"),
        ("(x := 3)", "assignment"),
        ("f'{out}'", "f-string"),
        ("2 ** 2 ** 2 ** 2 ** 2", "exponent too large"),
        ("10 ** 100", "exponent too large"),
        ("9" * 30, "out of range"),
        ("out * 10 ** 17", "out of range"),
        ("1 / 0", "division by zero"),
        ("1 // 0", "division by zero"),
        ("'ab' * 100000000", "needs numbers"),
        ("[1] * 100000000", "needs numbers"),
        ("max(*arch)", "*args"),
        ("round(x=1)", "keyword"),
        ("missing + 1", 'undefined name "missing"'),
        ("out +", "cannot parse"),
        ("arch[5]", "out of range"),
        ("{1: 2}", "mapping"),
        ("x" * 600, "longer than"),
        ("float('inf')", "needs numbers"),
        ("1e308 * 10", "not finite"),
    ],
)
def test_refused(text, message):
    env = {"out": 64, "arch": [[1, 2], [3, 4]]}
    with pytest.raises(Problem, match=message.replace("(", r"\(").replace("*", r"\*")):
        evaluate(text, env)


def test_unclosed_expression():
    with pytest.raises(Problem, match="unclosed"):
        substitute("${out", {"out": 1})


def test_make_divisible_matches_mobilenet_rounding():
    assert [make_divisible(v) for v in (32 * 0.75, 16 * 0.35, 96 * 1.4, 3)] == [24, 8, 136, 8]
    assert make_divisible(30, 8) == 32


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("round(5, -10**18)", {}, "round() to -1,000,000,000,000,000,000 digits"),
        ("round(5, 2.5)", {}, "round() takes a whole number of digits, got 2.5"),
        ("-" * 150 + "1", {}, "expression nests more than 100 levels deep"),
        ("numbered('y', 100000)", {}, "numbered() makes 0 to 10,000 names, not 100000"),
        ("xs + xs", {"xs": list(range(6000))}, "list longer than 10,000 items"),
        ("[xs, xs]", {"xs": list(range(6000))}, "(the items of lists in it counted too)"),
    ],
)
def test_every_value_an_expression_makes_is_bounded(text, env, message):
    with pytest.raises(Problem) as e:
        evaluate(text, env)
    assert message in e.value.message


def test_text_made_from_values_is_bounded():
    with pytest.raises(Problem, match="the text made here is longer than 2,000 characters"):
        substitute("x${xs}", {"xs": list(range(6000))})
