"""Training images from an ``.npz`` file (numpy's ``np.savez``): arrays, never pickles.

The file holds ``x`` and ``y``, and may hold ``x_val``, ``y_val`` and ``classes``:

- ``x``: the images, ``N×H×W`` (one channel) or ``N×C×H×W``; ``N×H×W×C`` is recognised when
  its last axis has 1 or 3 channels and its second has neither (and said so). ``uint8`` values
  are divided by 255; other numbers are used as they are (``normalize`` then scales them);
- ``y``: ``N`` whole class numbers, from 0;
- ``x_val`` and ``y_val``: the validation images, in the same form (else ``val_split`` of the
  training images is held out);
- ``classes``: the class names, one a class (else the numbers ``0``, ``1``, ... up to the
  largest label).

Example::

    np.savez("shapes.npz", x=images, y=labels, classes=np.array(["circle", "square"]))
"""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import NetspecError
from ..files import open_data
from .images import Images

KEYS_HINT = (
    "an .npz for netspec train holds x (images: N×H×W or N×C×H×W) and y (N class numbers "
    "from 0), and may hold x_val, y_val and classes (names)"
)


def _error(shown: str, message: str, hint: str = KEYS_HINT) -> NetspecError:
    return NetspecError.plain(shown, message, hint)


def read_npz(path: Path, shown: str) -> tuple[Images, Images | None, tuple[str, ...]]:
    """The training images, validation images (or None) and class names in the ``.npz`` file
    at ``path`` (``shown`` in messages)."""
    error = functools.partial(_error, shown)
    with open_data(path, error, "an .npz file", "name the .npz file") as file:
        if file.read(4) != b"PK\x03\x04":  # numpy would try a pickle next, which it refuses
            raise _error(shown, "is not an .npz file (np.savez writes a zip; this is not one)")
        file.seek(0)
        try:
            with np.load(file, allow_pickle=False) as npz:
                if not isinstance(npz, np.lib.npyio.NpzFile):
                    raise _error(shown, "is a single .npy array, not an .npz file")
                arrays = {key: npz[key] for key in npz.files}
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            raise _error(shown, f"is not an .npz file numpy can read ({e})") from e
        except ValueError as e:  # numpy's own refusals: a pickled (object) array, a bad header
            raise _error(shown, f"cannot be read as arrays: {e}") from e
    for key in ("x", "y"):
        if key not in arrays:
            have = ", ".join(sorted(arrays)) or "nothing"
            raise _error(shown, f'holds no array named "{key}" (it holds {have})')
    extra = ("x_val" in arrays) != ("y_val" in arrays)
    if extra:
        raise _error(shown, "holds one of x_val and y_val without the other")
    x, notes = _images(shown, "x", arrays["x"])
    y = _labels(shown, "y", arrays["y"], len(x))
    val = None
    if "x_val" in arrays:
        x_val, _ = _images(shown, "x_val", arrays["x_val"])
        y_val = _labels(shown, "y_val", arrays["y_val"], len(x_val))
        if x_val.shape[1:] != x.shape[1:]:
            raise _error(shown, f"x_val's images are {_shape(x_val)}, x's {_shape(x)}")
        val = Images(x_val, y_val, _scale(x), notes)
    classes = _classes(shown, arrays.get("classes"), y, val.y if val is not None else None)
    return Images(x, y, _scale(x), notes), val, classes


def _shape(x: torch.Tensor) -> str:
    return "×".join(str(d) for d in x.shape[1:])


def _scale(x: torch.Tensor) -> float:
    return 255.0 if x.dtype == torch.uint8 else 1.0


def _images(
    shown: str, key: str, array: np.ndarray[Any, Any]
) -> tuple[torch.Tensor, tuple[str, ...]]:
    """``array`` as ``N×C×H×W`` (uint8 kept, other numbers as float32), and what was guessed."""
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise _error(shown, f"{key} holds {array.dtype} values; images are numbers")
    if array.shape[:1] == (0,):
        raise _error(shown, f"{key} is empty: the data set has no images", "")
    notes: tuple[str, ...] = ()
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[1] not in (1, 3) and array.shape[3] in (1, 3):
        array = array.transpose(0, 3, 1, 2)
        notes = (f"{key} read as N×H×W×C (channels last)",)
    elif array.ndim != 4:
        raise _error(shown, f"{key} has shape {array.shape}; images are N×H×W or N×C×H×W")
    if array.dtype != np.uint8:
        array = array.astype(np.float32)
        if not np.isfinite(array).all():
            raise _error(shown, f"{key} holds NaN or infinite values", "")
    return torch.from_numpy(np.ascontiguousarray(array)), notes


def _labels(shown: str, key: str, array: np.ndarray[Any, Any], count: int) -> torch.Tensor:
    if array.ndim != 1 or array.shape[0] != count:
        raise _error(
            shown, f"{key} has shape {array.shape}; it needs one label per image ({count:,})"
        )
    whole = np.issubdtype(array.dtype, np.floating) and bool((np.mod(array, 1) == 0).all())
    if not (np.issubdtype(array.dtype, np.integer) or whole):
        raise _error(
            shown, f"{key} holds {array.dtype} values; labels are whole class numbers from 0"
        )
    return torch.from_numpy(array.astype(np.int64))  # whole numbers, however they were stored


def _classes(
    shown: str, names: np.ndarray[Any, Any] | None, y: torch.Tensor, y_val: torch.Tensor | None
) -> tuple[str, ...]:
    """The class names, once every label is checked to name one."""
    labels = y if y_val is None else torch.cat([y, y_val])
    low, high = int(labels.min()), int(labels.max())
    if names is not None:
        if names.ndim != 1:
            raise _error(shown, "classes must be a list of names, one a class")
        count = len(names)
    else:
        count = high + 1
    if low < 0 or high >= count:
        bad = low if low < 0 else high
        known = f"{count} names in classes" if names is not None else "labels from 0"
        raise _error(
            shown,
            f"label {bad} is out of range: classes are numbered 0 to {count - 1} ({known})",
            "labels are class numbers from 0; give classes the name of every class",
        )
    if count < 2:
        raise _error(shown, "holds one class only; training needs at least two", "")
    if names is None:
        return tuple(str(k) for k in range(count))
    return tuple(str(n) for n in names.tolist())
