"""The layers an edit removed, drawn in the picture of the edited network where they stood:
a dashed red box (a ghost) between the boxes of the layers around it, joined to them by
dashed red lines beside the line that now goes past it. A run of removed layers is a chain of
ghosts. A ghost inside a block drawn as one box is not drawn: the block is marked instead.

Example::

    placed = place_ghosts(picture, changes.ghosts)    # how many ghosts were drawn
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby, pairwise

from .marks import Ghost, Mark
from .picture import Box, Line, Picture
from .sizes import shared_frames
from .style import label, label_size

#: the id of a ghost's box: no layer's path starts with a slash
GHOST = "/removed/"
GHOST_LINE = {"color": Mark.REMOVED.colour, "style": "dashed", "arrowsize": "0.5"}


def place_ghosts(picture: Picture, ghosts: Sequence[Ghost]) -> int:
    """Draw ``ghosts`` into ``picture`` where they stood; how many were drawn. Where each
    goes is found in the picture as drawn, before any ghost is added (one look at it: a
    thousand ghosts take as long as a few)."""
    seen = Seen(picture)
    before: dict[int, list[Box]] = {}  # the ghosts to insert before each box, by its index
    lines: list[Line] = []
    for (within, after, ahead), run in groupby(ghosts, key=_between):
        if seen.hidden(within):
            continue
        chain = list(run)
        tail, head = seen.ends(within, after, ahead)
        frames = seen.frames(within, tail, head)
        at = seen.order[tail] + 1 if tail is not None else seen.order.get(head or "", -1)
        before.setdefault(at if at >= 0 else len(picture.boxes), []).extend(
            _box(g, frames) for g in chain
        )
        for frame in frames:
            picture.frames[frame].boxes += len(chain)
        ends = [tail, *(GHOST + g.path for g in chain), head]
        lines += [Line(a, b, dict(GHOST_LINE)) for a, b in pairwise(ends) if a and b]
    if not before:
        return 0
    boxes: list[Box] = []
    for i, box in enumerate(picture.boxes):
        boxes += before.get(i, [])
        boxes.append(box)
    boxes += before.get(len(picture.boxes), [])
    placed = len(boxes) - len(picture.boxes)
    picture.boxes[:] = boxes
    picture.lines += lines
    return placed


class Seen:
    """The picture as drawn, looked up: each box's place, the first and last box drawn inside
    each layer, the first line into and out of each box, the frames around each frame."""

    def __init__(self, picture: Picture) -> None:
        self.picture = picture
        self.order = picture.index()
        self.first: dict[str, str] = {}
        self.last: dict[str, str] = {}
        self.around: dict[str, tuple[str, ...]] = {}
        self.boxes = {box.id: box for box in picture.boxes}
        for box in picture.boxes:
            for path in _holders(box.id):
                self.first.setdefault(path, box.id)
                self.last[path] = box.id
            for n, frame in enumerate(box.frames):
                self.around.setdefault(frame, box.frames[: n + 1])
        self.into: dict[str, str] = {}
        self.out: dict[str, str] = {}
        self.links = {(line.tail, line.head) for line in picture.lines}
        for line in picture.lines:
            self.into.setdefault(line.head, line.tail)
            self.out.setdefault(line.tail, line.head)

    def hidden(self, within: str) -> bool:
        """Whether ``within`` is inside a block drawn as one box (the block itself included)."""
        return any(path in self.boxes for path in (within, *_holders(within)))

    def ends(
        self, within: str, after: str | None, before: str | None
    ) -> tuple[str | None, str | None]:
        """The boxes a ghost goes between: the last drawn of the layer before it, the first
        of the layer after it (for layers side by side, what feeds the one after it and what
        the one before it feeds); where one is missing, what feeds the other or what it
        feeds, and at the network's ends its input or its output."""
        tail = self.drawn(after, self.last) if after is not None else None
        head = self.drawn(before, self.first) if before is not None else None
        if tail is not None and head is not None and (tail, head) not in self.links:
            # side by side (an inception's branches): from what feeds them, into what they feed
            tail, head = self.into.get(head, tail), self.out.get(tail, head)
        if tail is None and head is not None:
            tail = self.into.get(head)
        if head is None and tail is not None:
            head = self.out.get(tail)
        if not within:
            inputs, outputs = self.picture.inputs, self.picture.outputs
            tail = tail if tail is not None or not inputs else inputs[0]
            head = head if head is not None or not outputs else outputs[0]
        return tail, head

    def drawn(self, path: str, inside: dict[str, str]) -> str | None:
        """The box that draws the layer ``path``, or the first (last) drawn inside it; where
        it is inside a block drawn as one box, that box."""
        if path in self.boxes:
            return path
        if path in inside:
            return inside[path]
        return next((p for p in _holders(path) if p in self.boxes), None)

    def frames(self, within: str, tail: str | None, head: str | None) -> tuple[str, ...]:
        """The frames a ghost is drawn in: those down to ``within`` where it is drawn as a
        frame, else those its two neighbours share."""
        if not within:
            return ()
        if within in self.around:
            return self.around[within]
        near = [self.boxes[b].frames for b in (tail, head) if b is not None and b in self.boxes]
        if not near:
            return ()
        return near[0][: min(shared_frames(near[0], f) for f in near)]


def _holders(path: str) -> list[str]:
    """The paths that hold ``path``, innermost first: ``a.b/add`` → ``a.b``, ``a``."""
    found = []
    end = max(path.rfind("."), path.rfind("/"))
    while end > 0:
        found.append(path[:end])
        end = max(path.rfind(".", 0, end), path.rfind("/", 0, end))
    return found


def _between(ghost: Ghost) -> tuple[str, str | None, str | None]:
    return ghost.within, ghost.after, ghost.before


def _box(ghost: Ghost, frames: tuple[str, ...]) -> Box:
    notes = [f"{ghost.params:,} params"] if ghost.params else []
    flag = f"{Mark.REMOVED.sign} removed"
    attrs = {
        "style": "rounded,filled,dashed",
        "fillcolor": "#ffffff",
        "color": Mark.REMOVED.colour,
        "fontcolor": "#777777",
        "penwidth": "1.5",
        "tooltip": f"{ghost.path}: removed",
    }
    text = label(ghost.head, *notes, flag=(flag, Mark.REMOVED.colour))
    return Box(GHOST + ghost.path, text, attrs, frames, label_size(ghost.head, *notes, flag=flag))
