"""Where a picture's parts go: one column, several side by side, or a U.

A network is drawn top to bottom, in the spec's order. Long and thin, it would be a strip that
a screen shrinks past reading, so the layout estimates the drawing's size from its boxes
(:mod:`.sizes`; no Graphviz run: the DOT text depends on the spec alone) and, where one column
would not fit a screen, cuts the drawing into columns (:mod:`.columns`). An encoder-decoder
whose skips join at matching sizes (a U-Net) is drawn as a U (:mod:`.ushape`).

Example::

    plan = arrange(picture)              # Layout.AUTO: what fits the picture
    plan.kind, plan.columns              # Layout.COLUMNS, {"features.7": 1, ...}
"""

from __future__ import annotations

from .columns import column_plan
from .picture import Picture
from .plan import Layout, Plan, too_long
from .sizes import Sizes
from .ushape import u_pairs, u_plan


def arrange(picture: Picture, layout: Layout = Layout.AUTO, rankdir: str = "TB") -> Plan:
    """The layout for ``picture``: ``AUTO`` picks a U where the skips make one, else columns
    where one column would be too long to read on a screen, else one column."""
    if not picture.boxes:
        return Plan(Layout.STRAIGHT)
    sizes = Sizes(picture, across=rankdir in ("TB", "BT"))
    if layout is Layout.U or (layout is Layout.AUTO and u_pairs(picture, automatic=True)):
        return u_plan(picture, sizes)
    straight = Plan(Layout.STRAIGHT, size=sizes.columns([0]))
    if layout is Layout.STRAIGHT:
        return straight
    if layout is Layout.AUTO and not too_long(straight.size):
        return straight
    best = column_plan(picture, sizes, forced=layout is Layout.COLUMNS)
    return best if best is not None else straight
