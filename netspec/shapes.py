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
from .errors import LayerError, NetspecError
from .ir import Checked, Node, Shape
from .registry import get_kind
from .schema import validation_diagnostics


def infer_shapes(program: Program) -> Checked:
    """Check the whole network; the first problem found is raised as a :class:`NetspecError`."""
    return _Infer().check(program.root, program.input, "")


class _Infer:
    """The :class:`~netspec.registry.InferContext` handed to composite kinds."""

    def check(self, node: Node, shape: Shape, parent: str) -> Checked:
        path = f"{parent}.{node.name}" if parent else node.name
        try:
            checked = node.kind.infer(node, shape, self, path)
        except LayerError as e:
            raise NetspecError(
                [node.doc.diagnostic(node.path, e.message, e.hint, key=True,
                                     notes=(*node.trace, *e.notes))]
            ) from None
        if any(d < 1 for d in checked.output.dims):
            raise NetspecError(
                [node.doc.diagnostic(
                    node.path,
                    f"{node.display} gives an empty output {checked.output} from input {shape}",
                    "every size must stay at least 1: downsample less, or pad more",
                    key=True, notes=node.trace)]
            )
        return checked

    def synthesize(self, kind: str, options: dict[str, Any], like: Node, name: str) -> Node:
        found = get_kind(kind)
        if found is None:
            raise LayerError(f"internal: no kind {kind}")
        try:
            opts = found.Options.model_validate(options)
        except ValidationError as e:
            raise NetspecError(validation_diagnostics(e, like.doc, like.path, found.Options)) from e
        return Node(found, opts, name, like.doc, like.path, trace=like.trace)
