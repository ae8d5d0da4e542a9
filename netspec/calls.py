"""Block calls in the second pass: arguments checked, the block's layers expanded in its scope.

A block's layers see the params of the file that defines it (which may be an imported one)
and the call's arguments; ``inline: true`` puts them into the caller's list. See
:mod:`netspec.elaborate`, whose expander calls :func:`expand_call` for every block call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .entries import call_problems, is_shape
from .env import layered
from .errors import NetspecError
from .expansion import Expander, Failed, implicit_group, inline_group, short_trace
from .expr import NeedsShapes, ShapeLookup
from .imports import BlockRef
from .ir import Node, Scope
from .schema import BlockDef, is_layer_name, is_name, reserved
from .source import PathKey, show

#: A block may call itself (stopped by an if:) at most this many times in a row.
MAX_RECURSION = 64


def expand_call(
    self: Expander,
    block: str,
    options: Any,
    path: PathKey,
    env: Mapping[str, Any],
    trace: tuple[str, ...],
    index: str,
    depth: int,
) -> Node | None:
    """Expand one call of ``block`` (written at ``path``) into a node of the caller's list;
    None where its ``if:`` leaves it out. Raises Failed after reporting a problem."""
    ref = self.blocks[block]
    definition = ref.definition
    if isinstance(options, dict) and "if" in options:  # first: it may stop a recursion
        condition = self.condition(options["if"], (*path, "if"), env, trace)
        if condition is False:
            self.left_out(options, path)
            return None
        options = {k: v for k, v in options.items() if k != "if"}
    else:
        condition = True
    try:
        given = self.value(options, path, env, trace, deferrable=isinstance(options, dict))
    except NeedsShapes:  # e.g. out: ${channels() * 6}: expanded by the shape pass
        return _later(self, block, options, path, env, trace, index, depth, condition)
    given = {} if given is None else given
    _check_arguments(self, block, definition, given, path, trace)
    home = self.of(ref)  # the file that defines the block, whose names it sees
    # the params of its file are not copied for each call
    scope = layered(home.params, _bind_arguments(home, block, definition, given, trace))
    pos = self.doc.pos(path, key=True)
    where = f"{self.doc.file}:{pos.line}:{pos.col}" if pos else self.doc.file
    inner = (*trace, f"in block {block}, used at {where}")
    _refuse_runaway_recursion(self, ref, block, path, trace)
    called, children = _expand_body(self, home, ref, block, scope, inner, depth)
    caller = self.shared.scopes[-1]
    name, expect = given.get("name"), given.get("expect")
    if given.get("inline", False):  # the block's layers go into the caller's list (Group.splice)
        group, opts = inline_group()
        body_path = ("blocks", block, "layers")
        node = Node(group, opts, index, home.doc, body_path, block, children, inner, scope=caller)
        node.expects = [(tuple(expect), (*path, "expect"), self.doc)] if expect else []
        return node
    node = _body_node(home, block, definition, children, name or index, inner)
    node.scope = caller
    node.opens = called
    _wire_call(self, node, caller, given, path, condition)
    node.label = block  # also when the block's one layer stands for it
    node.implicit = False  # a block call is a unit, never spliced
    node.given = name
    if expect is not None:
        node.expects = [*node.expects, (tuple(expect), (*path, "expect"), self.doc)]
    return node


def _check_arguments(
    self: Expander,
    block: str,
    definition: BlockDef,
    given: dict[str, Any],
    path: PathKey,
    trace: tuple[str, ...],
) -> None:
    """The call's arguments against the block's args:, then the options every call has
    (name, expect, inline) and its tensors; raise Failed after reporting what is wrong."""
    before = len(self.errors)
    for p in call_problems(block, definition.args, given, True):
        self.fail((*path, *p.subpath), p.message, p.hint, key=p.key, trace=trace)
    if len(self.errors) > before:
        raise Failed
    _check_call_options(self, given, path, trace)
    _check_call_tensors(self, block, definition, given, path, trace)
    if len(self.errors) > before:
        raise Failed


def _check_call_options(
    self: Expander, given: dict[str, Any], path: PathKey, trace: tuple[str, ...]
) -> None:
    """A call's name:, expect: and inline:."""
    name, expect = given.get("name"), given.get("expect")
    if name is not None and not is_layer_name(name):
        self.fail(
            (*path, "name"),
            f"a layer name is letters, digits, _ and -, starting with a letter, got {show(name)}",
            trace=trace,
        )
    elif reserved(name):
        self.fail((*path, "name"), reserved(name), trace=trace)
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


