"""Two sequences of keys, aligned: which items of one are which items of the other.

:func:`matched` finds an alignment of fewest edits, an item inserted, deleted or put for
another each one edit (Levenshtein's distance), by Ukkonen's search along the diagonals, as
Myers' search in ``git diff`` does for insertions and deletions alone. Its time grows with the
length times the number of edits, however often a key repeats: difflib's grows with the
square of a key's repeats (3,000 convs and relus with 60 convs inserted among them: a minute
in difflib, a fraction of a second here). Putting an item for another as one edit is what
makes two lists of as many items pair by position where a few of them differ, rather than
shift by one. Past a budget of steps (two long lists that share little) it pairs each key's
items in order instead. :func:`opcodes` says the same as difflib does; :func:`slide` moves
each run only one side has along the equal keys around it, to where the pairs it leaves are
most alike (of three convs of one kind, the inserted one is the one whose options are new,
not always the last).

Example::

    opcodes("abc", "abxc")  # [('equal', 0, 2, 0, 2), ('insert', 2, 2, 2, 3), ('equal', ...)]
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Hashable, Sequence

Opcode = tuple[str, int, int, int, int]

#: the steps (diagonals tried, and items compared by sixteens) the search takes before it
#: gives up on the fewest edits: half a second of Python at most, and rows of at most this
#: many numbers (some 500 edits; 400 scattered through a list of 10,000 take a third of it)
BUDGET = 300_000


def opcodes(kx: Sequence[Hashable], ky: Sequence[Hashable], put: bool = True) -> list[Opcode]:
    """difflib's opcodes (``equal``, ``insert``, ``delete``, ``replace``, each with its
    ranges of ``kx`` and ``ky``) of an alignment of fewest edits from ``kx`` to ``ky`` (see
    :func:`matched`).

    >>> opcodes("abc", "xbc")
    [('replace', 0, 1, 0, 1), ('equal', 1, 3, 1, 3)]
    """
    return as_opcodes(matched(kx, ky, put), len(kx), len(ky))


def matched(
    kx: Sequence[Hashable], ky: Sequence[Hashable], put: bool = True
) -> list[tuple[int, int, bool]]:
    """The pairs ``(i, j, same)`` of an alignment of fewest edits, in order: ``same`` where
    ``kx[i] == ky[j]``, else one item put for the other (an edit, as an item inserted or
    deleted is; with ``put`` False, not an edit there is: a longest common subsequence);
    the items in no pair are inserted or deleted. The common head and tail come first, each
    item with the item at its place; of alignments as short, one that inserts and deletes
    rather than puts one item for another.

    >>> matched("abc", "xbc")
    [(0, 0, False), (1, 1, True), (2, 2, True)]
    >>> matched("abc", "xbc", put=False)
    [(1, 1, True), (2, 2, True)]
    """
    kx, ky = list(kx), list(ky)
    n, m = len(kx), len(ky)
    head = 0
    while head < min(n, m) and kx[head] == ky[head]:
        head += 1
    tail = 0
    while tail < min(n, m) - head and kx[n - 1 - tail] == ky[m - 1 - tail]:
        tail += 1
    mid_x, mid_y = kx[head : n - tail], ky[head : m - tail]
    middle = _edits(mid_x, mid_y, BUDGET, put)
    if middle is None:
        middle = _in_order(mid_x, mid_y)
    out = [(i, i, True) for i in range(head)]
    out += [(i + head, j + head, same) for i, j, same in middle]
    out += [(n - tail + t, m - tail + t, True) for t in range(tail)]
    return out


#: a diagonal no path of that many edits reaches
_NONE = -(2**62)


def _edits(
    a: list[Hashable], b: list[Hashable], budget: int, put: bool
) -> list[tuple[int, int, bool]] | None:
    """The fewest edits (an item inserted, deleted, or where ``put``, put for another) from
    ``a`` to ``b``: for each number of edits d, the furthest point of each diagonal
    (Ukkonen's search; Myers' where no item is put for another), the rows kept and the path
    read back from them; None past ``budget`` steps."""
    n, m = len(a), len(b)
    if not n or not m:
        return []
    trace: list[array[int]] = []  # row d: diagonal k at k + d
    spent = 0
    for d in range(n + m + 1):
        row = array("q", [_NONE]) * (2 * d + 1)
        for k in range(max(-d, -m), min(d, n) + 1):
            x = 0 if d == 0 else _start(trace[d - 1], d - 1, k, n, m, put)[0]
            if x == _NONE:
                continue
            end = _snake(a, b, x, x - k)
            spent += (end - x) >> 4  # in strides: an item costs far less than a diagonal
            row[k + d] = end
        trace.append(row)
        if abs(n - m) <= d and row[n - m + d] >= n:
            return _path(trace, n, m, put)
        spent += 2 * d + 1
        if spent > budget:
            return None
    raise AssertionError("unreachable: n + m edits always reach the end")


def _start(prev: array[int], d: int, k: int, n: int, m: int, put: bool) -> tuple[int, str]:
    """Where a path of one edit more than ``prev``'s (row d) starts on diagonal k, and by
    which edit: the furthest; of those as far, an item deleted, then one inserted, then one
    put for another (a swap of two items is one kept and one moved, not both changed)."""

    def at(kk: int) -> int:
        return prev[kk + d] if -d <= kk <= d else _NONE

    x, how = _NONE, ""
    p = at(k - 1)
    if p != _NONE and p < n:
        x, how = p + 1, "delete"
    p = at(k + 1)
    if p != _NONE and p - k - 1 < m and p > x:
        x, how = p, "insert"
    p = at(k)
    if put and p != _NONE and p < n and p - k < m and p + 1 > x:
        x, how = p + 1, "put"
    return x, how


def _snake(a: list[Hashable], b: list[Hashable], x: int, y: int) -> int:
    """How far equal items go from ``a[x]`` and ``b[y]`` on: item by item, then in strides
    compared at C speed (a long list of repeated layers), then item by item again."""
    n, m = len(a), len(b)
    for _ in range(8):
        if x >= n or y >= m or a[x] != b[y]:
            return x
        x, y = x + 1, y + 1
    while x + 64 <= n and y + 64 <= m and a[x : x + 64] == b[y : y + 64]:
        x, y = x + 64, y + 64
    while x < n and y < m and a[x] == b[y]:
        x, y = x + 1, y + 1
    return x


def _path(trace: list[array[int]], n: int, m: int, put: bool) -> list[tuple[int, int, bool]]:
    """The pairs of the path that ends at ``(n, m)``, read back through the rows."""
    pairs: list[tuple[int, int, bool]] = []
    k, x = n - m, n
    for d in range(len(trace) - 1, -1, -1):
        start, how = (0, "") if d == 0 else _start(trace[d - 1], d - 1, k, n, m, put)
        while x > start:
            x -= 1
            pairs.append((x, x - k, True))
        if how == "put":
            x -= 1
            pairs.append((x, x - k, False))
        elif how == "delete":
            x, k = x - 1, k - 1
        elif how == "insert":
            k += 1
    return pairs[::-1]


def _in_order(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[tuple[int, int, bool]]:
    """Two long lists that share little: the k-th item of each key in a with the k-th of the
    same key in b, those pairs that cross others left out (a longest rising run of them)."""
    where: dict[Hashable, list[int]] = {}
    for j, key in enumerate(b):
        where.setdefault(key, []).append(j)
    used: dict[Hashable, int] = {}
    found: list[tuple[int, int]] = []
    for i, key in enumerate(a):
        js, k = where.get(key), used.get(key, 0)
        if js is not None and k < len(js):
            found.append((i, js[k]))
            used[key] = k + 1
    return [(*found[k], True) for k in rising([j for _, j in found])]


def rising(values: list[int]) -> list[int]:
    """The indices of a longest strictly rising subsequence of ``values`` (patience sort).

    >>> rising([3, 1, 2, 5, 4])
    [1, 2, 4]
    """
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


def as_opcodes(pairs: list[tuple[int, int, bool]], n: int, m: int) -> list[Opcode]:
    """difflib's opcodes from the pairs (rising in both; ``same``, or one item put for the
    other) of lists of ``n`` and ``m`` items: a ``replace`` of items put one for another has
    as many on each side."""
    out: list[Opcode] = []
    i = j = 0
    for pi, pj, same in [*pairs, (n, m, True)]:
        if pi > i or pj > j:
            tag = "replace" if pi > i and pj > j else "delete" if pi > i else "insert"
            out.append((tag, i, pi, j, pj))
        if pi == n and pj == m:
            break
        tag = "equal" if same else "replace"
        if out and out[-1][0] == tag and out[-1][2] == pi and out[-1][4] == pj:
            out[-1] = (tag, out[-1][1], pi + 1, out[-1][3], pj + 1)
        else:
            out.append((tag, pi, pi + 1, pj, pj + 1))
        i, j = pi + 1, pj + 1
    return out


def slide(
    ops: list[Opcode],
    kx: Sequence[Hashable],
    ky: Sequence[Hashable],
    score: Callable[[int, int], int],
) -> list[Opcode]:
    """Each run that only one side has (``insert``, ``delete``) moved along the equal keys
    around it to where the pairs it leaves are most alike in all (``score(i, j)``: how alike
    ``kx``'s i-th item and ``ky``'s j-th are); of places as good, the nearest its own. The
    time is that of the equal runs beside each run.

    >>> slide(opcodes("aab", "aaab"), "aab", "aaab", lambda i, j: (i, j) in ((0, 0), (1, 2)))
    [('equal', 0, 1, 0, 1), ('insert', 1, 1, 1, 2), ('equal', 1, 3, 2, 4)]
    """
    cells: list[list[int]] = [[0, 0, 0, 0]]  # equal, run, equal, ..., run, equal: i1 i2 j1 j2
    tags: list[str] = ["equal"]
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            cells[-1][1], cells[-1][3] = i2, j2
        else:
            cells += [[i1, i2, j1, j2], [i2, i2, j2, j2]]
            tags += [tag, "equal"]
    for h in range(1, len(cells), 2):
        if tags[h] != "replace":
            _move(cells[h - 1], cells[h], cells[h + 1], tags[h] == "insert", kx, ky, score)
    return _merged(tags, cells)


def _move(
    before: list[int],
    run: list[int],
    after: list[int],
    insert: bool,
    kx: Sequence[Hashable],
    ky: Sequence[Hashable],
    score: Callable[[int, int], int],
) -> None:
    """Slide one run (its cell and the equal cells beside it, in place) to its best place."""
    i1, i2, j1, j2 = run
    keys, r1, r2, o = (ky, j1, j2, i1) if insert else (kx, i1, i2, j1)

    def alike(r: int, other: int) -> int:  # the run's side is r
        return score(other, r) if insert else score(r, other)

    best, shift, gain = (0, 0), 0, 0
    for s in range(1, before[1] - before[0] + 1):  # up: the run's last item pairs instead
        if keys[r1 - s] != keys[r2 - s]:
            break
        gain += alike(r2 - s, o - s) - alike(r1 - s, o - s)
        if (gain, -s) > best:
            best, shift = (gain, -s), -s
    gain = 0
    for s in range(1, after[1] - after[0] + 1):  # down: the run's first item pairs instead
        if keys[r1 + s - 1] != keys[r2 + s - 1]:
            break
        gain += alike(r1 + s - 1, o + s - 1) - alike(r2 + s - 1, o + s - 1)
        if (gain, -s) > best:
            best, shift = (gain, -s), s
    before[1] += shift
    before[3] += shift
    run[:] = [i1 + shift, i2 + shift, j1 + shift, j2 + shift]
    after[0] += shift
    after[2] += shift


def _merged(tags: list[str], cells: list[list[int]]) -> list[Opcode]:
    """The opcodes again: empty equal runs dropped, a deletion and an insertion that now
    touch made one replace."""
    out: list[Opcode] = []
    for tag, (i1, i2, j1, j2) in zip(tags, cells, strict=True):
        if tag == "equal" and i1 == i2:
            continue
        if {tag, out[-1][0] if out else ""} == {"insert", "delete"}:  # slid to touch
            i1, j1 = out.pop()[1::2]
            tag = "replace"
        out.append((tag, i1, i2, j1, j2))
    return out
