"""``netspec lsp`` completion: one case for every place a kind, option, argument, param, block,
tensor or library name can stand, called directly (a text with ``‸`` where the cursor is),
and end to end through a real server; and the reader of text being typed
(:mod:`netspec.lsp.outline`) on what editors hold meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsp_client import ROOT, Client

import netspec
from netspec.imports import library_names
from netspec.registry import kind_names

pytest.importorskip("pygls")

from lsprotocol import types

from netspec.lsp.analysis import Analysis, analyse
from netspec.lsp.completion import complete
from netspec.lsp.options import kind_options
from netspec.lsp.outline import ITEM, KEY, VALUE, Place, read
from netspec.lsp.positions import Text

KINDS = set(kind_names())
CURSOR = "‸"

#: a file's head: its params and the blocks it calls (the text being typed goes after it)
HEAD = """\
name: typing
input: [3, 16, 16]
params: {width: 16}
imports: [std:conv]
blocks:
  mine:
    args: {out: int, act: relu}
    layers: [{conv: {out: "${out}", kernel: 1}}]
"""
#: the file as it was at its last check
BASE = HEAD + "layers: [relu]\n"


def offered(marked: str, base: str | None = BASE, path: Path | None = None) -> dict[str, Any]:
    """The completion items at ``‸`` in ``marked``, by label, with the blocks and params that
    ``base`` (the last text checked) makes known."""
    (line,) = [i for i, text in enumerate(marked.splitlines()) if CURSOR in text]
    col = marked.splitlines()[line].index(CURSOR)
    text = marked.replace(CURSOR, "")
    where = str(path) if path is not None else None
    analysis = analyse(base, where) if base is not None else Analysis(file=where or "")
    result = complete(analysis, Text.of(text), types.Position(line, col))
    return {item.label: item for item in result.items}


# --- a layer entry, in every layer list, at any depth ----------------------------------------

ENTRIES = {
    # the defect of issue 21: the item after the first one of a list
    "second item": "layers:\n  - relu\n  - con‸\n",
    "third item, with options above": "layers:\n  - relu\n  - conv:\n      out: 4\n  - ‸\n",
    "items at the key's column": "layers:\n- relu\n- con‸\n",
    "flow list": "layers: [relu, con‸]\n",
    "flow list, first item": "layers: [‸]\n",
    "a block's layers": "blocks:\n  b:\n    layers:\n      - relu\n      - ‸\n",
    "a group's layers": "layers:\n  - group:\n      layers:\n        - relu\n        - ‸\n",
    "a repeat's body": "layers:\n  - repeat:\n      times: 2\n      body:\n        - relu\n"
    "        - ‸\n",
    "a repeat's first": "layers:\n  - repeat:\n      times: 2\n      first: [relu, ‸]\n",
    "a residual's body": "layers:\n  - residual:\n      body:\n"
    "        - conv: {out: 3, kernel: 1}\n        - ‸\n",
    "a residual's after, one layer": "layers:\n  - residual:\n      body: [relu]\n"
    "      after: re‸\n",
    "inception branches by name": "layers:\n  - inception:\n      branches:\n"
    "        p1: [relu]\n        p2: [conv, ‸]\n",
    "inception branches as lists": "layers:\n  - inception:\n      branches:\n"
    "        - [relu]\n        - - relu\n          - ‸\n",
    "deep: a block's repeat's residual": "blocks:\n  b:\n    layers:\n      - repeat:\n"
    "          times: 2\n          body:\n            - residual:\n                body:\n"
    "                  - relu\n                  - ‸\n",
    "an entry in flow style": "layers:\n  - {‸\n",
    "inception branches in one flow": "layers:\n  - inception: {branches: [[relu], [conv, ‸]]}\n",
    "a residual in one flow": "layers: [relu, {residual: {body: [relu, ‸]}}]\n",
}


@pytest.mark.parametrize("case", sorted(ENTRIES))
def test_layer_entries_offer_kinds_and_blocks(case: str) -> None:
    labels = set(offered(HEAD + ENTRIES[case]))
    assert labels >= KINDS, case
    assert {"mine", "conv_bn_act"} <= labels  # the file's own block, an imported one


def test_a_block_written_since_the_last_check_is_offered() -> None:
    text = HEAD + "  fresh:\n    layers: [relu]\nlayers:\n  - relu\n  - ‸\n"
    assert {"fresh", "mine"} <= set(offered(text))


# --- options: a kind's, a block call's, at any depth ------------------------------------------

OPTIONS = {
    "flow, at the top": ("layers:\n  - conv: {out: 4, ker‸\n", "conv", {"out"}),
    "block style, below the kind": ("layers:\n  - conv:\n      out: 4\n      ‸\n", "conv", {"out"}),
    "flow, in a residual's body": (
        "layers:\n  - relu\n  - residual:\n      body:\n        - conv: {out: 4, ‸}\n",
        "conv",
        {"out"},
    ),
    "block style, in an inception branch": (
        "layers:\n  - inception:\n      branches:\n        p1:\n          - pool:\n"
        "              mode: avg\n              ‸\n",
        "pool",
        {"mode"},
    ),
    "block style, in a block": (
        "blocks:\n  b:\n    layers:\n      - linear:\n          ‸\n",
        "linear",
        set(),
    ),
    "the repeat's own": ("layers:\n  - repeat:\n      body: [relu]\n      ‸\n", "repeat", {"body"}),
}


@pytest.mark.parametrize("case", sorted(OPTIONS))
def test_the_options_of_a_layer(case: str) -> None:
    """A kind's options, its own and those every layer takes, less those written."""
    marked, kind, written = OPTIONS[case]
    found = netspec.registry.get_kind(kind)
    assert found is not None
    options = {o.name for o in kind_options(found)}
    assert set(offered(HEAD + marked)) == options - written


