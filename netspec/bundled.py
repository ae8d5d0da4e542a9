"""The specs that ship with netspec, reachable by name (``netspec build nin``)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .errors import did_you_mean
from .files import Unreadable

_HERE = Path(__file__).resolve().parent


def bundled_dir() -> Path:
    """Where the bundled specs are: inside an installed wheel, or the repository's ``specs/``."""
    installed = _HERE / "_bundled_specs"
    return installed if installed.is_dir() else _HERE.parent / "specs"


def bundled_names() -> list[str]:
    """The names of the bundled specs; those in a subfolder are ``folder/name``.

    >>> "torchvision/resnet50" in bundled_names()
    True
    """
    folder = bundled_dir()
    if not folder.is_dir():
        return []
    specs = [*folder.glob("*.yaml"), *folder.glob("*/*.yaml")]
    return sorted(p.relative_to(folder).with_suffix("").as_posix() for p in specs)


def locate(path_or_name: str | Path) -> tuple[Path, str]:
    """The file to read for a path or bundled name, and how to show it in messages."""
    text = str(path_or_name)
    candidate = Path(text)
    if os.path.exists(text) or "\\" in text or candidate.suffix in (".yaml", ".yml"):
        return candidate, text
    if text in bundled_names():  # never a path of the user's: no "..", no absolute paths
        bundled = bundled_dir() / f"{text}.yaml"
        return bundled, _shown(bundled)
    return candidate, text


def locate_named(path_or_name: str | Path) -> tuple[Path, str]:
    """As :func:`locate`, for the command line and :func:`netspec.load`, where a word that is
    neither a file nor a bundled spec (``netspec check resnett``) is most likely a mistyped name:
    :class:`Unreadable`, naming the closest bundled spec. A path (``x.yaml``, ``a\\b``) is left
    to the reader's own message, as is a name that exists in some form (a dangling link, an
    unreadable folder).
    """
    path, display = locate(path_or_name)
    text = str(path_or_name)
    if path.suffix in (".yaml", ".yml") or "\\" in text or text in bundled_names():
        return path, display
    try:
        os.lstat(text)
    except OSError as e:
        if e.errno == errno.ENOENT:
            hint = did_you_mean(text, bundled_names(), "bundled specs")
            raise Unreadable(text, "no such file or bundled spec", hint, missing=True) from e
    return path, display


def _shown(path: Path) -> str:
    """A path as messages show it: relative to the working directory when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
