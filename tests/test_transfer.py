"""Loading a checkpoint into an edited network (netspec/transfer.py, netspec/renaming.py).

Each kind of edit (insert, delete, change an option, change a scale, rename a layer, reorder
named tensors) is loaded from the unedited network's weights: the report names what loads,
what is missing, shape-changed or unexpected, and its counts are the ones netspec.diff
predicts. Against real libraries: torchvision's resnet18 and Ultralytics' own YOLOv8n
checkpoints (made in a process of their own by tests/ultralytics_checkpoints.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import SPECS, need_torchvision
from helpers_keys import fresh_run, ultralytics_checkpoints, yolov8_row
from hypothesis import given
from hypothesis import strategies as st

import netspec
from netspec.checkpoints import Kind, checkpoint_dict, read_checkpoint
from netspec.diff import KeyStatus, apply_renames, diff
from netspec.errors import NetspecError
from netspec.renaming import map_keys, parse_rename, suggest_renames
from netspec.transfer import Fate, format_transfer, load_weights, transfer_json
from netspec.transfer.saved import diff_renames

SMALL = """\
name: small
input: [3, 16, 16]
output: [10]
params: {width: 8}
scales:
  s: {width: 8}
  m: {width: 16}
layers:
  - conv: {name: stem, out: "${width}", kernel: 3, padding: 1}
  - batchnorm: {name: bn, to: a}
  - relu
  - conv: {out: "${width}", kernel: 3, padding: 1}
  - relu
  - conv: {out: 16, kernel: 1, to: b}
  - concat: {from: [a, b]}
  - pool: {mode: avg, global: true}
  - flatten
  - linear: {name: head, out: 10}
