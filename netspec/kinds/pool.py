"""``pool``: max or average pooling, fixed-size, adaptive (``output:``) or global."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, ValidationInfo, model_validator

from ..axes import need_map
from ..errors import Problem
from ..ir import Saved, Shape
from ..registry import Cost, Family, Kind, pair_option, register
from ..schema import AllowExpr, Bool, NonNegPair, Options, PosPair, unevaluated

if TYPE_CHECKING:
    from torch import nn


class PoolMode(enum.Enum):
    MAX = "max"
    AVG = "avg"


class PoolSpec(Options):
    mode: Annotated[PoolMode, AllowExpr] = Field(default=PoolMode.MAX, description="max or avg")
    kernel: PosPair | None = Field(
        default=None, description="the window: an integer or [height, width]"
    )
    stride: PosPair | None = Field(default=None, description="defaults to the kernel size")
    padding: NonNegPair = Field(
        default=(0, 0), description="an integer or [height, width], at most half the kernel"
    )
    ceil_mode: Bool = Field(default=False, description="round the output size up, not down")
    count_include_pad: Bool = Field(
        default=True, description="avg: count the padding in the average"
    )
    output: PosPair | None = Field(default=None, description="adaptive pooling to this size")
    global_: Bool = Field(default=False, alias="global", description="pool each channel to 1×1")

    @model_validator(mode="after")
    def _one_way(self, info: ValidationInfo) -> PoolSpec:
        if unevaluated(self.global_, info):
            return self  # decided once the expression has a value
        ways = [self.kernel is not None, self.output is not None, self.global_ is True]
        if sum(ways) != 1:
            raise ValueError("pool needs exactly one of kernel, output or global: true")
        return self


def pool_output(size: int, kernel: int, stride: int, pad: int, ceil: bool, axis: str) -> int:
    """One spatial dimension of a pooling output: PyTorch's formula, ceil_mode included."""
    if pad > kernel // 2:
        raise Problem(
            f"pool padding {pad} on the {axis} is more than half the kernel ({kernel})",
            "PyTorch allows padding of at most kernel // 2",
        )
    span = size + 2 * pad - kernel
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= size + pad:
        out -= 1  # the last window may not start in the right padding
    if out < 1:
        raise Problem(
            f"the pooling window's {axis} ({kernel}) is larger than the padded input "
            f"({size + 2 * pad})",
            "use a smaller kernel, or remove a downsampling layer before this one",
        )
    return out


def adaptive_options(mode: str, size: Any) -> dict[str, Any] | None:
    """An adaptive pool to ``size`` (an int or a pair; torch's None keeps a size: not a pool
    option), as the spec writes it: ``global: true`` for 1×1."""
    if size is None or (isinstance(size, (tuple, list)) and None in size):
        return None
    out = pair_option(size)
    return {"mode": mode, "global": True} if out == 1 else {"mode": mode, "output": out}


class Pool(Kind):
    name = "pool"
    Options = PoolSpec
    family = Family.POOL
    summary = (
        "max/avg pooling: kernel, stride, padding, ceil_mode; adaptive (output:); global: true"
    )
    torch_types = ("MaxPool2d", "AvgPool2d", "AdaptiveMaxPool2d", "AdaptiveAvgPool2d")

    def options_from(self, module: Any) -> dict[str, Any] | None:
        mode = "avg" if "Avg" in type(module).__name__ else "max"
        if hasattr(module, "output_size"):
            return adaptive_options(mode, module.output_size)
        if (
            getattr(module, "return_indices", False)
            or pair_option(getattr(module, "dilation", 1)) != 1
        ):
            return None  # a max pool's indices or dilation: no pool option says it
        if getattr(module, "divisor_override", None) is not None:
            return None
        opts = {
            "mode": mode,
            "kernel": pair_option(module.kernel_size),
            "stride": pair_option(module.stride),
            "padding": pair_option(module.padding),
            "ceil_mode": module.ceil_mode,
        }
        if mode == "avg":
            opts["count_include_pad"] = module.count_include_pad
        if opts["stride"] == opts["kernel"]:
            del opts["stride"]
        return opts

    def cost(self, opts: PoolSpec, shape: Shape) -> Cost:
        need_map(shape, "pool")
        c, h, w = shape.dims
        if opts.global_:
            return Cost(Shape((c, 1, 1)))
        if opts.output is not None:
            return Cost(Shape((c, *opts.output)))
        assert opts.kernel is not None  # guaranteed by PoolSpec._one_way
        (kh, kw), (ph, pw) = opts.kernel, opts.padding
        sh, sw = opts.stride or opts.kernel
        oh = pool_output(h, kh, sh, ph, opts.ceil_mode, "height")
        ow = pool_output(w, kw, sw, pw, opts.ceil_mode, "width")
        return Cost(Shape((c, oh, ow)))

    def scratch(self, opts: PoolSpec, input: Shape, output: Shape, batch: int) -> int:
        """A max pool (fixed, adaptive or global) keeps the int64 index of each maximum even
        without gradients (ATen's max_pool2d calls max_pool2d_with_indices): two float32
        values' worth per output value. Padding is never materialised: the kernels skip it."""
        return 2 * batch * output.numel if opts.mode is PoolMode.MAX else 0

    def saved(self, opts: PoolSpec, input: Shape, output: Shape) -> Saved:
        """A max pool keeps its input and the int64 index of each maximum; an avg pool its
        input, but a global one is a mean over the map (ATen), which keeps nothing."""
        if opts.mode is PoolMode.MAX:
            return Saved(extra=2 * output.numel)
        return Saved(input=not opts.global_)

    def step_scratch(
        self, opts: PoolSpec, input: Shape, output: Shape, batch: int, input_grad: bool = True
    ) -> tuple[int, int]:
        return 0, 0  # in training, a max pool's indices are kept (:meth:`saved`)

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def module(self, opts: PoolSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        avg = opts.mode is PoolMode.AVG
        if opts.global_ or opts.output is not None:
            size: Any = 1 if opts.global_ else opts.output
            return nn.AdaptiveAvgPool2d(size) if avg else nn.AdaptiveMaxPool2d(size)
        assert opts.kernel is not None
        kernel, stride, padding = opts.kernel, opts.stride or opts.kernel, opts.padding
        if avg:
            return nn.AvgPool2d(kernel, stride, padding, opts.ceil_mode, opts.count_include_pad)
        return nn.MaxPool2d(kernel, stride, padding, ceil_mode=opts.ceil_mode)

    def describe(self, opts: PoolSpec) -> str:
        word = opts.mode.value + "pool"
        if opts.global_:
            return f"global {word}"
        if opts.output is not None:
            return f"adaptive {word} → {opts.output[0]}×{opts.output[1]}"
        assert opts.kernel is not None
        text = f"{word} {opts.kernel[0]}×{opts.kernel[1]}"
        stride = opts.stride or opts.kernel
        if tuple(stride) != (1, 1):
            text += f" /{stride[0]}" if stride[0] == stride[1] else f" /{stride[0]}×{stride[1]}"
        return text


register(Pool())
