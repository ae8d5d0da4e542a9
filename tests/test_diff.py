"""netspec.diff: each kind of edit gives the layers and state_dict keys it should.

Insert, delete, change an option, change a scale, rename a layer, reorder named tensors and
swap two named layers, each on a small spec, with every layer change and key fate checked;
a named stage inserted in the middle of specs/resnet.yaml keeps every other key; a row
inserted in YOLOv8's head (Ultralytics' index shift) gives the renames that carry every
moved row's weights. The text and JSON forms are golden files (``pytest --update-golden``
rewrites them). The diff imports no torch.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator

import pytest
from conftest import ROOT, SPECS, bundled_scales
from helpers_keys import Scale, fresh_run, registered, yolov8_row
from hypothesis import given, settings
from hypothesis import strategies as st

import netspec
from netspec.bundled import bundled_names
from netspec.diff import (
    Aspect,
    Change,
    Diff,
    KeyStatus,
    apply_renames,
    diff,
    diff_json,
    format_change,
    format_json,
    format_text,
    sequence,
)

BASE = """name: small
input: [3, 16, 16]
params: {width: 8}
scales:
  narrow: {width: 8}
  wide: {width: 16}
layers:
  - conv: {out: "${width}", kernel: 3, padding: 1}
  - batchnorm
  - relu
  - group:
      name: body
      layers:
        - conv: {name: conv1, out: "${width}", kernel: 3, padding: 1}
        - batchnorm: {name: bn1}
        - relu
  - conv: {out: 16, kernel: 3, padding: 1}
  - pool: {mode: avg, global: true}
  - flatten
  - linear: 10
"""


def edited(old: str, new: str, text: str = BASE) -> netspec.Spec:
    assert text.count(old) == 1, old
    return netspec.loads(text.replace(old, new), file="b.yaml")


def base() -> netspec.Spec:
    return netspec.loads(BASE, file="a.yaml")


def changes(d: Diff) -> list[tuple[str, str, str]]:
    """Each layer change as (change, old path, new path)."""
    return [
        (c.change.value, c.old.path if c.old else "", c.new.path if c.new else "") for c in d.layers
    ]


def fates(d: Diff) -> dict[str, tuple[str, str | None, bool]]:
    """Each key's status by name, the key the renames pair it with, and whether it carries."""
    return {k.key: (k.status.value, k.renamed, k.carries) for k in d.keys}


BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def test_the_same_network_is_the_same() -> None:
    d = diff(base(), netspec.loads(BASE.replace("name: small", "name: other"), file="b.yaml"))
    assert d.same and not d.layers and not d.renames
    assert d.count(KeyStatus.SAME) == d.a.keys == d.b.keys == d.carried == 18
    assert "the networks are the same" in format_text(d)


def test_insert_an_unnamed_layer() -> None:
    d = diff(
        base(),
        edited("  - relu\n  - group:", "  - relu\n  - conv: {out: 8, kernel: 1}\n  - group:"),
    )
    assert not d.same
    assert changes(d) == [
        ("added", "", "3"),
        ("moved", "4", "5"),
        ("moved", "5", "6"),
        ("moved", "6", "7"),
        ("moved", "7", "8"),
    ]
    # only the renames that carry a key: a pool and a flatten have none
    assert [(r.old, r.new, r.keys) for r in d.renames] == [("4", "5", 2), ("7", "8", 2)]
    f = fates(d)
    assert f["3.weight"] == ("added", None, False)  # the new layer: fresh
    assert f["5.weight"] == ("added", "4.weight", True)
    assert f["4.weight"] == ("removed", "5.weight", True)
    assert f["8.bias"] == ("added", "7.bias", True)
    assert f["body.conv1.weight"] == ("same", None, True)  # named: nothing shifts
    assert d.carried == d.b.keys - 2 == d.a.keys
    assert d.b.params - d.a.params == 8 * 8 + 8
    assert format_change(d.layers[0]) == "added"


def test_delete_a_layer() -> None:
    d = diff(base(), edited("  - batchnorm\n  - relu\n  - group:", "  - relu\n  - group:"))
    assert changes(d) == [
        ("removed", "1", ""),
        ("moved", "2", "1"),
        ("moved", "4", "3"),
        ("moved", "5", "4"),
        ("moved", "6", "5"),
        ("moved", "7", "6"),
    ]
    assert [(r.old, r.new) for r in d.renames] == [("4", "3"), ("7", "6")]
    f = fates(d)
    assert all(f[f"1.{n}"] == ("removed", None, False) for n in BN)
    assert d.layers[0].within == "" and d.touched() == {""}
    assert f["3.weight"] == ("added", "4.weight", True)
    assert d.carried == d.b.keys == d.a.keys - len(BN)
    assert "- 1  5 keys  the layer is removed" in format_text(d)


