"""A diff as JSON, for scripts (``netspec diff --format json``).

The keys are stable (``"format": "netspec-diff/1"``; a change that breaks a reader bumps it):

- ``same``: true when the networks are one (the exit status 0 of ``netspec diff``).
- ``a``, ``b``: ``title``, ``file``, ``inputs`` and ``outputs`` (lists of ``{name, shape}`` in
  order), ``params``, ``macs``, ``buffers``, ``keys`` (how many ``state_dict`` keys).
- ``difference``: b minus a, for ``params``, ``macs``, ``buffers`` and ``keys``.
- ``layers``: each ``{change, within, old, new, differences}``; ``change`` is added, removed,
  changed or moved; ``within`` the path in b of the layer that holds it; ``old`` and ``new``
  (null on the side that lacks it) hold ``path``, ``kind``, ``layer`` (as a paper writes it),
  ``input``, ``outputs``, ``params``, ``macs``, ``at`` (``file:line:col``); each difference is
  ``{aspect, name, old, new}``, ``aspect`` one of kind, block, option (``name`` says which),
  from, to, input, output, place (among the layers beside it, where two were swapped).
- ``keys``: every key of b, then those only a has: ``{key, status, old, new, renamed,
  carries}``; ``status`` (by name, as ``load_state_dict``) is same, reshaped, added, removed or
  unknown; ``renamed`` the other key the renames pair it with; ``carries`` whether it loads
  with them.
- ``counts``: keys by status, ``carried`` (b's keys loaded with the renames) and ``misplaced``
  (same by name, yet a's key of that name is another layer's).
- ``renames``: ``{old, new, keys}``, the prefix renames that carry moved layers' keys.
- ``unknown``: ``{side, path, kind}``, layers whose keys cannot be known statically.
"""

from __future__ import annotations

import json
from typing import Any

from ..gcpause import paused_gc
from ..ir import Shape
from .model import Diff, KeyStatus, Layer, Side

FORMAT = "netspec-diff/1"


def diff_json(d: Diff) -> dict[str, Any]:
    """The diff as a JSON object (dicts, lists, numbers, strings).

    Example::

        diff_json(d)["counts"]     # {"same": 120, "reshaped": 2, ..., "carried": 122}
    """
    return {
        "format": FORMAT,
        "same": d.same,
        "a": _side(d.a),
        "b": _side(d.b),
        "difference": {
            "params": d.b.params - d.a.params,
            "macs": d.b.macs - d.a.macs,
            "buffers": d.b.buffers - d.a.buffers,
            "keys": d.b.keys - d.a.keys,
        },
        "layers": [
            {
                "change": c.change.value,
                "within": c.within,
                "old": _layer(c.old),
                "new": _layer(c.new),
                "differences": [
                    {"aspect": x.aspect.value, "name": x.name, "old": x.old, "new": x.new}
                    for x in c.differences
                ],
            }
            for c in d.layers
        ],
        "keys": [
            {
                "key": k.key,
                "status": k.status.value,
                "old": _shape(k.old),
                "new": _shape(k.new),
                "renamed": k.renamed,
                "carries": k.carries,
            }
            for k in d.keys
        ],
        "counts": {
            **{s.value: d.count(s) for s in KeyStatus},
            "carried": d.carried,
            "misplaced": d.misplaced,
        },
        "renames": [{"old": r.old, "new": r.new, "keys": r.keys} for r in d.renames],
        "unknown": [{"side": u.side, "path": u.path, "kind": u.kind} for u in d.unknown],
    }


def format_json(d: Diff) -> str:
    """:func:`diff_json` as text: indented by two spaces, keys in the order above, each layer,
    key, rename and unknown layer on one line of its own (a line a record, as ``grep`` and a
    reader of 10,000 layers want), ending with a newline."""
    with paused_gc():  # plain data, no cycles: a big network's would be scanned again and again
        fields = [f"  {_encode(k)}: {_value(v)}" for k, v in diff_json(d).items()]
    return "{\n" + ",\n".join(fields) + "\n}\n"


#: one encoder for every piece (``json.dumps`` with an option makes a new one each call)
_encode = json.JSONEncoder(ensure_ascii=False).encode


def _value(value: Any) -> str:
    """A top-level value: a list of records one a line; an object of objects (a side) a key a
    line; anything else on one line."""
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(f"    {_encode(v)}" for v in value) + "\n  ]"
    if isinstance(value, dict) and any(isinstance(v, (dict, list)) for v in value.values()):
        items = [f"    {_encode(k)}: {_encode(v)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n  }"
    return _encode(value)


def _side(side: Side) -> dict[str, Any]:
    return {
        "title": side.title,
        "file": side.file,
        "inputs": [{"name": n, "shape": _shape(s)} for n, s in side.inputs],
        "outputs": [{"name": n, "shape": _shape(s)} for n, s in side.outputs],
        "params": side.params,
        "macs": side.macs,
        "buffers": side.buffers,
        "keys": side.keys,
    }


def _layer(layer: Layer | None) -> dict[str, Any] | None:
    if layer is None:
        return None
    return {
        "path": layer.path,
        "kind": layer.kind,
        "layer": layer.text,
        "input": _shape(layer.input),
        "outputs": [_shape(s) for s in layer.outputs],
        "params": layer.params,
        "macs": layer.macs,
        "at": layer.at,
    }


def _shape(shape: Shape | None) -> list[int] | None:
    return None if shape is None else list(shape.dims)
