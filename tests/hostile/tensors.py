"""Tokens, layouts and learnable tensors (issue 20) used against netspec: tensors too large to
build, sizes past the bounds, reshapes and permutations that cannot be, attention that cannot
split its width. Each is refused at its line, or, where the file is fine but its network is too
large to build, checked statically and refused by the build's memory guard before torch
allocates anything."""

from __future__ import annotations

from . import Case

SPEC = "net.yaml"


def _net(input: str, layers: str) -> dict[str, str]:
    return {SPEC: f"name: net\ninput: {input}\nlayers:\n{layers}"}


def _refused(name: str, layers: str, message: str, input: str = "[3, 8, 8]") -> Case:
    return Case(name, ("check", SPEC), _net(input, layers), 1, message, position=True)


def _too_big(name: str, layers: str, input: str = "[1]") -> list[Case]:
    """Fine for check, refused by build's memory guard (the limit, and what to do)."""
    files = _net(input, layers)
    return [
        Case(f"{name}_check", ("check", SPEC), files, code=0),
        Case(
            f"{name}_build", ("build", SPEC), files, 1, r"needs about .* the limit is", torch=True
        ),
    ]


#: a million parameters in each of 4,000 copies: 4·10^9 parameters, counted, never allocated
COPIES = "  - repeat:\n      times: 4000\n      body:\n"
COPIES += "        - parameter: {name: 'p${i}', shape: [1000, 1000], to: p}\n"
COPIES += "        - add: {from: [input, p]}\n"

CASES = [
    *_too_big(
        "parameter_of_6_gb",
        "  - parameter: {shape: [40000, 40000], to: p}\n  - add: {from: [input, p]}\n",
        "[1, 40000]",
    ),
    *_too_big(
        "pad_to_192_gb", "  - pad: {amounts: [[0, 0], [0, 1000000000], [0, 0]]}\n", "[3, 8, 8]"
    ),
    *_too_big("parameters_in_every_copy", COPIES, "[1, 1000]"),
    _refused("reshape_past_the_bound", "  - reshape: [-1, 1000000000000]\n", "at most"),
    _refused("reshape_that_does_not_multiply_out", "  - reshape: [5, -1]\n", "192"),
    _refused("permute_of_a_thousand_axes", f"  - permute: {list(range(1000))}\n", "permut|axes"),
    _refused(
        "roll_past_the_bound", "  - roll: {shifts: [1000000000000000], axes: [1]}\n", "at most"
    ),
    _refused("select_far_out", "  - select: {index: 2000000000, axis: 0}\n", "index|range|axis"),
    _refused(
        "buffer_of_a_trillion",
        "  - buffer: {shape: [1099511627776], to: b}\n  - flatten\n",
        "at most",
    ),
    _refused(
        "attention_heads_past_the_width", "  - attention: 2147483647\n", "divide", input="[16, 8]"
    ),
    _refused(
        "parameter_of_no_axes", "  - parameter: {shape: [], to: p}\n  - flatten\n", "shape|at least"
    ),
]
