"""The static ``state_dict`` (netspec.state_keys) is the built module's, key for key.

For every bundled spec at every one of its scales, and for small specs that turn every option
that changes a tensor (bias, groups, affine, running statistics, a prelu's slopes, a residual's
inline layers and named projection, an inception's identity branch, a repeat of none, a layer
left out by its if:, a graph of named tensors): the keys, their order and their shapes equal
``spec.build(device="meta").state_dict()``'s, and their values add up to the parameters and
buffers the static pass counts. A plugin's kind that does not say what it keeps is unknown,
never guessed. No torch is imported to list them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import bundled_scales
from helpers_keys import Scale, fresh_run, registered

import netspec
from netspec import registry
from netspec.bundled import bundled_names
from netspec.ir import Kind
from netspec.plugins import Shape
from netspec.state_keys import state_keys


def _cases() -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for name in bundled_names():
        out.extend((name, s) for s in bundled_scales(name) or [None])
    return out


def test_the_scales_read_at_collection_are_the_specs() -> None:
    """The scales the tests here and in test_diff.py are parametrised by (read from the YAML,
    unchecked) are each bundled spec's own."""
    for name in bundled_names():
        assert bundled_scales(name) == list(netspec.load(name).scales), name


def assert_keys_match(spec: netspec.Spec) -> None:
    found = state_keys(spec.checked)
    model = spec.build(device="meta")
    real = model.state_dict()
    assert found.complete
    assert [(e.key, e.shape.dims) for e in found] == [(k, tuple(t.shape)) for k, t in real.items()]
    # the keys hold every parameter and persistent buffer; the counts hold every buffer (a
    # non-persistent one, as Swin's attention mask, is the module's but not its checkpoint's)
    keys, values = found.numel(), sum(t.numel() for t in real.values())
    held = sum(t.numel() for t in (*model.parameters(), *model.buffers()))
    counted = spec.checked.params + spec.checked.buffers  # ints: a failure prints no tree
    assert (keys, counted) == (values, held)


@pytest.mark.parametrize(("name", "scale"), _cases())
def test_bundled_keys_equal_the_built_modules(name: str, scale: str | None) -> None:
    assert_keys_match(netspec.load(name, scale=scale))


