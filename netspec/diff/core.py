"""The diff of two checked networks, from the static pass alone (no torch).

Layers are aligned (:mod:`netspec.diff.align`); each matched pair is compared on what the file
says of it (kind, block, options, ``from:``/``to:``) and on its shapes. ``state_dict`` keys
(:mod:`netspec.state_keys`) are compared by name, as ``load_state_dict`` matches them; a layer
that moved (an index shifted by an inserted row, a renamed layer) gives a rename of its path,
and the keys each rename would carry are counted, so that the user sees which weights survive
with and without them.

Example::

    d = diff(netspec.load("resnet"), netspec.load("edited.yaml"))
    d.same, [c.change.value for c in d.layers], d.renames
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..gcpause import paused_gc
from ..ir import Checked
from ..schema import Options
from ..state_keys import StateKeys, state_keys
from .align import align
from .model import (
    Aspect,
    Change,
    Diff,
    Difference,
    KeyDiff,
    KeyStatus,
    Layer,
    LayerChange,
    Rename,
    Side,
    Unknown,
    apply_renames,
    renamed_by,
)

if TYPE_CHECKING:
    from ..spec import Spec

#: options every layer takes (name:, expect:, from:, to:, if:): compared apart, or not at all
_COMMON = frozenset(Options.model_fields)


def diff(a: Spec, b: Spec) -> Diff:
    """What changed from network ``a`` to network ``b`` (two files, two scales, two sets of
    params of one file): layers, totals, ``state_dict`` keys, and the renames that carry the
    weights of moved layers.

    Example::

        d = diff(netspec.load("ultralytics/yolov8", scale="n"),
                 netspec.load("ultralytics/yolov8", scale="s"))
        d.same, d.b.params - d.a.params
    """
    with paused_gc():  # the diff's records hold no cycles
        return _diff(a, b)


def _diff(a: Spec, b: Spec) -> Diff:
    keys_a, keys_b = state_keys(a.checked), state_keys(b.checked)
    cache: dict[int, dict[str, Any]] = {}
    pairs, places = align(
        a.checked,
        b.checked,
        lambda c: _identity(c, cache),
        lambda x, y: _alike(x, y, cache),
    )
    layers = [
        c
        for x, y, holder in pairs[1:]
        if (c := _layer_change(x, y, holder, cache, places)) is not None
    ]
    moved = [(x.path, y.path) for x, y, _ in pairs if x and y and x.node.name != y.node.name]
    keys, renames = _keys(keys_a, keys_b, moved)
    unknown = [Unknown("a", c.path, c.node.kind.name) for c in keys_a.unknown]
    unknown += [Unknown("b", c.path, c.node.kind.name) for c in keys_b.unknown]
    return Diff(
        _side(a, keys_a),
        _side(b, keys_b),
        tuple(layers),
        tuple(keys),
        tuple(renames),
        tuple(unknown),
    )


def _side(spec: Spec, keys: StateKeys) -> Side:
    checked = spec.checked
    return Side(
        spec.title,
        spec.file,
        tuple(spec.input_shapes.items()),
        tuple(spec.output_shapes.items()),
        checked.params,
        checked.macs,
        checked.buffers,
        len(keys),
    )


# layers


def options(c: Checked, cache: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """A layer's own options as JSON values, by the names the file uses (nested layer lists,
    and the options every layer takes, left out); ``cache`` by the options' identity."""
    opts = c.node.opts
    found = cache.get(id(opts))
    if found is None:
        skip = _COMMON | set(c.node.kind.nested)
        fields = type(opts).model_fields
        found = {
            info.alias or name: as_json(getattr(opts, name, None))
            for name, info in fields.items()
            if name not in skip
        }
        cache[id(opts)] = found
    return found


def as_json(value: Any) -> Any:
    """An option's value as JSON writes it (enums by value, pairs as lists)."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    if isinstance(value, enum.Enum):
        return as_json(value.value)
    if isinstance(value, BaseModel):
        return {
            info.alias or name: as_json(getattr(value, name))
            for name, info in type(value).model_fields.items()
        }
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


#: the types most option values have, which JSON writes as they are
_PLAIN = frozenset((int, float, str, bool, type(None)))


def _identity(c: Checked, cache: dict[int, dict[str, Any]]) -> Hashable:
    """What a layer is, apart from its name, its shapes and what is inside it."""
    return (c.node.kind.name, c.node.label, repr(options(c, cache)))


def _alike(x: Checked, y: Checked, cache: dict[int, dict[str, Any]]) -> int:
    """How many of its options a layer of one kind has as the other has it: which of two
    layers of one structure is the other's, where only that tells."""
    old, new = options(x, cache), options(y, cache)
    return sum(name in old and old[name] == value for name, value in new.items())


