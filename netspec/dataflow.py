"""Who reads which tensor, and what each part of a checked network reads and makes.

The compiler asks it which tensors a container takes and hands back; the drawer, where each
edge comes from. It reads the checked tree (:mod:`netspec.ir`) only.
"""

from __future__ import annotations

from .ir import Checked, Value


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
