"""JSON-RPC over the wire: every frame either reaches pygls as a message or is answered.

pygls's own loop trusts the bytes it reads: it allocates whatever length a header announces,
loses its place for good after a malformed header, and answers nothing when a request's
params do not fit the method. :func:`run_io` replaces that loop. Frames come from
:class:`~netspec.lsp.framing.FrameReader` (bounded, resynchronising); then

- bytes that frame nothing, and a body that is not JSON: Parse error (-32700), id null;
- JSON that is not a message object (an array, a number, ``jsonrpc`` other than ``"2.0"``, a
  ``method`` that is no string, an ``id`` that is neither an integer nor a string): Invalid
  request (-32600), with the id where it is one, else null;
- a request whose params do not fit its method: Invalid params (-32602), saying where;
- a request after ``shutdown``: Invalid request, as the protocol says;
- a notification that does not fit is dropped (there is no one to answer).

So every request gets a response, and no frame stops the server. Example::

    server = make_server()
    run_io(server, sys.stdin.buffer, sys.stdout.buffer)
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import threading
from typing import Any, BinaryIO

from cattrs import transform_error
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdoutWriter
from pygls.protocol import JsonRPCProtocol
from pygls.server import JsonRPCServer

from .framing import Frame, FrameReader

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

#: lists and objects in one message, counted before it is parsed (brackets inside strings
#: too): ``[],`` is 3 bytes of JSON and 64 of Python, so the size limit alone would let one
#: message cost over 700 MB; a spec with a million brackets is far past the YAML node limit
MAX_CONTAINERS = 1_000_000

logger = logging.getLogger(__name__)

#: a key that is absent (``id`` may be given as null)
_ABSENT = object()


def run_io(server: JsonRPCServer, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Serve ``stdin`` until it ends or the client says exit."""
    server.protocol.set_writer(StdoutWriter(stdout))
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_answered_here)
    try:
        # the descriptor, not the buffered file: a read waiting in the reader thread holds no
        # lock, which the interpreter would wait for (and abort) on the way out
        read = functools.partial(os.read, stdin.fileno())
        asyncio.run(_serve(server.protocol, FrameReader(read)))
    except BrokenPipeError:
        logger.error("the editor closed the connection")
    except (KeyboardInterrupt, SystemExit):  # exit (pygls raises SystemExit for it)
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]


async def _serve(protocol: JsonRPCProtocol, frames: FrameReader) -> None:
    """Read frames in a thread of their own (a daemon: a read that waits on the editor never
    holds up the end), one at a time, and handle each in the event loop."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Frame | None] = asyncio.Queue(maxsize=1)

    def pump() -> None:
        frame: Frame | None = Frame(None)
        while frame is not None:
            frame = frames.next()
            try:
                asyncio.run_coroutine_threadsafe(queue.put(frame), loop).result()
            except RuntimeError:  # the loop has stopped (exit)
                return

    threading.Thread(target=pump, name="netspec-lsp-reader", daemon=True).start()
    while (frame := await queue.get()) is not None:
        handle(protocol, frame)


def handle(protocol: JsonRPCProtocol, frame: Frame) -> None:
    """Hand one frame to pygls, or answer it with an error."""
    if frame.body is None:
        _error(protocol, None, PARSE_ERROR, f"Parse error: {frame.problem}")
        return
    containers = frame.body.count(b"[") + frame.body.count(b"{")
    if containers > MAX_CONTAINERS:  # counted in the bytes, before any is made
        _error(
            protocol,
            None,
            PARSE_ERROR,
            f"Parse error: the message holds {containers:,} lists and objects; "
            f"the limit is {MAX_CONTAINERS:,}",
        )
        return
    try:
        data = json.loads(frame.body)
    except (ValueError, RecursionError) as e:  # not UTF-8, not JSON, nested too deep
        _error(protocol, None, PARSE_ERROR, f"Parse error: the message is not JSON ({_short(e)})")
        return
    if not isinstance(data, dict):
        what = "a batch (an array)" if isinstance(data, list) else type(data).__name__
        _error(
            protocol, None, INVALID_REQUEST, f"Invalid request: a message is an object, not {what}"
        )
        return
    ident = data.get("id", _ABSENT)
    valid_id = _is_id(ident)
    problem = _envelope_problem(data, ident)
    if problem:
        _error(
            protocol, ident if valid_id else None, INVALID_REQUEST, f"Invalid request: {problem}"
        )
        return
    request = "method" in data and valid_id
    if request and getattr(protocol, "_shutdown", False) and data["method"] != "exit":
        _error(protocol, ident, INVALID_REQUEST, "Invalid request: the server is shutting down")
        return
    try:
        message = protocol.structure_message(data)
    except JsonRpcException as e:
        if request:
            reason = _params_problem(e)
            _error(protocol, ident, INVALID_PARAMS, f"Invalid params for {data['method']}{reason}")
        return
    try:
        protocol.handle_message(message)
    except Exception:  # the boundary: no message may stop the server (pygls answers its own)
        logger.exception("netspec lsp: a message failed")
        if request:
            _error(protocol, ident, INTERNAL_ERROR, "Internal error: see the server's log")


def _answered_here(record: logging.LogRecord) -> bool:
    """pygls logs params that do not fit with a traceback; :func:`handle` answers them."""
    return not str(record.msg).startswith("Unable to deserialize message")


def _envelope_problem(data: dict[str, Any], ident: object) -> str:
    """What makes ``data`` no JSON-RPC 2.0 message ("" if nothing)."""
    if data.get("jsonrpc") != "2.0":
        return 'jsonrpc must be "2.0"'
    if ident is not _ABSENT and not _is_id(ident):
        return "an id is an integer or a string"
    if "method" in data:
        if not isinstance(data["method"], str):
            return "method must be a string"
        params = data.get("params")
        if "params" in data and params is not None and not isinstance(params, (dict, list)):
            return "params must be an object or an array"
        return ""
    if ident is _ABSENT or ("result" not in data and "error" not in data):
        return "no method, and no response to a request"
    return ""


def _is_id(ident: object) -> bool:
    return isinstance(ident, str) or (isinstance(ident, int) and not isinstance(ident, bool))


def _params_problem(e: JsonRpcException) -> str:
    """Where the params went wrong, from cattrs' account of it (``: expected int @
    $.params.position.line``), or "" if there is none."""
    cause = e.__cause__
    if cause is None:
        return ""
    try:
        found = transform_error(cause)
    except Exception:  # an account cattrs cannot give: the error code says enough
        return ""
    return ": " + "; ".join(found[:3]) if found else ""


def _short(e: Exception) -> str:
    text = str(e)
    return text if len(text) <= 100 else text[:97] + "..."


def _error(protocol: JsonRPCProtocol, ident: object, code: int, message: str) -> None:
    logger.debug("%s", message)
    response = {"jsonrpc": "2.0", "id": ident, "error": {"code": code, "message": message}}
    protocol._send_data(response)
