"""A list of layers as the second pass leaves it: unnamed layers numbered by their position,
names unique within the list, and one node standing for the whole list.

Example::

    name_layers(children, scope, errors)           # "3" becomes "1" where layers were left out
    node = sequence(children, doc, path, (), "body", scope)   # a group, or the only layer
"""

from __future__ import annotations

from .errors import Diagnostic
from .expansion import implicit_group, short_trace
from .ir import Node, Scope
from .source import Document, PathKey


def name_layers(children: list[Node], scope: Scope, errors: list[Diagnostic]) -> None:
    """Number the unnamed layers by position, give a scope to those a kind made, and report
    a name given twice (in the file that wrote the layer, a block's maybe)."""
    names: set[str] = set()
    for position, node in enumerate(children):
        if node.scope is None:  # made by a kind (an inception's empty branch, ...)
            node.scope = scope
        if node.name.isdigit():  # unnamed (a name starts with a letter)
            node.name = str(position)
        elif node.name in names:
            errors.append(  # in the file that wrote the layer (a block's, maybe)
                node.doc.diagnostic(
                    node.path,
                    f'two layers here are named "{node.name}"',
                    "names must be unique within a list of layers",
                    key=True,
                    notes=short_trace(node.trace),
                )
            )
        names.add(node.name)


def sequence(
    children: list[Node],
    doc: Document,
    path: PathKey,
    trace: tuple[str, ...],
    name: str,
    scope: Scope,
    label: str = "",
    own_name: bool = False,
) -> Node:
    """One node for a list of layers: an implicit group, or its only layer.

    The only layer keeps an explicit name of its own unless ``own_name`` (a repeat's copy)
    or the list itself has an explicit name.
    """
    if len(children) == 1:
        only = children[0]
        if name and (own_name or not name.isdigit() or only.name.isdigit()):
            only.name = name
        return only
    group, opts = implicit_group()
    return Node(
        group,
        opts,
        name,
        doc,
        path,
        label=label,
        children=children,
        trace=trace,
        implicit=True,
        scope=scope,
    )
