"""The language server's wire under fire: random and mutated frames sent to one running
``netspec lsp``, each followed by a well-formed hover that must be answered.

Frames are mutated from valid ones (initialize, didOpen, didChange, hover, completion,
definition): corrupted headers, lengths too long (the frame then padded with spaces to the
length announced: the server cannot know a length is a lie) and too short, lengths past the
limit, invalid JSON, wrong types and values in params, huge ids, unicode, NULs, random bytes.
After each frame the server must still run, answer the probe, and answer any frame that was a
request with an id (an error response where the request was not valid).

The normal suite runs a sample; ``pytest -m fuzz`` runs the campaign (10,000 frames) and prints
its figures (frames, outcomes, time, the server's peak memory) for docs/reliability.md.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsp_client import ROOT, Client, frame

pytest.importorskip("pygls")

SPEC = ROOT / "specs" / "lenet.yaml"
#: a few documents the fuzzed frames open and change (a debounced check each, not thousands)
URIS = [(ROOT / "fuzz" / f"doc{i}.yaml").as_uri() for i in range(3)] + ["untitled:fuzz"]
#: how long the server may take to answer the probe before it counts as hung (not a speed
#: budget: an answer takes milliseconds; a hung server never answers)
PROBE_SECONDS = 30.0
CAMPAIGN = 10_000
SAMPLE = 300


def templates(rng: random.Random, ident: str) -> dict[str, Any]:
    """A valid message of a random kind (requests carry ``ident``)."""
    uri = rng.choice(URIS)
    text = rng.choice(
        [
            SPEC.read_text(encoding="utf-8"),
            "name: x\ninput: [4]\nlayers: [{linear: 2}]\n",
            "layers:\n  - con",
            "",
        ]
    )
    position = {"line": rng.randrange(0, 40), "character": rng.randrange(0, 40)}
    where = {"textDocument": {"uri": uri}, "position": position}
    kind = rng.choice(["open", "change", "hover", "completion", "definition", "initialize"])
    if kind == "open":
        document = {"uri": uri, "languageId": "yaml", "version": rng.randrange(1, 99), "text": text}
        return {"method": "textDocument/didOpen", "params": {"textDocument": document}}
    if kind == "change":
        changes = [{"text": text}]
        if rng.random() < 0.5:
            start = {"line": rng.randrange(0, 5), "character": rng.randrange(0, 5)}
            changes = [{"range": {"start": start, "end": start}, "text": text[:20]}]
        document = {"uri": uri, "version": rng.randrange(1, 99)}
        params = {"textDocument": document, "contentChanges": changes}
        return {"method": "textDocument/didChange", "params": params}
    if kind == "initialize":
        params = {"processId": None, "rootUri": None, "capabilities": {}}
        return {"id": ident, "method": "initialize", "params": params}
    return {"id": ident, "method": f"textDocument/{kind}", "params": where}


def wild(rng: random.Random, depth: int = 0) -> Any:
    """A JSON value of any type and size, often an awkward one."""
    choice = rng.randrange(12)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, -1, 2**31, 2**63, 10**40, -(10**40)])
    if choice == 3:
        return rng.choice([0.5, -1e308, 1e308, 1e-320])
    if choice == 4:
        return "".join(chr(rng.choice([0, 1, 0x1B, 0x7F, 0x85, 0x202E, 0xFFFF])) for _ in range(5))
    if choice == 5:
        return "é☃😀" * rng.randrange(1, 50)
    if choice == 6:
        return "x" * rng.choice([0, 1, 1000, 100_000])
    if choice == 7:
        return rng.choice(["file:///a%00b.yaml", "file:///%E9", "file://host/x", "untitled:\u0000"])
    if choice == 8 and depth < 3:
        return [wild(rng, depth + 1) for _ in range(rng.randrange(4))]
    if choice == 9 and depth < 3:
        return {rng.choice(["uri", "text", "line", "a"]): wild(rng, depth + 1)}
    if choice == 10:
        return [[[[[]]]]] * rng.randrange(3)
    return rng.choice(["textDocument/hover", "", "2.0", "$/cancelRequest", "🙂"])


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, inner in value.items():
            found.extend(_paths(inner, (*path, key)))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found.extend(_paths(inner, (*path, i)))
    return found


def mutate_json(rng: random.Random, message: dict[str, Any]) -> dict[str, Any]:
    """Replace or delete a random part of the message (the envelope included)."""
    message = {"jsonrpc": "2.0", **message}
    for _ in range(rng.randrange(1, 4)):
        path = rng.choice(_paths(message)[1:])
        parent: Any = message
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and rng.random() < 0.3:
            del parent[path[-1]]
        else:
            parent[path[-1]] = wild(rng)
    return message


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randrange(1, 8)):
        at = rng.randrange(len(buffer) + 1)
        action = rng.randrange(4)
        if action == 0 and buffer:
            del buffer[at : at + rng.randrange(1, 20)]
        elif action == 1:
            buffer[at:at] = rng.choice([b"\x00", b"\xff", b"\xc3", b"\\", b'"', b"{", b"]", b"\n"])
        elif action == 2 and at < len(buffer):
            buffer[at] = rng.randrange(256)
        else:
            buffer[at:at] = rng.randbytes(rng.randrange(1, 10))
    return bytes(buffer)


def _clean(data: bytes) -> bytes:
    """Random bytes that name no Content-Length: a valid header among them would announce a
    length the probe after them then fills, which no server could tell from a real message."""
    return data.replace(b"ength", b"ength?").replace(b"ENGTH", b"ENGTH?")


HEADERS: list[Callable[[int], bytes]] = [
    lambda n: b"content-length: %d\r\n\r\n" % n,
    lambda n: b"Content-Length:%d\n\n" % n,
    lambda n: b"Content-Type: application/vscode-jsonrpc\r\nContent-Length: %d\r\n\r\n" % n,
    lambda n: b"Content-Length: 5\r\nContent-Length: %d\r\n\r\n" % n,
    lambda n: b"  Content-Length: %d\r\n\r\n" % n,
    lambda n: b"Content-Length: %d\r\n" % n,  # no blank line
    lambda n: b"Content-Length: \r\n\r\n",
    lambda n: b"Content-Length: -%d\r\n\r\n" % n,
    lambda n: b"Content-Length: 0x%x\r\n\r\n" % n,
    lambda n: b"Content-Length: %d.0\r\n\r\n" % n,
    lambda n: b"Content-Length: 100000000000\r\n\r\n",
    lambda n: b"Content-Length: 99999999999999999999999\r\n\r\n",
    lambda n: b"Content-Length: 36700160\r\n\r\n",  # just past the limit
    lambda n: b"Content-Length: 0\r\n\r\n",
    lambda n: b"Contnt-Length: %d\r\n\r\n" % n,
    lambda n: b"Content-Length: %d\r\nX: " % n + b"y" * 5000 + b"\r\n\r\n",
    lambda n: b"",  # no header at all
    lambda n: b"\x00Content-Length: %d\r\n\r\n" % n,
]


def fuzzed(rng: random.Random, ident: str) -> tuple[str, bytes, bool]:
    """A frame to send: its category, its bytes, and whether it is a request with id
    ``ident`` that the server can read (so it must be answered)."""
    message = templates(rng, ident)
    kind = rng.choices(
        ["valid", "json", "bytes", "header", "too long", "too short", "random"],
        weights=[10, 30, 15, 15, 10, 10, 10],
    )[0]
    if kind in ("valid", "json"):
        if kind == "json":
            message = mutate_json(rng, message)
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        answered = message.get("id") == ident and isinstance(message.get("method"), str)
        return kind, frame(body), answered
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    if kind == "bytes":
        return kind, frame(mutate_bytes(rng, body)), False
    if kind == "header":
        return kind, rng.choice(HEADERS)(len(body)) + body, False
    if kind == "too long":
        extra = rng.randrange(1, 2000)
        header = b"Content-Length: %d\r\n\r\n" % (len(body) + extra)
        return kind, header + body + b" " * extra, "id" in message
    if kind == "too short":
        cut = rng.randrange(0, len(body))
        return kind, b"Content-Length: %d\r\n\r\n" % cut + body, False
    size = rng.choice([1, 10, 1000, 100_000])
    return kind, _clean(rng.randbytes(size)), False


def campaign(frames: int, seed: int) -> dict[str, Any]:
    """Send ``frames`` fuzzed frames to one server; the figures of the run."""
    rng = random.Random(seed)
    client = Client()
    outcomes: Counter[str] = Counter()
    sent = 0
    start = time.perf_counter()
    try:
        client.initialize()
        probe_uri = SPEC.as_uri()
        client.open(probe_uri, SPEC.read_text(encoding="utf-8"))
        client.diagnostics(probe_uri)
        for i in range(frames):
            ident = f"f{i}"
            kind, data, must_answer = fuzzed(rng, ident)
            if b'"exit"' in data or b'"shutdown"' in data:
                continue  # the two messages that end the server on purpose
            sent += 1
            client.send_bytes(data)
            client.next_id += 1
            position = {"line": 14, "character": 24}
            params = {"textDocument": {"uri": probe_uri}, "position": position}
            client.send({"id": client.next_id, "method": "textDocument/hover", "params": params})
            answer = client.response(client.next_id, PROBE_SECONDS)
            assert "result" in answer, (kind, data[:300], answer)
            assert client.process.poll() is None, (kind, data[:300])
            if must_answer:
                reply = client.response(ident, PROBE_SECONDS)
                outcomes[f"{kind}: {_reaction(reply)}"] += 1
            else:
                outcomes[f"{kind}: sent"] += 1
            for other in client.responses:
                outcomes[f"other replies: {_reaction(other)}"] += 1
            client.responses.clear()
            client.notifications.clear()
        peak = client.peak_memory()
        assert client.close() == 0
    finally:
        if client.process.poll() is None:
            client.process.kill()
    return {
        "frames": sent,
        "seconds": time.perf_counter() - start,
        "peak": peak,
        "outcomes": dict(sorted(outcomes.items())),
    }


def _reaction(reply: dict[str, Any]) -> str:
    return f"error {reply['error']['code']}" if "error" in reply else "result"


def test_fuzzed_frames_sample() -> None:
    """A few seconds of the campaign in the normal suite: every kind of frame happens."""
    figures = campaign(SAMPLE, seed=1)
    kinds = {key.split(":")[0] for key in figures["outcomes"]}
    assert {"valid", "json", "bytes", "header", "too long", "too short", "random"} <= kinds
    assert figures["peak"] < 500 * 1024**2


@pytest.mark.fuzz
def test_fuzz_lsp_campaign() -> None:
    figures = campaign(CAMPAIGN, seed=19)
    print(
        f"\nlsp fuzz: {figures['frames']:,} frames in {figures['seconds']:,.0f} s, server peak "
        f"memory {figures['peak'] // 1024**2:,} MB; {figures['outcomes']}"
    )
    assert figures["peak"] < 1024**3


# --- text being typed: completion and recovery on whatever the buffer holds --------------------

#: the characters YAML and netspec give a meaning to, and a few letters
TYPED = st.text(alphabet="-:{}[], \n\t#'\"$|>&*!?abcnorlyst0123", max_size=300)


@given(text=TYPED, line=st.integers(0, 30), col=st.integers(0, 80))
def test_completion_answers_any_text(text: str, line: int, col: int) -> None:
    """Completion reads any buffer without failing, wherever the cursor is."""
    from lsprotocol import types

    from netspec.lsp.analysis import Analysis
    from netspec.lsp.completion import complete
    from netspec.lsp.positions import Text

    found = complete(Analysis(file=""), Text.of(text), types.Position(line, col))
    assert all(isinstance(item.label, str) and item.label for item in found.items)


#: small bundled specs of every style: chains, blocks, inceptions, residuals, graphs
EDITED = ["lenet", "nin", "googlenet", "resnet", "unet", "torchvision/squeezenet1_0"]


@settings(max_examples=25)
@given(
    name=st.sampled_from(EDITED),
    edits=st.lists(
        st.tuples(st.sampled_from(["delete", "copy", "cut", "typo"]), st.integers(0, 10**6)),
        min_size=1,
        max_size=3,
    ),
)
def test_recovery_answers_any_edit(name: str, edits: list[tuple[str, int]]) -> None:
    """A bundled spec with lines deleted, repeated, cut short or mistyped is analysed with its
    recovery without failing: netspec's diagnostics, and layers to hover."""
    from netspec.lsp.analysis import analyse

    lines = (ROOT / "specs" / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    for how, at in edits:
        i = at % len(lines)
        if how == "delete":
            del lines[i]
        elif how == "copy":
            lines.insert(i, lines[i])
        elif how == "cut":
            lines[i] = lines[i][: at % (len(lines[i]) + 1)]
        else:
            j = at % (len(lines[i]) + 1)
            lines[i] = lines[i][:j] + "x" + lines[i][j:]
    text = "\n".join(lines) + "\n"
    analysis = analyse(text, str(ROOT / "specs" / f"{name}.yaml"), recover=True)
    assert all(layer.output.startswith("(") for layer in analysis.layers)