def test_change_an_option() -> None:
    d = diff(
        base(),
        edited(
            '  - conv: {out: "${width}", kernel: 3, padding: 1}\n  - batchnorm\n',
            "  - conv: {out: 12, kernel: 3, padding: 1}\n  - batchnorm\n",
        ),
    )
    (conv, bn, relu, conv1) = d.layers
    assert [c.change for c in d.layers] == [Change.CHANGED] * 4
    assert [(x.aspect, x.name, x.old, x.new) for x in conv.differences] == [
        (Aspect.OPTION, "out", 8, 12),
        (Aspect.OUTPUT, "", [[8, 16, 16]], [[12, 16, 16]]),
    ]
    assert [x.aspect for x in bn.differences] == [Aspect.INPUT, Aspect.OUTPUT]
    assert (relu.old.params, relu.new.params) == (0, 0)  # listed in data, counted in text
    assert [(x.aspect, x.old, x.new) for x in conv1.differences] == [
        (Aspect.INPUT, [[8, 16, 16]], [[12, 16, 16]])
    ]
    f = fates(d)
    assert f["0.weight"] == ("reshaped", None, False)
    assert f["1.num_batches_tracked"] == ("same", None, True)
    assert f["body.conv1.weight"] == ("reshaped", None, False)
    assert f["body.conv1.bias"] == ("same", None, True)
    assert not d.renames and d.count(KeyStatus.RESHAPED) == 7
    assert "(and 1 layer without weights whose shapes follow)" in format_text(d)
    assert format_change(conv) == "changed: out 8 → 12; output (8, 16, 16) → (12, 16, 16)"


def test_change_a_scale() -> None:
    narrow = netspec.loads(BASE, file="a.yaml", scale="narrow")
    d = diff(narrow, narrow.with_scale("wide"))
    assert [c.new.path for c in d.layers if c.new and c.differences[0].aspect is Aspect.OPTION] == [
        "0",
        "body.conv1",
    ]
    assert {c.change for c in d.layers} == {Change.CHANGED}
    assert d.count(KeyStatus.ADDED) == d.count(KeyStatus.REMOVED) == 0
    assert d.count(KeyStatus.RESHAPED) == 2 + 4 + 2 + 4 + 1  # conv, bn, conv1, bn1, next conv
    assert d.b.params > d.a.params


def test_a_scale_with_more_repeats_adds_copies() -> None:
    a = netspec.load("ultralytics/yolov8-cls", scale="s")
    d = diff(a, a.with_scale("m"))
    added = [c.new.path for c in d.changes(Change.ADDED) if c.new]
    assert "model.2.m.1" in added and all(".m." in p for p in added)
    times = [c for c in d.changes(Change.CHANGED) if c.new and c.new.kind == "repeat"]
    assert times and all(c.differences[0].name == "times" for c in times)


def in_place(d: Diff, a: netspec.Spec, b: netspec.Spec) -> None:
    """Every layer of both sides is the layer at its own path: nothing moved, and the copies
    a repeat gained (or lost) come after those it kept, nothing both added and removed."""
    kinds = {c.change for c in d.layers}
    assert Change.MOVED not in kinds and not {Change.ADDED, Change.REMOVED} <= kinds
    assert all(c.old.path == c.new.path for c in d.layers if c.old and c.new)
    held_a = {c.path: len(c.children) for c in a.checked.walk()}
    held_b = {c.path: len(c.children) for c in b.checked.walk()}
    for c in d.layers:
        if c.old is None or c.new is None:
            holder, _, index = (c.new or c.old).path.rpartition(".")
            kept = held_a[holder] if c.old is None else held_b[holder]
            # a copy's name is its index, or a name that ends with it (encoder_layer_12)
            number = re.search(r"\d+$", index)
            assert holder == c.within and number and int(number.group()) >= kept, c
    assert not d.renames


