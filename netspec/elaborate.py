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

from .calls import expand_call
from .entries import (
    EntryError,
    is_shape,
    kind_options,
    parse_entry,
    type_problem,
    value_type,
)
from .errors import Diagnostic, NetspecError, Pos, Problem, did_you_mean
from .expansion import ExpandScope, Failed, implicit_group, short_trace
from .expr import ExpressionError, has_expression, substitute
from .imports import BlockRef, Module, load_module
from .ir import Node, Shape
from .overrides import apply_layer_overrides, split_overrides
from .registry import Kind, get_kind
from .schema import EVALUATED, SpecFile
from .source import Document, PathKey, show
from .validation import validation_diagnostics

#: An elaborated network may hold at most this many layers (``--max-layers`` raises it).
MAX_LAYERS = 1_000_000
#: Layer lists may nest this deep, blocks included (the passes recurse once per level).
MAX_NESTING = 100


@dataclass
class Program:
    """An elaborated spec: every value concrete, every block and repeat expanded."""

    doc: Document
    name: str
    description: str
    params: dict[str, Any]
    input: Shape
    root: Node
    output: Shape | None = None


def elaborate(
    doc: Document, overrides: Mapping[str, Any] | None = None, max_layers: int = MAX_LAYERS
) -> Program:
    """Validate and expand a parsed spec (raises :class:`NetspecError`).

    ``overrides`` set params (``width``) and single layers' options (``head.fc.out``).
    """
    module = load_module(doc)
    params, layer_options = split_overrides(overrides or {})
    program = _Expander(module, _Shared(max_layers)).run(params)
    apply_layer_overrides(program.root, layer_options, doc.file)
    return program


class _Shared:
    """What the expanders of a spec and of the files it imports share."""

    def __init__(self, max_layers: int) -> None:
        self.errors: list[Diagnostic] = []
        self.count = 0
        self.max_layers = max_layers
        self.expanders: dict[int, _Expander] = {}
        self.broken: set[int] = set()  # imported files whose params failed
        self.active: list[BlockRef] = []  # the block calls being expanded, outermost first


