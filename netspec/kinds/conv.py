"""``conv``: a 2-D convolution (``nn.Conv2d``); in-channels come from the incoming shape."""

from __future__ import annotations

import enum
import os
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from ..axes import need_map
from ..errors import Problem
from ..ir import Saved, Shape
from ..registry import Cost, Family, Kind, pair_option, register
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


#: oneDNN, which runs torch's float convolutions on x86, stores channels in blocks of 8 (AVX2)
#: or 16 (AVX-512), the last block padded: its copies of an input, output or weight hold this
#: many channels per block
ONEDNN_BLOCK = 16

#: the channel block of oneDNN's copies in training, as measured on AVX2 (AVX-512: 16); the
#: training estimate wants the likely figure, the memory guard the upper bound (ONEDNN_BLOCK)
ONEDNN_TRAINING_BLOCK = 8

#: oneDNN's unfolded patches when it computes a convolution as a matrix product come in pieces
#: sized to a core's L2 cache (about 415 KB a thread measured on a 512 KB L2): values allowed
#: per CPU, 2 MiB of float32, enough for an L2 of 2 MB
ONEDNN_PATCHES_PER_CPU = 2**19

#: ATen's own kernel runs a batch of one when its input has at most this many values
#: (``ConvParams::use_mkldnn``: "for some case, native is faster")
NATIVE_MAX_VALUES = 20480


def padded_input(opts: ConvSpec, input: Shape) -> tuple[int, int, int, bool]:
    """The input a convolution's kernel reads (channels, height, width), and whether torch
    copies it to pad it: F.pad's copy for reflect, replicate or circular (even of no padding),
    ATen's for the extra row or column of an uneven ``same``; zero padding is skipped."""
    c, h, w = input.dims
    (top, bottom), (left, right) = padding_sides(opts)
    if opts.padding_mode is not PaddingMode.ZEROS:
        return c, h + top + bottom, w + left + right, True
    if bottom - top or right - left:
        return c, h + bottom - top, w + right - left, True
    return c, h, w, False


def blocked(channels: int) -> int:
    """Channels as oneDNN stores them: rounded up to whole blocks."""
    return -(-channels // ONEDNN_BLOCK) * ONEDNN_BLOCK


def onednn_scratch(
    batch: int,
    size: tuple[int, int, int],
    out_size: tuple[int, int, int],
    weights: int,
    patches: int,
) -> int:
    """oneDNN's copies for a convolution: an input of ``size`` (channels, height, width) and
    an output of ``out_size`` in channel blocks, its ``weights`` reordered (rounded up to
    blocks), and its unfolded patches, at most ``patches`` and what fits a core's cache per
    CPU."""
    (c, h, w), (out, oh, ow) = size, out_size
    # fewer channels than a block are read as they are (its "first convolution" kernels),
    # though perhaps reordered to channels-last
    reordered = blocked(c) if c >= ONEDNN_BLOCK // 2 else c
    return (
        batch * (reordered * h * w + blocked(out) * oh * ow)
        + weights
        + min(patches, ONEDNN_PATCHES_PER_CPU * (os.cpu_count() or 1))
    )


def aten_choice(
    onednn: int,
    native: int,
    batch: int,
    input_values: int,
    kernel: tuple[int, int],
    groups: int,
    plain_1x1: bool,
) -> int:
    """The scratch of the kernel ATen runs (``ConvParams::use_mkldnn``): ``onednn`` or
    ``native`` (its own im2col kernel), the larger where the choice depends on the thread
    count, which a spec cannot know (a 1×1 kernel without stride or dilation)."""
    kh, kw = kernel
    # its own kernel for one small sample of an ungrouped conv with a kernel of at most 3
    if not (groups > 1 or (kh > 3 and kw > 3) or batch > 1 or input_values > NATIVE_MAX_VALUES):
        return native
    return max(onednn, native) if plain_1x1 and batch < 16 else onednn


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
        need_map(shape, "conv", "on flat features, use linear" if shape.rank == 1 else "")
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

    def scratch(self, opts: ConvSpec, input: Shape, output: Shape, batch: int) -> int:
        """What torch's CPU convolution allocates besides the output: a padded copy of the
        input only where torch makes one (reflect, replicate, circular; an uneven ``same``),
        never for zero padding, which its kernels skip; then oneDNN's reordered copies, or
        the unfolded patches of torch's own kernel where ATen chooses that one."""
        c, h, w, padded = padded_input(opts, input)
        copy = batch * c * h * w if padded else 0
        (top, bottom), (left, right) = padding_sides(opts)
        if opts.padding_mode is not PaddingMode.ZEROS:  # the copy holds all the padding
            top = bottom = left = right = 0
        (kh, kw), (oh, ow), groups = opts.kernel, output.spatial, opts.groups
        patches = batch * (c // groups) * kh * kw * oh * ow
        # ATen's slow_conv2d unfolds a 1×1 kernel only with a stride or padding
        unfold = (kh, kw) != (1, 1) or opts.stride != (1, 1) or top + bottom + left + right > 0
        native = (patches if unfold else 0) + (batch * opts.out * oh * ow if groups > 1 else 0)
        weights = blocked(opts.out) * blocked(c) * kh * kw // groups
        onednn = onednn_scratch(batch, (c, h, w), (opts.out, oh, ow), weights, patches * groups)
        plain_1x1 = (kh, kw) == (1, 1) and opts.stride == (1, 1) and opts.dilation == (1, 1)
        kernel = aten_choice(onednn, native, batch, batch * c * h * w, (kh, kw), groups, plain_1x1)
        return copy + kernel

    def saved(self, opts: ConvSpec, input: Shape, output: Shape) -> Saved:
        """Its input, or the padded copy of it that the convolution reads where torch makes
        one."""
        c, h, w, padded = padded_input(opts, input)
        return Saved(input=not padded, extra=c * h * w if padded else 0)

    def step_scratch(
        self, opts: ConvSpec, input: Shape, output: Shape, batch: int, input_grad: bool = True
    ) -> tuple[int, int]:
        """oneDNN in training, as measured on float32 batches. Forward: the weights, and the
        larger of the input reordered to channel blocks (from 8 channels) and the output in
        channel blocks (then copied out). Backward, besides the gradients: the input
        reordered, and a copy of the output's gradient (of the input's with a stride), with
        one more of the output's for a first layer of few channels."""
        c, h, w, padded = padded_input(opts, input)
        weights = blocked(opts.out) * blocked(c) * opts.kernel[0] * opts.kernel[1] // opts.groups
        reordered = c * h * w if c >= ONEDNN_TRAINING_BLOCK else 0
        out = -(-opts.out // ONEDNN_TRAINING_BLOCK) * ONEDNN_TRAINING_BLOCK * output.numel
        out //= opts.out
        forward = weights + batch * max(reordered, out) + (batch * c * h * w if padded else 0)
        backward = reordered + (c * h * w if opts.stride != (1, 1) else out)
        if not input_grad and not reordered:
            backward += out
        return forward, batch * backward

    def tensors(self, opts: ConvSpec, input: Shape, output: Shape) -> dict[str, Shape]:
        weight = Shape((opts.out, input.channels // opts.groups, *opts.kernel))
        return conv_tensors(weight, opts.out, opts.bias)

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


def conv_tensors(weight: Shape, out: int, bias: bool) -> dict[str, Shape]:
    """A convolution's ``weight``, and its ``bias`` where it has one."""
    return {"weight": weight, "bias": Shape((out,))} if bias else {"weight": weight}


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
