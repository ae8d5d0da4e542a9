"""A repeat's copies take the name their one layer writes as an expression
(``name: "encoder_layer_${i}"``), as torchvision's ViT names its encoder layers; otherwise
they are numbered, as nn.Sequential numbers them. Two copies given one name are an error."""

from __future__ import annotations

import pytest
import yaml

import netspec
from netspec.state_keys import state_keys


def spec(name: str | None, layers: int = 1) -> netspec.Spec:
    linear = {"linear": {"out": 8, **({"name": name} if name else {})}}
    body = [linear] * layers
    repeat = {"repeat": {"name": "layers", "times": 3, "body": body}}
    return netspec.loads(yaml.safe_dump({"name": "r", "input": [4, 8], "layers": [repeat]}))


def keys(s: netspec.Spec) -> list[str]:
    return [k for k in state_keys(s.checked).entries if k.endswith(".weight")]


def test_a_name_written_as_an_expression_names_each_copy():
    s = spec("encoder_layer_${i}")
    want = [f"layers.encoder_layer_{i}.weight" for i in range(3)]
    assert keys(s) == want
    assert [k for k in s.build().state_dict() if k.endswith(".weight")] == want


@pytest.mark.parametrize("name", [None, "block"])
def test_unnamed_or_constant_copies_are_numbered(name):
    assert keys(spec(name)) == [f"layers.{i}.weight" for i in range(3)]


def test_a_copy_of_several_layers_is_numbered_and_its_layers_keep_their_names():
    assert keys(spec("fc${i}", layers=1))[0] == "layers.fc0.weight"
    s = netspec.loads(
        yaml.safe_dump(
            {
                "name": "r",
                "input": [4, 8],
                "layers": [
                    {
                        "repeat": {
                            "name": "layers",
                            "times": 2,
                            "body": [{"linear": {"out": 8, "name": "fc${i}"}}, "relu"],
                        }
                    }
                ],
            }
        )
    )
    assert keys(s) == ["layers.0.fc0.weight", "layers.1.fc1.weight"]


def test_two_copies_of_one_name_are_an_error():
    with pytest.raises(netspec.NetspecError, match='two copies of this repeat are named "same"'):
        spec("${'same'}")
