"""Completion, wherever a name can stand, from the text being typed (often not valid YAML
meanwhile): :mod:`netspec.lsp.outline` says where the cursor is (the path of keys and list
indexes down to it), :mod:`netspec.lsp.places` what that path names.

- a layer entry, in any layer list at any depth (``layers:``, a block's, a group's, a
  repeat's ``body:``/``first:``, a residual's ``body:``/``after:``, an inception's
  branches; ``- co|`` or ``[relu, co|]``): the kinds and the blocks the file can call;
- a key of a layer (``- conv: {ker|`` or below ``- conv:``): the kind's options with their
  types and defaults, or the block's arguments and what every call takes; a key of an
  option that is a mapping (``projection: {|}``); a value of an option with a closed set
  (``mode: |``);
- ``from:`` (``from: |``, ``from: [a, |]``): the tensors visible there, its scope's inputs
  and the names earlier layers gave with ``to:``; ``outputs:``: the tensors of the scope;
- inside ``${...}``: the params, the enclosing block's arguments, the file's functions and
  the helpers; a tensor in ``channels(|)``;
- ``imports:``: netspec's library files, and an import's keys, blocks and params;
  ``scales:``: the params a scale sets; ``blocks:``: a block's keys; the top-level keys.

Example::

    complete(analysis, Text.of("layers:\\n  - relu\\n  - con"), types.Position(2, 7))
"""

from __future__ import annotations

import enum
import re
import typing
from collections.abc import Iterable
from typing import Any

from lsprotocol import types
from pydantic import BaseModel

from ..entries import CALL_KEYS
from ..expr import SHAPE_HELPERS
from ..helpers import HELPERS
from ..imports import library_names
from ..registry import all_kinds, get_kind
from ..schema import BlockDef, ImportSpec, SpecFile
from ..source import PathKey, show
from .analysis import Analysis
from .declared import imported_file, keys_of, tensors_before, tensors_in
from .hover import block_text
from .lookup import block_of
from .markdown import code
from .options import kind_options, type_text
from .outline import ITEM, KEY, VALUE, Outline, Place, read
from .places import is_entry, layer_at, scope_of
from .positions import Text

_Items = list[types.CompletionItem]
_SHAPE_CALL = re.compile(rf"\b(?:{'|'.join(SHAPE_HELPERS)})\(\s*\w*$")


def complete(analysis: Analysis, text: Text, position: types.Position) -> types.CompletionList:
    line, col = text.at(position)
    before = text.line(line)[:col]
    outline = read(text.lines, (line, col))
    place = outline.place
    items: _Items | None = None
    opened = before.rfind("${")
    if opened >= 0 and "}" not in before[opened:]:
        items = _in_expression(analysis, outline, place, before)
    elif place is not None:
        items = _at(analysis, text, outline, place, before)
    return types.CompletionList(is_incomplete=False, items=items or [])


def _at(analysis: Analysis, text: Text, outline: Outline, place: Place, before: str) -> _Items:
    path, role = place.path, place.role
    if re.search(r"std:[\w-]*$", before):  # std:co|: the names without the prefix typed
        return _library("")
    if is_entry(path) and (role != KEY or not place.written):
        return _layers(analysis, outline)
    found = layer_at(path)
    if found is not None:
        return _in_layer(analysis, outline, place, *found)
    return _in_file(analysis, text, outline, place)


def _layers(analysis: Analysis, outline: Outline) -> _Items:
    """The kinds, and the blocks the file can call (also those written since its last check)."""
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
    items.extend(
        types.CompletionItem(label=name, kind=types.CompletionItemKind.Function, detail="block")
        for name in keys_of(outline, ("blocks",))
        if name not in analysis.blocks
    )
    return items


def _options_doc(name: str) -> types.MarkupContent | None:
    kind = get_kind(name)
    if kind is None:
        return None
    lines = "\n".join(f"- {code(o.line())}" for o in kind_options(kind))
    return types.MarkupContent(kind=types.MarkupKind.Markdown, value=lines)


