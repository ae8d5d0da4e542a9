"""A small Language Server Protocol client for the tests: it starts ``python -m netspec lsp``
(or another server, such as yaml-language-server) as a process and speaks JSON-RPC to it with
Content-Length framing, as an editor does."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def frame(body: bytes) -> bytes:
    """``body`` with the header the base protocol puts before it."""
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Client:
    def __init__(self, *flags: str, cwd: Path = ROOT, command: list[str] | None = None) -> None:
        """``python *flags -m netspec lsp``, or the server that ``command`` starts."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        self.process = subprocess.Popen(
            command or [sys.executable, *flags, "-m", "netspec", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self.next_id = 0
        self.capabilities = {}
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    def _read(self) -> None:
        out = self.process.stdout
        assert out is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = out.read(int(headers["content-length"]))
            self.messages.put(json.loads(body))

    def _drain(self) -> None:
        err = self.process.stderr
        assert err is not None
        for line in err:
            self.stderr.append(line.decode(errors="replace"))

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(frame(json.dumps({"jsonrpc": "2.0", **message}).encode()))

    def send_bytes(self, data: bytes) -> None:
        """Bytes as they are: a frame, part of one, or anything else."""
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(data)
        stdin.flush()

    def response(self, ident: Any, timeout: float = 10.0) -> dict[str, Any]:
        """The whole response to request ``ident`` (None: the next error without an id)."""
        for i, seen in enumerate(self.responses):
            if seen.get("id") == ident:
                return self.responses.pop(i)
        return self._wait(lambda m: "method" not in m and m.get("id") == ident, timeout)

    def peak_memory(self) -> int:
        """The server process's peak resident memory so far, in bytes (Linux)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) * 1024

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = 10.0) -> Any:
        self.next_id += 1
        ident = self.next_id
        self.send({"id": ident, "method": method, "params": params})
        message = self._wait(lambda m: m.get("id") == ident and "method" not in m, timeout)
        assert "error" not in message, message["error"]
        return message.get("result")

    def _wait(self, wanted: Any, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                message = self.messages.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise AssertionError(
                    f"no answer within {timeout} s; stderr: {''.join(self.stderr)[-2000:]}"
                ) from None
            if wanted(message):
                return message
            if "method" in message and "id" not in message:
                self.notifications.append(message)
            elif "method" in message:  # a request of the server's: say nothing to it
                self.send({"id": message["id"], "result": None})
            else:  # a response awaited later (an error without an id)
                self.responses.append(message)

    def diagnostics(self, uri: str, version: int | None = None, timeout: float = 15.0) -> Any:
        """The next diagnostics published for ``uri`` (for ``version``, where given)."""

        def wanted(m: dict[str, Any]) -> bool:
            if m.get("method") != "textDocument/publishDiagnostics":
                return False
            params = m["params"]
            return bool(params["uri"] == uri and version in (None, params.get("version")))

        for i, seen in enumerate(self.notifications):
            if wanted(seen):
                return self.notifications.pop(i)["params"]["diagnostics"]
        return self._wait(wanted, timeout)["params"]["diagnostics"]

    def published(self, uri: str) -> list[dict[str, Any]]:
        """The diagnostics notifications received for ``uri`` so far (collected meanwhile)."""
        while True:
            try:
                message = self.messages.get_nowait()
            except queue.Empty:
                break
            self.notifications.append(message)
        return [
            n["params"]
            for n in self.notifications
            if n.get("method") == "textDocument/publishDiagnostics" and n["params"]["uri"] == uri
        ]

    def initialize(self, capabilities: dict[str, Any] | None = None) -> Any:
        """The handshake, saying what this client can do (nothing beyond the basics unless
        given: an editor's ``capabilities``)."""
        result = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": ROOT.as_uri(),
                "capabilities": capabilities or {},
            },
        )
        self.notify("initialized", {})
        self.capabilities: dict[str, Any] = result["capabilities"]
        self.info: dict[str, Any] = result.get("serverInfo", {})
        return result

    def open(self, uri: str, text: str, version: int = 1) -> None:
        document = {"uri": uri, "languageId": "yaml", "version": version, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": document})

    def change(self, uri: str, text: str, version: int) -> None:
        self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
        )

    def at(self, method: str, uri: str, line: int, character: int) -> Any:
        position = {"line": line, "character": character}
        return self.request(
            f"textDocument/{method}", {"textDocument": {"uri": uri}, "position": position}
        )

    def close(self) -> int:
        """shutdown, then exit: the exit status of the server."""
        if self.process.poll() is None:
            self.request("shutdown", None)
            self.notify("exit", None)
        try:
            return self.process.wait(10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
