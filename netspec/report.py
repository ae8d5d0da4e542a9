"""Text reports of a checked network: the per-layer table and the one-line summaries.

Numbers come from :class:`~netspec.ir.Checked`; this module only formats them.
"""

from __future__ import annotations

from .ir import Checked, Shape


def human(n: int) -> str:
    """A count as people read it: ``1.99 M``, ``762.3 M``, ``11.7 G``."""
    for size, unit in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return str(n)


def layer_text(c: Checked) -> str:
    """What a layer is, as a paper writes it: ``conv 3×3 /2, 64``, ``nin_block``."""
    node = c.node
    if node.label:
        return node.label
    return node.kind.describe(node.opts)


def summary_line(name: str, input: Shape, checked: Checked) -> str:
    return (
        f"{name}: {input} → {checked.output}, {checked.params:,} params, "
        f"{checked.macs:,} MACs ({human(checked.macs)})"
    )


def format_table(checked: Checked) -> str:
    """Path, layer, output shape, params and MACs of every layer, then the totals."""
    rows = [("path", "layer", "output", "params", "MACs")]
    rows.append(("(input)", "", str(checked.input), "", ""))
    for c in checked.walk()[1:]:
        depth = c.path.count(".")
        rows.append(
            ("  " * depth + c.path, layer_text(c), str(c.output), f"{c.params:,}", f"{c.macs:,}")
        )
    rows.append(("total", "", str(checked.output), f"{checked.params:,}", f"{checked.macs:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for i, r in enumerate(rows):
        cells = [
            r[0].ljust(widths[0]),
            r[1].ljust(widths[1]),
            r[2].ljust(widths[2]),
            r[3].rjust(widths[3]),
            r[4].rjust(widths[4]),
        ]
        lines.append("  ".join(cells).rstrip())
        if i == 0 or i == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(
        f"params: {checked.params:,} ({human(checked.params)})   "
        f"MACs: {checked.macs:,} ({human(checked.macs)}; "
        "conv and linear weights, as torchvision counts)"
    )
    if checked.buffers:
        lines.append(f"buffers: {checked.buffers:,} (batchnorm running statistics, not parameters)")
    return "\n".join(lines)
