"""Running an external program (Graphviz's ``dot``) under a deadline, its failure a message.

The program runs in a process group of its own; past its deadline, or when netspec itself is
interrupted (Ctrl-C, SIGTERM), the whole group is killed, so a child the program started and
that holds its pipes open goes too. Whatever goes wrong (it cannot be started, it fails, it is
killed, it runs out of time) is a :class:`ProgramFailed` saying so in one line: what the program
wrote on stderr is clipped and its control characters escaped.

Example::

    svg = run_program(["/usr/bin/dot", "-Tsvg"], dot_text.encode(), seconds=12.5, name="dot")
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence

from .errors import clip, printable

#: How much of what a failing program wrote on stderr a message quotes, in characters.
MAX_SAID = 300


class ProgramFailed(Exception):
    """An external program gave no result: ``str()`` says why in one line; ``timed_out`` says
    whether it was stopped at its deadline, ``started`` whether it ran at all."""

    def __init__(self, message: str, timed_out: bool = False, started: bool = True) -> None:
        super().__init__(message)
        self.timed_out = timed_out
        self.started = started


def run_program(argv: Sequence[str], data: bytes, seconds: float, name: str) -> bytes:
    """Run ``argv`` with ``data`` on its stdin and return its stdout, within ``seconds``.

    ``name`` is how messages call the program (``Graphviz's dot``). A non-zero exit status, a
    signal, a program that cannot be started or one still running at the deadline is a
    :class:`ProgramFailed`.
    """
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a group of its own, killed as a whole
            close_fds=True,
        )
    except OSError as e:  # not executable, a bad interpreter line, not a program at all
        why = printable(e.strerror or str(e))
        raise ProgramFailed(f"{name} could not be run: {why}", started=False) from e
    try:
        out, err = proc.communicate(data, timeout=seconds)
    except subprocess.TimeoutExpired as e:
        raise ProgramFailed(f"{name} did not finish within {seconds:.3g} s", timed_out=True) from e
    finally:
        if proc.returncode is None:  # the deadline, an interruption, anything: never left behind
            _kill(proc)
    if proc.returncode < 0:
        raise ProgramFailed(f"{name} was killed (signal {_signal_name(-proc.returncode)})")
    if proc.returncode > 0:
        said = printable(err.decode("utf-8", errors="replace").strip())
        how = f"{name} failed (exit status {proc.returncode})"
        raise ProgramFailed(f"{how}: {clip(said, MAX_SAID)}" if said else f"{how} and said nothing")
    return out


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc``'s process group, reap it, and close the pipes (a grandchild that left the
    group may still hold them: they are not read to their end)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