VARIANTS = {
    "conv_options": """
input: [8, 12, 12]
layers:
  - conv: {out: 16, kernel: [3, 1], groups: 4, bias: false, padding_mode: reflect, padding: 1}
  - conv_transpose: {out: 8, kernel: 2, stride: 2, groups: 2}
  - conv_transpose: {out: 6, kernel: 3, bias: false}
  - prelu: {channels: true}
  - prelu
  - flatten
  - linear: {out: 5, bias: false}
  - batchnorm
  - layernorm: {bias: false}
  - linear: 4
  - layernorm: {affine: false}
""",
    "norms": """
input: [8, 6, 6]
layers:
  - batchnorm: {affine: false}
  - batchnorm: {track_running_stats: false}
  - instancenorm: {affine: true, track_running_stats: true}
  - instancenorm
  - groupnorm: 4
  - groupnorm: {groups: 2, affine: false}
  - layernorm
""",
    "composites": """
input: [4, 8, 8]
params: {extra: false}
layers:
  - residual:
      inline: true
      body:
        - conv: {name: conv1, out: 8, kernel: 3, stride: 2, padding: 1}
        - batchnorm: {name: bn1}
      shortcut: projection
      projection: {name: downsample, batchnorm: true}
      after: relu
  - residual:
      body: [{conv: {out: 8, kernel: 1}}, relu]
      after: [batchnorm, relu]
  - inception:
      branches:
        left: [{conv: {out: 2, kernel: 1}}]
        middle: []
        right: [{pool: {mode: max, kernel: 3, stride: 1, padding: 1}}, {conv: {out: 3, kernel: 1}}]
  - repeat: {times: 0, body: [{conv: {out: 13, kernel: 1}}]}
  - conv: {out: 5, kernel: 1, if: "${extra}"}
  - repeat: {times: 2, first: [{conv: {out: 6, kernel: 1}}], body: [batchnorm]}
  - group: {name: one, keep: true, layers: [{conv: {out: 6, kernel: 1}}]}
""",
    "graph": """
input: [3, 16, 16]
blocks:
  gate:
    args: {out: int}
    layers:
      - conv: {out: "${out}", kernel: 1, to: x}
      - pool: {mode: avg, global: true}
      - conv: {out: "${out}", kernel: 1}
      - sigmoid: {to: g}
      - mul: {from: [x, g]}
layers:
  - conv: {out: 8, kernel: 3, padding: 1, to: a}
  - split: {parts: 2, to: [left, right]}
  - conv: {out: 4, kernel: 1, from: right, to: b}
  - concat: {from: [left, b, a]}
  - gate: {name: se, out: 8}
  - slice: {end: 4}
  - channel_shuffle: 2
  - upsample: {scale: 2}
""",
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_option_that_shapes_a_tensor(name: str) -> None:
    assert_keys_match(netspec.loads(f"name: {name}\n{VARIANTS[name]}", file=f"{name}.yaml"))


def test_every_builtin_kind_says_what_it_keeps() -> None:
    """A leaf kind implements tensors(); a composite holds its children under their names."""
    for kind in registry.all_kinds():
        if registry.is_builtin(kind):
            assert kind.holds_children or type(kind).tensors is not Kind.tensors, kind.name


def test_listing_keys_imports_no_torch() -> None:
    printed, torch = fresh_run(
        "import netspec\n"
        "from netspec.state_keys import state_keys\n"
        "print(len(state_keys(netspec.load('ultralytics/yolov8').checked)))\n"
    )
    assert printed == ["355"] and not torch  # with Detect's DFL weight


# plugins


class _Told(Scale):
    name = "test_scale_told"

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {"gain": Shape((input.channels, 1, 1))}


class _Garbled(Scale):
    name = "test_scale_garbled"

    def tensors(self, opts: Any, input: Shape, output: Shape) -> Any:
        return {"gain.x": (input.channels,)}


class _Raises(Scale):
    name = "test_scale_raises"

    def tensors(self, opts: Any, input: Shape, output: Shape) -> Any:
        raise KeyError("gain")


@pytest.fixture
def plugin_kinds() -> Iterator[None]:
    with registered(Scale(), _Told(), _Garbled(), _Raises()):
        yield


PLUGGED = """name: plugged
input: [4, 8, 8]
layers:
  - conv: {out: 6, kernel: 3}
  - group: {name: mid, layers: [{test_scale: {}}, batchnorm]}
  - %s
  - conv: {out: 2, kernel: 1}
"""


@pytest.mark.usefixtures("plugin_kinds")
def test_a_plugin_kind_that_does_not_say_is_unknown() -> None:
    found = state_keys(netspec.loads(PLUGGED % "test_scale_told").checked)
    assert [c.path for c in found.unknown] == ["mid.0"]
    assert not found.complete
    assert list(found.entries) == [
        "0.weight",
        "0.bias",
        "mid.1.weight",
        "mid.1.bias",
        "mid.1.running_mean",
        "mid.1.running_var",
        "mid.1.num_batches_tracked",
        "2.gain",
        "3.weight",
        "3.bias",
    ]
    assert found.unknown_under("mid.0.gain") is found.unknown[0]
    assert found.unknown_under("mid.1.weight") is None


@pytest.mark.usefixtures("plugin_kinds")
def test_a_plugin_kind_that_says_is_checked_against_its_module() -> None:
    spec = netspec.loads(PLUGGED.replace("test_scale: {}", "relu") % "test_scale_told")
    assert_keys_match(spec)


@pytest.mark.usefixtures("plugin_kinds")
@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("garbled", "its tensors() returned {'gain.x': (6,)}"),  # an answer that is no shape
        ("raises", "its tensors() raised KeyError"),
    ],
)
def test_a_plugin_kinds_failing_tensors_is_its_fault_at_its_line(kind: str, says: str) -> None:
    spec = netspec.loads(PLUGGED % f"test_scale_{kind}", file="plugged.yaml")
    with pytest.raises(netspec.NetspecError) as e:
        state_keys(spec.checked)
    (d,) = e.value.diagnostics
    assert (d.file, d.pos.line, d.pos.col) == ("plugged.yaml", 6, 5)
    assert d.message.startswith(
        f'plugin kind "test_scale_{kind}" (test_state_keys._{kind.capitalize()}'
    )
    assert says in d.message
    assert d.hint.startswith("the fault is in the plugin")
