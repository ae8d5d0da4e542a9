"""``netspec build -o model.onnx``: ONNX that onnx.checker accepts and onnxruntime runs to the
torch module's outputs, with the spec's input and output names and a free batch size.

Every bundled spec is exported with torch's TorchScript-based exporter: its models are the
same as those of torch's default (dynamo) exporter, which netspec uses, but it takes seconds
for the whole zoo instead of minutes. ``NETSPEC_ONNX_SWEEP=dynamo`` sweeps with netspec's own
exporter (after a torch upgrade, say), as does a torch that no longer has the old one; the
other tests all go netspec's way.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import FIXTURES, Run, at_input, cli, ultralytics_at_size

import netspec as ns
from netspec import onnx_export
from netspec.build import save_module
from netspec.bundled import bundled_names
from netspec.cli import main
from netspec.onnx_export import CHECK_BATCH, TOLERANCE, TRACE_BATCH, to_onnx


def _need(module: str) -> Any:
    """The test environment has onnx and onnxruntime; elsewhere these tests skip, and under
    ``CI=true`` their absence fails them."""
    if os.environ.get("CI"):
        return __import__(module)
    return pytest.importorskip(module)


onnx = _need("onnx")
onnxruntime = _need("onnxruntime")
_need("onnxscript")

SWEEP_DYNAMO = os.environ.get("NETSPEC_ONNX_SWEEP") == "dynamo"
TWO_IN_TWO_OUT = FIXTURES / "graphs" / "two_in_two_out.yaml"


def signature(model: Any) -> tuple[list[tuple[str, list[Any]]], list[tuple[str, list[Any]]]]:
    """The graph's inputs and outputs: names, and dimensions (a name where it is free)."""

    def dims(value: Any) -> list[Any]:
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    return (
        [(v.name, dims(v)) for v in model.graph.input],
        [(v.name, dims(v)) for v in model.graph.output],
    )


def expected_signature(spec: ns.Spec) -> tuple[list[Any], list[Any]]:
    return (
        [(name, ["batch", *s.dims]) for name, s in spec.input_shapes.items()],
        [(name, ["batch", *s.dims]) for name, s in spec.output_shapes.items()],
    )


def assert_runs_as_torch(model_bytes: bytes, module: torch.nn.Module, spec: ns.Spec, batch: int):
    """onnxruntime gives what torch gives, within the tolerance netspec checks with (see
    netspec.onnx_export.TOLERANCE: float32 in another order, batchnorm folded)."""
    generator = torch.Generator().manual_seed(1)
    inputs = {
        n: torch.randn(batch, *s.dims, generator=generator) for n, s in spec.input_shapes.items()
    }
    with torch.no_grad():
        out = module.eval()(*inputs.values())
    want = out if isinstance(out, dict) else {"output": out}
    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    got = session.run(None, {n: x.numpy() for n, x in inputs.items()})
    assert [o.name for o in session.get_outputs()] == list(want)
    for value, expected in zip(got, want.values(), strict=True):
        expected = expected.numpy()
        assert value.shape == expected.shape
        scale = max(1.0, float(np.abs(expected).max()))
        assert np.abs(value - expected).max() <= TOLERANCE * scale


#: the widest hidden linear layer the sweep exports
WIDEST = 256


def narrowed(spec: ns.Spec) -> ns.Spec:
    """The spec with its wide hidden linear layers (VGG's and AlexNet's 4096) narrowed to
    :data:`WIDEST` (an output layer, 1000 or fewer, stays): the exporter does the same for
    any width, and 100 M weights would take seconds to copy, check and load."""
    overrides = {
        f"{c.path}.out": WIDEST
        for c in spec.checked.walk()
        if c.node.kind.name == "linear" and c.output.dims[-1] > 1024
    }
    return spec.with_params(**overrides) if overrides else spec


#: the bundled specs that take longest here, 2-3 s of CPU even small: many layers and weights
HEAVY = {"torchvision/densenet121", "torchvision/resnet50", "torchvision/resnet50_fpn"}


