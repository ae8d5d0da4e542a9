"""Where each node of a spec's YAML starts and ends, to find what the cursor is on.

netspec's :class:`~netspec.source.Document` keeps where each node starts (for messages); an
editor also needs where it ends. Positions here are 0-based lines and columns counted in
characters (code points); :mod:`netspec.lsp.positions` converts them to the protocol's.

Example::

    spans = spans_of("layers:\\n  - conv: {out: 8}\\n")
    spans.at(1, 14)          # Hit(path=('layers', 0, 'conv', 'out'), on_key=False, ...)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..source import PathKey

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: 0-based (start line, start column, end line, end column), the end exclusive
Range = tuple[int, int, int, int]


@dataclass(frozen=True)
class Span:
    """One node: its path in the data, the range of its key (in a mapping) and of its value."""

    path: PathKey
    key: Range | None
    value: Range
    #: the scalar's text, for a scalar (``conv``, ``${out * 2}``); None for a collection
    scalar: str | None = None


@dataclass(frozen=True)
class Hit:
    """What a position is on: a node, and whether on its key rather than its value."""

    span: Span
    on_key: bool

    @property
    def path(self) -> PathKey:
        return self.span.path


@dataclass
class Spans:
    """Every node of one text, in document order."""

    items: list[Span] = field(default_factory=list)

    def at(self, line: int, col: int) -> Hit | None:
        """The deepest node whose key or value holds the position (its key where both do)."""
        best: Hit | None = None
        for span in self.items:
            for on_key, where in ((True, span.key), (False, span.value)):
                if where is None or not _inside(where, line, col):
                    continue
                if best is None or (len(span.path), on_key) > (len(best.path), best.on_key):
                    best = Hit(span, on_key)
        return best

    def find(self, path: PathKey) -> Span | None:
        for span in self.items:
            if span.path == path:
                return span
        return None

    def starting(self, line: int, col: int) -> Range | None:
        """The range of the key or one-line value that starts at a position, for underlining."""
        for span in self.items:
            if span.key is not None and span.key[:2] == (line, col):
                return span.key
        for span in self.items:
            if span.value[:2] == (line, col) and span.value[2] == line:
                return span.value
        return None


def _inside(where: Range, line: int, col: int) -> bool:
    return (where[0], where[1]) <= (line, col) <= (where[2], where[3])


def spans_of(text: str) -> Spans:
    """The spans of a text's YAML; empty where it does not parse (the diagnostics say why).

    Only call it on text netspec has parsed (its node and depth limits held): an alias is
    walked once, not once per use.
    """
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return Spans()
    spans = Spans()
    if node is not None:
        _walk(node, (), None, spans, set())
    return spans


def _range(node: yaml.Node) -> Range:
    start, end = node.start_mark, node.end_mark
    return (start.line, start.column, end.line, end.column)


def _walk(node: yaml.Node, path: PathKey, key: Range | None, spans: Spans, seen: set[int]) -> None:
    if id(node) in seen:  # an alias: its node is walked where it was written
        return
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        spans.items.append(Span(path, key, _range(node), str(node.value)))
        return
    spans.items.append(Span(path, key, _range(node)))
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), None, spans, seen)
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                _walk(value_node, (*path, str(key_node.value)), _range(key_node), spans, seen)
