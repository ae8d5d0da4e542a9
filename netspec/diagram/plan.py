"""A layout's vocabulary: the layouts there are, the plan one makes, and what fits a screen.

Example::

    fit((8.0, 20.0))      # 0.52: a picture 8 × 20 inches, shrunk to a screen's height
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

#: a screen in the picture's inches: 1600 × 1000 pixels, at 4/3 pixels a point
SCREEN = (16.7, 10.4)
#: the least scale at which a picture shrunk to fit a screen can be read (10 pt → 10 px)
READABLE = 0.75
#: a picture longer than this many times its width is cut into columns, if that fits better
THIN = 2.0


class Layout(enum.Enum):
    """How to lay a picture out (``netspec render --layout``)."""

    AUTO = "auto"  # a U where there is one, columns where one column is too long
    STRAIGHT = "straight"  # one column (one row, with --rankdir LR)
    COLUMNS = "columns"
    U = "u"


@dataclass(slots=True)
class Plan:
    """A layout decided: what to tell Graphviz besides the picture itself."""

    kind: Layout
    #: the column of each box not in the first, by id (:attr:`Layout.COLUMNS`)
    columns: dict[str, int] = field(default_factory=dict)
    #: the first box of each column after the first, left to right
    heads: list[str] = field(default_factory=list)
    #: lines (by index) drawn against the flow, so that their head is above their tail (U)
    turned: set[int] = field(default_factory=set)
    #: lines (by index) that do not hold boxes apart (between columns)
    loose: set[int] = field(default_factory=set)
    #: lines (by index) from a column's foot to the next one's head (which is level with the
    #: first column's head: dot turns these lines, routing them up between the columns)
    bridges: set[int] = field(default_factory=set)
    #: pairs of boxes kept level, the first on the left (a U's skips)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    #: boxes drawn in a row, left to right (a long U's blocks of layers)
    rows: list[list[str]] = field(default_factory=list)
    #: the box the legend goes under (a U's bottom), or "" for under the outputs
    legend_under: str = ""
    #: the estimated size in inches, width and height
    size: tuple[float, float] = (0.0, 0.0)


def too_long(size: tuple[float, float]) -> bool:
    """Whether a picture of ``size`` inches is a strip: thin, and unreadable fitted to a screen."""
    return max(size) > THIN * min(size) and fit(size) < READABLE


def fit(size: tuple[float, float]) -> float:
    """The scale at which a picture of ``size`` inches fits a screen."""
    return min(SCREEN[0] / max(size[0], 0.1), SCREEN[1] / max(size[1], 0.1))
