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

import contextlib
import json
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from ..errors import Diagnostic, NetspecError, printable
from ..files import READ_REASONS, kind_of, open_regular, shorten

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

#: what can go wrong inside :mod:`zipfile` and :mod:`zlib` on bytes that are not a good zip
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    zlib.error,
    struct.error,
    OverflowError,
)


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
    with _opened(path, shown) as file:
        size = os.fstat(file.fileno()).st_size
        _check_end_record(file, size, shown)
        try:
            with zipfile.ZipFile(file) as archive:
                top = _check_members(archive, shown)
                tag = _read(archive, top + FORMAT, shown)
                if tag.strip() != b"pt2":
                    raise ArchiveError(
                        shown, f"not a torch.export archive: {top}{FORMAT} is not pt2"
                    )
                data = _read(archive, top + PROGRAM, shown)
        except _ZIP_ERRORS as e:  # the boundary around zipfile reading untrusted bytes
            raise ArchiveError(shown, f"not a torch.export archive: {_first_line(e)}") from e
        except OSError as e:
            raise ArchiveError(shown, f"cannot read the archive: {e.strerror or e}", "") from e
    return _parse(data, shown, top + PROGRAM)


@contextlib.contextmanager
def _opened(path: str | os.PathLike[str], shown: str) -> Iterator[BinaryIO]:
    """``path`` open for reading, if it is a regular file (nothing else is opened)."""
    try:
        with open_regular(path, lambda mode: _refuse_special(shown, mode)) as fd:
            file = os.fdopen(os.dup(fd), "rb")
    except OSError as e:
        reason = READ_REASONS.get(e.errno or 0, (e.strerror or str(e), ""))
        raise ArchiveError(shown, *reason) from e
    with file:
        yield file


def _refuse_special(shown: str, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise ArchiveError(
            shown,
            f"is {kind_of(mode)}, not an archive file",
            "name the .pt2 file that torch.export.save wrote",
        )


def _check_end_record(file: BinaryIO, size: int, shown: str) -> None:
    """Refuse a zip whose end record announces too many members or too large a directory,
    before :mod:`zipfile` reads the directory into memory (it trusts those numbers).

    The numbers are read from where zipfile reads them (``zipfile._EndRecData`` and
    ``_EndRecData64``): the end record is the last 22 bytes when they hold one with no comment,
    else the last signature in the final 64 KiB; a zip64 record is the 56 bytes right before the
    zip64 locator, whatever offset the locator names. A zip whose locator names another place
    is refused: reading the record there would check other numbers than zipfile uses.
    """
    tail_start = max(size - 65536 - 22, 0)
    file.seek(tail_start)
    tail = file.read()
    if tail[-22:-18] == b"PK\x05\x06" and tail[-2:] == b"\0\0":
        at = len(tail) - 22
    else:
        at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise ArchiveError(shown, "not a torch.export archive: not a zip file (no end record)")
    count, directory = struct.unpack("<HI", tail[at + 10 : at + 16])
    end = tail_start + at  # where the end record starts in the file
    if end >= 20:
        file.seek(end - 20)
        locator = file.read(20)
        if locator[:4] == b"PK\x06\x07" and end >= 76:  # zip64: the real numbers
            (offset,) = struct.unpack("<Q", locator[8:16])
            file.seek(end - 76)
            record = file.read(56)
            if record[:4] == b"PK\x06\x06":
                if offset != end - 76:
                    raise ArchiveError(
                        shown,
                        "not a torch.export archive: its zip64 locator names a record at "
                        f"byte {offset:,}, not the one before it at byte {end - 76:,}",
                    )
                count, directory = struct.unpack("<QQ", record[32:48])
    if count > MAX_MEMBERS:
        raise ArchiveError(
            shown, f"the archive has {count:,} members; the limit is {MAX_MEMBERS:,}"
        )
    if directory > MAX_DIRECTORY:
        raise ArchiveError(
            shown,
            f"the archive's directory is {directory:,} bytes; the limit is {MAX_DIRECTORY:,}",
        )


def _check_members(archive: zipfile.ZipFile, shown: str) -> str:
    """The archive's top folder (``model/``), once every member's declared size is within
    bounds and names are unique."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ArchiveError(
            shown, f"the archive has {len(infos):,} members; the limit is {MAX_MEMBERS:,}"
        )
    if not infos:
        raise ArchiveError(shown, "not a torch.export archive: the zip is empty")
    top = infos[0].filename.split("/")[0] + "/"
    names: set[str] = set()
    total = 0
    for info in infos:
        where = f"member {_member(info.filename)}"
        if info.filename in names:
            raise ArchiveError(shown, f"{where} is in the archive twice")
        names.add(info.filename)
        if info.file_size > max(RATIO_FLOOR, MAX_RATIO * info.compress_size):
            raise ArchiveError(
                shown,
                f"{where} says it is {info.file_size:,} bytes, compressed to "
                f"{info.compress_size:,}: more than {MAX_RATIO} times (a zip bomb?)",
            )
        total += info.file_size
    if total > MAX_TOTAL:
        raise ArchiveError(
            shown, f"the archive's members total {total:,} bytes; the limit is {MAX_TOTAL:,}"
        )
    return top


def _read(archive: zipfile.ZipFile, name: str, shown: str) -> bytes:
    """A member's bytes, no more than its bound whatever its header says."""
    limit = _READ[name.split("/", 1)[1]]
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ArchiveError(
            shown, f"not a torch.export archive: it has no {_member(name)}"
        ) from None
    where = f"member {_member(name)}"
    if info.flag_bits & 0x1:
        raise ArchiveError(shown, f"{where} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveError(shown, f"{where} is compressed with method {info.compress_type}")
    if info.file_size > limit:
        raise ArchiveError(shown, f"{where} is {info.file_size:,} bytes; the limit is {limit:,}")
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise ArchiveError(shown, f"{where} is larger than {limit:,} bytes")
    return data


def _parse(data: bytes, shown: str, name: str) -> Any:
    where = f"member {_member(name)}"
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
        raise ArchiveError(shown, f"{where} is not valid JSON: {_first_line(e)}") from e


def _no_constant(word: str) -> Any:
    """Refuse the ``NaN`` and ``Infinity`` that Python's json reads and JSON has not: torch
    writes its programs with ``allow_nan=False`` (a non-finite float as a string), so a bare one
    is made by hand, and would reach a layer as an option no spec can hold."""
    raise ValueError(f"{word} is no JSON number (torch writes none)")


def _member(name: str) -> str:
    return shorten(printable(name))


def _first_line(e: BaseException) -> str:
    text = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return shorten(printable(text))
