"""The fixed tensors of windowed attention (Swin), as ``buffer`` inits: which shape each needs
(checked statically, without torch) and its values (computed as torchvision computes them).

- ``relative_position_index``: for each pair of the ``w²`` positions of a ``w × w`` window,
  the row of the relative position bias table (``(2w-1)²`` rows) that holds their offset; shape
  ``[w⁴]``, values from 0 to ``(2w-1)² - 1``, int64 (torchvision's
  ``define_relative_position_index``).
- ``shifted_window_mask``: for a map of ``size: [H, W]`` cut into windows after a roll by
  ``-shift``, ``-100`` where two positions of one window came from different regions of the
  map (they must not attend to each other), else 0; shape ``[windows, 1, w², w²]``
  (torchvision's ``attn_mask`` in ``shifted_window_attention``, not in its ``state_dict``).

Example::

    - buffer: {shape: [2401], init: relative_position_index, window: 7}
    - buffer: {shape: [64, 1, 49, 49], init: shifted_window_mask, window: 7, shift: 3,
               size: [56, 56], persistent: false}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import Problem
from .ir import Shape

if TYPE_CHECKING:
    import torch

INITS = ("relative_position_index", "shifted_window_mask")


def window_shape(init: str, opts: Any) -> Shape:
    """The shape a buffer of this ``init`` must have, or the :class:`Problem` that says which
    option is missing or wrong."""
    window = opts.window
    if window is None:
        raise Problem(f"init: {init} needs the window's size", "add window: 7 (Swin's)")
    area = window * window
    if init == "relative_position_index":
        return Shape((area * area,))
    size = opts.size
    if size is None or len(size) != 2:
        raise Problem(
            "init: shifted_window_mask needs the map's height and width (after padding)",
            "add size: [56, 56] (Swin-T's first stage at 224)",
        )
    if any(s % window for s in size):
        raise Problem(
            f"init: shifted_window_mask cuts a {size[0]}×{size[1]} map into {window}×{window} "
            "windows, but it does not divide into them",
            f"pad the map to a multiple of {window} first, and give that size",
        )
    if not 0 < opts.shift < window:
        raise Problem(
            f"init: shifted_window_mask has shift {opts.shift}, which is not between 0 and "
            f"the window's {window}",
            f"Swin shifts by half a window: shift: {window // 2}",
        )
    windows = (size[0] // window) * (size[1] // window)
    return Shape((windows, 1, area, area))


def check(init: str, opts: Any, shape: Shape) -> None:
    """A buffer of this ``init`` whose ``shape`` is not the one its values have is an error
    that gives the shape to write."""
    need = window_shape(init, opts)
    if shape != need:
        written = "[" + ", ".join(str(d) for d in need.dims) + "]"
        raise Problem(
            f"init: {init} with window {opts.window} makes a tensor of shape {need}, but the "
            f"buffer's shape is {shape}",
            f"write shape: {written}",
        )


def values(init: str, opts: Any) -> torch.Tensor:
    """The buffer's values, as torchvision computes them."""
    if init == "relative_position_index":
        return relative_position_index(opts.window)
    return shifted_window_mask(opts.window, opts.shift, tuple(opts.size))


def relative_position_index(window: int) -> torch.Tensor:
    """torchvision's ``relative_position_index`` of a square window, ``(w⁴,)`` int64."""
    import torch

    coords = torch.stack(
        torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    ).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
    return (relative[:, :, 0] * (2 * window - 1) + relative[:, :, 1]).flatten()


def shifted_window_mask(window: int, shift: int, size: tuple[int, int]) -> torch.Tensor:
    """torchvision's attention mask of shifted windows, ``(windows, 1, w², w²)``."""
    import torch

    height, width = size
    regions = torch.zeros(height, width)
    cuts = ((0, -window), (-window, -shift), (-shift, None))
    for i, (top, bottom) in enumerate(cuts):
        for j, (left, right) in enumerate(cuts):
            regions[top:bottom, left:right] = 3 * i + j
    regions = regions.view(height // window, window, width // window, window)
    regions = regions.permute(0, 2, 1, 3).reshape(-1, window * window)
    differ = regions.unsqueeze(1) - regions.unsqueeze(2)
    return torch.where(differ != 0, -100.0, 0.0).unsqueeze(1)
