"""``residual``: a body plus a shortcut (identity, 1×1 projection, or whichever fits), added,
then an optional activation."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import Problem
from ..ir import Checked, Node, Shape
from ..registry import (
    BuildContext,
    ExpandContext,
    Family,
    InferContext,
    Kind,
    refuse_shared_inplace,
    register,
)
from ..schema import AllowExpr, Bool, LayerList, Options

if TYPE_CHECKING:
    from torch import nn


class Shortcut(enum.Enum):
    IDENTITY = "identity"
    PROJECTION = "projection"
    AUTO = "auto"


class ProjectionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    batchnorm: Bool = Field(default=False, description="follow the 1×1 conv with batchnorm")
    bias: Bool | None = Field(default=None, description="conv bias; default: not batchnorm")


class ResidualSpec(Options):
    body: LayerList = Field(min_length=1, description="the layers of the residual branch")
    shortcut: Annotated[Shortcut, AllowExpr] = Field(
        default=Shortcut.AUTO,
        description="identity, projection (1×1 conv with the body's stride) or auto",
    )
    projection: ProjectionSpec = ProjectionSpec()
    after: Any = Field(default=None, description="a layer applied after the addition, e.g. relu")


class Residual(Kind):
    name = "residual"
    Options = ResidualSpec
    family = Family.MERGE
    nested = ("body", "after")
    summary = "body + shortcut (identity | projection | auto), then `after` (e.g. relu)"

    def expand(self, node: Node, ctx: ExpandContext) -> Node:
        opts: ResidualSpec = node.opts  # type: ignore[assignment]
        node.children.append(ctx.layers("body", name="body"))
        if opts.after is not None:  # one layer, or a list of them
            node.children.append(ctx.layers("after", name="after"))
        return node

    def infer(self, node: Node, shape: Shape, ctx: InferContext, path: str) -> Checked:
        opts: ResidualSpec = node.opts  # type: ignore[assignment]
        refuse_shared_inplace(node.children[0], "a residual body")
        body = ctx.check(node.children[0], shape, path)
        out = body.output
        children = [body]
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
            children.append(ctx.check(self._projection(node, shape, out, ctx), shape, path))
            if children[-1].output != out:
                raise Problem(
                    f"the 1×1 projection maps {shape} to {children[-1].output}, "
                    f"but the body gives {out}",
                    "make the body downsample by a whole stride (e.g. 2), or change its padding",
                )
        for after in node.children[1:]:
            checked_after = ctx.check(after, out, path)
            if checked_after.output != out:
                raise Problem(
                    f"the layer after the addition changes the shape from {out} to "
                    f"{checked_after.output}",
                    "use a shape-preserving layer such as relu",
                    at=after,
                )
            children.append(checked_after)
        return Checked.of(node, path, shape, out, children)

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
        if not bn:
            return ctx.synthesize("conv", conv_opts, node, "shortcut")
        conv = ctx.synthesize("conv", conv_opts, node, "0")
        norm = ctx.synthesize("batchnorm", {}, node, "1")
        return ctx.sequence([conv, norm], node, "shortcut")

    def build(self, checked: Checked, ctx: BuildContext) -> nn.Module:
        from ..modules import Residual as ResidualModule

        parts = {c.node.name: ctx.module(c) for c in checked.children}
        return ResidualModule(parts["body"], parts.get("shortcut"), parts.get("after"))

    def describe(self, opts: ResidualSpec) -> str:
        return "add"


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
