"""The Python API: netspec.load / loads and the Spec object."""

from __future__ import annotations

import pytest
import torch
from conftest import SPECS

import netspec
from netspec import NetspecError, Shape

SMALL = """
name: small
description: a small test network
input: ["${in_channels}", "${size}", "${size}"]
output: ["${num_classes}"]
params: {in_channels: 3, size: 16, num_classes: 5, width: 1.0, hidden: "${round(32 * width)}"}
blocks:
  conv_bn:
    args: {out: int, stride: 1}
    layers:
      - conv: {name: conv, out: "${out}", kernel: 3, stride: "${stride}", padding: 1, bias: false}
      - batchnorm: {name: bn}
      - relu
layers:
  - conv_bn: {name: stem, out: "${hidden}", stride: 2}
  - repeat:
      name: "stage${1}"
      times: 2
      body:
        - conv_bn: {out: "${hidden * (i + 1)}"}
  - pool: {mode: avg, global: true}
  - flatten
  - linear: {name: fc, out: "${num_classes}"}
"""


def test_load_by_name_and_path():
    by_name = netspec.load("lenet")
    by_path = netspec.load(SPECS / "lenet.yaml")
    assert by_name.num_params == by_path.num_params == 61706
    assert by_name.output_shape == Shape((10,))
    assert by_name.description.startswith("LeNet")
    assert "61,706 params" in repr(by_name)


def test_overrides_and_params_arithmetic():
    spec = netspec.loads(SMALL)
    assert spec.params == {
        "in_channels": 3,
        "size": 16,
        "num_classes": 5,
        "width": 1.0,
        "hidden": 32,
    }
    wide = spec.with_params(width=2, num_classes=7)
    assert wide.params["hidden"] == 64 and wide.params["width"] == 2.0
    assert wide.output_shape == Shape((7,))
    paths = [c.path for c in wide.checked.walk()]
    assert "stage1.1.conv" in paths and "stem.bn" in paths
    model = wide.build()
    assert model(torch.zeros(2, 3, 16, 16)).shape == (2, 7)
    assert "stage1.1.conv.weight" in model.state_dict()


def test_override_errors():
    with pytest.raises(NetspecError, match='no param "num_class"'):
        netspec.loads(SMALL, num_class=3)
    with pytest.raises(NetspecError, match="expected an integer"):
        netspec.loads(SMALL, num_classes=2.5)
    with pytest.raises(NetspecError, match="input sizes must be positive integers"):
        netspec.loads(SMALL, size=0)


def test_table_lists_paths_and_totals():
    table = netspec.loads(SMALL).table()
    assert "stem.conv" in table and "conv 3×3 /2, 32" in table
    assert table.splitlines()[-2].startswith("params:")


def test_build_gives_fresh_modules():
    spec = netspec.load("lenet")
    a, b = spec.build(), spec.build()
    assert a is not b
    assert not torch.equal(a[0].weight, b[0].weight)


def test_check_errors_are_netspec_errors_with_diagnostics():
    with pytest.raises(NetspecError) as e:
        netspec.loads("name: x\ninput: [3, 8, 8]\nlayers:\n  - linear: 4\n", file="x.yaml")
    (d,) = e.value.diagnostics
    assert (d.file, d.pos.line, d.pos.col) == ("x.yaml", 4, 5)
    assert d.hint == 'add "- flatten" before this layer'


def test_importing_netspec_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, netspec; netspec.load('resnet'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_spec_error_shows_in_ipython_without_a_traceback():
    with pytest.raises(netspec.NetspecError) as e:
        netspec.loads("name: t\ninput: [3]\nlayers: [relux]\n")
    lines = e.value._render_traceback_()  # what IPython prints instead of the traceback
    assert (
        lines[0].startswith("<string>:3:10: error: unknown layer kind") and "Traceback" not in lines
    )


def test_spec_summary_in_python():
    spec = netspec.load("lenet")
    static = spec.summary(static=True, batch=2)
    assert static.source == "static" and static.batch == 2 and static.totals.params == 61706
    assert spec.summary().source == "torchinfo"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: netspec.loads(123), "loads() takes the spec's text as a str, got int"),
        (lambda: netspec.loads(b"name: x"), "got bytes: decode them first"),
        (lambda: netspec.loads("name: x", file=5), "loads() takes the file name to show as a str"),
        (lambda: netspec.load(123), "load() takes a path or a bundled spec's name"),
        (lambda: netspec.load(None), "load() takes a path or a bundled spec's name"),
        (lambda: netspec.load("lenet", max_layers="many"), "max_layers must be a whole number ≥ 1"),
        (lambda: netspec.load("lenet", max_layers=True), "max_layers must be a whole number ≥ 1"),
        (lambda: netspec.load("lenet", scale=5), "scale must be the name of one of the spec's"),
        (lambda: netspec.load("lenet").build(device=5), "device must be a name such as 'cpu'"),
        (lambda: netspec.load("lenet").build(device="xyz"), "cannot build on device 'xyz'"),
        (lambda: netspec.load("lenet").build(max_bytes="x"), "max_bytes must be a number above 0"),
        (lambda: netspec.load("lenet").build(max_bytes=-1), "max_bytes must be a number above 0"),
        (
            lambda: netspec.load("lenet").summary(static=True, batch="x"),
            "the batch must be a whole",
        ),
        (lambda: netspec.load("lenet").summary(static=True, depth="x"), "depth must be a whole"),
        (lambda: netspec.load("lenet").summary(static=True, depth=-1), "depth must be a whole"),
        (lambda: netspec.load("lenet").to_dot(depth="x"), "depth must be a whole number"),
        (lambda: netspec.load("lenet").to_dot(rankdir="XY"), "rankdir must be one of TB, LR"),
        (lambda: netspec.load("lenet").diagram("gif"), "fmt must be one of svg, png, pdf, dot"),
        (lambda: netspec.load("lenet").memory("x"), "batch must be a whole number ≥ 1"),
        (lambda: netspec.load("lenet").with_scale(5), "scale must be the name of one of"),
    ],
)
def test_wrong_types_and_values_are_netspec_errors(call, message):
    with pytest.raises(netspec.NetspecError) as e:
        call()
    assert message in e.value.format()


def test_a_plugin_name_that_is_not_a_str_is_a_plugin_error():
    from netspec.plugins import PluginError, load_plugins

    with pytest.raises(PluginError, match="not a module name"):
        load_plugins(5)  # type: ignore[arg-type]
