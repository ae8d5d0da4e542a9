"""``gather``: rows of a table picked by an index, ``table[index]`` (Swin's relative position
bias: a learned table of ``(2w-1)², heads`` biases, read at the ``w⁴`` pairs of positions of a
window by the fixed ``relative_position_index``).

Both tensors are held by the network (a ``parameter`` and a ``buffer``): neither has a batch
axis, and neither has its result, which the layers after it reshape and permute as they would
a sample's (torchvision's ``.view(N, N, -1).permute(2, 0, 1)``) and ``add`` broadcasts over the
batch. Where the index is a buffer whose values netspec makes (``init: arange`` or
``relative_position_index``), a table with too few rows is an error before anything runs.

Example::

    - parameter: {name: relative_position_bias_table, shape: [169, 3], to: table}
    - buffer: {name: relative_position_index, shape: [2401], init: relative_position_index,
               window: 7, to: index}
    - gather: {from: [table, index]}            # (2401, 3)
    - reshape: [49, 49, 3]
    - permute: [2, 0, 1]                        # (3, 49, 49): a bias for each head
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Problem
from ..ir import Checked, Layout, Node, Saved, Shape, Value
from ..registry import Family, InferContext, Kind, register
from ..schema import Options

if TYPE_CHECKING:
    from torch import nn


class GatherSpec(Options):
    pass


class Gather(Kind):
    name = "gather"
    Options = GatherSpec
    family = Family.OTHER
    multi_input = True
    broadcasts = True  # its inputs have no batch axis: nothing to expand
    summary = "rows of a table picked by an index buffer, table[index]: from: [table, index]"

    def infer(self, node: Node, sources: list[Value], ctx: InferContext, path: str) -> Checked:
        if len(sources) != 2:
            raise Problem(
                f"gather reads a table and an index, but from: names {len(sources)} tensors",
                "write from: [table, index]",
            )
        table, index = sources
        for what, value in (("table", table), ("index", index)):
            if not value.batchless():
                raise Problem(
                    f"gather's {what} is {value.shape.what()} of each sample, made by "
                    f"{value.where()}",
                    f"the {what} is a tensor the network holds: a "
                    + ("parameter" if what == "table" else "buffer")
                    + ", read with from:",
                )
        rows = table.shape.dims[0]
        bound = _bound(index)
        if bound is not None and bound > rows:
            raise Problem(
                f"gather's index reaches row {bound - 1}, but its table has {rows} rows",
                f"give the table {bound} rows (shape: [{bound}, ...])",
                (f"the table is {table.shape}, made by {table.where()}",),
            )
        dims = (*index.shape.dims, *table.shape.dims[1:])
        return Checked(node, path, table.shape, Shape.laid(dims, Layout.TENSOR))

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def saved(self, opts: Any, input: Shape, output: Shape) -> Saved:
        return Saved(input=False, extra=0)  # the index, which the network holds anyway

    def build(self, checked: Checked, ctx: Any) -> nn.Module:
        from ..attention_modules import Gather as GatherModule

        table, index = (v.shape for v in checked.sources)
        return GatherModule(list(table.dims), list(index.dims))

    def describe(self, opts: Any) -> str:
        return "gather table[index]"


def _bound(index: Value) -> int | None:
    """One more than the largest value of an index buffer whose values netspec makes, or
    None where they are not known before it runs."""
    producer = index.producer
    if producer is None or producer.node.kind.holds_tensor != "buffer":
        return None
    opts = producer.node.opts
    init = getattr(getattr(opts, "init", None), "value", None)
    if init == "arange":
        dims = list(getattr(opts, "shape", []))
        return int(dims[getattr(opts, "axis", 0)]) if dims else None
    if init == "relative_position_index":
        window = int(getattr(opts, "window", 0) or 0)
        return (2 * window - 1) ** 2 if window else None
    return None


register(Gather())
