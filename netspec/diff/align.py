"""Which layer of one network is which layer of the other.

Layers are matched level by level, down the two module trees. Among the children of two
matched layers, those with a name of their own (not a position) match by name, wherever they
stand. The others are aligned as sequences on their structure first: a layer's kind and block
and the structure of what is inside it, with a run of copies counted as one (a repeat of two
blocks is a repeat of three at another depth), never its options or names. Two lists of one
structure pair by position, so that a change of scale or width is every layer changed in
place (n's second conv is not s's first because both have 32 channels); so do two lists of
as many layers where a few differ in structure (a layer put for another is one edit, like an
insertion: :mod:`netspec.diff.sequence`). A layer inserted into a list is one insertion and
the layers after it, their index shifted, are the same layers moved. Options only choose
among alignments as good on structure: which of three convs of one kind is the inserted one.
Where a run of layers was replaced by another, layers of one kind pair up (a changed
option); a layer that only changed its place (reordered) pairs with its twin. Two layers of
one structure that swapped places read as both changed in place, as a change of width does:
the structure cannot tell them apart, and names can (``name:``).

Example::

    found = align(a.checked, b.checked, own, alike)
    for old, new, holder in found.pairs:  # None where a layer was added, or removed
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ..ir import Checked
from .sequence import opcodes, rising, slide

__all__ = ["Alignment", "Keys", "align", "keys", "match", "opcodes", "reordered"]

Pair = tuple[Checked | None, Checked | None]

#: how much more a pair that is the same throughout counts than one option that agrees
_SAME = 1000


@dataclass(slots=True)
class Keys:
    """What one network's layers are, each by ``id``: ``full`` everything but names and
    shapes (equal for layers that read as one in the file), ``structure`` kinds and blocks
    only, with a run of copies counted once."""

    full: dict[int, int] = field(default_factory=dict)
    structure: dict[int, int] = field(default_factory=dict)


def keys(root: Checked, own: Callable[[Checked], Hashable]) -> Keys:
    """The :class:`Keys` of every layer under ``root``; ``own`` says what a layer is apart
    from its name, its shapes and what is inside it."""
    found = Keys()
    full, structure = found.full, found.structure
    for c in reversed(root.walk()):  # the children before the layer that holds them
        node, key = c.node, id(c)
        if c.children:
            inside = [id(k) for k in c.children]
            full[key] = hash((own(c), tuple([full[k] for k in inside])))
            runs = _runs([structure[k] for k in inside])
            structure[key] = hash((node.kind.name, node.label, runs))
        else:
            full[key] = hash((own(c), ()))
            structure[key] = hash((node.kind.name, node.label, ()))
    return found


def _runs(values: list[int]) -> tuple[int, ...]:
    """``values`` with each run of equal ones counted once."""
    return tuple([v for k, v in enumerate(values) if not k or values[k - 1] != v])


class Alignment(NamedTuple):
    """What :func:`align` finds: the pairs (x of a, y of b, None where one side lacks it)
    each with the layer of b that holds it (None for the roots), and the layers of b (by
    ``id``) whose pair stands elsewhere among its siblings (two layers swapped), with their
    places in a and in b."""

    pairs: list[tuple[Checked | None, Checked | None, Checked | None]]
    places: dict[int, tuple[int, int]]


def align(
    a: Checked,
    b: Checked,
    own: Callable[[Checked], Hashable],
    alike: Callable[[Checked, Checked], int],
) -> Alignment:
    """Every pair of matched layers (the roots first, then in b's order, each before the
    layers inside it), and the layers only one side has, inside none of those. ``own`` says
    what a layer is apart from its name, shapes and layers; ``alike``, how alike two layers
    of one kind are (the options they share), where only that tells which is which."""
    ka, kb = keys(a, own), keys(b, own)
    found = Alignment([], {})
    stack: list[tuple[Checked | None, Checked | None, Checked | None]] = [(a, b, None)]
    sides = _Sides(ka, kb, alike)
    while stack:
        x, y, holder = stack.pop()
        found.pairs.append((x, y, holder))
        if x is not None and y is not None:
            if _alongside(x.children, y.children, ka, kb):
                pairs: list[Pair] = list(zip(x.children, y.children, strict=True))
            else:
                pairs = match(x.children, y.children, sides)
                found.places.update(reordered(x.children, y.children, pairs))
            stack.extend((px, py, y) for px, py in reversed(pairs))
    return found


def _alongside(xs: Sequence[Checked], ys: Sequence[Checked], ka: Keys, kb: Keys) -> bool:
    """Two lists of one structure and the same names, each layer at its place: they pair by
    position (what :func:`match` finds for them, found at once)."""
    return len(xs) == len(ys) and all(
        x.node.name == y.node.name and ka.structure[id(x)] == kb.structure[id(y)]
        for x, y in zip(xs, ys, strict=True)
    )


@dataclass(frozen=True, slots=True)
class _Sides:
    """The keys of both networks, and how alike two of their layers are."""

    a: Keys
    b: Keys
    options: Callable[[Checked, Checked], int]

    def alike(self, x: Checked, y: Checked) -> int:
        """The options x (of a) and y (of b) share, and far more where they are the same
        throughout."""
        same = _SAME if self.a.full[id(x)] == self.b.full[id(y)] else 0
        return same + self.options(x, y)


def reordered(
    xs: Sequence[Checked], ys: Sequence[Checked], pairs: list[Pair]
) -> dict[int, tuple[int, int]]:
    """The pairs out of order: all but a longest run whose places in a rise with b's."""
    place_x = {id(x): i for i, x in enumerate(xs)}
    place_y = {id(y): j for j, y in enumerate(ys)}
    both = [(place_x[id(x)], place_y[id(y)], id(y)) for x, y in pairs if x and y]
    keep = {both[k][2] for k in rising([i for i, _, _ in both])}
    return {key: (i, j) for i, j, key in both if key not in keep}