def scaled() -> list[tuple[str, str, str]]:
    """Each bundled spec with scales, each pair of scales next to each other, both ways."""
    out = []
    for name in bundled_names():
        for small, big in itertools.pairwise(bundled_scales(name)):
            if name.startswith("ultralytics/yolo11") and (small, big) == ("s", "m"):
                continue  # parse_model turns C3k2's Bottlenecks into C3k blocks from m on
            out += [(name, small, big), (name, big, small)]
    return out


@pytest.mark.parametrize(("name", "old", "new"), scaled())
def test_a_change_of_scale_changes_every_layer_in_place(name: str, old: str, new: str) -> None:
    a = netspec.load(name, scale=old)
    b = a.with_scale(new)
    d = diff(a, b)
    in_place(d, a, b)
    assert d.changes(Change.CHANGED)


@pytest.mark.parametrize(("old", "new"), [("n", "s"), ("s", "n")])
def test_yolov8_n_and_s_differ_in_every_layer_in_place(old: str, new: str) -> None:
    """n's conv 3×3 /2 of 32 is s's first conv: its width, not the same layer moved."""
    a = netspec.load("ultralytics/yolov8", scale=old)
    b = a.with_scale(new)
    d = diff(a, b)
    in_place(d, a, b)
    assert {c.change for c in d.layers} == {Change.CHANGED}
    assert d.count(KeyStatus.ADDED) == d.count(KeyStatus.REMOVED) == 0
    assert d.count(KeyStatus.RESHAPED) + d.count(KeyStatus.SAME) == d.a.keys == d.b.keys
    first = d.by_path()["model.0.conv"]
    assert [(x.name, x.old, x.new) for x in first.differences[:1]] == [
        ("out", 16 if old == "n" else 32, 32 if old == "n" else 16)
    ]


WIDTHS = """name: widths
input: [3, 32, 32]
params: {width: 16}
layers:
  - conv: {out: "${width}", kernel: 3, stride: 2, padding: 1}
  - conv: {out: "${width * 2}", kernel: 3, stride: 2, padding: 1}
  - conv: {out: "${width * 4}", kernel: 3, stride: 2, padding: 1}
  - relu
"""


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("widths", {"width": 32}),  # the first conv of b reads as the second of a
        ("ultralytics/yolov8", {"width": 0.5}),
        ("torchvision/mobilenet_v2", {"width": 0.75}),
        ("torchvision/efficientnet_b0", {"width": 1.2}),
        ("unet", {"base": 32}),
    ],
)
def test_a_width_set_changes_every_layer_in_place(name: str, params: dict[str, float]) -> None:
    a = netspec.loads(WIDTHS, file="a.yaml") if name == "widths" else netspec.load(name)
    b = (
        netspec.loads(WIDTHS, file="a.yaml", **params)
        if name == "widths"
        else netspec.load(name, **params)
    )
    d = diff(a, b)
    in_place(d, a, b)
    assert {c.change for c in d.layers} == {Change.CHANGED}


TWINS = """name: twins
input: [8, 16, 16]
params: {width: 8}
layers:
  - conv: {out: "${width}", kernel: 3, padding: 1}
  - conv: {out: "${width}", kernel: 3, padding: 1}
  - relu
"""


@pytest.mark.parametrize("width", [8, 16])
def test_a_conv_inserted_between_two_of_its_kind_is_the_one_inserted(width: int) -> None:
    """Three convs after the edit: the inserted one is the one whose options are new, also
    where every width changed too (the options that still agree tell)."""
    one = '  - conv: {out: "${width}", kernel: 3, padding: 1}\n  - relu'
    three = '  - conv: {out: "${width}", kernel: 1}\n' + one
    assert TWINS.count(one) == 1
    b = netspec.loads(TWINS.replace(one, three), file="b.yaml", width=width)
    d = diff(netspec.loads(TWINS, file="a.yaml"), b)
    moved = "moved" if width == 8 else "changed"
    assert [c for c in changes(d) if c[1] != "0"] == [
        ("added", "", "1"),
        (moved, "1", "2"),
        (moved, "2", "3"),
    ]
    assert [(r.old, r.new) for r in d.renames] == ([("1", "2")] if width == 8 else [])


