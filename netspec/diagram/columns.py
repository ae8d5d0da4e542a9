"""Columns: a drawing too long for a screen cut into columns, read left to right, each from
the top, where few blocks and edges cross the cut.

A cut goes before a box that everything drawn before it is above; of the cuts near even
heights, the one splitting the fewest blocks (a split block is drawn once in each column, the
later part "continued"), then crossing the fewest edges. As many columns as make the picture
readable on a screen, and no more.
"""

from __future__ import annotations

import bisect

from .picture import Picture
from .plan import READABLE, THIN, Layout, Plan, fit
from .sizes import Sizes, shared_frames

MAX_COLUMNS = 12
#: what a cut costs for each block it splits (an edge it crosses costs 1)
SPLIT = 100


def column_plan(picture: Picture, sizes: Sizes, forced: bool) -> Plan | None:
    """Columns: the fewest that make the picture readable on a screen, else the best fit."""
    cuts = clean_cuts(picture, sizes)
    best: tuple[float, list[int]] | None = None
    for count in range(2, MAX_COLUMNS + 1):
        chosen = pick_cuts(sizes, cuts, count)
        if chosen is None:
            break
        size = sizes.columns([0, *chosen])
        breadth, length = size if sizes.across else size[::-1]
        if breadth > THIN * length:  # a strip the other way: no more columns
            break
        scale = fit(size)
        if best is None or scale > best[0] * 1.05:
            best = (scale, chosen)
        if scale >= READABLE:
            break
    if best is None or (not forced and best[0] <= fit(sizes.columns([0]))):
        return None
    return plan_columns(picture, sizes, best[1])


def clean_cuts(picture: Picture, sizes: Sizes) -> dict[int, int]:
    """Where a column may end: before box ``i`` when every box before it is above every box
    from it on, a column ends and the next starts with one box (dot reversed an inception's
    branches that started or ended a column), and neither is an input or an output; with
    what cutting there costs: the blocks it splits in two, then the edges it crosses."""
    boxes = picture.boxes
    rank = sizes.rank
    low = [0] * (len(boxes) + 1)
    low[len(boxes)] = 1 << 30
    for i in range(len(boxes) - 1, -1, -1):
        low[i] = min(low[i + 1], rank[i])
    where = picture.index()
    crossing = [0] * (len(boxes) + 1)
    wide = [0] * (max(rank) + 1)  # boxes on each rank
    for r in rank:
        wide[r] += 1
    for line in picture.lines:
        tail, head = where.get(line.tail), where.get(line.head)
        if tail is not None and head is not None and tail < head:
            crossing[tail + 1] += 1
            crossing[head + 1] -= 1
    ends = set(picture.inputs) | set(picture.outputs)
    cuts: dict[int, int] = {}
    high, crossed = -1, 0
    for i in range(1, len(boxes)):
        high = max(high, rank[i - 1])
        crossed += crossing[i]
        if high < low[i] and boxes[i].id not in ends and boxes[i - 1].id not in ends:
            shared = shared_frames(boxes[i - 1].frames, boxes[i].frames)
            if wide[high] == wide[rank[i]] == 1:  # dot reversed branches at a column's ends
                cuts[i] = SPLIT * shared + crossed
    return cuts


def pick_cuts(sizes: Sizes, cuts: dict[int, int], count: int) -> list[int] | None:
    """``count - 1`` cuts near even heights, each the cheapest within a window about it."""
    if len(cuts) < count - 1:
        return None
    places = sorted(cuts)
    tops = [sizes.top[sizes.rank[i]] for i in places]
    total = sizes.top[-1]
    window = total / count / 3
    chosen: list[int] = []
    for k in range(1, count):
        goal = total * k / count
        first = bisect.bisect_right(places, chosen[-1]) if chosen else 0
        low = max(first, bisect.bisect_left(tops, goal - window))
        high = bisect.bisect_right(tops, goal + window)
        pool = range(low, high)
        if low >= high:  # none near: the nearest after the last cut
            near = bisect.bisect_left(tops, goal, lo=first)
            pool = range(near, near + 1) if near < len(places) else range(first, len(places))
        if not pool:
            return None
        best = min(pool, key=lambda j: (cuts[places[j]], abs(tops[j] - goal)))
        chosen.append(places[best])
    return chosen


def plan_columns(picture: Picture, sizes: Sizes, cuts: list[int]) -> Plan:
    """The plan for columns cut before ``cuts``: what crosses into a column's first rank from
    the column before is a bridge (a fan-out, such as an inception's branches, bridged
    alike, so that they keep their order); anything else crossing is loose."""
    where = picture.index()
    column = [0] * len(picture.boxes)
    for n, cut in enumerate(cuts, start=1):
        for i in range(cut, len(picture.boxes)):
            column[i] = n
    plan = Plan(Layout.COLUMNS, size=sizes.columns([0, *cuts]))
    plan.columns = {b.id: column[i] for i, b in enumerate(picture.boxes) if column[i]}
    plan.heads = [picture.boxes[cut].id for cut in cuts]
    first = [sizes.rank[0], *(sizes.rank[cut] for cut in cuts)]  # each column's top rank
    for n, line in enumerate(picture.lines):
        tail, head = where.get(line.tail), where.get(line.head)
        if tail is None or head is None or column[tail] == column[head]:
            continue
        if column[head] == column[tail] + 1 and sizes.rank[head] == first[column[head]]:
            plan.bridges.add(n)
        else:  # a skip across columns: dot routes it where it can, holding nothing in place
            plan.loose.add(n)
    return plan