"""

LINE_3 = '  - conv: {out: "${width}", kernel: 3, padding: 1}\n'
EDITS = {
    "insert": (LINE_3, '  - conv: {out: "${width}", kernel: 1}\n' + LINE_3),
    "delete": ("  - batchnorm: {name: bn, to: a}\n  - relu\n", "  - relu: {to: a}\n"),
    "option": ("{out: 16, kernel: 1, to: b}", "{out: 32, kernel: 1, to: b}"),
    "rename": ("name: head", "name: classifier"),
    "reorder": ("from: [a, b]", "from: [b, a]"),
}


def edited(edit: str, scale: str | None = None) -> netspec.Spec:
    if edit == "scale":
        return netspec.loads(SMALL, "small.yaml", scale="m")
    old, new = EDITS[edit]
    assert SMALL.count(old) == 1
    return netspec.loads(SMALL.replace(old, new), "small.yaml", scale=scale)


def weights(spec: netspec.Spec, seed: int = 0) -> dict[str, torch.Tensor]:
    model = spec.build(seed=seed)
    for name, buffer in model.named_buffers():  # not the defaults: loading them shows
        if buffer.is_floating_point():
            buffer.uniform_(0.5, 1.5, generator=torch.Generator().manual_seed(len(name)))
    return model.state_dict()


def groups(report: Any, fate: Fate) -> list[tuple[str, int]]:
    return [(g.prefix, len(g.keys)) for g in report.groups(fate)]


# edits of a small network: the report, and the diff's prediction

EXPECTED = {  # what fails to load by name: missing, shape-changed, unexpected
    "insert": ([("4", 2), ("6", 2)], [("3.weight", 1)], [("5", 2)]),
    "delete": ([("2", 2), ("4", 2)], [], [("bn", 5), ("3", 2), ("5", 2)]),
    "option": ([], [("5", 2), ("head.weight", 1)], []),
    "scale": ([], [("stem", 2), ("bn", 4), ("3", 2), ("5.weight", 1), ("head.weight", 1)], []),
    "rename": ([("classifier", 2)], [], [("head", 2)]),
    "reorder": ([], [], []),
}


@pytest.mark.parametrize("edit", sorted(EXPECTED))
def test_each_edit_loads_what_the_diff_predicts(edit):
    a, b = netspec.loads(SMALL, "small.yaml"), edited(edit)
    state = weights(a)
    model = b.build(seed=1)
    report = load_weights(model, b, state)
    missing, reshaped, unexpected = EXPECTED[edit]
    assert groups(report, Fate.MISSING) == missing
    assert groups(report, Fate.RESHAPED) == reshaped
    assert groups(report, Fate.UNEXPECTED) == unexpected
    d = diff(a, b)
    assert report.count(Fate.LOADED) == d.count(KeyStatus.SAME)
    assert report.count(Fate.RESHAPED) == d.count(KeyStatus.RESHAPED)
    assert report.count(Fate.MISSING) == d.count(KeyStatus.ADDED)
    assert report.count(Fate.UNEXPECTED) == d.count(KeyStatus.REMOVED)
    loaded = model.state_dict()
    for k in report.keys:
        if k.fate is Fate.LOADED:
            assert torch.equal(loaded[k.key], state[k.key]), k.key
    # with the diff's renames, every key the diff says carries loads, from where it says
    renames = [f"{r.old}={r.new}" for r in d.renames]
    renamed = load_weights(b.build(seed=1), b, state, renames)
    assert renamed.count(Fate.LOADED) == d.carried
    sources = {k.key: k.source or k.key for k in renamed.keys if k.fate is Fate.LOADED}
    assert sources == {k.key: k.renamed or k.key for k in d.keys if k.new and k.carries}


def test_the_suggested_renames_carry_a_shifted_index():
    a, b = netspec.loads(SMALL, "small.yaml"), edited("insert")
    state = weights(a)
    report = load_weights(b.build(seed=1), b, state)
    assert [(r.old, r.new, r.keys) for r in report.suggestions] == [("3", "4", 2), ("5", "6", 2)]
    renames = [f"{r.old}={r.new}" for r in report.suggestions]
    again = load_weights(b.build(seed=1), b, state, renames)
    assert again.count(Fate.LOADED) == diff(a, b).carried == again.spec_keys - 2
    assert groups(again, Fate.MISSING) == [("3", 2)] and not again.suggestions


def test_a_renamed_layer_is_suggested_and_loads_with_its_rename():
    a, b = netspec.loads(SMALL, "small.yaml"), edited("rename")
    state = weights(a)
    report = load_weights(b.build(seed=1), b, state)
    assert [(r.old, r.new) for r in report.suggestions] == [("head", "classifier")]
    model = b.build(seed=1)
    report = load_weights(model, b, state, ["head=classifier"], strict=True)
    assert report.complete and torch.equal(model.classifier.weight, state["head.weight"])


def test_a_netspec_checkpoint_suggests_the_renames_of_the_diff(tmp_path):
    a, b = netspec.loads(SMALL, "small.yaml"), edited("insert")
    path = tmp_path / "small.pt"
    torch.save(checkpoint_dict(a, weights(a)), path)
    torch.save(weights(a), path.with_name("plain.pt"))
    checkpoint = read_checkpoint(path, "small.pt")
    renames = diff_renames(checkpoint, b)
    assert renames == diff(a, b).renames and renames
    report = load_weights(b.build(seed=1), b, checkpoint, suggestions=renames)
    assert report.suggestions == renames
    assert diff_renames(read_checkpoint(path.with_name("plain.pt")), b) is None


def test_a_strict_load_loads_nothing_and_names_what_would_not(golden):
    a, b = netspec.loads(SMALL, "small.yaml"), edited("insert")
    model = b.build(seed=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(NetspecError) as e:
        load_weights(model, b, weights(a), strict=True)
    golden("transfer/strict_insert.txt", str(e.value) + "\n")
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_the_static_side_plans_without_torch():
    printed, torch = fresh_run(
        "import netspec\n"
        "from netspec.transfer import plan_transfer\n"
        "spec = netspec.load('lenet')\n"
        "r = plan_transfer(spec, {'0.weight': (6, 1, 5, 5)}, {'0.weight': (6, 1, 5, 5)})\n"
        "print(r.complete)\n"
    )
    assert printed == ["True"] and not torch


# renames


def test_rename_rules():
    r = parse_rename("model.16.=model.17.")
    assert (r.old, r.new) == ("model.16", "model.17")
    assert r.apply("model.16.cv1.conv.weight") == "model.17.cv1.conv.weight"
    assert r.apply("model.160.x") is None and r.apply("model.1") is None
    glob = parse_rename("layer*.0.downsample=layer*.0.shortcut")
    assert glob.apply("layer2.0.downsample.1.bias") == "layer2.0.shortcut.1.bias"
    assert glob.apply("layer2.1.downsample.1.bias") is None
    assert parse_rename("model.22.dfl=").apply("model.22.dfl.conv.weight") == ""
    # the rule that covers the most names wins; one without * among equals
    mapped = map_keys(
        ["a.b.c", "a.x", "a.b.d"],
        [parse_rename("a=z"), parse_rename("a.b=y"), parse_rename("*.b=w")],
    )
    assert mapped.sources == {"y.c": "a.b.c", "z.x": "a.x", "y.d": "a.b.d"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model.16", '"model.16" is not a rename: it has no "="'),
        ("=model.17", '"=model.17": OLD is empty'),
        ("a..b=c", '"a..b=c": OLD has an empty name'),
        ("a=b=c", '"a=b=c": NEW has the name "b=c"'),
        ("a*=b*.c*", '"a*=b*.c*": NEW has 2 "*" and OLD has 1'),
    ],
)
def test_bad_rename_rules(text, message):
    with pytest.raises(NetspecError) as e:
        parse_rename(text)
    assert str(e.value).splitlines()[0] == f"--rename: error: {message}"


def test_two_keys_renamed_onto_one_is_an_error():
    with pytest.raises(NetspecError) as e:
        map_keys(["a.w", "b.w"], [parse_rename("a=c"), parse_rename("b=c")])
    assert str(e.value) == (
        "--rename: error: two keys of the checkpoint would load into c.w: a.w (by a=c) and b.w "
        "(by b=c)\nhint: make the renames name different keys"
    )


NAMES = st.sampled_from(["0", "1", "2", "a", "b"])
KEYS = st.lists(st.lists(NAMES, min_size=1, max_size=3).map(".".join), unique=True, max_size=12)
PREFIXES = st.lists(st.tuples(NAMES, NAMES), max_size=4, unique_by=lambda p: p[0])


@given(KEYS, PREFIXES)
def test_literal_rules_map_keys_as_the_diff_does(keys, renames):
    try:
        mapped = map_keys(keys, [parse_rename(f"{old}={new}") for old, new in renames])
    except NetspecError:
        return  # two keys onto one: the diff keeps either, the loader refuses
    assert mapped.sources == apply_renames(keys, renames)


def test_suggestions_align_a_shifted_list():
    old = {"0.w": (2,), "1.w": (3,), "1.b": (3,), "3.w": (4,)}
    new = {"0.w": (2,), "1.w": (9,), "2.w": (3,), "2.b": (3,), "4.w": (4,)}
    assert [(r.old, r.new, r.keys) for r in suggest_renames(old, new)] == [
        ("1", "2", 2),
        ("3", "4", 1),
    ]


# torchvision's resnet18


def resnet18_edit(line: str) -> netspec.Spec:
    text = (SPECS / "torchvision" / "resnet18.yaml").read_text()
    anchor = "  - pool: {name: maxpool, mode: max, kernel: 3, stride: 2, padding: 1}\n"
    return netspec.loads(text.replace(anchor, anchor + line), "resnet18_edited.yaml")


@pytest.fixture(scope="module")
def resnet18(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    torchvision = need_torchvision()
    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
    path = tmp_path_factory.mktemp("tv") / "resnet18.pth"
    torch.save(model.state_dict(), path)
    return path, model.state_dict()


def test_torchvisions_resnet18_loads_every_key(resnet18):
    path, state = resnet18
    spec = netspec.load("torchvision/resnet18")
    model = spec.build()
    report = load_weights(model, spec, read_checkpoint(path))
    assert report.complete and report.count(Fate.LOADED) == len(state) == 122
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_a_named_layer_inserted_into_resnet18_keeps_every_other_key(resnet18):
    path, state = resnet18
    spec = resnet18_edit("  - conv: {name: mid, out: 64, kernel: 1}\n")
    model = spec.build()
    report = load_weights(model, spec, read_checkpoint(path))
    assert groups(report, Fate.MISSING) == [("mid", 2)]
    assert report.count(Fate.LOADED) == len(state) and not report.count(Fate.UNEXPECTED)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


def test_a_wider_layer_inserted_into_resnet18(resnet18, golden):
    path, state = resnet18
    spec = resnet18_edit("  - conv: {name: widen, out: 96, kernel: 1}\n")
    model = spec.build()
    report = load_weights(model, spec, read_checkpoint(path, "resnet18.pth"))
    # layer1.0 reads 96 channels: its first conv changes shape, and it gets a projection
    assert groups(report, Fate.MISSING) == [("widen", 2), ("layer1.0.downsample", 6)]
    assert groups(report, Fate.RESHAPED) == [("layer1.0.conv1.weight", 1)]
    assert report.count(Fate.LOADED) == len(state) - 1
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items() if k != "layer1.0.conv1.weight")
    golden("transfer/resnet18_widen.txt", format_transfer(report))
    golden("transfer/resnet18_widen.json", json.dumps(transfer_json(report), indent=1) + "\n")
    # in a notebook: one line for the report
    loaded = len(state) - 1
    counts = f"{loaded} of {loaded + 9} keys loaded, 8 missing, 1 reshaped"
    assert repr(report) == f"<TransferReport resnet18.pth: {counts}>"


# Ultralytics' own checkpoints


@pytest.fixture(scope="module")
def yolo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ultralytics_checkpoints(tmp_path_factory)


@pytest.mark.parametrize(("name", "where"), [("best.pt", "model"), ("last.pt", "ema")])
def test_an_ultralytics_checkpoint_loads_every_key(yolo, name, where):
    reference = torch.load(yolo / "reference.pt", weights_only=True)["state_dict"]
    checkpoint = read_checkpoint(yolo / name, name)
    assert (checkpoint.kind, checkpoint.where) == (Kind.ULTRALYTICS, where)
    spec = netspec.load("ultralytics/yolov8", scale="n")
    model = spec.build()
    report = load_weights(model, spec, checkpoint)
    # every key, Detect's fixed DFL conv (model.22.dfl.conv.weight) included
    assert report.count(Fate.LOADED) == report.spec_keys == 355
    assert not report.groups(Fate.UNEXPECTED)
    loaded = model.state_dict()
    assert all(torch.equal(v, reference[k]) for k, v in loaded.items())
    floats = sum(v.is_floating_point() for v in loaded.values())
    assert report.converted == (("float16", "float32", floats),)


def test_an_ultralytics_checkpoint_computes_as_ultralytics_and_loads_strictly(yolo):
    reference = torch.load(yolo / "reference.pt", weights_only=True)
    checkpoint = read_checkpoint(yolo / "best.pt", "best.pt")
    text = (SPECS / "ultralytics" / "yolov8.yaml").read_text()
    text = text.replace("input: [3, 640, 640]", "input: [3, 128, 128]")
    for full in (80, 40, 20):  # the outputs' declared sizes, at strides 8, 16 and 32
        text = text.replace(f", {full}, {full}]", f", {full // 5}, {full // 5}]")
    text = text.replace("distances: [4, 8400]", "distances: [4, 336]")  # DFL: 16² + 8² + 4²
    spec = netspec.loads(text, "yolov8.yaml", scale="n")
    model = spec.build().eval()
    report = load_weights(model, spec, checkpoint, strict=True)
    assert report.complete and not report.count(Fate.DROPPED)
    with torch.no_grad():
        out = model(reference["input"])
    maps = list(out.values())[:3]  # the raw maps; the fourth is the DFL's box distances
    for got, expected in zip(maps, reference["outputs"], strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_a_row_inserted_in_the_yolov8_head(yolo, golden):
    a, b = yolov8_row("yolov8_row.yaml")
    d = diff(a, b)
    checkpoint = read_checkpoint(yolo / "best.pt", "best.pt")
    by_name = load_weights(b.build(), b, checkpoint)
    assert by_name.count(Fate.LOADED) == d.count(KeyStatus.SAME) == 216
    golden("transfer/yolov8_row.txt", format_transfer(by_name))
    suggested = [f"{r.old}={r.new}" for r in by_name.suggestions]
    with_suggested = load_weights(b.build(), b, checkpoint, suggested)
    with_diff = load_weights(b.build(), b, checkpoint, [f"{r.old}={r.new}" for r in d.renames])
    assert with_suggested.count(Fate.LOADED) == with_diff.count(Fate.LOADED) == d.carried == 355
    assert d.b.keys == 361
