"""Drawing a checked network as a Graphviz graph (no torch, no forward pass).

A node per layer, labelled as a paper writes it (``conv 3×3 /2, 64``) with its parameters;
edges follow the tensors (each from the layer that makes it to every layer that reads it),
and a tensor's shape is written once, on the edge to its first reader (a fan-out, such as
inception's branches, does not repeat it); blocks, groups, inception modules and residual blocks
as clusters with thin dashed grey borders, named by their name and what they are (never a bare
"group"); branches, and layers that read nothing from each other, side by side in the spec's
order; a residual's shortcut, and every edge that skips ahead (a named tensor read later), as a
thicker solid blue arrow, never to be mistaken for a border. Below ``depth`` a block is one node
with its name, input → output shape, parameters and MACs. A compact legend under the outputs
lists what the picture uses: its layer colours, the skip arrow and the block border.

A picture too long for a screen is cut into columns, and a U-Net is drawn as a U
(:mod:`.layout`). The DOT text is deterministic, and depends on the spec alone (and, for a
picture of an edit, on the version it is compared with).

A picture of an edited network marks what changed since another version (``netspec render B
--diff A``, :mod:`.marks`): the layers added (a green border), changed (amber: options or
output shape) and moved (purple: renamed, or their index shifted), the blocks drawn as one box
with a change inside (amber, dashed), and the layers removed, drawn where they stood as dashed
red ghosts (:mod:`.ghosts`); each box's flag says what changed, the legend what each mark is.

The parts, each looking back only: :mod:`.style` (colours, fonts, sizes), :mod:`.picture` (what
is drawn), :mod:`.drawer` (a checked network to a picture), :mod:`.layout` (where it goes),
:mod:`.emit` (DOT text), :mod:`.screen` (the depth when none is asked), :mod:`.marks` and
:mod:`.ghosts` (a diff's marks); this module runs Graphviz.

Example::

    dot = to_dot(spec.checked, spec.name)            # DOT source text
    svg = render_dot(dot, "svg")                     # bytes, via Graphviz's dot program
    edit = changes_between(netspec.diff.diff(old, new), old.checked)
    dot = to_dot(new.checked, new.title, changes=edit)  # what changed since old, marked
"""

from __future__ import annotations

import shutil

from ..ir import Checked
from ..program import ProgramFailed, run_program
from .drawer import Depth, draw
from .emit import write
from .layout import arrange
from .marks import Changes, Mark, changes_between
from .plan import Layout
from .screen import SCREEN_NODES, auto_depth
from .style import CLUSTER, COLOURS, SKIP_COLOUR, SKIP_EDGE

__all__ = [
    "CLUSTER",
    "COLOURS",
    "FORMATS",
    "LAYOUTS",
    "SCREEN_NODES",
    "SKIP_COLOUR",
    "SKIP_EDGE",
    "Changes",
    "Depth",
    "GraphvizFailed",
    "GraphvizMissing",
    "Layout",
    "Mark",
    "NoPicture",
    "auto_depth",
    "changes_between",
    "dot_deadline",
    "render_dot",
    "to_dot",
]

FORMATS = ("svg", "png", "pdf", "dot")
#: the layouts by name, for ``netspec render --layout``
LAYOUTS = tuple(layout.value for layout in Layout)
INSTALL_HINT = (
    "Graphviz's `dot` program was not found: install Graphviz "
    "(apt-get install graphviz, brew install graphviz, or graphviz.org/download)"
)
#: dot's deadline: this many seconds, plus :data:`DOT_SECONDS_PER_LINE` for each line of the
#: DOT text (a node, an edge or an attribute a line). The bundled specs, every layer drawn
#: (densenet121: 1,126 lines), take 0.2 s or less, 100 times under it; a drawing dot's layout
#: cannot finish in reasonable time (200 layers each adding to one far back: over 120 s) stops
#: after 10 to 20 s
DOT_SECONDS = 10.0
DOT_SECONDS_PER_LINE = 0.01


class NoPicture(Exception):
    """Graphviz made no picture: its ``dot`` is missing, failed, or ran out of time."""

    #: what to do about it
    hint = ""

    def note(self) -> str:
        """What a notebook shows in the picture's place."""
        return f"no diagram: {self}; the per-layer table is below"


class GraphvizMissing(NoPicture):
    """The ``dot`` program is not installed."""

    def note(self) -> str:
        return f"{self}, then show the spec again to see its diagram"


class GraphvizFailed(NoPicture):
    """``dot`` could not be run, failed, was killed or did not finish by its deadline."""


def to_dot(
    root: Checked,
    title: str,
    depth: int | None = None,
    rankdir: str = "TB",
    layout: Layout | str = Layout.AUTO,
    changes: Changes | None = None,
) -> str:
    """The DOT source of a checked network; ``depth=None`` picks one that fits a screen, and
    ``layout`` (:class:`Layout` or its name) how its parts are placed. ``changes``
    (:func:`changes_between`) marks what changed since another version of the network."""
    shown = auto_depth(root, rankdir) if depth is None else Depth(depth, depth)
    picture = draw(root, title, shown, changes)
    return write(picture, arrange(picture, Layout(layout), rankdir), rankdir)


def render_dot(source: str, fmt: str) -> bytes:
    """Run Graphviz's ``dot`` on DOT source; ``fmt`` is svg, png or pdf.

    ``dot`` runs at most :func:`dot_deadline` seconds; when it is missing, fails or runs out of
    time, a :class:`NoPicture` says so.
    """
    if fmt == "dot":
        return source.encode()
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissing(INSTALL_HINT)
    seconds = dot_deadline(source)
    try:  # the path found: on a failure to start it, no other dot further on PATH is tried
        return run_program([program, f"-T{fmt}"], source.encode(), seconds, "Graphviz's dot")
    except ProgramFailed as e:
        failed = GraphvizFailed(str(e))
        if e.timed_out:
            lines = source.count("\n")
            failed = GraphvizFailed(
                f"{e} (the limit for a graph of {lines:,} lines), and was stopped"
            )
            failed.hint = "draw fewer nodes: --depth 1, or leave out --expand"
        elif not e.started:
            failed.hint = f"check that `{program} -V` runs, or reinstall Graphviz"
        else:
            failed.hint = "draw fewer nodes (--depth 1), or the .dot file with another Graphviz"
        raise failed from e


def dot_deadline(source: str) -> float:
    """The seconds ``dot`` may take to lay out ``source``: :data:`DOT_SECONDS` plus
    :data:`DOT_SECONDS_PER_LINE` a line."""
    return DOT_SECONDS + DOT_SECONDS_PER_LINE * source.count("\n")
