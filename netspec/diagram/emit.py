"""A laid-out picture as DOT text: nodes in their frames, edges, and what keeps them in place.

Frames are Graphviz clusters with thin dashed grey borders; in columns, each column is a
cluster without a border (dot orders what is inside it apart from the other columns), and a
frame that a column break cuts is drawn once in each column, the later parts "(continued)".
Boxes kept level are a ``rank=same`` group in the frame around them, with invisible edges
between them in order. Edges go in the top graph (an edge inside a cluster would pull its nodes
into it). A compact legend goes under the outputs (under a U's bottom). The text is
deterministic: the same picture and plan give the same bytes.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, NamedTuple

import graphviz

from .picture import Box, Picture
from .plan import Layout, Plan
from .sizes import shared_frames
from .style import CLUSTER, NODE_GAP, RANK_GAP, frame_points

#: a container of the DOT text: the top graph (column 0, no frames), or a frame in a column
Key = tuple[int, tuple[str, ...]]
TOP: Key = (0, ())


class Row(NamedTuple):
    """Boxes kept level, left to right in this order."""

    boxes: tuple[str, ...]


LEGEND = "/legend"  # no layer's path starts with a slash
COLUMN = "/column"


def write(picture: Picture, plan: Plan, rankdir: str = "TB") -> str:
    """The DOT source of ``picture`` laid out as ``plan`` says."""
    g = graphviz.Digraph(name=picture.name)
    g.attr(
        rankdir=rankdir,
        fontname="Helvetica",
        fontsize="11",
        nodesep=str(NODE_GAP),
        ranksep=str(RANK_GAP),
        newrank="true",
        ordering="out",
        # a second pass over the clusters undid the order of branches (dot 2.43)
        remincross="false",
    )
    if any("ltail" in line.attrs for line in picture.lines):  # a line from a frame's border
        g.attr(compound="true")
    g.attr(
        "node",
        shape="box",
        style="rounded,filled",
        fontname="Helvetica",
        fontsize="10",
        margin="0.08,0.03",
        height="0.3",
    )
    g.attr("edge", fontname="Helvetica", fontsize="8", color="#555555", arrowsize="0.6")
    g.attr(label=picture.title, labelloc="t", fontsize="13")
    boxes = {box.id: box for box in picture.boxes}
    with g.subgraph(name="source") as top:  # keeps the inputs above every cluster
        top.attr(rank="source")
        for name in picture.inputs:
            top.node(name, boxes[name].label, **boxes[name].attrs)
    _fill(g, picture, _tree(picture, plan), TOP, {})
    _lines(g, picture, plan)
    _legend(g, picture, plan)
    source: str = g.source
    return source


def _tree(picture: Picture, plan: Plan) -> dict[Key, list[Box | Key | Row]]:
    """What each container holds, in drawing order: boxes, frames (in a column), rows."""
    inputs = set(picture.inputs)
    held: dict[Key, list[Box | Key | Row]] = {TOP: []}
    for box in picture.boxes:
        if box.id in inputs:
            continue
        column = plan.columns.get(box.id, 0)
        frames = _frames(box, plan)
        parent = TOP
        for depth in range(1, len(frames) + 1):
            key = (column, frames[:depth])
            if key not in held:
                held[key] = []
                held[parent].append(key)
            parent = key
        held[parent].append(box)
    boxes = {box.id: box for box in picture.boxes}
    for level in picture.levels:  # level in the frame around them, as a kind that draws its
        around = [_frames(boxes[b], plan) for b in level]  # branches would have written it
        common = around[0][: min(shared_frames(around[0], f) for f in around)]
        where: Key = (plan.columns.get(level[0], 0), common) if common else TOP
        held.setdefault(where, []).append(Row(tuple(level)))
    return held


def _frames(box: Box, plan: Plan) -> tuple[str, ...]:
    """A box's frames; in columns, its column's first (a cluster without a border: dot orders
    what is inside a column apart from the others, and kept the order of branches there)."""
    if plan.kind is not Layout.COLUMNS:
        return box.frames
    return (f"{COLUMN}{plan.columns.get(box.id, 0)}", *box.frames)


def _fill(
    g: Any,
    picture: Picture,
    held: dict[Key, list[Box | Key | Row]],
    key: Key,
    parts: dict[str, int],
) -> None:
    """The nodes and clusters inside ``key``; a frame's second part, in another column, is
    ``cluster_PATH~2``, "(continued)"."""
    for item in held[key]:
        if isinstance(item, Box):
            g.node(item.id, item.label, **item.attrs)
            continue
        if isinstance(item, Row):
            _level(g, list(item.boxes))
            continue
        if item[1][-1].startswith(COLUMN):
            with g.subgraph(name=f"cluster_{item[1][-1]}") as sub:
                sub.attr(label="", peripheries="0")
                _fill(sub, picture, held, item, parts)
            continue
        frame = picture.frames[item[1][-1]]
        part = parts.get(frame.id, 0) + 1
        parts[frame.id] = part
        name = f"cluster_{frame.id}" + (f"~{part}" if part > 1 else "")
        text = frame.label + (" (continued)" if part > 1 else "")
        with g.subgraph(name=name) as sub:
            points = str(frame_points(frame.boxes))
            sub.attr(label=text, **{**CLUSTER, "fontsize": points, **frame.attrs})
            _fill(sub, picture, held, item, parts)


def _lines(g: Any, picture: Picture, plan: Plan) -> None:
    """The edges, then what keeps boxes level or columns side by side (invisible edges)."""
    for n, line in enumerate(picture.lines):
        attrs = dict(line.attrs)
        if n in plan.loose:
            attrs["constraint"] = "false"
        if n in plan.turned:  # drawn from head to tail, the arrow back: the head is above
            g.edge(line.head, line.tail, **attrs, dir="back")
        else:
            g.edge(line.tail, line.head, **attrs)
    for level in picture.levels:
        # left to right in this order: invisible edges between them (dot 2.43 put the FPN's
        # lateral convolutions 14, 28, 7, 56 without them; an invisible node above them with an
        # edge to each, in order, undid the order of googlenet's branches)
        for left, right in pairwise(level):
            g.edge(left, right, style="invis")
    for pair in plan.pairs:  # the skip (or the bottom's edge) between them goes left to right
        _level(g, list(pair))
    for row in plan.rows:  # its edges go left to right
        _level(g, row)
    if plan.heads:  # each column starts at the top: its edge from the column before goes
        # up against the flow, and dot turns it, routing it up between the columns
        inputs = set(picture.inputs)
        first = next(box.id for box in picture.boxes if box.id not in inputs)
        _level(g, [first, *plan.heads])


def _level(g: Any, boxes: list[str]) -> None:
    with g.subgraph() as row:
        row.attr(rank="same")
        for box in boxes:
            row.node(box)


def _legend(g: Any, picture: Picture, plan: Plan) -> None:
    """One small table node under the outputs (a U's: under its bottom), never beside them."""
    if not picture.legend:
        return
    g.node(LEGEND, picture.legend, shape="none", style="", fontsize="8", margin="0")
    for node in [plan.legend_under] if plan.legend_under else picture.outputs:
        g.edge(node, LEGEND, style="invis")
