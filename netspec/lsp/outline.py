"""Where the cursor is in a spec being typed: the path of keys and list indexes down to it,
read from indentation and brackets alone (the text is often not valid YAML meanwhile).

:func:`read` reads a text's lines, as far as a position, into an :class:`Outline`: every key
and list item written, with its path and (for a scalar) its value, and the :class:`Place` at
the position. It follows YAML's block structure (a key's children are indented deeper; a
list's items may sit at their key's column) and its flow collections (``{out: 4, ker``,
``[skip, up]``, on one line or continued on deeper ones). It never fails: what it cannot
read, it skips; and it reads at most :data:`MAX_LINES` lines of :data:`MAX_LINE_CHARS`
characters, :data:`MAX_NODES` nodes, :data:`MAX_DEPTH` levels deep.

Example::

    outline = read(["layers:", "  - relu", "  - conv: {out: 4, ker"], (2, 22))
    outline.place   # Place(path=('layers', 1, 'conv'), role='key', word='ker', written=('out',))
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..source import PathKey

#: What is read of a text: completion answers in the editor's loop, so its cost is bounded.
MAX_LINES = 10_000
MAX_LINE_CHARS = 10_000
MAX_NODES = 100_000
MAX_DEPTH = 100

#: the cursor is on a mapping's key, on a key's value, or on a list's item
KEY, VALUE, ITEM = "key", "value", "item"

#: ``key:`` at the start of what remains of a line (a colon then a space, or the line's end)
_KEY = re.compile(
    r"""("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{}\[\],:-][^#]*?|-[^\s#]*?)\s*:(?:\s+|$)"""
)


@dataclass(slots=True)
class Written:
    """A key or list item as written: its path, where it starts, and its scalar value."""

    path: PathKey
    line: int
    col: int
    value: str | None = None


@dataclass(frozen=True)
class Place:
    """What the cursor is on: the path of the node it is in, and whether it types a key of
    that mapping, the value at ``path``, or the list item at ``path`` (``word``: the part
    typed so far; ``written``: the mapping's keys already there)."""

    path: PathKey
    role: str
    word: str = ""
    written: tuple[str, ...] = ()


@dataclass
class Outline:
    nodes: list[Written] = field(default_factory=list)
    place: Place | None = None


@dataclass
class _Frame:
    """A node of the block structure: a key or a list item, at a column."""

    col: int
    item: bool
    path: PathKey
    index: int = 0
    keys: list[str] = field(default_factory=list)


@dataclass
class _Open:
    """An open flow collection: ``{`` (a mapping) or ``[`` (a list)."""

    path: PathKey
    mapping: bool
    index: int = 0
    key: str | None = None  # the key whose value comes next, in a mapping
    keys: list[str] = field(default_factory=list)


def read(lines: Sequence[str], stop: tuple[int, int] | None = None) -> Outline:
    """The outline of ``lines``, as far as ``stop`` (line, column), with the place there."""
    reader = _Reader()
    last = len(lines) if stop is None else min(stop[0] + 1, len(lines))
    for n in range(min(last, MAX_LINES)):
        text = lines[n][: stop[1]] if stop is not None and n == stop[0] else lines[n]
        if len(text) > MAX_LINE_CHARS or len(reader.outline.nodes) > MAX_NODES:
            break
        reader.line(n, text, stop is not None and n == stop[0])
    return reader.outline


