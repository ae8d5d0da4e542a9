"""The names a spec being typed declares, read from its outline (:mod:`netspec.lsp.outline`),
so that completion offers them before the file is valid again: the tensors its layers name
with ``to:`` and its inputs, scope by scope; the keys of a section (``params``, ``blocks``);
and the blocks and params of a file it imports.

Example::

    outline = read(text.splitlines())
    tensors_before(outline, ("layers", 4))     # ["input", "skip", "up"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import NetspecError
from ..source import PathKey, read_source
from .analysis import import_location
from .outline import Outline, Written
from .places import layer_at, scope_of


def tensors_before(outline: Outline, entry: PathKey) -> list[str]:
    """The tensor names a layer at ``entry`` can read: its scope's inputs, then the names
    that the layers written before it in the same scope give (``to:``)."""
    start = next(((n.line, n.col) for n in outline.nodes if n.path == entry), None)
    scope = scope_of(entry)
    found = inputs_of(outline, scope)
    for node in outline.nodes:
        if start is not None and (node.line, node.col) >= start:
            break
        name = _made(node)
        if name and scope_of(node.path) == scope and node.path[: len(entry)] != entry:
            found.append(name)
    return list(dict.fromkeys(found))


def tensors_in(outline: Outline, scope: PathKey) -> list[str]:
    """Every tensor name of a scope: its inputs and every ``to:`` of its layers."""
    found = inputs_of(outline, scope)
    found.extend(n for n in map(_made, _in_scope(outline, scope)) if n)
    return list(dict.fromkeys(found))


def _in_scope(outline: Outline, scope: PathKey) -> list[Written]:
    return [n for n in outline.nodes if scope and scope_of(n.path) == scope]


def _made(node: Written) -> str | None:
    """The name a ``to:`` node gives (``to: x`` or an item of ``to: [x, y]``)."""
    path = node.path
    if node.value is None or not path:
        return None
    at = path if path[-1] == "to" else path[:-1] if isinstance(path[-1], int) else ()
    if not at or at[-1] != "to":
        return None
    found = layer_at(at)
    return node.value if found is not None and found[2] == ("to",) else None


def inputs_of(outline: Outline, scope: PathKey) -> list[str]:
    """The names a scope's inputs are bound to: the network's ``input`` or ``inputs:`` keys,
    a block's ``inputs:`` (default ``input``)."""
    if scope == ("layers",):
        named = keys_of(outline, ("inputs",))
        return named or ["input"]
    where = (*scope, "inputs")
    items = [n.value for n in outline.nodes if n.path[:-1] == where and n.value]
    return items or ["input"]


def keys_of(outline: Outline, section: PathKey) -> list[str]:
    """The keys written directly under ``section`` (``("params",)``: the params' names)."""
    size = len(section) + 1
    found = [
        str(n.path[-1])
        for n in outline.nodes
        if len(n.path) == size and n.path[:-1] == section and isinstance(n.path[-1], str)
    ]
    return list(dict.fromkeys(found))


def value_of(outline: Outline, path: PathKey) -> str | None:
    """The scalar written at ``path``, if any."""
    for node in outline.nodes:
        if node.path == path and node.value is not None:
            return node.value
    return None


def imported_file(outline: Outline, index: int, file: str) -> dict[str, Any]:
    """The data of the file the ``index``-th import names (``{}`` where it cannot be read),
    relative to the document's ``file`` ("" for a buffer without one)."""
    target = value_of(outline, ("imports", index)) or value_of(outline, ("imports", index, "file"))
    if not target:
        return {}
    location = import_location(target, Path(file) if file else None)
    if location is None:
        return {}
    try:
        data = read_source(location, str(location)).data
    except NetspecError:
        return {}
    return data if isinstance(data, dict) else {}
