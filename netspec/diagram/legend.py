"""A picture's legend: a small table of what the picture uses, and only that.

The layer colours drawn, the skip arrow, the grey double line from a module to a call of it
(one module run again, :mod:`netspec.kinds.call`), the note-shaped box of a tensor the network
holds (a parameter or a buffer), the block's dashed border and a diff's marks. Two cells a row:
a row of legend nodes beside the outputs made a 200 px graph a 1,000 px picture.

Example::

    legend(Uses(families={Family.CONV}, skips=True))   # '<<table ...>convolution ... skip'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import Family
from .marks import Mark
from .style import CLUSTER, COLOURS, SAME_MODULE, SKIP_COLOUR, esc

#: the words of a held tensor's cell, in this order
HELD = ("parameter", "buffer")
OUTLINED = 'border="1" color="#555555"'


@dataclass(slots=True)
class Uses:
    """What a picture draws that its legend explains."""

    families: set[Family] = field(default_factory=set)
    #: whether an edge skips ahead (blue)
    skips: bool = False
    #: whether a module is tied to a call of it (a grey double line)
    shared: bool = False
    #: the kinds of tensor the network holds that are drawn: "parameter", "buffer"
    held: set[str] = field(default_factory=set)
    #: whether a block is drawn with its layers (a dashed frame)
    frames: bool = False
    marks: set[Mark] = field(default_factory=set)


def legend(uses: Uses) -> str:
    """The legend's HTML-like table, or "" when the picture uses nothing it explains."""
    cells = [
        f'<td bgcolor="{COLOURS[family]}" {OUTLINED} style="rounded">{family.value}</td>'
        for family in Family
        if family in uses.families
    ]
    if uses.skips:
        arrow = '<font point-size="12"><b>→</b></font>'
        cells.append(f'<td><font color="{SKIP_COLOUR}">{arrow} skip</font></td>')
    if uses.shared:  # the line's own grey, doubled as dot draws it
        grey = SAME_MODULE["color"].split(":")[0]
        cells.append(f'<td><font color="{grey}" point-size="12"><b>═</b></font> same module</td>')
    held = [words for words in HELD if words in uses.held]
    if held:  # square, as a note's box is, not rounded as a layer's
        cells.append(f'<td bgcolor="{COLOURS[Family.OTHER]}" {OUTLINED}>{", ".join(held)}</td>')
    if uses.frames:
        cells.append(f'<td border="1" style="dashed" color="{CLUSTER["color"]}">block</td>')
    cells += [mark_cell(mark) for mark in Mark if mark in uses.marks]
    if not cells:
        return ""
    rows = ["<tr>" + "".join(cells[i : i + 2]) + "</tr>" for i in range(0, len(cells), 2)]
    table = '<table border="0" cellborder="0" cellspacing="2" cellpadding="2">'
    return f"<{table}{''.join(rows)}</table>>"


def mark_cell(mark: Mark) -> str:
    """A legend's cell for a diff's mark: its sign and name, bordered as the boxes it marks."""
    style = "dashed" if mark in (Mark.INSIDE, Mark.REMOVED) else "rounded"
    words = f'<font color="{mark.colour}"><b>{esc(mark.sign)} {mark.value}</b></font>'
    return f'<td border="2" color="{mark.colour}" style="{style}">{words}</td>'
