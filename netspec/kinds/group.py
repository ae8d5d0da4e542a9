"""``group``: a named sequence of layers, so that stem, stages and head show in the module tree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ..errors import Problem
from ..ir import Checked, Node, Value
from ..registry import BuildContext, ExpandContext, Family, InferContext, Kind, register
from ..schema import Bool, LayerList, Options

if TYPE_CHECKING:
    from torch import nn


class GroupSpec(Options):
    layers: LayerList = Field(min_length=1, description="the layers, in order")
    inline: Bool = Field(default=False, description="splice the layers into the enclosing list")
    keep: Bool = Field(
        default=False,
        description="stay a group around a single layer (an nn.Sequential of one: name.0)",
    )


class Group(Kind):
    """A sequence of layers; also what a block call and a repeat's copy expand to."""

    name = "group"
    Options = GroupSpec
    family = Family.STRUCTURE
    holds_children = True
    container = True
    nested = ("layers",)
    summary = "a named sequence of layers: name, layers, inline, keep (around one layer)"

    def expand(self, node: Node, ctx: ExpandContext) -> Node:
        refuse_inline_graph(node)
        # its one layer stays inside it, numbered 0: when asked, and when the group itself reads,
        # names or conditions a tensor (the layer alone would lose them)
        if getattr(node.opts, "keep", False) or node.sources or node.targets or node.condition:
            inner = ctx.layers("layers")
            node.children = inner.children if inner.implicit else [inner]
            return node
        inner = ctx.layers("layers", name=node.name)
        if inner.implicit:
            node.children = inner.children
            return node
        inner.expects = [*node.expects, *inner.expects]  # a group of one layer is that layer
        return inner

    def splice(self, node: Node) -> list[Node] | None:
        if not getattr(node.opts, "inline", False):
            return None
        return carry_expects(node, list(node.children))

    def infer(self, node: Node, sources: list[Value], ctx: InferContext, path: str) -> Checked:
        return check_sequence(node, sources[0], ctx, path)

    def build(self, checked: Checked, ctx: BuildContext) -> nn.Module:
        return ctx.sequence(checked)

    def describe(self, opts: GroupSpec) -> str:
        return "group"


def check_sequence(node: Node, source: Value, ctx: InferContext, path: str) -> Checked:
    """Check a node's children one after the other, each on the previous one's output.

    A child left out by its ``if:`` is dropped, and the unnamed ones after it are numbered
    without it, as ``nn.Sequential`` numbers its modules.
    """
    children: list[Checked] = []
    value = source
    for child in node.children:
        if child.name.isdigit():
            child.name = str(len(children))
        checked = ctx.check(child, value, path)
        if checked is None:
            continue
        children.append(checked)
        value = checked.results[0]
    # the input is what the first layer reads: the previous output, or a tensor by from:
    first = children[0].input if children else source.shape
    result = Checked.of(node, path, first, value.shape, children)
    result.results = [value]  # with no layers (an empty repeat), its input passes through
    return result


def refuse_inline_graph(node: Node) -> None:
    """An inline group or repeat joins the enclosing chain: it cannot read or name a tensor."""
    if getattr(node.opts, "inline", False) and (node.sources or node.targets):
        raise Problem(
            f"an inline {node.kind.name} joins the enclosing chain of layers: it takes no "
            "from: or to:",
            "drop inline, or put from: and to: on its first and last layers",
        )


def carry_expects(node: Node, layers: list[Node]) -> list[Node]:
    """Spliced layers, the last one taking on what was expected of the whole."""
    if node.expects and not layers:
        raise Problem("an inline layer list with an expect: must hold at least one layer")
    if layers:
        layers[-1].expects = [*layers[-1].expects, *node.expects]
    return layers


register(Group())
