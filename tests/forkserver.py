"""Commands in processes forked from a server that has already imported netspec's command line
(and, for commands that build, torch).

Each run is a process of its own, as ``python -c "...main(argv)"`` would be: its own memory
and peak (VmHWM), exit code and stderr, a crash or a hang ending only it; what it saves is the
interpreter's start and those imports, each time (0.3 s of CPU a command, 2-3 s with torch).
The hostile corpus runs its cases so (tests/test_hostile.py); the bench still times them as
fresh processes, the user's latency.

A child starts with the server's memory, imported modules and all, but not with the peak that
importing them reached in a fresh process (torch's import peaks about 200 MB above what it
keeps): the peak a run reports is the child's plus that difference, measured once a server
(the server is such a fresh process: it reports its own peak after its imports), so that a
memory bound is as strict as for a fresh process.

The child is made like a fresh interpreter's process: stdin from /dev/null, stdout and stderr
new text streams with the encodings and error handlers Python gives pipes, ``sys.argv`` as
``python -c`` sets it, and it ends as a normal exit does up to the interpreter's teardown: its
threads joined, ``atexit`` handlers run, stdout and stderr flushed; then ``os._exit``. The
teardown of the modules, which in a forked child touches (and so copies) every page of the
server's objects, cost 0.3 s of CPU a child with torch imported, 0.02 s without; what it does
besides freeing memory, flushing a file object left open (netspec closes what it writes), a
child leaves undone. A run with its own environment variables goes to a fresh
process (``PYTHONPATH``, the locale and others act when a process starts), but for ``PATH``,
which acts only when a program is looked up, and is set in the child.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

#: the server: reads one JSON request a line, forks, answers the child's pid, then its exit
SERVER = r"""
import atexit, gc, io, json, os, re, sys, threading

def vmhwm():
    status = open("/proc/self/status").read()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024

for module in sys.argv[1:]:
    __import__(module)
preloaded = vmhwm()
from netspec.cli import main
imported = vmhwm()

def stream(fd, mode, like):
    raw = io.FileIO(fd, mode, closefd=False)
    buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffered, encoding=like.encoding, errors=like.errors, line_buffering=like.line_buffering
    )

def child(request):
    os.chdir(request["cwd"])
    os.environ.update(request["env"])
    made = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    opens = [(0, os.devnull, os.O_RDONLY), (1, request["out"], made), (2, request["err"], made)]
    for fd, path, flags in opens:
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = sys.__stdin__ = stream(0, "r", sys.stdin)
    sys.stdout = sys.__stdout__ = stream(1, "w", sys.stdout)
    sys.stderr = sys.__stderr__ = stream(2, "w", sys.stderr)
    sys.argv = ["-c", *request["args"]]
    try:
        code = main(request["args"])
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    with open(request["report"], "w") as f:
        json.dump({"code": code, "peak": vmhwm()}, f)
    for thread in threading.enumerate():  # as a normal exit, up to the teardown
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)

gc.freeze()  # the children's collections leave the server's objects (and their pages) alone
answers = os.fdopen(os.dup(1), "w")
# the server is a fresh process: its peaks after the imports are a fresh process's
print(json.dumps({"preloaded": preloaded, "imported": imported}), file=answers, flush=True)
for line in sys.stdin:
    request = json.loads(line)
    answers.flush()
    pid = os.fork()
    if pid == 0:
        answers.close()
        child(request)
    print(json.dumps({"pid": pid}), file=answers, flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"exit": os.waitstatus_to_exitcode(status)}), file=answers, flush=True)
"""

#: environment variables that act only after a process has started: a child can set them
SET_IN_CHILD = {"PATH"}

#: what a run gives: exit code, peak bytes, stderr
Result = tuple[int, int, str]


class Server:
    """A server process with ``preload`` imported; :meth:`run` runs one command in a child."""

    def __init__(
        self, fresh: Callable[[list[str], Path, dict[str, str], float], Result], *preload: str
    ):
        self._fresh = fresh
        self._files = tempfile.TemporaryDirectory(prefix="netspec-forkserver-")
        self._proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, *preload],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,  # unbuffered: select() then sees every answer
        )
        peaks = self._answer(None)
        #: a fresh process's peak after importing ``preload`` alone (torch's own memory) ...
        self.preload_peak = peaks["preloaded"]
        self._shift = 0
        with tempfile.TemporaryDirectory() as folder:
            _, child_floor, _ = self.run(["--version"], Path(folder), {}, 300)
        # ... and after netspec's command line too, which a child's peak does not count
        self._shift = max(0, peaks["imported"] - child_floor)

    def run(self, args: list[str], folder: Path, env: dict[str, str], timeout: float) -> Result:
        """Run ``netspec ARGS`` in ``folder`` in a child; ``subprocess.TimeoutExpired`` after
        ``timeout`` seconds (the child is killed), ``ValueError`` where it reported nothing."""
        if env.keys() - SET_IN_CHILD:
            return self._fresh(args, folder, env, timeout)
        files = {k: str(Path(self._files.name) / k) for k in ("out", "err", "report")}
        for path in files.values():
            Path(path).unlink(missing_ok=True)
        request = {"args": args, "cwd": str(folder), "env": env, **files}
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(request).encode() + b"\n")
        self._proc.stdin.flush()
        pid = self._answer(None)["pid"]
        try:
            self._answer(timeout)
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            self._answer(None)
            raise
        err = Path(files["err"]).read_text(errors="backslashreplace")
        if not Path(files["report"]).exists():
            raise ValueError(f"no report; stderr: {err[-2000:]}")
        report = json.loads(Path(files["report"]).read_text())
        return report["code"], report["peak"] + self._shift, err

    def _answer(self, timeout: float | None) -> dict[str, int]:
        out = self._proc.stdout
        assert out is not None
        if timeout is not None and not select.select([out], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired(["netspec"], timeout)
        line = out.readline()
        if not line:
            raise RuntimeError(f"the fork server ended (exit {self._proc.wait()})")
        answer: dict[str, int] = json.loads(line)
        return answer

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=60)
        self._files.cleanup()


class Servers(dict[bool, Server]):
    """Servers by whether they have imported torch, each started when first asked for (1-3 s
    of CPU a start), with ``fresh`` for the runs that need a fresh process."""

    def __init__(self, fresh: Callable[[list[str], Path, dict[str, str], float], Result]):
        super().__init__()
        self._fresh = fresh

    def __missing__(self, torch: bool) -> Server:
        self[torch] = Server(self._fresh, *(["torch"] if torch else []))
        return self[torch]

    def close(self) -> None:
        for server in self.values():
            server.close()
