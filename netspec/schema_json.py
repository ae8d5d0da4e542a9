"""The JSON Schema of netspec's files, for editors (``netspec schema``).

One schema serves both kinds of file: a spec (``name``, ``input``, ``layers``) and a library
of blocks for other files to import (``blocks`` and no ``layers`` or ``input``, as
``netspec/library/*.yaml``), told apart as the loader tells them. It is generated from the
pydantic models of the file format and of every registered kind (:mod:`netspec.schema_layers`)
and from the blocks of netspec's library, and written for VS Code's YAML extension
(yaml-language-server, via the ``# yaml-language-server: $schema=...`` line) as much as for
validators: every kind and option is described, completion inserts ``key: ``.

What a schema cannot tell, ``netspec check`` (and ``netspec lsp``) can: a schema cannot read
the names a file defines under ``blocks:`` (or a non-library import brings), so in such a file
any name may be a block call, with any arguments. Where the file itself rules that out, the
schema is exact: a file with no ``blocks:`` that imports only ``std:`` files uses only kinds
and library blocks, and a library file imported whole has its blocks called with their own
arguments. Values that depend on others (shapes, ``pool``'s one of kernel/output/global,
params and expressions) are checked by ``netspec check`` only.

Example::

    schema = spec_json_schema()
    schema["$defs"]["options.conv"]["properties"]["out"]["description"]   # "output channels"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .imports import LIBRARY, STD
from .registry import all_kinds
from .schema import NAME_PATTERN, BlockDef, LibraryFile, SpecFile
from .schema_layers import LAYER_REF, arguments_schema, layer_defs, walker
from .schema_values import object_schema
from .source import parse_source

#: Keys only a spec has; a library file (blocks, no layers or input) has none of them.
_SPEC_ONLY = ("input", "inputs", "output", "outputs", "scales", "layers")
_DESCRIPTIONS = {
    "name": "the network's name: letters, digits, _ . and -",
    "description": "one line, shown by netspec list",
    "params": "named values with defaults, for expressions; --set NAME=VALUE overrides them",
    "output": "the output shape the network must have, e.g. [10]",
    "blocks": "reusable blocks, each called by its name like a kind",
    "layers": "the network, in order",
    "args": "the block's arguments: each a default value, or a type word (int, float, bool, "
    "str, list, any) for a required one",
}
_STD_IMPORT = {
    "anyOf": [
        {"type": "string", "pattern": f"^{STD}", "title": "library file"},
        {
            "type": "object",
            "title": "library file, with options",
            "required": ["file"],
            "properties": {"file": {"type": "string", "pattern": f"^{STD}"}},
        },
    ]
}


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a spec or library file, with every registered kind."""
    defs = layer_defs()
    library = library_blocks()
    refs: dict[str, dict[str, Any]] = {}
    for file, blocks in library.items():
        for name, args in blocks.items():
            defs[f"args.{file}.{name}"] = args
        refs[file] = {name: {"$ref": f"#/$defs/args.{file}.{name}"} for name in blocks}
        defs[f"walk.{file}"] = walker(file, refs[file], None)
    every = {name: ref for blocks in refs.values() for name, ref in blocks.items()}
    names = [kind.name for kind in all_kinds()] + list(every)
    defs["walk.closed"] = walker("closed", every, names)
    defs["block"] = _block_schema()
    properties = {
        **_file_properties(LibraryFile.model_json_schema(ref_template="#/$defs/{model}")),
        **_file_properties(SpecFile.model_json_schema(ref_template="#/$defs/{model}")),
    }
    properties["layers"] = {
        "type": "array",
        "items": LAYER_REF,
        "minItems": 1,
        "description": _DESCRIPTIONS["layers"],
    }
    properties["blocks"] = {
        "type": "object",
        "description": _DESCRIPTIONS["blocks"],
        "propertyNames": {"pattern": NAME_PATTERN},
        "additionalProperties": {"$ref": "#/$defs/block"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "netspec spec or library",
        "description": "a netspec spec (name, input, layers) or a library of blocks to import "
        "(blocks, no layers); see docs/language.md",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "allOf": [_spec_or_library(), _closed(), *(_imported(file) for file in library)],
        "$defs": dict(sorted(defs.items())),
    }


def library_blocks() -> dict[str, dict[str, Any]]:
    """The arguments' schema of every block of netspec's library, by ``std:NAME`` file."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(LIBRARY.glob("*.yaml")):
        file = STD + path.stem
        doc = parse_source(path.read_bytes(), str(path))
        blocks = LibraryFile.model_validate(doc.data).blocks
        out[file] = {
            name: arguments_schema(name, block, file) for name, block in sorted(blocks.items())
        }
    return out


def _file_properties(model: dict[str, Any]) -> dict[str, Any]:
    defs = model.pop("$defs", {})
    for key, prop in model["properties"].items():
        prop.setdefault("description", _DESCRIPTIONS.get(key, ""))
    properties: dict[str, Any] = object_schema(model, defs, "file")["properties"]
    return properties


def _block_schema() -> dict[str, Any]:
    model = BlockDef.model_json_schema(ref_template="#/$defs/{model}")
    for key, prop in model["properties"].items():
        prop.setdefault("description", _DESCRIPTIONS.get(key, "what the block does, in a line"))
    block = object_schema(model, model.pop("$defs", {}), "block")
    block["description"] = "a block: its arguments and layers; call it as - NAME: {ARG: VALUE}"
    block["properties"]["layers"] = {
        "type": "array",
        "items": LAYER_REF,
        "minItems": 1,
        "description": "the block's layers, which see its arguments and the file's params",
    }
    block["properties"]["args"] = {
        "type": "object",
        "description": _DESCRIPTIONS["args"],
        "propertyNames": {"pattern": NAME_PATTERN},
    }
    return block


def _spec_or_library() -> dict[str, Any]:
    """A file with blocks and no layers or input is a library (as the loader decides)."""
    library = {
        "required": ["blocks"],
        "not": {
            "anyOf": [
                {"required": ["layers"], "title": "a spec: layers"},
                {"required": ["input"], "title": "a spec: input"},
            ]
        },
    }
    refused = {
        key: {
            "not": {},
            "errorMessage": f"a library file (blocks, no layers or input) has no {key}",
        }
        for key in _SPEC_ONLY
    }
    spec = {"required": ["name", "layers"]}
    return {"if": library, "then": {"properties": refused}, "else": spec}


def _closed() -> dict[str, Any]:
    """No blocks of its own and only library imports: every layer is a kind or library block."""
    walk = {"$ref": "#/$defs/walk.closed"}
    return {
        "if": {
            "not": {"required": ["blocks"]},
            "properties": {"imports": {"items": _STD_IMPORT}},
        },
        "then": {"properties": {"layers": {"items": walk}}},
    }


def _imported(file: str) -> dict[str, Any]:
    """A library file imported whole: its blocks are called with their own arguments (a block
    of the same name defined here, or imported too, is an error of its own)."""
    whole = {
        "anyOf": [
            {"const": file, "title": file},
            {
                "type": "object",
                "title": f"{file}, with options",
                "required": ["file"],
                "properties": {"file": {"const": file}},
                "not": {"required": ["blocks"]},
            },
        ]
    }
    walk = {"items": {"$ref": f"#/$defs/walk.{file}"}}
    return {
        "if": {"required": ["blocks", "imports"], "properties": {"imports": {"contains": whole}}},
        "then": {
            "properties": {
                "layers": walk,
                "blocks": {"additionalProperties": {"properties": {"layers": walk}}},
            }
        },
    }


#: The schema as the package ships it (``make gallery`` rewrites it with docs/'s copy), so that
#: a pip-installed netspec has a file for editors to point at.
SHIPPED = Path(__file__).resolve().parent / "netspec.schema.json"


def schema_line() -> str:
    """The first line that gives a new spec the shipped schema in YAML-aware editors."""
    return f"# yaml-language-server: $schema={SHIPPED.as_uri()}\n"