def _in_layer(
    analysis: Analysis,
    outline: Outline,
    place: Place,
    entry: PathKey,
    word: str,
    rest: PathKey,
) -> _Items:
    """In the options of a layer (a kind's, or a block call's arguments)."""
    role = place.role
    if rest == () and role == KEY:
        return _options(analysis, outline, word, place.written)
    if rest[:1] == ("from",) and _in_list(rest, role, 1):
        return _tensors(tensors_before(outline, entry), "a tensor this layer can read")
    kind = get_kind(word)
    if kind is None or len(rest) != 1:
        return []
    info = kind.Options.model_fields.get(str(rest[0])) or next(
        (f for f in kind.Options.model_fields.values() if f.alias == rest[0]), None
    )
    if info is None:
        return []
    if role == KEY:
        model = _model(info.annotation)
        return _fields(model, place.written) if model is not None else []
    if role == VALUE:
        return _choices(info.annotation)
    return []


def _options(analysis: Analysis, outline: Outline, word: str, written: Iterable[str]) -> _Items:
    """The options of a kind, or the arguments of a block and what every call takes."""
    block = analysis.blocks.get(word)
    args: dict[str, Any] | None = dict(block.args) if block is not None else None
    if args is None and word in keys_of(outline, ("blocks",)):
        args = {name: None for name in keys_of(outline, ("blocks", word, "args"))}
    if args is not None:
        items = [
            types.CompletionItem(
                label=name,
                kind=types.CompletionItemKind.Property,
                detail=f"argument: {show(default)}" if default is not None else "argument",
                insert_text=f"{name}: ",
            )
            for name, default in args.items()
        ]
        items.extend(
            types.CompletionItem(
                label=name,
                kind=types.CompletionItemKind.Property,
                detail="every block call takes it",
                insert_text=f"{name}: ",
            )
            for name in CALL_KEYS
        )
        return [i for i in items if i.label not in set(written)]
    kind = get_kind(word)
    if kind is None:
        return []
    return [
        types.CompletionItem(
            label=option.name,
            kind=types.CompletionItemKind.Property,
            detail=option.line().partition(" — ")[0],
            documentation=option.description or None,
            insert_text=f"{option.name}: ",
        )
        for option in kind_options(kind)
        if option.name not in set(written)
    ]


def _model(annotation: Any) -> type[BaseModel] | None:
    """The model of an option that is a mapping of its own (residual's ``projection``)."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _fields(model: type[BaseModel], written: Iterable[str]) -> _Items:
    return [
        types.CompletionItem(
            label=info.alias or name,
            kind=types.CompletionItemKind.Property,
            detail=type_text(info.annotation),
            documentation=info.description or None,
            insert_text=f"{info.alias or name}: ",
        )
        for name, info in model.model_fields.items()
        if (info.alias or name) not in set(written)
    ]


def _choices(annotation: Any) -> _Items:
    """The values of an option with a closed set (an enum), or true and false."""
    stack: list[Any] = [annotation]
    found: list[str] = []
    while stack:
        current = stack.pop()
        if isinstance(current, type) and issubclass(current, enum.Enum):
            found.extend(str(m.value) for m in current)
        elif current is bool:
            found.extend(["true", "false"])
        else:
            stack.extend(reversed(typing.get_args(current)))
    return [
        types.CompletionItem(label=value, kind=types.CompletionItemKind.EnumMember)
        for value in dict.fromkeys(found)
    ]


def _tensors(names: list[str], detail: str) -> _Items:
    return [
        types.CompletionItem(label=name, kind=types.CompletionItemKind.Variable, detail=detail)
        for name in names
    ]


def _in_file(analysis: Analysis, text: Text, outline: Outline, place: Place) -> _Items:
    """Outside the layers' options: the top level, blocks, outputs, imports and scales
    (``outline`` ends at the cursor; outputs name tensors made below it)."""
    path, role = place.path, place.role
    if path == () and role == KEY:
        return _fields(SpecFile, place.written)
    if path[:1] == ("blocks",) and len(path) == 2 and role == KEY:
        return _fields(BlockDef, place.written)
    if path[:1] == ("blocks",) and path[2:3] == ("outputs",) and _in_list(path, role, 3):
        return _tensors(tensors_in(read(text.lines), scope_of(path)), "a tensor of this block")
    if path == ("outputs",) and role == KEY:
        return _tensors(tensors_in(read(text.lines), ("layers",)), "a tensor of the network")
    if path[:1] == ("scales",) and len(path) == 2 and role == KEY:
        names = [*keys_of(outline, ("params",)), *analysis.params]
        for scale in keys_of(outline, ("scales",)):
            names.extend(keys_of(outline, ("scales", scale)))
        unwritten = [n for n in dict.fromkeys(names) if n not in place.written]
        return _tensors(unwritten, "a param this scale sets")
    if path[:1] == ("imports",) and len(path) >= 2 and isinstance(path[1], int):
        return _in_import(analysis, outline, place, path[1])
    return []


def _in_list(path: PathKey, role: str, size: int) -> bool:
    """A list's value being written (``outputs: |``) or one of its items (``[a, |]``)."""
    return (len(path) == size and role == VALUE) or (len(path) == size + 1 and role == ITEM)


