"""The JSON Schema of a layer: every registered kind, block calls, and the library's blocks.

A layer is a kind's name (``- relu``), a mapping of one kind to its options, its shorthand
value or nothing (``- conv: {out: 64, kernel: 3}``, ``- linear: 10``, ``- relu:``), or a call of
a block (``- basic: {out: 64}``, ``- my_block``). One object schema holds every kind as a
property, so that an editor completes ``conv: `` at ``- `` and explains ``conv`` on hover; a
key that is no kind is a block call (its ``additionalProperties``).

A schema cannot see which blocks a file defines, so in general any name may be a block. Two
narrower grammars (:func:`walker`) are applied where the file tells more (see
:mod:`netspec.schema_json`): in a file with no ``blocks:`` of its own that imports only
``std:`` files, a layer is a kind or a library block, nothing else; and a file that imports a
library file whole calls its blocks with their own arguments.

Example::

    defs = layer_defs()
    defs["layer.options"]["properties"]["conv"]["description"]   # "2-D convolution: ..."
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .entries import CALL_KEYS, TYPE_WORDS, arg_spec
from .registry import Kind, all_kinds
from .schema import NAME_PATTERN, BlockDef, Options
from .schema_values import EXPRESSION, EXPRESSION_REF, object_schema, value_schema

LAYER_REF = {"$ref": "#/$defs/layer"}
#: A nested option (a group's layers, a residual's body, its ``after``): a list of layers,
#: one layer, or an expression.
NESTED: dict[str, Any] = {
    "anyOf": [
        {"type": "array", "items": LAYER_REF, "title": "list of layers"},
        {"$ref": "#/$defs/layer.name"},
        {"$ref": "#/$defs/layer.options"},
        EXPRESSION_REF,
    ]
}
#: ``inception``'s branches: a list of layer lists, or a mapping of names to them.
BRANCHES: dict[str, Any] = {
    "anyOf": [
        {
            "type": "array",
            "items": {"type": "array", "items": LAYER_REF},
            "title": "list of branches",
        },
        {
            "type": "object",
            "propertyNames": {"pattern": NAME_PATTERN},
            "additionalProperties": {"type": "array", "items": LAYER_REF},
            "title": "named branches",
        },
        EXPRESSION_REF,
    ]
}
_JSON_TYPES = {int: "integer", float: "number", bool: "boolean", str: "string", list: "array"}
_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "text", list: "a list"}


def layer_defs() -> dict[str, Any]:
    """The ``$defs`` of the layer grammar: ``layer``, its two forms, every kind's options, a
    block call and ``expression``."""
    defs: dict[str, Any] = {"expression": EXPRESSION}
    defs.update({f"common.{key}": prop for key, prop in _common().items()})
    kinds = {kind.name: _kind_property(kind, defs) for kind in all_kinds()}
    defs["layer.name"] = {
        "type": "string",
        "title": "kind or block",
        "description": "a kind with its default options (- relu), a block called without "
        "arguments, or an expression that gives one",
        "pattern": f"{NAME_PATTERN}|\\$\\{{",
    }
    defs["layer.options"] = {
        "type": "object",
        "title": "kind with options, or block call",
        "description": "one kind and its options (- conv: {out: 64, kernel: 3}), or a call of "
        "a block with its arguments (- basic: {out: 64})",
        "minProperties": 1,
        "maxProperties": 1,
        "properties": kinds,
        "propertyNames": {"pattern": NAME_PATTERN},
        "additionalProperties": {"$ref": "#/$defs/call"},
    }
    defs["layer"] = {
        "description": "a layer: a kind, a kind with options, or a call of a block",
        "anyOf": [{"$ref": "#/$defs/layer.name"}, {"$ref": "#/$defs/layer.options"}],
    }
    # no description: hover on a library block's name shows the block's own (walker())
    defs["call"] = {
        "anyOf": [
            {"type": "object", "title": "block call", "properties": CALL_PROPERTIES},
            {"type": "null", "title": "block call without arguments"},
        ],
    }
    return dict(sorted(defs.items()))


def _kind_property(kind: Kind, defs: dict[str, Any]) -> dict[str, Any]:
    """``conv:``'s value: its options, nothing (the defaults) or its shorthand value."""
    model = kind.Options.model_json_schema(ref_template="#/$defs/{model}")
    local = model.pop("$defs", {})
    options = object_schema(model, local, f"{kind.name} options")
    for key, prop in _common().items():  # name, expect, from, to, if: written once
        if options["properties"].get(key) == prop:
            options["properties"][key] = {"$ref": f"#/$defs/common.{key}"}
    for field in kind.nested:
        if field in options["properties"]:
            described = options["properties"][field].get("description", "")
            form = BRANCHES if field == "branches" else NESTED
            options["properties"][field] = {**form, "description": described}
    description = _kind_description(kind)
    options["description"] = description
    defs[f"options.{kind.name}"] = options
    alternatives: list[dict[str, Any]] = [
        {"$ref": f"#/$defs/options.{kind.name}"},
        {"type": "null", "title": "default options"},
    ]
    if kind.shorthand is not None:
        short = dict(options["properties"][kind.shorthand])
        short.pop("default", None)
        short.pop("description", None)  # hover: the kind's, not the option's
        alternatives.append({**short, "title": f"{kind.shorthand} alone"})
    return {"title": kind.name, "description": description, "anyOf": alternatives}


