"""Axes and what they mean: the checks and rules the layout operations and the kinds that need
an image share.

Axes are numbered as a spec writes them, without the batch axis: 0 is the first axis after
the batch, and -1 the last. A layer that reorders axes carries the tensor's :class:`Layout`
along (where its channels or features went), so that a conv after ``permute: [1, 2, 0]`` says
that its input is channels last, and a ``linear`` after it applies to the channels.

Example::

    axis(-1, Shape((196, 768)), "select", "axis")      # 1
    moved(Shape((3, 8, 8)), (1, 2, 0))                 # Layout.CHANNELS_LAST
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import Problem
from .ir import Layout, Shape


def axis(value: int, shape: Shape, what: str, option: str = "axis") -> int:
    """``value`` as an axis of ``shape`` from 0 (negative counts from the end), or the error
    that names the axes there are."""
    rank = shape.rank
    if not -rank <= value < rank:
        span = f"0 to {rank - 1}, or -{rank} to -1" if rank else "none"
        raise Problem(
            f"{what} {option}={value} is not an axis of {shape.what()}",
            f"its axes are {span} (0 is the first axis after the batch)",
        )
    return value + rank if value < 0 else value


def moved(shape: Shape, order: Sequence[int | None]) -> Layout:
    """The layout of the tensor whose axis ``i`` is ``shape``'s axis ``order[i]`` (None: a
    new axis): channels first or last where its channels went first or last, else a tensor."""
    layout = shape.layout
    if layout is Layout.FLAT:
        return Layout.FLAT
    features = 0 if layout is Layout.CHANNELS_FIRST else shape.rank - 1
    if features not in order:
        return Layout.TENSOR
    at = list(order).index(features)
    if layout is Layout.TENSOR and at == len(order) - 1:
        return Layout.TENSOR
    if at == 0 and len(order) > 1:
        return Layout.CHANNELS_FIRST
    return Layout.CHANNELS_LAST if at == len(order) - 1 else Layout.TENSOR


def reshaped(shape: Shape, dims: tuple[int, ...]) -> Layout:
    """The layout a reshape to ``dims`` gives, unless its ``layout:`` says: flat for one axis;
    the input's where the channels keep their axis and size (first, or last at the same rank);
    a tensor with its features last where the last size is kept; else the rank's default."""
    layout = shape.layout
    if len(dims) == 1:
        return Layout.FLAT
    if layout is Layout.CHANNELS_FIRST and dims[0] == shape.dims[0]:
        return Layout.CHANNELS_FIRST
    if layout is not Layout.CHANNELS_FIRST and dims[-1] == shape.dims[-1]:
        return layout if len(dims) == shape.rank else Layout.TENSOR
    return Layout.of(len(dims))


def need_map(shape: Shape, what: str, hint: str = "") -> None:
    """Raise a :class:`Problem` unless ``shape`` is an image ``(channels, height, width)``:
    a channels-last map or a tensor with its features last gets the permute that fixes it."""
    if shape.is_map:
        return
    if shape.rank == 3:  # channels last, or a tensor with its features last
        raise Problem(
            f"{what} needs (channels, height, width) input, got {shape.what()}",
            'its channels are last: add "- permute: [2, 0, 1]" before this layer to bring '
            "them first",
        )
    if not hint and shape.is_tokens:
        hint = (
            "a token sequence (tokens, features) is no feature map: on tokens, use linear, "
            "layernorm and attention"
        )
    raise Problem(f"{what} needs (channels, height, width) input, got {shape}", hint)
