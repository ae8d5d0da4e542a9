"""netspec's diagnostics as the protocol's, placed in the document being edited.

A diagnostic in the document itself is underlined where netspec points (the key or the value
that starts there). One in another file (an imported library's block, a file it imports) is
shown at the import or the block call that leads there, its message starting with the other
file's ``file:line:col``, and linked to that place (``relatedInformation``).

Example::

    to_lsp_diagnostics(analysis.diagnostics, "net.yaml", Text.of(source), analysis.spans)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lsprotocol import types

from ..errors import Diagnostic, Pos
from .notes import note_position
from .positions import Text, uri_of
from .spans import Spans

SOURCE = "netspec"
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


def to_lsp_diagnostics(
    found: Sequence[Diagnostic], file: str, text: Text, spans: Spans
) -> list[types.Diagnostic]:
    """``found`` (netspec's, for the document shown as ``file``) in the protocol's terms."""
    return [_convert(d, file, text, spans) for d in found]


def message_of(d: Diagnostic) -> str:
    """The message, its notes and its hint, as ``netspec check`` prints them (no source line)."""
    parts = [d.message, *(f"note: {n}" for n in d.notes)]
    if d.hint:
        parts.append(f"hint: {d.hint}")
    return "\n".join(parts)


def _convert(d: Diagnostic, file: str, text: Text, spans: Spans) -> types.Diagnostic:
    severity = _SEVERITY.get(d.severity, types.DiagnosticSeverity.Error)
    if d.file == file:
        return types.Diagnostic(
            range=_underline(d.pos, text, spans),
            message=message_of(d),
            severity=severity,
            source=SOURCE,
        )
    where = f"{d.file}:{d.pos.line}:{d.pos.col}" if d.pos else d.file
    related = None
    other = Path(d.file) if Path(d.file).is_absolute() else Path.cwd() / d.file
    if other.is_file():
        line, col = (d.pos.line - 1, d.pos.col - 1) if d.pos else (0, 0)
        at = types.Position(line=line, character=col)
        related = [
            types.DiagnosticRelatedInformation(
                location=types.Location(uri=uri_of(other), range=types.Range(start=at, end=at)),
                message=d.message,
            )
        ]
    return types.Diagnostic(
        range=_underline(note_position(d, file), text, spans),
        message=f"{where}: {message_of(d)}",
        severity=severity,
        source=SOURCE,
        related_information=related,
    )


def _underline(pos: Pos | None, text: Text, spans: Spans) -> types.Range:
    """The range to mark for a netspec position: the key or the one-line value starting
    there, else the rest of the word there; the first line for a whole-file problem."""
    if pos is None:
        return text.range((0, 0, 0, len(text.line(0))))
    line, col = pos.line - 1, pos.col - 1
    found = spans.starting(line, col)
    if found is not None:
        return text.range(found)
    words = text.line(line)
    end = col
    while end < len(words) and not words[end].isspace() and words[end] not in ",:]}":
        end += 1
    return text.range((line, col, line, max(end, min(col + 1, len(words)))))
