"""What a layer's ``from:``, ``to:`` and ``if:`` record in its tensor scope in the second pass.

The shape pass (:mod:`netspec.names`) looks the names up later; here each layer only notes the
tensors it reads and makes, and a layer an ``if:`` leaves out the names it would have made (so
that a later reference says why it is missing) and read (a tensor read where a condition holds
is not a dead one).

Example::

    record_wiring(node, scope, doc, path, {"from": "skip", "to": "x"}, True)
    node.sources, node.targets                     # ("skip",), ("x",)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .ir import Node, Scope
from .schema import is_name
from .source import Document, PathKey


def record_left_out(scope: Scope, doc: Document, options: Any, path: PathKey) -> None:
    """Remember the names a left-out layer would have made (for a later reference's error)
    and read (a tensor read where a condition holds is not a dead one)."""
    if not isinstance(options, dict):
        return
    for key in ("to", "from"):
        value = options.get(key)
        for name in value if isinstance(value, list) else [value]:
            if isinstance(name, str) and is_name(name):
                if key == "to":
                    scope.skipped.setdefault(name, (doc, (*path, "to")))
                else:
                    scope.read_if.add(name)


def record_wiring(
    node: Node,
    scope: Scope,
    doc: Document,
    path: PathKey,
    graph: Mapping[str, Any],
    condition: bool | tuple[str, Mapping[str, Any]],
) -> None:
    """Record what a layer reads (from:), the names it makes (to:) and its shape condition."""
    node.scope = scope
    node.site = (doc, path)
    sources, targets = graph.get("from"), graph.get("to")
    node.sources = tuple(sources if isinstance(sources, list) else [sources] if sources else [])
    node.targets = tuple(targets if isinstance(targets, list) else [targets] if targets else [])
    for i, name in enumerate(node.targets):
        where = (*path, "to", i) if isinstance(targets, list) else (*path, "to")
        scope.made.setdefault(name, (doc, where))
    if condition is not True and condition is not False:
        node.condition = condition
