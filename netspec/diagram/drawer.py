"""From a checked network to a :class:`~.picture.Picture`: which boxes, frames and lines.

A node per layer, labelled as a paper writes it (``conv 3×3 /2, 64``) with its parameters;
lines follow the tensors (each from the box that makes it to every box that reads it), and a
tensor's shape is written once, on the line to its first reader. Below ``depth`` a block is
one box with its name and what it is, input → output shape, parameters and MACs. Layers of one
list that read nothing from each other (the branches of an FPN, a network's two heads) are
kept side by side, left to right as the spec writes them.
"""

from __future__ import annotations

from typing import NamedTuple

from ..dataflow import Dataflow
from ..ir import Checked, Family, Port, Shape, Value
from ..report import human
from .ghosts import place_ghosts
from .legend import Uses, legend
from .marks import Changes, Mark
from .picture import Box, Frame, Line, Picture
from .skips import unskip_branches
from .style import COLOURS, MARK_WIDTH, SAME_MODULE, SKIP_EDGE, label, label_size

#: a container that says no more than its kind's name is described by its layers up to this many
SHOWN_LAYERS = 3
SHOWN_CHARACTERS = 40


class Depth(NamedTuple):
    """How far a drawing opens blocks: those above level ``blocks``, and of the blocks that
    hold only layers (no block inside, such as a double conv), those above level ``layers``.

    ``Depth(2, 2)`` is ``--depth 2``; ``Depth(6, 2)`` opens every level of a U-Net and shows
    each double conv as one box.
    """

    blocks: int
    layers: int

    def opens(self, c: Checked) -> bool:
        """Whether the composite ``c`` is drawn with its layers, not as one box."""
        if c.depth >= self.blocks:
            return False
        return c.depth < self.layers or any(k.children for k in c.children)


class Place(NamedTuple):
    """Where a kind draws: inside these frames (what the kinds see as ``graph``)."""

    frames: tuple[str, ...]


def draw(root: Checked, title: str, depth: Depth, changes: Changes | None = None) -> Picture:
    """The picture of a checked network, its blocks opened as far as ``depth`` says;
    ``changes``: what to mark, as changed since another version of it (:mod:`.marks`)."""
    heading = f"{title}: {root.params:,} params, {human(root.macs)} MACs"
    if changes is not None:
        heading += f"\n{changes.summary}"
    drawer = Drawer(depth, root, Picture(title, heading), changes)
    top = Place(())
    many = len(root.sources) > 1
    for value in root.sources:
        node = f"input/{value.name}" if many else "input"
        lines = [value.name if many else "input", value.shape.times()]
        attrs = {"shape": "oval", "fillcolor": "white"}
        drawer.box(top, node, "\n".join(lines), attrs, oval_size(*lines), value.shape)
        drawer.picture.inputs.append(node)
        drawer.ports[id(value)] = Port(node, value.shape)
        drawer.unread.add(id(value))
    drawer.order.append("input")
    drawer.sequence(root.children, top)
    scope = root.node.opens
    named = list(scope.outputs) if scope is not None and scope.outputs else []
    for name, value in zip(named or ["output"], root.results, strict=True):
        node = f"output/{name}" if named else "output"
        lines = [name, value.shape.times()]
        attrs = {"shape": "oval", "fillcolor": "white"}
        drawer.box(top, node, "\n".join(lines), attrs, oval_size(*lines), value.shape)
        drawer.connect([drawer.port(value)], node)
        drawer.picture.outputs.append(node)
    drawer.level(top, drawer.picture.outputs)  # in the spec's order (YOLO's distances came first)
    if changes is not None and place_ghosts(drawer.picture, changes.ghosts):
        drawer.marks.add(Mark.REMOVED)
    drawer.skips = unskip_branches(drawer.picture)
    drawer.picture.legend = drawer.legend()
    return drawer.picture


def count_boxes(root: Checked, depth: Depth) -> int:
    """How many boxes :func:`draw` makes for ``root``'s layers at ``depth`` (inputs, outputs
    and merges of groups left out), without drawing them."""

    def count(nodes: list[Checked], level: int) -> int:
        total = 0
        for c in nodes:
            if not c.children or not Depth(level, depth.layers).opens(c):
                total += 1
                continue
            own = c.node.kind.drawn_nodes(c, level, count)
            if own is None:
                own = count(c.children, level) + (c.node.kind.family is Family.MERGE)
            total += own
        return total

    return count(root.children, depth.blocks)


