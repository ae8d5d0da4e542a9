"""The hostile-input corpus: cases that a user (or an attacker) can throw at netspec.

Each family of attacks is one module here with a ``CASES`` list; ``tests/test_hostile.py``
runs every case as its own ``netspec`` process in a fresh folder and checks that it ends
cleanly: the expected exit code (1 for a bad spec, 2 for misuse of the command), a message
that names the file (and line and column where there is one), no traceback, within the memory
budget, and no file replaced, created or left behind but those the case allows. The wall-clock
budget depends on the machine, so no test asserts it: ``python -m bench --only hostile`` times
the read-only cases against it (``bench/hostile_cases.py``).

A case's ``args`` and ``files`` may say ``{dir}``: the case's folder.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: Every command that only reads specs answers or refuses within this much wall time (timed
#: by ``python -m bench --only hostile``, not asserted by a test: it depends on the machine) ...
SECONDS = 5.0
#: ... and peak memory (VmHWM, asserted by the tests). Commands that import torch (building,
#: not only reading) get torch's own memory on top.
PEAK_BYTES = 1024**3
#: A case still running after this long hangs: far above any machine's slowness, it only
#: keeps a real hang from blocking the run. It is not a budget.
HANG_SECONDS = 300

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


#: runs the command, then reports its exit code and peak memory on the real stdout
RUN = """
import json, re, sys
from netspec.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else 1
status = open("/proc/self/status").read()
peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024
print(json.dumps({"code": code, "peak": peak}), file=sys.__stdout__)
"""

#: an entry's type, size, inode and modification time
Entry = tuple[int, int, int, int]


@dataclass(frozen=True)
class Outcome:
    """How a case's process ended."""

    code: int
    peak: int
    seconds: float
    stderr: str
    #: the folder's entries before and after the run, by relative path
    before: dict[str, Entry]
    after: dict[str, Entry]


def corpus() -> dict[str, list[Case]]:
    """Every family's cases, by the family's module name."""
    return {
        module.name: list(importlib.import_module(f"{__name__}.{module.name}").CASES)
        for module in pkgutil.iter_modules(__path__)
    }


def snapshot(folder: Path) -> dict[str, Entry]:
    """Every entry below ``folder``: its type, size, inode and modification time."""
    out = {}
    for path in [folder, *folder.rglob("*")]:
        try:
            st = path.lstat()
        except OSError:
            continue
        out[str(path.relative_to(folder))] = (
            stat.S_IFMT(st.st_mode),
            st.st_size,
            st.st_ino,
            st.st_mtime_ns,
        )
    return out


def _write(folder: Path, files: dict[str, Content]) -> None:
    for name, content in files.items():
        path = folder / name.replace("{dir}", str(folder))
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{dir}", str(folder)))


#: runs ``netspec ARGS`` in a folder with extra environment variables, within a number of
#: seconds: its exit code, peak bytes and stderr (:func:`fresh`, or a forkserver.Server's run)
Process = Callable[[list[str], Path, dict[str, str], float], tuple[int, int, str]]


def fresh(
    args: list[str], folder: Path, env: dict[str, str], timeout: float
) -> tuple[int, int, str]:
    """Run ``netspec ARGS`` in ``folder`` as a fresh interpreter: its exit code, peak bytes and
    stderr. Raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds and ``ValueError``
    where the process reported nothing (it died before the end of ``RUN``)."""
    proc = subprocess.run(
        [sys.executable, "-c", RUN, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
    )
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise ValueError(f"no report; stderr: {proc.stderr[-2000:]}")
    result = json.loads(lines[-1])
    return result["code"], result["peak"], proc.stderr


def run(case: Case, folder: Path, process: Process = fresh) -> Outcome:
    """Make the case's files in ``folder`` (empty, existing) and run it there as a process
    (:func:`fresh`, or one forked by tests/forkserver.py).

    Raises ``subprocess.TimeoutExpired`` after ``HANG_SECONDS`` and ``ValueError`` where the
    process reported nothing (it died before the end of ``RUN``)."""
    _write(folder, case.files)
    if case.setup:
        case.setup(folder)
    before = snapshot(folder)
    args = [a.replace("{dir}", str(folder)) for a in case.args]
    start = time.perf_counter()
    try:
        code, peak, stderr = process(args, folder, case.env, HANG_SECONDS)
    except ValueError as e:
        raise ValueError(f"{case.name}: {e}") from None
    seconds = time.perf_counter() - start
    after = snapshot(folder)
    return Outcome(code, peak, seconds, stderr, before, after)
