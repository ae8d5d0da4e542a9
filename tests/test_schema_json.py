"""`netspec schema`: a JSON Schema that every bundled file satisfies and editors can use.

yaml-language-server (VS Code's YAML extension) validates the JSON that the YAML stands for, as
jsonschema does here; what it completes and shows on hover follows from the keywords that the
walking tests below check (titles, descriptions, no null defaults).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import ROOT, cli
from schema_cases import ACCEPTED, BUNDLED, DOCUMENTED, LIBRARY_FILES, MISTAKES, TEMPLATE

from netspec.registry import all_kinds
from netspec.schema_json import spec_json_schema


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    made = spec_json_schema()
    jsonschema.Draft202012Validator.check_schema(made)
    return made


@pytest.fixture(scope="module")
def validator(schema) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema)


def errors(validator: jsonschema.Draft202012Validator, text: str) -> list[str]:
    return [e.message for e in validator.iter_errors(yaml.safe_load(text))]


@pytest.mark.parametrize("path", BUNDLED, ids=[p.relative_to(ROOT).as_posix() for p in BUNDLED])
def test_every_bundled_spec_validates(validator, path):
    text = path.read_text()
    if path != TEMPLATE:  # netspec new adds the line
        schema = os.path.relpath(ROOT / "docs" / "netspec.schema.json", path.parent)
        assert text.startswith(f"# yaml-language-server: $schema={Path(schema).as_posix()}\n")
    assert errors(validator, text) == []


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=[p.name for p in LIBRARY_FILES])
def test_every_library_file_validates_against_the_shipped_schema(validator, path):
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=../netspec.schema.json\n")
    assert errors(validator, text) == []


@pytest.mark.parametrize("body", [b for _, b in DOCUMENTED], ids=[n for n, _ in DOCUMENTED])
def test_every_documented_file_validates(validator, body):
    assert errors(validator, body) == []


def test_the_docs_hold_files_to_validate():
    assert len(DOCUMENTED) >= 20  # the glob and the filter still find them


@pytest.mark.parametrize(("text", "word"), MISTAKES)
def test_the_schema_alone_catches_what_an_editor_should(validator, text, word):
    found = list(validator.iter_errors(yaml.safe_load(text)))
    assert found
    # an error is about the part that is wrong: the word is under its path or in its instance
    assert any(word in json.dumps([*e.absolute_path, e.instance]) for e in found)


@pytest.mark.parametrize("text", ACCEPTED)
def test_what_looks_odd_but_is_right_is_accepted(validator, text):
    assert errors(validator, text) == []


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def test_no_default_is_null(schema):
    """yaml-language-server inserts a default as it is: `name: null`."""
    nulls = [path for path, node in _walk(schema) if "default" in node and node["default"] is None]
    assert nulls == []


def test_every_alternative_says_what_it_is(schema):
    """Type errors and hover name an alternative by its title (else `object(...)`)."""
    bare = [
        f"{path}/{key}/{i}"
        for path, node in _walk(schema)
        for key in ("anyOf", "oneOf")
        for i, alt in enumerate(node.get(key, []))
        if not {"title", "description"} & set(_resolve(schema, alt))
    ]
    assert bare == []


def test_every_property_completes_as_key_colon(schema):
    """A property with no type, alternatives, default or reference completes as a bare word."""
    formless = [
        f"{path}/{key}"
        for path, node in _walk(schema)
        if isinstance(node.get("properties"), dict) and path.rpartition("/")[2] != "properties"
        for key, prop in node["properties"].items()
        if isinstance(prop, dict)
        and not prop.get("doNotSuggest")
        and not {"type", "anyOf", "$ref", "properties", "items", "enum", "const"} & set(prop)
        and not path.startswith("/allOf")  # conditions, which only add constraints
    ]
    assert formless == []


@pytest.mark.parametrize("kind", all_kinds(), ids=lambda k: k.name)
def test_every_kind_and_option_is_described_from_its_model(schema, kind):
    entry = schema["$defs"]["layer.options"]["properties"][kind.name]
    assert entry["description"] == " ".join(kind.summary.split())
    options = schema["$defs"][f"options.{kind.name}"]["properties"]
    for field, info in kind.Options.model_fields.items():
        assert info.description, f"{kind.Options.__name__}.{field} has no description"
        key = info.alias or field
        assert _resolve(schema, options[key])["description"] == info.description


@pytest.mark.parametrize("where", ["docs", "netspec"])
def test_committed_schema_is_up_to_date(where, schema):
    committed = json.loads((ROOT / where / "netspec.schema.json").read_text())
    assert committed == schema, (
        f"run `netspec schema -o {where}/netspec.schema.json` (make gallery does both)"
    )


def test_a_new_spec_points_at_the_schema_the_package_ships(tmp_path, schema):
    run = cli("new", "mine", cwd=tmp_path)
    assert run.code == 0, run.err
    first = (tmp_path / "mine.yaml").read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=file://")
    shipped = Path(first.split("$schema=file://", 1)[1])
    assert shipped.is_file() and json.loads(shipped.read_text()) == schema


def test_schema_command(tmp_path):
    run = cli("schema")
    assert run.code == 0 and json.loads(run.out)["title"] == "netspec spec or library"
    out = tmp_path / "s.json"
    assert cli("schema", "-o", str(out)).code == 0
    assert json.loads(out.read_text()) == json.loads(run.out)
