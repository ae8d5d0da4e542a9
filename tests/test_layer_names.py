"""Names under the user's control (issue 20, item 7): a name written in the file is the key, or a
warning or an error at its line says why not; never silently replaced."""

from __future__ import annotations

import pytest
import yaml

import netspec


def load(layers: list[object], blocks: dict[str, object] | None = None) -> netspec.Spec:
    data: dict[str, object] = {"name": "n", "input": [8], "layers": layers}
    if blocks:
        data["blocks"] = blocks
    return netspec.loads(yaml.safe_dump(data, sort_keys=False), "net.yaml")


def warned(spec: netspec.Spec) -> list[tuple[int, int, str]]:
    out = []
    for w in spec.warnings:
        assert w.pos is not None
        out.append((w.pos.line, w.pos.col, w.message))
    return out


def repeat(body: list[object], **options: object) -> dict[str, object]:
    return {"repeat": {"name": "layers", "times": 3, **options, "body": body}}


def test_a_constant_name_in_a_repeat_is_a_warning_at_the_name_once():
    spec = load([repeat([{"linear": {"name": "fc", "out": 8}}])])
    assert [k for k in spec.build().state_dict() if k.endswith("weight")] == [
        f"layers.{i}.weight" for i in range(3)
    ]
    [(line, col, message)] = warned(spec)
    assert message.startswith('every copy of this repeat would be named "fc"')
    text = spec.document.text.splitlines()[line - 1]
    assert text[col - 1 :].startswith("fc")
    hint = spec.warnings[0].hint
    assert 'name: "fc_${i}"' in hint


def test_the_hint_names_the_repeats_own_index():
    spec = load([repeat([{"linear": {"name": "fc", "out": 8}}], index="k")])
    assert 'name: "fc_${k}"' in spec.warnings[0].hint


@pytest.mark.parametrize(
    "body",
    [
        [{"linear": {"name": "fc${i}", "out": 8}}],  # the index: each copy its name
        [{"linear": {"out": 8}}],  # no name: numbered, as meant
        [{"linear": {"name": "fc", "out": 8}}, "relu"],  # inside each copy: layers.0.fc
    ],
)
def test_names_that_are_used_are_no_warning(body):
    assert warned(load([repeat(body)])) == []


def test_a_one_layer_group_says_the_name_it_does_not_use():
    group = {"group": {"name": "stage", "layers": [{"linear": {"name": "only", "out": 8}}]}}
    spec = load([group])
    assert list(spec.build().state_dict()) == ["stage.weight", "stage.bias"]
    [(line, col, message)] = warned(spec)
    assert message == (
        'this list holds one layer, which is named "stage" after it: its own name "only" is '
        "not used"
    )
    assert spec.document.text.splitlines()[line - 1][col - 1 :].startswith("only")
    assert "keep: true" in spec.warnings[0].hint
    kept = {"group": {**group["group"], "keep": True}}
    spec = load([kept])
    assert warned(spec) == []
    assert list(spec.build().state_dict()) == ["stage.only.weight", "stage.only.bias"]


def test_a_one_block_group_points_at_the_call():
    blocks = {"fc_block": {"layers": [{"linear": {"name": "fc", "out": 8}}, "relu"]}}
    spec = load([{"group": {"name": "stage1", "layers": [{"fc_block": {"name": "b0"}}]}}], blocks)
    [(line, col, _)] = warned(spec)
    assert spec.document.text.splitlines()[line - 1][col - 1 :].startswith("b0")


@pytest.mark.parametrize("name", ["a.b", "class", "", "forward"])
def test_a_name_that_cannot_be_a_key_is_an_error_at_its_line(name):
    with pytest.raises(netspec.NetspecError) as e:
        load([{"linear": {"name": name, "out": 8}}])
    [found] = e.value.diagnostics
    assert found.pos is not None and found.source_line.strip().startswith("name:")
    assert 'option "name"' in found.message
