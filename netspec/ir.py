"""The data that flows between the passes: shapes, elaborated nodes, the checked graph.

``elaborate`` turns a file into a tree of :class:`Node` (every expression evaluated that can
be without shapes, every block and repeat expanded); ``infer_shapes`` walks it in order and
turns it into a tree of :class:`Checked` whose leaves are joined by :class:`Value` edges (the
tensors: each made by one layer, read by any later ones). The tree is the module tree
(``state_dict`` names); the values are the data flow. The compiler and the reports read
:class:`Checked` only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .registry import Kind
    from .schema import Options
    from .source import Document, PathKey


@dataclass(frozen=True, slots=True)
class Shape:
    """A tensor shape without the batch dimension: ``(C, H, W)`` or ``(features,)``."""

    dims: tuple[int, ...]

    @property
    def rank(self) -> int:
        return len(self.dims)

    @property
    def channels(self) -> int:
        return self.dims[0]

    @property
    def spatial(self) -> tuple[int, ...]:
        return self.dims[1:]

    @property
    def numel(self) -> int:
        return math.prod(self.dims)

    def __str__(self) -> str:
        inner = ", ".join(str(d) for d in self.dims)
        return f"({inner},)" if len(self.dims) == 1 else f"({inner})"

    def times(self) -> str:
        """The shape as a paper writes it: ``256×5×5``."""
        return "×".join(str(d) for d in self.dims)


@dataclass(eq=False, slots=True)
class Scope:
    """Where tensor names live: the network, or one call of a block (names do not leak out).

    ``inputs`` are the names the scope's input tensors are bound to; ``outputs`` the names it
    hands back (empty: its last layer's output). ``made`` records, for messages, where each
    name is given by ``to:`` in the file.
    """

    inputs: tuple[str, ...] = ("input",)
    outputs: tuple[str, ...] = ()
    label: str = ""
    made: dict[str, tuple[Document, PathKey]] = field(default_factory=dict)
    #: names only layers left out by a false ``if:`` would have made
    skipped: dict[str, tuple[Document, PathKey]] = field(default_factory=dict)
    #: where ``outputs`` is written (its names at ``(*path, i)`` or ``(*path, name)``)
    declared: tuple[Document, PathKey] | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """Options of a layer that depend on shapes (``channels()``): evaluated by the shape pass.

    ``options`` holds the layer's options with every other value already concrete; ``keys``
    are the options still written as expressions; ``env`` the names they see.
    """

    options: dict[str, Any]
    keys: tuple[str, ...]
    env: Mapping[str, Any]


@dataclass(eq=False, slots=True)
class Node:
    """One layer of the elaborated network, with concrete options and where it came from."""

    kind: Kind
    opts: Options
    name: str
    doc: Document
    path: PathKey
    label: str = ""
    children: list[Node] = field(default_factory=list)
    trace: tuple[str, ...] = ()
    #: output shapes the spec promises (``expect:``), each with where it was written (a block
    #: call's in the calling file, which need not be the file that defines the block)
    expects: list[tuple[tuple[int, ...], PathKey, Document]] = field(default_factory=list)
    #: a sequence made for a list of layers, not written as ``group:``
    implicit: bool = False
    #: the name written in the spec, if any (``name`` may be a position or a copy's index)
    given: str | None = None
    #: the scope whose names ``sources`` and ``targets`` refer to
    scope: Scope | None = None
    #: the named tensors it reads (``from:``); empty: the previous layer's output
    sources: tuple[str, ...] = ()
    #: the names its output(s) get (``to:``)
    targets: tuple[str, ...] = ()
    #: a block call: the scope of the block's layers, which this node opens
    opens: Scope | None = None
    #: an ``if:`` that depends on shapes, decided by the shape pass (raw text, names)
    condition: tuple[str, Mapping[str, Any]] | None = None
    #: options that depend on shapes, evaluated by the shape pass
    pending: Pending | None = None
    #: where its from:, to: and if: are written (a block call's: in the calling file)
    site: tuple[Document, PathKey] | None = None

    @property
    def display(self) -> str:
        return self.label or self.kind.name


@dataclass(eq=False, slots=True)
class Value:
    """A tensor of the network: made by one layer (or an input of the network), read by others.

    ``producer`` is the checked layer that makes it (None for an input of the network) and
    ``index`` which of its outputs it is; ``name`` the name it was given (``to:``), if any.
    """

    shape: Shape
    producer: Checked | None = None
    index: int = 0
    name: str = ""

    def origin(self) -> str:
        """Where the tensor comes from, for messages: ``stage2.0.conv1`` or ``input image``."""
        if self.producer is None:
            return f"input {self.name}" if self.name else "the input"
        return self.producer.path or "the network"

    def where(self) -> str:
        """The layer that makes it and its place in the file: ``layer 0 at net.yaml:4:5``."""
        if self.producer is None:
            return "the network's input" if self.name in ("", "input") else f"input {self.name}"
        node = self.producer.node
        doc, at = node.site or (node.doc, node.path)
        pos = doc.pos(at, key=True)
        line = f" at {doc.file}:{pos.line}:{pos.col}" if pos else ""
        return f"layer {self.producer.path}{line}"


@dataclass(eq=False, slots=True)
class Checked:
    """A node with its input and output shape, parameters and MACs (children included).

    ``input`` and ``output`` are the shapes of its first input and output; ``sources`` are the
    tensors it reads and ``results`` the ones it makes (a merge reads several, a block may hand
    back several).
    """

    node: Node
    path: str
    input: Shape
    output: Shape
    params: int = 0
    macs: int = 0
    buffers: int = 0
    children: list[Checked] = field(default_factory=list)
    sources: list[Value] = field(default_factory=list)
    results: list[Value] = field(default_factory=list)

    @classmethod
    def of(
        cls, node: Node, path: str, input: Shape, output: Shape, children: list[Checked]
    ) -> Checked:
        """A composite node: its parameters, MACs and buffers are its children's."""
        return cls(
            node,
            path,
            input,
            output,
            params=sum(c.params for c in children),
            macs=sum(c.macs for c in children),
            buffers=sum(c.buffers for c in children),
            children=children,
        )

    @property
    def depth(self) -> int:
        """1 for a top-level layer, 2 for one inside it, ... (0 for the network itself)."""
        return self.path.count(".") + 1 if self.path else 0

    def walk(self) -> list[Checked]:
        """This node and all below it, in definition order (iterative: no recursion limit)."""
        out: list[Checked] = []
        stack = [self]
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(reversed(c.children))
        return out

    def child(self, name: str) -> Checked | None:
        for c in self.children:
            if c.node.name == name:
                return c
        return None


class Dataflow:
    """Who reads which tensor, and what each container reads from outside and makes inside.

    A container (group, repeat: kinds whose children the compiler lays out) reads what its
    layers read and do not make themselves; any other layer reads its ``sources``. Compiler
    and drawer both ask it; it walks the tree once, without recursion.
    """

    def __init__(self, root: Checked) -> None:
        #: the paths of the (non-container) layers that read each tensor, by id
        self.readers: dict[int, list[str]] = {}
        self._made: dict[int, set[int]] = {}
        self._inputs: dict[int, list[Value]] = {}
        self.add(root)

    def add(self, root: Checked) -> None:
        """Survey ``root``'s subtree (a kind's inner parts can be surveyed on their own)."""
        order: list[Checked] = []
        stack = [root]
        while stack:
            c = stack.pop()
            order.append(c)
            if c.node.kind.container:
                stack.extend(c.children)
            else:
                for v in c.sources:
                    self.readers.setdefault(id(v), []).append(c.path)
        for c in reversed(order):  # children before their container
            if not c.node.kind.container:
                self._inputs[id(c)] = list(c.sources)
                continue
            made: set[int] = set()
            reads: dict[int, Value] = {}
            for child in c.children:
                for v in self._inputs[id(child)]:
                    if id(v) not in made and id(v) not in reads:
                        reads[id(v)] = v
                made |= self.made(child)
            self._made[id(c)] = made
            self._inputs[id(c)] = list(reads.values())

    def knows(self, c: Checked) -> bool:
        return id(c) in self._inputs

    def inputs(self, c: Checked) -> list[Value]:
        """The tensors ``c`` reads that are made outside it, in the order first read."""
        return self._inputs[id(c)]

    def made(self, c: Checked) -> set[int]:
        """The ids of the tensors made inside ``c`` (its own outputs, for a layer)."""
        found = self._made.get(id(c))
        return found if found is not None else {id(v) for v in c.results}

    def read_outside(self, value: Value, c: Checked) -> bool:
        """Whether a layer outside ``c`` reads ``value``."""
        inside = c.path + "."
        return any(
            r != c.path and not r.startswith(inside) for r in self.readers.get(id(value), [])
        )
