"""Labelled images in memory, and the explicit transform that fits them to a spec's input.

Every image a data source reads becomes a row of :class:`Images` (``N×C×H×W``, ``uint8`` or
``float32``, with the factor that brings its values to [0, 1]). :class:`Fit` is the one way they
reach the network, applied to each batch, and described in words (:meth:`Fit.describe`)::

    1×8×8 → 1×28×28: values ÷ 16, resized bilinear (antialiased), channels normalized
    (mean 0.31, std 0.37, from the training split)

1. values are divided by the source's scale (255 for 8-bit images, 16 for digits), to [0, 1];
2. channels: the same count is kept; one becomes three by repeating it; three become one by
   their mean (no other change of channel count is guessed);
3. size: resized to the spec's height and width with the recipe's interpolation (bilinear by
   default; bilinear and bicubic antialiased when shrinking, as PIL does);
4. with ``normalize`` (the default), each channel less its mean and divided by its standard
   deviation, both measured on the training split as steps 1 to 3 leave it (on its first
   10,000 images);
5. a spec whose input is flat, ``(features,)``, gets each image flattened, when the image has
   exactly that many values (no resize is guessed for it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .recipe import Resize

#: The normalization is measured on at most this many training images ...
STATS_IMAGES = 10_000
#: ... fitted this many at a time, so that measuring needs little memory.
_CHUNK = 256


@dataclass(frozen=True)
class Images:
    """Labelled images as a source gave them: ``x`` is ``N×C×H×W``, ``y`` class numbers."""

    x: torch.Tensor
    y: torch.Tensor
    #: what ``x`` is divided by to lie in [0, 1]
    scale: float
    #: what was done to the images as they were read (a folder's are resized then), in words
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def take(self, index: torch.Tensor) -> Images:
        """The images at ``index`` (a tensor of row numbers), in that order."""
        return Images(self.x[index], self.y[index], self.scale, self.notes)

    @property
    def shape(self) -> tuple[int, int, int]:
        """One image's ``(C, H, W)``."""
        c, h, w = self.x.shape[1:]
        return int(c), int(h), int(w)


def adapt_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """``x`` (``N×C×H×W``, float) with ``channels`` channels: 1 → 3 by repeating, 3 → 1 by
    the mean; the same count unchanged."""
    have = x.shape[1]
    if have == channels:
        return x
    if have == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1)
    return x.mean(dim=1, keepdim=True)  # 3 → 1 (Fit refuses any other pair)


def resize(x: torch.Tensor, size: tuple[int, int], mode: Resize) -> torch.Tensor:
    """``x`` (``N×C×H×W``, float) resized to ``size`` by ``mode``; bilinear and bicubic are
    antialiased when they shrink, as PIL's resizing is."""
    if tuple(x.shape[-2:]) == size:
        return x
    smooth = mode in (Resize.BILINEAR, Resize.BICUBIC)
    if smooth:
        shrinks = x.shape[-2] > size[0] or x.shape[-1] > size[1]
        out = F.interpolate(x, size=size, mode=mode.value, align_corners=False, antialias=shrinks)
        return out.clamp(0, 1) if mode is Resize.BICUBIC else out  # bicubic overshoots
    return F.interpolate(x, size=size, mode=mode.value)


def can_adapt(have: int, want: int) -> bool:
    """Whether :func:`adapt_channels` turns ``have`` channels into ``want``."""
    return have == want or (have, want) in ((1, 3), (3, 1))


@dataclass(frozen=True)
class Fit:
    """The transform from a source's images to the spec's input (see the module's docstring)."""

    source: tuple[int, int, int]
    target: tuple[int, ...]
    scale: float
    resize: Resize
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    @property
    def flat(self) -> bool:
        return len(self.target) == 1

    @property
    def channels(self) -> int:
        return self.source[0] if self.flat else self.target[0]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """A batch of source images (``N×C×H×W``) as the spec's input (``float32``)."""
        out = x.to(torch.float32)
        if self.scale != 1:
            out = out / self.scale
        out = adapt_channels(out, self.channels)
        if not self.flat:
            out = resize(out, (self.target[1], self.target[2]), self.resize)
        if self.mean:
            mean = torch.tensor(self.mean).view(1, -1, 1, 1)
            std = torch.tensor(self.std).view(1, -1, 1, 1)
            out = (out - mean) / std
        return out.reshape(out.shape[0], -1) if self.flat else out.contiguous()

    def all(self, x: torch.Tensor, most: int) -> torch.Tensor | None:
        """Every image of ``x`` fitted (a chunk at a time: the same values as batch by batch),
        or None where they would take more than ``most`` bytes."""
        if x.shape[0] * math.prod(self.target) * 4 > most:
            return None
        return torch.cat(
            [self(x[start : start + _CHUNK]) for start in range(0, x.shape[0], _CHUNK)]
        )

    def normalized(self, images: Images) -> Fit:
        """This fit, with each channel's mean and standard deviation measured on (the first
        :data:`STATS_IMAGES` of) ``images`` as the spec receives them, resized."""
        plain = Fit(self.source, self.target, self.scale, self.resize)
        total = torch.zeros(self.channels, dtype=torch.float64)
        squares = torch.zeros(self.channels, dtype=torch.float64)
        count = 0
        for start in range(0, min(len(images), STATS_IMAGES), _CHUNK):
            chunk = plain(images.x[start : start + _CHUNK]).to(torch.float64)
            if self.flat:
                chunk = chunk.view(chunk.shape[0], self.channels, -1, 1)
            total += chunk.sum(dim=(0, 2, 3))
            squares += (chunk * chunk).sum(dim=(0, 2, 3))
            count += chunk.shape[0] * chunk.shape[2] * chunk.shape[3]
        mean = total / count
        std = (squares / count - mean * mean).clamp(min=0).sqrt().clamp(min=1e-6)
        return Fit(
            self.source,
            self.target,
            self.scale,
            self.resize,
            tuple(round(float(m), 6) for m in mean),
            tuple(round(float(s), 6) for s in std),
        )

    def describe(self) -> str:
        """The transform in words, as ``netspec train`` prints it once before training."""
        c, h, w = self.source
        into = "×".join(str(d) for d in self.target)
        steps = [f"values ÷ {self.scale:g}" if self.scale != 1 else "values as they are"]
        if c != self.channels:
            how = "repeated" if c == 1 else "averaged"
            steps.append(f"channels {c} → {self.channels} ({how})")
        if self.flat:
            steps.append("flattened")
        elif (h, w) != tuple(self.target[1:]):
            smooth = self.resize in (Resize.BILINEAR, Resize.BICUBIC)
            shrinks = h > self.target[1] or w > self.target[2]
            extra = " (antialiased)" if smooth and shrinks else ""
            steps.append(f"resized {self.resize.value}{extra}")
        if self.mean:
            mean = ", ".join(f"{m:.3g}" for m in self.mean)
            std = ", ".join(f"{s:.3g}" for s in self.std)
            steps.append(f"normalized per channel (mean {mean}; std {std}; the training split's)")
        return f"{c}×{h}×{w} → {into}: " + ", ".join(steps)

    def plain(self) -> dict[str, object]:
        """The transform as plain data (a run's ``run.json``)."""
        return {
            "source": list(self.source),
            "target": list(self.target),
            "scale": self.scale,
            "resize": self.resize.value,
            "mean": list(self.mean),
            "std": list(self.std),
        }
