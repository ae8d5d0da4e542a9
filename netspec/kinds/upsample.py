"""``upsample``: resizing images by a scale factor or to a size (``nn.Upsample``), no weights."""

from __future__ import annotations

import enum
import math
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    Field,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..axes import need_map
from ..ir import Saved, Shape
from ..registry import Cost, Kind, pair_option, register
from ..schema import AllowExpr, Bool, Options, PosPair, float_text, unevaluated

if TYPE_CHECKING:
    from torch import nn


class UpsampleMode(enum.Enum):
    """torch's mode strings (``nearest-exact`` is written with a hyphen, as torch does)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


#: the modes that interpolate, and so take align_corners
INTERPOLATING = (UpsampleMode.BILINEAR, UpsampleMode.BICUBIC)


def _scale(value: Any, info: ValidationInfo) -> Any:
    if unevaluated(value, info):
        return value
    items = value if isinstance(value, list) and len(value) == 2 else [value]
    numbers = [float_text(v) for v in items]
    if all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < math.inf
        for v in numbers
    ):
        return (float(numbers[0]), float(numbers[-1]))
    raise PydanticCustomError(
        "pair", "expected a number above 0, or a [height, width] pair of them"
    )


#: A positive number, or a [height, width] pair of them; normalised to a pair of floats.
Scale = Annotated[
    tuple[float, float],
    PlainValidator(
        _scale,
        json_schema_input_type=float | Annotated[list[float], Field(min_length=2, max_length=2)],
    ),
]


class UpsampleSpec(Options):
    scale: Scale | None = Field(
        default=None,
        description="a factor, or [height, width] factors; output = floor(input × scale)",
    )
    size: PosPair | None = Field(default=None, description="the output size, int or pair")
    mode: Annotated[UpsampleMode, AllowExpr] = Field(
        default=UpsampleMode.NEAREST, description="nearest, nearest-exact, bilinear or bicubic"
    )
    align_corners: Bool | None = Field(
        default=None, description="bilinear and bicubic only; leave it out for the nearest modes"
    )

    @field_validator("align_corners")
    @classmethod
    def _interpolating(cls, value: Any, info: ValidationInfo) -> Any:
        mode = info.data.get("mode")
        if value is not None and isinstance(mode, UpsampleMode) and mode not in INTERPOLATING:
            raise ValueError(f"only modes bilinear and bicubic take it, not {mode.value}")
        return value

    @model_validator(mode="after")
    def _one_way(self) -> UpsampleSpec:
        if (self.scale is None) == (self.size is None):
            raise ValueError("upsample needs exactly one of scale or size")
        return self


class Upsample(Kind):
    name = "upsample"
    upsamples = True
    Options = UpsampleSpec
    summary = (
        "resize images: scale (factor or pair) or size; mode nearest, nearest-exact, bilinear, "
        "bicubic; align_corners"
    )
    torch_types = ("Upsample",)

    def options_from(self, module: Any) -> dict[str, Any] | None:
        if module.recompute_scale_factor:
            return None
        opts: dict[str, Any] = {"mode": module.mode}
        if module.size is not None:
            opts["size"] = pair_option(module.size)
        else:
            opts["scale"] = pair_option(module.scale_factor)
        if module.align_corners is not None:
            opts["align_corners"] = module.align_corners
        return opts

    def cost(self, opts: UpsampleSpec, shape: Shape) -> Cost:
        need_map(shape, "upsample")
        c, h, w = shape.dims
        if opts.size is not None:
            return Cost(Shape((c, *opts.size)))
        assert opts.scale is not None  # guaranteed by UpsampleSpec._one_way
        # torch multiplies in double precision and truncates (ATen's compute_output_size)
        sh, sw = opts.scale
        return Cost(Shape((c, math.floor(h * sh), math.floor(w * sw))))

    def scratch(self, opts: UpsampleSpec, input: Shape, output: Shape, batch: int) -> int:
        """torch's CPU interpolation makes contiguous copies of its input and of its result."""
        return batch * (input.numel + output.numel)

    def saved(self, opts: UpsampleSpec, input: Shape, output: Shape) -> Saved:
        return Saved(input=False)  # its backward needs the sizes only

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        return {}

    def module(self, opts: UpsampleSpec, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        return nn.Upsample(
            size=opts.size,
            scale_factor=opts.scale,
            mode=opts.mode.value,
            align_corners=opts.align_corners,
        )

    def describe(self, opts: UpsampleSpec) -> str:
        if opts.size is not None:
            return f"upsample → {opts.size[0]}×{opts.size[1]} {opts.mode.value}"
        assert opts.scale is not None
        sh, sw = opts.scale
        factor = f"{sh:g}" if sh == sw else f"{sh:g}×{sw:g}"
        return f"upsample ×{factor} {opts.mode.value}"


register(Upsample())