class _Reader:
    def __init__(self) -> None:
        self.outline = Outline()
        self.stack = [_Frame(-1, False, ())]
        self.flow: list[_Open] = []
        self.flow_indent = 0  # the indent of the line that opened the flow collection
        self.scalar_indent: int | None = None  # a block scalar (``|``) owned at this column
        self.n = 0
        self.last = False

    def line(self, n: int, text: str, last: bool) -> None:
        self.n, self.last = n, last
        indent = len(text) - len(text.lstrip(" "))
        blank = not text.strip()
        if self.scalar_indent is not None:
            if blank or indent > self.scalar_indent:
                return
            self.scalar_indent = None
        if self.flow:
            if blank or indent > self.flow_indent:
                self.in_flow(text, indent)
                return
            self.flow = []
        if blank or text.lstrip().startswith("#") or text.strip() in ("---", "..."):
            if last and blank:  # a new line, indented: a key of the mapping there
                parent = self.parent(len(text), item=False)
                self.outline.place = Place(parent.path, KEY, "", tuple(parent.keys))
            return
        self.block(text, indent)

    def block(self, text: str, pos: int) -> None:
        """A line of block structure: ``- `` items, then a key, then a value."""
        first = True
        while True:
            rest = text[pos:]
            if rest.startswith("-") and (len(rest) == 1 or rest[1] in " \t"):
                frame = self.push(pos, None, first)
                first = False
                pos += 1 + len(rest[1:]) - len(rest[1:].lstrip())
                if pos >= len(text) and self.last:
                    self.outline.place = Place(frame.path, ITEM)
                if pos >= len(text):
                    return
                continue
            key = _KEY.match(text, pos)
            if key is not None and len(self.stack) < MAX_DEPTH:
                frame = self.push(pos, _unquote(key.group(1)), first)
                self.value(text, key.end(), frame, VALUE)
                return
            if not first:  # the value of the item before it
                self.value(text, pos, self.stack[-1], ITEM)
            elif self.last:  # a key being typed (no colon yet)
                parent = self.parent(pos, item=False)
                self.outline.place = Place(parent.path, KEY, rest.strip(), tuple(parent.keys))
            return

    def value(self, text: str, pos: int, frame: _Frame, role: str) -> None:
        """What follows a key's colon or an item's dash: a scalar, a flow collection, a
        block scalar (``|``), or nothing (the node's children follow on deeper lines)."""
        stripped = _uncomment(text[pos:]).strip()
        if stripped[:1] in ("{", "["):
            last = frame.path[-1] if frame.path else ""
            holder = _Open(frame.path[:-1], not frame.item)  # stands for the node that holds it
            if isinstance(last, int) and frame.item:
                holder.index = last
            else:
                holder.key = str(last)
            self.flow = [holder]
            self.flow_indent = len(text) - len(text.lstrip(" "))
            self.in_flow(text, pos)
            return
        if stripped[:1] in ("|", ">"):
            self.scalar_indent = frame.col
            return
        if stripped:
            self._set_value(_unquote(stripped))
        if self.last:
            self.outline.place = Place(frame.path, role, stripped)

    def push(self, col: int, key: str | None, first: bool) -> _Frame:
        if first:
            parent, index = self.pop_to(col, item=key is None)
        else:
            parent, index = self.stack[-1], 0
        path: PathKey = (*parent.path, index if key is None else key)
        if key is not None:
            parent.keys.append(key)
        frame = _Frame(col, key is None, path, index)
        self.stack.append(frame)
        self.outline.nodes.append(Written(path, self.n, col))
        return frame

    def pop_to(self, col: int, item: bool) -> tuple[_Frame, int]:
        """Close the nodes a new node at ``col`` ends: its parent, and its index as an item."""
        index = 0
        while len(self.stack) > 1:
            top = self.stack[-1]
            if top.col > col or (top.col == col and top.item and not item):
                self.stack.pop()  # deeper, or the items under a key at this column
                continue
            if top.col == col and top.item == item:
                if item:
                    index = top.index + 1
                self.stack.pop()  # a sibling
                continue
            break  # shallower, or (an item at a key's column) the key that holds the list
        return self.stack[-1], index

    def parent(self, col: int, item: bool) -> _Frame:
        """The node a new node at ``col`` would be in (the stack is left as it is)."""
        for frame in reversed(self.stack):
            if frame.col < col or (frame.col == col and item and not frame.item):
                return frame
        return self.stack[0]

    def _set_value(self, value: str) -> None:
        nodes = self.outline.nodes
        if nodes:
            nodes[-1].value = value

    def in_flow(self, text: str, pos: int) -> None:
        """Read a flow collection's text from ``pos``: ``{a: 1, b: [x, y]}``."""
        stack, word, i = self.flow, "", pos
        while i < len(text):
            char = text[i]
            if char in " \t":
                i += 1
                continue
            if (char == "#" and text[i - 1 : i] in ("", " ", "\t")) or (
                len(stack) == 1 and char not in "{["
            ):
                break  # a comment, or what follows the closed collection
            word = ""
            top = stack[-1]
            if char in "{[":
                if len(stack) > MAX_DEPTH:
                    self.flow = []
                    return
                stack.append(_Open(_slot(top), char == "{"))
                i += 1
            elif char in "}]":
                stack.pop()
                i += 1
            elif char == ",":
                top.key = None
                top.index += 1
                i += 1
            else:
                value, end = _scalar(text, i)
                word = self.flow_scalar(top, value, text, i, end)
                i = end + 1 if word == "" and text[end : end + 1] == ":" else end
        if len(stack) <= 1:  # closed: back to block structure
            self.flow = []
            return
        if self.last:
            self.outline.place = _flow_place(stack[-1], word if i >= len(text) else "")

    def flow_scalar(self, top: _Open, value: str, text: str, start: int, end: int) -> str:
        """Record a scalar read in a flow collection; "" for a key, complete with its colon."""
        if top.mapping and top.key is None:
            if text[end : end + 1] == ":":
                top.key = value
                top.keys.append(value)
                self.outline.nodes.append(Written((*top.path, value), self.n, start))
                return ""
            return value  # a key being typed
        if top.mapping:
            self._set_flow_value((*top.path, str(top.key)), value)
        else:
            self.outline.nodes.append(Written((*top.path, top.index), self.n, start, value))
        return value

    def _set_flow_value(self, path: PathKey, value: str) -> None:
        nodes = self.outline.nodes
        if nodes and nodes[-1].path == path:
            nodes[-1].value = value


