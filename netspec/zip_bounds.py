"""A zip file's directory and members bounded before :mod:`zipfile` reads them.

:mod:`zipfile` trusts the numbers a zip writes about itself: its end record's count of members
and size of directory, each member's declared size. A small hostile file can announce millions
of members, or a member that inflates to gigabytes (a zip bomb). These checks read those numbers
first, from where :mod:`zipfile` reads them, and refuse what is out of :class:`Bounds`; a member
is then read no further than its bound, whatever its header says.

A problem is a :class:`ZipProblem` (a message, and whether the bytes are no good zip at all
rather than one out of bounds): the reader that called turns it into its own error, naming its
file and what it expected the file to be. Messages call the zip by :attr:`Bounds.noun`.

Example::

    with open(path, "rb") as file:
        check_end_record(file, os.fstat(file.fileno()).st_size, BOUNDS)
        with zipfile.ZipFile(file) as archive:
            infos = check_members(archive, BOUNDS)
            data = read_member(archive, infos[0], 1024)
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from typing import BinaryIO, NamedTuple

from .errors import printable
from .files import shorten


class Bounds(NamedTuple):
    """What a zip may hold: members, bytes of directory, how much larger than its compressed
    bytes a member may say it is (past ``ratio_floor``), and all members' declared sizes; and
    what messages call it (``the archive has 60,000 members``)."""

    members: int
    directory: int
    ratio: int
    ratio_floor: int
    total: int
    noun: str = "zip"


class ZipProblem(Exception):
    """A zip out of bounds or unreadable; the message says which, without the file's name.
    ``malformed``: the bytes are not a well-formed zip (no end record, a misplaced zip64
    record), as opposed to a zip that holds too much."""

    def __init__(self, message: str, *, malformed: bool = False) -> None:
        super().__init__(message)
        self.malformed = malformed


#: what can go wrong inside :mod:`zipfile` and :mod:`zlib` on bytes that are not a good zip
ZIP_ERRORS = (
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


def check_end_record(file: BinaryIO, size: int, bounds: Bounds, *, head_seen: bool = False) -> None:
    """Refuse a zip whose end record announces too many members or too large a directory,
    before :mod:`zipfile` reads the directory into memory (it trusts those numbers).

    The numbers are read from where zipfile reads them (``zipfile._EndRecData`` and
    ``_EndRecData64``): the end record is the last 22 bytes when they hold one with no comment,
    else the last signature in the final 64 KiB; a zip64 record is the 56 bytes right before the
    zip64 locator, whatever offset the locator names. A zip whose locator names another place
    is refused: reading the record there would check other numbers than zipfile uses.
    ``head_seen``: the caller saw the file begin as a zip does, so one without an end record
    was likely cut short (the message says so).
    """
    tail_start = max(size - 65536 - 22, 0)
    file.seek(tail_start)
    tail = file.read()
    if tail[-22:-18] == b"PK\x05\x06" and tail[-2:] == b"\0\0":
        at = len(tail) - 22
    else:
        at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        cut = ": cut short?" if head_seen else ""
        raise ZipProblem(f"not a zip file (no end record{cut})", malformed=True)
    count, directory = struct.unpack("<HI", tail[at + 10 : at + 16])
    end = tail_start + at  # where the end record starts in the file
    if end >= 76:
        file.seek(end - 20)
        locator = file.read(20)
        if locator[:4] == b"PK\x06\x07":  # zip64: the real numbers
            (offset,) = struct.unpack("<Q", locator[8:16])
            file.seek(end - 76)
            record = file.read(56)
            if record[:4] == b"PK\x06\x06":
                if offset != end - 76:
                    raise ZipProblem(
                        f"its zip64 locator names a record at byte {offset:,}, not the one "
                        f"before it at byte {end - 76:,}",
                        malformed=True,
                    )
                count, directory = struct.unpack("<QQ", record[32:48])
    if count > bounds.members:
        raise ZipProblem(
            f"the {bounds.noun} has {count:,} members; the limit is {bounds.members:,}"
        )
    if directory > bounds.directory:
        raise ZipProblem(
            f"the {bounds.noun}'s directory is {directory:,} bytes; "
            f"the limit is {bounds.directory:,}"
        )


def check_members(archive: zipfile.ZipFile, bounds: Bounds) -> list[zipfile.ZipInfo]:
    """The zip's members, once their count, names (each once) and declared sizes (each, and
    all together) are within ``bounds``."""
    infos = archive.infolist()
    if len(infos) > bounds.members:
        raise ZipProblem(
            f"the {bounds.noun} has {len(infos):,} members; the limit is {bounds.members:,}"
        )
    names: set[str] = set()
    total = 0
    for info in infos:
        where = f"member {member_name(info.filename)}"
        if info.filename in names:
            raise ZipProblem(f"{where} is in the {bounds.noun} twice")
        names.add(info.filename)
        if info.file_size > max(bounds.ratio_floor, bounds.ratio * info.compress_size):
            raise ZipProblem(
                f"{where} says it is {info.file_size:,} bytes, compressed to "
                f"{info.compress_size:,}: more than {bounds.ratio} times (a zip bomb?)"
            )
        total += info.file_size
    if total > bounds.total:
        raise ZipProblem(
            f"the {bounds.noun}'s members total {total:,} bytes; the limit is {bounds.total:,}"
        )
    return infos


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, no more than ``limit`` whatever its header says; stored or deflated,
    never encrypted."""
    where = f"member {member_name(info.filename)}"
    if info.flag_bits & 0x1:
        raise ZipProblem(f"{where} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ZipProblem(f"{where} is compressed with method {info.compress_type}")
    if info.file_size > limit:
        raise ZipProblem(f"{where} is {info.file_size:,} bytes; the limit is {limit:,}")
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise ZipProblem(f"{where} is larger than {limit:,} bytes")
    return data


def member_name(name: str) -> str:
    """A member's name as messages show it: escaped, a long one cut."""
    return shorten(printable(name))


def first_line(e: BaseException) -> str:
    """The first line of an exception's text, escaped and cut, for a message."""
    text = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return shorten(printable(text))