class _Expander:
    """Expands the layers of one file: the spec, or an imported file's blocks."""

    def __init__(self, module: Module, shared: _Shared) -> None:
        self.doc = module.doc
        self.spec = module.spec
        self.blocks: dict[str, BlockRef] = module.blocks
        self.shared = shared
        self.errors = shared.errors
        self.params: dict[str, Any] = {}

    @property
    def max_layers(self) -> int:
        return self.shared.max_layers

    def of(self, ref: BlockRef) -> _Expander:
        """The expander of the file that defines a block, its params evaluated once."""
        if ref.module.doc is self.doc:
            return self
        key = id(ref.module)
        if key in self.shared.broken:  # its params failed, and were reported once
            raise Failed
        found = self.shared.expanders.get(key)
        if found is None:
            found = _Expander(ref.module, self.shared)
            before = len(self.errors)
            found.params = found.evaluate_params({})
            if len(self.errors) > before:
                self.shared.broken.add(key)
                raise Failed
            self.shared.expanders[key] = found
        return found

    def fail(
        self,
        path: PathKey,
        message: str,
        hint: str = "",
        *,
        key: bool = False,
        trace: tuple[str, ...] = (),
        pos: Pos | None = None,
    ) -> None:
        self.errors.append(
            self.doc.diagnostic(path, message, hint, key=key, notes=short_trace(trace), pos=pos)
        )

    def run(self, overrides: dict[str, Any]) -> Program:
        assert isinstance(self.spec, SpecFile)  # a spec, not a library (load_module)
        self.params = self.evaluate_params(overrides)
        shape = self.shape("input")
        output = self.shape("output") if self.spec.output is not None else None
        if self.errors:
            raise NetspecError(self.errors)
        children = self.expand_list(self.doc.data["layers"], ("layers",), self.params, (), 0)
        if self.errors:
            raise NetspecError(self.errors)
        group, opts = implicit_group()
        root = Node(group, opts, "", self.doc, ("layers",), label=self.spec.name, children=children)
        return Program(
            self.doc, self.spec.name, self.spec.description, self.params, shape, root, output
        )

    def evaluate_params(self, overrides: dict[str, Any]) -> dict[str, Any]:
        declared = self.spec.params
        for key in overrides:
            if key not in declared:
                raise NetspecError.plain(
                    self.doc.file,
                    f'--set {key}: the spec has no param "{key}"',
                    did_you_mean(key, declared, "params"),
                )
        env: dict[str, Any] = {}
        for name, default in declared.items():
            try:
                value = self.value(default, ("params", name), env)
            except Failed:
                continue
            if name in overrides:
                given = overrides[name]
                problem = type_problem(given, value_type(value))
                if problem:
                    raise NetspecError.plain(
                        self.doc.file,
                        f"--set {name}={show(given)}: {problem}",
                        f"the default is {show(value)}",
                    )
                value = float(given) if isinstance(value, float) else given
            env[name] = value
        return env

    def shape(self, key: str) -> Shape:
        dims = []
        for i, raw in enumerate(self.doc.data[key]):
            try:
                d = self.value(raw, (key, i), self.params)
            except Failed:
                continue
            if not is_shape([d]) or d > 2**31 - 1:
                self.fail((key, i), f"{key} sizes must be positive integers, got {show(d)}")
            else:
                dims.append(d)
        return Shape(tuple(dims))

    def value(
        self, raw: Any, path: PathKey, env: Mapping[str, Any], trace: tuple[str, ...] = ()
    ) -> Any:
        """Substitute every expression in ``raw`` (recursively); raise Failed after reporting."""
        if isinstance(raw, str):
            if "${" not in raw:
                return raw
            try:
                return substitute(raw, env)
            except ExpressionError as e:
                self.fail(
                    path, e.message, e.hint, trace=trace, pos=self.doc.expression_pos(path, e.index)
                )
                raise Failed from e
            except Problem as e:
                self.fail(path, e.message, e.hint, trace=trace)
                raise Failed from e
        if isinstance(raw, list):
            return [self.value(v, (*path, i), env, trace) for i, v in enumerate(raw)]
        if isinstance(raw, dict):
            return {k: self.value(v, (*path, k), env, trace) for k, v in raw.items()}
        return raw

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
        if depth > MAX_NESTING:
            self.fail(
                path,
                f"layers nest more than {MAX_NESTING} levels deep (blocks included)",
                "flatten the structure, or use repeat",
                trace=trace,
            )
            raise Failed
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
        names: set[str] = set()
        for position, node in enumerate(children):
            if node.name.isdigit():  # unnamed (a name starts with a letter)
                node.name = str(position)
            elif node.name in names:
                self.errors.append(  # in the file that wrote the layer (a block's, maybe)
                    node.doc.diagnostic(
                        node.path,
                        f'two layers here are named "{node.name}"',
                        "names must be unique within a list of layers",
                        key=True,
                        notes=short_trace(node.trace),
                    )
                )
            names.add(node.name)
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
            self.doc,
            path,
            label=label,
            children=children,
            trace=trace,
            implicit=True,
        )

    def expand_entry(
        self,
        raw: Any,
        path: PathKey,
        env: Mapping[str, Any],
        trace: tuple[str, ...],
        index: str,
        depth: int,
    ) -> Node | None:
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
        try:
            if has_expression(raw):  # an entry given by an expression, e.g. "${act}"
                raw = self.value(raw, path, env, trace)
            word, options, opath = parse_entry(raw, path, self.doc, self.blocks)
            kind = get_kind(word)
            if kind is None:
                return expand_call(self, word, options, opath, env, trace, index, depth)
            return self.layer(kind, options, opath, env, trace, index, depth)
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
    ) -> Node:
        try:
            raw = kind_options(kind, options)
        except Problem as e:
            self.fail(path, e.message, e.hint, trace=trace)
            raise Failed from e
        concrete = {  # nested layer lists are expanded later, in their own scope
            k: v
            if k in kind.nested and not has_expression(v)
            else self.value(v, (*path, k), env, trace)
            for k, v in raw.items()
        }
        try:
            opts = kind.Options.model_validate(concrete, context=EVALUATED)
        except ValidationError as e:
            self.errors.extend(
                validation_diagnostics(
                    e, self.doc, path, kind.Options, short_trace(trace), what=kind.name
                )
            )
            raise Failed from e
        node = Node(kind, opts, opts.name or index, self.doc, path, trace=trace, given=opts.name)
        if opts.expect is not None:
            node.expects = [(tuple(opts.expect), (*path, "expect"), self.doc)]
        try:
            return kind.expand(node, ExpandScope(self, path, raw, env, trace, depth))
        except Problem as e:
            where = (*path, *e.at) if isinstance(e.at, tuple) else path
            self.fail(where, e.message, e.hint, key=where == path, trace=trace)
            raise Failed from e
