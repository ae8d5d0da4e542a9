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
        where = self.file if self.pos is None else f"{self.file}:{self.pos.line}:{self.pos.col}"
        lines = [f"{where}: {self.severity}: {self.message}"]
        lines.extend(f"note: {note}" for note in self.notes)
        if self.hint:
            lines.append(f"hint: {self.hint}")
        if self.pos is not None and self.source_line:
            number = str(self.pos.line)
            text = self.source_line.rstrip("\r\n").expandtabs(1)
            lines.append(f"{number:>6} | {text}")
            lines.append(f"{'':>6} | {' ' * (self.pos.col - 1)}^")
        return "\n".join(lines)


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


def did_you_mean(word: str, choices: Iterable[str], what: str) -> str:
    """A hint naming the closest valid choice and listing all of them."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    listing = ", ".join(options) if len(options) <= 80 else ", ".join(options[:80]) + ", ..."
    if close:
        return f'did you mean "{close[0]}"? valid {what}: {listing}'
    return f"valid {what}: {listing}" if options else f"there are no {what}"
