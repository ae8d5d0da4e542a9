"""What a diagram holds before it is laid out: boxes, the frames around them, the lines between.

The drawer (:mod:`.drawer`) makes a :class:`Picture` from a checked network; the layout
(:mod:`.layout`) decides where its parts go (one column, several, a U); the writer
(:mod:`.emit`) turns both into DOT text. None of them runs Graphviz.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import Shape


@dataclass(eq=False, slots=True)
class Box:
    """A drawn node: a layer, a block drawn as one node, a merge, an input or an output."""

    id: str
    label: str
    attrs: dict[str, str]
    #: the frames it is drawn in, outermost first
    frames: tuple[str, ...]
    #: about how wide and tall it is drawn, in inches
    size: tuple[float, float]
    #: the tensor it makes (the first, for a block with several outputs)
    shape: Shape | None = None


@dataclass(eq=False, slots=True)
class Frame:
    """A block drawn with its layers inside a thin dashed border (a Graphviz cluster)."""

    id: str
    label: str
    #: the drawn nodes inside it, nested frames' included
    boxes: int = 0
    #: its border's own look, over the usual (a diff's mark)
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class Line:
    """An edge: a tensor from the box that makes it to a box that reads it."""

    tail: str
    head: str
    attrs: dict[str, str]
    #: whether it goes around something (a shortcut, a named tensor read further on)
    skip: bool = False
    #: a skip the drawer found from the order (a tensor read from further back than the box
    #: drawn before), not one a kind said (a residual's shortcut): :mod:`.skips` checks it
    found: bool = False


@dataclass(eq=False, slots=True)
class Picture:
    """A network's drawing, in the order its boxes were drawn (the spec's order)."""

    #: the network's name, and the heading over the picture (with its totals)
    name: str
    title: str
    boxes: list[Box] = field(default_factory=list)
    frames: dict[str, Frame] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    #: boxes kept side by side, left to right in this order (branches, parallel layers)
    levels: list[list[str]] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    #: the legend's label (an HTML-like table), or "" when the picture needs none
    legend: str = ""

    def index(self) -> dict[str, int]:
        """Each box's place in the drawing order."""
        return {box.id: i for i, box in enumerate(self.boxes)}
