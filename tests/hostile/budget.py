"""Inputs that cost more than they look: expressions, params and names that grow, long chains
of blocks, floods of unknown words and of YAML nodes, values and lines too long to echo.
Every read-only command answers each within the budget."""

from __future__ import annotations

from pathlib import Path

from . import Case

HEAD = "name: net\ninput: [3]\n"
SPEC = "{dir}/net.yaml"
READERS = (
    ("check", ("check", SPEC)),
    ("dot", ("render", "--format", "dot", "-o", "{dir}/net.dot", SPEC)),
    ("static", ("summary", "--static", SPEC)),
)


def _net(body: str) -> dict[str, str]:
    return {"net.yaml": HEAD + body}


def _expr(text: str) -> dict[str, str]:
    return _net(f'layers:\n  - linear: "${{{text}}}"\n')


def _every(name: str, files: dict[str, object], message: str, **kw: object) -> list[Case]:
    """The case for each read-only command."""
    out = []
    for word, args in READERS:
        outputs = ("net.dot",) if word == "dot" else ()
        out.append(Case(f"{name}_{word}", args, files, message=message, outputs=outputs, **kw))  # type: ignore[arg-type]
    return out


def _chain(count: int, closed: bool) -> str:
    lines = [
        f"  a{i}: {{layers: [a{(i + 1) % count if closed else i + 1}]}}\n" for i in range(count)
    ]
    end = "" if closed else f"  a{count}: {{layers: [relu]}}\n"
    return "blocks:\n" + "".join(lines) + end + "layers: [a0]\n"