#: specs exported smaller, with the same structure (every kind and layout operation they use):
#: U-Net at 32×32 and a quarter of its widths instead of 256×256, VGG-11 at a quarter of its
#: widths; the networks of tokens at a sixteenth of their widths and with fewer blocks (ViT-B/16
#: whole took minutes and 5 GB to export here)
SMALLER: dict[str, dict[str, Any]] = {
    "unet": {"size": 32, "base": 16},
    "vgg": {"conv_arch": [[1, 16], [1, 32], [2, 64], [2, 128], [2, 128]]},
    "torchvision/efficientnet_b0": {"resolution": 64},
    "torchvision/vit_b_16": {"image_size": 32, "num_layers": 2, "hidden": 48, "mlp": 96},
    "torchvision/swin_t": {"image_size": 56, "embed": 24, "depths": [2, 2, 2, 2]},
    "torchvision/convnext_tiny": {"widths": [24, 48, 96, 192], "depths": [1, 1, 2, 1]},
    "transformer_encoder": {"num_layers": 2},
}

#: specs written for 224×224 images, exported at a smaller size (conftest.at_input: the same
#: layers): they pool to 1×1 at the end (NiN's and AlexNet's fixed pooling windows need 96).
#: torchvision's VGGs and AlexNet pool adaptively to 7×7 and 6×6, which the exporter writes
#: only from a multiple of that size: they stay at 224, the VGGs at a quarter of their widths
#: (:func:`thinned`).
AT_SIZE = {
    **dict.fromkeys(["nin", "alexnet"], 96),
    **dict.fromkeys(
        [
            "torchvision/convnext_tiny",
            "torchvision/densenet121",
            "torchvision/googlenet",
            "torchvision/mobilenet_v2",
            "torchvision/mobilenet_v3_small",
            "torchvision/resnet18",
            "torchvision/resnet50",
            "torchvision/shufflenet_v2_x1_0",
            "torchvision/squeezenet1_0",
            "ultralytics/yolo11-cls",
            "ultralytics/yolov8-cls",
        ],
        64,
    ),
}
#: the YOLO detectors' image size (conftest.ultralytics_at_size), ResNet-50-FPN's (fpn_at)
DETECTOR_SIZE = 128
FPN_SIZE = 64
THINNED = {"torchvision/vgg16", "torchvision/vgg16_bn"}