def test_a_long_list_with_scattered_inserts_is_aligned_in_few_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ten convs inserted into a list of 2,000 alternating convs and relus: the fewest
    edits are found within a budget of steps that grows with the length times the edits
    (difflib's grew with the square of the repeats), and each insert is one insertion."""
    rows = ["  - conv: {out: 8, kernel: 3, padding: 1}\n  - relu\n"] * 1000
    text = "name: long\ninput: [8, 8, 8]\nlayers:\n" + "".join(rows)
    edited_rows = list(rows)
    for k in range(50, 1000, 100):
        edited_rows[k] = "  - conv: {out: 8, kernel: 1}\n" + rows[k]
    b = netspec.loads(text.replace("".join(rows), "".join(edited_rows)), file="b.yaml")
    monkeypatch.setattr(sequence, "BUDGET", 10 * 2_000)
    monkeypatch.setattr(sequence, "_in_order", None)  # past the budget: a TypeError
    d = diff(netspec.loads(text, file="a.yaml"), b)
    added = [c.new.path for c in d.changes(Change.ADDED)]
    assert added == [str(k * 2 + n) for n, k in enumerate(range(50, 1000, 100))]
    assert {c.change for c in d.layers} == {Change.ADDED, Change.MOVED}


def test_two_long_lists_that_share_little_pair_their_kinds_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sequence, "BUDGET", 0)  # past it at once
    a, b = list("xaxbxcxdxexf"), list("yaybycydyeyf")
    pairs = sequence.matched(a, b)
    assert [(a[i], b[j]) for i, j, _ in pairs] == [(k, k) for k in "abcdef"]
    assert sequence.opcodes(a, b)[:2] == [("replace", 0, 1, 0, 1), ("equal", 1, 2, 1, 2)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from("abc"), max_size=12),
    st.lists(st.sampled_from("abc"), max_size=12),
    st.booleans(),
)
def test_the_alignment_has_the_fewest_edits(a: list[str], b: list[str], put: bool) -> None:
    """An item inserted or deleted is one edit, and so is one put for another where ``put``
    (Levenshtein's distance; else the pairs are a longest common subsequence); the pairs
    rise on both sides and say truly whether their items are equal."""
    pairs = sequence.matched(a, b, put)
    assert all(p[0] < q[0] and p[1] < q[1] for p, q in itertools.pairwise(pairs))
    assert all((a[i] == b[j]) is same for i, j, same in pairs)
    assert put or all(same for _, _, same in pairs)
    edits = sum(2 - put for _, _, same in pairs if not same) + len(a) + len(b) - 2 * len(pairs)
    row = list(range(len(b) + 1))  # the table of edits, a row at a time
    for i, x in enumerate(a, 1):
        prev, row = row, [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (0 if x == y else 2 - put))
    assert edits == row[-1]
    ops = sequence.opcodes(a, b, put)
    assert ops == sequence.as_opcodes(pairs, len(a), len(b))


def test_rename_a_layer() -> None:
    d = diff(base(), edited("name: conv1", "name: first"))
    assert changes(d) == [("moved", "body.conv1", "body.first")]
    assert [(r.old, r.new, r.keys) for r in d.renames] == [("body.conv1", "body.first", 2)]
    assert format_change(d.layers[0]) == "moved from body.conv1"
    f = fates(d)
    assert f["body.first.weight"] == ("added", "body.conv1.weight", True)
    assert f["body.conv1.weight"] == ("removed", "body.first.weight", True)
    assert d.carried == d.b.keys


GRAPH = """name: graph
input: [3, 8, 8]
outputs: {p: [12, 8, 8], q: [4, 8, 8]}
layers:
  - conv: {name: a, out: 8, kernel: 1, to: a}
  - conv: {name: b, out: 4, kernel: 1, to: q}
  - concat: {name: join, from: [a, q]}
  - conv: {name: head, out: 12, kernel: 1, to: p}
"""


def test_reorder_named_tensors() -> None:
    a = netspec.loads(GRAPH, file="a.yaml")
    d = diff(a, edited("from: [a, q]", "from: [q, a]", GRAPH))
    (join,) = d.layers
    assert join.new.path == "join"
    assert [(x.aspect, x.old, x.new) for x in join.differences] == [
        (Aspect.FROM, ["a", "q"], ["q", "a"]),
        (Aspect.INPUT, [[8, 8, 8], [4, 8, 8]], [[4, 8, 8], [8, 8, 8]]),
    ]
    assert not d.same and d.count(KeyStatus.SAME) == d.b.keys  # every weight carries
    outputs = diff(
        a,
        edited(
            "outputs: {p: [12, 8, 8], q: [4, 8, 8]}",
            "outputs: {q: [4, 8, 8], p: [12, 8, 8]}",
            GRAPH,
        ),
    )
    assert not outputs.same and not outputs.layers
    assert "outputs: {p: (12, 8, 8), q: (4, 8, 8)} → {q: (4, 8, 8), p: (12, 8, 8)}" in format_text(
        outputs
    )


