"""The data that flows between the passes: shapes, elaborated nodes, checked nodes.

``elaborate`` turns a file into a tree of :class:`Node` (every expression evaluated, every block
and repeat expanded); ``infer_shapes`` turns that into a tree of :class:`Checked` (shapes,
parameters, MACs); the compiler and the reports read :class:`Checked` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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

    @property
    def display(self) -> str:
        return self.label or self.kind.name


@dataclass(eq=False, slots=True)
class Checked:
    """A node with its input and output shape, parameters and MACs (children included)."""

    node: Node
    path: str
    input: Shape
    output: Shape
    params: int = 0
    macs: int = 0
    buffers: int = 0
    children: list[Checked] = field(default_factory=list)

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
