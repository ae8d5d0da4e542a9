"""``inception``: parallel branches on the same input, merged by concatenation or addition."""

from __future__ import annotations

import enum
from collections import OrderedDict
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from ..errors import Problem
from ..ir import Checked, DrawContext, Node, Port, Shape, Value
from ..registry import (
    BuildContext,
    ExpandContext,
    Family,
    InferContext,
    Kind,
    get_kind,
    refuse_named,
    refuse_shared_inplace,
    register,
)
from ..schema import AllowExpr, Branches, Options

if TYPE_CHECKING:
    from torch import nn


class Merge(enum.Enum):
    CONCAT = "concat"
    ADD = "add"


class InceptionSpec(Options):
    branches: Branches = Field(
        description="a list (or name: list mapping) of layer lists; [] is the identity"
    )
    merge: Annotated[Merge, AllowExpr] = Field(
        default=Merge.CONCAT, description="concat (channels) or add"
    )


class Inception(Kind):
    name = "inception"
    Options = InceptionSpec
    family = Family.MERGE
    holds_children = True
    nested = ("branches",)
    summary = "parallel branches: branches (list or mapping of layer lists), merge concat|add"

    def expand(self, node: Node, ctx: ExpandContext) -> Node:
        opts: InceptionSpec = node.opts  # type: ignore[assignment]
        keys: list[Any] = (
            list(opts.branches)
            if isinstance(opts.branches, dict)
            else list(range(len(opts.branches)))
        )
        branches: Any = opts.branches
        for key in keys:
            name = str(key)
            if branches[key] == []:
                identity = get_kind("identity")
                assert identity is not None
                node.children.append(
                    Node(
                        identity, identity.Options(), name, node.doc, (*node.path, "branches", key)
                    )
                )
            else:
                node.children.append(ctx.layers("branches", key, name=name))
        return node

    def nested_entries(self, options: dict[str, Any]) -> list[tuple[tuple[str | int, ...], Any]]:
        branches = options.get("branches")
        items = (
            list(branches.items())
            if isinstance(branches, dict)
            else list(enumerate(branches))
            if isinstance(branches, list)
            else []
        )
        out: list[tuple[tuple[str | int, ...], Any]] = []
        for key, branch in items:
            if isinstance(branch, list):
                out.extend((("branches", key, i), entry) for i, entry in enumerate(branch))
        return out

    def infer(self, node: Node, sources: list[Value], ctx: InferContext, path: str) -> Checked:
        opts: InceptionSpec = node.opts  # type: ignore[assignment]
        shape = sources[0].shape
        for child in node.children:
            refuse_shared_inplace(child, f"inception branch {child.name}")
        checked = [ctx.check(child, sources[0], path) for child in node.children]
        branches = [c for c in checked if c is not None]
        if not branches:
            raise Problem("every branch of this inception is left out by its if:")
        refuse_named(branches, "an inception")
        first = branches[0]
        for other in branches[1:]:
            a, b = first.output, other.output
            if opts.merge is Merge.ADD and a != b:
                raise Problem(
                    f"inception branches {first.node.name} and {other.node.name} give {a} and {b}, "
                    "which cannot be added",
                    "make every branch give the same shape, or use merge: concat",
                    at=other.node,
                )
            if a.rank != b.rank or a.spatial != b.spatial:
                raise Problem(
                    f"inception branch {other.node.name} gives {b} but branch "
                    f"{first.node.name} gives {a}: they cannot be concatenated",
                    "branches must keep the height and width of their input "
                    "(a k×k conv needs padding (k-1)/2; a pool needs stride 1 and padding)",
                    at=other.node,
                )
        if opts.merge is Merge.ADD:
            out = first.output
        else:
            out = Shape((sum(b.output.channels for b in branches), *first.output.spatial))
        return Checked.of(node, path, shape, out, branches)

    def build(self, checked: Checked, ctx: BuildContext) -> nn.Module:
        from ..modules import Concat, Sum

        opts: InceptionSpec = checked.node.opts  # type: ignore[assignment]
        cls = Sum if opts.merge is Merge.ADD else Concat
        return cls(OrderedDict((c.node.name, ctx.module(c)) for c in checked.children))

    def describe(self, opts: InceptionSpec) -> str:
        return "concat" if opts.merge is Merge.CONCAT else "add"

    def draw(self, checked: Checked, ctx: DrawContext, graph: Any) -> list[Port]:
        """The branches side by side, their first layers level, into one merge node."""
        merge = f"{checked.path}/merge"  # not a layer path: names have no slash
        ports = [ctx.port(checked.sources[0])]
        ends: list[Port] = []
        firsts: list[str] = []
        for branch in checked.children:
            if branch.node.kind.name == "identity":
                ends.extend(ports)  # an empty branch (the identity it expands to): no node
                continue
            before = len(ctx.drawn())
            ends.extend(ctx.draw(branch, graph))
            firsts.append(ctx.drawn()[before])
        ctx.level(graph, firsts)
        ctx.junction(graph, merge, self.describe(checked.node.opts))  # type: ignore[arg-type]
        ctx.connect(ends, merge)
        return ctx.comes_out(checked, [Port(merge, checked.output)])


register(Inception())
