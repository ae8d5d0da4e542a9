"""Drawing a checked network as a Graphviz graph (no torch, no forward pass).

A node per layer, labelled as a paper writes it (``conv 3×3 /2, 64``) with its parameters;
edges follow the tensors (each from the layer that makes it to every layer that reads it),
and a tensor's shape is written once, on the edge to its first reader (a fan-out, such as
inception's branches, does not repeat it); blocks, groups, inception modules and residual blocks
as clusters with thin dashed grey borders; inception branches side by side into a concat node; a
residual's shortcut, and every edge that skips ahead (a named tensor read later), as a thicker
solid blue arrow, never to be mistaken for a border. Below ``depth`` a block is one node with its
name, input → output shape, parameters and MACs. A compact legend under the outputs lists what
the picture uses: its layer colours, the skip arrow and the block border. The DOT text is
deterministic.

Example::

    dot = to_dot(spec.checked, spec.name)            # DOT source text
    svg = render_dot(dot, "svg")                     # bytes, via Graphviz's dot program
"""

from __future__ import annotations

import html
import shutil
from typing import Any

import graphviz

from .dataflow import Dataflow
from .ir import Checked, Family, Port, Value
from .program import ProgramFailed, run_program
from .report import human

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
#: the automatic depth keeps at most this many nodes, so a network fits one screen
SCREEN_NODES = 45
FORMATS = ("svg", "png", "pdf", "dot")
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
#: a block's border: thin, dashed and light, so it stays behind the layers and the skips
CLUSTER = {
    "style": "rounded,dashed",
    "color": "#aaaaaa",
    "penwidth": "0.8",
    "fontsize": "10",
    "labeljust": "l",
}
#: a label of several lines: a row a line, padded, so descenders clear the line below
LINES = '<table border="0" cellborder="0" cellspacing="0" cellpadding="1">'
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


def to_dot(root: Checked, title: str, depth: int | None = None, rankdir: str = "TB") -> str:
    """The DOT source of a checked network; ``depth=None`` picks one that fits a screen."""
    if depth is None:
        depth = auto_depth(root)
    g = graphviz.Digraph(name=title)
    g.attr(
        rankdir=rankdir,
        fontname="Helvetica",
        fontsize="11",
        nodesep="0.25",
        ranksep="0.3",
        newrank="true",
        ordering="out",
    )
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
    g.attr(label=_title(root, title), labelloc="t", fontsize="13")
    drawer = _Drawer(depth, root)
    many = len(root.sources) > 1
    with g.subgraph(name="source") as top:  # keeps the inputs above every cluster
        top.attr(rank="source")
        for value in root.sources:
            node = f"input/{value.name}" if many else "input"
            label = f"{value.name if many else 'input'}\n{value.shape.times()}"
            top.node(node, label, shape="oval", fillcolor="white")
            drawer.ports[id(value)] = Port(node, value.shape)
            drawer.unread.add(id(value))
    drawer.order.append("input")
    drawer.sequence(root.children, g)
    scope = root.node.opens
    named = list(scope.outputs) if scope is not None and scope.outputs else []
    outputs = []
    for name, value in zip(named or ["output"], root.results, strict=True):
        node = f"output/{name}" if named else "output"
        g.node(node, f"{name}\n{value.shape.times()}", shape="oval", fillcolor="white")
        drawer.connect([drawer.port(value)], node)
        outputs.append(node)
    # edges go in the top graph: an edge inside a cluster would pull its nodes into it
    for tail, head, attrs in drawer.edges:
        g.edge(tail, head, **attrs)
    _legend(g, drawer, outputs)
    source: str = g.source
    return source


def auto_depth(root: Checked) -> int:
    """The deepest level at which the drawing has at most :data:`SCREEN_NODES` nodes."""
    deepest = max((c.depth for c in root.walk()[1:]), default=1)
    best = 1
    for depth in range(1, deepest + 1):
        if _count(root.children, depth) > SCREEN_NODES:
            break
        best = depth
    return best