def _kind_description(kind: Kind) -> str:
    """What hover says about a kind: its summary, else its options' or its own docstring."""
    doc = kind.Options.__doc__ if kind.Options.__doc__ != Options.__doc__ else None
    text = kind.summary or doc or type(kind).__doc__ or f"the {kind.name} kind"
    return " ".join(text.split())


def _common() -> dict[str, Any]:
    """What every layer and block call takes: name, expect, from, to, if (and a call inline)."""
    model = Options.model_json_schema(ref_template="#/$defs/{model}")
    common: dict[str, Any] = object_schema(model, model.pop("$defs", {}), "layer")["properties"]
    common["inline"] = value_schema(
        {"type": "boolean"},
        {},
        "splice the block's layers into the calling list (the call then has no name)",
    )
    return {key: common[key] for key in CALL_KEYS}


#: A block call's own keys, as references to :func:`_common`'s ``$defs``.
CALL_PROPERTIES = {key: {"$ref": f"#/$defs/common.{key}"} for key in CALL_KEYS}


def arguments_schema(name: str, block: BlockDef, origin: str) -> dict[str, Any]:
    """The arguments of one library block, typed as netspec checks them before evaluation."""
    properties = dict(CALL_PROPERTIES)
    required = []
    for arg, spec in block.args.items():
        needed, want = arg_spec(spec)
        if needed:
            required.append(arg)
        properties[arg] = _argument(arg, spec, needed, want)
    out: dict[str, Any] = {
        "type": ["object", "null"],
        "title": name,
        "description": f"{origin}: " + " ".join((block.description or name).split()),
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        out["required"] = required
    return out


def _argument(arg: str, spec: Any, needed: bool, want: type) -> dict[str, Any]:
    word = _WORDS.get(want, "any value")
    description = f"{word}, required" if needed else f"{word}, default {spec!r}"
    if want not in _JSON_TYPES:
        return {"description": description}
    prop: dict[str, Any] = {"type": _JSON_TYPES[want]}
    if not needed and not (isinstance(spec, str) and spec in TYPE_WORDS):
        prop["default"] = spec
    return value_schema(prop, {}, description, expressions=want is not str)


def walker(
    key: str, blocks: Mapping[str, dict[str, Any]], only: list[str] | None
) -> dict[str, Any]:
    """A grammar that walks layers as :func:`layer_defs` nests them, and checks only names:
    every call of one of ``blocks`` against its arguments' schema, and, with ``only``, that
    every kind or call is one of those names (or an expression). Its ``$defs`` key is
    ``walk.KEY``.

    It has no ``anyOf``: each keyword applies to its own type (``pattern`` to a bare name,
    ``propertyNames`` and ``properties`` to a mapping), so the errors it reports are its own.
    """
    me = {"$ref": f"#/$defs/walk.{key}"}
    # doNotSuggest: completion offers what layer_defs() describes, once
    nested = {"items": me, "allOf": [me], "doNotSuggest": True}  # a list of layers, or one
    properties: dict[str, Any] = {}
    for kind in all_kinds():
        fields = {
            field: {
                "items": {"items": me},
                "additionalProperties": {"items": me},
                "doNotSuggest": True,
            }
            if field == "branches"
            else nested
            for field in kind.nested
        }
        if fields:
            properties[kind.name] = {"properties": fields, "doNotSuggest": True}
    properties.update(blocks)
    out: dict[str, Any] = {"properties": properties}
    if only is not None:
        alternation = "|".join(re.escape(name) for name in sorted(only))
        out["pattern"] = f"^(?:{alternation})$|\\$\\{{"
        out["propertyNames"] = {
            "pattern": f"^(?:{alternation})$",
            "patternErrorMessage": UNKNOWN,
        }
        out["patternErrorMessage"] = UNKNOWN
    return out


#: yaml-language-server's message where a name is no kind and no library block.
UNKNOWN = (
    "unknown kind: this file has no blocks: of its own and imports only std: files, so a layer "
    "is a kind (netspec list --kinds) or a block of netspec's library (docs/library.md)"
)
