"""What a diff of two networks says: the data, apart from how it is found and how it is shown.

A :class:`Diff` holds both sides' totals (:class:`Side`), the layers that were added, removed,
changed or moved (:class:`LayerChange`), every ``state_dict`` key with what happens to it
(:class:`KeyDiff`), and the renames (:class:`Rename`) that would carry the weights of moved
layers. :func:`apply_renames` is how a loader applies them, so that the diff and the loader
agree on which keys carry.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..ir import Shape


class Change(enum.Enum):
    """What happened to a layer between the two networks."""

    ADDED = "added"  # only in b
    REMOVED = "removed"  # only in a
    CHANGED = "changed"  # in both (aligned), with other options, kind or shapes
    MOVED = "moved"  # in both, the same, at another path (an index shifted, a name changed)


class Aspect(enum.Enum):
    """What differs between the two sides of a changed layer."""

    KIND = "kind"
    BLOCK = "block"  # the block it calls
    OPTION = "option"
    FROM = "from"
    TO = "to"
    INPUT = "input"
    OUTPUT = "output"
    PLACE = "place"  # its place among the layers beside it (from 0), where two swapped


class KeyStatus(enum.Enum):
    """What loading a's ``state_dict`` into b by name does to a key (as ``load_state_dict``)."""

    SAME = "same"  # in both, of one shape: carries over as is
    RESHAPED = "reshaped"  # in both, of other shapes
    ADDED = "added"  # only in b: b's fresh initialisation
    REMOVED = "removed"  # only in a: dropped
    UNKNOWN = "unknown"  # under a layer whose keys one side cannot know (a plugin's kind)


@dataclass(frozen=True, slots=True)
class Side:
    """One network's totals: where it comes from, its inputs and outputs, params, MACs, keys."""

    title: str
    file: str
    inputs: tuple[tuple[str, Shape], ...]
    outputs: tuple[tuple[str, Shape], ...]
    params: int
    macs: int
    buffers: int
    keys: int


@dataclass(frozen=True, slots=True)
class Layer:
    """One side's layer, as the diff shows it: ``at`` is ``file:line:col`` where it is written."""

    path: str
    kind: str
    text: str
    input: Shape
    outputs: tuple[Shape, ...]
    params: int
    macs: int
    at: str


@dataclass(frozen=True, slots=True)
class Difference:
    """One thing that differs: ``name`` is the option's (empty for other aspects); ``old`` and
    ``new`` are JSON values (a shape as a list, an option as the file writes it)."""

    aspect: Aspect
    name: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class LayerChange:
    """A layer added (``old`` None), removed (``new`` None), changed or moved; ``within`` is
    the path in b of the layer that holds it ("" for the network), a removed one's too."""

    change: Change
    old: Layer | None
    new: Layer | None
    differences: tuple[Difference, ...] = ()
    within: str = ""


@dataclass(frozen=True, slots=True)
class KeyDiff:
    """A ``state_dict`` key: b's, or one only a has (``status`` REMOVED).

    ``status`` is by name alone. ``renamed`` is, for b's key, the key of a that the proposed
    renames load into it where that is another key, and for a key only a has, where they move
    it. ``carries``: with the renames, the key gets a's tensor of the same shape (b's key), or
    a's tensor goes to a key of its shape (a's key).
    """

    key: str
    status: KeyStatus
    old: Shape | None
    new: Shape | None
    renamed: str | None
    carries: bool


@dataclass(frozen=True, slots=True)
class Rename:
    """Keys of a that start with ``old`` get ``new`` in its place; ``keys`` of them carry."""

    old: str
    new: str
    keys: int


@dataclass(frozen=True, slots=True)
class Unknown:
    """A layer whose keys its side cannot know (a plugin's kind that does not say)."""

    side: str  # "a" or "b"
    path: str
    kind: str


@dataclass(frozen=True, slots=True)
class Diff:
    """Everything :func:`netspec.diff.diff` finds; :attr:`same` when the networks are one."""

    a: Side
    b: Side
    layers: tuple[LayerChange, ...]
    keys: tuple[KeyDiff, ...]
    renames: tuple[Rename, ...]
    unknown: tuple[Unknown, ...]

    @property
    def same(self) -> bool:
        """No layer differs, and the inputs and outputs are the same (names, order, shapes)."""
        io = (self.a.inputs, self.a.outputs) == (self.b.inputs, self.b.outputs)
        return io and not self.layers

    def count(self, status: KeyStatus) -> int:
        """How many keys have ``status``."""
        return sum(k.status is status for k in self.keys)

    @property
    def carried(self) -> int:
        """b's keys that get a's tensor with the renames."""
        return sum(k.carries for k in self.keys if k.new is not None)

    @property
    def misplaced(self) -> int:
        """b's keys that load by name, yet from another layer of a (its name was shifted onto
        it): what an index-numbered checkpoint loads silently after an inserted row."""
        return sum(
            k.status is KeyStatus.SAME and (k.renamed is not None or not k.carries)
            for k in self.keys
        )

    def by_path(self) -> dict[str, LayerChange]:
        """The changes of b's layers by their path (added, changed, moved; not removed): what
        a diagram of b marks, and what a hover on one of b's layers says."""
        return {c.new.path: c for c in self.layers if c.new is not None}

    def touched(self) -> set[str]:
        """The paths of b's layers that hold a change at any depth (a removed layer's
        included), the network ("") too when anything changed: the collapsed blocks a
        diagram marks."""
        found: set[str] = set()
        for c in self.layers:
            path = c.within
            while path not in found:
                found.add(path)
                if not path:
                    break
                path = path.rpartition(".")[0]
        return found

    def changes(self, change: Change) -> list[LayerChange]:
        return [c for c in self.layers if c.change is change]


def apply_renames(keys: Iterable[str], renames: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Where each of a's ``keys`` goes under ``renames``, all applied at once (``model.16 →
    model.17`` and ``model.17 → model.18`` shift two layers; neither is applied twice): a map
    from the new key to a's key. A key a rename moves takes precedence over one that keeps a
    name that was moved away from under it.

    >>> apply_renames(["0.weight", "1.weight"], [("0", "1")])
    {'1.weight': '0.weight'}
    """
    table = dict(renames)
    out: dict[str, str] = {}
    kept: dict[str, str] = {}
    for key in keys:
        found = renamed_by(key, table)
        if found is None:
            kept[key] = key
        else:
            out[found[1]] = key
    for new, key in kept.items():
        out.setdefault(new, key)
    return out


def renamed_by(key: str, table: dict[str, str]) -> tuple[str, str] | None:
    """The longest old prefix in ``table`` that ``key`` starts with (whole names between
    dots), and ``key`` renamed by it; None where none applies. A walk over the key's prefixes,
    not over the renames: the same time for one rename or ten thousand.

    >>> renamed_by("model.16.conv.weight", {"model.16": "model.17", "model.1": "x"})
    ('model.16', 'model.17.conv.weight')
    """
    end = len(key)
    while end > 0:
        new = table.get(key[:end])
        if new is not None:
            return key[:end], new + key[end:]
        end = key.rfind(".", 0, end)
    return None
