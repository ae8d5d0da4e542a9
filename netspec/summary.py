"""Per-layer summaries: from the static pass (no torch), or from torchinfo on the built module.

The torchinfo summary builds the module on PyTorch's meta device, so no weight is allocated: a
spec of billions of parameters summarises in seconds. Both summaries give the same rows (paths
follow the spec) and must agree on every output shape and on the parameters; torchinfo's
mult-adds also count bias terms and batchnorm weights, so they are reported beside netspec's
MACs rather than in their place.

Example::

    s = static_summary(spec, batch=8)          # or torch_summary(spec, batch=8)
    s.rows[0].path, s.totals.params
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from .errors import NetspecError
from .ir import Checked, Shape
from .summary_data import Row, SummaryData, Totals
from .train_memory import train_memory

if TYPE_CHECKING:
    from torch import nn


class Summarisable(Protocol):
    """What a summary needs of a spec (:class:`netspec.Spec` is one)."""

    checked: Checked

    @property
    def name(self) -> str: ...

    @property
    def file(self) -> str: ...

    @property
    def input_shape(self) -> Shape: ...

    @property
    def input_shapes(self) -> dict[str, Shape]: ...

    @property
    def output_shape(self) -> Shape: ...

    @property
    def output_shapes(self) -> dict[str, Shape]: ...

    def build(self, *, device: str | None = None, max_bytes: int | None = None) -> nn.Module: ...


BYTES_PER_VALUE = 4  # float32

#: Row and Totals live with the summary's data; they are named here too, where they always were
__all__ = [
    "BYTES_PER_VALUE",
    "Row",
    "Summarisable",
    "Summary",
    "Totals",
    "activation_values",
    "scratch_values",
    "static_summary",
    "torch_summary",
]


class Summary(SummaryData):
    """A per-layer summary (its fields: :class:`netspec.summary_data.SummaryData`). Jupyter
    shows it as an HTML table, IPython as the text ``netspec summary`` prints."""

    def _repr_html_(self) -> str:
        from .notebook import summary_html

        return summary_html(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from .report import format_summary

        printer.text(format_summary(self, "table"))


def static_summary(spec: Summarisable, batch: int = 1, depth: int | None = None) -> Summary:
    """The checker's own per-layer table (never imports torch)."""
    _check_batch(spec, batch)
    checked = spec.checked
    rows = [
        _row(c)
        for c in checked.walk()[1:]
        if (depth is None or c.depth <= depth) and not c.node.kind.holds_tensor
    ]  # a parameter is no module, as torchinfo lists them: it counts in its holder's row
    totals = Totals(
        params=checked.params,
        trainable_params=checked.params - checked.frozen,
        macs=checked.macs,
        param_bytes=checked.params * BYTES_PER_VALUE,
        activation_bytes=activation_values(checked) * batch * BYTES_PER_VALUE,
        buffers=checked.buffers,
        train_bytes=training_bytes(spec, batch),
    )
    return Summary(spec.name, spec.file, "static", batch, spec.input_shape.dims, rows, totals)


def training_bytes(spec: Summarisable, batch: int) -> int | None:
    """The peak memory of a training step on ``batch`` samples (SGD with momentum, float32:
    :func:`netspec.train_memory.train_memory`); None for a network that is not a classifier
    (what ``netspec train`` trains)."""
    try:
        return train_memory(spec, batch).peak
    except NetspecError:  # not one flat output of class scores
        return None


