"""``repeat``: copies of a body, which may differ by an index variable, a first-copy override or
the items of a table (``over:``), as in a ResNet stage or VGG's ``conv_arch``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from ..errors import Problem
from ..interpolation import has_expression
from ..ir import Checked, Node, Value
from ..registry import BuildContext, ExpandContext, Family, InferContext, Kind, register
from ..schema import Bool, LayerList, Name, Names, NonNegInt, Options
from .group import carry_expects, check_sequence, refuse_inline_graph

if TYPE_CHECKING:
    from torch import nn

#: more copies than this (or than the layers still allowed, where --max-layers allows more)
#: are refused before anything is expanded
MAX_COPIES = 10_000


class RepeatSpec(Options):
    times: NonNegInt | None = Field(default=None, description="number of copies (0: none)")
    over: LayerList | None = Field(default=None, description="a list: one copy per item")
    as_: Names = Field(default="item", alias="as", description="name(s) bound to each item of over")
    index: Name = Field(default="i", description="name bound to the copy's index, from 0")
    body: LayerList = Field(min_length=1, description="the layers of one copy")
    first: LayerList | None = Field(default=None, description="the layers of the first copy")
    inline: Bool = Field(
        default=False, description="splice the copies' layers into the enclosing list"
    )

    @model_validator(mode="after")
    def _one_count(self) -> RepeatSpec:
        if (self.times is None) == (self.over is None):
            raise ValueError("repeat needs exactly one of times or over")
        return self


class Repeat(Kind):
    name = "repeat"
    Options = RepeatSpec
    family = Family.STRUCTURE
    holds_children = True
    container = True
    nested = ("body", "first")
    summary = "copies of body: times or over (+ as), index (i), first (the first copy's layers)"

    def expand(self, node: Node, ctx: ExpandContext) -> Node:
        refuse_inline_graph(node)
        opts: RepeatSpec = node.opts  # type: ignore[assignment]
        count = opts.times if opts.times is not None else len(opts.over or [])
        if count == 0 and opts.times is not None and has_expression(ctx.written("times")):
            ctx.warn(
                f"this repeat runs 0 times ({ctx.written('times')} is 0 here): its layers "
                "are left out",
                "a count scaled down keeps one copy with max(..., 1), as Ultralytics' "
                "max(round(n * depth), 1) does; to leave layers out on purpose, write if:",
                "times",
            )
        allowed = max(MAX_COPIES, ctx.remaining())
        if count > allowed:
            raise Problem(
                f"repeat of {count:,} copies",
                f"at most {allowed:,} are allowed here (--max-layers raises the limit)",
            )
        items: list[Any] = list(range(count)) if opts.over is None else opts.over
        budget = ctx.remaining()
        for k, item in enumerate(items):
            if k == 1:  # the first copy tells the size of the rest: refuse before expanding it
                per_copy = max(1, budget - ctx.remaining())
                if per_copy * (count - 1) > ctx.remaining():
                    raise Problem(
                        f"this repeat would expand to about {per_copy * count:,} layers, more "
                        f"than the {ctx.remaining() + per_copy:,} still allowed",
                        "lower the repeat count, or raise the limit with --max-layers",
                    )
            env: dict[str, Any] = {opts.index: k}
            if opts.over is not None:
                env.update(_bind(opts.as_, item, k))
            field = "first" if k == 0 and opts.first is not None else "body"
            node.children.append(ctx.copies(field, env=env, name=str(k)))
        return node

    def splice(self, node: Node) -> list[Node] | None:
        if not getattr(node.opts, "inline", False):
            return None
        layers: list[Node] = []
        for copy in node.children:  # a copy of several layers is an implicit group
            if copy.implicit:
                layers.extend(copy.children)
            else:  # spliced, a one-layer copy is that layer again, with its own name
                copy.name = copy.given or copy.name
                layers.append(copy)
        return carry_expects(node, layers)

    def infer(self, node: Node, sources: list[Value], ctx: InferContext, path: str) -> Checked:
        return check_sequence(node, sources[0], ctx, path)

    def build(self, checked: Checked, ctx: BuildContext) -> nn.Module:
        return ctx.sequence(checked)

    def copies(self, checked: Checked) -> int:
        return len(checked.children)

    def describe(self, opts: RepeatSpec) -> str:
        count = opts.times if opts.times is not None else len(opts.over or [])
        return f"repeat ×{count}"


def _bind(names: str | list[str], item: Any, index: int) -> dict[str, Any]:
    if isinstance(names, str):
        return {names: item}
    if not isinstance(item, list) or len(item) != len(names):
        raise Problem(
            f"repeat item {item!r} does not match as: [{', '.join(names)}]",
            f"each item of over must be a list of {len(names)} values",
            at=("over", index),
        )
    return dict(zip(names, item, strict=True))


register(Repeat())
