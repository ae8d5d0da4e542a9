"""The checker process: netspec's checks run here, away from the server's event loop.

One long-lived child process (started with ``spawn``: a fresh interpreter, no threads copied)
reads jobs from a pipe and answers each with an :class:`~netspec.lsp.analysis.Analysis`. A
job that takes longer than its time limit, or a child that dies, costs the child: it is
killed and the next job starts a new one. So a slow or hostile file delays only its own
diagnostics, never the server.

A job may ask instead what changed since the file's last commit (``history``): the server
sends those to a checker of their own, so that they never delay diagnostics; the child keeps
what it read of the commit between jobs (:class:`~netspec.lsp.history.HeadCache`).

Example::

    checker = Checker(time_limit=10)
    outcome = checker.run(Job("name: x\\n...", "/tmp/x.yaml", "x.yaml"))
    outcome.analysis.diagnostics
    checker.close()
"""

from __future__ import annotations

import multiprocessing
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from .analysis import Analysis, analyse
from .history import HeadCache, History, compare_head

#: Seconds one check may take; netspec answers any input within about 5.
TIME_LIMIT = 10.0
#: Bytes of memory the checker may use; netspec needs at most about 1 GB for any input.
MEMORY_LIMIT = 3 * 1024**3


@dataclass(frozen=True)
class Job:
    """A text to check, as the file at ``path`` (None: a buffer without a file); with
    ``recover``, a file with errors is checked again for the layers no error reaches; with
    ``history``, the text is compared with the file's last commit instead."""

    text: str
    path: str | None
    shown: str | None = None
    recover: bool = False
    history: bool = False


@dataclass(frozen=True)
class Outcome:
    """A job's analysis (or its history: None where there is none), or why there is none:
    ``timeout``, or a ``failure`` (netspec's bug, with its traceback, or the checker's
    death)."""

    analysis: Analysis | None = None
    history: History | None = None
    timeout: bool = False
    failure: str = ""


class Checker:
    """Runs jobs in the child process, one at a time (callers in threads queue on a lock)."""

    def __init__(
        self,
        time_limit: float = TIME_LIMIT,
        plugins: tuple[str, ...] = (),
        entry_points: bool = True,
    ) -> None:
        self.time_limit = time_limit
        #: what the child loads before its first job, as ``netspec --plugin`` would
        self.plugins = (plugins, entry_points)
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    def run(self, job: Job) -> Outcome:
        """The outcome of one job (blocking: call it from a worker thread)."""
        with self._lock:
            conn = self._connection()
            try:
                conn.send(job)
                if not conn.poll(self.time_limit):
                    self._stop()
                    return Outcome(timeout=True)
                answer: Outcome = conn.recv()
                return answer
            except (EOFError, OSError) as e:  # the child died (killed, out of memory)
                self._stop()
                return Outcome(failure=f"the checker process stopped: {e or type(e).__name__}")

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _connection(self) -> Connection:
        if self._conn is None or self._process is None or not self._process.is_alive():
            self._stop()
            context = multiprocessing.get_context("spawn")
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs, self.plugins), daemon=True)
            process.start()
            theirs.close()
            self._process, self._conn = process, ours
        return self._conn

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        self._process, self._conn = None, None


def _serve(conn: Connection, plugins: tuple[tuple[str, ...], bool]) -> None:
    """The child's loop: a job in, an outcome out, until the pipe closes."""
    from ..plugins import load_plugins

    _limit_memory()
    modules, entry_points = plugins
    load_plugins(*modules, entry_points=entry_points)  # the server loaded them without fault
    cache = HeadCache()
    while True:
        try:
            job: Job = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(_outcome(job, cache))


def _outcome(job: Job, cache: HeadCache) -> Outcome:
    """The one boundary that catches everything: whatever escapes netspec's checks (a bug in
    netspec, or memory running out) becomes a failure the server shows, with its traceback,
    instead of killing the checker silently."""
    try:
        if job.history:
            shown = job.shown or job.path or ""
            return Outcome(history=compare_head(job.text, job.path, shown, cache))
        return Outcome(analysis=analyse(job.text, job.path, job.shown, job.recover))
    except Exception:  # reported to the editor with its traceback, not swallowed
        return Outcome(failure=traceback.format_exc(limit=20))


def _limit_memory() -> None:
    try:
        import resource
    except ImportError:  # not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft > MEMORY_LIMIT:
        limit = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
