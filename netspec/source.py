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

PathKey = tuple[str | int, ...]

#: Limits that keep hostile files cheap to reject (documented in docs/language.md).
MAX_NODES = 50_000
MAX_DEPTH = 200

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
_constructor = yaml.SafeLoader.__new__(yaml.SafeLoader)  # only its pure scalar converters are used
yaml.constructor.SafeConstructor.__init__(_constructor)


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
    node = _compose(doc)
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "null"):
        raise NetspecError.plain(
            file, "file is empty", "a spec needs at least `name:` and `layers:`"
        )
    doc.data = _plain(doc, node)
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
    node = _compose(doc)
    return None if node is None else _plain(doc, node)


def _compose(doc: Document) -> yaml.Node | None:
    """The YAML tree of ``doc``'s text, within the limits (counted before anything is built:
    an alias bomb or a flat flood stops there)."""
    try:
        _count_nodes(doc)
        node: yaml.Node | None = yaml.compose(doc.text, Loader=_Loader)
        return node
    except yaml.MarkedYAMLError as e:
        raise NetspecError([_yaml_diagnostic(doc, e)]) from e
    except yaml.reader.ReaderError as e:
        raise NetspecError([_reader_diagnostic(doc, e)]) from e
    except yaml.YAMLError as e:
        raise NetspecError.plain(doc.file, f"YAML syntax: {e}") from e
    except RecursionError as e:
        raise NetspecError.plain(
            doc.file, "YAML nesting is too deep", f"specs are limited to {MAX_DEPTH} levels"
        ) from e


def _plain(doc: Document, node: yaml.Node) -> Any:
    """The plain data of a YAML tree; every tag or merge key in it is an error."""
    converter = _Converter(doc)
    value = converter.convert(node, ())
    if converter.errors:
        raise NetspecError(converter.errors)
    return value


def _count_nodes(doc: Document) -> None:
    """Count the file's YAML nodes as the parser meets them, aliases expanded, and refuse the
    file at the first node past :data:`MAX_NODES` or :data:`MAX_DEPTH`.

    Only events stream through here, so memory stays that of the text however many nodes
    the file would build; the tree is composed only for a file within the limits.
    """
    count = 0
    sizes: dict[str, int] = {}  # an anchor → the nodes it stands for
    open_: list[tuple[str | None, int]] = []  # open collections: anchor, count at the start
    for event in yaml.parse(doc.text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            count += sizes.get(event.anchor or "", 1)
        elif isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            count += 1
            if isinstance(event, yaml.CollectionStartEvent):
                open_.append((event.anchor, count - 1))
                if len(open_) > MAX_DEPTH:
                    raise _limit(doc, event, "YAML nesting is too deep", DEPTH_HINT)
            elif event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionEndEvent) and open_:
            anchor, start = open_.pop()
            if anchor is not None:
                sizes[anchor] = count - start
        if count > MAX_NODES:
            raise _limit(doc, event, NODES_MESSAGE, NODES_HINT)


NODES_MESSAGE = f"the file expands to more than {MAX_NODES:,} YAML nodes"
NODES_HINT = (
    "a spec needs far fewer; an alias bomb looks like this: write the data out plainly, "
    "and use repeat for depth"
)
DEPTH_HINT = f"specs are limited to {MAX_DEPTH} levels"


def _limit(doc: Document, event: yaml.Event, message: str, hint: str) -> NetspecError:
    mark = event.start_mark
    pos = Pos(mark.line + 1, mark.column + 1) if mark is not None else None
    return NetspecError([doc.diagnostic((), message, hint, pos=pos)])


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
        problem, hint = "nesting is too deep", f"specs are limited to {MAX_DEPTH} levels"
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


class _Converter:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.count = 0
        self.errors: list[Diagnostic] = []

    def _error(self, node: yaml.Node, message: str, hint: str) -> None:
        pos = Pos(node.start_mark.line + 1, node.start_mark.column + 1)
        self.errors.append(self.doc.diagnostic((), message, hint, pos=pos))

    def convert(self, node: yaml.Node, path: PathKey, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            if self.count == MAX_NODES + 1:
                self._error(node, NODES_MESSAGE, NODES_HINT)
            return None
        if depth > MAX_DEPTH:
            if not self.errors:
                self._error(
                    node, "YAML nesting is too deep", f"specs are limited to {MAX_DEPTH} levels"
                )
            return None
        self.doc.values[path] = Pos(node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _TAG + "seq":
                self._error(node, f"YAML tag {node.tag!r} is not allowed", _TAG_HINT)
                return None
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.MappingNode)  # compose yields only these three
        if node.tag != _TAG + "map":
            self._error(node, f"YAML tag {node.tag!r} is not allowed", _TAG_HINT)
            return None
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                self._error(
                    key_node,
                    "YAML merge keys (<<) are not supported",
                    "write the keys out, or use a block",
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._error(
                    key_node, "a mapping key must be a plain word", "use a name such as `out`"
                )
                continue
            key = key_node.value
            if key in out:
                self._error(
                    key_node, f'duplicate key "{key}"', "each key may appear once per mapping"
                )
                continue
            self.doc.keys[(*path, key)] = Pos(
                key_node.start_mark.line + 1, key_node.start_mark.column + 1
            )
            out[key] = self.convert(value_node, (*path, key), depth + 1)
        return out

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag == _TAG + "timestamp":
            return node.value  # a date-like word is kept as the text that was written
        if tag not in _SCALAR_TAGS:
            self._error(node, f"YAML tag {tag!r} is not allowed", _TAG_HINT)
            return None
        if tag == _TAG + "str":
            return node.value
        if tag == _TAG + "int" and len(node.value) > 40:
            self._error(
                node, "integer literal is too long", "numbers in a spec have at most 40 digits"
            )
            return None
        return _constructor.yaml_constructors[tag](_constructor, node)


_TAG_HINT = "a spec holds plain data only: remove the tag (values starting with ! or !!)"
