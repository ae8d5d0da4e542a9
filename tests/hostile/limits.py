"""Each documented limit (docs/language.md, "Limits"): a file exactly at it is answered within
the budget, and one just over it is refused with a message saying which limit."""

from __future__ import annotations

from pathlib import Path

from . import Case

HEAD = "name: net\ninput: [3]\n"
SPEC = "{dir}/net.yaml"
CHECK = ("check", SPEC)
DOT = ("render", "--format", "dot", "-o", "{dir}/net.dot", SPEC)
STATIC = ("summary", "--static", SPEC)


def _pair(name: str, at: object, over: object, message: str, *args: str) -> list[Case]:
    """The file at the limit (fine, for check, the diagram and the static summary) and the
    file over it (refused)."""
    at_files = {"net.yaml": at}
    over_files = {"net.yaml": over}
    return [
        Case(f"{name}_at_check", (*CHECK, *args), at_files, code=0),  # type: ignore[arg-type]
        Case(f"{name}_at_dot", (*DOT, *args), at_files, code=0, outputs=("net.dot",)),  # type: ignore[arg-type]
        Case(f"{name}_at_static", (*STATIC, *args), at_files, code=0),  # type: ignore[arg-type]
        Case(f"{name}_over_check", (*CHECK, *args), over_files, message=message),  # type: ignore[arg-type]
        Case(f"{name}_over_dot", (*DOT, *args), over_files, message=message),  # type: ignore[arg-type]
    ]


def _file_of(size: int):  # type: ignore[no-untyped-def]
    def write(path: Path) -> None:
        body = HEAD + "layers: [relu]\n# "
        path.write_text(body + "x" * (size - len(body) - 1) + "\n")

    return write


def _nodes(count: int) -> str:
    # the nodes besides the list's items, as the reader counts them (keys and values, and
    # each mapping and list)
    fixed = 13
    return HEAD + "layers: [relu]\nparams:\n  a: [" + ", ".join(["1"] * (count - fixed)) + "]\n"


def _yaml_nesting(levels: int) -> str:
    # the top mapping, params' mapping, then the lists
    lists = levels - 2
    return HEAD + "layers: [relu]\nparams:\n  a: " + "[" * lists + "1" + "]" * lists + "\n"


def _layer_nesting(levels: int) -> str:
    blocks = "".join(f"  b{i}: {{layers: [b{i + 1}]}}\n" for i in range(levels - 1))
    return HEAD + "blocks:\n" + blocks + f"  b{levels - 1}: {{layers: [relu]}}\nlayers: [b0]\n"


def _repeat(times: int) -> str:
    return HEAD + f"layers:\n  - repeat: {{times: {times}, body: [relu]}}\n"


def _expression(chars: int) -> str:
    # flat (a call of many arguments), so that the length is what is tested, not the nesting
    text = "max(1" + ", 1" * ((chars - 6) // 3) + ")"
    text = text[:-1] + " " * (chars - len(text)) + ")"
    return HEAD + f"layers:\n  - linear: '${{{text}}}'\n"


def _imports(depth: int):  # type: ignore[no-untyped-def]
    def write(path: Path) -> None:
        for i in range(1, depth):
            nxt = f"  - m{i + 1}.yaml\n" if i + 1 < depth else ""
            imports = f"imports:\n{nxt}" if nxt else ""
            (path.parent / f"m{i}.yaml").write_text(
                f"name: m{i}\n{imports}blocks:\n  k{i}: {{layers: [relu]}}\n"
            )
        path.write_text(HEAD + "imports:\n  - m1.yaml\nlayers: [k1]\n")

    return write


def _recursion(calls: int) -> str:
    return HEAD + (
        "blocks:\n  a:\n    args: {d: 0}\n    layers:\n      - relu\n"
        f"      - a: {{d: '${{d + 1}}', if: '${{d < {calls - 1}}}'}}\nlayers: [a]\n"
    )


CASES = [
    *_pair(
        "file_size",
        _file_of(16 * 2**20),
        _file_of(16 * 2**20 + 1),
        "specs are limited to 16,777,216",
    ),
    *_pair("yaml_nodes", _nodes(50_000), _nodes(50_001), "50,000 YAML nodes"),
    *_pair("yaml_nesting", _yaml_nesting(200), _yaml_nesting(202), "nesting is too deep"),
    *_pair("layer_nesting", _layer_nesting(99), _layer_nesting(101), "nest more than 100"),
    *_pair("expanded_layers", _repeat(9_999), _repeat(10_000), "10,000 layers|9,999 still"),
    # one repeat may have as many copies as layers are still allowed (at least 10,000)
    *_pair(
        "repeat_copies",
        _repeat(10_000),
        _repeat(20_003),
        "repeat of 20,003 copies",
        "--max-layers",
        "20002",
    ),
    *_pair(
        "integers",
        HEAD + "layers:\n  - linear: '${10**18 // 10**17}'\n",
        HEAD + "layers:\n  - linear: '${10**18 + 1}'\n",
        "out of range",
    ),
    *_pair("expression_length", _expression(500), _expression(501), "longer than 500"),
    *_pair("recursion", _recursion(64), _recursion(66), "more than 64"),
    Case("imports_at_check", CHECK, {"net.yaml": _imports(50)}, code=0),
    Case("imports_over_check", CHECK, {"net.yaml": _imports(52)}, message="50"),
    Case("list_specs", ("list",), {}, code=0),
    Case(
        "new_spec", ("new", "mynet", "-o", "{dir}/mynet.yaml"), {}, code=0, outputs=("mynet.yaml",)
    ),
    Case("schema", ("schema",), {}, code=0),
]
