"""Where a diagnostic located in another file meets the document: the import, or the block
call, that its notes name.

Example::

    note_position(diagnostic, "net.yaml")     # Pos(line=5, col=5): the call of the block
"""

from __future__ import annotations

from ..errors import Diagnostic, Pos


def note_position(diagnostic: Diagnostic, file: str) -> Pos | None:
    """Where a diagnostic located in another file meets ``file``: the last ``file:L:C`` its
    notes name (the import, or the block call, that leads there)."""
    found: Pos | None = None
    for note in diagnostic.notes:
        start = note.find(f"{file}:")
        while start >= 0:
            if start and note[start - 1] not in " (":  # the end of a longer file name
                start = note.find(f"{file}:", start + 1)
                continue
            rest = note[start + len(file) + 1 :].split(":", 2)
            if len(rest) >= 2 and rest[0].isdigit() and rest[1][:1].isdigit():
                column = rest[1].split(" ", 1)[0].rstrip(",)")
                if column.isdigit():
                    found = Pos(int(rest[0]), int(column))
            start = note.find(f"{file}:", start + 1)
    return found
