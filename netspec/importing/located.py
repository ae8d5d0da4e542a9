"""Errors of ``netspec import`` at the line of the user's code that makes a call: where torch.fx
recorded it for a traced model, or as a ``.pt2`` archive recorded it (never opening the file
it names)."""

from __future__ import annotations

import linecache
import os
import re

from torch import fx

from ..errors import MAX_LINE, Diagnostic, NetspecError, Pos, printable
from ..files import shorten

_TORCH_DIR = os.path.dirname(os.path.dirname(fx.__file__)) + os.sep


def error_at(node: fx.Node, origin: str, message: str, hint: str = "") -> NetspecError:
    """An error at the line of the user's code that makes ``node``, where fx recorded it.

    A node rebuilt from a ``.pt2`` archive (``meta["archived"]``) is quoted with the text the
    archive recorded: the file it names is never opened (it may be any file on this machine,
    a FIFO or a device)."""
    if node.meta.get("archived"):
        return archived_error(node.stack_trace, origin, message, hint)
    frames = [
        frame
        for frame in re.findall(r'File "([^"]+)", line (\d+), in \S+\n(.*)', node.stack_trace or "")
        if not frame[0].startswith(_TORCH_DIR)  # the user's line, not torch's own
    ]
    if not frames:
        return NetspecError.plain(origin, message, hint)
    file, line, _ = frames[-1]
    text = linecache.getline(file, int(line))
    stripped = text.strip()
    col = text.index(stripped) + 1 if stripped else 1
    return NetspecError([Diagnostic(_shown(file), message, hint, Pos(int(line), col), text)])


def archived_error(trace: str | None, origin: str, message: str, hint: str = "") -> NetspecError:
    """An error at the user's line an archive recorded, quoted as recorded (its text, its
    control characters escaped); about the archive ``origin`` where it recorded none."""
    frame = recorded_frame(trace or "")
    if frame is None:
        return NetspecError.plain(origin, message, hint)
    file, line, text = frame
    note = ("the line as the archive recorded it (netspec does not open the file)",)
    return NetspecError([Diagnostic(file, message, hint, Pos(line, 1), text, note)])


#: how much of a recorded stack trace is searched for the user's line (its end: the last)
_TRACE_TAIL = 16 * 1024


def recorded_frame(trace: str) -> tuple[str, int, str] | None:
    """The last frame of a recorded stack trace outside torch: its file (shortened,
    escaped), line, and the source text the trace holds (escaped, at most a line)."""
    found = None
    for file, line, text in re.findall(_FRAME, trace[-_TRACE_TAIL:]):
        if not file.startswith(_TORCH_DIR) and "/site-packages/torch/" not in file:
            found = (file, line, text)
    if found is None or len(found[1]) > 9:
        return None
    file, line, text = found
    return shorten(printable(_shown(file))), int(line), printable(text.strip()[:MAX_LINE])


_FRAME = re.compile(r'File "([^"\n]{1,4096})", line (\d{1,20}), in [^\n]*\n([^\n]*)')


def _shown(file: str) -> str:
    """A file below the working directory as a relative path (as compilers print it)."""
    rel = os.path.relpath(file)
    return file if rel.startswith("..") else rel