def torch_summary(spec: Summarisable, batch: int = 1, depth: int | None = None) -> Summary:
    """torchinfo's summary of the module built on the meta device (no weights allocated)."""
    _check_batch(spec, batch)
    import torch
    import torchinfo

    with torch.device("meta"):
        model = spec.build()
    examples = [torch.zeros(batch, *s.dims, device="meta") for s in spec.input_shapes.values()]
    stats = torchinfo.summary(
        model,
        input_data=examples,
        device="meta",
        verbose=0,
        depth=10**6,
        col_names=("output_size", "num_params", "mult_adds"),
    )
    by_path = {c.path: c for c in spec.checked.walk()}
    rows: list[Row] = []
    leaf_mult_adds: dict[str, int] = {}
    for info in stats.summary_list[1:]:
        path = _torchinfo_path(info)
        c = by_path.get(path)
        if c is None:
            # the inside of one layer (a plugin's module may have submodules): counted as it
            owner = _enclosing_layer(path, by_path)
            if owner is None:  # a module that is not a layer of the spec: a compiler bug
                message = f"internal: torchinfo row {path!r} has no layer"
                raise NetspecError.plain(spec.file, message)
            if info.is_leaf_layer:
                leaf_mult_adds[owner] = leaf_mult_adds.get(owner, 0) + int(info.macs)
            continue
        shape = tuple(int(d) for d in info.output_size[1:])
        if shape != c.output.dims:
            raise NetspecError.plain(
                spec.file, f"internal: {path} gives {shape} in torch but {c.output.dims} statically"
            )
        if info.is_leaf_layer:
            leaf_mult_adds[path] = leaf_mult_adds.get(path, 0) + int(info.macs)
        rows.append(_row(c, module=info.class_name, params=int(info.num_params)))
    # each leaf's count added to its own row and every enclosing one: one pass, not rows × leaves
    totals_by_path: dict[str, int] = {}
    for path, value in leaf_mult_adds.items():
        parts = path.split(".")
        for n in range(1, len(parts) + 1):
            prefix = ".".join(parts[:n])
            totals_by_path[prefix] = totals_by_path.get(prefix, 0) + value
    for row in rows:
        row.mult_adds = totals_by_path.get(row.path, 0)
    checked = spec.checked
    totals = Totals(
        params=int(stats.total_params),
        trainable_params=int(stats.trainable_params),
        macs=checked.macs,
        param_bytes=int(stats.total_params) * BYTES_PER_VALUE,
        activation_bytes=activation_values(checked) * batch * BYTES_PER_VALUE,
        buffers=checked.buffers,
        mult_adds=int(stats.total_mult_adds),
        train_bytes=training_bytes(spec, batch),
    )
    if totals.params != checked.params:
        raise NetspecError.plain(
            spec.file,
            f"internal: torchinfo counts {totals.params:,} params, netspec {checked.params:,}",
        )
    if depth is not None:
        rows = [r for r in rows if r.depth <= depth]
    return Summary(spec.name, spec.file, "torchinfo", batch, spec.input_shape.dims, rows, totals)


def _check_batch(spec: Summarisable, batch: int) -> None:
    """Refuse a batch that makes a tensor larger than torch can index (2^63 - 1 values)."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise NetspecError.plain(spec.file, f"the batch must be a whole number ≥ 1, got {batch!r}")
    largest = max(
        [s.numel for s in spec.input_shapes.values()]
        + [c.output.numel for c in spec.checked.walk()]
    )
    if batch * largest > 2**63 - 1:
        raise NetspecError.plain(
            spec.file,
            f"a batch of {batch:,} makes a tensor of {batch * largest:,} values, more than torch "
            "can hold",
            "choose a smaller --batch",
        )


def activation_values(checked: Checked) -> int:
    """Values every layer outputs for one sample: what a forward pass keeps alive for training."""
    return sum(c.output.numel for c in checked.walk() if not c.children)


def scratch_values(checked: Checked, batch: int) -> int:
    """The largest scratch one layer allocates for a batch (freed before the next layer runs):
    a padded copy of its input, a convolution's reordered copies, a max pool's indices."""
    return max(
        (
            c.node.kind.scratch(c.node.opts, c.input, c.output, batch)
            for c in checked.walk()
            if not c.children
        ),
        default=0,
    )


def _row(c: Checked, module: str = "", params: int | None = None) -> Row:
    return Row(
        path=c.path,
        module=module or c.node.kind.name,
        layer=c.text(),
        depth=c.depth,
        output=c.output.dims,
        params=c.params if params is None else params,
        macs=c.macs,
    )


def _enclosing_layer(path: str, layers: dict[str, Checked]) -> str | None:
    """The spec's single layer (no children) that holds the submodule at ``path``, if any."""
    parts = path.split(".")
    for n in range(len(parts) - 1, 0, -1):
        c = layers.get(".".join(parts[:n]))
        if c is not None:
            return c.path if not c.children else None
    return None


def _torchinfo_path(info: object) -> str:
    parts: list[str] = []
    node = info
    while getattr(node, "parent_info", None) is not None:
        parts.append(str(getattr(node, "var_name")))  # noqa: B009 - torchinfo has no types
        node = getattr(node, "parent_info")  # noqa: B009
    return ".".join(reversed(parts))
