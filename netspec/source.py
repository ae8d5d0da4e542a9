"""Reading a spec file: safe YAML in, plain data out, with the position of every node.

Only plain data is accepted: strings, numbers, booleans, null, lists and mappings. Tags
(``!!python/object``, ``!custom``), merge keys and duplicate keys are errors, so nothing in a
file can construct an object, let alone run code.

Example::

    doc = read_source("specs/nin.yaml")
    doc.data["layers"][0]           # plain Python data
    doc.pos(("layers", 0))          # Pos(line=12, col=5)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Diagnostic, NetspecError, Pos
from .files import read_spec_bytes
from .gcpause import paused_gc
from .plain_yaml import Limit, Plain, read_plain

PathKey = tuple[str | int, ...]

#: Limits that keep hostile files cheap to reject (documented in docs/language.md).
MAX_NODES = 50_000
MAX_DEPTH = 200


@dataclass
class Document:
    """A parsed spec file: its data and where each piece of it was written."""

    file: str
    text: str
    data: Any
    values: dict[PathKey, Pos] = field(default_factory=dict)
    keys: dict[PathKey, Pos] = field(default_factory=dict)
    #: the file on disk, where there is one (relative imports start from its folder)
    location: Path | None = None
    _lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    def pos(self, path: PathKey, *, key: bool = False) -> Pos | None:
        """The position of the value at ``path`` (of its key with ``key=True``).

        Falls back to the nearest enclosing node that has one.
        """
        if key and path in self.keys:
            return self.keys[path]
        while True:
            if path in self.values:
                return self.values[path]
            if not path:
                return None
            path = path[:-1]

    def source_line(self, pos: Pos | None) -> str:
        if pos is None or not 0 < pos.line <= len(self.lines):
            return ""
        return self.lines[pos.line - 1]

    def diagnostic(
        self,
        path: PathKey,
        message: str,
        hint: str = "",
        *,
        key: bool = False,
        notes: tuple[str, ...] = (),
        pos: Pos | None = None,
        severity: str = "error",
    ) -> Diagnostic:
        where = pos or self.pos(path, key=key)
        return Diagnostic(
            file=self.file,
            message=message,
            hint=hint,
            pos=where,
            source_line=self.source_line(where),
            notes=notes,
            severity=severity,
        )

    def expression_pos(self, path: PathKey, index: int) -> Pos | None:
        """The position of the ``index``-th ``${`` inside the string value at ``path``."""
        start = self.pos(path)
        line = self.source_line(start)
        if start is None or not line:
            return start
        col, seen = start.col - 1, -1
        while seen < index:
            found = line.find("${", col)
            if found < 0:
                return start
            col = found + 2
            if found == 0 or line[found - 1] != "$":  # $${ is a literal, not an expression
                seen += 1
        return Pos(start.line, col - 1)


def read_source(path: str | os.PathLike[str], display: str | None = None) -> Document:
    """Read and parse a spec file (see :func:`parse_source`); :class:`Unreadable` if it cannot
    be read.

    The file is read by :func:`netspec.files.read_spec_bytes`: a regular file only, no
    further than :data:`~netspec.files.MAX_FILE_BYTES`, however it changes meanwhile.

    Example::

        read_source("/dev/zero")  # Unreadable: is a device (character special file), ...
    """
    name = display or str(path)
    doc = parse_source(read_spec_bytes(path, name), name)
    doc.location = Path(os.path.realpath(path))
    return doc


def parse_source(raw: bytes | str, file: str = "<string>") -> Document:
    """Parse spec text into a :class:`Document`, rejecting anything but plain YAML data."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = raw[: e.start].count(b"\n") + 1
            col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
            raise NetspecError(
                [
                    Diagnostic(
                        file,
                        f"file is not UTF-8 text (byte 0x{raw[e.start]:02x})",
                        "save the file as UTF-8",
                        Pos(line, col),
                    )
                ]
            ) from e
    else:
        text = raw.removeprefix("\ufeff")
    if not text.strip():
        raise NetspecError.plain(
            file, "file is empty", "a spec needs at least `name:` and `layers:`"
        )
    doc = Document(file=file, text=text, data=None)
    plain = _read(doc)
    if plain.data is None and not plain.problems:  # no document, or only a null
        raise NetspecError.plain(
            file, "file is empty", "a spec needs at least `name:` and `layers:`"
        )
    doc.data = _data(doc, plain)
    if not isinstance(doc.data, dict):
        raise NetspecError(
            [
                doc.diagnostic(
                    (),
                    f"a spec must be a mapping of keys, got {a_type(doc.data)}",
                    "start with `name: my_net`, then `input:` and `layers:`",
                )
            ]
        )
    return doc


def parse_value(text: str, file: str = "<string>") -> Any:
    """Parse one YAML value (a command line's ``--set width=[1, 2]``) as plain data, within the
    limits of a spec file: an alias bomb there is refused as it is in a file.

    >>> parse_value("[1, 2.5, x]")
    [1, 2.5, 'x']
    """
    doc = Document(file=file, text=text, data=None)
    return _data(doc, _read(doc))


def _read(doc: Document) -> Plain:
    """The plain data of ``doc``'s text, within the limits (each node counted as the parser
    meets it: an alias bomb or a flat flood stops at the first node past them), with the
    positions of its values and keys recorded in ``doc``."""
    try:
        with paused_gc():  # plain data holds no cycles
            plain = read_plain(doc.text, MAX_NODES, MAX_DEPTH)
    except Limit as e:
        message, hint = (
            (NODES_MESSAGE, NODES_HINT) if e.what == "nodes" else (DEPTH_MESSAGE, DEPTH_HINT)
        )
        raise NetspecError([doc.diagnostic((), message, hint, pos=e.pos)]) from None
    except yaml.MarkedYAMLError as e:
        raise NetspecError([_yaml_diagnostic(doc, e)]) from e
    except yaml.reader.ReaderError as e:
        raise NetspecError([_reader_diagnostic(doc, e)]) from e
    except yaml.YAMLError as e:
        raise NetspecError.plain(doc.file, f"YAML syntax: {e}") from e
    doc.values, doc.keys = plain.values, plain.keys
    return plain


def _data(doc: Document, plain: Plain) -> Any:
    """The data, where it is all plain (no tag, merge key, or key written twice)."""
    if plain.problems:
        raise NetspecError(
            [doc.diagnostic((), p.message, p.hint, pos=p.pos) for p in plain.problems]
        )
    return plain.data


NODES_MESSAGE = f"the file expands to more than {MAX_NODES:,} YAML nodes"
NODES_HINT = (
    "a spec needs far fewer; an alias bomb looks like this: write the data out plainly, "
    "and use repeat for depth"
)
DEPTH_MESSAGE = "YAML nesting is too deep"
DEPTH_HINT = f"specs are limited to {MAX_DEPTH} levels"


def _reader_diagnostic(doc: Document, e: yaml.reader.ReaderError) -> Diagnostic:
    """A character YAML refuses (a NUL byte, a control character), at its line and column."""
    before = doc.text[: e.position]
    line = before.count("\n") + 1
    col = e.position - (before.rfind("\n") + 1) + 1
    return doc.diagnostic(
        (),
        f"the file holds a control character (#x{e.character:04x}), which YAML does not allow",
        'remove it (a spec is plain text); to write one in a value, quote it as "\\x00"',
        pos=Pos(line, col),
    )


def _yaml_diagnostic(doc: Document, e: yaml.MarkedYAMLError) -> Diagnostic:
    problem = e.problem or e.context or "invalid YAML"
    hint = "fix the YAML syntax here (check indentation, colons, quotes and brackets)"
    if "expected a single document" in str(e.context or ""):
        problem, hint = "several YAML documents in one file", "keep one spec per file"
    if "nesting depth" in problem:
        problem, hint = "nesting is too deep", DEPTH_HINT
    marks = [m for m in (e.problem_mark, e.context_mark) if m is not None]
    # a problem found at the end of the file is better shown where the open construct began
    usable = [m for m in marks if m.line < len(doc.lines)] or marks
    pos = Pos(usable[0].line + 1, usable[0].column + 1) if usable else None
    notes: tuple[str, ...] = ()
    if e.context and e.context_mark is not None and e.problem:
        where = f"{e.context_mark.line + 1}:{e.context_mark.column + 1}"
        notes = (f"{e.context} that starts at {where}",)
    return doc.diagnostic((), f"YAML syntax: {problem}", hint, pos=pos, notes=notes)


def show(value: Any) -> str:
    """A value as YAML writes it, for messages: ``true``, ``null``, ``'text'``, ``[1, 2]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def a_type(value: Any) -> str:
    """``"an integer"``, ``"a list"``: the type word with its article."""
    word = type_name(value)
    return ("an " if word[0] in "aeiou" else "a ") + word


def type_name(value: Any) -> str:
    """The YAML word for a value's type, as used in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__
