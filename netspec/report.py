"""Text reports of a checked network: the per-layer table and the one-line summaries.

Numbers come from :class:`~netspec.ir.Checked`; this module only formats them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .errors import printable
from .ir import Checked, Shape

if TYPE_CHECKING:
    from .summary_data import Row, SummaryData

SCHEMA = "netspec-summary/1"


_UNITS = ((10**18, "E"), (10**15, "P"), (10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))


def human(n: int) -> str:
    """A count as people read it: ``1.99 M``, ``762 M``, ``11.7 G``, ``4,000 E``."""
    for size, unit in _UNITS:
        if abs(n) >= size:
            value = n / size
            return f"{value:,.0f} {unit}" if abs(value) >= 1000 else f"{value:.3g} {unit}"
    return str(n)


def human_bytes(n: float) -> str:
    """A size in bytes as people read it: ``43.6 GB``, ``44.7 MB``."""
    for size, unit in ((10**12, "TB"), (10**9, "GB"), (10**6, "MB"), (10**3, "kB")):
        if abs(n) >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} B"


def summary_line(
    name: str, inputs: dict[str, Shape], outputs: dict[str, Shape], checked: Checked
) -> str:
    """``nin: (1, 224, 224) → (10,), 1,992,166 params, ...``; named inputs and outputs by name."""
    return (
        f"{name}: {_shapes(inputs)} → {_shapes(outputs)}, "
        f"{checked.params:,} params, {checked.macs:,} MACs ({human(checked.macs)})"
    )


def _shapes(shapes: dict[str, Shape]) -> str:
    if len(shapes) == 1:
        return str(next(iter(shapes.values())))
    return "{" + ", ".join(f"{k}: {v}" for k, v in shapes.items()) + "}"


def format_params(params: dict[str, Any], overridden: Iterable[str] = ()) -> str:
    """The params in effect, overridden ones marked: ``params: width=0.5 (set), classes=10``."""
    marked = set(overridden)
    cells = [f"{k}={_yaml(v)}" + (" (set)" if k in marked else "") for k, v in params.items()]
    return "params: " + (", ".join(cells) if cells else "(none)")


def format_scales(scales: dict[str, dict[str, Any]], chosen: str) -> str:
    """A family's sizes, one line each, the chosen one marked::

    scales:  depth  width  max_channels
    * n      0.33   0.25   1024
      s      0.33   0.5    1024
    """
    keys = list(dict.fromkeys(k for preset in scales.values() for k in preset))
    rows = [["scales:", *keys]]
    for name, preset in scales.items():
        mark = "* " if name == chosen else "  "
        rows.append([mark + name, *(_yaml(preset[k]) if k in preset else "" for k in keys)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(keys) + 1)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _yaml(value: Any) -> str:
    """A param's value as one would write it after ``--set``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    return printable(str(value))  # text of a spec's own: one line, escaped


#: the per-layer table's columns; the last two are numbers (right-aligned)
TABLE_COLUMNS = ("path", "layer", "output", "params", "MACs")


def table_rows(checked: Checked) -> list[tuple[int, list[str]]]:
    """The per-layer table's rows under :data:`TABLE_COLUMNS`, each with its depth (0 for
    the input and the total): the input, every layer, the total."""
    rows = [(0, ["(input)", "", str(checked.input), "", ""])]
    for c in checked.walk()[1:]:
        rows.append(
            (
                c.depth - 1,
                [
                    printable(c.path),
                    printable(c.text()),
                    str(c.output),
                    f"{c.params:,}",
                    f"{c.macs:,}",
                ],
            )
        )
    rows.append((0, ["total", "", str(checked.output), f"{checked.params:,}", f"{checked.macs:,}"]))
    return rows


def table_notes(checked: Checked) -> list[str]:
    """The lines under the per-layer table: the totals as people read them."""
    lines = [
        f"params: {checked.params:,} ({human(checked.params)})   "
        f"MACs: {checked.macs:,} ({human(checked.macs)}; "
        "conv and linear weights, as torchvision counts)"
    ]
    if checked.frozen:
        lines.append(f"frozen: {checked.frozen:,} of the params keep their values in training")
    if checked.buffers:
        held = any(c.node.kind.holds_tensor == "buffer" for c in checked.walk())
        what = "batchnorm running statistics" + (" and fixed tensors" if held else "")
        lines.append(f"buffers: {checked.buffers:,} ({what}, not parameters)")
    return lines


def format_table(checked: Checked) -> str:
    """Path, layer, output shape, params and MACs of every layer, then the totals."""
    rows = [list(TABLE_COLUMNS)]
    rows += [["  " * depth + cells[0], *cells[1:]] for depth, cells in table_rows(checked)]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for i, r in enumerate(rows):
        cells = zip(r, widths, strict=True)
        lines.append(
            "  ".join(
                c.rjust(w) if j >= 3 else c.ljust(w) for j, (c, w) in enumerate(cells)
            ).rstrip()
        )
        if i == 0 or i == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines + table_notes(checked))