class Drawer:
    """What the kinds that draw themselves are offered (:class:`netspec.ir.DrawContext`)."""

    def __init__(
        self, depth: Depth, root: Checked, picture: Picture, changes: Changes | None = None
    ) -> None:
        self.depth = depth
        self.picture = picture
        self.changes = changes
        self.marks: set[Mark] = set()  # the marks drawn, for the legend
        self.families: set[Family] = set()
        self.order: list[str] = []  # node ids in drawing order
        self.labelled: set[tuple[str, str]] = set()  # (node, shape): tensors whose shape is shown
        self.skips = False  # whether any edge skips ahead
        self.shared = False  # whether a module is tied to a call of it
        self.held: set[str] = set()  # the kinds of tensor held drawn (parameter, buffer)
        self.unread: set[int] = set()  # the network's inputs no layer has read yet
        self.flow = Dataflow(root)
        #: the drawn node each tensor comes out of, by the tensor's id
        self.ports: dict[int, Port] = {}

    def box(
        self,
        place: Place,
        id: str,
        text: str,
        attrs: dict[str, str],
        size: tuple[float, float],
        shape: Shape | None = None,
    ) -> None:
        """A node in the picture, inside ``place``'s frames, about ``size`` inches large."""
        self.picture.boxes.append(Box(id, text, attrs, place.frames, size, shape))
        for frame in place.frames:
            self.picture.frames[frame].boxes += 1

    def port(self, value: Value) -> Port:
        return self.ports.get(id(value), Port("input", value.shape))

    def connect(
        self, ports: list[Port], target: str, skip: bool = False, found: bool = False
    ) -> None:
        for port in ports:
            attrs = dict(SKIP_EDGE) if skip else {}
            self.skips |= skip
            shape = port.shape.times()
            if (port.id, shape) not in self.labelled:  # a fan-out says its shape once
                self.labelled.add((port.id, shape))
                attrs = {"label": shape, **attrs}
            self.picture.lines.append(Line(port.id, target, attrs, skip, found and skip))

    def junction(self, graph: Place, id: str, label: str, **attrs: str) -> None:
        self.families.add(Family.MERGE)
        attrs = {"fillcolor": COLOURS[Family.MERGE], **attrs}
        if self.changes is not None and self.changes.is_added(id.partition("/")[0]):
            attrs.update(color=Mark.ADDED.colour, penwidth=MARK_WIDTH)  # a new block's merge
        self.box(graph, id, label, attrs, label_size(label))
        self.order.append(id)

    def comes_out(self, checked: Checked, ports: list[Port]) -> list[Port]:
        for v, port in zip(checked.results, ports, strict=False):
            self.ports[id(v)] = port
        return [self.ports[id(v)] for v in checked.results]

    def level(self, graph: Place, ids: list[str]) -> None:
        if len(ids) > 1:
            self.picture.levels.append(list(ids))

    def drawn(self) -> list[str]:
        return self.order

    def at(self, value: Value, port: Port) -> None:
        self.ports[id(value)] = port

    def sequence(self, nodes: list[Checked], graph: Place) -> None:
        """Draw a list of layers; a run of them that read nothing from each other side by side."""
        for run in self.runs(nodes):
            firsts = []
            for c in run:
                before = len(self.order)
                self.draw(c, graph)
                if len(self.order) > before:
                    firsts.append(self.order[before])
            self.level(graph, firsts)

    def runs(self, nodes: list[Checked]) -> list[list[Checked]]:
        """``nodes`` cut where a layer reads a tensor made by an earlier one of its run."""
        runs: list[list[Checked]] = []
        made: set[int] = set()
        for c in nodes:
            reads = self.flow.inputs(c) if self.flow.knows(c) else c.sources
            if runs and not any(id(v) in made for v in reads):
                runs[-1].append(c)
            else:
                runs.append([c])
                made = set()
            made |= self.flow.made(c)
        return runs

    def draw(self, c: Checked, graph: Place, whole: bool = False) -> list[Port]:
        """Draw ``c``; ``whole`` draws its layers even below the depth limit."""
        if not c.children:
            return self.leaf(c, graph)
        if not whole and not self.depth.opens(c):
            return self.collapsed(c, graph)
        if whole:
            self.sequence(c.children, graph)
            return [self.port(v) for v in c.results]
        self.picture.frames[c.path] = self.frame(c)
        inside = Place((*graph.frames, c.path))
        drawn = c.node.kind.draw(c, self, inside)
        if drawn is not None:
            return drawn
        self.sequence(c.children, inside)
        return [self.port(v) for v in c.results]

    def leaf(self, c: Checked, graph: Place, layer: Checked | None = None) -> list[Port]:
        """A layer's box; ``layer``: the one layer a collapsed block ``c`` holds, drawn as
        that layer with the block's name (``inner_blocks.0: conv 1×1, 256``)."""
        reuse = (layer or c).node.reuses  # a call: drawn as its layer, dashed
        family = (reuse.layer if reuse else (layer or c).node).kind.family
        held = c.node.kind.holds_tensor  # a tensor the network holds: data, not an operation
        if held:
            self.held.add(held)
        else:
            self.families.add(family)
        notes = [f"{c.params:,} params"] if c.params else []
        notes += (layer or c).node.kind.notes(layer or c)
        head = c.text() if layer is None else f"{block_name(c)}: {layer.text()}"
        attrs = {"fillcolor": COLOURS[family], "tooltip": c.path}
        if reuse is not None:
            attrs["style"] = "rounded,filled,dashed"
        if held:
            attrs.update(shape="note", style="filled")
            head = f"{c.node.name}: {head}" if c.node.given else head
        flag = self.marked(c, attrs)
        text = label(head, *notes, flag=flag)
        size = label_size(head, *notes, flag=flag[0] if flag else "")
        self.box(graph, c.path, text, attrs, size, c.output)
        if reuse is not None and reuse.layer.checked is not None:
            self.same_module(reuse.layer.checked.path, c.path)
        return self.placed(c, c.path)

    def same_module(self, first: str, call: str) -> None:
        """A double line to a box that calls a module again, from its layer's box, or from the
        frame of its block drawn with its layers (the line leaves the frame's border: a head
        shared by the levels of a pyramid); it moves neither."""
        boxes = self.picture.boxes
        attrs = dict(SAME_MODULE)
        if not any(box.id == first for box in boxes):
            inside = next((box.id for box in boxes if first in box.frames), None)
            if inside is None:
                return
            first, attrs["ltail"] = inside, f"cluster_{first}"
        self.picture.lines.append(Line(first, call, attrs))
        self.shared = True

    def placed(self, c: Checked, node: str) -> list[Port]:
        """Connect a drawn node to what it reads; every tensor made inside comes out of it.

        An edge that brings a named tensor from further back skips ahead, and looks it; an
        input's first reader, whatever the order, is where that input goes, not a skip.
        """
        previous = self.order[-1] if self.order else ""
        holds = bool(c.node.kind.holds_tensor)  # reads nothing, and is no step of the chain
        if not holds:
            self.order.append(node)
        chain = None if c.node.sources or not c.sources else c.sources[0]
        for v in [] if holds else self.flow.inputs(c) if self.flow.knows(c) else c.sources:
            port = self.port(v)
            first_read = id(v) in self.unread
            self.unread.discard(id(v))
            held = v.producer is not None and v.producer.node.kind.holds_tensor
            skip = v is not chain and port.id != previous and not first_read and not held
            self.connect([port], node, skip=skip, found=True)
        for v in c.results:
            self.ports[id(v)] = Port(node, v.shape)
        for made in c.walk()[1:]:
            for v in made.results:
                self.ports.setdefault(id(v), Port(node, v.shape))
        return [self.ports[id(v)] for v in c.results]

    def collapsed(self, c: Checked, graph: Place) -> list[Port]:
        if len(c.children) == 1 and not c.children[0].children:
            return self.leaf(c, graph, c.children[0])
        self.families.add(Family.STRUCTURE)
        lines = (
            box_head(c),
            f"{c.input.times()} → {c.output.times()}",
            f"{c.params:,} params, {human(c.macs)} MACs",
        )
        attrs = {"fillcolor": COLOURS[Family.STRUCTURE], "tooltip": c.path, "style": "filled,bold"}
        flag = self.marked(c, attrs)
        size = label_size(*lines, flag=flag[0] if flag else "")
        self.box(graph, c.path, label(*lines, flag=flag), attrs, size, c.output)
        return self.placed(c, c.path)

    def marked(self, c: Checked, attrs: dict[str, str]) -> tuple[str, str] | None:
        """The flag of ``c``'s box, where a diff marks it; its border in the mark's colour."""
        found = self.changes.mark(c.path, bool(c.children)) if self.changes else None
        if found is None:
            return None
        self.marks.add(found.mark)
        attrs.update(color=found.mark.colour, penwidth=MARK_WIDTH)
        attrs["tooltip"] = f"{c.path}: {found.detail}"
        if found.mark is Mark.INSIDE:
            attrs["style"] = attrs.get("style", "rounded,filled") + ",dashed"
        return found.flag, found.mark.colour

    def frame(self, c: Checked) -> Frame:
        """The frame of a block drawn with its layers; a diff's mark on its border and name."""
        frame = Frame(c.path, frame_label(c))
        found = self.changes.mark(c.path) if self.changes else None
        if found is not None:
            self.marks.add(found.mark)
            frame.label += f"   {found.flag}"
            frame.attrs = {"color": found.mark.colour, "fontcolor": found.mark.colour}
            frame.attrs.update(style="rounded", penwidth="2")
        return frame

    def legend(self) -> str:
        """The legend of what this picture uses (:mod:`.legend`)."""
        frames = bool(self.picture.frames)
        return legend(Uses(self.families, self.skips, self.shared, self.held, frames, self.marks))


