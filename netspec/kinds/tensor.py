"""``parameter`` and ``buffer``: a tensor the network holds, learnable or fixed, that a layer
reads by name (a class token, a position embedding, a layer scale, a table of biases).

Such a layer reads nothing: it gives its tensor a name (``to:``) for later layers
(``from: [x, cls]``). Its module is the container that holds it (a group, a repeat's copy, a
block): the tensor is an ``nn.Parameter`` or a buffer of that module under the layer's own
name, so its ``state_dict`` key is the layer's path with no ``.weight`` after it
(``encoder.pos_embedding``, ``features.1.0.layer_scale``), as torchvision names them.

Its shape has no batch axis: the tensor is the same for every sample, and the layers that read
it broadcast it (``add`` and ``mul`` as torch does; ``concat`` expands it to the batch, as
torchvision's ``class_token.expand(n, -1, -1)``). ``batch_axis: true`` stores it with a leading
axis of 1, as torchvision stores its ViT's ``class_token`` (1, 1, 768).

Example::

    - parameter: {name: class_token, shape: [1, 768], batch_axis: true, to: cls}
    - parameter: {name: layer_scale, shape: [96, 1, 1], init: 1.0e-6, to: scale}
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from .. import windows
from ..errors import Problem
from ..ir import Checked, Node, Saved, Shape, Value
from ..registry import Family, InferContext, Kind, register
from ..schema import AllowExpr, Bool, Float, Int, NonNegInt, Options, PosFloat, PosInt

if TYPE_CHECKING:
    import torch
    from torch import nn


class Init(enum.Enum):
    """How a tensor's values start (a number in their place: every value that number)."""

    ZEROS = "zeros"
    ONES = "ones"
    NORMAL = "normal"
    TRUNC_NORMAL = "trunc_normal"
    ARANGE = "arange"
    #: Swin's window inits (netspec.windows), for a buffer
    RELATIVE_POSITION_INDEX = "relative_position_index"
    SHIFTED_WINDOW_MASK = "shifted_window_mask"


class TensorSpec(Options):
    shape: Annotated[list[PosInt], Field(min_length=1, max_length=6)] = Field(
        description="its sizes, without the batch axis: [1, 768], [197, 768], [96, 1, 1]"
    )
    init: Annotated[Init, AllowExpr] | Float = Field(
        default=Init.ZEROS,
        description="zeros, ones, normal, trunc_normal (std; cut at ±2), arange (0, 1, ... "
        "along axis), a number (every value that number: a layer scale's 1.0e-6), or for a "
        "buffer relative_position_index and shifted_window_mask (window, shift, size)",
    )
    std: PosFloat = Field(default=1.0, description="normal and trunc_normal: the deviation")
    axis: Int = Field(default=0, description="arange: the axis its values count along")
    batch_axis: Bool = Field(
        default=False,
        description="stored with a leading axis of 1 (torchvision's class_token (1, 1, 768))",
    )


class ParameterSpec(TensorSpec):
    trainable: Bool = Field(
        default=True,
        description="false: it keeps its values in training (torch's requires_grad=False, as "
        "Ultralytics' DFL weights): counted, but not trained",
    )


class BufferSpec(TensorSpec):
    persistent: Bool = Field(
        default=True,
        description="in the state_dict (torch's default; false: rebuilt from init on load)",
    )
    window: PosInt | None = Field(
        default=None, description="Swin's inits: the window's height and width (7)"
    )
    shift: NonNegInt = Field(default=0, description="shifted_window_mask: the roll (3)")
    size: Annotated[list[PosInt], Field(min_length=2, max_length=2)] | None = Field(
        default=None, description="shifted_window_mask: the padded map's [height, width]"
    )


