"""Go to definition: from a use to where it is defined.

- a block call → the block under ``blocks:``, in this file or the imported one;
- an import (``std:conv``, ``./blocks.yaml``) → that file;
- a named tensor (``from:``, ``outputs:``, ``channels(skip)``) → the ``to:`` that makes it
  in the same scope (the network, or the block), or the input that is it;
- a param, a block's argument or a function in ``${...}`` → where it is declared.

Example::

    definition(analysis, text, "net.yaml", types.Position(line=30, character=10))
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from ..source import PathKey
from .analysis import Analysis, import_location
from .lookup import Cursor, block_of, cursor_at, names_layer
from .positions import Text, uri_of
from .spans import Range, Span

_START = types.Range(start=types.Position(0, 0), end=types.Position(0, 0))


def definition(
    analysis: Analysis, text: Text, file: str, position: types.Position
) -> list[types.Location] | None:
    cursor = cursor_at(analysis, text, position)
    if cursor.hit is None:
        return None
    found = (
        _declared(analysis, text, cursor)
        or _block(analysis, text, cursor)
        or _imported(analysis, cursor)
        or _tensor(analysis, text, cursor)
    )
    return found or None


def _here(analysis: Analysis, text: Text, where: Range) -> types.Location:
    uri = uri_of(analysis.file) if analysis.file else ""
    return types.Location(uri=uri, range=text.range(where))


def _declared(analysis: Analysis, text: Text, cursor: Cursor) -> list[types.Location]:
    """A param, an argument of the enclosing block, or a function, used in ``${...}``."""
    if not cursor.in_expression or not cursor.word:
        return []
    word = cursor.word
    block = block_of(cursor.path)
    candidates: list[PathKey] = []
    if block is not None:
        candidates.append(("blocks", block, "args", word))
    candidates.append(("params", word))
    for span in analysis.spans.items:
        path = span.path
        if len(path) == 2 and path[0] == "functions" and str(path[1]).startswith(f"{word}("):
            candidates.append(path)
    for path in candidates:
        found = analysis.spans.find(path)
        if found is not None and found.key is not None:
            return [_here(analysis, text, found.key)]
    return []


def _block(analysis: Analysis, text: Text, cursor: Cursor) -> list[types.Location]:
    """A block call, or a block named in ``imports: [{file: ..., blocks: [...]}]``."""
    path = cursor.path
    listed = len(path) == 4 and path[0] == "imports" and path[2] == "blocks"
    if not (names_layer(cursor) or listed):
        return []
    block = analysis.blocks.get(cursor.word)
    if block is None:
        return []
    line, col = (block.pos.line - 1, block.pos.col - 1) if block.pos else (0, 0)
    if block.file == analysis.file:
        return [_here(analysis, text, (line, col, line, col + len(block.name)))]
    at = types.Position(line=line, character=col)
    return [types.Location(uri=uri_of(block.file), range=types.Range(start=at, end=at))]


def _imported(analysis: Analysis, cursor: Cursor) -> list[types.Location]:
    """An entry of ``imports:``: the file it names."""
    path, span = cursor.path, cursor.hit.span if cursor.hit else None
    if span is None or span.scalar is None or not path or path[0] != "imports":
        return []
    if not (len(path) == 2 or (len(path) == 3 and path[2] == "file")):
        return []
    importer = Path(analysis.file) if analysis.file else None
    location = import_location(span.scalar, importer)
    if location is None or not location.is_file():
        return []
    return [types.Location(uri=uri_of(location), range=_START)]


def _tensor(analysis: Analysis, text: Text, cursor: Cursor) -> list[types.Location]:
    """A named tensor: where ``to:`` makes it, or the input it is, in the same scope."""
    name = _tensor_name(cursor)
    if not name:
        return []
    block = block_of(cursor.path)
    scope: PathKey = ("blocks", block) if block else ()
    found = [s.key or s.value for s in analysis.spans.items if _makes(s, name, scope)]
    return [_here(analysis, text, where) for where in found]


def _tensor_name(cursor: Cursor) -> str:
    """The tensor name a use is: a ``from:`` value, an output's name, a shape helper's argument."""
    hit, path = cursor.hit, cursor.path
    if hit is None:
        return ""
    if cursor.in_expression:
        return cursor.word
    scalar = hit.span.scalar
    reads = "from" in path[-2:] or (
        len(path) >= 3 and path[-2] == "outputs" and path[0] == "blocks"
    )
    if reads and scalar is not None and not hit.on_key:
        return scalar
    if len(path) == 2 and path[0] == "outputs" and hit.on_key:
        return str(path[1])
    return ""


def _makes(span: Span, name: str, scope: PathKey) -> bool:
    """Whether ``span`` gives ``name`` to a tensor of ``scope``: a ``to:`` or an input."""
    path = span.path
    if scope:
        if path[: len(scope)] != scope:
            return False
        inner = path[len(scope) :]
        if inner[:1] == ("inputs",) and span.scalar == name:
            return True
    else:
        if path[:1] == ("blocks",):
            return False
        if path in (("inputs", name), ("input",)) and (path != ("input",) or name == "input"):
            return span.key is not None
    made = "to" in path[-2:] and span.scalar == name
    return made
