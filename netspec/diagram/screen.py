"""The depth a picture is drawn at when none is asked: as much as a screen shows legibly.

At most :data:`SCREEN_NODES` boxes; of the depths that keep to it, the one showing the most
whose laid-out picture, shrunk to fit a screen, can still be read (:func:`.layout.fit`). A
depth may open every level of blocks and keep the blocks that hold only layers closed (a
U-Net's levels open, each double conv one box), since a block of layers says in one box what
it is, and a level hides the shape of the network.
"""

from __future__ import annotations

from ..ir import Checked
from .drawer import Depth, count_boxes, draw
from .layout import arrange
from .plan import READABLE, fit

#: the automatic depth keeps at most this many nodes, so a network fits one screen
SCREEN_NODES = 45
#: at most this many depths are counted, and this many laid out, in looking for one
COUNTED = 400
LAID_OUT = 12


def auto_depth(root: Checked, rankdir: str = "TB") -> Depth:
    """The depth that shows the most of ``root`` that a screen shows legibly, drawn from top
    to bottom (or as ``rankdir`` says).

    >>> import netspec
    >>> auto_depth(netspec.load("unet").checked)
    Depth(blocks=6, layers=2)
    """
    found = candidates(root)
    if not found:  # even one box a top-level layer is too many
        return Depth(1, 1)
    fallback = max((d for d in found.values() if d.blocks == d.layers), default=Depth(1, 1))
    for boxes in sorted(found, reverse=True)[:LAID_OUT]:
        depth = found[boxes]
        if fit(arrange(draw(root, "", depth), rankdir=rankdir).size) >= READABLE:
            return depth
    return fallback


def candidates(root: Checked) -> dict[int, Depth]:
    """The depths of at most :data:`SCREEN_NODES` boxes, by how many boxes they draw (the
    deepest of those that draw as many)."""
    deepest = max((c.depth for c in root.walk()[1:]), default=1)
    found: dict[int, Depth] = {}
    counted = 0
    for blocks in range(1, deepest + 1):
        for layers in range(1, blocks + 1):
            counted += 1
            boxes = count_boxes(root, Depth(blocks, layers))
            if boxes > SCREEN_NODES or counted > COUNTED:
                break
            found[boxes] = Depth(blocks, layers)
        else:
            continue
        if layers == 1 or counted > COUNTED:  # even its blocks of layers closed: too many
            break
    return found
