"""What loading a checkpoint did with each key: the data, apart from how it is found
(:mod:`netspec.transfer.load`) and shown (:mod:`netspec.transfer.text`).

A :class:`TransferReport` holds every key (:class:`KeyFate`) with its fate, placed at the
spec's layer that holds it; :meth:`TransferReport.groups` gathers the keys of one fate under
the widest name that holds no other (:class:`Group`: ``model.16.*``), so that a report of 400
keys stays short.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from ..diff.model import Rename
from ..ir import Checked
from ..renaming import RenameRule

Dims = tuple[int, ...]


class SpecLike(Protocol):
    """What a load reads of a :class:`~netspec.spec.Spec` (named structurally, so that the
    spec's module may call the loader without a circle of imports)."""

    @property
    def file(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def checked(self) -> Checked: ...


class Fate(enum.Enum):
    """What loading did with a key (see the module's docstring)."""

    LOADED = "loaded"
    MISSING = "missing"
    RESHAPED = "reshaped"
    UNEXPECTED = "unexpected"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class KeyFate:
    """One key: the spec's (loaded, missing, reshaped) or the checkpoint's once renamed
    (unexpected, dropped: ``key`` is then its name as written, ``source`` too). ``source``: the
    checkpoint's key where it is another than ``key``; ``old``, ``new``: the checkpoint's and
    the spec's shapes; ``layer``: the path of the spec's layer it is placed at, written at
    ``at`` (``file:line:col``)."""

    key: str
    fate: Fate
    source: str | None
    old: Dims | None
    new: Dims | None
    layer: str
    at: str


@dataclass(frozen=True, slots=True)
class Group:
    """Keys of one fate under ``prefix`` (the key itself for a group of one), and none of
    another fate: ``prefix.*: 6 keys missing``."""

    prefix: str
    fate: Fate
    keys: tuple[KeyFate, ...]
    layer: str
    at: str


@dataclass(frozen=True)
class TransferReport:
    """What :func:`load_weights` did with every key; :attr:`complete` when all loaded."""

    checkpoint: str  # the file, as messages show it
    described: str  # what it holds: 'an Ultralytics checkpoint (its "model", float16)'
    spec_file: str
    spec_title: str
    keys: tuple[KeyFate, ...]
    renames: tuple[RenameRule, ...] = ()
    #: renames that would carry more keys, each with how many
    suggestions: tuple[Rename, ...] = ()
    #: tensors converted to the module's dtype: (from, to, how many)
    converted: tuple[tuple[str, str, int], ...] = ()
    #: where the spec's layers are, for the places of groups (not part of the report's data)
    places: Places | None = field(default=None, repr=False, compare=False)

    @property
    def layers(self) -> Mapping[str, Checked]:
        """The spec's layers by path."""
        return self.places.layers if self.places is not None else {}

    def count(self, fate: Fate) -> int:
        return sum(k.fate is fate for k in self.keys)

    @property
    def spec_keys(self) -> int:
        """How many keys the spec's module has."""
        return sum(k.new is not None for k in self.keys)

    @property
    def complete(self) -> bool:
        """Every key of the spec loaded and every key of the checkpoint was used (or dropped
        by a rename): what a strict load requires."""
        return all(k.fate in (Fate.LOADED, Fate.DROPPED) for k in self.keys)

    def groups(self, fate: Fate | None = None) -> list[Group]:
        """The keys (of ``fate``, or all) gathered under the widest names that hold keys of
        one fate alone, in the order of their first key."""
        return [g for g in self._grouped if fate is None or g.fate is fate]

    @cached_property
    def _grouped(self) -> tuple[Group, ...]:
        return tuple(_groups(self))

    def __repr__(self) -> str:
        """One line, as a notebook shows ``spec.transfer`` (``format_transfer`` gives the whole
        report): ``<TransferReport yolov8n.pt: 354 of 360 keys loaded, 6 missing>``."""
        counts = ", ".join(
            f"{self.count(fate):,} {fate.value}"
            for fate in Fate
            if fate is not Fate.LOADED and self.count(fate)
        )
        loaded = f"{self.count(Fate.LOADED):,} of {self.spec_keys:,} keys loaded"
        return f"<TransferReport {self.checkpoint}: {loaded}{', ' + counts if counts else ''}>"


class Places:
    """Where a key is placed: the innermost layer that holds it (the longest layer path that
    prefixes it) and is written in the spec's own file (a block's layers are written in the
    file that defines the block, maybe a library: the call in this file is what to edit)."""

    def __init__(self, spec: SpecLike) -> None:
        self.layers = {c.path: c for c in spec.checked.walk()}
        self.file = spec.file
        self.found: dict[str, tuple[str, str]] = {}

    def of(self, key: str) -> tuple[str, str]:
        """The layer's path and ``file:line:col``; ``("", "")`` for none."""
        path = key
        while path and path not in self.layers:
            path = path.rpartition(".")[0]
        found = self.found.get(path)
        if found is None:
            found = self.found[path] = self._written(path)
        return found

    def _written(self, path: str) -> tuple[str, str]:
        inner = self.layers.get(path)
        while path:
            c = self.layers.get(path)
            if c is not None and (c.node.site or (c.node.doc, ()))[0].file == self.file:
                return path, written_at(c)
            path = path.rpartition(".")[0]
        return ("", "") if inner is None else (inner.path, written_at(inner))


#: which side of a load a fate is counted on when keys are gathered: the spec's keys (loaded,
#: missing, reshaped) and the checkpoint's (unexpected, dropped; the others are "used" there)
_SPEC_SIDE = (Fate.LOADED, Fate.MISSING, Fate.RESHAPED)


def _groups(report: TransferReport) -> list[Group]:
    """The keys of each fate under the widest names under which the keys of its side (the
    spec's, or the checkpoint's) all have that fate, the tensors of a layer that load aside;
    a group of one key is the key."""
    loads: dict[str, set[object]] = {}  # the spec's keys: what groups the loaded ones
    spec_side: dict[str, set[object]] = {}
    ckpt_side: dict[str, set[object]] = {}
    for k in report.keys:
        parent = k.key.rpartition(".")[0]
        for prefix in _prefixes(k.key):
            if k.new is not None:
                loads.setdefault(prefix, set()).add(k.fate)
            # a layer whose other tensors are missing or reshaped is one group, however many
            # of its own tensors load (a batchnorm's num_batches_tracked keeps its shape)
            if k.new is not None and not (k.fate is Fate.LOADED and prefix == parent):
                spec_side.setdefault(prefix, set()).add(k.fate)
            if k.fate is not Fate.MISSING:
                ckpt_side.setdefault(prefix, set()).add(k.fate if k.new is None else "used")
    members: dict[tuple[str, Fate], list[KeyFate]] = {}
    for k in report.keys:
        side = (
            ckpt_side if k.fate not in _SPEC_SIDE else loads if k.fate is Fate.LOADED else spec_side
        )
        prefix = next((p for p in _prefixes(k.key) if side.get(p) == {k.fate}), k.key)
        members.setdefault((prefix, k.fate), []).append(k)
    out = []
    for (prefix, fate), keys in members.items():
        if len(keys) == 1:
            prefix = keys[0].key
        out.append(Group(prefix, fate, tuple(keys), *_common(report, prefix, keys)))
    return out


def _prefixes(key: str) -> list[str]:
    """The names a key is under, widest first, the network ("") included; not the key."""
    parts = key.split(".")
    return ["", *(".".join(parts[:n]) for n in range(1, len(parts)))]


def _common(report: TransferReport, prefix: str, keys: list[KeyFate]) -> tuple[str, str]:
    """Where a group is placed: where its keys are, if all are at one layer; else at the
    layer written in the spec's file that holds all (found by ``Places`` for the prefix)."""
    if len({k.layer for k in keys}) == 1:
        return keys[0].layer, keys[0].at
    places = report.places
    return places.of(prefix) if places is not None else ("", "")


def written_at(c: Checked) -> str:
    """Where a layer is written, ``file:line:col`` (its call, for a block's layer called from
    another file), as :func:`netspec.diff.core.layer` says it."""
    doc, at = c.node.site or (c.node.doc, c.node.path)
    pos = doc.pos(at, key=True)
    return f"{doc.file}:{pos.line}:{pos.col}" if pos else doc.file
