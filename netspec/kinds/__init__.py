"""The built-in kinds. Each module defines one kind (or one family) and registers it."""

from . import (
    activation,
    attention,
    channels,
    conv,
    conv_transpose,
    group,
    inception,
    linear,
    merge,
    norm,
    pool,
    repeat,
    reshape,
    residual,
    tensor,
    upsample,
)

__all__ = [
    "activation",
    "attention",
    "channels",
    "conv",
    "conv_transpose",
    "group",
    "inception",
    "linear",
    "merge",
    "norm",
    "pool",
    "repeat",
    "reshape",
    "residual",
    "tensor",
    "upsample",
]
