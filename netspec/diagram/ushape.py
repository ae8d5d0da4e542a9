"""A U: an encoder-decoder drawn down the left and up the right, each skip straight across.

Found where the skips nest one in the other, each carrying a smaller tensor than the one
around it (a U-Net's levels), and about as much is drawn after the outermost skip's reader as
before its tail. The boxes after the U's bottom are ranked against the flow (their edges drawn
from head to tail, the arrow turned back), each skip's two ends level, a decoder's concat and
the block after it side by side; a U still too long for a screen draws its blocks of layers
(a double conv's six) as rows.
"""

from __future__ import annotations

import math
from itertools import pairwise

from .picture import Box, Picture
from .plan import Layout, Plan, too_long
from .sizes import Sizes


def u_pairs(picture: Picture, automatic: bool = False) -> list[tuple[int, int]]:
    """A U's skips, outermost first, by box index: skips nested one in the other, each
    carrying a smaller tensor than the one around it. ``automatic``: only where the network
    is one (two skips at least, and about as much drawn after the outermost skip's reader as
    before its tail)."""
    where = picture.index()
    found = []
    for line in picture.lines:
        tail, head = where.get(line.tail), where.get(line.head)
        if line.skip and tail is not None and head is not None and tail < head:
            found.append((tail, head))
    found.sort(key=lambda p: (p[0], -p[1]))
    nested: list[tuple[int, int]] = []
    for a, b in found:
        if nested and not (a > nested[-1][0] and b < nested[-1][1]):
            continue
        if nested and not _smaller(picture.boxes[a], picture.boxes[nested[-1][0]]):
            continue
        nested.append((a, b))
    if not automatic:
        return nested
    ends = set(picture.inputs) | set(picture.outputs)
    inner = [i for i, box in enumerate(picture.boxes) if box.id not in ends]
    if len(nested) < 2 or not inner:
        return []
    before = sum(1 for i in inner if i < nested[0][0])
    after = sum(1 for i in inner if i > nested[0][1])
    return nested if after <= before + 2 else []


def _smaller(inner: Box, outer: Box) -> bool:
    if inner.shape is None or outer.shape is None:
        return False
    a, b = inner.shape.spatial, outer.shape.spatial
    return len(a) == len(b) > 0 and math.prod(a) < math.prod(b)


def u_plan(picture: Picture, sizes: Sizes) -> Plan:
    """Down the left to the U's bottom, then up the right, each skip straight across; a U
    still too long for a screen draws its blocks of layers as rows."""
    pairs = u_pairs(picture)
    bottom = _bottom(picture, sizes, pairs)
    beside = _beside(picture, pairs)
    plan = _u(picture, Sizes(picture, beside, sizes.across), pairs, bottom, beside)
    rows = chains(picture)
    if rows and too_long(plan.size):
        plan = _u(picture, Sizes(picture, rows, sizes.across), pairs, bottom, rows)
    return plan


def _u(
    picture: Picture, sizes: Sizes, pairs: list[tuple[int, int]], bottom: int, rows: list[list[int]]
) -> Plan:
    boxes = picture.boxes
    plan = Plan(Layout.U, legend_under=boxes[bottom].id)
    where = picture.index()
    plan.pairs = [(boxes[a].id, boxes[b].id) for a, b in pairs]
    if bottom + 1 < len(boxes) and boxes[bottom + 1].id not in picture.outputs:
        plan.pairs.append((boxes[bottom].id, boxes[bottom + 1].id))  # the U's flat bottom
    plan.rows = [[boxes[i].id for i in row] for row in rows]
    level = set(plan.pairs)
    flat = {(a, b) for row in plan.rows for a, b in pairwise(row)}
    for n, line in enumerate(picture.lines):
        tail, head = where.get(line.tail), where.get(line.head)
        if tail is None or head is None or (line.tail, line.head) in flat:
            continue  # a row's lines go left to right, on either side
        if tail > bottom and head > bottom:
            plan.turned.add(n)
        elif tail <= bottom < head and (line.tail, line.head) not in level:
            plan.loose.add(n)
    across = pairs[0] if pairs else (bottom, min(bottom + 1, len(boxes) - 1))
    plan.size = sizes.folded(bottom, across)
    return plan


def _beside(picture: Picture, pairs: list[tuple[int, int]]) -> list[list[int]]:
    """Each skip's reader (a decoder's concat) and the box after it that reads it, in a row:
    a level of the decoder as tall as one of the encoder."""
    where = picture.index()
    reads = {(where.get(line.tail), where.get(line.head)) for line in picture.lines}
    ends = set(picture.outputs)
    return [
        [b, b + 1]
        for _, b in pairs
        if b + 1 < len(picture.boxes)
        and picture.boxes[b + 1].id not in ends
        and (b, b + 1) in reads
    ]


def chains(picture: Picture) -> list[list[int]]:
    """Blocks of three layers or more, one after the other, and no block inside: the
    indices of their boxes (a double conv's six layers)."""
    where = picture.index()
    links = set()
    for line in picture.lines:
        tail, head = where.get(line.tail), where.get(line.head)
        if tail is not None and head is not None:
            links.add((tail, head))
    held: dict[str, list[int]] = {}
    outer: set[str] = set()
    for i, box in enumerate(picture.boxes):
        if box.frames:
            held.setdefault(box.frames[-1], []).append(i)
            outer.update(box.frames[:-1])
    leveled = {box for level in picture.levels for box in level}
    rows = []
    for frame, members in held.items():
        if frame in outer or len(members) < 3:
            continue
        pairs = list(pairwise(members))
        if all(b == a + 1 and (a, b) in links for a, b in pairs) and not any(
            picture.boxes[i].id in leveled for i in members
        ):
            rows.append(members)
    return rows


def _bottom(picture: Picture, sizes: Sizes, pairs: list[tuple[int, int]]) -> int:
    """The U's lowest box: the last of the smallest between the innermost skip's ends, or
    without skips, the box halfway down."""
    if pairs:
        a, b = pairs[-1]
        between = range(a + 1, b) if b > a + 1 else range(a, a + 1)

        def area(i: int) -> int:
            shape = picture.boxes[i].shape
            return math.prod(shape.spatial) if shape is not None and shape.spatial else 1 << 62

        least = min(area(i) for i in between)
        return max(i for i in between if area(i) == least)
    half = sizes.top[-1] / 2
    ends = set(picture.outputs)
    fitting = [
        i
        for i, box in enumerate(picture.boxes)
        if sizes.top[sizes.rank[i]] >= half and box.id not in ends
    ]
    return fitting[0] if fitting else len(picture.boxes) - 1