def _slot(top: _Open) -> PathKey:
    """The path of a collection opening in ``top``'s next value or item."""
    if top.mapping:
        return (*top.path, top.key if top.key is not None else "")
    return (*top.path, top.index)


def _flow_place(top: _Open, word: str) -> Place:
    if top.mapping and top.key is None:
        return Place(top.path, KEY, word, tuple(top.keys))
    if top.mapping:
        return Place((*top.path, str(top.key)), VALUE, word)
    return Place((*top.path, top.index), ITEM, word)


_PLAIN_END = re.compile(r"[,\[\]{}:#$]")


def _scalar(text: str, i: int) -> tuple[str, int]:
    """A scalar in a flow collection from ``i``: its value, and where it ends."""
    if text[i] in "\"'":
        quote, j = text[i], i + 1
        while j < len(text) and text[j] != quote:
            j += 2 if text[j] == "\\" and quote == '"' else 1
        return text[i + 1 : j], min(j + 1, len(text))
    j = i
    while True:
        found = _PLAIN_END.search(text, j)
        if found is None:
            j = len(text)
            break
        j = found.start()
        char = text[j]
        if char == "$" and text.startswith("${", j):
            j = _after_expression(text, j + 1)
            continue
        if char in ",[]{}" or (char == ":" and (j + 1 == len(text) or text[j + 1] in " ,]}")):
            break
        if char == "#" and text[j - 1] in " \t":
            break
        j += 1
    return text[i:j].strip(), j


def _after_expression(text: str, j: int) -> int:
    """Where the ``{...}`` of a ``${...}`` starting at ``j`` ends (its braces balanced)."""
    depth = 0
    while j < len(text):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        j += 1
        if depth == 0:
            break
    return j


def _unquote(word: str) -> str:
    word = word.strip()
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'":
        return word[1:-1]
    return word


def _uncomment(text: str) -> str:
    """The text before a comment (a ``#`` at the start or after a space, outside quotes)."""
    if "#" not in text:
        return text
    quote = ""
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i]
    return text
