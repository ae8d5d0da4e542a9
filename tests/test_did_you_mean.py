"""A mistyped name, wherever one is looked up (a bundled spec, a scale, a command, an option or
one of its choices), is answered with the closest valid one: from the Python API and from the
command line, as one error line and a hint, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import cli, netspec

import netspec as ns
from netspec.bundled import bundled_names
from netspec.errors import did_you_mean


def bundled_hint(word: str) -> str:
    return f"hint: {did_you_mean(word, bundled_names(), 'bundled specs')}"


@pytest.mark.parametrize(
    ("word", "near"),
    [("resnett", "resnet"), ("lenett", "lenet"), ("torchvision/resnet19", "torchvision/resnet18")],
)
def test_load_names_the_closest_bundled_spec(word, near):
    for given in (word, Path(word)):
        with pytest.raises(ns.NetspecError) as caught:
            ns.load(given)
        assert caught.value.format() == (
            f"{word}: error: no such file or bundled spec\n{bundled_hint(word)}"
        )
        assert f'did you mean "{near}"?' in caught.value.format()


def test_load_keeps_the_readers_message_for_a_path():
    with pytest.raises(ns.NetspecError) as caught:
        ns.load("specs/nope.yaml")
    assert caught.value.format() == (
        "specs/nope.yaml: error: no such file\nhint: check the path, or run `netspec list`"
    )


def test_new_from_a_mistyped_name_names_the_closest(tmp_path):
    run = cli("new", "mine", "--from", "resnett", cwd=tmp_path)
    assert (run.code, run.out) == (1, "")
    assert run.err == f"resnett: error: no such file or bundled spec\n{bundled_hint('resnett')}\n"
    assert 'did you mean "resnet"?' in run.err
    run = cli("new", "mine", "--from", "torchvision/vgg61", cwd=tmp_path)
    assert run.code == 1 and 'did you mean "torchvision/vgg16"?' in run.err
    run = cli("new", "mine", "--from", "nope.yaml", cwd=tmp_path)
    assert run.code == 1 and run.err.startswith("nope.yaml: error: no such file\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("scale", ["ss", "S", "xl"])
def test_a_mistyped_scale_names_the_closest_in_the_api_and_the_command(scale):
    spec = "ultralytics/yolov8"
    names = list(ns.load(spec).scales)
    with pytest.raises(ns.NetspecError) as caught:
        ns.load(spec, scale=scale)
    message = caught.value.format()
    assert f'error: scale "{scale}" is not one of the spec\'s scales\n' in message
    assert f"the scales are {', '.join(names)}: --scale {names[0]}" in message
    assert 'hint: did you mean "' in message
    for command, more in [("check", "--table"), ("render", "--expand")]:
        run = cli(command, spec, "--scale", scale, more)
        assert run.code == 1 and run.err.startswith(message.splitlines()[0]), run.err


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (
            ("render", "lenet", "--format", "svgg"),
            'argument --format: invalid choice: "svgg": '
            'did you mean "svg"? valid choices: dot, pdf, png, svg',
        ),
        (
            ("render", "lenet", "--rankdir", "RL"),
            'argument --rankdir: invalid choice: "RL": valid choices: LR, TB',
        ),
        (
            ("completion", "zhs"),
            'argument shell: invalid choice: "zhs": '
            'did you mean "zsh"? valid choices: bash, fish, zsh',
        ),
        (("summary", "lenet", "--format", "jsno"), 'invalid choice: "jsno": did you mean "json"?'),
    ],
)
def test_a_mistyped_choice_names_the_closest(args, wanted):
    run = cli(*args)
    assert run.code == 2
    assert wanted in run.err.splitlines()[-1]


def test_a_mistyped_option_names_the_closest_of_its_command():
    run = netspec("render", "lenet", "--fromat", "svg")  # as a user runs it: a fresh process
    assert run.code == 2
    assert run.err.splitlines()[-1] == (
        'netspec: error: unrecognized arguments: --fromat svg: did you mean "--format"?'
    )
    run = cli("new", "x", "--form", "lenet")
    assert run.err.splitlines()[-1].endswith('did you mean "--from"?')
    run = cli("check", "lenet", "--colour")  # nothing near: as argparse says it
    assert run.err.splitlines()[-1] == "netspec: error: unrecognized arguments: --colour"
