"""JSON Schema of single values, cleaned from what pydantic generates, for editors.

pydantic's schemas are written for validators; yaml-language-server (VS Code's YAML extension)
also uses a schema to complete and to explain, and reads some keywords literally: it inserts a
property's ``default`` as it is (``name: null``, a pair as a two-line list), names a type error
by each alternative's ``title`` (``Expected "integer ≥ 1 | expression"``) and shows the first
``description`` it meets on hover. So every value here has a description and no title of its
own, every alternative of an ``anyOf`` a short title, no default is ``null``, and wherever the
models accept an expression (:data:`~netspec.schema.AllowExpr`) the schema does too.

Example::

    value_schema({"type": "integer", "minimum": 1, "default": 1}, {}, "output channels")
    # {"description": "output channels", "default": 1,
    #  "anyOf": [{"type": "integer", "minimum": 1, "title": "integer ≥ 1"},
    #            {"$ref": "#/$defs/expression"}]}
"""

from __future__ import annotations

from typing import Any

from .schema import FLOAT_TEXT, MAX_SIZE, NAME_PATTERN

EXPRESSION_REF: dict[str, Any] = {"$ref": "#/$defs/expression"}
EXPRESSION: dict[str, Any] = {
    "type": "string",
    "pattern": r"\$\{",
    # no description: hover shows the first one it meets, which is to be the option's own
    "title": "expression ${...}",
}
FLOAT_STRING: dict[str, Any] = {
    "type": "string",
    "pattern": FLOAT_TEXT,
    "title": "number",  # 1e-5 (YAML 1.1 reads it as text)
}
#: What pydantic writes that an editor should not show (its titles are the field names,
#: capitalised: "Out", "Kernel").
_DROPPED = ("title", "default", "description", "examples")


def value_schema(
    prop: dict[str, Any], defs: dict[str, Any], description: str, *, expressions: bool = True
) -> dict[str, Any]:
    """The schema of one option or argument: ``prop`` as pydantic wrote it (``$ref``s into
    ``defs``), with ``description``, and an expression allowed where ``expressions``."""
    default = prop.get("default")
    alternatives = _alternatives(prop, defs, keep_null=default is not None)
    if any(a.get("type") == "number" for a in alternatives):
        alternatives.append(FLOAT_STRING)  # YAML 1.1 (PyYAML) reads 1e-5 as text; netspec too
    if expressions:
        alternatives = [_items_with_expression(a) for a in alternatives]
        if any(_takes_expression(a) for a in alternatives):
            alternatives.append(EXPRESSION_REF)
    out: dict[str, Any] = {"description": description}
    if default is not None and not isinstance(default, dict):
        # a pair's default [1, 1] is inserted as 1: what one writes
        if isinstance(default, list) and len(default) == 2 and default[0] == default[1]:
            default = default[0]
        out["default"] = default
    if len(alternatives) == 1:
        return (
            {**alternatives[0], **out}
            if "$ref" not in alternatives[0]
            else {
                "anyOf": alternatives,
                **out,
            }
        )
    return {"anyOf": [_titled(a) for a in alternatives], **out}


def object_schema(model: dict[str, Any], defs: dict[str, Any], title: str) -> dict[str, Any]:
    """An object of pydantic (``model_json_schema()`` of a model, or one of its ``$defs``) with
    every property cleaned by :func:`value_schema`; properties without a description get
    ``title``'s words for it, so that none is bare."""
    properties = {
        key: value_schema(prop, defs, prop.get("description") or f"{key} ({title})")
        for key, prop in model.get("properties", {}).items()
    }
    out: dict[str, Any] = {"type": "object", "title": title, "properties": properties}
    if model.get("description"):
        out["description"] = model["description"]
    if model.get("required"):
        out["required"] = list(model["required"])
    out["additionalProperties"] = model.get("additionalProperties", False)
    return out


def _alternatives(
    prop: dict[str, Any], defs: dict[str, Any], keep_null: bool
) -> list[dict[str, Any]]:
    """The alternatives of ``prop``, nested ``anyOf``/``oneOf`` flattened, enums and models
    inlined, ``null`` dropped unless it is a value with a meaning (a non-null default)."""
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = defs[ref.removeprefix("#/$defs/")]
        if "properties" in target:  # a model: an object of its own
            return [object_schema(target, defs, target.get("title", "options"))]
        return _alternatives(target, defs, keep_null)
    for key in ("anyOf", "oneOf"):
        if key in prop:
            return [alt for p in prop[key] for alt in _alternatives(p, defs, keep_null)]
    if prop.get("type") == "null" and not keep_null:
        return []
    out = {k: v for k, v in prop.items() if k not in _DROPPED}
    if isinstance(out.get("items"), dict):
        inner = _alternatives(out["items"], defs, keep_null=False)
        out["items"] = inner[0] if len(inner) == 1 else {"anyOf": [_titled(a) for a in inner]}
    if isinstance(out.get("additionalProperties"), dict):
        inner = _alternatives(out["additionalProperties"], defs, keep_null=True)
        value = inner[0] if len(inner) == 1 else {"anyOf": [_titled(a) for a in inner]}
        out["additionalProperties"] = value
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return [out] if out else [{"description": "any value"}]


def _takes_expression(prop: dict[str, Any]) -> bool:
    """Whether a value of this form may instead be written ``${...}``: numbers, booleans,
    choices, lists and names (``name: "stage${i + 1}"``); free text is already a string."""
    return prop.get("type") in ("integer", "number", "boolean", "array") or (
        "enum" in prop or "pattern" in prop
    )


def _items_with_expression(prop: dict[str, Any]) -> dict[str, Any]:
    """A list's items, or a mapping's values, may each be an expression too (at any depth:
    ``outputs: {p3: ["${c}", 80, 80]}``)."""
    out = dict(prop)
    for key in ("items", "additionalProperties"):
        inner = out.get(key)
        if not isinstance(inner, dict):
            continue
        parts = [_items_with_expression(p) for p in inner.get("anyOf", [inner])]
        if any(_takes_expression(p) for p in parts) and EXPRESSION_REF not in parts:
            parts.append(EXPRESSION_REF)
        out[key] = {"anyOf": [_titled(p) for p in parts]} if len(parts) > 1 else parts[0]
    return out


def _titled(prop: dict[str, Any]) -> dict[str, Any]:
    """An alternative with a title that names its form, for type errors and hover."""
    if "$ref" in prop or "title" in prop:
        return prop
    return {**prop, "title": type_title(prop)}


def type_title(prop: dict[str, Any]) -> str:
    """A short name of a value's form: ``integer ≥ 1``, ``[height, width]``, ``name``."""
    kind = prop.get("type")
    if "enum" in prop:
        return " | ".join(str(v) for v in prop["enum"])
    if kind == "integer":
        low = prop.get("minimum")
        return f"integer ≥ {low}" if low is not None and low > -MAX_SIZE else "integer"
    if kind == "number":
        low, high = prop.get("minimum"), prop.get("maximum")
        if prop.get("exclusiveMinimum") is not None:
            return f"number > {prop['exclusiveMinimum']:g}"
        if low is not None and high is not None:
            return f"number from {low:g} to {high:g}"
        return f"number ≥ {low:g}" if low is not None else "number"
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        if prop.get("minItems") == prop.get("maxItems") == 2:
            return "[height, width]"
        return "list"
    if kind == "string":
        return "name" if prop.get("pattern") == NAME_PATTERN else "text"
    if kind == "object":
        return "mapping"
    if kind == "null":
        return "null"
    return "value"
