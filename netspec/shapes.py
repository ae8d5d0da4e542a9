"""The static pass: the network as a graph of tensors, every shape, parameter and MAC, no torch.

It walks the elaborated layers in the order they are written, as the network will run. Each
layer reads the previous layer's output, or the named tensors of its ``from:``; its output gets
the names of its ``to:``. Names live in scopes (the network, each call of a block) and are
looked up where they are used, so a name never leaks out of a block. Options and conditions
that depend on shapes (``groups: ${channels()}``) are evaluated here, once the input is known.

MACs count the multiply-accumulates of conv and linear weights (bias, normalisation and pooling
excluded): the convention of torchvision's published GFLOPS.

Example::

    checked = infer_shapes(elaborate(read_source("specs/lenet.yaml")))
    checked.output, checked.params      # Shape((10,)), 61706
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .budget import Budget
from .elaborate import Program
from .errors import Diagnostic, NetspecError, Problem
from .expansion import implicit_group, short_trace
from .expr import ExpressionError, substitute
from .ir import Checked, Node, Scope, Shape, Value
from .names import Binding, Names, Tensors
from .registry import get_kind
from .schema import EVALUATED
from .source import Document, PathKey, show
from .validation import validation_diagnostics

#: torch indexes tensors with signed 64-bit integers
MAX_VALUES = 2**63 - 1


def infer_shapes(program: Program) -> Checked:
    """Check the whole network; the first problem found is raised as a :class:`NetspecError`."""
    return check_graph(program)[0]


def check_graph(
    program: Program, done: list[Checked] | None = None
) -> tuple[Checked, list[Diagnostic]]:
    """The checked network and the warnings found on the way (named tensors never used).

    ``done``, where given, receives every layer as its check completes (children before the
    layer that holds them): the layers checked before an error, when one is raised.
    """
    for name, shape in program.inputs.items():
        if shape.numel > MAX_VALUES:
            key: PathKey = ("input",) if name == "input" else ("inputs", name)
            raise NetspecError(
                [
                    program.doc.diagnostic(
                        key,
                        f"the input {shape} holds more values than a torch tensor can",
                        "check the input sizes",
                    )
                ]
            )
    infer = _Infer(program.budget, done)
    inputs = [Value(shape, None, 0, name) for name, shape in program.inputs.items()]
    checked = infer.check(program.root, inputs[0], "", inputs)
    assert checked is not None  # the network itself has no condition
    checked.sources = inputs  # the network reads every input, in the order written
    infer.tensors.read.update(id(v) for v in checked.results)  # the network's outputs are read
    checked.input = inputs[0].shape  # the network's first input, whatever its first layer reads
    for (name, want), got in zip(program.outputs.items(), checked.results, strict=False):
        if want is None or got.shape == want:
            continue
        if name:
            where: PathKey = ("outputs", name)
            what = f'output "{name}" is {got.shape}'
        else:
            where, what = ("output",), f"the network gives {got.shape}"
        raise NetspecError(
            [
                program.doc.diagnostic(
                    where,
                    f"{what}, but {'outputs' if name else 'output'}: says {want}",
                    f"it is made by {got.where()}; check the layers before it"
                    if name
                    else "check the last layers: global pooling, flatten and the final linear",
                )
            ]
        )
    found = [*program.warnings, *infer.tensors.unused()]
    return checked, sorted(found, key=Diagnostic.sort_key)


class _Infer:
    """The :class:`~netspec.registry.InferContext` handed to composite kinds."""

    def __init__(self, budget: Budget, done: list[Checked] | None = None) -> None:
        self.budget = budget  # the command's, which elaborating began to spend
        self.done = done  # the caller's: every layer checked, in the order checked
        self.leaves: list[Checked] = []  # checked so far, for hints that look back
        self.tensors = Tensors()
        self.scopes: list[Scope] = []  # the scope of the layer being checked, innermost last

    # layers

    def check(
        self, node: Node, source: Value, parent: str, inputs: list[Value] | None = None
    ) -> Checked | None:
        """Check ``node`` on ``source`` (or its ``from:``); None where its ``if:`` is false."""
        if node.scope is None:  # made by a kind (an inception's empty branch): its parent's
            node.scope = self.scopes[-1]
        scope = node.scope
        env = self.tensors.env(scope, inputs or [source])
        if node.condition is not None and not self.condition(node, env, source):
            scope.read_if.update(node.sources)  # read where the condition holds: not dead
            for name in node.targets:  # an earlier tensor of that name stays, as for a value if:
                scope.skipped.setdefault(name, node.site or (node.doc, node.path))
            return None
        sources = [source]
        if node.sources:
            sources = [
                self.tensors.lookup(
                    env, name, node, ("from", i) if len(node.sources) > 1 else ("from",)
                )
                for i, name in enumerate(node.sources)
            ]
        if node.later is not None:  # a block call whose arguments read shapes: expand it now
            called = node.later(self.shapes_of(env, node, sources))
            if called.name.isdigit():
                called.name = node.name  # its place in the list, as numbered there
            called.condition = None  # decided above
            node = called
        self.arity(node, sources)
        reads = node.kind.holds_tensor is None  # a parameter or buffer reads nothing
        if reads:
            self.tensors.read.update(id(v) for v in sources)
        inner_env = env
        if node.opens is not None and node.opens is not scope:
            inner_env = self.tensors.env(
                node.opens, sources
            )  # a block call: its layers see its inputs
        if node.pending is not None:  # a block's one layer, standing for the call: its names
            self.evaluate_pending(node, inner_env, sources)
        path = f"{parent}.{node.name}" if parent else node.name
        self.scopes.append(node.opens or scope)
        try:
            checked = node.kind.infer(node, sources, self, path)
        except Problem as e:
            at: Node = e.at if isinstance(e.at, Node) else node
            raise NetspecError(
                [
                    at.doc.diagnostic(
                        at.path, e.message, e.hint, key=True, notes=(*at.trace, *e.notes)
                    )
                ]
            ) from None
        finally:
            self.scopes.pop()
        checked.sources = sources if reads else []
        opened = node.opens
        if opened is not None and opened.outputs:
            inner = self.tensors.envs[opened]
            checked.results = [
                self.tensors.output(inner, n, i) for i, n in enumerate(opened.outputs)
            ]
        if not checked.results:
            checked.results = [Value(checked.output, checked)]
        checked.output = checked.results[0].shape
        if opened is not None:  # what a block hands back is read by its caller
            self.tensors.read.update(id(v) for v in checked.results)
        self.name_results(node, checked, env)
        if not node.children:
            self.leaves.append(checked)
        self.expectations(node, checked, sources[0].shape)
        if self.done is not None:
            self.done.append(checked)
        return checked

    def arity(self, node: Node, sources: list[Value]) -> None:
        kind = node.kind
        doc, at = node.site or (node.doc, node.path)
        if kind.multi_input and len(sources) < 2:
            raise NetspecError(
                [
                    doc.diagnostic(
                        at,
                        f"{kind.name} needs at least two tensors",
                        "name them with from: [a, b] (give the tensors names with to:)",
                        key=True,
                        notes=node.trace,
                    )
                ]
            )
        if not kind.multi_input and len(sources) > 1 and node.opens is None:
            raise NetspecError(
                [
                    doc.diagnostic(
                        (*at, "from"),
                        f"{kind.name} reads one tensor, but from: names {len(sources)}",
                        "merge them first (concat, add, mul), or name one",
                        notes=node.trace,
                    )
                ]
            )

    def name_results(self, node: Node, checked: Checked, env: Names) -> None:
        if not node.targets:
            return
        doc, at = node.site or (node.doc, node.path)
        results = checked.results
        if len(node.targets) != len(results):
            raise NetspecError(
                [
                    doc.diagnostic(
                        (*at, "to"),
                        f"{node.display} makes {len(results)} tensors, to: names "
                        f"{len(node.targets)}",
                        "give to: one name for each",
                        notes=node.trace,
                    )
                ]
            )
        many = len(node.targets) > 1
        if len(set(node.targets)) < len(node.targets):
            twice = next(n for n in node.targets if node.targets.count(n) > 1)
            raise NetspecError(
                [
                    doc.diagnostic(
                        (*at, "to"),
                        f'to: names "{twice}" twice',
                        "give each tensor its own name",
                        notes=node.trace,
                    )
                ]
            )
        for i, name in enumerate(node.targets):
            value = results[i]
            if not value.name:
                value.name = name
            env.bind(name, Binding(value, (doc, (*at, "to", i) if many else (*at, "to"))))

    def shapes_of(self, env: Names, node: Node, sources: list[Value]) -> Any:
        def lookup(name: str | None) -> tuple[int, ...]:
            if name is None:
                return sources[0].shape.dims
            return self.tensors.lookup(env, name, node, ()).shape.dims

        return lookup

    def condition(self, node: Node, env: Names, source: Value) -> bool:
        assert node.condition is not None
        text, names = node.condition
        doc, at = node.site or (node.doc, node.path)
        sources = [source]
        if node.sources:
            sources = [self.tensors.lookup(env, name, node, ("from",)) for name in node.sources]
        value = self.evaluate(doc, (*at, "if"), text, names, self.shapes_of(env, node, sources))
        if not isinstance(value, bool):
            raise NetspecError(
                [doc.diagnostic((*at, "if"), f"if: needs true or false, got {show(value)}")]
            )
        return value

    def evaluate(
        self, doc: Document, at: PathKey, raw: Any, names: Mapping[str, Any], shapes: Any
    ) -> Any:
        if isinstance(raw, list):
            return [self.evaluate(doc, (*at, i), v, names, shapes) for i, v in enumerate(raw)]
        if isinstance(raw, dict):
            return {k: self.evaluate(doc, (*at, k), v, names, shapes) for k, v in raw.items()}
        if not isinstance(raw, str) or "${" not in raw:
            return raw
        try:
            return substitute(raw, names, shapes, self.budget)
        except ExpressionError as e:
            pos = doc.expression_pos(at, e.index)
            raise NetspecError([doc.diagnostic(at, e.message, e.hint, pos=pos)]) from None
        except Problem as e:
            raise NetspecError([doc.diagnostic(at, e.message, e.hint)]) from None

    def evaluate_pending(self, node: Node, env: Names, sources: list[Value]) -> None:
        pending = node.pending
        assert pending is not None
        options = dict(pending.options)
        shapes = self.shapes_of(env, node, sources)
        for key in pending.keys:
            options[key] = self.evaluate(
                node.doc, (*node.path, key), options[key], pending.env, shapes
            )
        try:
            node.opts = node.kind.Options.model_validate(options, context=EVALUATED)
        except ValidationError as e:
            raise NetspecError(
                validation_diagnostics(
                    e,
                    node.doc,
                    node.path,
                    node.kind.Options,
                    short_trace(node.trace),
                    what=node.kind.name,
                )
            ) from e
        node.pending = None

    def expectations(self, node: Node, checked: Checked, shape: Shape) -> None:
        for dims, where, doc in node.expects:
            if dims != checked.output.dims:
                raise NetspecError(
                    [
                        doc.diagnostic(
                            where,
                            f"{node.display} gives {checked.output}, "
                            f"but expect: says {Shape(dims)}",
                            "fix the layers up to here (kernel, stride, padding), "
                            "or the expectation",
                            notes=(*node.trace, *self.growth_note()),
                        )
                    ]
                )
        if checked.output.numel > MAX_VALUES or checked.params > MAX_VALUES:
            raise NetspecError(
                [
                    node.doc.diagnostic(
                        node.path,
                        f"{node.display} gives {checked.output} with {checked.params:,} "
                        f"parameters: more than the {MAX_VALUES:,} values a torch tensor can hold",
                        "check the sizes and channel counts",
                        key=True,
                        notes=node.trace,
                    )
                ]
            )
        if any(d < 1 for d in checked.output.dims):
            raise NetspecError(
                [
                    node.doc.diagnostic(
                        node.path,
                        f"{node.display} gives an empty output {checked.output} from input {shape}",
                        "every size must stay at least 1: downsample less, or pad more",
                        key=True,
                        notes=node.trace,
                    )
                ]
            )

    def growth_note(self) -> tuple[str, ...]:
        """Where a layer first made the image larger: the usual cause of a wrong size."""
        for c in self.leaves:
            if c.input.rank == c.output.rank == 3 and any(
                o > i for i, o in zip(c.input.spatial, c.output.spatial, strict=True)
            ):
                if c.node.kind.upsamples:
                    continue  # growing the image is what it is for
                pos = c.node.doc.pos(c.node.path, key=True)
                where = f" ({c.node.doc.file}:{pos.line}:{pos.col})" if pos else ""
                return (
                    f"{c.path} ({c.node.kind.describe(c.node.opts)}) grows the image from "
                    f"{_hw(c.input)} to {_hw(c.output)}{where}; too much padding?",
                )
        return ()

    def sequence(self, children: list[Node], like: Node, name: str) -> Node:
        group, opts = implicit_group()
        return Node(
            group,
            opts,
            name,
            like.doc,
            like.path,
            children=children,
            trace=like.trace,
            implicit=True,
            scope=like.scope,
        )

    def synthesize(self, kind: str, options: dict[str, Any], like: Node, name: str) -> Node:
        found = get_kind(kind)
        if found is None:
            raise Problem(f"internal: no kind {kind}")
        try:
            opts = found.Options.model_validate(options, context=EVALUATED)
        except ValidationError as e:
            raise NetspecError(validation_diagnostics(e, like.doc, like.path, found.Options)) from e
        return Node(found, opts, name, like.doc, like.path, trace=like.trace, scope=like.scope)


def _hw(shape: Shape) -> str:
    return "×".join(str(d) for d in shape.spatial)
