"""Markdown for hovers and completion documentation, where nothing a spec says is markup.

A spec's words (a block's description, names, values, an import's target; a plugin's kind
summary) reach the editor as Markdown, which an editor renders: an image fetches a remote
URL, a link may run a ``command:``, HTML is HTML. So every piece of such text goes through
:func:`text` (each ASCII punctuation character backslash-escaped, which also keeps bare URLs
and addresses from being linked) or :func:`code` (a code span fenced by more backticks than
the text holds, on one line, so no ````` in the text can close it). Control characters are
written as escapes (``\\x00``) in both.

Example::

    text("![x](http://e.com/a.png)")    # '\\!\\[x\\]\\(http\\:\\/\\/e\\.com\\/a\\.png\\)'
    code("a`b")                         # '``a`b``'
    code("`")                           # '`` ` ``'
"""

from __future__ import annotations

import re
import string
import unicodedata

_SPECIAL = frozenset(string.punctuation)
_TICKS = re.compile(r"`+")


def text(words: str) -> str:
    """``words`` as Markdown that renders as those words, and as nothing else."""
    return "".join(_char(c) for c in words)


def code(words: str) -> str:
    """``words`` as an inline code span (one line: a line break becomes a space)."""
    flat = "".join(" " if c in "\r\n" else _visible(c) for c in words)
    fence = "`" * (max((len(m) for m in _TICKS.findall(flat)), default=0) + 1)
    if flat[:1] == "`" or flat[-1:] == "`" or (flat[:1] == flat[-1:] == " " and flat.strip()):
        flat = f" {flat} "  # the renderer strips one space from each side (and only then)
    return f"{fence}{flat}{fence}"


def _char(c: str) -> str:
    if c in _SPECIAL:
        return "\\" + c
    if c in "\n\t":
        return c
    return _visible(c).replace("\\", "\\\\")


#: characters that reorder or break what an editor shows (line separators, bidirectional
#: overrides and isolates), escaped like control characters, as errors.printable does
_INVISIBLE = "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _visible(c: str) -> str:
    if unicodedata.category(c) in ("Cc", "Cs") or c in _INVISIBLE:
        return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
    return c