def _count(nodes: list[Checked], depth: int) -> int:
    total = 0
    for c in nodes:
        if not c.children or c.depth >= depth:
            total += 1
            continue
        own = c.node.kind.drawn_nodes(c, depth, _count)
        if own is None:
            own = _count(c.children, depth) + (1 if c.node.kind.family is Family.MERGE else 0)
        total += own
    return total


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


class _Drawer:
    def __init__(self, depth: int, root: Checked) -> None:
        self.depth = depth
        self.families: set[Family] = set()
        self.order: list[str] = []  # node ids in drawing order
        self.edges: list[tuple[str, str, dict[str, str]]] = []
        self.labelled: set[tuple[str, str]] = set()  # (node, shape): tensors whose shape is shown
        self.skips = False  # whether any edge skips ahead
        self.unread: set[int] = set()  # the network's inputs no layer has read yet
        self.clusters = False  # whether any block is drawn as a cluster
        self.flow = Dataflow(root)
        #: the drawn node each tensor comes out of, by the tensor's id
        self.ports: dict[int, Port] = {}

    def port(self, value: Value) -> Port:
        return self.ports.get(id(value), Port("input", value.shape))

    def connect(self, ports: list[Port], target: str, skip: bool = False) -> None:
        for port in ports:
            attrs = dict(SKIP_EDGE) if skip else {}
            self.skips |= skip
            shape = port.shape.times()
            if (port.id, shape) not in self.labelled:  # a fan-out says its shape once
                self.labelled.add((port.id, shape))
                attrs = {"label": shape, **attrs}
            self.edges.append((port.id, target, attrs))

    def junction(self, graph: Any, id: str, label: str, **attrs: str) -> None:
        self.families.add(Family.MERGE)
        graph.node(id, label, fillcolor=COLOURS[Family.MERGE], **attrs)
        self.order.append(id)

    def comes_out(self, checked: Checked, ports: list[Port]) -> list[Port]:
        for v, port in zip(checked.results, ports, strict=False):
            self.ports[id(v)] = port
        return [self.ports[id(v)] for v in checked.results]

    def level(self, graph: Any, ids: list[str]) -> None:
        with graph.subgraph() as row:
            row.attr(rank="same")
            for node in ids:
                row.node(node)

    def drawn(self) -> list[str]:
        return self.order

    def at(self, value: Value, port: Port) -> None:
        self.ports[id(value)] = port

    def sequence(self, nodes: list[Checked], g: graphviz.Digraph) -> None:
        for c in nodes:
            self.draw(c, g)

    def draw(self, c: Checked, g: graphviz.Digraph, whole: bool = False) -> list[Port]:
        """Draw ``c``; ``whole`` draws its layers even below the depth limit."""
        if not c.children:
            return self.leaf(c, g)
        if not whole and c.depth >= self.depth:
            return self.collapsed(c, g)
        if whole:
            self.sequence(c.children, g)
            return [self.port(v) for v in c.results]
        self.clusters = True
        with g.subgraph(name=f"cluster_{c.path}") as sub:
            sub.attr(label=_cluster_label(c), **CLUSTER)
            drawn = c.node.kind.draw(c, self, sub)
            if drawn is not None:
                return drawn
            self.sequence(c.children, sub)
            return [self.port(v) for v in c.results]

    def leaf(self, c: Checked, g: graphviz.Digraph) -> list[Port]:
        family = c.node.kind.family
        self.families.add(family)
        notes = [f"{c.params:,} params"] if c.params else []
        g.node(c.path, _label(c.text(), *notes), fillcolor=COLOURS[family], tooltip=c.path)
        return self.placed(c, c.path)

    def placed(self, c: Checked, node: str) -> list[Port]:
        """Connect a drawn node to what it reads; every tensor made inside comes out of it.

        An edge that brings a named tensor from further back skips ahead, and looks it; an
        input's first reader, whatever the order, is where that input goes, not a skip.
        """
        previous = self.order[-1] if self.order else ""
        self.order.append(node)
        chain = None if c.node.sources or not c.sources else c.sources[0]
        for v in self.flow.inputs(c) if self.flow.knows(c) else c.sources:
            port = self.port(v)
            first_read = id(v) in self.unread
            self.unread.discard(id(v))
            skip = v is not chain and port.id != previous and not first_read
            self.connect([port], node, skip=skip)
        for v in c.results:
            self.ports[id(v)] = Port(node, v.shape)
        for made in c.walk()[1:]:
            for v in made.results:
                self.ports.setdefault(id(v), Port(node, v.shape))
        return [self.ports[id(v)] for v in c.results]

    def collapsed(self, c: Checked, g: graphviz.Digraph) -> list[Port]:
        self.families.add(Family.STRUCTURE)
        what = c.text()
        copies = c.node.kind.copies(c)
        if copies is None and len(c.children) == 1:  # a block that is one repeat
            copies = c.children[0].node.kind.copies(c.children[0])
        if copies is not None:
            what = f"{what} ×{copies}"
        name = c.node.name if not c.node.name.isdigit() else ""
        head = f"{name}: {what}" if name else what
        label = _label(
            head,
            f"{c.input.times()} → {c.output.times()}",
            f"{c.params:,} params, {human(c.macs)} MACs",
        )
        g.node(
            c.path, label, fillcolor=COLOURS[Family.STRUCTURE], tooltip=c.path, style="filled,bold"
        )
        return self.placed(c, c.path)


