"""The JSON Schema of the spec format, for editors (``netspec schema``).

Generated from the pydantic models of the registered kinds: a layer is a kind's name, or a
mapping of one kind to its options (the union is discriminated by that key), or a call of a
user's block. Every option also accepts an expression string ``${...}``. YAML editors that know
JSON Schema (VS Code's YAML extension, via the ``# yaml-language-server: $schema=...`` line)
then complete and check specs as they are typed; ``netspec check`` remains the full check.

Example::

    schema = spec_json_schema()
    schema["$defs"]["layer"]["anyOf"][0]        # {"type": "string", ...}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .registry import Kind, all_kinds
from .schema import BlockDef, SpecFile

EXPRESSION: dict[str, Any] = {
    "type": "string",
    "pattern": r"\$\{",
    "description": "an expression, e.g. ${out * 2}",
}
LAYER = {"$ref": "#/$defs/layer"}
LAYERS = {"anyOf": [{"type": "array", "items": LAYER}, EXPRESSION]}


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a spec file, including every registered kind."""
    defs: dict[str, Any] = {}
    kinds = all_kinds()
    alternatives: list[dict[str, Any]] = [
        {
            "type": "string",
            "description": "a kind with default options, or a block without arguments",
        }
    ]
    for kind in kinds:
        alternatives.append(_kind_entry(kind, defs))
    names = [k.name for k in kinds]
    alternatives.append(
        {
            "type": "object",
            "description": "a call of a block defined under blocks:",
            "minProperties": 1,
            "maxProperties": 1,
            "propertyNames": {"not": {"enum": names}},
            "additionalProperties": {"anyOf": [{"type": "object"}, {"type": "null"}]},
        }
    )
    defs["layer"] = {"anyOf": alternatives}
    top = SpecFile.model_json_schema(ref_template="#/$defs/{model}")
    defs.update(top.pop("$defs", {}))
    top["properties"]["layers"] = {"type": "array", "items": LAYER, "minItems": 1}
    for key in ("input", "inputs", "output", "outputs"):
        top["properties"][key] = _with_expression(top["properties"][key])
    block = BlockDef.model_json_schema(ref_template="#/$defs/{model}")
    block["properties"]["layers"] = {"type": "array", "items": LAYER, "minItems": 1}
    defs["BlockDef"] = block
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **top,
        "title": "netspec spec",
        "$defs": dict(sorted(defs.items())),
    }


def _kind_entry(kind: Kind, defs: dict[str, Any]) -> dict[str, Any]:
    options = kind.Options.model_json_schema(ref_template="#/$defs/{model}")
    defs.update(options.pop("$defs", {}))
    for field, prop in options.get("properties", {}).items():
        if field == "branches":
            options["properties"][field] = {
                "anyOf": [
                    {"type": "array", "items": LAYERS},
                    {"type": "object", "additionalProperties": LAYERS},
                    EXPRESSION,
                ]
            }
        elif field in kind.nested:
            options["properties"][field] = {"anyOf": [LAYERS, LAYER]}
        else:
            options["properties"][field] = _with_expression(prop)
    values: list[dict[str, Any]] = [options, {"type": "null"}]
    if kind.shorthand is not None:
        values.append(options["properties"][kind.shorthand])
    return {
        "type": "object",
        "description": kind.summary,
        "properties": {kind.name: {"anyOf": values}},
        "required": [kind.name],
        "additionalProperties": False,
    }


def _with_expression(prop: dict[str, Any]) -> dict[str, Any]:
    """``prop``, where every number, boolean, choice, list item or name (a string with a
    pattern, such as ``name: "stage${i + 1}"``) may also be an expression."""
    if not prop:
        return prop
    out = dict(prop)
    if "anyOf" in out:
        out["anyOf"] = [_with_expression(p) for p in out["anyOf"]]
    if isinstance(out.get("items"), dict):
        out["items"] = _with_expression(out["items"])
    if isinstance(out.get("additionalProperties"), dict):  # a mapping of shapes (outputs:)
        out["additionalProperties"] = _with_expression(out["additionalProperties"])
    if (
        out.get("type") in ("integer", "number", "boolean", "array")
        or "enum" in out
        or "$ref" in out
        or "pattern" in out
    ):
        extra: dict[str, Any] = {
            k: out.pop(k) for k in ("default", "description", "title") if k in out
        }
        return {"anyOf": [out, EXPRESSION], **extra}
    return out


#: The schema as the package ships it (``make gallery`` rewrites it with docs/'s copy), so that
#: a pip-installed netspec has a file for editors to point at.
SHIPPED = Path(__file__).resolve().parent / "netspec.schema.json"


def schema_line() -> str:
    """The first line that gives a new spec the shipped schema in YAML-aware editors."""
    return f"# yaml-language-server: $schema={SHIPPED.as_uri()}\n"
