"""The language server's wire: messages cut out of the bytes the editor sends, with bounds.

The base protocol frames each JSON message with headers (``Content-Length: 52``, then a blank
line). The bytes come from a process netspec does not control, so nothing they say is
trusted: a length over :data:`MAX_MESSAGE_BYTES` is never read as a message, a header line
is never kept past :data:`MAX_HEADER_LINE` bytes, and bytes that frame nothing are skipped
until the next ``Content-Length:`` header, wherever on a line it starts (the tail of a
message whose length was too short runs into the next header without a line break). Each
such run of skipped bytes is reported once, as a :class:`Frame` with a ``problem`` and no
body, before the frame that follows it; so a bad frame costs that frame, never the
connection. Memory stays under about :data:`MAX_MESSAGE_BYTES` plus one read.

Example::

    frames = FrameReader(io.BytesIO(b"junk\\r\\nContent-Length: 2\\r\\n\\r\\n{}").read1)
    frames.next()    # Frame(None, 'no Content-Length header before them (6 bytes skipped)')
    frames.next()    # Frame(b'{}')
    frames.next()    # None: the end of the stream
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..files import MAX_FILE_BYTES

#: The largest message read: a document at the 16 MiB limit, escaped as a JSON string (a
#: newline, a quote or a backslash takes two bytes), and the envelope around it.
MAX_MESSAGE_BYTES = 2 * MAX_FILE_BYTES + 1024 * 1024
#: A header line longer than this is not a header (real ones are under 100 bytes).
MAX_HEADER_LINE = 1024
#: Bytes read from the stream at a time.
CHUNK = 64 * 1024

_LENGTH = re.compile(rb"content-length:", re.IGNORECASE)
_LENGTH_VALUE = re.compile(rb"[ \t]*(\d{1,15})[ \t]*\r?\n")
_HEADER = re.compile(rb"[A-Za-z0-9-]+:[^\r\n]*\r?\n")
#: what may come between frames without a word: header lines and blank lines
_IGNORABLE = re.compile(rb"(?:(?:[A-Za-z0-9-]+:[^\r\n]*)?\r?\n)*")


@dataclass(frozen=True)
class Frame:
    """A message's body, or (``body`` None) bytes that were skipped and why."""

    body: bytes | None
    problem: str = ""


