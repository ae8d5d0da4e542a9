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
TITLE = 0.5


class Sizes:
    """The one-column drawing's ranks and their sizes, estimated from the boxes' sizes.

    Sizes go along the flow (from rank to rank: down, or with ``across=False`` to the right)
    and across it (a rank's boxes side by side); :meth:`page` turns them into a width and a
    height, with the title and the legend.
    """

    def __init__(
        self, picture: Picture, rows: list[list[int]] | None = None, across: bool = True
    ) -> None:
        self.picture = picture
        self.rows = rows or []
        self.across = across
        self.in_row = {i for row in self.rows for i in row}
        self.rank = ranks(picture, self.rows)
        self.breadth, self.length = self.measure(self.rank)
        self.top = [0.0]  # how far along the flow each rank starts
        for length in self.length:
            self.top.append(self.top[-1] + length + self.gap)
        self.extra = TITLE + 0.4 + (0.8 if picture.legend else 0.0)  # the title, the legend
        self.least = text_width(picture.title, 13) + 0.3

    @property
    def gap(self) -> float:
        """The room between two ranks: dot's, and an edge's label (beside a downward edge,
        above a rightward one)."""
        return RANK_GAP + (LABEL_HEIGHT if self.across else LABEL_WIDTH)

    def measure(self, rank: list[int]) -> tuple[list[float], list[float]]:
        """How broad and how long each rank is, the boxes on ``rank`` (by box) side by side."""
        low = min(rank)
        count = max(rank) - low + 1
        beside = LABEL_WIDTH if self.across else LABEL_HEIGHT  # an edge's label
        length = [0.0] * count  # the longest box of each rank, with the frames it opens
        breadth = [beside] * count  # a rank's boxes side by side
        room = [0.0] * count  # the frames around them
        before: tuple[str, ...] = ()
        for i, (box, r) in enumerate(zip(self.picture.boxes, rank, strict=True)):
            opened = len(box.frames) - shared_frames(box.frames, before)  # their names, above it
            before = box.frames
            wide, tall = box.size if self.across else box.size[::-1]
            length[r - low] = max(length[r - low], tall + FRAME_TOP * opened)
            breadth[r - low] += wide + NODE_GAP + (beside if i in self.in_row else 0.0)
            room[r - low] = max(room[r - low], len(box.frames) * 2 * FRAME_ROOM)
        return [b + f for b, f in zip(breadth, room, strict=True)], length

    def page(self, breadth: float, length: float) -> tuple[float, float]:
        """The width and height of a drawing ``breadth`` across the flow and ``length`` along
        it, with its title and legend."""
        if self.across:
            return max(breadth, self.least), length + self.extra
        legend = 1.6 if self.picture.legend else 0.0  # after the outputs, to their right
        return max(length + legend, self.least), breadth + TITLE

    def columns(self, cuts: list[int]) -> tuple[float, float]:
        """The estimated width and height of the drawing cut into columns (rows, across the
        flow's way) before ``cuts``.

        The columns share their ranks (each starts at the top): a rank is as long as the
        longest of the columns' boxes on it.
        """
        boxes = len(self.picture.boxes)
        breadth = 0.0
        shared: list[float] = []  # the length of each rank, counted from the first
        for start, end in zip(cuts, [*cuts[1:], boxes], strict=True):
            low, high = self.rank[start], self.rank[end - 1]
            breadth += max(self.breadth[low : high + 1], default=0.0) + COLUMN_GAP
            for j, length in enumerate(self.length[low : high + 1]):
                if j == len(shared):
                    shared.append(length)
                shared[j] = max(shared[j], length)
        return self.page(breadth, sum(length + self.gap for length in shared))

    def folded(self, bottom: int, across: tuple[int, int]) -> tuple[float, float]:
        """The estimated width and height of the drawing folded into a U after box
        ``bottom``, the boxes ``across`` level: the later boxes mirrored about them."""
        mirror = self.rank[across[0]] + self.rank[across[1]]
        rank = [r if i <= bottom else mirror - r for i, r in enumerate(self.rank)]
        breadth, length = self.measure(rank)
        return self.page(max(breadth), sum(n + self.gap for n in length))


def ranks(picture: Picture, rows: list[list[int]]) -> list[int]:
    """Each box's rank in one column: one below the lowest box it reads from, levels (and
    ``rows``, by box index) level."""
    where = picture.index()
    into: list[list[int]] = [[] for _ in picture.boxes]
    for line in picture.lines:
        tail, head = where.get(line.tail), where.get(line.head)
        held = line.attrs.get("constraint") == "false"  # no rank for dot (a module's call)
        if tail is not None and head is not None and tail < head and not held:
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
    return _settle_data(picture, into, rank, {i for level in levels for i in level})


def _settle_data(
    picture: Picture, into: list[list[int]], rank: list[int], level: set[int]
) -> list[int]:
    """Each box that no input leads to (a parameter, what is made from it alone) one rank
    above its first reader, as dot draws it (its ranking keeps edges short), not at the top:
    there it held every box after it level with the top, and no column could be cut (YOLO's
    DFL weights, read in its last block). A box kept level with others stays where they are."""
    inputs = set(picture.inputs)
    fed = [box.id in inputs for box in picture.boxes]
    for i, tails in enumerate(into):  # tails come first, in drawing order
        fed[i] = fed[i] or any(fed[t] for t in tails)
    readers: list[list[int]] = [[] for _ in rank]
    for i, tails in enumerate(into):
        for t in tails:
            readers[t].append(i)
    for i in range(len(rank) - 1, -1, -1):
        if not fed[i] and readers[i] and i not in level:
            rank[i] = max(rank[i], min(rank[r] for r in readers[i]) - 1)
    return rank


def shared_frames(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """How many frames, from the outermost, two boxes are both in."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
