"""A ``.pt2`` archive's bytes, read as data: the zip's directory bounded before it is parsed,
its members bounded before they are read, and only the program (``models/model.json``) read.

``torch.export.load`` is never called on an archive: it unpickles weights stored as pickles
without a weights-only restriction, evaluates symbolic sizes with ``sympy.sympify`` and reads
every member whole (torch's own documentation says never to load an untrusted one). netspec
needs only the program's structure, so it reads the JSON program and nothing else: the
weights (raw bytes or pickles), the sample inputs (a pickle) and the constants stay unread.

Bounds, each checked before what it bounds is read:

- the archive is a regular file, opened without blocking (a FIFO or a device is refused by
  :func:`os.stat` first, and again by :func:`os.fstat` once open);
- the zip's end record says how many members and how large a directory it has: at most
  :data:`MAX_MEMBERS` members and :data:`MAX_DIRECTORY` bytes of directory;
- every member's declared size: at most :data:`MAX_RATIO` times its compressed size (past
  :data:`RATIO_FLOOR`), all of them together at most :data:`MAX_TOTAL`;
- the members read: the program at most :data:`MAX_PROGRAM` bytes, the format tag at most
  64, both stored or deflated, never encrypted, and read no further than those bounds
  whatever the zip says;
- the program's JSON at most :data:`MAX_CONTAINERS` lists and objects before it is parsed
  (its parsed form then stays within about 350 MB, whatever it holds).
"""

from __future__ import annotations

import functools
import json
import os
import zipfile
from typing import Any

from ..errors import Diagnostic, NetspecError
from ..files import open_data
from ..zip_bounds import (
    ZIP_ERRORS,
    Bounds,
    ZipProblem,
    check_end_record,
    check_members,
    first_line,
    member_name,
    read_member,
)

#: members in an archive (a weight is one member; the largest torchvision model has ~1,000)
MAX_MEMBERS = 50_000
#: bytes of the zip's central directory (about 120 bytes a member)
MAX_DIRECTORY = 8 * 1024 * 1024
#: the program's JSON (about 3 KB an operator: MobileNetV3's is 0.45 MB, 11,000 operators fit)
MAX_PROGRAM = 32 * 1024 * 1024
#: the lists and objects in it (about 50 an operator), counted before it is parsed: ``[],``
#: is 3 bytes of JSON and 64 of Python, so the bytes alone do not bound the memory
MAX_CONTAINERS = 2_000_000
#: how much larger than its compressed bytes a member may say it is (deflate reaches ~1,000)
MAX_RATIO = 100
#: members this small are not held to the ratio (a short text compresses well)
RATIO_FLOOR = 1024 * 1024
#: the declared sizes of all members together (the weights are never read, only counted)
MAX_TOTAL = 64 * 1024**3

#: the members netspec reads, below the archive's top folder, and the most bytes of each
FORMAT = "archive_format"
PROGRAM = "models/model.json"
_READ = {FORMAT: 64, PROGRAM: MAX_PROGRAM}

_HINT = "netspec imports archives written by torch.export.save"
_NOT_PT2 = "not a torch.export archive: "
_BOUNDS = Bounds(MAX_MEMBERS, MAX_DIRECTORY, MAX_RATIO, RATIO_FLOOR, MAX_TOTAL, "archive")


class ArchiveError(NetspecError):
    """An archive that cannot be read (its file, its zip, its program)."""

    def __init__(self, shown: str, message: str, hint: str = _HINT) -> None:
        super().__init__([Diagnostic(shown, message, hint)])


def read_program(path: str | os.PathLike[str], shown: str) -> Any:
    """The program of the archive at ``path`` (``shown`` in messages), as parsed JSON.

    >>> read_program("missing.pt2", "missing.pt2")
    Traceback (most recent call last):
    ...
    netspec.importing.archive.ArchiveError: missing.pt2: error: no such file
    hint: check the path
    """
    special = "name the .pt2 file that torch.export.save wrote"
    error = functools.partial(ArchiveError, shown)
    with open_data(path, error, "an archive file", special) as file:
        try:
            check_end_record(file, os.fstat(file.fileno()).st_size, _BOUNDS)
            with zipfile.ZipFile(file) as archive:
                top = _top(check_members(archive, _BOUNDS), shown)
                tag = _read(archive, top + FORMAT, shown)
                if tag.strip() != b"pt2":
                    raise ArchiveError(shown, f"{_NOT_PT2}{top}{FORMAT} is not pt2")
                data = _read(archive, top + PROGRAM, shown)
        except ZipProblem as e:
            raise ArchiveError(shown, f"{_NOT_PT2}{e}" if e.malformed else str(e)) from e
        except ZIP_ERRORS as e:  # the boundary around zipfile reading untrusted bytes
            raise ArchiveError(shown, f"{_NOT_PT2}{first_line(e)}") from e
        except OSError as e:
            raise ArchiveError(shown, f"cannot read the archive: {e.strerror or e}", "") from e
    return _parse(data, shown, top + PROGRAM)


def _top(infos: list[zipfile.ZipInfo], shown: str) -> str:
    """The archive's top folder (``model/``)."""
    if not infos:
        raise ArchiveError(shown, f"{_NOT_PT2}the zip is empty")
    return infos[0].filename.split("/")[0] + "/"


def _read(archive: zipfile.ZipFile, name: str, shown: str) -> bytes:
    """A member's bytes, no more than its bound whatever its header says."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ArchiveError(shown, f"{_NOT_PT2}it has no {member_name(name)}") from None
    return read_member(archive, info, _READ[name.split("/", 1)[1]])


def _parse(data: bytes, shown: str, name: str) -> Any:
    where = f"member {member_name(name)}"
    containers = data.count(b"[") + data.count(b"{")
    if containers > MAX_CONTAINERS:
        raise ArchiveError(
            shown,
            f"{where} has {containers:,} lists and objects; the limit is {MAX_CONTAINERS:,}",
        )
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as e:
        raise ArchiveError(
            shown, f"{where} is not UTF-8 text ({e.reason} at byte {e.start})"
        ) from e
    except RecursionError as e:
        raise ArchiveError(shown, f"{where} nests its JSON too deeply") from e
    except ValueError as e:  # JSONDecodeError, or an integer of thousands of digits
        raise ArchiveError(shown, f"{where} is not valid JSON: {first_line(e)}") from e


def _no_constant(word: str) -> Any:
    """Refuse the ``NaN`` and ``Infinity`` that Python's json reads and JSON has not: torch
    writes its programs with ``allow_nan=False`` (a non-finite float as a string), so a bare one
    is made by hand, and would reach a layer as an option no spec can hold."""
    raise ValueError(f"{word} is no JSON number (torch writes none)")