def test_option_details_say_type_and_default() -> None:
    items = offered(HEAD + "layers:\n  - relu\n  - conv: {out: 4, ker‸\n")
    assert items["kernel"].detail == "kernel: int | pair (required)"
    assert items["padding_mode"].detail == (
        "padding_mode: zeros | reflect | replicate | circular = 'zeros'"
    )
    assert items["kernel"].insert_text == "kernel: "


@pytest.mark.parametrize(
    "marked",
    [
        "layers:\n  - relu\n  - mine: {out: 4, ‸}\n",
        "layers:\n  - relu\n  - repeat:\n      body:\n        - mine:\n            ‸\n",
    ],
    ids=["flow", "block style, in a repeat"],
)
def test_a_block_calls_arguments(marked: str) -> None:
    items = offered(HEAD + marked)
    assert {"act", "name", "to", "from", "if", "expect", "inline"} <= set(items)
    assert "kernel" not in items  # a kind's option, not the block's
    assert items["act"].detail == "argument: 'relu'"
    if "out: 4" in marked:
        assert "out" not in items


def test_an_option_that_is_a_mapping_and_a_closed_set_of_values() -> None:
    projection = offered(
        HEAD + "layers:\n  - residual:\n      body: [relu]\n      projection: {name: down, ‸}\n"
    )
    assert set(projection) == {"batchnorm", "bias"}
    modes = offered(HEAD + "layers:\n  - pool:\n      kernel: 2\n      mode: ‸\n")
    assert set(modes) == {"max", "avg"}
    merge = offered(HEAD + "layers:\n  - inception: {merge: ‸}\n")
    assert set(merge) == {"concat", "add"}


# --- named tensors: from:, outputs: -------------------------------------------------------------

GRAPH = """\
name: graph
inputs: {image: [3, 16, 16], depth: [1, 16, 16]}
blocks:
  fuse:
    inputs: [low, high]
    layers:
      - conv: {out: 4, kernel: 1, from: low, to: inner}
      - add: {from: [inner, high]}
layers:
  - conv: {out: 4, kernel: 1, to: a}
  - group:
      layers:
        - relu: {to: b}
"""
AFTER = "  - relu: {to: later}\n"