def layer(c: Checked) -> Layer:
    """A layer as the diff shows it, with where it is written."""
    node = c.node
    doc, at = node.site or (node.doc, node.path)
    pos = doc.pos(at, key=True)
    where = f"{doc.file}:{pos.line}:{pos.col}" if pos else doc.file
    outputs = tuple(v.shape for v in c.results) or (c.output,)
    return Layer(c.path, node.kind.name, c.text(), c.input, outputs, c.params, c.macs, where)


def _layer_change(
    x: Checked | None,
    y: Checked | None,
    holder: Checked | None,
    cache: dict[int, dict[str, Any]],
    places: dict[int, tuple[int, int]],
) -> LayerChange | None:
    within = holder.path if holder is not None else ""
    if y is None:
        assert x is not None
        return LayerChange(Change.REMOVED, layer(x), None, within=within)
    if x is None:
        return LayerChange(Change.ADDED, None, layer(y), within=within)
    differences = differ(x, y, cache)
    if id(y) in places:  # it changed places with a sibling
        differences += (Difference(Aspect.PLACE, "", *places[id(y)]),)
    if differences:
        return LayerChange(Change.CHANGED, layer(x), layer(y), differences, within)
    if x.node.name != y.node.name:
        return LayerChange(Change.MOVED, layer(x), layer(y), within=within)
    return None


def differ(x: Checked, y: Checked, cache: dict[int, dict[str, Any]]) -> tuple[Difference, ...]:
    """What differs between two matched layers: kind or block, options, from: and to:, and
    for a leaf the shapes it reads (its weights follow them) and makes. A layer that holds
    others differs by what the file says of it alone: its shapes are its layers'."""
    nx, ny = x.node, y.node
    out: list[Difference] = []
    if nx.kind.name != ny.kind.name:
        out.append(Difference(Aspect.KIND, "", nx.kind.name, ny.kind.name))
    else:
        old, new = options(x, cache), options(y, cache)
        for name in [*new, *(k for k in old if k not in new)]:
            if old.get(name) != new.get(name):
                out.append(Difference(Aspect.OPTION, name, old.get(name), new.get(name)))
    if nx.label != ny.label:
        out.append(Difference(Aspect.BLOCK, "", nx.label, ny.label))
    if nx.sources != ny.sources:
        out.append(Difference(Aspect.FROM, "", list(nx.sources), list(ny.sources)))
    if nx.targets != ny.targets:
        out.append(Difference(Aspect.TO, "", list(nx.targets), list(ny.targets)))
    if x.children or y.children:
        return tuple(out)  # its shapes are its layers': they say where they change
    ins = [list(v.shape.dims) for v in x.sources], [list(v.shape.dims) for v in y.sources]
    if ins[0] != ins[1]:
        out.append(Difference(Aspect.INPUT, "", *ins))
    outs = [list(v.shape.dims) for v in x.results], [list(v.shape.dims) for v in y.results]
    if outs[0] != outs[1]:
        out.append(Difference(Aspect.OUTPUT, "", *outs))
    return tuple(out)


# state_dict keys


def _keys(
    a: StateKeys, b: StateKeys, moved: list[tuple[str, str]]
) -> tuple[list[KeyDiff], list[Rename]]:
    """Every key of b, then those only a has, with what loading by name and loading with the
    renames do to it; the renames that carry at least one key."""
    shapes_a, shapes_b = a.shapes(), b.shapes()
    counts = _carried_by(shapes_a, shapes_b, dict(moved))
    renames = [Rename(old, new, counts[old]) for old, new in moved if counts.get(old)]
    table = {r.old: r.new for r in renames}
    source = apply_renames(shapes_a, table.items())
    target = {old: new for new, old in source.items()}
    out: list[KeyDiff] = []
    for key, shape in shapes_b.items():
        old = shapes_a.get(key)
        status = _status(key, old, shape, a)
        src = source.get(key)
        carries = src is not None and shapes_a[src] == shape
        out.append(KeyDiff(key, status, old, shape, src if src != key else None, carries))
    for key, shape in shapes_a.items():
        if key in shapes_b:
            continue
        status = KeyStatus.UNKNOWN if b.unknown_under(key) else KeyStatus.REMOVED
        to = target.get(key)
        carries = to is not None and shapes_b.get(to) == shape
        out.append(KeyDiff(key, status, shape, None, to if to != key else None, carries))
    return out, renames


def _status(key: str, old: Any, new: Any, a: StateKeys) -> KeyStatus:
    if old is None:
        return KeyStatus.UNKNOWN if a.unknown_under(key) else KeyStatus.ADDED
    return KeyStatus.SAME if old == new else KeyStatus.RESHAPED


def _carried_by(
    shapes_a: dict[str, Any], shapes_b: dict[str, Any], table: dict[str, str]
) -> dict[str, int]:
    """For each rename (by its old prefix), how many of a's keys it carries into a key of b of
    the same shape."""
    counts: dict[str, int] = {}
    for key, shape in shapes_a.items():
        found = renamed_by(key, table)
        if found is not None:
            old, new = found
            if shapes_b.get(new) == shape:
                counts[old] = counts.get(old, 0) + 1
    return counts
