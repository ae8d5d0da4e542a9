"""Completion, from the line being typed (the text is often not valid YAML meanwhile):

- a list item under ``layers:`` (``- co|``): the kinds and the blocks the file can call;
- an option of a layer (``- conv: {ker|`` or a key below ``- conv:``): the kind's options
  with their types and defaults, or the block's arguments;
- inside ``${...}``: the params, the enclosing block's arguments, the file's functions and
  the helpers;
- ``std:`` in ``imports:``: netspec's library files; a key at the top level: the top-level keys.

Example::

    complete(analysis, Text.of("layers:\\n  - con"), types.Position(1, 7)).items[0].label
"""

from __future__ import annotations

import re

from lsprotocol import types

from ..expr import SHAPE_HELPERS
from ..helpers import HELPERS
from ..imports import library_names
from ..registry import all_kinds, get_kind
from ..schema import SpecFile
from ..source import show
from .analysis import Analysis
from .hover import block_text
from .lookup import block_of
from .markdown import code
from .options import kind_options
from .positions import Text

_ITEM = re.compile(r"^(\s*)-\s+(\w*)$")
_FLOW = re.compile(r"-\s*(\w+):\s*\{([^{}]*)$")
_KEY = re.compile(r"^(\s*)(\w*)$")
_OWNER = re.compile(r"^\s*-\s*(\w+):\s*(#.*)?$")
_PARENT = re.compile(r"^\s*(?:-\s*)?(\w+):\s*(#.*)?$")
#: parents of a layer list
_LAYER_LISTS = ("layers", "body", "first", "after")


def complete(analysis: Analysis, text: Text, position: types.Position) -> types.CompletionList:
    line, col = text.at(position)
    before = text.line(line)[:col]
    items = (
        _in_expression(analysis, before, line, col)
        or _std(before)
        or _layer(analysis, text, before, line)
        or _options(analysis, text, before, line)
        or _top_level(before)
    )
    return types.CompletionList(is_incomplete=False, items=items or [])


def _in_expression(
    analysis: Analysis, before: str, line: int, col: int
) -> list[types.CompletionItem] | None:
    opened = before.rfind("${")
    if opened < 0 or "}" in before[opened:]:
        return None
    items = [
        types.CompletionItem(
            label=name,
            kind=types.CompletionItemKind.Variable,
            detail=f"param = {show(value)}",
        )
        for name, value in analysis.params.items()
    ]
    hit = analysis.spans.at(line, col)
    block = analysis.blocks.get(block_of(hit.path) or "") if hit else None
    if block is not None:
        items.extend(
            types.CompletionItem(
                label=name,
                kind=types.CompletionItemKind.Variable,
                detail=f"argument of {block.name}: {show(default)}",
            )
            for name, default in block.args.items()
        )
    functions = [
        str(f) for s in analysis.spans.items if s.path[:1] == ("functions",) for f in s.path[1:2]
    ]
    for name in [*functions, *sorted(HELPERS), *SHAPE_HELPERS]:
        label = name.split("(", 1)[0]
        items.append(
            types.CompletionItem(label=label, kind=types.CompletionItemKind.Function, detail=name)
        )
    return items


def _std(before: str) -> list[types.CompletionItem] | None:
    if not re.search(r"std:\w*$", before):
        return None
    return [
        types.CompletionItem(label=name, kind=types.CompletionItemKind.File, detail=f"std:{name}")
        for name in library_names()
    ]


def _parent_key(text: Text, line: int, indent: int) -> str:
    """The key of the nearest line above ``line`` indented less than ``indent``."""
    for above in range(line - 1, -1, -1):
        words = text.line(above)
        stripped = words.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(words) - len(words.lstrip()) < indent:
            match = _PARENT.match(words)
            return match.group(1) if match else ""
    return ""


def _layer(
    analysis: Analysis, text: Text, before: str, line: int
) -> list[types.CompletionItem] | None:
    match = _ITEM.match(before)
    if match is None:
        return None
    parent = _parent_key(text, line, len(match.group(1)) + 1)
    if parent == "imports":
        return [
            types.CompletionItem(label=f"std:{n}", kind=types.CompletionItemKind.File)
            for n in library_names()
        ]
    if parent not in _LAYER_LISTS and _parent_key(text, line, len(match.group(1))) != "branches":
        return None
    items = [
        types.CompletionItem(
            label=kind.name,
            kind=types.CompletionItemKind.Class,
            detail=kind.summary,
            documentation=_options_doc(kind.name),
        )
        for kind in all_kinds()
    ]
    items.extend(
        types.CompletionItem(
            label=name,
            kind=types.CompletionItemKind.Function,
            detail=f"block{' from ' + block.origin if block.origin else ''}",
            documentation=types.MarkupContent(
                kind=types.MarkupKind.Markdown, value=block_text(block)
            ),
        )
        for name, block in analysis.blocks.items()
    )
    return items


def _options_doc(name: str) -> types.MarkupContent | None:
    kind = get_kind(name)
    if kind is None:
        return None
    lines = "\n".join(f"- {code(o.line())}" for o in kind_options(kind))
    return types.MarkupContent(kind=types.MarkupKind.Markdown, value=lines)


def _options(
    analysis: Analysis, text: Text, before: str, line: int
) -> list[types.CompletionItem] | None:
    """Options of the layer being written: in ``{...}`` on its line, or as keys below it."""
    owner, written = "", ""
    flow = _FLOW.search(before)
    if flow is not None and re.search(r"(\{|,)\s*\w*$", before):
        owner, written = flow.group(1), flow.group(2)
    else:
        key = _KEY.match(before)
        if key is None or not key.group(1):
            return None
        indent = len(key.group(1))
        for above in range(line - 1, -1, -1):
            words = text.line(above)
            if not words.strip() or words.strip().startswith("#"):
                continue
            if len(words) - len(words.lstrip()) < indent:
                found = _OWNER.match(words)
                if found is None:
                    return None
                owner = found.group(1)
                break
    block = analysis.blocks.get(owner)
    if block is not None:
        return [
            types.CompletionItem(
                label=name,
                kind=types.CompletionItemKind.Property,
                detail=f"argument: {show(default)}",
                insert_text=f"{name}: ",
            )
            for name, default in block.args.items()
            if not re.search(rf"\b{re.escape(name)}\s*:", written)
        ]
    kind = get_kind(owner) if owner else None
    if kind is None:
        return None
    return [
        types.CompletionItem(
            label=option.name,
            kind=types.CompletionItemKind.Property,
            detail=option.line().partition(" — ")[0],
            documentation=option.description or None,
            insert_text=f"{option.name}: ",
        )
        for option in kind_options(kind)
        if not re.search(rf"\b{re.escape(option.name)}\s*:", written)
    ]


def _top_level(before: str) -> list[types.CompletionItem] | None:
    if not re.fullmatch(r"\w*", before):
        return None
    return [
        types.CompletionItem(
            label=info.alias or name,
            kind=types.CompletionItemKind.Keyword,
            detail=info.description,
            insert_text=f"{info.alias or name}: ",
        )
        for name, info in SpecFile.model_fields.items()
    ]
