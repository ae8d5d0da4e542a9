"""Training images from a folder tree: one folder per class, each holding its images.

::

    pets/
      cat/   001.png  002.jpg  ...
      dog/   001.png  more/003.png  ...

The classes are the folders' names in sorted order (as torchvision's ``ImageFolder`` numbers
them); a class folder's images may lie at any depth below it. Files whose names start with a
dot are skipped, and so is any file whose suffix is not an image's (:data:`SUFFIXES`).

Every image is read, made grey or colour, and resized to the spec's input as it is read, so a
corrupt image is found (and named) before training starts, and the images take the memory of
the spec's input size (at most :data:`MAX_BYTES`). Pillow reads them (it comes with
matplotlib, in ``netspec-nn[train]``); without it, ``torchvision.io``.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import NetspecError
from ..files import shorten
from .images import Images, adapt_channels, resize
from .recipe import Resize

#: The file suffixes read as images (lower-cased).
SUFFIXES = frozenset(
    (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
)

#: At most this many bytes of images, at the spec's input size, are held in memory.
MAX_BYTES = 4 * 1024**3

_LAYOUT = "a data folder holds one folder per class, each holding that class's images"

#: PIL's modes of grey images (everything else is read as RGB)
_GREY = frozenset(("1", "L", "LA", "I", "I;16", "F"))


def read_folder(
    root: Path, shown: str, channels: int, size: tuple[int, int] | None, mode: Resize
) -> tuple[Images, None, tuple[str, ...]]:
    """The images under ``root`` (``shown`` in messages), fitted to ``channels`` and ``size``."""
    if size is None:
        raise NetspecError.plain(
            shown,
            "an image folder feeds a spec whose input is an image, [C, H, W]",
            "give the spec an image input, or the data as an .npz file",
        )
    classes, files = _layout(root, shown)
    need = len(files) * channels * size[0] * size[1]
    if need > MAX_BYTES:
        raise NetspecError.plain(
            shown,
            f"its {len(files):,} images at {channels}×{size[0]}×{size[1]} would take "
            f"{need / 1024**3:.1f} GiB of memory; netspec train holds them all, up to "
            f"{MAX_BYTES / 1024**3:.0f} GiB",
            "train on a part of the folder, or on smaller images",
        )
    x = torch.empty((len(files), channels, *size), dtype=torch.uint8)
    colours = 0
    for row, (path, _) in enumerate(files):
        image = _read_image(path)
        colours += image.shape[0] == 3
        fitted = resize(adapt_channels(image[None].float() / 255, channels), size, mode)
        x[row] = (fitted[0] * 255).round().clamp(0, 255).to(torch.uint8)
    y = torch.tensor([label for _, label in files], dtype=torch.int64)
    notes = (
        f"{len(files):,} images ({colours:,} in colour) made {channels}-channel and resized "
        f"{mode.value} to {size[0]}×{size[1]} as they were read",
    )
    return Images(x, y, 255.0, notes), None, classes


def _layout(root: Path, shown: str) -> tuple[tuple[str, ...], list[tuple[Path, int]]]:
    """The class names and every image file with its class number; a layout that is not one
    folder per class is an error saying what is wrong."""
    try:
        with os.scandir(root) as scan:
            entries = sorted((e for e in scan if not e.name.startswith(".")), key=_name)
    except OSError as e:
        raise NetspecError.plain(shown, f"cannot read the folder: {e.strerror or e}") from e
    loose = [e.name for e in entries if not e.is_dir()]
    if loose:
        listed = ", ".join(loose[:3]) + (", ..." if len(loose) > 3 else "")
        raise NetspecError.plain(
            shown,
            f"holds files at its top level ({listed}); {_LAYOUT}",
            f"move each image into the folder of its class: {shorten(shown)}/CLASS/{loose[0]}",
        )
    folders = [e for e in entries if e.is_dir()]
    if not folders:
        raise NetspecError.plain(shown, f"the data set is empty: no class folders; {_LAYOUT}")
    if len(folders) == 1:
        raise NetspecError.plain(
            shown,
            f'holds one class folder ("{folders[0].name}"); training needs at least two',
            _LAYOUT,
        )
    files: list[tuple[Path, int]] = []
    for label, folder in enumerate(folders):
        found = _images_in(Path(folder.path))
        if not found:
            raise NetspecError.plain(
                os.path.join(shown, folder.name),
                "class folder holds no images",
                f"put its images in it, or remove it; images are {', '.join(sorted(SUFFIXES))}",
            )
        files += [(path, label) for path in found]
    return tuple(f.name for f in folders), files


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _images_in(folder: Path) -> list[Path]:
    """The image files at any depth under ``folder``, in sorted order, hidden ones skipped."""
    out: list[Path] = []
    for base, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [
            Path(base, n)
            for n in sorted(names)
            if not n.startswith(".") and Path(n).suffix.lower() in SUFFIXES
        ]
    return out


def _read_image(path: Path) -> torch.Tensor:
    """One image as ``C×H×W`` uint8 (one channel for a grey image, else three)."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        return _read_with_torchvision(path)
    try:
        with Image.open(path) as image:
            image.load()
            grey = image.mode in _GREY
            array = np.asarray(image.convert("L" if grey else "RGB"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        # Pillow's ways of saying a file is no image it can decode (SyntaxError: a bad header)
        raise _corrupt(path, e) from e
    tensor = torch.from_numpy(array.copy())
    return tensor[None] if tensor.ndim == 2 else tensor.permute(2, 0, 1).contiguous()


def _read_with_torchvision(path: Path) -> torch.Tensor:
    try:
        io: Any = importlib.import_module("torchvision.io")
    except ImportError as e:
        raise NetspecError.plain(
            str(path), "reading images needs Pillow or torchvision", "pip install pillow"
        ) from e
    try:
        image: torch.Tensor = io.decode_image(str(path), mode=io.ImageReadMode.UNCHANGED)
        if image.shape[0] not in (1, 3):
            image = io.decode_image(str(path), mode=io.ImageReadMode.RGB)
        return image
    except (RuntimeError, OSError, ValueError) as e:
        raise _corrupt(path, e) from e


def _corrupt(path: Path, e: BaseException) -> NetspecError:
    reason = str(e).splitlines()[0] if str(e) else type(e).__name__
    return NetspecError.plain(
        shorten(str(path)),
        f"cannot read the image: {reason}",
        "replace or remove the file (a half-copied or mis-named file)",
    )
