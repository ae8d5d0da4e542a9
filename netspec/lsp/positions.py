"""Positions between netspec and the protocol, and between files and URIs.

netspec counts lines and columns from 1, in characters; the protocol counts from 0, and its
columns in UTF-16 code units (``×`` is one, an emoji two). :mod:`netspec.lsp.spans` counts
from 0 in characters.

Example::

    text = Text.of("a: 😀b")             # UTF-16 columns unless the client chose others
    text.position(0, 4)                  # Position(line=0, character=5)
    text.at(types.Position(0, 5))        # (0, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path
from pygls.workspace import PositionCodec

from .spans import Range


@dataclass(frozen=True)
class Text:
    """A document's lines, and how the client counts columns (the negotiated encoding)."""

    lines: Sequence[str]
    codec: PositionCodec = field(default_factory=PositionCodec)

    @classmethod
    def of(cls, source: str, codec: PositionCodec | None = None) -> Text:
        return cls(source.splitlines(), codec or PositionCodec())

    def line(self, line: int) -> str:
        return self.lines[line] if 0 <= line < len(self.lines) else ""

    def position(self, line: int, col: int) -> types.Position:
        """The protocol's position of 0-based ``line`` and character ``col``."""
        units = self.codec.client_num_units(self.line(line)[: max(col, 0)])
        return types.Position(line=max(line, 0), character=units)

    def range(self, where: Range) -> types.Range:
        return types.Range(
            start=self.position(where[0], where[1]), end=self.position(where[2], where[3])
        )

    def at(self, position: types.Position) -> tuple[int, int]:
        """The 0-based line and character column of a protocol position."""
        text, units = self.line(position.line), 0
        for i, char in enumerate(text):
            if units >= position.character:
                return position.line, i
            units += self.codec.client_num_units(char)
        return position.line, len(text)


def uri_of(path: str | Path) -> str:
    uri = from_fs_path(str(path))
    return uri if uri is not None else Path(path).absolute().as_uri()


def shown(path: str) -> str:
    """A path as netspec's messages show it: relative to the working directory below it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path
