"""What a picture of an edited network marks: the layers added, changed or moved since another
version, the collapsed blocks with a change inside, and the layers removed, drawn as ghosts
where they stood (``netspec render B --diff A``).

:func:`changes_between` reads a :class:`netspec.diff.Diff` (from a to b) and a's checked
network (where each removed layer stood among its neighbours); the drawer asks
:meth:`Changes.mark` for each of b's boxes and frames, and :mod:`.ghosts` draws the removed
layers. The marks are data; how they look is :mod:`.style`'s.

Example::

    d = diff(a, b)
    dot = to_dot(b.checked, b.title, changes=changes_between(d, a.checked))
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..diff.model import (  # the diff's data, not how it is found (which knows Spec)
    Aspect,
    Change,
    Diff,
    Difference,
    KeyStatus,
    LayerChange,
    renamed_by,
)
from ..diff.text import format_change
from ..errors import printable
from ..ir import Checked, Shape
from .style import MARK_COLOURS, MARK_SIGNS

#: a flag longer than this is cut (the whole change is the box's tooltip)
FLAG_CHARACTERS = 44


class Mark(enum.Enum):
    """What a box or a frame of b is marked as."""

    ADDED = "added"
    CHANGED = "changed"
    INSIDE = "changed inside"  # a collapsed block holding a change
    MOVED = "moved"  # renamed, or its index shifted: its keys load from elsewhere
    REMOVED = "removed"  # a ghost: only a has it

    @property
    def colour(self) -> str:
        return MARK_COLOURS[self.value.rpartition(" ")[0] or self.value]

    @property
    def sign(self) -> str:
        return MARK_SIGNS[self.value.rpartition(" ")[0] or self.value]


@dataclass(frozen=True, slots=True)
class Marked:
    """A mark, the flag a box shows (``+ added``, ``~ out 64 → 128``, ``> was model.16``) and
    the whole change in a line (its tooltip)."""

    mark: Mark
    flag: str
    detail: str


@dataclass(frozen=True, slots=True)
class Ghost:
    """A layer only a has, to draw where it stood: in b's ``within`` (a path of b, "" for the
    network), between b's layers ``after`` and ``before`` (None: the first, or the last)."""

    path: str
    head: str
    params: int
    within: str
    after: str | None
    before: str | None


@dataclass(frozen=True)
class Changes:
    """What a picture of b marks, against ``against`` (``resnet (specs/resnet.yaml)``);
    ``summary`` is a line under the picture's title."""

    against: str
    summary: str
    marked: dict[str, Marked]
    #: the paths of b's added layers (what is drawn inside one is added too)
    added: frozenset[str]
    #: b's layers that hold a change at any depth, each with what is inside: ``1 added``
    inside: dict[str, str]
    ghosts: tuple[Ghost, ...]

    def mark(self, path: str, collapsed: bool = False) -> Marked | None:
        """The mark of b's box or frame ``path``; ``collapsed``: a block drawn as one box,
        marked when anything inside it changed."""
        found = self.marked.get(path)
        inside = self.inside.get(path, "") if collapsed else ""
        if found is not None:
            if inside and found.mark is Mark.MOVED:
                flag = shorten(f"{found.flag}; inside: {inside}")
                return Marked(Mark.MOVED, flag, f"{found.detail}; inside: {inside}")
            return found
        if self.added and self.under_added(path):
            return Marked(Mark.ADDED, f"{Mark.ADDED.sign} added", "added")
        if inside:
            flag = shorten(f"{Mark.CHANGED.sign} inside: {inside}")
            return Marked(Mark.INSIDE, flag, f"inside: {inside}")
        return None

    def is_added(self, path: str) -> bool:
        """Whether b's layer ``path`` is added, or inside an added layer."""
        return path in self.added or self.under_added(path)

    def under_added(self, path: str) -> bool:
        """Whether ``path`` is inside one of b's added layers."""
        while path:
            path = path.rpartition(".")[0]
            if path in self.added:
                return True
        return False


def changes_between(d: Diff, old: Checked, against: str = "") -> Changes:
    """What a picture of ``d``'s b marks; ``old`` is a's checked network, ``against`` how
    the picture names a (default: its title and file)."""
    against = against or f"{d.a.title} ({d.a.file})"
    owners = key_owners(d)  # a layer without weights that moved loses nothing: not marked
    marked = {
        c.new.path: _marked(c)
        for c in d.layers
        if c.new is not None and (c.change is not Change.MOVED or c.new.path in owners)
    }
    added = frozenset(c.new.path for c in d.layers if c.new and c.change is Change.ADDED)
    return Changes(
        printable(against),
        summary(d, printable(against)),
        marked,
        added,
        _inside([c for c in d.layers if c.new is None or c.new.path in marked]),
        tuple(ghosts(d, old)),
    )


def _inside(changes: list[LayerChange]) -> dict[str, str]:
    """For each layer holding a change at any depth, what changed inside it, in words."""
    counts: dict[str, dict[Change, int]] = {}
    for c in changes:
        path: str | None = c.within
        while path is not None:
            held = counts.setdefault(path, {})
            held[c.change] = held.get(c.change, 0) + 1
            path = path.rpartition(".")[0] if path else None
    return {
        path: ", ".join(f"{held[c]:,} {c.value}" for c in Change if c in held)
        for path, held in counts.items()
    }