@pytest.mark.parametrize(
    "marked",
    [
        "  - add: {from: [a, ‸]}\n",
        "  - identity: {from: ‸}\n",
        "  - add:\n      from: ‸\n",
        "  - add:\n      from:\n        - a\n        - ‸\n",
        "  - repeat:\n      times: 2\n      body:\n        - concat: {from: [‸]}\n",
    ],
    ids=["flow list", "flow value", "block value", "block list", "in a repeat's body"],
)
def test_from_offers_the_tensors_visible_there(marked: str) -> None:
    items = offered(GRAPH + marked + AFTER, base=None)
    assert set(items) == {"image", "depth", "a", "b"}  # not the block's, not the later one


def test_from_in_a_block_sees_the_blocks_inputs_and_names() -> None:
    marked = GRAPH.replace("      - add: {from: [inner, high]}\n", "      - add: {from: [‸]}\n")
    assert set(offered(marked, base=None)) == {"low", "high", "inner"}


def test_outputs_offer_the_tensors_of_their_scope() -> None:
    text = "name: g\ninput: [3, 8, 8]\noutputs: {‸}\nlayers:\n" + GRAPH.split("\nlayers:\n")[1]
    assert set(offered(text + AFTER, base=None)) == {"input", "a", "b", "later"}
    block = GRAPH.replace(
        "    inputs: [low, high]\n", "    inputs: [low, high]\n    outputs: [‸]\n"
    )
    assert set(offered(block, base=None)) == {"low", "high", "inner"}


# --- expressions --------------------------------------------------------------------------------


def test_expressions_offer_params_arguments_functions_and_helpers() -> None:
    text = (
        "name: e\ninput: [3, 8, 8]\nparams: {depth: 16, typed_since: 2}\n"
        "functions:\n  ch(c): ${c * depth}\nblocks:\n  b:\n    args: {out: int}\n"
        "    layers:\n      - conv: {out: ${ou‸\n"
    )
    base = "name: e\ninput: [3, 8, 8]\nparams: {depth: 16}\nlayers: [relu]\n"
    items = offered(text, base=base)
    assert {"depth", "typed_since", "out", "ch", "make_divisible", "channels"} <= set(items)
    assert items["depth"].detail == "param = 16"
    assert items["out"].detail == "argument of b"


def test_a_shape_helper_offers_tensors() -> None:
    marked = '  - conv: {out: "${channels(‸\n'
    assert set(offered(GRAPH + marked, base=None)) == {"image", "depth", "a", "b"}


# --- imports, scales, blocks, the top level -----------------------------------------------------


@pytest.mark.parametrize(
    ("marked", "labels"),
    [
        ("imports: [‸]\n", {f"std:{n}" for n in library_names()}),
        ("imports:\n  - ‸\n", {f"std:{n}" for n in library_names()}),
        ("imports: [std:‸]\n", set(library_names())),
        ("imports:\n  - {‸}\n", {"file", "blocks", "params"}),
        ("imports:\n  - {file: ‸}\n", {f"std:{n}" for n in library_names()}),
        ("imports:\n  - {file: std:conv, blocks: [‸]}\n", {"conv_bn_act", "conv_act"}),
        ("imports:\n  - file: std:ultralytics\n    params: {‸}\n", {"bn_eps", "bn_momentum"}),
    ],
    ids=["flow", "block", "after std:", "keys", "file", "blocks of the file", "params of the file"],
)
def test_imports(marked: str, labels: set[str]) -> None:
    found = set(offered("name: i\ninput: [3, 8, 8]\n" + marked, base=None))
    assert labels <= found


def test_a_scale_offers_the_params() -> None:
    text = "name: s\ninput: [4]\nparams: {width: 1, depth: 1}\nscales:\n  n: {width: 1, ‸}\n"
    assert set(offered(text, base=None)) == {"depth"}


