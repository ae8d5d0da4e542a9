"""Overrides: ``--set NAME=VALUE`` for params, ``--set path.to.layer.option=VALUE`` for a layer."""

from __future__ import annotations

import sys

import pytest
from conftest import netspec as run

import netspec
from netspec.overrides import apply_layer_overrides, split_overrides


def test_split_overrides_by_the_dot():
    assert split_overrides({"width": 0.5, "head.2.out": 5}) == ({"width": 0.5}, {"head.2.out": 5})


def test_a_layer_option_deep_in_the_spec():
    base = netspec.load("resnet")
    spec = netspec.load("resnet", **{"stage2.0.body.conv1.out": 96})
    conv = next(c for c in spec.checked.walk() if c.path == "stage2.0.body.conv1")
    assert conv.output.channels == 96
    assert spec.num_params != base.num_params
    # only that layer: its sibling in the next block keeps the block's width
    other = next(c for c in spec.checked.walk() if c.path == "stage2.1.body.conv1")
    assert other.output.channels == 128
    built = spec.build()
    assert built.get_submodule("stage2.0.body.conv1").out_channels == 96


def test_a_dropout_in_the_classifier():
    spec = netspec.load("alexnet", **{"16.p": 0.3})
    assert spec.build()[16].p == 0.3


def test_enum_options_and_pairs_round_trip():
    spec = netspec.load("resnet", **{"stem.3.mode": "avg", "stem.0.kernel": [5, 5]})
    pool = next(c for c in spec.checked.walk() if c.path == "stem.3")
    assert pool.node.kind.describe(pool.node.opts).startswith("avgpool")


@pytest.mark.parametrize(
    ("setting", "message", "hint"),
    [
        (
            "stage2.0.bdy.conv1.out=3",
            'the network has no layer "stage2.0.bdy.conv1"',
            'did you mean "stage2.0.body"? valid layers in stage2.0: stage2.0.after, stage2.0.body',
        ),
        (
            "stag2.0.out=3",
            'the network has no layer "stag2.0"',
            'did you mean "stage2"?',
        ),
        (
            "head.2.outt=5",
            'linear has no option "outt"',
            'did you mean "out"? valid linear options: bias, out',
        ),
        (
            "stage2.0.out=3",
            "stage2.0 is a residual_block, a structure of layers",
            "e.g. stage2.0.body.conv1.out",
        ),
        ("stem.3.mode=mean", "--set stem.3.mode='mean': expected one of 'max' or 'avg'", "max"),
        ("head.2.out=0", "--set head.2.out=0: must be at least 1", "the spec has out: 10"),
        ("head.2.name=fc", 'linear has no option "name"', "valid linear options: bias, out"),
        ("blocks_per_stage2=3", 'the spec has no param "blocks_per_stage2"', "blocks_per_stage"),
    ],
)
def test_overrides_that_name_nothing_are_errors_with_suggestions(setting, message, hint):
    result = run("check", "resnet", "--set", setting)
    assert result.code == 1 and "Traceback" not in result.err
    assert message in result.err and hint in result.err, result.err


def test_numbered_layers_are_suggested_as_a_range():
    result = run("check", "alexnet", "--set", "classifier.2.p=0.3")
    assert result.code == 1
    assert "the top-level layers are numbered 0 to 20" in result.err


def test_an_override_that_breaks_the_shapes_is_reported_at_the_layer():
    result = run("check", "resnet", "--set", "stage2.0.body.conv1.kernel=5")
    assert result.code == 1
    assert "no 1×1 projection stride maps a size of 24 to 11" in result.err


def test_a_synthesized_projection_says_where_it_comes_from():
    result = run("check", "torchvision/resnet18", "--set", "layer2.0.downsample.1.eps=0.001")
    assert result.code == 1
    assert "layer2.0.downsample.1 is part of the projection shortcut that netspec makes" in (
        result.err
    )
    assert "change layer2.0's projection: {batchnorm: ..., bias: ...}" in result.err


def test_an_empty_structure_is_not_a_layer_to_set():
    spec = (
        "name: af\ninput: [4, 8, 8]\nlayers:\n  - residual: {inline: true, after: [], "
        "body: [{conv: {name: c, out: 4, kernel: 3, padding: 1}}]}\n"
    )
    with pytest.raises(netspec.NetspecError, match=r"0\.after is a group, a structure of layers"):
        netspec.loads(spec, **{"0.after.inline": True})


def test_a_long_path_costs_its_length_not_its_square():
    program = netspec.load("lenet").program
    key = ".".join(["a"] * 6_000) + ".out"
    joins = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal joins
        joins += event == "c_call" and getattr(arg, "__name__", "") == "join"

    sys.setprofile(count)
    try:
        with pytest.raises(netspec.NetspecError, match="the top-level layers are numbered 0 to 11"):
            apply_layer_overrides(program.root, {key: 3}, "lenet.yaml")
    finally:
        sys.setprofile(None)
    # a start of the path is looked up only as long as the longest path of a layer (1 here),
    # never each of its 6,000 starts, joined anew
    assert joins < 10


PENDING = (
    'name: t\ninput: [4, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 1, groups: "${channels()}"}\n'
)


@pytest.mark.parametrize(
    ("setting", "hint"),
    [
        ("0.out=${channels() * 2}", "the spec has out: 8"),
        ("0.groups=${channels() // 2}", "the spec has groups: '${channels()}'"),
        ("0.kernel=[1, '${k}']", "the spec has kernel: 1"),
    ],
)
def test_an_expression_given_on_the_command_line_is_refused_as_the_sets(tmp_path, setting, hint):
    spec = tmp_path / "t.yaml"
    spec.write_text(PENDING)
    result = run("check", str(spec), "--set", setting)
    key, _, value = setting.partition("=")
    shown = repr(value) if value.startswith("$") else value  # a list is shown as written
    assert result.err == (
        f"{spec}: error: --set {key}={shown}: a value given on the command line is not evaluated, "
        f"so it holds no ${{...}}\nhint: write the value itself; {hint}\n"
    )
    assert result.code == 1


def test_setting_an_option_beside_one_that_waits_for_shapes_warns_of_nothing(tmp_path):
    spec = tmp_path / "t.yaml"
    spec.write_text(PENDING)
    result = run("check", str(spec), "--set", "0.groups=x")
    assert result.err == (
        f"{spec}: error: --set 0.groups='x': expected an integer\n"
        "hint: the spec has groups: '${channels()}'\n"
    )  # pydantic's serializer warned of the ${...} text it found in groups
    assert run("check", str(spec), "--set", "0.out=16").code == 0
