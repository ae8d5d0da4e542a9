"""``residual``: a body plus a shortcut (identity, 1×1 projection, or whichever fits), added,
then an optional activation.

By default the module has three children, ``body``, ``shortcut`` and ``after``. With
``inline: true`` the body's layers are the residual's own children (``conv1``, ``bn1``, ...), and
``projection: {name: downsample}`` names the shortcut: torchvision's ``BasicBlock`` and
``Bottleneck`` (``layer2.0.conv1.weight``, ``layer2.0.downsample.0.weight``).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from ..errors import Problem
from ..ir import Checked, DrawContext, Node, Port, Shape, Value
from ..registry import (
    BuildContext,
    ExpandContext,
    Family,
    InferContext,
    Kind,
    refuse_named,
    refuse_shared_inplace,
    register,
)
from ..schema import AllowExpr, Bool, LayerList, Name, Options

if TYPE_CHECKING:
    from torch import nn

#: the names of the children a residual makes itself
BODY, SHORTCUT, AFTER = "body", "shortcut", "after"


class Shortcut(enum.Enum):
    IDENTITY = "identity"
    PROJECTION = "projection"
    AUTO = "auto"


class ProjectionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    batchnorm: Bool = Field(default=False, description="follow the 1×1 conv with batchnorm")
    bias: Bool | None = Field(default=None, description="conv bias; default: not batchnorm")
    name: Name = Field(
        default=SHORTCUT, description="the projection's name in the module tree (downsample)"
    )


class ResidualSpec(Options):
    body: LayerList = Field(min_length=1, description="the layers of the residual branch")
    shortcut: Annotated[Shortcut, AllowExpr] = Field(
        default=Shortcut.AUTO,
        description="identity, projection (1×1 conv with the body's stride) or auto",
    )
    projection: ProjectionSpec = Field(
        default=ProjectionSpec(), description="the 1×1 conv of a projection shortcut"
    )
    after: Any = Field(default=None, description="a layer applied after the addition, e.g. relu")
    inline: Bool = Field(
        default=False,
        description="the body's layers become the residual's own children (conv1, not body.conv1)",
    )


class ResidualParts(NamedTuple):
    """A checked residual taken apart: what reports need to draw it."""

    body: list[Checked]
    shortcut: Checked | None  # None: the identity
    after: Checked | None


class Residual(Kind):
    name = "residual"
    Options = ResidualSpec
    family = Family.MERGE
    holds_children = True
    nested = ("body", "after")
    summary = "body + shortcut (identity | projection | auto), then `after`; inline: flat names"

    def expand(self, node: Node, ctx: ExpandContext) -> Node:
        opts: ResidualSpec = node.opts  # type: ignore[assignment]
        if opts.inline:  # the body's layers themselves, each with its own name
            body = ctx.layers("body")
            node.children.extend(body.children if body.implicit else [body])
        else:
            node.children.append(ctx.layers("body", name=BODY))
        if opts.after is not None:  # one layer, or a list of them
            node.children.append(ctx.layers("after", name=AFTER))
        return node

    def infer(self, node: Node, sources: list[Value], ctx: InferContext, path: str) -> Checked:
        opts: ResidualSpec = node.opts  # type: ignore[assignment]
        source = sources[0]
        shape = source.shape
        body_nodes, after_nodes = _split(node)
        _refuse_name_clashes(opts, body_nodes, after_nodes)
        refuse_shared_inplace(body_nodes[0], "a residual body")
        children: list[Checked] = []
        value = source
        for layer in body_nodes:
            checked = ctx.check(layer, value, path)
            if checked is not None:
                children.append(checked)
                value = checked.results[0]
        out = value.shape
        mode = opts.shortcut
        if mode is Shortcut.AUTO:
            mode = Shortcut.IDENTITY if out == shape else Shortcut.PROJECTION
        if mode is Shortcut.IDENTITY and out != shape:
            raise Problem(
                f"residual body changes the shape from {shape} to {out}, "
                "so an identity shortcut cannot be added to it",
                "use `shortcut: projection` (a 1×1 conv) or `shortcut: auto`",
            )
        if mode is Shortcut.PROJECTION:
            projection = ctx.check(self._projection(node, shape, out, ctx), source, path)
            assert projection is not None  # made here, without a condition
            children.append(projection)
            if children[-1].output != out:
                raise Problem(
                    f"the 1×1 projection maps {shape} to {children[-1].output}, "
                    f"but the body gives {out}",
                    "make the body downsample by a whole stride (e.g. 2), or change its padding",
                )
        added = Value(out)
        for after in after_nodes:
            checked_after = ctx.check(after, added, path)
            if checked_after is None:
                continue
            if checked_after.output != out:
                raise Problem(
                    f"the layer after the addition changes the shape from {out} to "
                    f"{checked_after.output}",
                    "use a shape-preserving layer such as relu",
                    at=after,
                )
            children.append(checked_after)
        refuse_named(children, "a residual")
        return Checked.of(node, path, shape, out, children)

    def hands_back(self, checked: Checked) -> Value | None:
        """The result of ``after``, the sum's own tensor where there is none."""
        _, after = _split(checked.node)
        last = checked.children[-1] if checked.children else None
        if after and last is not None and last.node is after[-1] and last.results:
            return last.results[0]
        return None

    def _projection(self, node: Node, shape: Shape, out: Shape, ctx: InferContext) -> Node:
        opts: ResidualSpec = node.opts  # type: ignore[assignment]
        if shape.rank != 3 or out.rank != 3:
            raise Problem(
                f"a projection shortcut needs image tensors, got {shape} → {out}",
                "use shortcut: identity with a body that keeps the shape",
            )
        strides = [_stride(i, o) for i, o in zip(shape.spatial, out.spatial, strict=True)]
        bn = opts.projection.batchnorm
        bias = (not bn) if opts.projection.bias is None else opts.projection.bias
        conv_opts = {"out": out.channels, "kernel": 1, "stride": strides, "bias": bias}
        name = opts.projection.name
        if not bn:
            return ctx.synthesize("conv", conv_opts, node, name)
        conv = ctx.synthesize("conv", conv_opts, node, "0")
        norm = ctx.synthesize("batchnorm", {}, node, "1")
        return ctx.sequence([conv, norm], node, name)

    def build(self, checked: Checked, ctx: BuildContext) -> nn.Module:
        from ..modules import Residual as ResidualModule
        from ..modules import SequentialResidual

        opts: ResidualSpec = checked.node.opts  # type: ignore[assignment]
        parts = residual_parts(checked)
        if not opts.inline and opts.projection.name == SHORTCUT:  # body, shortcut, after
            return ResidualModule(
                ctx.module(parts.body[0]),
                None if parts.shortcut is None else ctx.module(parts.shortcut),
                None if parts.after is None else ctx.module(parts.after),
            )
        layers = OrderedDict((c.node.name, ctx.module(c)) for c in checked.children)
        return SequentialResidual(layers, len(parts.body), parts.shortcut is not None)

    def describe(self, opts: ResidualSpec) -> str:
        return "add"

    def draw(self, checked: Checked, ctx: DrawContext, graph: Any) -> list[Port]:
        """The body, the shortcut going around it into a ``+`` node, then what comes after."""
        body, shortcut, after = residual_parts(checked)
        whole = not checked.node.opts.inline  # type: ignore[attr-defined]
        source = ctx.port(checked.sources[0])
        ends = [source]
        for layer in body:  # a body is drawn with its residual, whatever the depth
            ends = ctx.draw(layer, graph, whole=whole)
        bypass = ctx.draw(shortcut, graph) if shortcut is not None else [source]
        add = f"{checked.path}/add"  # not a layer path: names have no slash
        ctx.junction(graph, add, "+", shape="circle", width="0.3")
        ctx.connect(ends, add)
        ctx.connect(bypass, add, skip=True)  # the shortcut goes around the body
        if after is None:
            return ctx.comes_out(checked, [Port(add, checked.output)])
        ctx.at(after.sources[0], Port(add, after.input))  # the sum, read by what comes after
        return ctx.comes_out(checked, ctx.draw(after, graph))

    def drawn_nodes(
        self, checked: Checked, depth: int, count: Callable[[list[Checked], int], int]
    ) -> int:
        """The add node, the body's layers whatever the depth (unless inline), the rest."""
        opts: ResidualSpec = checked.node.opts  # type: ignore[assignment]
        whole = [] if opts.inline else residual_parts(checked).body
        return 1 + sum(
            count(k.children, 10**6) if k in whole else count([k], depth) for k in checked.children
        )


