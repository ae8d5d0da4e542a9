"""Plain data from YAML text, built in one pass over the parser's events.

libyaml's parser hands over events (a scalar, the start or end of a list or a mapping, an
alias); the values are built from them directly, with the line and column of every value and
key, and no tree of nodes between. Every node is counted as it is met, an alias by the size of
what it repeats, so a file past the limits (an alias bomb, a flood of small values, nesting
too deep) is refused at the first node past them, before more is built. Anything that is not
plain data (a tag, a merge key, a key that is not a word, a key written twice) is a
:class:`Problem`; the data is only good when there are none.

Nothing here knows specs: :mod:`netspec.source` turns problems and limits into diagnostics.

Example::

    plain = read_plain("a: [1, 2]\\n", max_nodes=100, max_depth=10)
    plain.data, plain.values[("a", 1)]     # {'a': [1, 2]}, Pos(line=1, col=8)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import Pos

PathKey = tuple[str | int, ...]

LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {TAG + t for t in ("str", "int", "float", "bool", "null")}
_MERGE = TAG + "merge"
_TIMESTAMP = TAG + "timestamp"
_constructor = yaml.SafeLoader.__new__(yaml.SafeLoader)  # only its pure scalar converters are used
yaml.constructor.SafeConstructor.__init__(_constructor)
TAG_HINT = "a spec holds plain data only: remove the tag (values starting with ! or !!)"


class Limit(Exception):
    """The text goes past a limit at ``pos``: ``what`` is ``"nodes"`` or ``"depth"``."""

    def __init__(self, what: str, pos: Pos) -> None:
        super().__init__(what, pos)
        self.what = what
        self.pos = pos


@dataclass(frozen=True, slots=True)
class Problem:
    """Something in the text that is not plain data, where it was written."""

    message: str
    hint: str
    pos: Pos


@dataclass(slots=True)
class Plain:
    """What the text holds: its data (``present`` is false for text without a document), where
    each value and each mapping key was written, and what is not plain data."""

    data: Any = None
    present: bool = False
    values: dict[PathKey, Pos] = field(default_factory=dict)
    keys: dict[PathKey, Pos] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def read_plain(text: str, max_nodes: int, max_depth: int) -> Plain:
    """The plain data of YAML ``text``; :class:`Limit` past ``max_nodes`` nodes (aliases
    counted by what they repeat) or ``max_depth`` levels, and ``yaml.YAMLError`` for text that
    is not YAML."""
    builder = _Builder(max_nodes, max_depth)
    for event in yaml.parse(text, Loader=LOADER):
        builder.take(event)
    return builder.plain


@dataclass(slots=True)
class _Open:
    """A list or mapping being built. ``value`` is None where it is not kept (its own tag is
    refused, or it sits where a refused key's value goes): nothing under it is recorded."""

    value: list[Any] | dict[str, Any] | None
    path: PathKey | None  # where it goes; None: nowhere (not kept by its holder)
    anchor: str | None
    count: int  # the nodes counted before it
    log: int  # the positions logged before it
    is_map: bool
    is_key: bool  # a collection written as a mapping key: refused, and not the key's value
    key: str | None = None  # a mapping's key waiting for its value; None: the value is dropped
    want_key: bool = True


@dataclass(frozen=True, slots=True)
class _Anchor:
    """What an alias repeats: the value, its path and span of logged positions, its size in
    nodes, and for a scalar its text and tag (an alias may be a mapping key)."""

    value: Any
    path: PathKey | None
    log: tuple[int, int]
    size: int
    mark: Any
    text: str | None = None
    tag: str | None = None
    problem: Problem | None = None
    pos: Pos | None = None  # a scalar's: where an alias of it as a key stands


class _Builder:
    def __init__(self, max_nodes: int, max_depth: int) -> None:
        self.plain = Plain()
        self.max_nodes, self.max_depth = max_nodes, max_depth
        self.count = 0
        self.stack: list[_Open] = []
        #: every position recorded, in order, as (is a key, path, where): what an alias repeats
        self.log: list[tuple[bool, PathKey, Pos]] = []
        self.anchors: dict[str, _Anchor] = {}
        self.opened: dict[str, Any] = {}  # anchors of collections not yet closed: their marks
        self.tags: dict[tuple[str, tuple[bool, bool]], str] = {}
        self.scalars: dict[tuple[str, str], Any] = {}
        self.resolver = yaml.resolver.Resolver()
        self.documents = 0
        self.document: Any = None  # where the first document's data starts

    def take(self, event: yaml.Event) -> None:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            self.scalar(event)  # type: ignore[arg-type]
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            self.start(event)  # type: ignore[arg-type]
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            self.end()
        elif kind is yaml.AliasEvent:
            self.alias(event)  # type: ignore[arg-type]
        elif kind is yaml.DocumentStartEvent:
            self.documents += 1
            if self.documents > 1:
                raise yaml.composer.ComposerError(
                    "expected a single document in the stream",
                    self.document,
                    "but found another document",
                    event.start_mark,  # type: ignore[arg-type]  # libyaml's Mark reads alike
                )

    # what each event does

    def scalar(self, event: yaml.ScalarEvent) -> None:
        pos = self.counted(event, 1)
        tag = self.tag(event)
        value, problem = self.scalar_value(event.value, tag, pos)
        top = self.stack[-1] if self.stack else None
        path: PathKey | None = None
        if top is not None and top.is_map and top.want_key:
            self.take_key(top, event.value, tag, pos)
        else:
            path = self.slot()
            if path is not None and problem is not None:
                self.plain.problems.append(problem)
            self.note(path, pos)
            self.place(path, value)
        if event.anchor is not None:
            self.refuse_duplicate(event.anchor, event.start_mark)
            span = (len(self.log) - 1, len(self.log)) if path is not None else (0, 0)
            self.anchors[event.anchor] = _Anchor(
                value, path, span, 1, event.start_mark, event.value, tag, problem, pos
            )

    def start(self, event: yaml.CollectionStartEvent) -> None:
        pos = self.counted(event, 1)
        if len(self.stack) >= self.max_depth:
            raise Limit("depth", pos)
        if event.anchor is not None:
            self.refuse_duplicate(event.anchor, event.start_mark)
            self.opened[event.anchor] = event.start_mark
        top = self.stack[-1] if self.stack else None
        is_map = isinstance(event, yaml.MappingStartEvent)
        is_key = top is not None and top.is_map and top.want_key
        if is_key:
            assert top is not None
            self.take_key(top, None, None, pos)
        path = None if is_key else self.slot()
        self.note(path, pos)
        value: list[Any] | dict[str, Any] | None = None
        if path is not None:
            value = {} if is_map else []
        default = TAG + ("map" if is_map else "seq")
        tag = event.tag if event.tag not in (None, "!") else default
        if path is not None and tag != default:
            self.plain.problems.append(Problem(f"YAML tag {tag!r} is not allowed", TAG_HINT, pos))
            value = None
        log = len(self.log) - (path is not None)  # its own position is the anchor's first
        self.stack.append(_Open(value, path, event.anchor, self.count - 1, log, is_map, is_key))

    def end(self) -> None:
        done = self.stack.pop()
        if done.anchor is not None:
            del self.opened[done.anchor]
            self.anchors[done.anchor] = _Anchor(
                done.value,
                done.path,
                (done.log, len(self.log)),
                self.count - done.count,
                None,
            )
        if not done.is_key:
            self.place(done.path, done.value)

    def alias(self, event: yaml.AliasEvent) -> None:
        name = event.anchor or ""
        anchor = self.anchors.get(name)
        mark: Any = event.start_mark
        pos = Pos(mark.line + 1, mark.column + 1)
        if anchor is None:
            if name in self.opened:  # an alias inside what it names: a loop, endlessly deep
                raise Limit("depth", pos)
            raise yaml.composer.ComposerError(None, None, f"found undefined alias {name!r}", mark)
        self.counted(event, anchor.size)
        top = self.stack[-1] if self.stack else None
        if top is not None and top.is_map and top.want_key:
            self.take_key(top, anchor.text, anchor.tag, anchor.pos or pos)
            return
        path = self.slot()
        if path is not None:
            if anchor.problem is not None:
                self.plain.problems.append(anchor.problem)
            if anchor.path is None:  # a scalar written as a key
                self.note(path, anchor.pos or pos)
            self.repeat(anchor, path)
        self.place(path, _copy(anchor.value))

    # helpers

    def counted(self, event: yaml.Event, nodes: int) -> Pos:
        mark: Any = event.start_mark
        pos = Pos(mark.line + 1, mark.column + 1)
        if self.document is None:
            self.document = mark
        self.count += nodes
        if self.count > self.max_nodes:
            raise Limit("nodes", pos)
        return pos

    def refuse_duplicate(self, name: str, mark: Any) -> None:
        first = self.anchors[name].mark if name in self.anchors else self.opened.get(name)
        if name in self.anchors or name in self.opened:
            raise yaml.composer.ComposerError(
                f"found duplicate anchor {name!r}; first occurrence",
                first,
                "second occurrence",
                mark,
            )

    def tag(self, event: yaml.ScalarEvent) -> str:
        if event.tag not in (None, "!"):
            return str(event.tag)
        key = (event.value, event.implicit)
        found = self.tags.get(key)
        if found is None:
            found = self.tags[key] = self.resolver.resolve(  # type: ignore[no-untyped-call]
                yaml.ScalarNode, event.value, event.implicit
            )
        return found

    def scalar_value(self, text: str, tag: str, pos: Pos) -> tuple[Any, Problem | None]:
        if tag == _TIMESTAMP:
            return text, None  # a date-like word is kept as the text that was written
        if tag not in _SCALAR_TAGS:
            return None, Problem(f"YAML tag {tag!r} is not allowed", TAG_HINT, pos)
        if tag == TAG + "str":
            return text, None
        if tag == TAG + "int" and len(text) > 40:
            hint = "numbers in a spec have at most 40 digits"
            return None, Problem("integer literal is too long", hint, pos)
        key = (tag, text)
        if key not in self.scalars:
            node = yaml.ScalarNode(tag, text)
            self.scalars[key] = _constructor.yaml_constructors[tag](_constructor, node)
        return self.scalars[key], None

    def take_key(self, top: _Open, text: str | None, tag: str | None, pos: Pos) -> None:
        """The next key of the mapping ``top``: a word, or a problem (its value is dropped)."""
        top.want_key, top.key = False, None
        if top.value is None:
            return
        problems = self.plain.problems
        if tag == _MERGE:
            hint = "write the keys out, or use a block"
            problems.append(Problem("YAML merge keys (<<) are not supported", hint, pos))
        elif text is None:
            hint = "use a name such as `out`"
            problems.append(Problem("a mapping key must be a plain word", hint, pos))
        elif text in top.value:
            hint = "each key may appear once per mapping"
            problems.append(Problem(f'duplicate key "{text}"', hint, pos))
        else:
            assert top.path is not None
            top.key = text
            path = (*top.path, text)
            self.plain.keys[path] = pos
            self.log.append((True, path, pos))

    def slot(self) -> PathKey | None:
        """Where the next value goes; None where it is not kept."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if top.value is None or top.path is None:
            return None
        if not top.is_map:
            return (*top.path, len(top.value))
        return None if top.key is None else (*top.path, top.key)

    def note(self, path: PathKey | None, pos: Pos) -> None:
        if path is not None:
            self.plain.values[path] = pos
            self.log.append((False, path, pos))

    def place(self, path: PathKey | None, value: Any) -> None:
        if not self.stack:
            self.plain.data, self.plain.present = value, True
            return
        top = self.stack[-1]
        if top.is_map:
            if path is not None and top.key is not None and isinstance(top.value, dict):
                top.value[top.key] = value
            top.want_key = True
        elif path is not None and isinstance(top.value, list):
            top.value.append(value)

    def repeat(self, anchor: _Anchor, path: PathKey) -> None:
        """The positions under an anchor again, under the alias's ``path`` (an alias stands
        where its anchor was written, as a composed tree shares the node)."""
        start, end = anchor.log
        if anchor.path is None:
            return
        cut = len(anchor.path)
        values, keys = self.plain.values, self.plain.keys
        for is_key, at, pos in self.log[start:end]:
            moved = (*path, *at[cut:])
            (keys if is_key else values)[moved] = pos
            self.log.append((is_key, moved, pos))


def _copy(value: Any) -> Any:
    """A fresh copy of built data (each use of an alias is data of its own)."""
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value
