"""Which layer of one network is which layer of the other.

Layers are matched level by level, down the two module trees. Among the children of two
matched layers, those with a name of their own (not a position) match by name, wherever they
stand; the others are aligned as sequences (difflib, on a signature of kind, block, options and
everything inside, names and shapes aside), so that a layer inserted into a list is one
insertion and the layers after it, their index shifted, are the same layers moved. Where a run
of layers was replaced by another, layers of one kind pair up (a changed option); a layer that
only changed its place (reordered) pairs with its twin.

Example::

    for old, new, holder in align(a.checked, b.checked, own).pairs:  # None: added, removed
        ...
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable, Sequence
from difflib import SequenceMatcher
from typing import NamedTuple

from ..ir import Checked

Pair = tuple[Checked | None, Checked | None]
Opcode = tuple[str, int, int, int, int]


def signatures(root: Checked, own: Callable[[Checked], Hashable]) -> dict[int, int]:
    """A hash of each layer (by ``id``) and everything inside it, from ``own`` (what a layer
    is, apart from its name and shapes): equal for layers that read as one in the file."""
    found: dict[int, int] = {}
    for c in reversed(root.walk()):  # the children before the layer that holds them
        found[id(c)] = hash((own(c), tuple(found[id(k)] for k in c.children)))
    return found


class Alignment(NamedTuple):
    """What :func:`align` finds: the pairs (x of a, y of b, None where one side lacks it)
    each with the layer of b that holds it (None for the roots), and the layers of b (by
    ``id``) whose pair stands elsewhere among its siblings (two layers swapped), with their
    places in a and in b."""

    pairs: list[tuple[Checked | None, Checked | None, Checked | None]]
    places: dict[int, tuple[int, int]]


def align(a: Checked, b: Checked, own: Callable[[Checked], Hashable]) -> Alignment:
    """Every pair of matched layers (the roots first, then in b's order, each before the
    layers inside it), and the layers only one side has, inside none of those."""
    sig_a, sig_b = signatures(a, own), signatures(b, own)
    found = Alignment([], {})
    stack: list[tuple[Checked | None, Checked | None, Checked | None]] = [(a, b, None)]
    while stack:
        x, y, holder = stack.pop()
        found.pairs.append((x, y, holder))
        if x is not None and y is not None:
            pairs = match(x.children, y.children, sig_a, sig_b)
            found.places.update(reordered(x.children, y.children, pairs))
            stack.extend((px, py, y) for px, py in reversed(pairs))
    return found


def reordered(
    xs: Sequence[Checked], ys: Sequence[Checked], pairs: list[Pair]
) -> dict[int, tuple[int, int]]:
    """The pairs out of order: all but a longest run whose places in a rise with b's."""
    place_x = {id(x): i for i, x in enumerate(xs)}
    place_y = {id(y): j for j, y in enumerate(ys)}
    both = [(place_x[id(x)], place_y[id(y)], id(y)) for x, y in pairs if x and y]
    keep = {both[k][2] for k in _rising([i for i, _, _ in both])}
    return {key: (i, j) for i, j, key in both if key not in keep}


def _rising(values: list[int]) -> list[int]:
    """The indices of a longest strictly rising subsequence of ``values`` (patience sort)."""
    tails: list[int] = []  # the smallest last value of a run of each length
    ends: list[int] = []  # the index of that value
    before: list[int] = []  # each index's predecessor in its run
    for k, v in enumerate(values):
        n = bisect_left(tails, v)
        before.append(ends[n - 1] if n else -1)
        if n == len(tails):
            tails.append(v)
            ends.append(k)
        else:
            tails[n], ends[n] = v, k
    out: list[int] = []
    k = ends[-1] if ends else -1
    while k >= 0:
        out.append(k)
        k = before[k]
    return out[::-1]


def match(
    xs: Sequence[Checked], ys: Sequence[Checked], sig_a: dict[int, int], sig_b: dict[int, int]
) -> list[Pair]:
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
    kx = [sig_a[id(xs[i])] for i in rest_x]
    ky = [sig_b[id(ys[j])] for j in rest_y]
    for tag, i1, i2, j1, j2 in opcodes(kx, ky):
        if tag == "equal":
            pairs.update(zip(rest_x[i1:i2], rest_y[j1:j2], strict=True))
        elif tag == "replace":
            pairs.update(_by_kind(xs, ys, rest_x[i1:i2], rest_y[j1:j2]))
    _twins(pairs, rest_x, rest_y, kx, ky)
    return _ordered(xs, ys, pairs)


def opcodes(kx: Sequence[Hashable], ky: Sequence[Hashable]) -> list[Opcode]:
    """difflib's opcodes, the common head and tail first taken off: linear time for the usual
    edit of a long list (difflib alone is quadratic on lists of many equal items)."""
    n, m = len(kx), len(ky)
    head = 0
    while head < min(n, m) and kx[head] == ky[head]:
        head += 1
    tail = 0
    while tail < min(n, m) - head and kx[n - 1 - tail] == ky[m - 1 - tail]:
        tail += 1
    out: list[Opcode] = [("equal", 0, head, 0, head)] if head else []
    if head == n == m:
        return out
    middle = SequenceMatcher(None, kx[head : n - tail], ky[head : m - tail], autojunk=False)
    for tag, i1, i2, j1, j2 in middle.get_opcodes():
        out.append((tag, i1 + head, i2 + head, j1 + head, j2 + head))
    if tail:
        out.append(("equal", n - tail, n, m - tail, m))
    return out


def _by_kind(
    xs: Sequence[Checked], ys: Sequence[Checked], ix: list[int], iy: list[int]
) -> dict[int, int]:
    """A replaced run: layers of the same kind (and block) pair up in order, then what is left
    pairs by position where both sides have as many."""
    kinds_x = [(xs[i].node.kind.name, xs[i].node.label) for i in ix]
    kinds_y = [(ys[j].node.kind.name, ys[j].node.label) for j in iy]
    pairs: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in opcodes(kinds_x, kinds_y):
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            pairs.update(zip(ix[i1:i2], iy[j1:j2], strict=True))
    return pairs


def _twins(
    pairs: dict[int, int], rest_x: list[int], rest_y: list[int], kx: list[int], ky: list[int]
) -> None:
    """Layers left on both sides that read the same: one layer, reordered."""
    taken = set(pairs.values())
    waiting: dict[int, list[int]] = {}
    for j, key in zip(rest_y, ky, strict=True):
        if j not in taken:
            waiting.setdefault(key, []).append(j)
    for i, key in zip(rest_x, kx, strict=True):
        if i not in pairs and waiting.get(key):
            pairs[i] = waiting[key].pop(0)


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
