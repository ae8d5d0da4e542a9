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
    """Draw ``ghosts`` into ``picture`` where they stood; how many were drawn."""
    placed = 0
    for (within, after, before), run in groupby(ghosts, key=_between):
        if _hidden(picture, within):
            continue
        chain = list(run)
        tail, head = _ends(picture, within, after, before)
        frames = _frames(picture, within, tail, head)
        ids = [GHOST + g.path for g in chain]
        where = picture.index()
        at = where[tail] + 1 if tail is not None else where.get(head or "", len(picture.boxes))
        boxes = [_box(g, frames) for g in chain]
        picture.boxes[at:at] = boxes
        for frame in frames:
            picture.frames[frame].boxes += len(boxes)
        ends = [tail, *ids, head]
        for a, b in pairwise(ends):
            if a is not None and b is not None:
                picture.lines.append(Line(a, b, dict(GHOST_LINE)))
        placed += len(boxes)
    return placed


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


def _hidden(picture: Picture, within: str) -> bool:
    """Whether ``within`` is inside a block drawn as one box (the block itself included)."""
    ids = {box.id for box in picture.boxes}
    path = within
    while path:
        if path in ids:
            return True
        path = path.rpartition(".")[0]
    return False


def _ends(
    picture: Picture, within: str, after: str | None, before: str | None
) -> tuple[str | None, str | None]:
    """The boxes a ghost goes between: the last drawn of the layer before it, the first of
    the layer after it; where one is missing, what feeds the other or what it feeds, and at
    the network's ends its input or its output."""
    tail = _drawn(picture, after, last=True) if after is not None else None
    head = _drawn(picture, before, last=False) if before is not None else None
    if tail is None and head is not None:
        tail = next((line.tail for line in picture.lines if line.head == head), None)
    if head is None and tail is not None:
        head = next((line.head for line in picture.lines if line.tail == tail), None)
    if not within:
        tail = tail if tail is not None or not picture.inputs else picture.inputs[0]
        head = head if head is not None or not picture.outputs else picture.outputs[0]
    return tail, head


def _drawn(picture: Picture, path: str, last: bool) -> str | None:
    """The box that draws the layer ``path``, or the first (last) drawn inside it; where it
    is inside a block drawn as one box, that box."""
    boxes = reversed(picture.boxes) if last else iter(picture.boxes)
    inside = (path + ".", path + "/")
    for box in boxes:
        if box.id == path or box.id.startswith(inside):
            return box.id
    ids = {box.id for box in picture.boxes}
    while path:
        path = path.rpartition(".")[0]
        if path in ids:
            return path
    return None


def _frames(picture: Picture, within: str, tail: str | None, head: str | None) -> tuple[str, ...]:
    """The frames a ghost is drawn in: those down to ``within`` where it is drawn as a frame,
    else those its two neighbours share."""
    if not within:
        return ()
    boxes = {box.id: box for box in picture.boxes}
    if within in picture.frames:
        for box in picture.boxes:
            if within in box.frames:
                return box.frames[: box.frames.index(within) + 1]
    around = [boxes[b].frames for b in (tail, head) if b is not None and b in boxes]
    if not around:
        return ()
    return around[0][: min(shared_frames(around[0], f) for f in around)]
