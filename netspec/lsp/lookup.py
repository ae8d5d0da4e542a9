"""What the cursor is on: a node of the YAML, the word there, and the layers written there.

Hover and go to definition both start here.

Example::

    cursor = cursor_at(analysis, text, position)
    cursor.word, cursor.in_expression       # ("width", True) inside "${width * 2}"
    layers_at(analysis, cursor.hit.path)     # the checked layers written there
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lsprotocol import types

from ..source import PathKey
from .analysis import Analysis, Layer
from .positions import Text
from .spans import Hit

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Cursor:
    """A position in a document and what it is on."""

    line: int
    col: int
    hit: Hit | None
    #: the identifier under the cursor ("" if none), and its columns
    word: str
    start: int
    end: int
    #: whether the word is inside a ``${...}``
    in_expression: bool

    @property
    def path(self) -> PathKey:
        return self.hit.path if self.hit is not None else ()


def cursor_at(analysis: Analysis, text: Text, position: types.Position) -> Cursor:
    line, col = text.at(position)
    words = text.line(line)
    word, start, end = "", col, col
    for match in _WORD.finditer(words):
        if match.start() <= col <= match.end():
            word, start, end = match.group(), match.start(), match.end()
            break
    opened = words.rfind("${", 0, start)
    in_expression = opened >= 0 and "}" not in words[opened:start]
    return Cursor(line, col, analysis.spans.at(line, col), word, start, end, in_expression)


def block_of(path: PathKey) -> str | None:
    """The block whose definition holds ``path`` (``("blocks", "stage", ...)`` → stage)."""
    if len(path) >= 2 and path[0] == "blocks" and isinstance(path[1], str):
        return path[1]
    return None


def names_layer(cursor: Cursor) -> bool:
    """Whether the word is a layer's kind or block: a list item's only key, or the item."""
    hit = cursor.hit
    if hit is None or not cursor.word:
        return False
    path = hit.path
    if hit.on_key:
        return len(path) >= 2 and isinstance(path[-2], int) and path[-1] == cursor.word
    return bool(path) and isinstance(path[-1], int) and hit.span.scalar == cursor.word


def layers_at(analysis: Analysis, path: PathKey) -> list[Layer]:
    """The checked layers written at ``path`` or the nearest layer that holds it (a layer in a
    block is checked once per use, so there may be several)."""
    here = analysis.file
    for size in range(len(path), 0, -1):
        prefix = (here, path[:size])
        found = [x for x in analysis.layers if x.written == prefix or x.site == prefix]
        if found:
            return found
    return []
