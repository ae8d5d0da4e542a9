"""The checks of an output file, made before any work: ``-o`` must be writable, and never the
spec, a file it imports or the source of code netspec runs (exit 2)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ..files import output_problem, shorten
from .usage import Misuse, _shown


def _output(text: str | None) -> Path | None:
    """The -o path, refused before any work if it cannot be written (exit 2).

    An output is a regular file, a link to one, or a new name in an existing folder: never a
    device (``-o /dev/null`` would replace the device node), a pipe or a folder.
    """
    if text is None:
        return None
    path = Path(text)
    problem = output_problem(path)
    if problem == "is a folder":
        raise Misuse(f"-o {text} is a folder; give a file name")
    if problem == "its folder does not exist":
        raise Misuse(f"-o {text}: the folder {path.parent} does not exist")
    if problem:
        raise Misuse(f"-o {shorten(text)}: {_refusal(problem)}")
    return path


def _refusal(problem: str) -> str:
    """An output problem as the end of a usage error."""
    if problem.startswith("is "):  # something that is not a file: never replaced
        return f"{problem}; netspec replaces only regular files, give a file name"
    return problem


def _refuse_overwriting_spec(output: Path, spec: Any) -> None:
    """Misuse if ``output`` cannot be written, or is a file the spec reads (itself, an import)
    or code netspec runs (a plugin)."""
    from ..imports import imported_files

    problem = output_problem(output)
    if problem:
        raise Misuse(f"{shorten(str(output))}: {_refusal(problem)}")
    _refuse_overwriting_code(output)
    source = spec.document.location or Path(spec.document.file)
    if _same_file(output, source):
        raise Misuse(f"{output} is the spec itself; choose another output file")
    for imported in imported_files(spec.document):
        if _same_file(output, imported):
            raise Misuse(f"{output} is a file the spec imports; choose another output file")


def _refuse_overwriting_code(output: Path) -> None:
    """Misuse if ``output`` is the source of a module this process has loaded: a plugin
    (named with --plugin or installed), or anything it imports."""
    try:
        mine = os.stat(output)
    except OSError:  # nothing there yet: no module's file
        return
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str):
            continue
        try:
            found = os.stat(file)
        except OSError:
            continue
        if (found.st_dev, found.st_ino) == (mine.st_dev, mine.st_ino):
            raise Misuse(
                f"{_shown(shorten(str(output)))} is the source of {_shown(module.__name__)} "
                f"({_shown(file)}), which netspec runs; choose another output file"
            )


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one existing file (through links, hard links included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (or cannot be looked at): nothing to spare
        return False
