"""``group``: a named sequence of layers, so that stem, stages and head show in the module tree."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from pydantic import Field

from ..ir import Checked, Node, Shape
from ..registry import BuildContext, ExpandContext, Family, InferContext, Kind, register
from ..schema import Bool, LayerList, Options

if TYPE_CHECKING:
    from torch import nn


class GroupSpec(Options):
    layers: LayerList = Field(min_length=1, description="the layers, in order")
    inline: Bool = Field(default=False, description="splice the layers into the enclosing list")


class Group(Kind):
    """A sequence of layers; also what a block call and a repeat's copy expand to."""

    name = "group"
    Options = GroupSpec
    family = Family.STRUCTURE
    nested = ("layers",)
    summary = "a named sequence of layers: name, layers"

    def expand(self, node: Node, ctx: ExpandContext) -> Node:
        inner = ctx.layers("layers", name=node.name)
        if inner.kind is self:
            node.children = inner.children
            return node
        return inner  # a group of one layer is that layer

    def infer(self, node: Node, shape: Shape, ctx: InferContext, path: str) -> Checked:
        return check_sequence(node, shape, ctx, path)

    def build(self, checked: Checked, ctx: BuildContext) -> nn.Module:
        return build_sequence(checked, ctx)

    def describe(self, opts: GroupSpec) -> str:
        return "group"


def check_sequence(node: Node, shape: Shape, ctx: InferContext, path: str) -> Checked:
    """Check a node's children one after the other, each on the previous one's output."""
    checked = Checked(node, path, shape, shape)
    for child in node.children:
        c = ctx.check(child, checked.output, path)
        checked.children.append(c)
        checked.output = c.output
        checked.params += c.params
        checked.macs += c.macs
        checked.buffers += c.buffers
    return checked


def build_sequence(checked: Checked, ctx: BuildContext) -> nn.Module:
    """An ``nn.Sequential`` whose children are named as in the spec."""
    from torch import nn

    return nn.Sequential(OrderedDict((c.node.name, ctx.module(c)) for c in checked.children))


register(Group())
