"""Activations: element-wise functions that keep the shape; only ``prelu`` has weights."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, ValidationInfo, model_validator

from ..axes import axis as axis_index
from ..errors import Problem
from ..ir import Saved, Shape
from ..registry import Cost, Family, Kind, register
from ..schema import AllowExpr, Bool, Float, Int, NonNegFloat, Options, PosFloat, unevaluated

if TYPE_CHECKING:
    from torch import nn


class InplaceSpec(Options):
    inplace: Bool = Field(
        default=False, description="overwrite the input instead of making a new tensor"
    )


class LeakyReluSpec(Options):
    negative_slope: Float = Field(default=0.01, description="the slope for negative inputs")
    inplace: Bool = Field(
        default=False, description="overwrite the input instead of making a new tensor"
    )


class EluSpec(Options):
    alpha: PosFloat = Field(default=1.0, description="the scale of the negative part")
    inplace: Bool = Field(
        default=False, description="overwrite the input instead of making a new tensor"
    )


class Approximate(enum.Enum):
    NONE = "none"
    TANH = "tanh"


class GeluSpec(Options):
    approximate: Annotated[Approximate, AllowExpr] = Field(
        default=Approximate.NONE,
        description="none (exact, with erf) or tanh (the tanh approximation)",
    )


class SoftmaxSpec(Options):
    dim: Int = Field(
        default=1,
        description="the dimension to normalise, counting the batch (1: channels or features)",
    )
    axis: Int | None = Field(
        default=None,
        description="the axis to normalise, as layout operations count them (0: the first "
        "after the batch, -1: the last); instead of dim",
    )

    @model_validator(mode="after")
    def _one_way(self, info: ValidationInfo) -> SoftmaxSpec:
        if self.axis is not None and "dim" in self.model_fields_set:
            raise ValueError(
                "softmax takes dim (counting the batch) or axis (not counting it), not both"
            )
        return self

    @property
    def along(self) -> int:
        """The dimension torch normalises, counting the batch."""
        if self.axis is None:
            return self.dim
        return self.axis + 1 if self.axis >= 0 else self.axis


class PlainSpec(Options):
    pass


#: A number ≥ 0 (a shrink threshold). schema.py has no such type yet; the constraint sits
#: before AllowExpr so that an expression is not compared with 0 before it has a value.


class PReluSpec(Options):
    channels: Bool = Field(default=False, description="one slope per channel, or one shared")
    init: Float = Field(default=0.25, description="the initial negative slope")


class SoftplusSpec(Options):
    beta: PosFloat = Field(default=1.0, description="log(1 + exp(beta * x)) / beta")
    threshold: Float = Field(
        default=20.0, description="where beta * x is above it, the identity (numerical stability)"
    )


class HardtanhSpec(Options):
    min_val: Float = Field(default=-1.0, description="the lower bound")
    max_val: Float = Field(default=1.0, description="the upper bound, above min_val")
    inplace: Bool = Field(
        default=False, description="overwrite the input instead of making a new tensor"
    )

    @model_validator(mode="after")
    def _ordered(self, info: ValidationInfo) -> HardtanhSpec:
        if unevaluated(self.min_val, info) or unevaluated(self.max_val, info):
            return self  # decided once the expressions have values
        if self.min_val >= self.max_val:
            raise ValueError(
                f"hardtanh needs min_val below max_val, got min_val {self.min_val:g} "
                f"and max_val {self.max_val:g}"
            )
        return self


class CeluSpec(Options):
    alpha: PosFloat = Field(default=1.0, description="the scale of the negative part")
    inplace: Bool = Field(
        default=False, description="overwrite the input instead of making a new tensor"
    )


class ShrinkSpec(Options):
    lambd: NonNegFloat = Field(default=0.5, description="values within ±lambd become 0")


class Activation(Kind):
    """One activation; each built-in one is an instance of this class."""

    family = Family.ACTIVATION

    def __init__(
        self,
        name: str,
        options: type[Options],
        make: Callable[..., nn.Module],
        summary: str,
        shorthand: str | None = None,
        weights: Callable[[Any, Shape], int] | None = None,
    ) -> None:
        """``make(nn, opts)`` builds the module; an activation with learned ``weights`` (their
        count for an input shape) is built by ``make(nn, opts, count)``."""
        self.name = name  # type: ignore[misc]
        self.Options = options  # type: ignore[misc]
        self.shorthand = shorthand  # type: ignore[misc]
        self.summary = summary  # type: ignore[misc]
        self._make = make
        self._weights = weights

    def cost(self, opts: Any, shape: Shape) -> Cost:
        if isinstance(opts, SoftmaxSpec) and opts.axis is not None:
            axis_index(opts.axis, shape, self.name)
        dim = getattr(opts, "dim", None)
        if dim is not None and not -(shape.rank + 1) <= dim <= shape.rank:
            raise Problem(
                f"{self.name} dim={dim} is out of range for a batch of {shape}",
                "dim counts the batch: use "
                + {1: "1 for features", 2: "-1 for each token's features"}.get(
                    shape.rank, "1 for channels"
                ),
            )
        return Cost(shape, 0 if self._weights is None else self._weights(opts, shape))

    def saved(self, opts: Any, input: Shape, output: Shape) -> Saved:
        """What autograd keeps: the output or the input (``_KEEPS``), and in place the output
        (written over the input), or a copy of the input it overwrites where the gradient
        needs it; some keep an input-sized intermediate as well."""
        keeps = _KEEPS.get(self.name, "input")
        extra = input.numel if self.name in _KEEPS_INTERMEDIATE else 0
        if getattr(opts, "inplace", False) is True:
            copy = 0 if keeps == "output" or self.name in _INPLACE_KEEPS_OUTPUT else input.numel
            return Saved(input=False, output=True, extra=copy + extra, alias=True)
        return Saved(input=keeps == "input", output=keeps == "output", extra=extra)

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape]:
        if self._weights is None:
            return {}
        return {"weight": Shape((self._weights(opts, input),))}  # prelu's slopes

    def module(self, opts: Any, input: Shape, output: Shape) -> nn.Module:
        from torch import nn

        if self._weights is None:
            return self._make(nn, opts)
        return self._make(nn, opts, self._weights(opts, input))

    def describe(self, opts: Any) -> str:
        if isinstance(opts, SoftmaxSpec) and opts.axis is not None:
            return f"{self.name} over axis {opts.axis}"
        return self.name

    def options_from(self, module: Any) -> dict[str, Any] | None:
        if self.name == "prelu":  # the slopes themselves are weights, loaded with the rest
            return {"channels": module.num_parameters > 1}
        fields = [f for f in self.Options.model_fields if f not in Options.model_fields]
        model = self.Options.model_fields
        opts = {
            f: getattr(module, f, None)
            for f in fields
            if hasattr(module, f) or model[f].default is not None  # softmax's axis: dim says it
        }
        return None if None in opts.values() else opts


_ACTIVATIONS = [
    Activation("relu", InplaceSpec, lambda nn, o: nn.ReLU(o.inplace), "max(0, x)"),
    Activation("relu6", InplaceSpec, lambda nn, o: nn.ReLU6(o.inplace), "min(max(0, x), 6)"),
    Activation(
        "leaky_relu",
        LeakyReluSpec,
        lambda nn, o: nn.LeakyReLU(o.negative_slope, o.inplace),
        "leaky ReLU: negative_slope (`- leaky_relu: 0.1`)",
        shorthand="negative_slope",
    ),
    Activation("elu", EluSpec, lambda nn, o: nn.ELU(o.alpha, o.inplace), "ELU: alpha"),
    Activation("sigmoid", PlainSpec, lambda nn, o: nn.Sigmoid(), "logistic sigmoid"),
    Activation("tanh", PlainSpec, lambda nn, o: nn.Tanh(), "hyperbolic tangent"),
    Activation(
        "gelu", GeluSpec, lambda nn, o: nn.GELU(o.approximate.value), "GELU: approximate none|tanh"
    ),
    Activation("silu", InplaceSpec, lambda nn, o: nn.SiLU(o.inplace), "SiLU (swish)"),
    Activation("hardswish", InplaceSpec, lambda nn, o: nn.Hardswish(o.inplace), "hard swish"),
    Activation("mish", InplaceSpec, lambda nn, o: nn.Mish(o.inplace), "mish"),
    Activation(
        "softmax",
        SoftmaxSpec,
        lambda nn, o: nn.Softmax(o.along),
        "softmax over dim (1) or axis",
        "dim",
    ),
    Activation(
        "log_softmax",
        SoftmaxSpec,
        lambda nn, o: nn.LogSoftmax(o.along),
        "log-softmax over dim (1) or axis",
        "dim",
    ),
    Activation("hardsigmoid", InplaceSpec, lambda nn, o: nn.Hardsigmoid(o.inplace), "hard sigmoid"),
    Activation(
        "prelu",
        PReluSpec,
        lambda nn, o, count: nn.PReLU(count, o.init),
        "ReLU with a learned negative slope: channels (one slope each, or one shared), init",
        weights=lambda o, shape: shape.channels if o.channels else 1,
    ),
    Activation(
        "softplus",
        SoftplusSpec,
        lambda nn, o: nn.Softplus(o.beta, o.threshold),
        "log(1 + exp(beta·x)) / beta, linear above threshold: beta, threshold",
    ),
    Activation(
        "hardtanh",
        HardtanhSpec,
        lambda nn, o: nn.Hardtanh(o.min_val, o.max_val, o.inplace),
        "clamp to [min_val, max_val] (default [-1, 1])",
    ),
    Activation("selu", InplaceSpec, lambda nn, o: nn.SELU(o.inplace), "scaled ELU"),
    Activation("celu", CeluSpec, lambda nn, o: nn.CELU(o.alpha, o.inplace), "CELU: alpha"),
    Activation("softsign", PlainSpec, lambda nn, o: nn.Softsign(), "x / (1 + |x|)"),
    Activation("tanhshrink", PlainSpec, lambda nn, o: nn.Tanhshrink(), "x − tanh(x)"),
    Activation("logsigmoid", PlainSpec, lambda nn, o: nn.LogSigmoid(), "log(sigmoid(x))"),
    Activation(
        "hardshrink",
        ShrinkSpec,
        lambda nn, o: nn.Hardshrink(o.lambd),
        "0 within ±lambd, x outside (`- hardshrink: 0.5`)",
        shorthand="lambd",
    ),
    Activation(
        "softshrink",
        ShrinkSpec,
        lambda nn, o: nn.Softshrink(o.lambd),
        "0 within ±lambd, x ∓ lambd outside (`- softshrink: 0.5`)",
        shorthand="lambd",
    ),
]

#: what each activation's gradient reads (derivatives.yaml): its "output" or "input" (default)
_KEEPS = {
    "relu": "output",
    "sigmoid": "output",
    "tanh": "output",
    "softmax": "output",
    "log_softmax": "output",
    "tanhshrink": "none",  # x - tanh(x): tanh's output
}
#: in place, these keep their output (the in-place form's gradient reads the result)
_INPLACE_KEEPS_OUTPUT = {"relu6", "leaky_relu", "elu", "selu", "celu", "hardtanh"}
#: an input-sized intermediate kept besides (log_sigmoid's buffer, tanh's output, 1 + |x|)
_KEEPS_INTERMEDIATE = {"logsigmoid", "tanhshrink", "softsign"}

#: the torch module each activation imports from (``netspec import``)
_TORCH_TYPES = {
    "relu": "ReLU",
    "relu6": "ReLU6",
    "leaky_relu": "LeakyReLU",
    "elu": "ELU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "gelu": "GELU",
    "silu": "SiLU",
    "hardswish": "Hardswish",
    "mish": "Mish",
    "softmax": "Softmax",
    "log_softmax": "LogSoftmax",
    "hardsigmoid": "Hardsigmoid",
    "prelu": "PReLU",
    "softplus": "Softplus",
    "hardtanh": "Hardtanh",
    "selu": "SELU",
    "celu": "CELU",
    "softsign": "Softsign",
    "tanhshrink": "Tanhshrink",
    "logsigmoid": "LogSigmoid",
    "hardshrink": "Hardshrink",
    "softshrink": "Softshrink",
}

for _activation in _ACTIVATIONS:
    _activation.torch_types = (_TORCH_TYPES[_activation.name],)  # type: ignore[misc]
    register(_activation)