class FrameReader:
    """Cuts the frames out of a stream, one :meth:`next` at a time (blocking)."""

    def __init__(self, read: Callable[[int], bytes], max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        #: returns at most so many bytes, waiting for at least one (b"" at the end)
        self.read = read
        self.max_bytes = max_bytes
        self.buffer = bytearray()
        self.ended = False
        #: bytes skipped since the last frame, and why (the first reason): a report pending
        self.skipped = 0
        self.why = ""
        self.waiting: Frame | None = None

    def next(self) -> Frame | None:
        """The next frame: a run of skipped bytes, then the message after it; None at the
        end of the stream."""
        if self.waiting is not None:
            frame, self.waiting = self.waiting, None
            return frame
        body = self._message()
        if self.why:
            problem = f"{self.why} ({self.skipped:,} bytes skipped)"
            self.skipped, self.why = 0, ""
            self.waiting = Frame(body) if body is not None else None
            return Frame(None, problem)
        return Frame(body) if body is not None else None

    def _message(self) -> bytes | None:
        """The body of the next well-framed message, counting what is skipped on the way."""
        while True:
            length = self._headers()
            if length is None:
                return None
            if length > self.max_bytes:
                # never read as one message: its bytes are skipped up to the next header
                self._junk(
                    0, f"a message of {length:,} bytes, over the limit of {self.max_bytes:,}"
                )
                continue
            if not self._fill(length):
                self._junk(len(self.buffer), "the stream ended inside a message")
                return None
            body = bytes(self.buffer[:length])
            del self.buffer[:length]
            return body

    def _headers(self) -> int | None:
        """Read a header block: the length its ``Content-Length`` gives (the blank line after
        it consumed), or None at the end of the stream."""
        while self._find_length():
            length: int | None = None
            while True:
                end = self._line_end()
                if end is None:
                    if self.ended:
                        self._junk(len(self.buffer), "the stream ended inside a header")
                        return None
                    self._junk(1, "a header line too long")
                    break
                line = bytes(self.buffer[:end])
                found = _LENGTH.match(line)
                if line in (b"\r\n", b"\n") and length is not None:
                    del self.buffer[:end]
                    return length
                if found is not None:
                    value = _LENGTH_VALUE.fullmatch(line, found.end())
                    if value is None:
                        self._junk(end, f"a Content-Length that is no size: {_cut(line)}")
                        break
                    del self.buffer[:end]
                    length = int(value.group(1))
                    continue
                if _HEADER.fullmatch(line) and not _LENGTH.search(line):
                    del self.buffer[:end]  # another header (Content-Type): nothing to use
                    continue
                # not a header: the header block read so far is lost with it
                self._junk(0 if _LENGTH.search(line) else end, f"not a header: {_cut(line)}")
                break
        return None

    def _find_length(self) -> bool:
        """Drop what comes before the next ``Content-Length:`` (reading as needed), so the
        buffer starts with it; False at the end of the stream. Other header lines and
        blank lines go silently; anything else is skipped."""
        keep = len(b"content-length:") - 1
        while True:
            found = _LENGTH.search(self.buffer)
            if found is not None:
                self._drop(found.start())
                return True
            # drop whole lines now (none holds the header), to bound the buffer
            line_start = self.buffer.rfind(b"\n") + 1
            if len(self.buffer) - line_start > MAX_HEADER_LINE:
                line_start = len(self.buffer) - keep
            self._drop(line_start)
            if not self._read():
                self._drop(len(self.buffer))
                return False

    def _drop(self, size: int) -> None:
        """Drop ``size`` bytes that hold no header: header and blank lines that come first
        silently, the rest as skipped (all of them once a run of skipped bytes has begun, so
        the count does not depend on how the bytes arrived)."""
        if size <= 0:
            return
        if not self.why:
            quiet = _IGNORABLE.match(self.buffer, 0, size)
            silent = quiet.end() if quiet else 0
            del self.buffer[:silent]
            size -= silent
        if size:
            self._junk(size, "no Content-Length header before them")

    def _line_end(self) -> int | None:
        """The end of the buffer's first line (after its newline), or None if the stream
        ends first or it runs past :data:`MAX_HEADER_LINE`."""
        searched = 0
        while True:
            newline = self.buffer.find(b"\n", searched, MAX_HEADER_LINE)
            if newline >= 0:
                return newline + 1
            searched = len(self.buffer)
            if searched >= MAX_HEADER_LINE or not self._read():
                return None

    def _fill(self, size: int) -> bool:
        """Read until the buffer holds ``size`` bytes (False if the stream ends first)."""
        while len(self.buffer) < size:
            if not self._read(size - len(self.buffer)):
                return False
        return True

    def _read(self, wanted: int = CHUNK) -> bool:
        if self.ended:
            return False
        data = self.read(max(1, min(wanted, CHUNK)))
        if not data:
            self.ended = True
            return False
        self.buffer += data
        return True

    def _junk(self, size: int, why: str) -> None:
        """Skip ``size`` bytes from the buffer's start; a run of skipped bytes is reported
        once, with its first reason (a header that led nowhere is one, skipping none)."""
        del self.buffer[:size]
        self.skipped += size
        self.why = self.why or why


def _cut(line: bytes) -> str:
    """A header line as a message may quote it: printable ASCII, cut at 60 characters."""
    text = line.rstrip(b"\r\n")[:60].decode("ascii", "replace")
    return "".join(c if c.isprintable() else "?" for c in text)
