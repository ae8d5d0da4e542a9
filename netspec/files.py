"""Writing output files atomically: they appear complete or not at all.

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
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import NetspecError

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
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=real.suffix, dir=real.parent)
    except OSError as e:
        raise _unwritable(shown, e) from e
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        _refuse_special(shown, real)  # again: something may have been put there meanwhile
        os.replace(tmp, real)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise _unwritable(shown, e) from e
        raise


def _refuse_special(shown: str, real: Path) -> None:
    """A NetspecError if ``real`` exists and is not a regular file (it is never replaced)."""
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(real).st_mode
        if not stat.S_ISREG(mode):
            raise NetspecError.plain(
                shown,
                f"cannot write: it is {kind_of(mode)}, not a regular file",
                "choose a file name; netspec replaces only regular files",
            )


def _unwritable(shown: str, e: OSError) -> NetspecError:
    reason, hint = _WRITE_REASONS.get(e.errno or 0, (e.strerror or str(e), ""))
    kept = "an existing file is left as it was"
    return NetspecError.plain(shown, f"cannot write: {reason}", f"{hint}; {kept}" if hint else kept)


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
