"""Loading a checkpoint into a network built from an edited spec, from the API
(``spec.build(init_from=...)``) and the command line (``netspec build --init-from``,
``--rename``, ``--strict``), with checkpoints made in the test: a torchvision resnet18
state_dict, netspec checkpoints, and Ultralytics' own YOLOv8n ones
(tests/ultralytics_checkpoints.py, in a process of its own)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from conftest import SPECS, cli, need_torchvision
from helpers_keys import ultralytics_checkpoints

import netspec
from netspec.checkpoints import checkpoint_dict
from netspec.diff import diff
from netspec.errors import NetspecError
from netspec.transfer import Fate

SMALL = """\
name: small
input: [3, 8, 8]
params: {classes: 10}
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - conv: {out: 8, kernel: 3, padding: 1}
  - conv: {out: 8, kernel: 3, padding: 1}
  - batchnorm: {name: norm}
  - pool: {mode: avg, global: true}
  - flatten
  - linear: {name: head, out: "${classes}"}
"""
ROW = "  - conv: {out: 8, kernel: 3, padding: 1}\n"
#: a dilated conv of the same shapes inserted after the first row: by name, every old key still
#: loads (into another layer than it was); the diff of the specs knows which layer moved where
DILATED = "  - conv: {out: 8, kernel: 3, padding: 2, dilation: 2}\n"


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """small.yaml, its state_dict (a.pt) and netspec checkpoint (a_netspec.pt), and
    edited.yaml (a row inserted), in ``tmp_path``."""
    spec = netspec.loads(SMALL, "small.yaml")
    state = spec.build(seed=0).state_dict()
    torch.save(state, tmp_path / "a.pt")
    torch.save(checkpoint_dict(spec, state), tmp_path / "a_netspec.pt")
    (tmp_path / "small.yaml").write_text(SMALL)
    (tmp_path / "edited.yaml").write_text(SMALL.replace(ROW, ROW + DILATED, 1))
    return tmp_path


def test_build_init_from_loads_where_key_and_shape_match(small):
    spec = netspec.load(small / "small.yaml", classes=5)
    state = torch.load(small / "a.pt", weights_only=True)
    assert spec.transfer is None
    with pytest.warns(UserWarning) as caught:
        model = spec.build(init_from=small / "a.pt")
    assert spec.transfer is not None and not spec.transfer.complete
    assert [(g.prefix, len(g.keys)) for g in spec.transfer.groups(Fate.RESHAPED)] == [("head", 2)]
    said = str(caught[0].message)
    assert "11 of 13 keys loaded" in said and "head.*  2 keys" in said
    assert caught[0].filename == __file__  # said at the line that builds
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items() if not k.startswith("head"))


def test_a_complete_load_is_silent(small):
    spec = netspec.load(small / "small.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = spec.build(init_from=str(small / "a.pt"), renames=["norm=norm"], strict=True)
    state = torch.load(small / "a.pt", weights_only=True)
    assert spec.transfer is not None and spec.transfer.complete
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_renames_carry_a_layer_renamed_on_purpose(small):
    spec = netspec.loads(SMALL.replace("name: head", "name: classifier"), "renamed.yaml")
    model = spec.build(init_from=small / "a.pt", renames="head=classifier", strict=True)
    state = torch.load(small / "a.pt", weights_only=True)
    assert torch.equal(model.classifier.weight, state["head.weight"])


def test_strict_loads_nothing_and_names_the_layer(small):
    spec = netspec.load(small / "small.yaml", classes=5)
    with pytest.raises(NetspecError) as e:
        spec.build(init_from=small / "a.pt", strict=True)
    lines = str(e.value).splitlines()
    assert lines[0].endswith(
        "error: strict: 11 of 13 keys would load from "
        + str(small / "a.pt")
        + "; nothing was loaded"
    )
    assert any(
        line.endswith("small.yaml:11:5: error: head.*: 2 keys shape-changed") for line in lines
    )
    assert spec.transfer is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"device": "meta"}, "init_from loads weights, which a module on the meta device has"),
        ({"renames": ["head"]}, 'renames: error: "head" is not a rename: it has no "="'),
        ({"init_from": "missing.pt"}, "missing.pt: error: no such file"),
    ],
)
def test_what_cannot_load_is_refused_before_the_build(small, kwargs, message):
    spec = netspec.load(small / "small.yaml")
    with pytest.raises(NetspecError) as e:
        spec.build(**{"init_from": small / "a.pt", **kwargs})
    assert message in str(e.value)


# the command line


def test_build_init_from_prints_the_report(small, golden):
    run = cli("build", "small.yaml", "--set", "classes=5", "--init-from", "a.pt", cwd=small)
    assert (run.code, run.err) == (0, "")
    golden("init_from/build_small.txt", run.out)


def test_strict_fails_and_writes_nothing(small):
    run = cli(
        "build",
        "small.yaml",
        "--set",
        "classes=5",
        "--init-from",
        "a.pt",
        "--strict",
        "-o",
        "out.pt2",
        cwd=small,
    )
    assert (run.code, run.out) == (1, "")
    assert "small.yaml:11:5: error: head.*: 2 keys shape-changed" in run.err
    assert not (small / "out.pt2").exists()


def test_the_saved_module_carries_the_loaded_weights(small):
    run = cli("build", "edited.yaml", "--init-from", "a.pt", "-o", "out.pt2", cwd=small)
    assert run.code == 0, run.err
    saved = torch.export.load(small / "out.pt2").module().state_dict()
    state = torch.load(small / "a.pt", weights_only=True)
    assert torch.equal(saved["head.weight"], state["head.weight"])
    assert torch.equal(saved["norm.running_var"], state["norm.running_var"])


def test_a_netspec_checkpoint_suggests_the_renames_of_its_diff(small):
    a, b = netspec.load(small / "small.yaml"), netspec.load(small / "edited.yaml")
    renames = " ".join(f"--rename {r.old}={r.new}" for r in diff(a, b).renames)
    assert renames == "--rename 1=2 --rename 2=3"
    run = cli("build", "edited.yaml", "--init-from", "a_netspec.pt", cwd=small)
    assert run.code == 0 and run.out.rstrip().endswith(renames)
    # a plain state_dict has no spec: by its keys alone, every one of them still loads
    run = cli("build", "edited.yaml", "--init-from", "a.pt", cwd=small)
    assert run.code == 0 and "--rename" not in run.out
    run = cli("build", "edited.yaml", "--init-from", "a_netspec.pt", *renames.split(), cwd=small)
    assert "  weights a_netspec.pt → edited.yaml (small): 13 of 15 keys loaded" in run.out
    assert (
        "missing, left as built (in the spec, not in the checkpoint):\n    edited.yaml:6:5  1.*"
        in run.out
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--init-from", "a.pt", "--meta"), "--init-from loads weights, which --meta does not"),
        (("--rename", "a=b"), "--rename applies to a checkpoint: add --init-from FILE"),
        (("--strict", "--rename", "a=b"), "--rename and --strict apply to a checkpoint"),
        (("--init-from", "a.pt", "--rename", "a"), '"a" is not a rename: it has no "="; write'),
    ],
)
def test_misuse_is_exit_2(small, args, message):
    run = cli("build", "small.yaml", *args, cwd=small)
    assert run.code == 2
    assert run.err.startswith(f"netspec build: error: {message}")


def test_build_init_from_a_torchvision_resnet18(tmp_path):
    torchvision = need_torchvision()
    torch.manual_seed(0)
    state = torchvision.models.resnet18().state_dict()
    torch.save(state, tmp_path / "resnet18.pth")
    spec = netspec.load("torchvision/resnet18")
    model = spec.build(init_from=tmp_path / "resnet18.pth", strict=True)
    assert spec.transfer is not None and spec.transfer.count(Fate.LOADED) == len(state)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


# Ultralytics' own checkpoints


@pytest.fixture(scope="module")
def yolo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ultralytics_checkpoints(tmp_path_factory)


def test_build_init_from_an_ultralytics_checkpoint(yolo):
    spec = str(SPECS / "ultralytics" / "yolov8.yaml")
    # every key, Detect's fixed DFL weight included: strict, with no rename
    args = ("--scale", "n", "--init-from", "best.pt", "--strict")
    run = cli("build", spec, *args, cwd=yolo)
    assert run.code == 0, run.err
    assert ": 355 of 355 keys loaded\n" in run.out
    assert '    from an Ultralytics checkpoint (its "model", float16' in run.out
    assert " tensors from float16 to float32\n" in run.out and "dropped" not in run.out
    # a key dropped on purpose (OLD=) is said by name, and strict then counts without it
    dropped = cli("build", spec, *args, "--rename", "model.22.dfl=", cwd=yolo)
    assert dropped.code == 1 and "model.22.dfl.conv.weight: missing" in dropped.err
