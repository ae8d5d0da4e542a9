"""Everything a user can do wrong becomes a :class:`NetspecError` holding diagnostics.

A diagnostic reads like a compiler's::

    specs/alexnet.yaml:31:5: error: linear needs a flat input, got (256, 5, 5)
    hint: add "- flatten" before this layer
       31 |   - linear: 4096
          |     ^

Only the CLI prints them; everything else raises.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Pos:
    """A 1-based line and column in a source file."""

    line: int
    col: int


@dataclass(frozen=True)
class Diagnostic:
    """One error, located in a file where it can be."""

    file: str
    message: str
    hint: str = ""
    pos: Pos | None = None
    source_line: str = ""
    notes: tuple[str, ...] = ()
    #: "error", or "warning" for what is suspicious but valid (a named tensor never read)
    severity: str = "error"

    def sort_key(self) -> tuple[str, int, int]:
        if self.pos is None:
            return (self.file, 0, 0)
        return (self.file, self.pos.line, self.pos.col)

    def format(self) -> str:
        """The diagnostic as the command line prints it. Each part is one line, whatever it
        quotes: a value a user gave (a name, a file, a scale) has its control characters
        escaped (:func:`printable`), so that it can neither start a line nor forge one."""
        file = printable(self.file)
        where = file if self.pos is None else f"{file}:{self.pos.line}:{self.pos.col}"
        lines = [f"{where}: {self.severity}: {printable(self.message)}"]
        lines.extend(f"note: {printable(note)}" for note in self.notes)
        if self.hint:
            lines.append(f"hint: {printable(self.hint)}")
        lines = [clip(line, MAX_LINE) for line in lines]
        if self.pos is not None and self.source_line:
            number = str(self.pos.line)
            text, col = _window(self.source_line.rstrip("\r\n").expandtabs(1), self.pos.col)
            before = printable(text[: col - 1])  # the caret stays under its character
            lines.append(f"{number:>6} | {before}{printable(text[col - 1 :])}")
            lines.append(f"{'':>6} | {' ' * len(before)}^")
        return "\n".join(lines)


#: What a message never shows as it is: C0 and C1 control characters (a newline, an escape
#: sequence that recolours or moves a terminal's cursor, a carriage return), DEL, the line and
#: paragraph separators that ``str.splitlines`` breaks at, and the bidirectional overrides that
#: make text read in another order than it is
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str, keep: str = "") -> str:
    r"""``text`` with its control characters escaped as Python's ``repr`` writes them, so that a
    value a user gave can never start a line of its own, recolour a terminal or forge output;
    characters in ``keep`` (a newline, for text of several lines) stay as they are.

    >>> printable("x\nnet.yaml: ok\x1b[31m")
    'x\\nnet.yaml: ok\\x1b[31m'
    """
    return _CONTROL.sub(lambda m: m[0] if m[0] in keep else repr(m[0])[1:-1], text)


#: The widest line of a message, and of a quoted source line: a 16 MB line is not echoed.
MAX_LINE = 1000
MAX_SOURCE = 200


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, an ellipsis saying where: ``clip("abcdef", 5)``
    is ``"ab..."``."""
    return text if len(text) <= width else text[: width - 3] + "..."


def _window(text: str, col: int) -> tuple[str, int]:
    """At most :data:`MAX_SOURCE` characters of a source line around column ``col`` (1-based),
    with ``...`` where it is cut, and the caret's column in what is shown."""
    if len(text) <= MAX_SOURCE:
        return text, col
    start = max(0, min(col - 1 - MAX_SOURCE // 2, len(text) - MAX_SOURCE))
    shown = text[start : start + MAX_SOURCE]
    head = "..." if start else ""
    tail = "..." if start + MAX_SOURCE < len(text) else ""
    return head + shown + tail, col - start + len(head)


class NetspecError(Exception):
    """A problem in a spec or in how netspec was asked to use it.

    It carries one or more :class:`Diagnostic`; ``str(error)`` is their formatted text, in
    file and line order.
    """

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        # the same problem reached twice (a repeat's copies, a block's uses) is reported once
        unique = {(d.sort_key(), d.message): d for d in diagnostics}
        self.diagnostics = sorted(unique.values(), key=Diagnostic.sort_key)
        super().__init__(self.format())

    def format(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)

    def _render_traceback_(self) -> list[str]:
        """How IPython and Jupyter show the error: the diagnostics, with no traceback."""
        return self.format().splitlines()

    @classmethod
    def plain(cls, file: str, message: str, hint: str = "") -> NetspecError:
        """An error that concerns a whole file (or an option) rather than a line of it."""
        return cls([Diagnostic(file=file, message=message, hint=hint)])


@dataclass
class Problem(Exception):
    """Raised by a kind's rules without a position; the pass that called it adds one."""

    message: str
    hint: str = ""
    notes: tuple[str, ...] = field(default=())
    #: where to point, if not at the layer whose rule raised: a node (one inception branch),
    #: or a path within the layer's options (``("over", 1)``)
    at: Any = None

    def __str__(self) -> str:
        return self.message


class PluginFailure(Problem):
    """A plugin kind's own code failed (raised, or called ``sys.exit``): the plugin's fault.

    A pass gives it the position of the layer that uses the kind; where none can (drawing a
    diagram), the command line reports it as it is.
    """


#: Beyond this many valid choices, none is searched for a close match.
MAX_COMPARED = 1_000


def did_you_mean(word: str, choices: Iterable[str], what: str) -> str:
    """A hint naming the closest valid choice and listing all of them."""
    options = sorted(set(choices))
    # a long word is no typo of a name; comparing it would cost its length times each option's,
    # and thousands of options (a file's params) cost a comparison each, for every message
    near = len(word) <= 64 and len(options) <= MAX_COMPARED
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6) if near else []
    listing = _listing(options)
    if close:
        return f'did you mean "{close[0]}"? valid {what}: {listing}'
    return f"valid {what}: {listing}" if options else f"there are no {what}"


#: How long a list of valid choices may grow in a hint, in characters.
MAX_LISTING = 600


def _listing(options: list[str]) -> str:
    """``options`` joined by commas, cut to about :data:`MAX_LISTING` characters."""
    shown: list[str] = []
    width = 0
    for option in options:
        width += len(option) + 2
        if width > MAX_LISTING:
            return ", ".join(shown) + f", ... ({len(options):,} in all)"
        shown.append(option)
    return ", ".join(shown)
