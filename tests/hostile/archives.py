"""``.pt2`` archives that attack ``netspec import``: payloads that run code under
``torch.export.load`` (a pickled weight, a symbolic size sympy evaluates), stack traces that
name files to read (``/etc/passwd``, a FIFO, ``/dev/zero``), a zip bomb, module paths that are
no names, broken zips, and outputs that are the command's own inputs.

Nothing runs: a payload would create ``canary``, which no case allows. Each archive is a real
one (``torch.export.save``, made once) edited by ``tests/pt2_archives.py``.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import struct
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import Case, Setup, fifo, link

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import pt2_archives as A

NOT_ARCHIVE = "not a torch.export archive"
UNMAPPED = "no kind for the operator aten.gelu.default"
PROGRAM = "not a torch.export program: nodes\\[0\\].metadata: the module path"


@functools.cache
def _base() -> Path:
    """The real archive every case starts from (made once per test process, removed at its
    exit)."""
    folder = Path(tempfile.mkdtemp(prefix="netspec-hostile-"))
    atexit.register(shutil.rmtree, folder, True)
    return A.small(folder / "small.pt2")


def _edited(
    edit: Callable[[Path], A.Edit] | None = None,
    make: Callable[[Path], Callable[[Path, Path], Path]] | None = None,
) -> Callable[[Path], None]:
    """A file content: the base archive edited, the edit given the case's canary path."""

    def write(path: Path) -> None:
        canary = path.parent / "canary"
        if make is not None:
            make(canary)(_base(), path)
        else:
            A.rewrite(_base(), path, edit(canary) if edit else None)

    return write


def _bytes(change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(change(_base().read_bytes()))


def _many_members(data: bytes) -> bytes:
    raw = bytearray(data)
    at = raw.rfind(b"PK\x06\x06")
    raw[at + 32 : at + 40] = struct.pack("<Q", 10**9)
    return bytes(raw)


def _case(
    name: str,
    content: Callable[[Path], None],
    message: str,
    *args: str,
    code: int = 1,
    outputs: tuple[str, ...] = (),
    setup: Setup | None = None,
    position: bool = False,
) -> Case:
    return Case(
        f"archive_{name}",
        ("import", "x.pt2", *args),
        {"x.pt2": content},
        code=code,
        message=message,
        torch=True,
        outputs=outputs,
        setup=setup,
        position=position,
    )


def _trace(file: str) -> Callable[[Path], A.Edit]:
    return lambda canary: A.stack_trace(file, 1)


def _path(module: str) -> Callable[[Path], A.Edit]:
    return lambda canary: A.module_path(module)


CASES = [
    # payloads that torch.export.load runs: imported, and no canary
    _case(
        "pickled_weight",
        _edited(make=A.pickled_weight),
        "wrote out.yaml",
        "-o",
        "out.yaml",
        code=0,
        outputs=("out.yaml",),
    ),
    _case(
        "sympy_size",
        _edited(A.symbolic_sizes),
        "wrote out.yaml",
        "-o",
        "out.yaml",
        code=0,
        outputs=("out.yaml",),
    ),
    # files the archive names are never opened
    _case("trace_passwd", _edited(_trace("/etc/passwd")), UNMAPPED, position=True),
    _case("trace_zero", _edited(_trace("/dev/zero")), UNMAPPED, position=True),
    _case(
        "trace_fifo",
        _edited(_trace("fifo")),
        UNMAPPED,
        setup=fifo("fifo"),
        position=True,
    ),
    # bounds before reading
    _case("zip_bomb", lambda p: A.zip_bomb(p, 256 * 2**20) and None, "a zip bomb"),
    _case("many_members", _bytes(_many_members), "members; the limit is 50,000"),
    # module paths that are no names
    _case("path_number", _edited(_path("99999999999999999999")), PROGRAM),
    _case("path_dots", _edited(_path("a..b")), PROGRAM),
    _case("path_dunder", _edited(_path("__class__")), PROGRAM),
    _case("path_forward", _edited(_path("forward")), PROGRAM),
    _case("path_gaps", _edited(_path("0.20000")), "leave out 20,000 children"),
    # broken zips: netspec's message alone (torch's logger says nothing)
    _case("truncated", _bytes(lambda b: b[:500]), f"^x.pt2: error: {NOT_ARCHIVE}"),
    _case("not_zip", _bytes(lambda b: b"hello\n"), f"^x.pt2: error: {NOT_ARCHIVE}"),
    # outputs that are the command's inputs
    _case(
        "output_is_archive",
        _edited(),
        "is the archive itself",
        "-o",
        "x.pt2",
        code=2,
    ),
]

MODEL = "import torch.nn as nn\n\ndef Net():\n    return nn.Sequential(nn.Conv2d(3, 4, 3))\n"


def _not_regular(name: str, setup: Setup, what: str) -> Case:
    return Case(
        f"archive_is_{name}",
        ("import", "x.pt2"),
        code=2,
        message=f"x.pt2: {what}, not a torch.export archive",
        setup=setup,
    )


def _folder(d: Path) -> None:
    (d / "x.pt2").mkdir()


CASES += [
    Case(
        "archive_output_is_model_source",
        ("import", "mymodel:Net", "--input", "3,8,8", "-o", "mymodel.py"),
        {"mymodel.py": MODEL},
        code=2,
        message="mymodel.py is the source of mymodel",
    ),
    Case(
        "archive_name_with_newline",
        ("import", "a\nb.pt2"),
        {"a\nb.pt2": _edited()},
        code=2,
        message="--name 'a\\\\nb': use letters",
    ),
    _not_regular("fifo", fifo("x.pt2"), "is a named pipe \\(FIFO\\)"),
    _not_regular("folder", _folder, "is a folder"),
    _not_regular(
        "dev_zero", link("x.pt2", "/dev/zero"), "is a device \\(character special file\\)"
    ),
]

if not os.path.exists("/etc/passwd"):  # pragma: no cover - every Unix has it
    CASES = [c for c in CASES if c.name != "archive_trace_passwd"]