def test_swap_two_named_layers() -> None:
    text = BASE.replace(
        "        - relu\n", "        - relu: {name: act}\n        - dropout: {name: drop}\n"
    )
    a = netspec.loads(text, file="a.yaml")
    swapped = "        - dropout: {name: drop}\n        - relu: {name: act}\n"
    d = diff(
        a, edited("        - relu: {name: act}\n        - dropout: {name: drop}\n", swapped, text)
    )
    assert [
        (c.change, c.new.path, [(x.aspect, x.old, x.new) for x in c.differences]) for c in d.layers
    ] == [(Change.CHANGED, "body.drop", [(Aspect.PLACE, 3, 2)])]
    assert not d.same


def test_a_named_stage_inserted_into_resnet_keeps_every_other_key() -> None:
    text = (SPECS / "resnet.yaml").read_text()
    a = netspec.loads(text, file="resnet.yaml")
    b = edited(
        "  - stage: {name: stage3, out: 256}\n",
        "  - stage: {name: extra, out: 128, stride: 1}\n  - stage: {name: stage3, out: 256}\n",
        text,
    )
    d = diff(a, b)
    assert changes(d) == [("added", "", "extra")]
    assert d.count(KeyStatus.SAME) == d.a.keys and d.count(KeyStatus.REMOVED) == 0
    assert d.count(KeyStatus.ADDED) == d.b.keys - d.a.keys
    assert all(k.key.startswith("extra.") for k in d.keys if k.status is not KeyStatus.SAME)
    assert not d.renames and d.carried == d.a.keys


def test_a_named_layer_inserted_into_every_resnet_block_keeps_every_other_key() -> None:
    text = (SPECS / "resnet.yaml").read_text()
    relu = "            - relu\n            - conv: {name: conv2,"
    b = edited(
        relu,
        "            - relu\n"
        '            - conv: {name: mid, out: "${out}", kernel: 1}\n'
        "            - conv: {name: conv2,",
        text,
    )
    d = diff(netspec.loads(text, file="resnet.yaml"), b)
    assert len(d.changes(Change.ADDED)) == 8 and all(
        c.new.path.endswith(".body.mid") for c in d.layers
    )
    assert d.count(KeyStatus.SAME) == d.a.keys and d.carried == d.a.keys
    # what a diagram of b marks: the new layers, and the blocks that hold them
    assert d.by_path()["stage1.0.body.mid"].change is Change.ADDED
    assert {"", "stage1", "stage1.0", "stage1.0.body", "stage4.1.body"} <= d.touched()
    assert not {"stem", "head", "stage1.0.body.conv1"} & d.touched()


def test_a_row_inserted_in_the_yolov8_head_shifts_later_rows_and_the_renames_carry_them() -> None:
    a, b = yolov8_row("b.yaml")
    d = diff(a, b)
    assert [(r.old, r.new) for r in d.renames] == [
        ("model.16", "model.17"),
        ("model.18", "model.19"),
        ("model.19", "model.20"),
        ("model.21", "model.22"),
        ("model.22", "model.23"),
    ]
    new_row = [k for k in d.keys if k.key.startswith("model.16.")]
    assert d.carried == d.b.keys - len(new_row)
    # by name, the new row's keys match the old row 16's shapes: loaded from the wrong layer
    assert d.misplaced == len(new_row) == 6
    assert d.count(KeyStatus.SAME) - d.misplaced < d.carried
    mapping = apply_renames(
        [k.key for k in d.keys if k.old is not None], [(r.old, r.new) for r in d.renames]
    )
    carried = {
        new: old for new, old in mapping.items() if any(k.key == new and k.carries for k in d.keys)
    }
    assert len(carried) == d.carried


def test_apply_renames_at_once_and_renamed_keys_first() -> None:
    keys = ["1.weight", "2.weight", "2.bias", "12.weight", "a.b.c"]
    assert apply_renames(keys, [("1", "2"), ("2", "3"), ("a.b", "z")]) == {
        "2.weight": "1.weight",
        "3.weight": "2.weight",
        "3.bias": "2.bias",
        "z.c": "a.b.c",
        "12.weight": "12.weight",
    }
    # a key that stays is not loaded over one a rename moved there
    assert apply_renames(["1.w", "2.w"], [("2", "1")]) == {"1.w": "2.w"}


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the library's layers are shown relative to the working folder