def _cluster_label(c: Checked) -> str:
    name = c.node.name
    what = c.node.label or c.node.kind.name
    if name.isdigit():
        return what if c.node.label else ""
    return f"{name}: {what}" if what not in ("group", name) else name


def _title(root: Checked, title: str) -> str:
    return f"{title}: {root.params:,} params, {human(root.macs)} MACs"


def _label(head: str, *notes: str) -> str:
    """An HTML-like label: ``head`` in bold, each note a smaller line under it.

    One table row a line, not ``<br/>``: Graphviz spaces a ``<br/>`` line by its own font
    alone, so a bold line's underscore or descender (``residual_block``) sat on the smaller line
    below it; a row is as tall as its text's ascent and descent, plus the cell padding.

    >>> _label("relu")
    '<<b>relu</b>>'
    >>> _label("conv 3×3, 64", "36,928 params").count("<tr>")
    2
    """
    if not notes:  # one line: the node's margin and least height keep it clear of the border
        return f"<<b>{_esc(head)}</b>>"
    rows = [f"<tr><td><b>{_esc(head)}</b></td></tr>"]
    rows += [f'<tr><td><font point-size="8">{_esc(note)}</font></td></tr>' for note in notes]
    return f"<{LINES}{''.join(rows)}</table>>"


def _legend(g: graphviz.Digraph, drawer: _Drawer, outputs: list[str]) -> None:
    """One small table node under the outputs, listing only what the picture uses.

    Two columns: the width of a picture stays the graph's (a row of legend nodes beside the
    output made a 200 px graph a 1,000 px picture).
    """
    swatch = 'border="1" color="#555555" style="rounded"'  # outlined, as the nodes are
    cells = [
        f'<td bgcolor="{COLOURS[family]}" {swatch}>{family.value}</td>'
        for family in Family
        if family in drawer.families
    ]
    if drawer.skips:
        arrow = '<font point-size="12"><b>→</b></font>'
        cells.append(f'<td><font color="{SKIP_COLOUR}">{arrow} skip</font></td>')
    if drawer.clusters:
        cells.append(f'<td border="1" style="dashed" color="{CLUSTER["color"]}">block</td>')
    if not cells:
        return
    rows = ["<tr>" + "".join(cells[i : i + 2]) + "</tr>" for i in range(0, len(cells), 2)]
    table = (
        '<<table border="0" cellborder="0" cellspacing="2" cellpadding="2">'
        f"{''.join(rows)}</table>>"
    )
    legend = "/legend"  # no layer's path starts with a slash
    g.node(legend, table, shape="none", style="", fontsize="8", margin="0")
    for node in outputs:  # under every output, so never beside the graph
        g.edge(node, legend, style="invis")


def _esc(text: str) -> str:
    return html.escape(text, quote=False)