def _check_call_tensors(
    self: Expander,
    block: str,
    definition: BlockDef,
    given: dict[str, Any],
    path: PathKey,
    trace: tuple[str, ...],
) -> None:
    """A call's from: and to: against the block's inputs: and outputs:."""
    inputs = tuple(definition.inputs or ("input",))
    outputs = tuple(definition.outputs or ())
    sources = given.get("from")
    count = len(sources) if isinstance(sources, list) else 1
    if sources is not None and count != len(inputs):
        self.fail(
            (*path, "from"),
            f"block {block} takes {len(inputs)} input(s) ({', '.join(inputs)}), "
            f"from: gives {count}",
            f"write from: [{', '.join(inputs)}] with a tensor for each",
            trace=trace,
        )
    elif sources is None and len(inputs) > 1:
        self.fail(
            path,
            f"block {block} takes {len(inputs)} inputs ({', '.join(inputs)})",
            f"give them with from: [{', '.join(inputs)}] (named tensors)",
            key=True,
            trace=trace,
        )
    targets = given.get("to")
    count = len(targets) if isinstance(targets, list) else 1
    if targets is not None and count != max(1, len(outputs)):
        self.fail(
            (*path, "to"),
            f"block {block} hands back {max(1, len(outputs))} tensor(s)"
            + (f" ({', '.join(outputs)})" if outputs else "")
            + f", to: names {count}",
            "give to: a name for each of them",
            trace=trace,
        )
    for key, value in (("from", sources), ("to", targets)):
        items = value if isinstance(value, list) else [value]
        if value is not None and not (items and all(is_name(v) for v in items)):
            self.fail(
                (*path, key),
                f"{key}: takes a tensor name or a list of them, got {show(value)}",
                trace=trace,
            )
    inline = given.get("inline", False)
    if inline and (sources is not None or targets is not None or definition.inputs or outputs):
        self.fail(
            (*path, "inline"),
            "a block call with inline: true joins the enclosing chain of layers: it takes no "
            "from: or to:, and its block no inputs: or outputs:",
            "drop inline (the call then is one module with the block's name)",
            key=True,
            trace=trace,
        )


def _bind_arguments(
    home: Expander,
    block: str,
    definition: BlockDef,
    given: dict[str, Any],
    trace: tuple[str, ...],
) -> dict[str, Any]:
    """The call's arguments: those it gives, the block's defaults for the others."""
    args: dict[str, Any] = {}
    for arg, spec in definition.args.items():
        if arg in given:
            args[arg] = given[arg]
        else:  # a default, which may be an expression over the params
            args[arg] = home.value(spec, ("blocks", block, "args", arg), home.params, trace)
    return args


def _refuse_runaway_recursion(
    self: Expander, ref: BlockRef, block: str, path: PathKey, trace: tuple[str, ...]
) -> None:
    """A block reached again inside itself: a recursion that an if: must stop (the first pass
    refuses one that no if: guards, except through a `- ${...}` entry, which it cannot see)."""
    if self.shared.active.count(ref) >= MAX_RECURSION:
        raise NetspecError(
            [
                self.doc.diagnostic(
                    path,
                    f"block {block} calls itself more than {MAX_RECURSION} times in a row",
                    f"stop the recursion with an if: on an argument that changes with each "
                    f"call, e.g. `- {block}: {{depth: ${{depth - 1}}, if: ${{depth > 0}}}}`",
                    key=True,
                    notes=short_trace(trace),
                )
            ]
        )


