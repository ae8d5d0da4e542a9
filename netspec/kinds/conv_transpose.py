"""``conv_transpose``: a 2-D transposed convolution (``nn.ConvTranspose2d``), which upsamples.

In-channels come from the incoming shape. One spatial dimension of the output is PyTorch's
``(size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..axes import need_map
from ..errors import Problem
from ..ir import Shape
from ..registry import Cost, Family, Kind, pair_option, register
from ..schema import Bool, NonNegPair, Options, PosInt, PosPair
from .conv import (
    aten_choice,
    blocked,
    check_groups,
    conv_tensors,
    describe_conv,
    onednn_scratch,
)

if TYPE_CHECKING:
    from torch import nn


class ConvTransposeSpec(Options):
    out: PosInt = Field(description="output channels")
    kernel: PosPair = Field(description="kernel size: an integer or [height, width]")
    stride: PosPair = Field(
        default=(1, 1), description="step of the kernel: an integer or [height, width]"
    )
    padding: NonNegPair = Field(
        default=(0, 0), description="rows and columns cropped from each side of the output"
    )
    output_padding: NonNegPair = Field(
        default=(0, 0),
        description="rows and columns added to one side: less than the stride or the dilation",
    )
    dilation: PosPair = Field(
        default=(1, 1), description="spacing of the kernel elements: an integer or [height, width]"
    )
    groups: PosInt = Field(
        default=1, description="grouped convolution: in- and out-channels must both divide by it"
    )
    bias: Bool = Field(default=True, description="a learned bias per output channel")


def transposed_output(
    size: int, kernel: int, stride: int, pad: int, extra: int, dilation: int, axis: str
) -> int:
    """One spatial dimension of a transposed convolution's output (PyTorch's formula and rules)."""
    if extra >= max(stride, dilation):
        most = max(stride, dilation) - 1
        use = "0" if most == 0 else f"from 0 to {most}"
        raise Problem(
            f"conv_transpose output_padding {extra} on the {axis} must be smaller than the "
            f"stride ({stride}) or the dilation ({dilation})",
            f"use output_padding {use}; for a larger output, use a larger stride or kernel",
        )
    grown = (size - 1) * stride + dilation * (kernel - 1) + extra + 1
    if 2 * pad >= grown:
        lines = "rows" if axis == "height" else "columns"
        raise Problem(
            f"conv_transpose padding {pad} crops {2 * pad} {lines} from a {axis} of {grown}, "
            "leaving none",
            f"use padding of at most {(grown - 1) // 2} here",
        )
    return grown - 2 * pad


class ConvTranspose(Kind):
    name = "conv_transpose"
    upsamples = True
    Options = ConvTransposeSpec
    family = Family.CONV
    summary = (
        "2-D transposed convolution (upsampling): out, kernel, stride, padding, "
        "output_padding, dilation, groups, bias"
    )
    torch_types = ("ConvTranspose2d",)

    def options_from(self, module: Any) -> dict[str, Any] | None:
        if module.padding_mode != "zeros":  # the only mode torch has for it
            return None
        return {
            "out": module.out_channels,
            "kernel": pair_option(module.kernel_size),
            "stride": pair_option(module.stride),
            "padding": pair_option(module.padding),
            "output_padding": pair_option(module.output_padding),
            "dilation": pair_option(module.dilation),
            "groups": module.groups,
            "bias": module.bias is not None,
        }

    def cost(self, opts: ConvTransposeSpec, shape: Shape) -> Cost:
        flat = shape.rank == 1
        need_map(shape, "conv_transpose", "on flat features, use linear" if flat else "")
        c, h, w = shape.dims
        check_groups("conv_transpose", c, opts.out, opts.groups)
        (kh, kw), (sh, sw), (dh, dw) = opts.kernel, opts.stride, opts.dilation
        (ph, pw), (eh, ew) = opts.padding, opts.output_padding
        oh = transposed_output(h, kh, sh, ph, eh, dh, "height")
        ow = transposed_output(w, kw, sw, pw, ew, dw, "width")
        weights = c * (opts.out // opts.groups) * kh * kw
        params = weights + (opts.out if opts.bias else 0)
        # every input pixel meets every weight (the convention of fvcore and torchvision's counts)
        return Cost(Shape((opts.out, oh, ow)), params, weights * h * w)

    def scratch(self, opts: ConvTransposeSpec, input: Shape, output: Shape, batch: int) -> int:
        """What torch's CPU transposed convolution allocates besides the output. Its padding
        crops nothing after the fact: col2im writes only the kept pixels.

        oneDNN: the input and two copies of the output in channel blocks (its own, and
        the contiguous copy torch makes of a channels-last result), the reordered weights and
        its patches, bounded per CPU. ATen's own kernel (``slow_conv_transpose2d``, where ATen
        does not choose oneDNN, or where output_padding reaches the stride): the batch's
        patches, ``C_out/groups × kH × kW`` per input pixel; a grouped one also its groups'
        outputs before their concatenation.
        """
        c, h, w = input.dims
        (kh, kw), (oh, ow) = opts.kernel, output.spatial
        out, groups = opts.out, opts.groups
        patches = batch * (out // groups) * kh * kw * h * w
        native = patches + (batch * out * oh * ow if groups > 1 else 0)
        if any(e >= s for e, s in zip(opts.output_padding, opts.stride, strict=True)):
            return native  # ATen's is_output_padding_big: never oneDNN
        weights = blocked(out) * blocked(c) * kh * kw // groups
        # the output twice: oneDNN's and the contiguous copy of it
        onednn = onednn_scratch(batch, (c, h, w), (out, oh, ow), weights, patches * groups)
        onednn += batch * blocked(out) * oh * ow
        plain_1x1 = (kh, kw) == (1, 1) and opts.stride == (1, 1) and opts.dilation == (1, 1)
        return aten_choice(onednn, native, batch, batch * c * h * w, (kh, kw), groups, plain_1x1)

    def tensors(self, opts: ConvTransposeSpec, input: Shape, output: Shape) -> dict[str, Shape]:
        # transposed: in-channels first (torch's ConvTranspose2d weight)
        weight = Shape((input.channels, opts.out // opts.groups, *opts.kernel))
        return conv_tensors(weight, opts.out, opts.bias)

    def module(self, opts: ConvTransposeSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        return nn.ConvTranspose2d(
            input.channels,
            opts.out,
            opts.kernel,
            stride=opts.stride,
            padding=opts.padding,
            output_padding=opts.output_padding,
            groups=opts.groups,
            bias=opts.bias,
            dilation=opts.dilation,
        )

    def describe(self, opts: ConvTransposeSpec) -> str:
        return describe_conv("convT", opts.kernel, opts.stride, opts.out, opts.groups)


register(ConvTranspose())
