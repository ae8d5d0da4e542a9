"""``call``: an earlier layer of the same list run again, with the same module and weights.

SPPF's one max pool applied three times in a row, a head shared by the levels of a pyramid:
``- call: m`` runs the module of the layer named ``m`` on the previous layer's output (or on
the tensors of its ``from:``). It has no module or ``state_dict`` keys of its own: its layer's
parameters are counted once, its MACs once for each call. The second pass pairs it with the
layer it names and elaborates a copy of that layer (:class:`~netspec.ir.Reuse`), which the
shape pass checks on the call's input: the call must fit the module its layer made.

Example::

    - pool: {name: m, mode: max, kernel: 5, stride: 1, padding: 2, to: y1}
    - call: {layer: m, to: y2}
    - call: {layer: m, to: y3}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..errors import NetspecError, Problem
from ..ir import Checked, Layout, Node, Shape, Value
from ..registry import BuildContext, Family, InferContext, Kind, register
from ..schema import LayerName, Options
from ..state_keys import state_keys

if TYPE_CHECKING:
    from torch import nn


class CallSpec(Options):
    layer: LayerName = Field(description="the name of an earlier layer of the same list, run again")


class Call(Kind):
    """A layer run again: the compiler calls its module where the call stands."""

    name = "call"
    Options = CallSpec
    shorthand = "layer"
    family = Family.STRUCTURE
    summary = "run an earlier layer of the same list again, with its weights (`- call: m`)"

    def infer(self, node: Node, sources: list[Value], ctx: InferContext, path: str) -> Checked:
        reuse = node.reuses
        if reuse is None:  # the second pass pairs every call with its layer, or reports why
            raise Problem("internal: a call was not paired with its layer")
        first = reuse.layer.checked
        if first is None:
            raise Problem(
                f'"{reuse.layer.name}" is left out here (its if: is false): there is no module '
                "to call",
                "give the call the same if: as its layer",
            )
        copy = reuse.copy
        if not copy.children and copy.pending is None:  # with what --set changed in it
            copy.opts = reuse.layer.opts
        copy.name, copy.scope, copy.sources, copy.site = (
            node.name,
            node.scope,
            node.sources,
            node.site,
        )
        # the copy is no layer of the network (the call is): what the shape pass lists as
        # checked (for the editor's recovery) leaves it out
        done: list[Checked] | None = getattr(ctx, "done", None)
        before = len(done) if done is not None else 0
        try:
            again = ctx.check(copy, sources[0], path.rpartition(".")[0])
            if done is not None:
                del done[before:]
        except NetspecError as e:
            raise _misfit(reuse.layer, first, sources[0].shape, e.diagnostics[0].message) from None
        assert again is not None  # the copy's if: is the call's, decided before
        mismatch = _mismatch(first, again)
        if mismatch:
            raise _misfit(reuse.layer, first, again.input, mismatch)
        node.label = f"call {reuse.layer.name}: {first.text()}"  # as --set left the layer
        checked = Checked(node, path, again.input, again.output, macs=again.macs)
        checked.results = [Value(v.shape, checked, i) for i, v in enumerate(again.results)]
        return checked

    def notes(self, checked: Checked) -> tuple[str, ...]:
        reuse = checked.node.reuses
        return (f"same module as {reuse.layer.name}",) if reuse is not None else ()

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}  # its layer's module holds them

    def build(self, checked: Checked, ctx: BuildContext) -> nn.Module:
        # the compiler calls the layer's module in the graph of their list (never this)
        raise Problem("internal: a call has no module of its own")

    def describe(self, opts: CallSpec) -> str:
        return f"call {opts.layer}"


def _where(node: Node) -> str:
    doc, at = node.site or (node.doc, node.path)
    pos = doc.pos(at, key=True)
    return f"{doc.file}:{pos.line}:{pos.col}" if pos else doc.file


def _keys(checked: Checked) -> dict[str, Shape] | None:
    """The layer's ``state_dict`` keys below its own path, or None where some are unknown."""
    keys = state_keys(checked)
    if not keys.complete:
        return None
    cut = len(checked.path) + 1 if checked.path else 0
    return {k[cut:]: s for k, s in keys.shapes().items()}


def _mismatch(first: Checked, again: Checked) -> str:
    """Why the module made for ``first`` cannot run ``again`` ("" where it can): its weights
    would differ, or the input differs in more than its positions (a module may keep sizes of
    its input's channels, as a split does, but none of its height, width or token count)."""
    mine, theirs = _keys(first), _keys(again)
    if mine is None or theirs is None:
        if first.params != again.params:
            return f"it would need {again.params:,} parameters, the module has {first.params:,}"
    else:
        for key, shape in mine.items():
            other = theirs.get(key)
            if other != shape:
                need = f"{other.times()}" if other is not None else "none"
                return f"its {key} is {shape.times()}, this input needs {need}"
        extra = next((k for k in theirs if k not in mine), None)
        if extra:
            return f"this input needs a {extra} the module does not have"
    if _channels(first.input) != _channels(again.input):
        return "a call may read other heights, widths or token counts, but the same channels"
    return ""


def _channels(shape: Shape) -> tuple[int, ...]:
    """The rank and the size of the channels (or features): what a call must keep."""
    axis = 0 if shape.layout is Layout.CHANNELS_FIRST else shape.rank - 1
    return shape.rank, shape.dims[axis]


def _misfit(layer: Node, first: Checked, shape: Shape, why: str) -> Problem:
    return Problem(
        f'call of "{layer.name}" on {shape} does not fit its module, made for {first.input}',
        "a call runs the same module and weights: give it an input of the shape its layer "
        "reads, or write a layer of its own",
        notes=(f'"{layer.name}" is made at {_where(layer)}', why),
    )


register(Call())
