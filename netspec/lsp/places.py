"""What a path in a spec names: which of its prefixes are layer entries, the layer (kind or
block call) a path is inside, and the tensor scope it is in.

A path is the one the YAML gives (``("layers", 2, "residual", "body", 0, "conv", "out")``);
it may come from a file that does not parse yet (:mod:`netspec.lsp.outline`). Which options
of a kind hold layers is the kind's own knowledge (:meth:`~netspec.ir.Kind.nested_entries`),
asked with a small probe built from the path: nothing here names a kind.

Example::

    entry_ends(("layers", 2, "residual", "body", 0, "conv", "out"))   # [2, 6]
    layer_at(("layers", 2, "residual", "body", 0, "conv", "out"))
    # (("layers", 2, "residual", "body", 0), "conv", ("out",))
"""

from __future__ import annotations

from typing import Any

from ..registry import get_kind
from ..source import PathKey

#: how long a subpath of a kind's options down to a layer entry may be (branches, p1, 0)
_SUBPATH = 4
#: a layer entry in a probe
_ENTRY = "identity"


def entry_ends(path: PathKey) -> list[int]:
    """The lengths of the prefixes of ``path`` that are layer entries, outermost first."""
    if len(path) >= 2 and path[0] == "layers" and isinstance(path[1], int):
        end = 2
    elif (
        len(path) >= 4 and path[0] == "blocks" and path[2] == "layers" and isinstance(path[3], int)
    ):
        end = 4
    else:
        return []
    ends = [end]
    while end < len(path):
        word = path[end]
        kind = get_kind(word) if isinstance(word, str) else None
        if kind is None or not kind.nested:
            break
        length = _nested(kind.nested_entries, path[end + 1 :])
        if length is None:
            break
        end += 1 + length
        ends.append(end)
    return ends


def _nested(entries: Any, rest: PathKey) -> int | None:
    """How much of ``rest`` (a path in a kind's options) leads to one of its layer entries;
    the longest where several do (``after: relu`` and ``after: [relu]``)."""
    found = None
    for length in range(1, min(len(rest), _SUBPATH) + 1):
        sub = rest[:length]
        if any(tuple(p) == sub for p, _ in entries(_probe(sub))):
            found = length
    return found


def _probe(sub: PathKey) -> Any:
    """Options holding a layer entry at ``sub``: ``("body", 1)`` → ``{"body": [e, e]}``."""
    value: Any = _ENTRY
    for part in reversed(sub):
        value = [_ENTRY] * part + [value] if isinstance(part, int) else {part: value}
    return value


def is_entry(path: PathKey) -> bool:
    """Whether ``path`` is a layer entry (an item of a layer list, or a single layer)."""
    ends = entry_ends(path)
    return bool(ends) and ends[-1] == len(path)


def layer_at(path: PathKey) -> tuple[PathKey, str, PathKey] | None:
    """The innermost layer ``path`` is inside: its entry's path, its kind or block word, and
    the rest of ``path`` in its options; None where ``path`` is in no layer's options."""
    ends = entry_ends(path)
    if not ends or ends[-1] >= len(path) or not isinstance(path[ends[-1]], str):
        return None
    end = ends[-1]
    return path[:end], str(path[end]), path[end + 1 :]


def scope_of(path: PathKey) -> PathKey:
    """The tensor scope a path is in: ``("layers",)`` for the network's, ``("blocks", NAME)``
    for a block's; ``()`` for neither."""
    if path[:1] == ("layers",):
        return ("layers",)
    if len(path) >= 2 and path[0] == "blocks":
        return path[:2]
    return ()
