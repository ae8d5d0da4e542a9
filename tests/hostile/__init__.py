"""The hostile-input corpus: cases that a user (or an attacker) can throw at netspec.

Each family of attacks is one module here with a ``CASES`` list; ``tests/test_hostile.py``
runs every case as its own ``netspec`` process in a fresh folder and checks that it ends
cleanly: the expected exit code (1 for a bad spec, 2 for misuse of the command), a message
that names the file (and line and column where there is one), no traceback, within the time
and memory budget, and no file replaced, created or left behind but those the case allows.

A case's ``args`` and ``files`` may say ``{dir}``: the case's folder.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: Every command that only reads specs answers or refuses within this much wall time ...
SECONDS = 5.0
#: ... and peak memory (VmHWM). Commands that import torch (building, not only reading) get
#: twice torch's own import time, and its memory, on top.
PEAK_BYTES = 1024**3

#: What a case writes before it runs: text, bytes, or a function making the file at a path.
Content = str | bytes | Callable[[Path], None]
#: Something a case does in its folder before it runs (a FIFO, a link, ...).
Setup = Callable[[Path], object]


def fifo(name: str) -> Setup:
    """A named pipe ``name`` in the case's folder."""
    return lambda d: os.mkfifo(d / name)


def link(name: str, target: str) -> Setup:
    """A symbolic link ``name`` to ``target``."""
    return lambda d: os.symlink(target, d / name)


def socket_at(name: str) -> Setup:
    """A Unix socket ``name``."""

    def make(d: Path) -> None:
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(str(d / name))

    return make


@dataclass(frozen=True)
class Case:
    """One hostile input and what netspec must answer."""

    name: str
    #: the command line after ``netspec``; ``{dir}`` is the case's folder
    args: tuple[str, ...]
    #: files to create in the folder first, by relative path
    files: dict[str, Content] = field(default_factory=dict)
    #: the exit code: 1 for a bad spec, 2 for misuse, 0 where the input is fine after all
    code: int = 1
    #: a regular expression stderr must match (``re.search``); ``{dir}`` is the folder
    message: str = ""
    #: whether the first line of stderr must start with ``FILE:LINE:COL:``
    position: bool = False
    #: whether the command imports torch (build, summary without --static)
    torch: bool = False
    #: files the command may create or change (relative paths); all others must stay as they were
    outputs: tuple[str, ...] = ()
    #: something to do before the run that plain files cannot say (a FIFO, a symlink loop)
    setup: Callable[[Path], None] | None = None
    #: a reason to skip the case on this machine ("" to run it)
    skip: Callable[[], str] | None = None
    #: environment variables for the process
    env: dict[str, str] = field(default_factory=dict)
