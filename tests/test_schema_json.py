"""`netspec schema`: a JSON Schema that every bundled spec satisfies and editors can use."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import ROOT, SPECS, netspec

from netspec.schema_json import spec_json_schema

EXAMPLES = (
    sorted(SPECS.glob("*.yaml"))
    + sorted(SPECS.glob("*/*.yaml"))  # the torchvision zoo
    + sorted((ROOT / "examples").glob("*.yaml"))
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = spec_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.relative_to(ROOT).as_posix() for p in EXAMPLES])
def test_every_bundled_spec_validates(validator, path):
    text = path.read_text()
    schema = os.path.relpath(ROOT / "docs" / "netspec.schema.json", path.parent)
    assert text.startswith(f"# yaml-language-server: $schema={Path(schema).as_posix()}\n")
    assert not list(validator.iter_errors(yaml.safe_load(text)))


@pytest.mark.parametrize(
    "layer",
    [
        "{conv: {out: 8, kernal: 3}}",  # a misspelt option
        "{conv: {out: eight, kernel: 3}}",  # a wrong type
        "{pool: {mode: maximum, kernel: 2}}",  # not a choice
        "{relu: {inplace: yes please}}",
    ],
)
def test_the_schema_catches_what_an_editor_should(validator, layer):
    spec = yaml.safe_load(f"name: x\ninput: [3, 8, 8]\nlayers:\n  - {layer}\n")
    assert list(validator.iter_errors(spec))


def test_expressions_and_block_calls_are_accepted(validator):
    spec = yaml.safe_load(
        "name: x\ninput: ['${c}', 8, 8]\nparams: {c: 3}\nlayers:\n"
        "  - conv: {out: '${c * 2}', kernel: 3, padding: '${1}'}\n  - my_block: {width: 2}\n"
        "  - pool: {mode: '${m}', global: true}\n  - linear: '${n}'\n"
        # a name written with the index, as the loader takes it (repeat copies, groups)
        "  - repeat: {times: 2, body: [{group: {name: 'stage${i + 2}', layers: [relu]}}]}\n"
    )
    assert not list(validator.iter_errors(spec))


@pytest.mark.parametrize("where", ["docs", "netspec"])
def test_committed_schema_is_up_to_date(where):
    committed = json.loads((ROOT / where / "netspec.schema.json").read_text())
    assert committed == spec_json_schema(), "run `make gallery` (it rewrites the schema)"


def test_a_new_spec_points_at_the_schema_the_package_ships(tmp_path):
    run = netspec("new", "mine", cwd=tmp_path)
    assert run.code == 0, run.err
    first = (tmp_path / "mine.yaml").read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=file://")
    shipped = Path(first.split("$schema=file://", 1)[1])
    assert shipped.is_file() and json.loads(shipped.read_text()) == spec_json_schema()


def test_schema_command(tmp_path):
    run = netspec("schema")
    assert run.code == 0 and json.loads(run.out)["title"] == "netspec spec"
    out = tmp_path / "s.json"
    assert netspec("schema", "-o", str(out)).code == 0
    assert json.loads(out.read_text()) == json.loads(run.out)
