"""Real ``torch.export`` archives (``.pt2``) and hostile edits of them, for the tests of
``netspec import FILE.pt2`` (tests/test_import_archive.py, the hostile family
tests/hostile/archives.py and the fuzz target tests/test_fuzz_archive.py).

An archive is a zip: ``<root>/models/model.json`` (the program, JSON), the weights as raw
bytes under ``<root>/data/weights/`` with a JSON config, sample inputs as a pickle. The edits
here replace, add or drop members and rewrite ``model.json`` as a dict.
"""

from __future__ import annotations

import json
import pickle
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: an edit of model.json, in place
Edit = Callable[[dict[str, Any]], None]


def export(model: Any, shape: tuple[int, ...], path: Path) -> Path:
    """``torch.export.save`` of ``model`` exported at a batch of 1 of ``shape``."""
    import torch

    torch.export.save(torch.export.export(model.eval(), (torch.randn(1, *shape),)), str(path))
    return path


def small(path: Path) -> Path:
    """A conv, batchnorm, relu and flatten: the archive most hostile edits start from."""
    from torch import nn

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten())
    return export(model, (3, 6, 6), path)


def members(path: Path) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(path) as z:
        return [(info, z.read(info)) for info in z.infolist()]


def root(path: Path) -> str:
    """The archive's top folder (``small/``)."""
    with zipfile.ZipFile(path) as z:
        return z.namelist()[0].split("/")[0] + "/"


def write_members(path: Path, entries: list[tuple[str, bytes]], deflate: bool = False) -> Path:
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return path


def rewrite(
    source: Path,
    target: Path,
    edit: Edit | None = None,
    replace: dict[str, bytes] | None = None,
    add: list[tuple[str, bytes]] | None = None,
) -> Path:
    """``source`` with model.json edited, members replaced (by the name after the root) and
    others added (``add`` names are full)."""
    top = root(source)
    entries = []
    for info, data in members(source):
        inner = info.filename[len(top) :]
        if inner == "models/model.json" and edit is not None:
            program = json.loads(data)
            edit(program)
            data = json.dumps(program).encode()
        if replace and inner in replace:
            data = replace[inner]
        entries.append((info.filename, data))
    return write_members(target, entries + list(add or []))


def nodes(program: dict[str, Any]) -> list[dict[str, Any]]:
    return program["graph_module"]["graph"]["nodes"]  # type: ignore[no-any-return]


class Canary:
    """Unpickling this creates the file ``path`` (open(path, "w")): proof that code ran."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


def canary_pickle(canary: Path) -> bytes:
    return pickle.dumps(Canary(canary), protocol=2)


def pickled_weight(canary: Path) -> Callable[[Path, Path], Path]:
    """An edit: the first weight stored as a pickle (``use_pickle``) whose loading writes
    ``canary``, as torch.export.load would unpickle it (weights_only=False)."""

    def make(source: Path, target: Path) -> Path:
        top = root(source)
        config_name = "data/weights/model_weights_config.json"
        with zipfile.ZipFile(source) as z:
            config = json.loads(z.read(top + config_name))
        first = next(iter(config["config"].values()))
        first["use_pickle"] = True
        return rewrite(
            source,
            target,
            replace={
                config_name: json.dumps(config).encode(),
                "data/weights/" + first["path_name"]: canary_pickle(canary),
                "data/sample_inputs/model.pt": canary_pickle(canary),
            },
        )

    return make


def sympy_payload(canary: Path) -> str:
    """A symbolic size that ``sympy.sympify`` would evaluate: it writes ``canary``."""
    return f"__import__('builtins').open({str(canary)!r}, 'w').close() or s0"


def symbolic_sizes(canary: Path) -> Edit:
    """An edit: the batch of every computed tensor (and of the input) a symbolic expression
    that runs code when sympify reads it, and a range constraint naming it (the weights keep
    their sizes: a program with a dynamic batch)."""

    def edit(program: dict[str, Any]) -> None:
        expr = sympy_payload(canary)
        signature = program["graph_module"]["signature"]["input_specs"]
        weights = {
            spec[kind]["arg"]["name"]
            for spec in signature
            for kind in ("parameter", "buffer")
            if kind in spec
        }
        for name, meta in program["graph_module"]["graph"]["tensor_values"].items():
            if meta["sizes"] and name not in weights:
                meta["sizes"][0] = {"as_expr": {"expr_str": expr, "hint": {"as_int": 1}}}
        program["range_constraints"] = {expr: {"min_val": 1, "max_val": 8}}

    return edit


def stack_trace(file: str, line: int, text: str = "x = F.gelu(x)") -> Edit:
    """An edit: the relu becomes an operator netspec has no kind for (gelu), recorded at ``file``
    line ``line`` (a file the archive names, which netspec must never open)."""

    def edit(program: dict[str, Any]) -> None:
        node = next(n for n in nodes(program) if n["target"].endswith(".relu.default"))
        node["target"] = "torch.ops.aten.gelu.default"
        trace = f'File "{file}", line {line}, in forward\n    {text}'
        node["metadata"]["stack_trace"] = trace

    return edit


def module_path(path: str) -> Edit:
    """An edit: the first operator runs in a module of the given path."""

    def edit(program: dict[str, Any]) -> None:
        node = nodes(program)[0]
        stack = node["metadata"]["nn_module_stack"].split(";")
        key, _, kind = stack[-1].split(",")
        stack[-1] = f"{key},{path},{kind}"
        node["metadata"]["nn_module_stack"] = ";".join(stack)

    return edit


def zip_bomb(path: Path, size: int = 2**30) -> Path:
    """A small zip whose model.json inflates to ``size`` bytes (under 4 GiB) of spaces
    (deflate: ~1000:1). A mebibyte of spaces is deflated once, ending on a full flush (which
    nothing after it refers back past), and its blocks repeated: the same stream zlib makes of
    the whole, written in milliseconds rather than deflated for a second or more."""
    chunk = b" " * 2**20
    assert size % len(chunk) == 0 and size < 2**32, size
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    blocks = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    data = blocks * (size // len(chunk)) + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc = 0
    for _ in range(size // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    members = [("bomb/archive_format", 0, b"pt2", zlib.crc32(b"pt2"), 3)]
    members.append(("bomb/models/model.json", 8, data, crc, size))
    local, central = b"", b""
    for name, method, body, check, inflated in members:
        fields = (20, 0, method, 0, 0x21, check, len(body), inflated, len(name), 0)
        central += struct.pack("<4s2H", b"PK\x01\x02", 20, 20) + struct.pack("<4H3L2H", *fields[1:])
        central += struct.pack("<3H2L", 0, 0, 0, 0, len(local)) + name.encode()
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields) + name.encode() + body
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 2, 2, len(central), len(local), 0)
    path.write_bytes(local + central + end)
    return path
