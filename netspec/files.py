"""The file system boundary: spec files read safely, output files written atomically.

A spec (or an import) is read only from a regular file, no further than
:data:`MAX_FILE_BYTES` however the file changes meanwhile; anything else is an
:class:`Unreadable` error that says what the path is.

Outputs appear complete or not at all.

An output is only ever a regular file (or a link to one, which is written through): never a
device, a pipe or a folder. A write that fails (a full disk, a read-only file system, no
permission) leaves the old file as it was and is a :class:`~netspec.errors.NetspecError`
saying why.

Example::

    write_bytes_atomic(Path("net.svg"), data)
    output_problem(Path("/dev/null"))    # "is a device (character special file)"
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from .errors import Diagnostic, NetspecError

#: A spec file may be this large at most (documented in docs/language.md).
MAX_FILE_BYTES = 16 * 1024 * 1024

#: what an existing path that is not a regular file is, for messages
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a device (character special file)"),
    (stat.S_ISBLK, "a device (block special file)"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
)

#: errno → why a file cannot be written, and what to do
_WRITE_REASONS = {
    errno.ENOSPC: ("no space left on the device", "free some space, or write to another folder"),
    errno.EDQUOT: ("the disk quota is used up", "free some space, or write to another folder"),
    errno.EROFS: ("the file system is read-only", "write to another folder"),
    errno.EACCES: ("permission denied", "write to a folder you may write to"),
    errno.EPERM: ("permission denied", "write to a folder you may write to"),
    errno.ENAMETOOLONG: ("the name is too long", "use a shorter name or path"),
    errno.ELOOP: ("a loop of symbolic links", "point the link at a real file"),
    errno.ENOENT: ("its folder does not exist", "create the folder first"),
    errno.ENOTDIR: ("its folder does not exist", "check the path"),
}


def output_problem(target: Path) -> str:
    """Why ``target`` cannot be written as an output, or ``""`` if it can.

    It can when it is a regular file, a link to one, or nothing yet in an existing folder.
    """
    try:
        mode = os.stat(target).st_mode
    except OSError as e:
        if e.errno == errno.ENOENT and os.path.isdir(os.path.dirname(os.path.realpath(target))):
            return ""  # a new file
        return _WRITE_REASONS.get(e.errno or 0, (e.strerror or "cannot be written", ""))[0]
    return "" if stat.S_ISREG(mode) else f"is {kind_of(mode)}"


def kind_of(mode: int) -> str:
    """``"a device (character special file)"``, ``"a folder"``: what a file mode says it is."""
    for test, word in _KINDS:
        if test(mode):
            return word
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces it when the block succeeds.

    On any failure (an interruption included) the temporary file is removed and an existing
    ``target`` is left untouched; an ``OSError`` becomes a :class:`NetspecError` naming it.
    A link is written through: the file it names is replaced, the link stays.
    """
    shown = str(target)
    real = Path(os.path.realpath(target))
    tmp = ""
    try:
        # named before it exists: an interruption (SIGTERM, raised in the main thread whichever
        # thread it reached, so no mask holds it off) may come between any two steps, and what
        # may have been created must always have a name here to be removed by
        for _ in range(100):
            tmp = f"{real.parent}{os.sep}.{real.name}.{secrets.token_hex(6)}{real.suffix}"
            if _created(shown, tmp):
                break
            tmp = ""  # another's file (a 1 in 2^48 chance): never ours to remove
        else:
            raise NetspecError.plain(shown, "cannot write: no free temporary name beside it")
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # created 0600; give the file the usual mode
        _refuse_replacing(shown, real)  # again: something may have been put there meanwhile
        os.replace(tmp, real)
    except BaseException as e:
        left = _remove(tmp) if tmp else ""
        if isinstance(e, OSError):
            raise _unwritable(shown, e, left) from e
        if left and isinstance(e, NetspecError):  # refused after the temporary was made
            raise NetspecError([replace(d, notes=(*d.notes, left)) for d in e.diagnostics]) from e
        raise


def _remove(tmp: str) -> str:
    """Remove the temporary file ``tmp``; ``""`` once it is gone (or was never made), else a
    note naming it. Whatever the file system answers: a read-only one refuses to unlink even a
    name that does not exist (EROFS, not ENOENT)."""
    try:
        os.unlink(tmp)
    except OSError as e:
        if e.errno == errno.ENOENT or not os.path.lexists(tmp):
            return ""
        reason = e.strerror or str(e)
        return f"the temporary file {tmp} could not be removed ({reason}): delete it"
    return ""


def _created(shown: str, name: str) -> bool:
    """Create the empty file ``name`` (False if it exists already)."""
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return False
    except OSError as e:
        raise _unwritable(shown, e) from e
    os.close(fd)
    return True


def _refuse_replacing(shown: str, real: Path) -> None:
    """A NetspecError if ``real`` exists and is not a regular file (it is never replaced)."""
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(real).st_mode
        if not stat.S_ISREG(mode):
            raise NetspecError.plain(
                shown,
                f"cannot write: it is {kind_of(mode)}, not a regular file",
                "choose a file name; netspec replaces only regular files",
            )


def _unwritable(shown: str, e: OSError, left: str = "") -> NetspecError:
    """The error of a write that failed with ``e``; ``left``, a note on a temporary file that
    could not be removed."""
    reason, hint = _WRITE_REASONS.get(e.errno or 0, (e.strerror or str(e), ""))
    kept = "an existing file is left as it was"
    return NetspecError(
        [
            Diagnostic(
                shown,
                f"cannot write: {reason}",
                f"{hint}; {kept}" if hint else kept,
                notes=(left,) if left else (),
            )
        ]
    )