GOLDEN_CASES = {
    "insert": lambda: diff(
        base(),
        edited("  - relu\n  - group:", "  - relu\n  - conv: {out: 8, kernel: 1}\n  - group:"),
    ),
    "option": lambda: diff(
        base(), edited("kernel: 3, padding: 1}\n  - pool", "kernel: 5, padding: 2}\n  - pool")
    ),
    "yolov8_row": lambda: diff(*yolov8_row("b.yaml")),
    "long_insert": lambda: diff(*long_insert()),
}


def long_insert() -> tuple[netspec.Spec, netspec.Spec]:
    """A conv inserted into a list of 40 convs and relus (a run of 24 layers moved by one place
    after it, and of 12 renames: each a line), and one near the end (a run of 8 moves, too
    short to fold)."""
    rows = ["  - conv: {out: 8, kernel: 1}\n  - relu\n"] * 20
    text = "name: long\ninput: [8, 4, 4]\nlayers:\n" + "".join(rows)
    extra = "  - conv: {out: 8, kernel: 1, bias: false}\n"
    edited_rows = [*rows[:4], extra, *rows[4:16], extra, *rows[16:]]
    b = netspec.loads(text.replace("".join(rows), "".join(edited_rows)), file="b.yaml")
    return netspec.loads(text, file="a.yaml"), b


@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_text_golden(name: str, golden) -> None:
    golden(f"diff/{name}.txt", format_text(GOLDEN_CASES[name]()))


@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize("name", ["insert", "option"])
def test_json_golden(name: str, golden) -> None:
    d = GOLDEN_CASES[name]()
    text = format_json(d)
    assert json.loads(text) == diff_json(d)
    golden(f"diff/{name}.json", text)


def test_json_keys_are_the_documented_ones() -> None:
    out = diff_json(GOLDEN_CASES["insert"]())
    assert list(out) == [
        "format",
        "same",
        "a",
        "b",
        "difference",
        "layers",
        "keys",
        "counts",
        "renames",
        "unknown",
    ]
    assert out["format"] == "netspec-diff/1"
    assert set(out["layers"][0]) == {"change", "within", "old", "new", "differences"}
    assert set(out["keys"][0]) == {"key", "status", "old", "new", "renamed", "carries"}
    assert set(out["counts"]) == {
        "same",
        "reshaped",
        "added",
        "removed",
        "unknown",
        "carried",
        "misplaced",
    }


def test_diffing_imports_no_torch() -> None:
    printed, torch = fresh_run(
        "import netspec\n"
        "from netspec.diff import diff, format_json, format_text\n"
        "a = netspec.load('ultralytics/yolov8', scale='n')\n"
        "d = diff(a, a.with_scale('s'))\n"
        "format_text(d); format_json(d)\n"
        "print(d.same)\n"
    )
    assert printed == ["False"] and not torch


class _Gain(Scale):
    """A plugin's kind that does not say what its module keeps."""

    name = "test_diff_gain"


@pytest.fixture
def gain() -> Iterator[None]:
    with registered(_Gain()):
        yield


@pytest.mark.usefixtures("gain")
def test_keys_under_a_plugin_layer_are_unknown_not_added() -> None:
    text = BASE.replace(
        "  - batchnorm\n  - relu\n  - group:", "  - test_diff_gain\n  - relu\n  - group:"
    )
    d = diff(netspec.loads(text, file="a.yaml"), base())
    assert [(u.side, u.path, u.kind) for u in d.unknown] == [("a", "1", "test_diff_gain")]
    assert {k.key: k.status for k in d.keys if k.key.startswith("1.")} == {
        f"1.{n}": KeyStatus.UNKNOWN for n in BN
    }
    assert d.count(KeyStatus.ADDED) == 0
    assert "  a: 1 (test_diff_gain)" in format_text(d)


def test_a_layer_removed_inside_a_block_marks_the_block() -> None:
    d = diff(base(), edited("        - batchnorm: {name: bn1}\n", ""))
    assert changes(d)[0] == ("removed", "body.bn1", "")
    assert d.layers[0].within == "body"
    assert d.touched() == {"", "body"}
    assert all(k.status is KeyStatus.REMOVED for k in d.keys if k.key.startswith("body.bn1."))
