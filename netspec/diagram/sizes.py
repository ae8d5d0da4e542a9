"""How large a picture will be, estimated from its boxes before Graphviz lays it out.

Each box's rank is the longest path to it (as dot ranks a graph); a rank is as tall as its
tallest box, with the names of the frames it opens, and as wide as its boxes side by side. The
estimate is within about a fifth of what dot draws for the bundled specs: enough to tell a
strip from a picture that fits a screen, and to cut columns of about even height.
"""

from __future__ import annotations

from itertools import pairwise

from .picture import Picture
from .style import NODE_GAP, RANK_GAP, text_width

#: the room an edge's label (its tensor's shape) takes beside it, and between two ranks
LABEL_WIDTH = 0.7
LABEL_HEIGHT = 0.2
COLUMN_GAP = 0.6
#: the ranks are settled in at most this many passes (levels move the boxes after them)
SETTLE = 12
#: a frame's border takes this much room beside what it holds, its name this much above
FRAME_ROOM = 0.16
FRAME_TOP = 0.3


class Sizes:
    """The one-column drawing's ranks and their sizes, estimated from the boxes' sizes."""

    def __init__(self, picture: Picture, rows: list[list[int]] | None = None) -> None:
        self.picture = picture
        self.in_row = {i for row in rows or [] for i in row}
        self.rank = ranks(picture, rows or [])
        self.width, self.height = self.measure(self.rank)
        self.top = [0.0]  # how far below the first rank each rank starts
        for h in self.height:
            self.top.append(self.top[-1] + h + RANK_GAP + LABEL_HEIGHT)
        self.extra = 0.9 + (0.8 if picture.legend else 0.0)  # the title and the legend
        self.least = text_width(picture.title, 13) + 0.3

    def measure(self, rank: list[int]) -> tuple[list[float], list[float]]:
        """How wide and how tall each rank is, the boxes on ``rank`` (by box) side by side."""
        low = min(rank)
        count = max(rank) - low + 1
        height = [0.0] * count  # the tallest box of each rank, with the frames it opens
        width = [LABEL_WIDTH] * count  # a rank's boxes side by side, and a shape's label
        room = [0.0] * count  # the frames around them
        before: tuple[str, ...] = ()
        for i, (box, r) in enumerate(zip(self.picture.boxes, rank, strict=True)):
            opened = len(box.frames) - shared_frames(box.frames, before)  # their names, above it
            before = box.frames
            height[r - low] = max(height[r - low], box.size[1] + FRAME_TOP * opened)
            label = LABEL_WIDTH if i in self.in_row else 0.0
            width[r - low] += box.size[0] + NODE_GAP + label
            room[r - low] = max(room[r - low], len(box.frames) * 2 * FRAME_ROOM)
        return [w + f for w, f in zip(width, room, strict=True)], height

    def columns(self, cuts: list[int]) -> tuple[float, float]:
        """The estimated width and height of the drawing cut into columns before ``cuts``.

        The columns share their ranks (each starts at the top): a rank is as tall as the
        tallest of the columns' boxes on it.
        """
        boxes = len(self.picture.boxes)
        width = 0.0
        shared: list[float] = []  # the height of each rank, counted from the top
        for start, end in zip(cuts, [*cuts[1:], boxes], strict=True):
            low, high = self.rank[start], self.rank[end - 1]
            width += max(self.width[low : high + 1], default=0.0) + COLUMN_GAP
            for j, h in enumerate(self.height[low : high + 1]):
                if j == len(shared):
                    shared.append(h)
                shared[j] = max(shared[j], h)
        height = sum(h + RANK_GAP + LABEL_HEIGHT for h in shared)
        return max(width, self.least), height + self.extra

    def folded(self, bottom: int, across: tuple[int, int]) -> tuple[float, float]:
        """The estimated width and height of the drawing folded into a U after box
        ``bottom``, the boxes ``across`` level: the later boxes mirrored about them."""
        mirror = self.rank[across[0]] + self.rank[across[1]]
        rank = [r if i <= bottom else mirror - r for i, r in enumerate(self.rank)]
        width, height = self.measure(rank)
        total = sum(h + RANK_GAP + LABEL_HEIGHT for h in height)
        return max(max(width), self.least), total + self.extra


def ranks(picture: Picture, rows: list[list[int]]) -> list[int]:
    """Each box's rank in one column: one below the lowest box it reads from, levels (and
    ``rows``, by box index) level."""
    where = picture.index()
    into: list[list[int]] = [[] for _ in picture.boxes]
    for line in picture.lines:
        tail, head = where.get(line.tail), where.get(line.head)
        if tail is not None and head is not None and tail < head:
            into[head].append(tail)
    levels = [[where[i] for i in level if i in where] for level in picture.levels]
    levels += rows
    in_row = {(a, b) for row in rows for a, b in pairwise(row)}
    into = [[t for t in tails if (t, i) not in in_row] for i, tails in enumerate(into)]
    rank = [0] * len(picture.boxes)
    for _ in range(SETTLE):  # a level moves the boxes after it down: again, till none moves
        moved = False
        for i, tails in enumerate(into):
            lowest = max([rank[i], *(rank[t] + 1 for t in tails)])
            moved |= lowest != rank[i]
            rank[i] = lowest
        for level in levels:
            top = max(rank[i] for i in level)
            for i in level:
                moved |= rank[i] != top
                rank[i] = top
        if not moved:
            break
    return rank


def shared_frames(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """How many frames, from the outermost, two boxes are both in."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