def format_summary(summary: SummaryData, fmt: str) -> str:
    """A summary as ``table`` (for people), ``json`` or ``csv`` (for programs; see docs)."""
    if fmt == "json":
        return _summary_json(summary)
    if fmt == "csv":
        return _summary_csv(summary)
    return _summary_table(summary)


def summary_columns(s: SummaryData) -> list[str]:
    """A summary's columns; from the fifth on they are numbers."""
    torch = s.source == "torchinfo"
    header = ["path", "module" if torch else "kind", "layer", "output", "params", "MACs"]
    return [*header, "mult-adds"] if torch else header


def summary_cells(s: SummaryData, r: Row) -> list[str]:
    """One row of a summary under :func:`summary_columns` (the path without indentation)."""
    names = [printable(r.path), printable(r.module), printable(r.layer)]  # one line a row
    cells = [*names, _dims(r.output), f"{r.params:,}", f"{r.macs:,}"]
    return [*cells, f"{r.mult_adds or 0:,}"] if s.source == "torchinfo" else cells


def _summary_table(s: SummaryData) -> str:
    header = summary_columns(s)
    rows = [header]
    for r in s.rows:
        cells = summary_cells(s, r)
        rows.append(["  " * (r.depth - 1) + cells[0], *cells[1:]])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for i, row in enumerate(rows):
        lines.append(
            "  ".join(
                cell.rjust(widths[j]) if j >= 4 else cell.ljust(widths[j])
                for j, cell in enumerate(row)
            ).rstrip()
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join([*lines, "", *summary_notes(s)])


def summary_notes(s: SummaryData) -> list[str]:
    """The lines under a summary's table: where it comes from, and its totals explained."""
    t = s.totals
    assert t is not None
    torch = s.source == "torchinfo"
    source = "torchinfo on the meta device" if torch else "netspec's static pass (no torch)"
    lines = [
        f"{s.spec}: input {_dims(s.input)}, batch {s.batch}; summary from {source}",
        f"params:        {t.params:,} (trainable {t.trainable_params:,}, "
        f"non-trainable {t.non_trainable_params:,})",
        f"buffers:       {t.buffers:,} values (running statistics, fixed tensors)",
        f"MACs:          {t.macs:,} per sample ({human(t.macs)}): multiply-accumulates of conv "
        "and linear weights, as torchvision counts",
    ]
    if t.mult_adds is not None:
        lines.append(
            f"mult-adds:     {t.mult_adds:,} for the batch (torchinfo's count: it adds bias terms "
            "and batchnorm weights)"
        )
    lines += [
        f"weights:       {_mb(t.param_bytes)} (float32)",
        f"activations:   {_mb(t.activation_bytes)} "
        f"(every layer's output, forward, batch {s.batch})",
    ]
    if t.train_bytes is not None:
        lines.append(
            f"training:      {_mb(t.train_bytes)} at the peak of a training step (batch "
            f"{s.batch}, SGD with momentum, float32; netspec check --train shows its parts)"
        )
    return lines


def _summary_json(s: SummaryData) -> str:
    t = s.totals
    assert t is not None
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "spec": s.spec,
        "file": s.file,
        "source": s.source,
        "batch": s.batch,
        "input": list(s.input),
        "layers": [
            {
                "path": r.path,
                "module": r.module,
                "layer": r.layer,
                "depth": r.depth,
                "output": list(r.output),
                "params": r.params,
                "macs": r.macs,
                **({"mult_adds": r.mult_adds} if r.mult_adds is not None else {}),
            }
            for r in s.rows
        ],
        "totals": {
            "params": t.params,
            "trainable_params": t.trainable_params,
            "non_trainable_params": t.non_trainable_params,
            "buffers": t.buffers,
            "macs": t.macs,
            **({"mult_adds": t.mult_adds} if t.mult_adds is not None else {}),
            "param_bytes": t.param_bytes,
            "activation_bytes": t.activation_bytes,
            **({"train_bytes": t.train_bytes} if t.train_bytes is not None else {}),
        },
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _summary_csv(s: SummaryData) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    torch = s.source == "torchinfo"
    writer.writerow(
        ["path", "module", "layer", "depth", "output", "params", "macs"]
        + (["mult_adds"] if torch else [])
    )
    for r in s.rows:
        writer.writerow(
            [r.path, r.module, r.layer, r.depth, "x".join(map(str, r.output)), r.params, r.macs]
            + ([r.mult_adds] if torch else [])
        )
    return out.getvalue()


def _dims(dims: tuple[int, ...]) -> str:
    return str(Shape(dims))


def _mb(n: int) -> str:
    return f"{n / 1e6:,.2f} MB"