def residual_parts(checked: Checked) -> ResidualParts:
    """The body's layers, the shortcut (None for the identity) and the layer after the addition.

    >>> parts = residual_parts(netspec.load("resnet").checked.child("stage2").children[0])
    >>> [c.node.name for c in parts.body], parts.shortcut.node.name
    (['body'], 'shortcut')
    """
    body_nodes, after_nodes = _split(checked.node)
    body = checked.children[: len(body_nodes)]
    rest = checked.children[len(body_nodes) :]
    after = rest.pop() if after_nodes else None
    return ResidualParts(body, rest[0] if rest else None, after)


def _split(node: Node) -> tuple[list[Node], list[Node]]:
    """A residual node's children: the body (its layers when inline) and the layer after."""
    opts: ResidualSpec = node.opts  # type: ignore[assignment]
    count = len(node.children) - (opts.after is not None)
    return node.children[:count], node.children[count:]


def _refuse_name_clashes(opts: ResidualSpec, body: list[Node], after: list[Node]) -> None:
    """The residual's children share one namespace: body (or its layers), shortcut, after."""
    taken = {AFTER: "the layer after the addition"} if after else {}
    if not opts.inline:
        taken[BODY] = "the body"
    if opts.shortcut is not Shortcut.IDENTITY:
        shortcut = opts.projection.name
        if shortcut in taken:
            raise Problem(
                f'the projection shortcut is named "{shortcut}", like {taken[shortcut]}',
                "choose another name with projection: {name: ...}",
            )
        taken[shortcut] = "the projection shortcut"
    if opts.inline:
        for layer in body:
            if layer.name in taken:
                other = ", or the shortcut with projection: {name: ...}"
                if layer.name == AFTER:
                    other = ""
                raise Problem(
                    f'this layer of an inline residual body is named "{layer.name}", '
                    f"like {taken[layer.name]}",
                    f"rename the layer{other}",
                    at=layer,
                )


def _stride(size_in: int, size_out: int) -> int:
    """The stride s with which a 1×1 conv maps size_in to size_out: (size_in - 1) // s + 1."""
    s = max(1, -(-size_in // size_out))
    if (size_in - 1) // s + 1 != size_out:
        raise Problem(
            f"no 1×1 projection stride maps a size of {size_in} to {size_out}",
            "make the body downsample by a whole stride, or project with a pool in the body",
        )
    return s


register(Residual())
