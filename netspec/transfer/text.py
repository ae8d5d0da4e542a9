"""A :class:`~netspec.transfer.model.TransferReport` for the terminal, and as data for scripts.

The text says how many keys loaded, then lists what did not, a line per group of keys of one
fate (``model.16.*  6 keys``) at the spec line of its layer, then the renames that would carry
what moved. Keys that loaded are counted, not listed.

Example::

    print(format_transfer(report), end="")
    json.dumps(transfer_json(report))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..diff.model import Rename
from ..errors import printable
from ..ir import Shape
from .model import Fate, Group, KeyFate, TransferReport

#: at most this many groups are listed under each heading
MAX_SHOWN = 40

_HEADINGS = {
    Fate.MISSING: "missing, left as built (in the spec, not in the checkpoint):",
    Fate.RESHAPED: "shape-changed, left as built (checkpoint → spec):",
    Fate.UNEXPECTED: "unexpected (in the checkpoint, not in the spec):",
    Fate.DROPPED: "dropped (by a rename to nothing):",
}


#: what a report calls each fate
WORDS = {
    Fate.LOADED: "loaded",
    Fate.MISSING: "missing",
    Fate.RESHAPED: "shape-changed",
    Fate.UNEXPECTED: "unexpected",
    Fate.DROPPED: "dropped",
}


def shapes(k: KeyFate) -> str:
    """A key's shapes as a report shows them: ``(64, 3, 3, 3) → (64, 6, 3, 3)``."""
    text = {
        Fate.MISSING: _shape(k.new),
        Fate.RESHAPED: f"{_shape(k.old)} → {_shape(k.new)}",
    }.get(k.fate, _shape(k.old))
    if k.source is not None and k.fate is not Fate.UNEXPECTED:
        text += f"  (from {printable(k.source)})"
    elif k.source is not None:
        text += f"  (renamed from {printable(k.source)})"
    return text


def group_line(g: Group) -> str:
    """A group in a sentence, for an error: ``model.16.*: 6 keys missing``."""
    word = WORDS[g.fate]
    if len(g.keys) == 1 and g.prefix == g.keys[0].key:
        return f"{printable(g.prefix)}: {word} {shapes(g.keys[0])}"
    name = f"{printable(g.prefix)}.*" if g.prefix else "every key"
    return f"{name}: {len(g.keys):,} keys {word}"


def rename_flags(renames: Sequence[Rename]) -> str:
    """The ``--rename`` options that give ``renames``."""
    return " ".join(f"--rename {printable(r.old)}={printable(r.new)}" for r in renames)


def _shape(dims: tuple[int, ...] | None) -> str:
    return "" if dims is None else str(Shape(dims))


def format_transfer(report: TransferReport) -> str:
    """The report as lines of text (no colour), ending with a newline.

    Example::

        print(format_transfer(load_weights(model, spec, checkpoint)), end="")
    """
    parts = [_head(report)]
    for fate, heading in _HEADINGS.items():
        groups = report.groups(fate)
        if groups:
            parts.append(_section(heading, groups))
    if report.suggestions:
        carried = sum(r.keys for r in report.suggestions)
        parts.append(
            f"hint: layers moved; these renames would carry {carried:,} keys of theirs:\n"
            f"  {rename_flags(report.suggestions)}"
        )
    return "\n".join(parts) + "\n"


def _head(report: TransferReport) -> str:
    loaded = report.count(Fate.LOADED)
    lines = [
        f"{printable(report.checkpoint)} → {printable(report.spec_file)} "
        f"({printable(report.spec_title)}): {loaded:,} of {report.spec_keys:,} keys loaded",
    ]
    if report.described:
        lines.append(f"  from {report.described}")
    others = [f"{report.count(f):,} {WORDS[f]}" for f in _HEADINGS if report.count(f)]
    if others:
        lines.append(f"  {', '.join(others)}")
    for old, new, n in report.converted:
        lines.append(f"  converted {n:,} {_tensors(n)} from {old} to {new}")
    if report.renames:
        lines.append("  renamed: " + ", ".join(printable(r.text) for r in report.renames))
    return "\n".join(lines)


def _section(heading: str, groups: list[Group]) -> str:
    shown = groups[:MAX_SHOWN]
    width = max(len(printable(g.at)) for g in shown)
    lines = [heading]
    for g in shown:
        lines.append(f"  {printable(g.at):<{width}}  {_what(g)}".rstrip())
    if len(groups) > MAX_SHOWN:
        lines.append(f"  ... {len(groups) - MAX_SHOWN:,} more (the report's data lists every key)")
    return "\n".join(lines)


def _what(g: Group) -> str:
    """A group as its line shows it: a key with its shapes, or a name with a count."""
    if len(g.keys) == 1 and g.prefix == g.keys[0].key:
        return f"{printable(g.prefix)}  {shapes(g.keys[0])}"
    name = f"{printable(g.prefix)}.*" if g.prefix else "(every key)"
    return f"{name}  {len(g.keys):,} keys"


def _tensors(n: int) -> str:
    return "tensor" if n == 1 else "tensors"


def transfer_json(report: TransferReport) -> dict[str, Any]:
    """The report as JSON values (``netspec-transfer/1``): counts, conversions, renames given
    and suggested, groups, and every key."""
    return {
        "format": "netspec-transfer/1",
        "checkpoint": report.checkpoint,
        "described": report.described,
        "spec": {"file": report.spec_file, "title": report.spec_title},
        "complete": report.complete,
        "counts": {
            "spec_keys": report.spec_keys,
            **{f.value: report.count(f) for f in Fate},
        },
        "converted": [{"from": a, "to": b, "tensors": n} for a, b, n in report.converted],
        "renames": [r.text for r in report.renames],
        "suggestions": [{"old": r.old, "new": r.new, "keys": r.keys} for r in report.suggestions],
        "groups": [
            {
                "prefix": g.prefix,
                "fate": g.fate.value,
                "keys": len(g.keys),
                "layer": g.layer,
                "at": g.at,
            }
            for g in report.groups()
        ],
        "keys": [
            {
                "key": k.key,
                "fate": k.fate.value,
                "from": k.source,
                "old": None if k.old is None else list(k.old),
                "new": None if k.new is None else list(k.new),
                "layer": k.layer,
                "at": k.at,
            }
            for k in report.keys
        ],
    }