def _expand_body(
    self: Expander,
    home: Expander,
    ref: BlockRef,
    block: str,
    scope: Mapping[str, Any],
    inner: tuple[str, ...],
    depth: int,
) -> tuple[Scope, list[Node]]:
    """The block's layers, expanded in a tensor scope of the call's own (returned with them)."""
    definition = ref.definition
    called = Scope(tuple(definition.inputs or ("input",)), tuple(definition.outputs or ()), block)
    called.declared = (home.doc, ("blocks", block, "outputs"))
    self.shared.active.append(ref)
    self.shared.scopes.append(called)
    try:
        children = home.expand_list(
            definition.layers, ("blocks", block, "layers"), scope, inner, depth + 1
        )
    finally:
        self.shared.active.pop()
        self.shared.scopes.pop()
    return called, children


def _body_node(
    home: Expander,
    block: str,
    definition: BlockDef,
    children: list[Node],
    name: str,
    inner: tuple[str, ...],
) -> Node:
    """The node that stands for a (not inline) call: the block's one layer where nothing tells
    the two apart, else a group of the block's layers."""
    alone = (
        len(children) == 1
        and not children[0].sources
        and not children[0].targets
        and children[0].condition is None
        and definition.inputs is None
        and not definition.outputs
    )
    if alone:
        node = children[0]
        if not name.isdigit() or node.name.isdigit():
            node.name = name
        return node
    if len(children) == 1:  # a layer that reads or makes named tensors: keep the block around it
        group, opts = implicit_group()
        return Node(
            group,
            opts,
            name,
            home.doc,
            ("blocks", block, "layers"),
            children=children,
            trace=inner,
            implicit=True,
        )
    return home.sequence(children, ("blocks", block, "layers"), inner, name, block)


def _wire_call(
    self: Expander,
    node: Node,
    caller: Scope,
    given: dict[str, Any],
    path: PathKey,
    condition: bool | tuple[str, Mapping[str, Any]],
) -> None:
    """What the call reads (from:) and makes (to:) in the caller's scope, and its condition."""
    sources, targets = given.get("from"), given.get("to")
    node.site = (self.doc, path)
    node.sources = tuple(sources if isinstance(sources, list) else [sources] if sources else [])
    node.targets = tuple(targets if isinstance(targets, list) else [targets] if targets else [])
    for i, target in enumerate(node.targets):
        at = (*path, "to", i) if isinstance(targets, list) else (*path, "to")
        caller.made.setdefault(target, (self.doc, at))
    if condition is not True:
        node.condition = condition  # type: ignore[assignment]


def _later(
    self: Expander,
    block: str,
    options: dict[str, Any],
    path: PathKey,
    env: Mapping[str, Any],
    trace: tuple[str, ...],
    index: str,
    depth: int,
    condition: bool | tuple[str, Mapping[str, Any]],
) -> Node:
    """A call whose arguments read shapes (``channels()``): a node that the shape pass expands.

    It stands in the calling list with the call's name, tensors and condition; once its input
    is known, the arguments are evaluated and the block expanded where the call was written.
    """
    graph: dict[str, Any] = {
        k: self.value(options[k], (*path, k), env, trace)
        for k in ("from", "to", "name")
        if k in options
    }
    scopes, active = list(self.shared.scopes), list(self.shared.active)

    def expand(shapes: ShapeLookup) -> Node:
        saved = self.shared.scopes, self.shared.active
        self.shared.scopes, self.shared.active = list(scopes), list(active)
        try:
            given = self.value(options, path, env, trace, shapes=shapes)
            node = expand_call(self, block, given, path, env, trace, index, depth)
        except Failed:
            node = None
        finally:
            self.shared.scopes, self.shared.active = saved
        if self.errors or node is None:
            raise NetspecError(list(self.errors))
        return node

    group, opts = implicit_group()
    node = Node(group, opts, graph.get("name") or index, self.doc, path, block, trace=trace)
    node.scope = self.shared.scopes[-1]
    node.site = (self.doc, path)
    node.later = expand
    for key, attr in (("from", "sources"), ("to", "targets")):
        value = graph.get(key)
        names = value if isinstance(value, list) else [value] if value else []
        setattr(node, attr, tuple(str(n) for n in names))
    if condition is not True:
        node.condition = condition  # type: ignore[assignment]
    return node
