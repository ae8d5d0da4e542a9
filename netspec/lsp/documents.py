"""Which documents the server checks, and as which file.

An editor names a document by a URI, percent-encoded (``file:///home/me/my%20nets/caf%C3%A9.yaml``
for ``/home/me/my nets/café.yaml``), and may spell the same document either way. The server
files a document under its decoded URI (:func:`key_of`, as pygls's workspace does) and checks
a ``file:`` document as the file its decoded path names, so its relative imports resolve from
that folder; a document of another scheme (``untitled:``) is checked as a buffer without a
file. What :func:`name_of` refuses gets one diagnostic at line 1 instead of a check: a URI
that holds a control character (raw or percent-encoded: ``%00``), a lone surrogate, or
percent-encoding that is not UTF-8. Text over the 16 MiB limit of spec files is refused by
:func:`too_big` with ``netspec check``'s own message.

Example::

    name_of("file:///tmp/my%20nets/net.yaml").path     # "/tmp/my nets/net.yaml"
    name_of("file:///tmp/a%00b.yaml").problem.message  # "... a control character (\\x00) ..."
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

from pygls.uris import to_fs_path

from ..errors import Diagnostic
from ..files import Unreadable, _refuse_size, shorten
from .positions import shown

_HINT = "rename the file or its folder; netspec checks files whose names are printable text"


@dataclass(frozen=True)
class Name:
    """A document's file (None: a buffer without one), its name in messages, and why it is
    not checked (None if it is)."""

    path: str | None
    file: str
    problem: Diagnostic | None = None


def key_of(uri: str) -> str:
    """The name a document is filed under: its URI percent-decoded, so that every spelling
    of one document finds it (pygls's workspace files documents so too)."""
    return unquote(uri)


def name_of(uri: str) -> Name:
    """What the server checks a document as, or why it does not."""
    try:
        decoded = unquote(uri, errors="strict")
    except UnicodeDecodeError:
        return _refused(uri, "its URI's percent-encoding is not UTF-8 text")
    for text in (uri, decoded):
        odd = next((c for c in text if _odd(c)), None)
        if odd is not None:
            return _refused(uri, f"its URI holds a control character ({_escaped(odd)})")
    path = to_fs_path(uri)
    if path is None:  # another scheme: the buffer alone
        return Name(None, shorten(uri))
    return Name(path, shown(path))


def too_big(text: str, file: str) -> Diagnostic | None:
    """``netspec check``'s error for a file of the text's size, if it is over the limit."""
    try:
        _refuse_size(file, len(text.encode("utf-8", "surrogatepass")))
    except Unreadable as e:
        return e.diagnostics[0]
    return None


def _refused(uri: str, reason: str) -> Name:
    file = shorten(_escaped(uri))
    message = f"netspec cannot check this document: {reason}"
    return Name(None, file, Diagnostic(file, message, _HINT))


def _odd(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cs")


def _escaped(text: str) -> str:
    """``text`` with its control characters and lone surrogates written as escapes."""
    return "".join(
        (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") if _odd(c) else c
        for c in text
    )