def _flat_flood(path: Path) -> None:
    with path.open("w") as f:
        f.write(HEAD + "layers: [")
        f.write("relu," * ((16 * 2**20 - 100) // 5))
        f.write("relu]\n")


def _long_line(path: Path) -> None:
    path.write_text(HEAD + "layers:\n  - linear: " + "x" * (15 * 2**20) + "\n")


def _unknown_kinds(path: Path) -> None:
    path.write_text(HEAD + "layers:\n" + "".join(f"  - zzkind{i}\n" for i in range(40_000)))


def _params_doubling(kind: str) -> str:
    if kind == "list":
        first = "  p0: [" + ", ".join(map(str, range(100))) + "]\n"
        step = "  p{i}: '${{p{j} + p{j}}}'\n"
    elif kind == "tree":
        first = "  p0: [" + ", ".join(map(str, range(100))) + "]\n"
        step = "  p{i}: ['${{p{j}}}', '${{p{j}}}']\n"
    else:
        first = "  p0: '" + "x" * 1000 + "'\n"
        step = "  p{i}: '${{p{j}}}${{p{j}}}'\n"
    lines = "".join(step.format(i=i, j=i - 1) for i in range(1, 60))
    return "params:\n" + first + lines + "  z: 'x${p59}'\nlayers: [relu]\n"


def _functions_in_a_repeat() -> str:
    """f9(i) costs about 2,000 steps, within its own 10,000; 9,000 copies cost 18 million."""
    chain = "".join(f"  f{k}(x): ${{f{k - 1}(x) + f{k - 1}(x)}}\n" for k in range(2, 10))
    return (
        "functions:\n  f1(x): ${x + 1}\n" + chain + "layers:\n  - repeat:\n      times: 9000\n"
        '      body:\n        - relu: {inplace: "${f9(i) < 0}"}\n'
    )


def _read_in_every_copy(expression: str) -> str:
    """A list of 10,000 names read by each of 9,000 copies."""
    return (
        "params:\n  xs: ${numbered('y', 10000)}\nlayers:\n  - repeat:\n      times: 9000\n"
        f'      body:\n        - relu: {{inplace: "${{{expression}}}"}}\n'
    )


def _many_params(body: str, copies: int, layer: str = "'relu' if p19999 > 0 else 'tanh'") -> str:
    """20,000 params, seen by every copy of a repeat and every call of a block (each copied
    them once), and a layer the block computes from them."""
    params = "".join(f"  p{k}: {k}\n" for k in range(20_000))
    return (
        "params:\n" + params + f'blocks:\n  unit: {{layers: ["${{{layer}}}"]}}\n'
        f"layers:\n  - repeat:\n      times: {copies}\n      body: [{body}]\n"
    )


#: a --set path of 60,000 steps (120 KB, within one argument's limit)
LONG_PATH = ".".join(["a"] * 60_000) + ".out=3"

CASES = [
    *_every(
        "functions_in_a_repeat",
        _net(_functions_in_a_repeat()),
        "takes more than 1,000,000 steps",
        position=True,
    ),
    Case(
        "list_read_in_every_copy", ("check", SPEC), _net(_read_in_every_copy("len(xs) < 0")), code=0
    ),
    Case(
        "list_searched_in_every_copy",
        ("check", SPEC),
        _net(_read_in_every_copy("'z' in xs")),
        message="takes more than 1,000,000 steps",
        position=True,
    ),
    Case("params_in_every_copy", ("check", SPEC), _net(_many_params("relu", 9_999)), code=0),
    Case("params_in_every_call", ("check", SPEC), _net(_many_params("unit", 4_999)), code=0),
    Case(  # the same error in every copy, each with its "did you mean" among 20,000 names
        "undefined_name_in_every_call",
        ("check", SPEC),
        _net(_many_params("unit", 4_999, "relu if p19999 > 0 else tanh")),
        message='undefined name "relu"',
        position=True,
    ),
    Case(
        "set_path_of_60000_steps",
        ("check", SPEC, "--set", LONG_PATH),
        _net("layers: [relu]\n"),
        message="the top-level layers are numbered 0 to 0",
    ),
    *_every("round_huge_digits", _expr("round(5, -10**18)"), r"round\(\) to", position=True),
    *_every("round_huge_digits_up", _expr("round(5.5, 10**18)"), r"round\(\) to", position=True),
    Case("round_word_digits", ("check", SPEC), _expr("round(5, 'a')"), message="whole number"),
    Case("int_of_huge_float", ("check", SPEC), _expr("int(1e308)"), message="out of range"),
    Case("ceil_of_huge_float", ("check", SPEC), _expr("ceil(1e300)"), message="out of range"),
    Case("floor_of_huge_float", ("check", SPEC), _expr("floor(-1e300)"), message="out of range"),
    Case(
        "make_divisible_tiny",
        ("check", SPEC),
        _expr("make_divisible(1e300, 1)"),
        message="out of range",
    ),
    Case(
        "make_divisible_fraction",
        ("check", SPEC),
        _expr("make_divisible(10, 0.000001)"),
        message="divisor of at least 1",
    ),
    Case(
        "numbered_long_names",
        ("check", SPEC),
        _expr("numbered('" + "y" * 400 + "', 10000)"),
        message="characters of names",
    ),
    Case("numbered_too_many", ("check", SPEC), _expr("numbered('y', 10**9)"), message="0 to"),
    Case("len_of_number", ("check", SPEC), _expr("len(5)"), message=r"len\(\) failed"),
    Case("min_of_nothing", ("check", SPEC), _expr("min([])"), message=r"min\(\) failed"),
    *_every("unary_minus_tower", _expr("-" * 450 + "1"), "nests more than 100", position=True),
    Case("not_tower", ("check", SPEC), _expr("not " * 110 + "1"), message="nests", position=True),
    *_every(
        "params_doubling_a_list", _net(_params_doubling("list")), "10,000 items", position=True
    ),
    *_every(
        "params_doubling_a_tree", _net(_params_doubling("tree")), "10,000 items", position=True
    ),
    *_every("params_doubling_text", _net(_params_doubling("text")), "2,000", position=True),
    Case(
        "list_formatted_into_text",
        ("check", SPEC),
        _net("params:\n  a: '${numbered(\"yyyyyyyyyy\", 10000)}'\n  b: 'x${a}'\nlayers: [relu]\n"),
        message="text made here is longer",
        position=True,
    ),
    *_every("block_chain_5000", _net(_chain(5000, False)), "nest more than 100"),
    *_every("block_cycle_5000", _net(_chain(5000, True)), "uses itself", position=True),
    *_every("unknown_kinds", {"net.yaml": _unknown_kinds}, "more than 100 problems"),
    *_every("flat_flood_16mib", {"net.yaml": _flat_flood}, "50,000 YAML nodes", position=True),
    *_every("long_line_15mib", {"net.yaml": _long_line}, "expected an integer", position=True),
    Case(
        "nul_byte",
        ("check", SPEC),
        _net("layers: [relu]\n  \x00\n"),
        message="control character",
        position=True,
    ),
    Case(
        "unclosed_expression_in_long_text",
        ("check", SPEC),
        _net("layers:\n  - linear: '${" + "x" * 400 + "'\n"),
        message="unclosed",
        position=True,
    ),
    Case(
        "set_alias_bomb",
        (
            "check",
            SPEC,
            "--set",
            "x=[&a [1,1,1,1,1,1,1,1,1,1], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], "
            "&c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c], "
            "&e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d], [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]]",
        ),
        _net("layers: [relu]\n"),
        code=2,
        message="50,000 YAML nodes",
    ),
    Case(
        "set_python_tag",
        ("check", SPEC, "--set", "x=!!python/name:os.system"),
        _net("layers: [relu]\n"),
        code=2,
        message="not allowed",
    ),
    Case(
        "set_long_value",
        ("check", SPEC, "--set", "x=" + "[" * 300),
        _net("layers: [relu]\n"),
        code=2,
        message="--set",
    ),
]
