"""The built-in kinds. Each module defines one kind (or one family) and registers it."""

from . import (
    activation,
    conv,
    group,
    inception,
    linear,
    merge,
    norm,
    pool,
    repeat,
    reshape,
    residual,
)

__all__ = [
    "activation",
    "conv",
    "group",
    "inception",
    "linear",
    "merge",
    "norm",
    "pool",
    "repeat",
    "reshape",
    "residual",
]
