"""Which lines are skips: those that go around something on the way to their head.

The drawer marks a line that brings a tensor from further back than the box drawn before its
reader (a residual's shortcut, a named tensor read later). Where nothing else leads from its
tail to its head, the line goes around nothing: a branch drawn beside another, such as the
query, key and value read from one tensor in an attention block, or a softmax read past a
parameter's branch (YOLO's DFL). Drawn as skips, such branches filled an attention block with
blue arrows that read as shortcuts; they are plain lines.

Example::

    unskip_branches(picture)     # True where a skip is left: the legend shows the arrow
"""

from __future__ import annotations

from .picture import Line, Picture
from .style import SKIP_EDGE


def unskip_branches(picture: Picture) -> bool:
    """Make every skip line that nothing else joins to its head a plain line; whether any
    skip is left."""
    after: dict[str, list[int]] = {}  # each box's lines out, by index
    for n, line in enumerate(picture.lines):
        if line.attrs.get("constraint") != "false":  # a call's tie carries no tensor
            after.setdefault(line.tail, []).append(n)
    left = False
    for n, line in enumerate(picture.lines):
        if not line.skip:
            continue
        if not line.found or _around(picture.lines, after, n):
            left = True
        else:
            _plain(line)
    return left


def _around(lines: list[Line], after: dict[str, list[int]], skip: int) -> bool:
    """Whether another way leads from line ``skip``'s tail to its head."""
    tail, head = lines[skip].tail, lines[skip].head
    seen = {tail}
    todo = [n for n in after.get(tail, []) if n != skip]
    while todo:
        box = lines[todo.pop()].head
        if box == head:
            return True
        if box not in seen:
            seen.add(box)
            todo += after.get(box, [])
    return False


def _plain(line: Line) -> None:
    line.skip = False
    for key in SKIP_EDGE:
        line.attrs.pop(key, None)
