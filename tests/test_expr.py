"""The ${...} interpreter: arithmetic that works, and everything else refused."""

from __future__ import annotations

from collections import ChainMap

import pytest

from netspec.budget import Budget, BudgetSpent
from netspec.env import layered
from netspec.errors import Problem
from netspec.expr import Function, OutOfBudget, evaluate, substitute
from netspec.helpers import make_divisible
from netspec.interpolation import split_template


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


def test_every_expression_given_one_budget_pays_from_it():
    budget = Budget(limit=1_000)
    calls = 0
    with pytest.raises(BudgetSpent, match="takes more than 1,000 steps"):
        while calls < 1_000:
            evaluate("x + 1", {"x": 1}, budget=budget)  # three steps: +, x and 1
            calls += 1
    assert calls == 333


def test_reading_a_long_list_costs_one_step_once_it_is_weighed():
    xs = list(range(10_000))
    budget = Budget()
    for _ in range(1_000):
        assert evaluate("len(xs)", {"xs": xs}, budget=budget) == 10_000
    # weighed once (10,000), then two steps a read (the call, xs): never 1,000 × 10,000
    assert budget.spent == 10_000 + 1_000 * 2
    nested = [xs[:5_000], xs[:4_000]]
    before = budget.spent
    for _ in range(100):
        evaluate("xs[0][0]", {"xs": nested}, budget=budget)
    assert budget.spent - before < 2 * 9_002 + 100 * 5  # each list walked once at most


def test_what_copies_or_scans_a_list_pays_for_its_items_each_time():
    xs = list(range(5_000))
    budget = Budget()
    for _ in range(10):
        evaluate("-1 in xs", {"xs": xs}, budget=budget)
        evaluate("max(xs)", {"xs": xs}, budget=budget)
    assert budget.spent > 10 * 2 * 5_000
    with pytest.raises(BudgetSpent):
        for _ in range(100):
            evaluate("xs + xs", {"xs": xs}, budget=budget)  # each sum is a new list of 10,000


def test_a_budget_that_runs_out_says_in_which_expression():
    budget = Budget(limit=10)
    with pytest.raises(OutOfBudget) as e:
        substitute("${1}x${a + a + a + a + a + a + a + a + a}", {"a": 1}, budget=budget)
    assert e.value.index == 1
    assert e.value.message.startswith("evaluating this spec takes more than 10 steps")


def test_calls_of_functions_see_their_parameters_over_the_file_names():
    params = {f"p{k}": k for k in range(5_000)}
    double = Function("double", ("p1",), "p1 * 2 + p2", params)
    assert evaluate("double(10)", {**params, "double": double}) == 22


def test_a_repeat_copy_layers_its_names_over_many_params_without_copying_them():
    params = {f"p{k}": k for k in range(5_000)}
    copy = layered(params, {"i": 1})
    assert isinstance(copy, ChainMap) and copy.maps == [{"i": 1}, params]
    assert copy.maps[1] is params
    inner = layered(layered(copy, {"j": 2}), {"i": 3})  # small layers merge: two lookups at most
    assert isinstance(inner, ChainMap) and inner.maps == [{"i": 3, "j": 2}, params]
    assert inner.maps[1] is params
    assert (inner["i"], inner["j"], inner["p7"], "q" in inner, len(inner)) == (
        3,
        2,
        7,
        False,
        5_002,
    )
    assert layered({"a": 1}, {"i": 0}) == {"a": 1, "i": 0}  # a few names are copied
    assert evaluate("p4999 + i + j", inner) == 4_999 + 3 + 2
