"""How the command ends and echoes: its exit codes, :class:`Misuse` (exit 2) and what it shows
of a value the user gave."""

from __future__ import annotations

from ..errors import printable

EXIT_SPEC_ERROR = 1
EXIT_MISUSE = 2
EXIT_INCOMPLETE = 3


class Misuse(Exception):
    """The command line itself is wrong (exit 2)."""


class Terminated(BaseException):
    """SIGTERM, raised where the command is, so that it unwinds as on Ctrl-C: a half-written
    output's temporary file is removed and an existing output is left as it was."""


def _shown(value: object) -> str:
    """A file name (or any value a user gave) as the command echoes it: one line, its control
    characters escaped (``x\\n.yaml``), so that it can forge no line of output."""
    return printable(str(value))