def key_owners(d: Diff) -> set[str]:
    """The paths of b's layers that hold a ``state_dict`` key (at any depth)."""
    found: set[str] = set()
    for k in d.keys:
        path = k.key if k.new is not None else ""
        while "." in path:
            path = path.rpartition(".")[0]
            if path in found:
                break
            found.add(path)
    return found


def _marked(c: LayerChange) -> Marked:
    detail = printable(format_change(c))
    if c.change is Change.ADDED:
        return Marked(Mark.ADDED, f"{Mark.ADDED.sign} added", detail)
    if c.change is Change.MOVED:
        assert c.old is not None
        return Marked(Mark.MOVED, shorten(f"{Mark.MOVED.sign} was {printable(c.old.path)}"), detail)
    return Marked(Mark.CHANGED, shorten(f"{Mark.CHANGED.sign} {flag(c.differences)}"), detail)


def flag(differences: Sequence[Difference]) -> str:
    """What changed, as short as a box's flag can say it: the options (``out 16 → 32``),
    else the shape (``output 16×1×1 → 32×1×1``; the input where only it changed: a layer's
    weights follow it).

    >>> flag([Difference(Aspect.OPTION, "out", 16, 32), Difference(Aspect.OUTPUT, "", [[16]],
    ...       [[32]])])
    'out 16 → 32'
    """
    said = [_said(x) for x in differences if x.aspect not in (Aspect.INPUT, Aspect.OUTPUT)]
    if said:
        return ", ".join(said)
    shapes = {x.aspect: x for x in differences}
    x = shapes.get(Aspect.OUTPUT) or shapes.get(Aspect.INPUT)
    if x is None:
        return "changed"
    old, new = (Shape(tuple(dims[0])).times() if dims else "()" for dims in (x.old, x.new))
    return f"{x.aspect.value} {old} → {new}"


def _said(x: Difference) -> str:
    if x.aspect is Aspect.PLACE:
        return f"moved from place {x.old} to {x.new}"
    name = printable(x.name) if x.aspect is Aspect.OPTION else x.aspect.value
    return f"{name} {_value(x.old)} → {_value(x.new)}"


def _value(value: Any) -> str:
    """An option's JSON value as YAML's flow style writes it: ``[3, 3]``, ``true``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    return printable(str(value)) if value != "" else '""'


def shorten(text: str) -> str:
    """``text`` cut to :data:`FLAG_CHARACTERS`, an ellipsis where it was cut.

    >>> shorten("~ out 8 → 16")
    '~ out 8 → 16'
    """
    if len(text) <= FLAG_CHARACTERS:
        return text
    return text[: FLAG_CHARACTERS - 1] + "…"


def summary(d: Diff, against: str) -> str:
    """A line on what changed: ``since resnet (resnet.yaml): 1 added, 2 changed; params
    +1,234; 120 of 122 keys load by name``."""
    if d.same:
        return f"the same as {against}"
    counts = [f"{len(d.changes(c)):,} {c.value}" for c in Change if d.changes(c)]
    params = d.b.params - d.a.params
    signed = f"{params:+,}" if params else "±0"
    loaded = d.count(KeyStatus.SAME) - d.misplaced
    words = ", ".join(counts) or "inputs or outputs changed"
    keys = f"{loaded:,} of {d.b.keys:,} keys load by name"
    return f"since {against}: {words}; params {signed}; {keys}"


def ghosts(d: Diff, old: Checked) -> list[Ghost]:
    """a's removed layers, each between the layers of b that stood around it in a (its
    nearest neighbours in a that b still has), in a's order."""
    removed = {c.old.path: c for c in d.changes(Change.REMOVED) if c.old is not None}
    if not removed:
        return []
    table = {c.old.path: c.new.path for c in d.layers if c.old and c.new}
    parent: dict[str, Checked] = {}
    for c in old.walk():
        for k in c.children:
            parent[k.path] = c
    found = []
    for path, change in removed.items():
        assert change.old is not None
        siblings = [k.path for k in parent[path].children] if path in parent else [path]
        i = siblings.index(path)
        kept = [p if p not in removed else None for p in siblings]
        after = next((p for p in reversed(kept[:i]) if p is not None), None)
        before = next((p for p in kept[i + 1 :] if p is not None), None)
        layer = change.old
        name = path.rpartition(".")[2]
        text = printable(layer.text)
        head = text if name.isdigit() or name == text else f"{printable(name)}: {text}"
        ends = _in_b(after, table), _in_b(before, table)
        found.append(Ghost(path, head, layer.params, change.within, *ends))
    return found


def _in_b(path: str | None, table: dict[str, str]) -> str | None:
    """The path in b of a's layer ``path``: its own, or that of the layer around it renamed."""
    if path is None:
        return None
    found = renamed_by(path, table)
    return path if found is None else found[1]
