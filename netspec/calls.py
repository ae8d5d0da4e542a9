"""Block calls in the second pass: arguments checked, the block's layers expanded in its scope.

A block's layers see the params of the file that defines it (which may be an imported one)
and the call's arguments; ``inline: true`` puts them into the caller's list. See
:mod:`netspec.elaborate`, whose expander calls :func:`expand_call` for every block call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .entries import call_problems, is_shape
from .expansion import Failed, inline_group
from .ir import Node
from .schema import is_name
from .source import PathKey, show

if TYPE_CHECKING:
    from .elaborate import _Expander


def expand_call(
    self: _Expander,
    block: str,
    options: Any,
    path: PathKey,
    env: Mapping[str, Any],
    trace: tuple[str, ...],
    index: str,
    depth: int,
) -> Node:
    ref = self.blocks[block]
    definition = ref.definition
    given = self.value(options, path, env, trace) if options is not None else {}
    before = len(self.errors)
    for p in call_problems(block, definition.args, given, True):
        self.fail((*path, *p.subpath), p.message, p.hint, key=p.key, trace=trace)
    if len(self.errors) > before:
        raise Failed
    name, expect = given.get("name"), given.get("expect")
    if name is not None and not is_name(name):
        self.fail(
            (*path, "name"),
            f"a layer name is letters, digits and _, starting with a letter, got {show(name)}",
            trace=trace,
        )
    if expect is not None and not is_shape(expect):
        self.fail(
            (*path, "expect"),
            f"expect must be a list of positive sizes, got {show(expect)}",
            trace=trace,
        )
    inline = given.get("inline", False)
    if not isinstance(inline, bool):
        self.fail((*path, "inline"), f"inline is true or false, got {show(inline)}", trace=trace)
    elif inline and name is not None:
        self.fail(
            (*path, "name"),
            "a block call with inline: true has no name: its layers join the enclosing list",
            "drop the name, or inline",
            key=True,
            trace=trace,
        )
    if len(self.errors) > before:
        raise Failed
    home = self.of(ref)  # the file that defines the block, whose names it sees
    scope = dict(home.params)
    for arg, spec in definition.args.items():
        if arg in given:
            scope[arg] = given[arg]
        else:  # a default, which may be an expression over the params
            scope[arg] = home.value(spec, ("blocks", block, "args", arg), home.params, trace)
    pos = self.doc.pos(path, key=True)
    where = f"{self.doc.file}:{pos.line}:{pos.col}" if pos else self.doc.file
    inner = (*trace, f"in block {block}, used at {where}")
    # a block reached again inside itself: only through a `- ${...}` entry, which the
    # first pass's call graph cannot see
    if ref in self.shared.active:
        self.fail(
            path,
            f"block {block} uses itself (through a layer given by an expression)",
            "a block cannot contain itself; use repeat for depth",
            key=True,
            trace=trace,
        )
        raise Failed
    self.shared.active.append(ref)
    try:
        children = home.expand_list(
            definition.layers, ("blocks", block, "layers"), scope, inner, depth + 1
        )
    finally:
        self.shared.active.pop()
    if inline:  # the block's layers go into the caller's list (Group.splice)
        group, opts = inline_group()
        body_path = ("blocks", block, "layers")
        node = Node(group, opts, index, home.doc, body_path, block, children, inner)
        node.expects = [(tuple(expect), (*path, "expect"), self.doc)] if expect else []
        return node
    node = home.sequence(children, ("blocks", block, "layers"), inner, name or index, block)
    node.label = block  # also when the block's one layer stands for it
    node.implicit = False  # a block call is a unit, never spliced
    node.given = name
    if expect is not None:
        node.expects = [*node.expects, (tuple(expect), (*path, "expect"), self.doc)]
    return node
