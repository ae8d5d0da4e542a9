"""How a picture looks: colours, fonts, borders, labels, and the sizes they take on the page.

Sizes are estimates in inches, from the fonts below (Helvetica, whose average letter is about
half its size wide): the layout uses them to decide whether a picture is too long for a screen
before Graphviz draws it, so that the DOT text depends on the spec alone.
"""

from __future__ import annotations

import html
import math

from ..ir import Family

#: fill colours by layer family (a colour-blind-safe pastel set)
COLOURS: dict[Family, str] = {
    Family.CONV: "#a6cee3",
    Family.POOL: "#b2df8a",
    Family.NORM: "#fdbf6f",
    Family.ACTIVATION: "#fb9a99",
    Family.LINEAR: "#cab2d6",
    Family.MERGE: "#ffff99",
    Family.STRUCTURE: "#e0e0e0",
    Family.OTHER: "#f5f5f5",
}
#: edges that skip ahead: a residual's shortcut, a named tensor read further on. Solid, blue,
#: thicker and with a bigger arrowhead than a plain edge: never read as a cluster's border
SKIP_COLOUR = "#1f78b4"
SKIP_EDGE = {
    "color": SKIP_COLOUR,
    "fontcolor": SKIP_COLOUR,
    "penwidth": "1.8",
    "arrowsize": "0.8",
    "style": "solid",
}
#: from a layer to a call: of it (the same module run again): a grey double line, without an
#: arrow, free of the layout (constraint false): neither a tensor nor a block's dashed border
SAME_MODULE = {
    "color": "#999999:#ffffff:#999999",
    "penwidth": "1.0",
    "arrowhead": "none",
    "constraint": "false",
}
#: a block's border: thin, dashed and light, so it stays behind the layers and the skips
CLUSTER = {
    "style": "rounded,dashed",
    "color": "#aaaaaa",
    "penwidth": "0.8",
    "fontsize": "10",
    "labeljust": "l",
    "peripheries": "1",  # said, since a column's cluster has none and its clusters inherit
}
#: what a picture of an edited network marks (``netspec render B --diff A``), by the mark's name:
#: the colour of its border and of its note, with a sign that says it without colour
MARK_COLOURS = {
    "added": "#33a02c",
    "changed": "#e66100",
    "removed": "#d7191c",
    "moved": "#6a3d9a",
}
MARK_SIGNS = {"added": "+", "changed": "~", "removed": "−", "moved": ">"}
#: a marked box's border: thick enough to see on a picture shrunk to fit a screen
MARK_WIDTH = "2.5"
#: a block's name grows with the block, so that a big block's name can still be read where the
#: whole picture is shrunk to fit a screen: 10 pt for 8 layers or fewer, 2 pt more each time
#: the count doubles, at most :data:`FRAME_POINTS_MAX`
FRAME_POINTS = 10
FRAME_POINTS_MAX = 24
#: a label of several lines: a row a line, padded, so descenders clear the line below
LINES = '<table border="0" cellborder="0" cellspacing="0" cellpadding="1">'
#: the graph's own settings: the title's font, and the gaps between nodes and ranks (inches)
NODE_GAP = 0.25
RANK_GAP = 0.3
#: a letter's width, as a share of its font size (Helvetica's average, bold a little wider)
LETTER = 0.56
POINT = 1 / 72  # inches


def frame_points(boxes: int) -> int:
    """The font size of a block's name, for a block of ``boxes`` drawn nodes.

    >>> frame_points(3), frame_points(16), frame_points(100_000)
    (10, 12, 24)
    """
    grown = FRAME_POINTS + 2 * math.floor(math.log2(max(boxes, 8) / 8))
    return min(grown, FRAME_POINTS_MAX)


def text_width(text: str, points: float) -> float:
    """About how wide ``text`` is at ``points``, in inches."""
    return len(text) * points * LETTER * POINT


def label(head: str, *notes: str, flag: tuple[str, str] | None = None) -> str:
    """An HTML-like label: ``head`` in bold, each note a smaller line under it.

    One table row a line, not ``<br/>``: Graphviz spaces a ``<br/>`` line by its own font
    alone, so a bold line's underscore or descender (``residual_block``) sat on the smaller line
    below it; a row is as tall as its text's ascent and descent, plus the cell padding.

    >>> label("relu")
    '<<b>relu</b>>'
    >>> label("conv 3×3, 64", "36,928 params").count("<tr>")
    2

    ``flag`` (text, colour): a last line in bold and in that colour, what a diff marks
    (``+ added``).
    """
    if not notes and flag is None:  # one line: the margin and least height keep it clear
        return f"<<b>{esc(head)}</b>>"
    rows = [f"<tr><td><b>{esc(head)}</b></td></tr>"]
    rows += [f'<tr><td><font point-size="8">{esc(note)}</font></td></tr>' for note in notes]
    if flag is not None:
        words, colour = flag
        font = f'<font point-size="8" color="{colour}"><b>{esc(words)}</b></font>'
        rows.append(f"<tr><td>{font}</td></tr>")
    return f"<{LINES}{''.join(rows)}</table>>"


def label_size(head: str, *notes: str, flag: str = "") -> tuple[float, float]:
    """About how much room a :func:`label` takes as a node (margins included), in inches;
    ``flag``: the words of its flag."""
    width = max([text_width(head, 10.5), text_width(flag, 8.5), *(text_width(n, 8) for n in notes)])
    lines = len(notes) + bool(flag)
    height = 0.3 if not lines else 0.06 + 0.15 * (1 + lines)
    return width + 0.2, height


def esc(text: str) -> str:
    return html.escape(text, quote=False)