def _in_import(analysis: Analysis, outline: Outline, place: Place, index: int) -> _Items:
    rest, role = place.path[2:], place.role
    if rest == () and role in (ITEM, VALUE):
        return _library("std:")
    if rest == () and role == KEY:
        return _fields(ImportSpec, place.written)
    if rest == ("file",) and role == VALUE:
        return _library("std:")
    if rest[:1] == ("blocks",) and _in_list(rest, role, 1):
        blocks = imported_file(outline, index, analysis.file).get("blocks")
        names = [str(b) for b in blocks] if isinstance(blocks, dict) else []
        return _tensors(names, "a block of this file")
    if rest == ("params",) and role == KEY:
        params = imported_file(outline, index, analysis.file).get("params")
        found = params if isinstance(params, dict) else {}
        return [
            types.CompletionItem(
                label=str(name),
                kind=types.CompletionItemKind.Variable,
                detail=f"param = {show(value)}",
                insert_text=f"{name}: ",
            )
            for name, value in found.items()
            if str(name) not in place.written
        ]
    return []


def _library(prefix: str) -> _Items:
    return [
        types.CompletionItem(
            label=f"{prefix}{name}", kind=types.CompletionItemKind.File, detail=f"std:{name}"
        )
        for name in library_names()
    ]


def _in_expression(
    analysis: Analysis, outline: Outline, place: Place | None, before: str
) -> _Items:
    """Inside ``${...}``: the names an expression sees, or a tensor for a shape helper."""
    path = place.path if place is not None else ()
    if _SHAPE_CALL.search(before):
        found = layer_at(path)
        entry = found[0] if found is not None else path
        return _tensors(tensors_before(outline, entry), "a tensor (its shape)")
    known_params = dict(analysis.params)
    typed = [n for n in keys_of(outline, ("params",)) if n not in known_params]
    items = [
        types.CompletionItem(
            label=name, kind=types.CompletionItemKind.Variable, detail=f"param = {show(value)}"
        )
        for name, value in known_params.items()
    ]
    items.extend(
        types.CompletionItem(label=name, kind=types.CompletionItemKind.Variable, detail="param")
        for name in typed
    )
    block = block_of(path)
    known = analysis.blocks.get(block or "")
    args: dict[str, Any] = dict(known.args) if known is not None else {}
    if block is not None and not args:
        args = {n: None for n in keys_of(outline, ("blocks", block, "args"))}
    items.extend(
        types.CompletionItem(
            label=name,
            kind=types.CompletionItemKind.Variable,
            detail=f"argument of {block}" + (f": {show(default)}" if default is not None else ""),
        )
        for name, default in args.items()
    )
    functions = keys_of(outline, ("functions",))
    for name in [*functions, *sorted(HELPERS), *SHAPE_HELPERS]:
        label = name.split("(", 1)[0]
        items.append(
            types.CompletionItem(label=label, kind=types.CompletionItemKind.Function, detail=name)
        )
    return items