class _Tensor(Kind):
    family = Family.OTHER
    shorthand = "shape"

    def infer(self, node: Node, sources: list[Value], ctx: InferContext, path: str) -> Checked:
        opts: TensorSpec = node.opts  # type: ignore[assignment]
        shape = Shape(tuple(opts.shape))
        if opts.init is Init.ARANGE and not -shape.rank <= opts.axis < shape.rank:
            raise Problem(
                f"{self.name} counts along axis {opts.axis}, but its shape {shape} has "
                f"{shape.rank} {'axis' if shape.rank == 1 else 'axes'}",
                f"use an axis from 0 to {shape.rank - 1} (or -1 for the last)",
            )
        if isinstance(opts.init, Init) and opts.init.value in windows.INITS:
            if self.holds_tensor != "buffer":
                raise Problem(
                    f"init: {opts.init.value} makes fixed values: it is a buffer's",
                    f"write - buffer: instead of - {self.name}:",
                )
            windows.check(opts.init.value, opts, shape)
        values = shape.numel
        learnable = self.holds_tensor == "parameter"
        # it reads nothing; a block whose first layer it is still reads the block's input
        checked = Checked(node, path, sources[0].shape, shape, values if learnable else 0, 0)
        checked.buffers = 0 if learnable else values
        checked.frozen = 0 if not learnable or opts.trainable else values  # type: ignore[attr-defined]
        return checked

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        """One tensor, keyed by the layer's own path (the empty name)."""
        if not getattr(opts, "persistent", True):
            return {}
        return {"": Shape((1, *output.dims)) if opts.batch_axis else output}

    def saved(self, opts: Any, input: Shape, output: Shape) -> Saved:
        return Saved(input=False, alias=True)  # the tensor is held, not made

    def module(self, opts: Any, input: Shape, output: Shape) -> nn.Module:
        raise Problem(
            f"a {self.name} belongs to a group, a repeat or a block, which holds it; here its "
            "layers are built into one module of another kind",
            "put the layers that use it in a group: - group: {layers: [...]}",
        )

    def value(self, opts: TensorSpec) -> torch.Tensor:
        """The tensor, with its values as ``init`` says."""
        import torch
        from torch import nn

        dims = tuple(opts.shape)
        tensor = torch.empty((1, *dims) if opts.batch_axis else dims)
        init = opts.init
        if init is Init.RELATIVE_POSITION_INDEX or init is Init.SHIFTED_WINDOW_MASK:
            return windows.values(init.value, opts).reshape(tensor.shape)  # int64 for an index
        if init is Init.ZEROS or init is Init.ONES:
            tensor.fill_(1.0 if init is Init.ONES else 0.0)
        elif init is Init.NORMAL:
            nn.init.normal_(tensor, std=opts.std)
        elif init is Init.TRUNC_NORMAL:
            nn.init.trunc_normal_(tensor, std=opts.std)
        elif init is Init.ARANGE:
            axis = opts.axis % len(dims)
            counts = torch.arange(dims[axis], dtype=tensor.dtype)
            view = [1] * tensor.dim()
            view[axis + tensor.dim() - len(dims)] = dims[axis]
            tensor.copy_(counts.view(view).expand_as(tensor))
        else:
            tensor.fill_(float(init))
        return tensor

    def describe(self, opts: Any) -> str:
        init = opts.init.value if isinstance(opts.init, Init) else f"{opts.init:g}"
        frozen = ", fixed" if not getattr(opts, "trainable", True) else ""
        return f"{self.name} {'×'.join(str(d) for d in opts.shape)}, init {init}{frozen}"


class Parameter(_Tensor):
    name = "parameter"
    Options = ParameterSpec
    holds_tensor = "parameter"
    summary = (
        "a learnable tensor, read by name: shape, init (`- parameter: {shape: [1, 768], to: cls}`)"
    )


class Buffer(_Tensor):
    name = "buffer"
    Options = BufferSpec
    holds_tensor = "buffer"
    summary = "a fixed tensor (a buffer), read by name: shape, init, persistent"


register(Parameter())
register(Buffer())