def match(xs: Sequence[Checked], ys: Sequence[Checked], sides: _Sides) -> list[Pair]:
    """The children of two matched layers, paired (by name, by sequence, by kind, as twins)."""
    if not xs or not ys:
        return [(x, None) for x in xs] + [(None, y) for y in ys]
    pairs: dict[int, int] = {}
    names = {y.node.name: j for j, y in enumerate(ys) if not y.node.name.isdigit()}
    for i, x in enumerate(xs):
        j = names.get(x.node.name, -1) if not x.node.name.isdigit() else -1
        if j >= 0:
            pairs[i] = j
    rest_x = [i for i in range(len(xs)) if i not in pairs]
    taken = set(pairs.values())
    rest_y = [j for j in range(len(ys)) if j not in taken]
    cx, cy = [xs[i] for i in rest_x], [ys[j] for j in rest_y]
    for i, j in _in_sequence(cx, cy, sides).items():
        pairs[rest_x[i]] = rest_y[j]
    full_x, full_y = sides.a.full, sides.b.full
    _twins(pairs, rest_x, rest_y, [full_x[id(x)] for x in cx], [full_y[id(y)] for y in cy])
    return _ordered(xs, ys, pairs)


def _in_sequence(cx: Sequence[Checked], cy: Sequence[Checked], sides: _Sides) -> dict[int, int]:
    """Two lists of layers aligned on their structure, the runs only one side has placed
    where the layers they leave are most alike; a run replaced by another pairs by kind."""

    def alike(i: int, j: int) -> int:
        return sides.alike(cx[i], cy[j])

    sx = [sides.a.structure[id(c)] for c in cx]
    sy = [sides.b.structure[id(c)] for c in cy]
    pairs: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in slide(opcodes(sx, sy), sx, sy, alike):
        if tag == "equal":
            pairs.update(zip(range(i1, i2), range(j1, j2), strict=True))
        elif tag == "replace":
            pairs.update(_by_kind(cx, cy, (i1, i2, j1, j2), alike))
    return pairs


def _by_kind(
    cx: Sequence[Checked],
    cy: Sequence[Checked],
    span: tuple[int, int, int, int],
    alike: Callable[[int, int], int],
) -> dict[int, int]:
    """A replaced run: layers of the same kind (and block) pair up in order, then what is left
    pairs by position where both sides have as many."""
    i0, i_end, j0, j_end = span
    kx = [(c.node.kind.name, c.node.label) for c in cx[i0:i_end]]
    ky = [(c.node.kind.name, c.node.label) for c in cy[j0:j_end]]
    pairs: dict[int, int] = {}
    ops = slide(opcodes(kx, ky, put=False), kx, ky, lambda i, j: alike(i + i0, j + j0))
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            pairs.update(zip(range(i0 + i1, i0 + i2), range(j0 + j1, j0 + j2), strict=True))
    return pairs


def _twins(
    pairs: dict[int, int], rest_x: list[int], rest_y: list[int], kx: list[int], ky: list[int]
) -> None:
    """Layers left on both sides that read the same: one layer, reordered."""
    taken = set(pairs.values())
    waiting: dict[int, list[int]] = {}  # each key's layers of b, the last first
    for j, key in zip(reversed(rest_y), reversed(ky), strict=True):
        if j not in taken:
            waiting.setdefault(key, []).append(j)
    for i, key in zip(rest_x, kx, strict=True):
        if i not in pairs and waiting.get(key):
            pairs[i] = waiting[key].pop()


def _ordered(xs: Sequence[Checked], ys: Sequence[Checked], pairs: dict[int, int]) -> list[Pair]:
    """The pairs in b's order, each layer only a has placed before the first pair that
    comes after it in a."""
    back = {j: i for i, j in pairs.items()}
    removed = [i for i in range(len(xs)) if i not in pairs]
    out: list[Pair] = []
    r = 0
    for j, y in enumerate(ys):
        i = back.get(j)
        if i is not None:
            while r < len(removed) and removed[r] < i:
                out.append((xs[removed[r]], None))
                r += 1
        out.append((None if i is None else xs[i], y))
    out.extend((xs[i], None) for i in removed[r:])
    return out