def test_a_blocks_keys_and_the_top_level_keys() -> None:
    block = offered("name: b\nblocks:\n  mine:\n    args: {}\n    ‸\n", base=None)
    assert set(block) == {"description", "inputs", "outputs", "layers"}
    top = offered("name: t\ninput: [4]\nla‸\n", base=None)
    assert {"layers", "params", "blocks", "outputs"} <= set(top)
    assert not {"name", "input"} & set(top)  # written already


def test_nothing_where_nothing_fits() -> None:
    for marked in (
        "name: x‸\n",
        "layers:\n  - conv: {out: 4, to: ‸}\n",
        "layers:\n  - conv: {out: ‸}\n",
        "params: {‸}\n",
    ):
        assert offered(marked, base=None) == {}, marked


# --- the reader of text being typed -------------------------------------------------------------


def place(marked: str) -> Place | None:
    lines = marked.splitlines()
    (line,) = [i for i, text in enumerate(lines) if CURSOR in text]
    col = lines[line].index(CURSOR)
    return read([x.replace(CURSOR, "") for x in lines], (line, col)).place


@pytest.mark.parametrize(
    ("marked", "expected"),
    [
        ("layers:\n  - relu\n  - con‸", Place(("layers", 1), ITEM, "con")),
        ("layers:\n  - conv: {out: 4, ker‸", Place(("layers", 0, "conv"), KEY, "ker", ("out",))),
        ("layers:\n  - add:\n      from: sk‸", Place(("layers", 0, "add", "from"), VALUE, "sk")),
        (
            "description: |\n  - not: a layer\nlayers:  # comment: not a key\n  - ‸",
            Place(("layers", 0), ITEM),
        ),
        ('layers: [{conv: {out: 4}}, "relu",\n  con‸', Place(("layers", 2), ITEM, "con")),
        ('layers: [{conv: {out: "${a, b}"}}, ‸]', Place(("layers", 1), ITEM)),
        ("layers:\n  - conv: {out: 4\n  - ‸", Place(("layers", 1), ITEM)),
    ],
    ids=[
        "item",
        "flow key",
        "value",
        "block scalar, comment",
        "flow over lines",
        "quoted ${",
        "an unclosed flow does not run on",
    ],
)
def test_where_the_cursor_is(marked: str, expected: Place) -> None:
    assert place(marked) == expected


def test_the_reader_is_bounded() -> None:
    """Text no spec holds (deep brackets, very long lines, very deep indentation) is read
    without error, and only so far."""
    assert place("layers: " + "[" * 100_000 + "‸") is None
    assert place("layers: [" + "a, " * 20_000 + "‸]") is None
    deep = "".join(" " * i + f"k{i}:\n" for i in range(300))
    found = place(deep + " " * 300 + "‸")
    assert found is not None and len(found.path) <= 100


# --- end to end ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    server = Client()
    server.initialize()
    yield server
    assert server.close() == 0


def test_completion_through_the_server(client: Client, tmp_path: Path) -> None:
    """The server completes the text being typed with the blocks and params known from the
    last version that parsed."""
    path = tmp_path / "typing.yaml"
    client.open(path.as_uri(), BASE)
    assert client.diagnostics(path.as_uri(), version=1) == []
    typed = HEAD + "layers:\n  - relu\n  - con\n  - conv: {out: 4, ker\n  - linear: ${wi\n"
    client.change(path.as_uri(), typed, 2)
    assert client.diagnostics(path.as_uri(), version=2)  # not YAML: a diagnostic

    labels = {i["label"] for i in client.at("completion", path.as_uri(), 10, 7)["items"]}
    assert KINDS | {"mine", "conv_bn_act"} <= labels
    by_label = {i["label"]: i for i in client.at("completion", path.as_uri(), 11, 21)["items"]}
    assert "out" not in by_label and "kernel" in by_label
    items = client.at("completion", path.as_uri(), 12, 16)["items"]
    assert {"width", "make_divisible", "channels"} <= {i["label"] for i in items}
    assert client.at("completion", (ROOT / "nowhere.yaml").as_uri(), 0, 0) is None