def block_name(c: Checked) -> str:
    """A block's name as its state_dict keys say it: ``layer1``; a copy or an unnamed layer
    with the names above it back to a written one: ``inner_blocks.0``, ``features.3``."""
    parts = c.path.split(".")
    first = len(parts) - 1
    while first > 0 and parts[first].isdigit():
        first -= 1
    return ".".join(parts[first:])


def what(c: Checked) -> str:
    """What a block is: its block's name (``stage``), its kind's words (``repeat ×4``), or,
    for a container whose kind says only its name (``group``), the layers it holds:
    ``conv 1×1, 256``, ``linear 10 → relu``, ``conv 7×7 /2, 64 … (4 layers)``."""
    text = c.text()
    if c.node.label or text != c.node.kind.name or not c.children:
        return text
    if len(c.children) == 1:
        return what(c.children[0])
    layers = [k.text() for k in c.children[:SHOWN_LAYERS] if not k.children]
    joined = " → ".join(layers)
    if len(layers) == len(c.children) and len(joined) <= SHOWN_CHARACTERS:
        return joined
    first = what(c.children[0])
    if len(first) > SHOWN_CHARACTERS // 2:
        return f"{len(c.children)} layers"
    return f"{first} … ({len(c.children)} layers)"


def box_head(c: Checked) -> str:
    """A collapsed block's first line: ``layer1: bottleneck_stage ×3``,
    ``inner_blocks: conv 1×1, 256 ×4``, ``stem: conv 7×7 /2, 64 … (4 layers)``."""
    copies = c.node.kind.copies(c)
    text = what(c)
    if copies is not None and not c.node.label and c.children:
        text = what(c.children[0])  # a repeat: what it repeats, and how often
    elif copies is None and len(c.children) == 1:  # a block that is one repeat
        copies = c.children[0].node.kind.copies(c.children[0])
    return (
        f"{block_name(c)}: {text} ×{copies}" if copies is not None else f"{block_name(c)}: {text}"
    )


def frame_label(c: Checked) -> str:
    """A frame's name: the block's name, with what it is unless that says no more than the
    name (``level: level``) or than the layers drawn inside (``fpn: group``)."""
    name, text = block_name(c), c.text()
    if text == name or (not c.node.label and text == c.node.kind.name):
        return name
    return f"{name}: {text}"


def oval_size(*lines: str) -> tuple[float, float]:
    """About how large an input's or output's oval is (wider than the text it holds)."""
    width, _ = label_size(max(lines, key=len))
    return width * 1.4, 0.5
