"""How a spec, its table and its summaries show in Jupyter: HTML, every text escaped.

The numbers and the text cells come from :mod:`netspec.report`; this module only lays them out
as HTML. Like the rest of the static side it never imports torch.

Example::

    spec = netspec.load("lenet")
    spec            # in a notebook: the diagram, the shapes and totals, the per-layer table
    spec.table()    # an HTML table in a notebook; print() and str() give the text table
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from .ir import Checked, Shape
from .report import (
    TABLE_COLUMNS,
    format_table,
    human,
    summary_cells,
    summary_columns,
    summary_notes,
    table_notes,
    table_rows,
)

if TYPE_CHECKING:
    from .summary_data import SummaryData


class Table(str):
    """The per-layer table: the text ``netspec check --table`` prints (``print``, ``str``,
    ``in`` work as on any str), which Jupyter shows as an HTML ``<table>``."""

    checked: Checked

    def __new__(cls, checked: Checked) -> Table:
        table = super().__new__(cls, format_table(checked))
        table.checked = checked
        return table

    def _repr_html_(self) -> str:
        return table_html(self.checked)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython shows the text itself, not a quoted str."""
        printer.text(str(self))

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        """A copy or a pickle is the text (a plain str): it is what a table is elsewhere."""
        return (str, (str(self),))


def spec_html(
    title: str,
    description: str,
    inputs: dict[str, Shape],
    outputs: dict[str, Shape],
    checked: Checked,
    svg: str | None,
    no_svg: str = "",
) -> str:
    """A spec as Jupyter shows it: title, shapes and totals, the diagram (``svg``; where there
    is none, the text ``no_svg`` says why), and the per-layer table under a ``<details>``,
    open where there is no diagram."""
    facts = [
        *(_fact("input" if len(inputs) == 1 else f"input {n}", str(s)) for n, s in inputs.items()),
        *(
            _fact("output" if len(outputs) == 1 else f"output {n}", str(s))
            for n, s in outputs.items()
        ),
        _fact("params", _count(checked.params)),
        _fact("MACs", _count(checked.macs)),
    ]
    head = f"<strong>{escape(title)}</strong>"
    if description:
        head += f": {escape(description)}"
    picture = _inline_svg(svg) if svg is not None else f"<p><em>{escape(no_svg)}</em></p>"
    layers = len(checked.walk()) - 1
    details = "<details>" if svg is not None else "<details open>"  # no picture: the table
    return (
        '<div class="netspec-spec">\n'
        f"<p>{head}</p>\n"
        f'<table class="netspec-facts">\n{"".join(facts)}</table>\n'
        f"{picture}\n"
        f"{details}<summary>per-layer table ({layers:,} layers)</summary>\n"
        f"{table_html(checked)}\n</details>\n</div>"
    )


def table_html(checked: Checked) -> str:
    """The per-layer table (as :func:`netspec.report.format_table` writes it) in HTML."""
    rows = table_rows(checked)
    body = [_row(cells, depth, numeric_from=3) for depth, cells in rows[:-1]]
    total = _row(rows[-1][1], 0, numeric_from=3, cell="th")
    notes = "".join(f"<p>{escape(line)}</p>" for line in table_notes(checked))
    return (
        '<table class="netspec-table">\n'
        f"<thead>{_row(TABLE_COLUMNS, 0, numeric_from=3, cell='th')}</thead>\n"
        f"<tbody>\n{''.join(body)}</tbody>\n"
        f"<tfoot>{total}</tfoot>\n</table>\n{notes}"
    )


def summary_html(summary: SummaryData) -> str:
    """A summary (``spec.summary()``) as an HTML table with its notes below."""
    body = [_row(summary_cells(summary, r), r.depth - 1, numeric_from=4) for r in summary.rows]
    notes = "".join(f"<p>{escape(line)}</p>" for line in summary_notes(summary))
    return (
        '<table class="netspec-summary">\n'
        f"<thead>{_row(summary_columns(summary), 0, numeric_from=4, cell='th')}</thead>\n"
        f"<tbody>\n{''.join(body)}</tbody>\n</table>\n{notes}"
    )


def _count(n: int) -> str:
    """``1,992,166 (1.99 M)``; a count below a thousand once."""
    return f"{n:,}" if n < 1000 else f"{n:,} ({human(n)})"


def _fact(name: str, value: str) -> str:
    return f'<tr><th style="text-align:left">{escape(name)}</th><td>{escape(value)}</td></tr>\n'


def _row(cells: Sequence[str], depth: int, numeric_from: int, cell: str = "td") -> str:
    """One ``<tr>``: the first cell indented by ``depth`` (HTML folds leading spaces), the
    numbers right-aligned."""
    out = []
    for j, text in enumerate(cells):
        if j == 0:
            style = f"text-align:left;padding-left:{0.5 + 1.5 * depth:g}em"
        else:
            style = "text-align:right" if j >= numeric_from else "text-align:left"
        out.append(f'<{cell} style="{style}">{escape(text)}</{cell}>')
    return f"<tr>{''.join(out)}</tr>\n"


def _inline_svg(svg: str) -> str:
    """Graphviz's SVG without its XML prologue and DOCTYPE, which may not stand inside HTML."""
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else escape(svg)
    return f'<div style="max-width:100%;overflow:auto">{body}</div>'
