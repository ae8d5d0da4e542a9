"""``conv``: a 2-D convolution (``nn.Conv2d``); in-channels come from the incoming shape."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from ..errors import Problem
from ..ir import Shape
from ..registry import Cost, Family, Kind, need_rank, pair_option, register
from ..schema import AllowExpr, Bool, Options, Padding, PosInt, PosPair

if TYPE_CHECKING:
    from torch import nn


class PaddingMode(enum.Enum):
    ZEROS = "zeros"
    REFLECT = "reflect"
    REPLICATE = "replicate"
    CIRCULAR = "circular"


class ConvSpec(Options):
    out: PosInt = Field(description="output channels")
    kernel: PosPair = Field(description="kernel size: an integer or [height, width]")
    stride: PosPair = Field(
        default=(1, 1), description="step of the kernel: an integer or [height, width]"
    )
    padding: Padding = Field(
        default=(0, 0), description="an integer, [height, width], same or valid"
    )
    dilation: PosPair = Field(
        default=(1, 1), description="spacing of the kernel elements: an integer or [height, width]"
    )
    groups: PosInt = Field(
        default=1, description="grouped convolution: in- and out-channels must both divide by it"
    )
    bias: Bool = Field(default=True, description="a learned bias per output channel")
    padding_mode: Annotated[PaddingMode, AllowExpr] = Field(
        default=PaddingMode.ZEROS,
        description="what the padding holds: zeros, reflect, replicate or circular",
    )


def conv_output(size: int, kernel: int, stride: int, pad: int, dilation: int, axis: str) -> int:
    """One spatial dimension of a convolution's output (PyTorch's formula)."""
    span = dilation * (kernel - 1) + 1
    if size + 2 * pad < span:
        raise Problem(
            f"the {axis} of the kernel ({span}) is larger than the padded input ({size + 2 * pad})",
            "use a smaller kernel or more padding, or remove a downsampling layer before this one",
        )
    return (size + 2 * pad - span) // stride + 1


def check_groups(what: str, channels: int, out: int, groups: int) -> None:
    """A grouped convolution splits both its input and its output channels into ``groups``."""
    if channels % groups:
        raise Problem(
            f"{what} has groups={groups}, but its {channels} input channels do not divide by it",
            f"choose groups that divides {channels}",
        )
    if out % groups:
        raise Problem(
            f"{what} has groups={groups}, but out={out} does not divide by it",
            f"choose out as a multiple of {groups}",
        )


def padding_sides(opts: ConvSpec) -> tuple[tuple[int, int], tuple[int, int]]:
    """The rows and the columns torch pads on each side (``same``: the extra one after)."""
    if opts.padding == "same":
        th, tw = (d * (k - 1) for d, k in zip(opts.dilation, opts.kernel, strict=True))
        return (th // 2, th - th // 2), (tw // 2, tw - tw // 2)
    if isinstance(opts.padding, str):  # valid
        return (0, 0), (0, 0)
    ph, pw = opts.padding
    return (ph, ph), (pw, pw)


def check_padding_mode(opts: ConvSpec, shape: Shape) -> None:
    """reflect pads with at most size - 1 values a side, circular with at most size."""
    extra = {PaddingMode.REFLECT: 0, PaddingMode.CIRCULAR: 1}.get(opts.padding_mode)
    if extra is None:
        return
    _, h, w = shape.dims
    sides = padding_sides(opts)
    if all(max(pad) <= size - 1 + extra for pad, size in zip(sides, (h, w), strict=True)):
        return
    if opts.padding == "same":
        (top, bottom), (left, right) = sides
        got = f"padding: same pads {max(top, bottom)}×{max(left, right)}"
    else:
        got = f"got padding {sides[0][0]}×{sides[1][0]}"
    limit = "below" if opts.padding_mode is PaddingMode.REFLECT else "at most"
    raise Problem(
        f"padding_mode {opts.padding_mode.value} needs padding {limit} the input size, "
        f"{got} on {h}×{w}",
        "use less padding, or padding_mode: zeros",
    )


class Conv(Kind):
    name = "conv"
    Options = ConvSpec
    family = Family.CONV
    summary = (
        "2-D convolution: out, kernel, stride, padding (int, pair, same), dilation, groups, bias"
    )
    torch_types = ("Conv2d",)

    def options_from(self, module: Any) -> dict[str, Any] | None:
        return {
            "out": module.out_channels,
            "kernel": pair_option(module.kernel_size),
            "stride": pair_option(module.stride),
            "padding": pair_option(module.padding),
            "dilation": pair_option(module.dilation),
            "groups": module.groups,
            "bias": module.bias is not None,
            "padding_mode": module.padding_mode,
        }

    def cost(self, opts: ConvSpec, shape: Shape) -> Cost:
        need_rank(shape, 3, "conv", "on flat features, use linear" if shape.rank == 1 else "")
        c, h, w = shape.dims
        check_groups("conv", c, opts.out, opts.groups)
        (kh, kw), (sh, sw), (dh, dw) = opts.kernel, opts.stride, opts.dilation
        if opts.padding == "same":
            if (sh, sw) != (1, 1):
                raise Problem(
                    "padding: same needs stride 1 (PyTorch does not allow it with a stride)",
                    f"write the padding as a number, e.g. padding: {dh * (kh - 1) // 2}",
                )
            oh, ow = h, w
        else:
            ph, pw = (0, 0) if isinstance(opts.padding, str) else opts.padding
            oh = conv_output(h, kh, sh, ph, dh, "height")
            ow = conv_output(w, kw, sw, pw, dw, "width")
        check_padding_mode(opts, shape)
        weights = opts.out * (c // opts.groups) * kh * kw
        params = weights + (opts.out if opts.bias else 0)
        return Cost(Shape((opts.out, oh, ow)), params, weights * oh * ow)

    def scratch(self, opts: ConvSpec, input: Shape, output: Shape) -> int:
        """A padded copy of the input and the unfolded patches (im2col), freed after the layer."""
        c, h, w = input.dims
        (top, bottom), (left, right) = padding_sides(opts)
        padded = c * (h + top + bottom) * (w + left + right) if top + bottom + left + right else 0
        kh, kw = opts.kernel
        return padded + (c // opts.groups) * kh * kw * output.spatial[0] * output.spatial[1]

    def module(self, opts: ConvSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        return nn.Conv2d(
            input.channels,
            opts.out,
            opts.kernel,
            stride=opts.stride,
            padding=opts.padding,
            dilation=opts.dilation,
            groups=opts.groups,
            bias=opts.bias,
            padding_mode=opts.padding_mode.value,
        )

    def describe(self, opts: ConvSpec) -> str:
        return describe_conv("conv", opts.kernel, opts.stride, opts.out, opts.groups)


def describe_conv(
    word: str, kernel: tuple[int, int], stride: tuple[int, int], out: int, groups: int
) -> str:
    """A convolution as a paper writes it: ``conv 3×3 /2, 64`` (``g4`` when grouped)."""
    text = f"{word} {kernel[0]}×{kernel[1]}"
    if tuple(stride) != (1, 1):
        text += f" /{stride[0]}" if stride[0] == stride[1] else f" /{stride[0]}×{stride[1]}"
    text += f", {out}"
    if groups > 1:
        text += f" g{groups}"
    return text


register(Conv())
