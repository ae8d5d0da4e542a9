"""The static pass: every layer's output shape, parameters and MACs, without torch.

MACs count the multiply-accumulates of conv and linear weights (bias, normalisation and pooling
excluded): the convention of torchvision's published GFLOPS.

Example::

    checked = infer_shapes(elaborate(read_source("specs/lenet.yaml")))
    checked.output, checked.params      # Shape((10,)), 61706
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .elaborate import Program
from .errors import NetspecError, Problem
from .expansion import implicit_group
from .ir import Checked, Node, Shape
from .registry import get_kind
from .schema import EVALUATED
from .validation import validation_diagnostics

#: torch indexes tensors with signed 64-bit integers
MAX_VALUES = 2**63 - 1


def infer_shapes(program: Program) -> Checked:
    """Check the whole network; the first problem found is raised as a :class:`NetspecError`."""
    if program.input.numel > MAX_VALUES:
        raise NetspecError(
            [
                program.doc.diagnostic(
                    ("input",),
                    f"the input {program.input} holds more values than a torch tensor can",
                    "check the input sizes",
                )
            ]
        )
    checked = _Infer().check(program.root, program.input, "")
    if program.output is not None and checked.output != program.output:
        raise NetspecError(
            [
                program.doc.diagnostic(
                    ("output",),
                    f"the network gives {checked.output}, but output: says {program.output}",
                    "check the last layers: global pooling, flatten and the final linear",
                )
            ]
        )
    return checked


class _Infer:
    """The :class:`~netspec.registry.InferContext` handed to composite kinds."""

    def __init__(self) -> None:
        self.leaves: list[Checked] = []  # checked so far, for hints that look back

    def check(self, node: Node, shape: Shape, parent: str) -> Checked:
        path = f"{parent}.{node.name}" if parent else node.name
        try:
            checked = node.kind.infer(node, shape, self, path)
        except Problem as e:
            at: Node = e.at if isinstance(e.at, Node) else node
            raise NetspecError(
                [
                    at.doc.diagnostic(
                        at.path, e.message, e.hint, key=True, notes=(*at.trace, *e.notes)
                    )
                ]
            ) from None
        if not node.children:
            self.leaves.append(checked)
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
        return checked

    def growth_note(self) -> tuple[str, ...]:
        """Where a layer first made the image larger: the usual cause of a wrong size."""
        for c in self.leaves:
            if c.input.rank == c.output.rank == 3 and any(
                o > i for i, o in zip(c.input.spatial, c.output.spatial, strict=True)
            ):
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
        )

    def synthesize(self, kind: str, options: dict[str, Any], like: Node, name: str) -> Node:
        found = get_kind(kind)
        if found is None:
            raise Problem(f"internal: no kind {kind}")
        try:
            opts = found.Options.model_validate(options, context=EVALUATED)
        except ValidationError as e:
            raise NetspecError(validation_diagnostics(e, like.doc, like.path, found.Options)) from e
        return Node(found, opts, name, like.doc, like.path, trace=like.trace)


def _hw(shape: Shape) -> str:
    return "×".join(str(d) for d in shape.spatial)
