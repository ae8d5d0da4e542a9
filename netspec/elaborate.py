"""The second pass: from a parsed file to a tree of concrete layers.

Params get their values (with overrides), expressions are evaluated, each layer's options are
validated again with concrete values, and blocks and repeats are expanded. The first pass
(:mod:`netspec.structure`) has already checked the structure of the whole file.

Example::

    program = elaborate(read_source("specs/nin.yaml"), {"num_classes": 100})
    program.root.children[0].label                  # "nin_block"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from .budget import Budget
from .calls import expand_call
from .entries import EntryError, kind_options, parse_entry
from .errors import Diagnostic, NetspecError, Problem
from .expansion import Expander, ExpandScope, Failed, Shared, implicit_group, short_trace
from .expr import Function, NeedsShapes
from .file_values import FileValues
from .imports import BlockRef, Module, load_module
from .interpolation import has_expression
from .ir import Node, Pending, Scope, Shape
from .layer_lists import name_layers, sequence
from .overrides import apply_layer_overrides, split_overrides
from .params import file_env, scale_names
from .registry import Kind, get_kind
from .reuse import Written, pair_calls
from .schema import SpecFile
from .source import Document, PathKey
from .structure import MAX_ERRORS
from .validation import validation_diagnostics
from .wiring import record_left_out, record_wiring

#: An elaborated network may hold at most this many layers (``--max-layers`` raises it).
MAX_LAYERS = 10_000
#: Layer lists may nest this deep, blocks included (the passes recurse once per level).
MAX_NESTING = 100
#: Options a layer reads before the others: the tensors it reads and makes, its condition.
GRAPH_KEYS = ("from", "to", "if")


@dataclass
class Program:
    """An elaborated spec: every value concrete, every block and repeat expanded."""

    doc: Document
    name: str
    description: str
    #: the values of the params (defaults, then the scale's, then overrides)
    params: dict[str, Any]
    #: the chosen scale ("" for a spec without scales) and all of them, the default first
    scale: str
    scales: list[str]
    #: the network's inputs by name (``input`` when the spec writes one ``input:``)
    inputs: dict[str, Shape]
    root: Node
    #: the shapes the spec promises: ``output:`` as {"": shape}, or ``outputs:`` by name
    outputs: dict[str, Shape | None]
    #: the scope of the network's own tensor names
    scope: Scope
    #: what expanding found suspicious but valid (the shape pass adds its own)
    warnings: list[Diagnostic]
    #: the command's budget, which the shape pass goes on paying from
    budget: Budget

    @property
    def input(self) -> Shape:
        """The shape of the first (usually the only) input."""
        return next(iter(self.inputs.values()))


def stopped(errors: list[Diagnostic]) -> list[Diagnostic]:
    """The problems found when the walk stops at :data:`MAX_ERRORS`: the same problem found in
    every copy of a repeat is one, and a note says where more were not looked for."""
    unique = NetspecError(errors).diagnostics
    if len(unique) < MAX_ERRORS:
        return unique
    note = f"more than {MAX_ERRORS} problems; the first are shown, the rest not looked for"
    return [*unique, Diagnostic(unique[0].file, note, "fix these first, then check again")]


def elaborate(
    doc: Document,
    overrides: Mapping[str, Any] | None = None,
    max_layers: int = MAX_LAYERS,
    scale: str | None = None,
    budget: Budget | None = None,
) -> Program:
    """Validate and expand a parsed spec (raises :class:`NetspecError`).

    ``overrides`` set params (``width``) and single layers' options (``head.fc.out``);
    ``scale`` chooses one of the spec's ``scales:`` (default: the first). Every expression
    is paid from ``budget`` (by default a fresh :class:`~netspec.budget.Budget`, one per
    load, that grows with ``max_layers``), which the program hands on to the shape pass.
    """
    module = load_module(doc)
    params, layer_options = split_overrides(overrides or {})
    shared = Shared(max_layers, budget or Budget.for_layers(max_layers))
    program = _Expander(module, shared).run(params, scale)
    apply_layer_overrides(program.root, layer_options, doc.file)
    return program


class _Expander(FileValues):
    """Expands the layers of one file: the spec, or an imported file's blocks.

    It is the :class:`~netspec.expansion.Expander` that block calls and composite kinds use.
    """

    def __init__(self, module: Module, shared: Shared) -> None:
        super().__init__(module.doc, shared)
        self.module = module
        self.spec = module.spec
        self.blocks: dict[str, BlockRef] = module.blocks

    @property
    def max_layers(self) -> int:
        return self.shared.max_layers

    def of(self, ref: BlockRef) -> Expander:
        """The expander of the file that defines a block, its params evaluated once."""
        if ref.module.doc is self.doc:
            return self
        return self.imported(ref.module)

    def imported(self, module: Module) -> Expander:
        """The expander of an imported file, its params evaluated once (raise Failed after
        reporting why they cannot be)."""
        key = id(module)
        if key in self.shared.broken:  # its params failed, and were reported once
            raise Failed
        found = self.shared.expanders.get(key)
        if found is None:
            found = _Expander(module, self.shared)
            before = len(self.errors)
            found.params = file_env(
                found, found.spec.params, module.settings, None, module.settings_at
            )
            if len(self.errors) > before:
                self.shared.broken.add(key)
                raise Failed
            self.shared.expanders[key] = found
        return found

    def check_imports(self) -> None:
        """The params each import sets, checked at the import even where none of the file's
        blocks is used, and those that the files it imports set in turn."""
        todo, seen = list(self.module.imports), set()
        while todo:
            module = todo.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            if module.settings_at is not None:
                try:
                    self.imported(module)
                except Failed:
                    continue
            todo.extend(module.imports)

    def run(self, overrides: dict[str, Any], scale: str | None) -> Program:
        assert isinstance(self.spec, SpecFile)  # a spec, not a library (load_module)
        self.params = file_env(self, self.spec.params, overrides, scale)
        self.check_imports()
        scales = scale_names(self.doc.data)
        data = self.doc.data
        inputs, outputs = self.interface(self.spec)
        if self.errors:
            raise NetspecError(self.errors)
        scope = Scope(tuple(inputs), tuple(k for k in outputs if k))
        scope.declared = (self.doc, ("outputs",))
        self.shared.scopes.append(scope)
        children = self.expand_list(data["layers"], ("layers",), self.params, (), 0)
        if self.errors:
            raise NetspecError(self.errors)
        group, opts = implicit_group()
        root = Node(group, opts, "", self.doc, ("layers",), label=self.spec.name, children=children)
        root.scope = root.opens = scope
        return Program(
            self.doc,
            self.spec.name,
            self.spec.description,
            {k: v for k, v in self.params.items() if not isinstance(v, Function)},
            scale or (scales[0] if scales else ""),
            scales,
            inputs,
            root,
            outputs,
            scope,
            self.shared.warnings,
            self.shared.budget,
        )

    # layers

    def expand_list(
        self,
        items: list[Any],
        path: PathKey,
        env: Mapping[str, Any],
        trace: tuple[str, ...],
        depth: int,
    ) -> list[Node]:
        """Elaborate a layer list; unnamed layers are numbered by position."""
        if depth > MAX_NESTING:  # stop at once: siblings would each nest as deep again
            raise NetspecError(
                [
                    self.doc.diagnostic(
                        path,
                        f"layers nest more than {MAX_NESTING} levels deep (blocks included)",
                        "flatten the structure, or use repeat; a block that calls itself "
                        "needs an if: that stops it",
                        notes=short_trace(trace),
                    )
                ]
            )
        children: list[Node] = []
        for i, raw in enumerate(items):
            node = self.expand_entry(raw, (*path, i), env, trace, str(i), depth)
            if node is not None:
                try:
                    spliced = node.kind.splice(node)
                except Problem as e:  # e.g. an inline list whose layers all failed
                    if not self.errors:
                        self.fail((*path, i), e.message, e.hint, trace=trace)
                    continue
                children.extend([node] if spliced is None else spliced)
        name_layers(children, self.shared.scopes[-1], self.errors)
        pair_calls(children, self.shared.written, self.errors)
        return children

    def sequence(
        self,
        children: list[Node],
        path: PathKey,
        trace: tuple[str, ...],
        name: str,
        label: str = "",
        own_name: bool = False,
    ) -> Node:
        scope = self.shared.scopes[-1]
        return sequence(children, self.doc, path, trace, name, scope, label, own_name)

    # the graph: a layer an if: leaves out

    def left_out(self, options: Any, path: PathKey) -> None:
        record_left_out(self.shared.scopes[-1], self.doc, options, path)

    def expand_entry(
        self,
        raw: Any,
        path: PathKey,
        env: Mapping[str, Any],
        trace: tuple[str, ...],
        index: str,
        depth: int,
    ) -> Node | None:
        if len(self.errors) >= MAX_ERRORS:  # each copy of a repeat may fail the same way again
            raise NetspecError(stopped(self.errors))
        self.shared.count += 1
        if self.shared.count > self.max_layers:
            raise NetspecError(
                [
                    self.doc.diagnostic(
                        path,
                        f"the network expands to more than {self.max_layers:,} layers",
                        "lower a repeat count, or raise the limit with --max-layers",
                        notes=short_trace(trace),
                    )
                ]
            )
        written = Written(self, raw, path, env, trace, index, depth)
        try:
            if has_expression(raw):  # an entry given by an expression, e.g. "${act}"
                raw = self.value(raw, path, env, trace)
            word, options, opath = parse_entry(raw, path, self.doc, self.blocks)
            kind = get_kind(word)
            if kind is None:
                node = expand_call(self, word, options, opath, env, trace, index, depth)
            else:
                node = self.layer(kind, options, opath, env, trace, index, depth)
            if node is not None:  # a later call: of it elaborates it again
                self.shared.written[id(node)] = (node, written)
            return node
        except EntryError as e:
            self.errors.append(replace(e.diagnostic, notes=short_trace(trace)))
        except Failed:
            pass
        return None

    def layer(
        self,
        kind: Kind,
        options: Any,
        path: PathKey,
        env: Mapping[str, Any],
        trace: tuple[str, ...],
        index: str,
        depth: int,
    ) -> Node | None:
        try:
            raw = kind_options(kind, options)
        except Problem as e:
            self.fail(path, e.message, e.hint, trace=trace)
            raise Failed from e
        condition = self.condition(raw.get("if"), (*path, "if"), env, trace)
        if condition is False:
            self.left_out(raw, path)
            return None
        graph: dict[str, Any] = {
            k: self.value(raw[k], (*path, k), env, trace) for k in ("from", "to") if k in raw
        }
        concrete, pending = self.layer_options(kind, raw, path, env, trace)
        concrete.update(graph)
        try:
            remember = not kind.nested  # a layer list is too big to key by
            opts = self.shared.validate(kind.Options, concrete, not pending, remember)
        except ValidationError as e:
            self.errors.extend(
                validation_diagnostics(
                    e, self.doc, path, kind.Options, short_trace(trace), what=kind.name
                )
            )
            raise Failed from e
        node = Node(kind, opts, opts.name or index, self.doc, path, trace=trace, given=opts.name)
        record_wiring(node, self.shared.scopes[-1], self.doc, path, graph, condition)
        if pending:
            node.pending = Pending(concrete, tuple(pending), env)
        if opts.expect is not None:
            node.expects = [(tuple(opts.expect), (*path, "expect"), self.doc)]
        try:
            return kind.expand(node, ExpandScope(self, path, raw, env, trace, depth))
        except Problem as e:
            where = (*path, *e.at) if isinstance(e.at, tuple) else path
            self.fail(where, e.message, e.hint, key=where == path, trace=trace)
            raise Failed from e

    def layer_options(
        self,
        kind: Kind,
        raw: dict[str, Any],
        path: PathKey,
        env: Mapping[str, Any],
        trace: tuple[str, ...],
    ) -> tuple[dict[str, Any], list[str]]:
        """A layer's options but from:, to: and if:, evaluated, and those that wait for shapes
        (left as written); raise Failed where what names or expands the layer must wait."""
        concrete: dict[str, Any] = {}
        pending: list[str] = []
        for k, v in raw.items():
            if k in GRAPH_KEYS:
                continue
            if k in kind.nested and not has_expression(v):
                concrete[k] = v  # nested layer lists are expanded later, in their own scope
                continue
            try:
                concrete[k] = self.value(v, (*path, k), env, trace, deferrable=True)
            except NeedsShapes:  # e.g. groups: ${channels()}: the shape pass evaluates it
                concrete[k] = v
                pending.append(k)
        too_late = [k for k in pending if k in ("name", "expect")] or pending[:1] * bool(
            kind.nested
        )
        if too_late:  # what names the layer, or expands it, is needed before shapes are known
            what = kind.name if kind.nested else "a layer"
            self.fail(
                (*path, too_late[0]),
                f"{what}'s {too_late[0]} cannot depend on shapes: it is needed before shapes "
                "are known",
                "compute it from params and block arguments; shapes can set the other options "
                "of single layers, if:, and a block call's arguments",
                trace=trace,
            )
            raise Failed
        return concrete, pending