def thinned(spec: ns.Spec) -> ns.Spec:
    """Every convolution but the last at a quarter of its width (the last one's width is in
    the ``expect:`` of the flatten after it)."""
    convs = [c for c in spec.checked.walk() if c.node.kind.name == "conv"]
    return spec.with_params(**{f"{c.path}.out": c.output.dims[0] // 4 for c in convs[:-1]})


def fpn_at(size: int) -> ns.Spec:
    """ResNet-50-FPN at size × size: its declared outputs too, level N at a stride of 2^N, the
    pool's (level 6) rounded up."""
    spec = ns.load("torchvision/resnet50_fpn")
    text = spec.document.text.replace("input: [3, 224, 224]", f"input: [3, {size}, {size}]")
    for level, name in enumerate(["p2", "p3", "p4", "p5", "pool"], start=2):
        side = -(-size // 2**level)
        text, found = re.subn(
            rf"^  {name}: \[256, \d+, \d+\]$", f"  {name}: [256, {side}, {side}]", text, flags=re.M
        )
        assert found == 1, name
    return ns.loads(text, spec.file)


def swept(name: str) -> ns.Spec:
    """The spec the sweep exports: a family's default scale (its smallest), made smaller where
    the structure stays."""
    spec = ns.load(name, **SMALLER.get(name, {}))
    if name in AT_SIZE:
        spec = at_input(spec, AT_SIZE[name], **SMALLER.get(name, {}))
    elif name in ("ultralytics/yolov8", "ultralytics/yolo11"):
        spec = ultralytics_at_size(spec, DETECTOR_SIZE)
    elif name == "torchvision/resnet50_fpn":
        spec = fpn_at(FPN_SIZE)
    elif name in THINNED:
        spec = thinned(spec)
    return narrowed(spec)


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in bundled_names()],
)
def test_every_bundled_spec_exports_and_runs_in_onnxruntime(name, monkeypatch):
    spec = swept(name)
    module = spec.build(seed=0).eval()
    # netspec's own check runs the model in onnxruntime and compares it with the module (the
    # tests below show it refuses a difference, and compare independently): watched, not redone
    batches = []
    run = onnxruntime.InferenceSession.run

    def watched(self, names, feed, *args, **kwargs):
        batches.extend(len(x) for x in feed.values())
        return run(self, names, feed, *args, **kwargs)

    monkeypatch.setattr(onnxruntime.InferenceSession, "run", watched)
    data = to_onnx(module, spec, Path("x.onnx"), dynamo=SWEEP_DYNAMO)
    # traced with a batch of 2, run with 3: the batch size is free
    assert batches == [CHECK_BATCH] * len(spec.input_shapes) and CHECK_BATCH != TRACE_BATCH
    onnx.checker.check_model(data)
    assert signature(onnx.load_model_from_string(data)) == expected_signature(spec)


def test_build_o_onnx_saves_what_build_seed_builds(tmp_path):
    """In this process; test_package's test_build_onnx_runs_from_the_wheel asserts the same of
    a fresh process (the wheel's command), where what torch writes on fd 2 would show."""
    out = tmp_path / "lenet.onnx"
    run = cli("build", "lenet", "--seed", "3", "-o", str(out))
    assert_lenet_saved_as_seed_3_builds(run, out)


def assert_lenet_saved_as_seed_3_builds(run: Run, out: Path) -> None:
    """``netspec build lenet --seed 3 -o OUT.onnx`` said nothing but its report and wrote only
    OUT: an ONNX model that onnx.checker accepts, with a free batch size, that runs in
    onnxruntime as ``build(seed=3)`` does in torch."""
    assert run.code == 0, run.err
    assert run.err == ""  # none of the exporter's progress lines, warnings or logs
    assert run.out.splitlines()[-1] == f"  saved   {out}"
    assert "torch.onnx" not in run.out and "✅" not in run.out
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary left
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert signature(model) == ([("input", ["batch", 1, 28, 28])], [("output", ["batch", 10])])
    spec = ns.load("lenet")
    assert_runs_as_torch(out.read_bytes(), spec.build(seed=3), spec, batch=2)


def test_a_graph_exports_every_named_input_and_output(tmp_path):
    spec = ns.load(TWO_IN_TWO_OUT)
    module = spec.build(seed=5)
    out = tmp_path / "two.onnx"
    save_module(module, spec, out)
    model = onnx.load(str(out))
    assert signature(model) == (
        [("image", ["batch", 3, 32, 32]), ("depth", ["batch", 1, 32, 32])],
        [("mask", ["batch", 2, 32, 32]), ("score", ["batch", 1])],
    )
    assert_runs_as_torch(out.read_bytes(), module, spec, batch=4)


def test_without_the_extra_the_error_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)  # import onnx fails
    out = tmp_path / "lenet.onnx"
    assert main(["build", "lenet", "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"netspec build: error: -o {out}: writing ONNX needs onnx, which is not installed: "
        "pip install 'netspec-nn[onnx]'\n"
    )
    assert captured.out == ""  # refused before building
    spec = ns.load("lenet")
    with pytest.raises(ns.NetspecError) as e:
        save_module(spec.build(), spec, out)
    assert str(e.value).endswith(
        "lenet.yaml: error: writing ONNX needs onnx, which is not installed\n"
        "hint: pip install 'netspec-nn[onnx]'"
    )
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffixes_are_refused_with_the_choices(tmp_path, capsys):
    out = tmp_path / "lenet.h5"
    assert main(["build", "lenet", "-o", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"netspec build: error: -o {out}: use .pt (TorchScript), .pt2 (torch.export) "
        "or .onnx (ONNX)\n"
    )
    spec = ns.load("lenet")
    with pytest.raises(
        ns.NetspecError,
        match=r"saves .pt \(TorchScript\), .pt2 \(torch.export\) or .onnx \(ONNX\), not .h5",
    ):
        save_module(spec.build(), spec, out)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def exported() -> tuple[ns.Spec, torch.nn.Module, bytes]:
    """A one-layer spec, its module, and the ONNX model torch's exporter makes of it, once
    (about 1 s of CPU each time)."""
    spec = ns.loads("name: t\ninput: [3, 4, 4]\nlayers: [{conv: {out: 2, kernel: 1}}]\n")
    module = spec.build().eval()
    return spec, module, onnx_export._export(module, spec, dynamo=True)


def _break_export(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("cannot export this operator\nmore of torch's text")

    monkeypatch.setattr(torch.onnx, "export", broken)


def _break_checker(monkeypatch):
    def refuse(model, *args, **kwargs):
        raise onnx.checker.ValidationError("Field 'type' of 'value_info' is required")

    monkeypatch.setattr(onnx.checker, "check_model", refuse)


def _break_onnxruntime(monkeypatch):
    run = onnxruntime.InferenceSession.run

    def off(self, *args, **kwargs):
        return [value + 0.5 for value in run(self, *args, **kwargs)]

    monkeypatch.setattr(onnxruntime.InferenceSession, "run", off)


def _break_onnxruntime_run(monkeypatch):
    def fail(self, *args, **kwargs):
        raise RuntimeError("[ONNXRuntimeError] : 1 : FAIL : Non-zero status code")

    monkeypatch.setattr(onnxruntime.InferenceSession, "run", fail)


@pytest.mark.parametrize(
    ("breaking", "message"),
    [
        (
            _break_export,
            r"torch cannot export this network to ONNX \(cannot export this operator\)",
        ),
        (_break_checker, r"torch wrote an ONNX model that onnx.checker refuses \(Field 'type'"),
        (
            _break_onnxruntime,
            r"the ONNX model's output differs from the torch module's \(by up to 0.5",
        ),
        (
            _break_onnxruntime_run,
            r"the ONNX model torch wrote does not load back and run \(\[ONNXRuntimeError\] : 1",
        ),
    ],
)
def test_a_model_that_fails_is_not_written_and_an_old_file_stays(
    tmp_path, monkeypatch, breaking, message, exported
):
    spec, module, data = exported
    if breaking is not _break_export:  # what breaks comes after torch's export: its model
        monkeypatch.setattr(onnx_export, "_export", lambda *args: data)
    target = tmp_path / "t.onnx"
    target.write_bytes(b"the previous model")
    breaking(monkeypatch)
    with pytest.raises(ns.NetspecError, match=message) as e:
        save_module(module, spec, target)
    assert f"{target} was not written" in str(e.value)
    assert "hint: save it as .pt2 (torch.export) or .pt (TorchScript)" in str(e.value)
    assert [p.name for p in tmp_path.iterdir()] == ["t.onnx"]
    assert target.read_bytes() == b"the previous model"


def test_weights_beyond_what_one_onnx_file_holds_are_refused_before_exporting(tmp_path):
    spec = ns.loads("name: big\ninput: [40000]\nlayers: [{linear: 20000}]\n")  # 800 M params
    with pytest.raises(ns.NetspecError) as e:
        to_onnx(torch.nn.Identity(), spec, tmp_path / "big.onnx")  # never builds or exports it
    assert str(e.value) == (
        "<string>: error: an ONNX file holds at most 2 GB, and this network's weights take "
        f"3.2 GB; {tmp_path / 'big.onnx'} was not written\n"
        "hint: save it as .pt2 (torch.export), which has no such limit"
    )