def write_atomic(target: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary_path)``, then move the result onto ``target``."""
    with atomic_path(target) as tmp:
        write(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` so that it appears complete or not at all."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    write_atomic(target, write)


class Unreadable(NetspecError):
    """A file that cannot be read as a spec (missing, a device, too big, ...).

    Its ``reason`` and ``hint`` let an import say the same at the line that names the file.
    """

    def __init__(self, file: str, reason: str, hint: str = "", *, missing: bool = False) -> None:
        super().__init__([Diagnostic(shorten(file), reason, hint)])
        self.reason = reason
        self.hint = hint
        #: whether the file does not exist (an import gives its own hint for that)
        self.missing = missing


def shorten(name: str) -> str:
    """A file name as messages show it: a very long one is cut in the middle."""
    return name if len(name) <= 200 else f"{name[:120]}...{name[-60:]}"


@contextlib.contextmanager
def open_regular(path: str | os.PathLike[str], refuse: Callable[[int], None]) -> Iterator[int]:
    """A descriptor open for reading on ``path``, once ``refuse`` (given the file's mode) has
    let it through: before opening, since opening a FIFO or a device may act or block, and again
    on the open descriptor, since the file may have been swapped meanwhile. OSErrors pass to the
    caller, which says what they mean for its kind of file (:data:`READ_REASONS`).

    Example: ``with open_regular(path, refuse) as fd: data = os.read(fd, 100)``.
    """
    refuse(os.stat(path).st_mode)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        refuse(os.fstat(fd).st_mode)
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def open_data(
    path: str | os.PathLike[str], error: Callable[[str, str], Exception], what: str, hint: str
) -> Iterator[BinaryIO]:
    """``path`` open for reading as a binary file, if it is a regular file (nothing else is
    opened, see :func:`open_regular`); else ``error(message, hint)`` is raised, its message
    saying what the path is instead of ``what`` (``is a folder, not a checkpoint file``, with
    ``hint``) or why it cannot be read (:data:`READ_REASONS`).

    Example::

        with open_data(path, partial(ArchiveError, shown), "an archive file", hint) as file:
            head = file.read(4)
    """

    def refuse(mode: int) -> None:
        if not stat.S_ISREG(mode):
            raise error(f"is {kind_of(mode)}, not {what}", hint)

    try:
        with open_regular(path, refuse) as fd:
            file = os.fdopen(os.dup(fd), "rb")
    except OSError as e:
        raise error(*READ_REASONS.get(e.errno or 0, (e.strerror or str(e), ""))) from e
    with file:
        yield file


def read_spec_bytes(path: str | os.PathLike[str], name: str) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_FILE_BYTES` (``name`` for messages)."""
    try:
        with open_regular(path, lambda mode: _refuse_special(name, mode)) as fd:
            _refuse_size(name, os.fstat(fd).st_size)
            return _read_at_most(fd, name)
    except OSError as e:
        raise _unreadable(name, e) from e


def _read_at_most(fd: int, name: str) -> bytes:
    """Read ``fd`` to its end, refusing it once it passes :data:`MAX_FILE_BYTES`."""
    chunks: list[bytes] = []
    total = 0
    while chunk := os.read(fd, min(MAX_FILE_BYTES + 1 - total, 1024 * 1024)):
        chunks.append(chunk)
        total += len(chunk)
        _refuse_size(name, total, grew=True)  # the size fstat gave is no promise
    return b"".join(chunks)


def _refuse_size(name: str, size: int, *, grew: bool = False) -> None:
    if size > MAX_FILE_BYTES:
        said = "file grew while it was read" if grew else f"file is {size:,} bytes"
        raise Unreadable(
            name,
            f"{said}; specs are limited to {MAX_FILE_BYTES:,}",
            "a spec describes a network in a few hundred lines; use repeat for depth",
        )


_SPECIAL_HINT = "netspec reads specs from regular files; save the spec as a .yaml file"


def _refuse_special(name: str, mode: int) -> None:
    """Unreadable unless ``mode`` is that of a regular file."""
    if stat.S_ISREG(mode):
        return
    hint = "name a .yaml file inside it" if stat.S_ISDIR(mode) else _SPECIAL_HINT
    raise Unreadable(name, f"is {kind_of(mode)}, not a spec file", hint)


#: errno → what it means for a file to read, and what to do (any file netspec reads)
READ_REASONS = {
    errno.ENOENT: ("no such file", "check the path"),
    errno.ENOTDIR: ("no such file (a part of the path is not a folder)", "check the path"),
    errno.ELOOP: ("a loop of symbolic links", "point the link at a real file"),
    errno.ENAMETOOLONG: ("the path is too long", "use a shorter name or path"),
    errno.EACCES: ("permission denied", "make the file readable (chmod a+r FILE)"),
    errno.EPERM: ("permission denied", "make the file readable (chmod a+r FILE)"),
}
#: ... and for a spec
_REASONS = {
    **READ_REASONS,
    errno.ENOENT: ("no such file", "check the path, or run `netspec list`"),
    errno.EISDIR: ("is a folder, not a spec file", "name a .yaml file inside it"),
}


def _unreadable(name: str, e: OSError) -> Unreadable:
    reason, hint = _REASONS.get(e.errno or 0, (f"cannot read file: {e.strerror}", ""))
    return Unreadable(name, reason, hint, missing=e.errno in (errno.ENOENT, errno.ENOTDIR))
