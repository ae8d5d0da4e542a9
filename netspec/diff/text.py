"""A diff for the terminal: totals, then layers, then ``state_dict`` keys, then renames.

``git diff --stat`` meets a table: one line per layer or key, columns aligned, a sign first
(``+`` added, ``-`` removed, ``~`` changed or reshaped, ``>`` moved, ``=`` same by name but
another layer's, ``?`` unknown). Keys that carry over as they are are counted, not listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import printable
from ..gcpause import paused_gc
from ..ir import Shape
from .model import (
    Aspect,
    Change,
    Diff,
    Difference,
    KeyDiff,
    KeyStatus,
    LayerChange,
    Side,
    renamed_by,
)

_SIGNS = {Change.ADDED: "+", Change.REMOVED: "-", Change.CHANGED: "~", Change.MOVED: ">"}
_KEY_SIGNS = {
    KeyStatus.SAME: "=",
    KeyStatus.RESHAPED: "~",
    KeyStatus.ADDED: "+",
    KeyStatus.REMOVED: "-",
    KeyStatus.UNKNOWN: "?",
}


def format_text(d: Diff) -> str:
    """The whole diff as lines of text (no colour), ending with a newline.

    Example::

        print(format_text(diff(a, b)), end="")
    """
    with paused_gc():  # lines, no cycles: a big network's would be scanned again and again
        parts = [_head(d), _totals(d), _layers(d), _keys(d), _renames(d), _unknown(d)]
    return "\n\n".join(p for p in parts if p) + "\n"


def _head(d: Diff) -> str:
    lines = [f"--- a: {_where(d.a)}", f"+++ b: {_where(d.b)}"]
    if d.same:
        lines.append("the networks are the same")
    for what, old, new in (("input", d.a.inputs, d.b.inputs), ("output", d.a.outputs, d.b.outputs)):
        if old != new:
            lines.append(f"{what}s: {_named(old)} → {_named(new)}")
    return "\n".join(lines)


def _where(side: Side) -> str:
    shapes = f"{_named(side.inputs)} → {_named(side.outputs)}"
    return f"{printable(side.file)}  {printable(side.title)}: {shapes}"


def _named(items: Sequence[tuple[str, Shape]]) -> str:
    if len(items) == 1 and items[0][0] in ("input", "output"):
        return str(items[0][1])
    return "{" + ", ".join(f"{n}: {s}" for n, s in items) + "}"


def _totals(d: Diff) -> str:
    a, b = d.a, d.b
    rows = [
        ["", "params", "MACs", "buffers", "keys"],
        ["a", *(f"{n:,}" for n in (a.params, a.macs, a.buffers, a.keys))],
        ["b", *(f"{n:,}" for n in (b.params, b.macs, b.buffers, b.keys))],
        ["b - a", *(_signed(y - x) for x, y in _pairs(a, b))],
    ]
    return _table(rows, right=range(1, 5))


def _pairs(a: Side, b: Side) -> list[tuple[int, int]]:
    return [(a.params, b.params), (a.macs, b.macs), (a.buffers, b.buffers), (a.keys, b.keys)]


def _signed(n: int) -> str:
    return f"{n:+,}" if n else "0"


def _layers(d: Diff) -> str:
    """A line per layer; layers without weights whose shapes alone changed (a relu after a
    wider conv) are counted, not listed: the layer before them says why."""
    if not d.layers:
        return ""
    counts = [f"{len(d.changes(c)):,} {c.value}" for c in Change if d.changes(c)]
    shown = [c for c in d.layers if not _follows(c)]
    text = f"layers: {', '.join(counts)}"
    if shown:
        text += "\n" + _table(_layer_rows(shown), right=(2,), indent="  ")
    hidden = len(d.layers) - len(shown)
    if hidden:
        layers = "layer" if hidden == 1 else "layers"
        text += f"\n  (and {hidden:,} {layers} without weights whose shapes follow)"
    return text


def _follows(c: LayerChange) -> bool:
    shapes = (Aspect.INPUT, Aspect.OUTPUT)
    weightless = c.old is not None and c.new is not None and c.old.params == c.new.params == 0
    return weightless and all(x.aspect in shapes for x in c.differences) and bool(c.differences)


def _layer_rows(shown: list[LayerChange]) -> list[list[str]]:
    """A row per layer, but one for a run of layers moved by the same number of places (the
    rows after one inserted into a long list)."""
    moves = [
        (c.old.path, c.new.path)
        if c.change is Change.MOVED and c.old and c.new and not c.differences
        else None
        for c in shown
    ]
    rows = []
    for start, end in _spans(moves):
        if end - start < RUN:
            rows += [_layer_row(c) for c in shown[start:end]]
            continue
        first, last = shown[start], shown[end - 1]
        assert first.old and first.new and last.old and last.new
        paths = _run_text(first.old.path, last.old.path, first.new.path, last.new.path)
        places = _places(first.old.path, first.new.path)
        rows.append([f"> {paths}", f"{end - start:,} layers, each {places}", "", first.new.at, ""])
    return rows


#: this many moves (or renames) in a row, each by the same number of places, take one line
RUN = 10


def _spans(pairs: Sequence[tuple[str, str] | None]) -> list[tuple[int, int]]:
    """``pairs`` cut into spans ``[start, end)``: each a run of old → new paths under the same
    parents that shift their last index by the same number, or a single item."""
    spans: list[tuple[int, int]] = []
    last: tuple[str, str, int, int] | None = None
    for i, pair in enumerate(pairs):
        shift = _shift(*pair) if pair else None
        joins = (
            shift is not None
            and last is not None
            and shift[:2] == last[:2]
            and shift[3] == last[3]
            and shift[2] > last[2]
        )
        if joins:
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
        last = shift
    return spans


def _shift(old: str, new: str) -> tuple[str, str, int, int] | None:
    """(a's parent, b's parent, a's index, places moved) of two paths that end in an index."""
    parent_a, _, index_a = old.rpartition(".")
    parent_b, _, index_b = new.rpartition(".")
    if not (index_a.isdigit() and index_b.isdigit()):
        return None
    return parent_a, parent_b, int(index_a), int(index_b) - int(index_a)


def _run_text(old_first: str, old_last: str, new_first: str, new_last: str) -> str:
    return f"{old_first} … {old_last} → {new_first} … {new_last}"


def _places(old: str, new: str) -> str:
    shift = _shift(old, new)
    assert shift is not None
    moved = shift[3]
    unit = "place" if abs(moved) == 1 else "places"
    return f"{abs(moved):,} {unit} {'later' if moved > 0 else 'earlier'}"


def _layer_row(c: LayerChange) -> list[str]:
    old, new = c.old, c.new
    sign = _SIGNS[c.change]
    if old is None or new is None:
        one = new or old
        assert one is not None
        params = f"{'+' if new else '-'}{one.params:,} params" if one.params else ""
        shapes = ", ".join(str(s) for s in one.outputs)
        return [f"{sign} {one.path}", printable(one.text), params, one.at, shapes]
    path = new.path if old.path == new.path else f"{old.path} → {new.path}"
    text = printable(new.text if old.text == new.text else f"{old.text} → {new.text}")
    details = "; ".join(_difference(x) for x in c.differences)
    params = _signed(new.params - old.params) + " params" if new.params != old.params else ""
    return [f"{sign} {path}", text, params, new.at, details]


def format_change(c: LayerChange) -> str:
    """One layer's change in a line, as a hover on it says it: ``added``, ``removed``,
    ``moved from model.16``, ``changed: out 64 → 128; output (64, 8, 8) → (128, 8, 8)``.

    Example::

        format_change(diff(a, b).by_path()["stage2.0.body.conv1"])
    """
    old, new = c.old, c.new
    if old is None or new is None:
        return "added" if old is None else "removed"
    if c.change is Change.MOVED:
        return f"moved from {old.path}"
    moved = f" (was {old.path})" if old.path != new.path else ""
    return f"changed{moved}: " + "; ".join(_difference(x) for x in c.differences)


def _difference(x: Difference) -> str:
    if x.aspect in (Aspect.INPUT, Aspect.OUTPUT):
        return f"{x.aspect.value} {_shapes(x.old)} → {_shapes(x.new)}"
    name = x.name if x.aspect is Aspect.OPTION else x.aspect.value
    return f"{printable(name)} {_value(x.old)} → {_value(x.new)}"


def _shapes(dims: list[list[int]]) -> str:
    return ", ".join(str(Shape(tuple(d))) for d in dims)


def _value(value: Any) -> str:
    """A JSON value as YAML's flow style writes it: ``[3, 3]``, ``true``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    return printable(str(value)) if value != "" else '""'


def _keys(d: Diff) -> str:
    """Counts by status, then the keys that need a word, a line per layer: those of a layer
    added or removed whole in one line, those the renames carry in the renames' lines."""
    counts = [f"{d.count(s):,} {s.value}" for s in KeyStatus if d.count(s)]
    head = f"state_dict keys: {', '.join(counts) or 'none'}"
    if d.misplaced:
        head += f" ({d.misplaced:,} of the same by name hold another layer's weights)"
    whole = {c.new.path: c for c in d.changes(Change.ADDED) if c.new}
    whole.update({c.old.path: c for c in d.changes(Change.REMOVED) if c.old})
    rows: list[list[str] | str] = []  # a row, or the path of a layer added or removed whole
    wholes: dict[str, tuple[KeyStatus, int]] = {}
    renames = {r.old: r.new for r in d.renames}
    for group in _by_layer(k for k in d.keys if _listed(k)):
        first = group[0]
        layer = first.key.rpartition(".")[0]
        owner = _under(layer, whole) if first.status in (KeyStatus.ADDED, KeyStatus.REMOVED) else ""
        if owner and not first.carries:
            if owner not in wholes:
                rows.append(owner)
            wholes[owner] = (first.status, wholes.get(owner, (first.status, 0))[1] + len(group))
            continue
        rows.append(_key_row(layer, group, renames))
    table = [r if isinstance(r, list) else _whole_row(r, *wholes[r]) for r in rows]
    return head + ("\n" + _table(table, indent="  ") if table else "")


def _whole_row(path: str, status: KeyStatus, count: int) -> list[str]:
    keys = "key" if count == 1 else "keys"
    return [f"{_KEY_SIGNS[status]} {path}", f"{count:,} {keys}", f"the layer is {status.value}"]


def _listed(k: KeyDiff) -> bool:
    """Whether a key needs a word: not one that carries as it is, nor one a rename carries
    that loading by name would not have loaded from another layer."""
    return not k.carries or (k.renamed is not None and k.status is KeyStatus.SAME)


def _by_layer(keys: Iterable[KeyDiff]) -> list[list[KeyDiff]]:
    """Runs of keys of one layer (a key's last name is its tensor's) with one fate."""
    groups: list[list[KeyDiff]] = []
    for k in keys:
        if groups and _fate(groups[-1][0]) == _fate(k):
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


def _fate(k: KeyDiff) -> tuple[str, KeyStatus, bool, bool]:
    return k.key.rpartition(".")[0], k.status, k.carries, k.renamed is None


def _under(path: str, layers: dict[str, LayerChange]) -> str:
    """The layer of ``layers`` that ``path`` is (or is inside), or ""."""
    end = len(path)
    while end > 0:
        if path[:end] in layers:
            return path[:end]
        end = path.rfind(".", 0, end)
    return ""


def _key_row(layer: str, group: list[KeyDiff], renames: dict[str, str]) -> list[str]:
    first = group[0]
    cells = []
    for k in group:
        name = k.key.rpartition(".")[2]
        shape = f"{k.old} → {k.new}" if k.status is KeyStatus.RESHAPED else str(k.new or k.old)
        cells.append(f"{name} {shape}")
    note = ""
    if first.renamed is not None:
        arrow = "←" if first.new is not None else "→"
        other = first.renamed.rpartition(".")[0]
        note = f"{arrow} {other}" + ("" if first.carries else " (another shape)")
    elif first.status is KeyStatus.SAME:  # a's key of this name is renamed away
        found = renamed_by(first.key, renames)
        where = found[1].rpartition(".")[0] if found else "another key"
        note = f"a's went to {where}: fresh with the renames"
    return [f"{_KEY_SIGNS[first.status]} {printable(layer)}", printable(", ".join(cells)), note]


def _renames(d: Diff) -> str:
    if not d.renames:
        return ""
    by_name = d.count(KeyStatus.SAME) - d.misplaced
    head = (
        f"renames: with these, {d.carried:,} of b's {d.b.keys:,} keys load a's weights "
        f"(by name alone: {by_name:,})"
    )
    rows = []
    for start, end in _spans([(r.old, r.new) for r in d.renames]):
        run = d.renames[start:end]
        if end - start < RUN:
            rows += [[r.old, f"→ {r.new}", f"{r.keys:,} keys"] for r in run]
            continue
        first, last = run[0], run[-1]
        keys = sum(r.keys for r in run)
        paths = _run_text(first.old, last.old, first.new, last.new)
        places = _places(first.old, first.new)
        rows.append([paths, f"{end - start:,} renames, each {places}", f"{keys:,} keys"])
    return head + "\n" + _table(rows, right=(2,), indent="  ")


def _unknown(d: Diff) -> str:
    if not d.unknown:
        return ""
    lines = ["keys not known statically (a plugin's kind that does not say what it keeps):"]
    lines += [f"  {u.side}: {u.path} ({u.kind})" for u in d.unknown]
    return "\n".join(lines)


def _table(rows: list[list[str]], right: Sequence[int] = (), indent: str = "") -> str:
    """Rows of cells in aligned columns (``right``: right-aligned), empty cells closed up at
    the end of a line."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append(indent + "  ".join(cells).rstrip())
    return "\n".join(lines)
