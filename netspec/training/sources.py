"""Where training images come from: a shipped data set, an ``.npz`` file, an image folder, or
a torchvision data set by name, each read whole into memory as :class:`~.images.Images`.

``read_data(text)`` takes what ``netspec train --data`` names:

- ``digits``: scikit-learn's handwritten digits (1,797 images of 8×8, 10 classes), inside the
  scikit-learn wheel: no download (``pip install 'netspec-nn[train]'``);
- ``fashion-mnist``, ``mnist``, ``cifar10``: torchvision's data sets, downloaded by
  torchvision's own code into ``root`` (their test split is the validation data);
- a ``.npz`` file holding ``x`` (``N×H×W`` or ``N×C×H×W``; ``N×H×W×C`` with 1 or 3 channels
  last is recognised and said) and ``y`` (``N`` whole class numbers from 0), and optionally
  ``x_val`` and ``y_val`` (the validation data) and ``classes`` (the class names);
- a folder holding one folder per class, each holding its images (PNG, JPEG, ...: what PIL
  reads), at any depth below it; hidden files are skipped.

An existing path is read as a path; any other word must name a data set. Every problem (a
folder laid out otherwise, a corrupt image, an empty data set, a label out of range) is a
:class:`~netspec.NetspecError` naming the file, raised before anything is written.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import NetspecError, did_you_mean
from .folders import read_folder
from .images import Images
from .recipe import Resize
from .torchvision_sets import TORCHVISION_SETS, read_torchvision

#: The data sets known by name, and what each is.
DATA_SETS = {
    "digits": "scikit-learn's handwritten digits: 1,797 images of 8×8, 10 classes, no download",
    **{name: about.describe() for name, about in TORCHVISION_SETS.items()},
}


@dataclass(frozen=True)
class Source:
    """A data source, read: its training images, its own validation images if it has them,
    and its class names."""

    name: str
    train: Images
    val: Images | None
    classes: tuple[str, ...]

    def describe(self) -> str:
        """``digits: 1,797 images of 1×8×8, 10 classes``."""
        c, h, w = self.train.shape
        count = len(self.train) + (len(self.val) if self.val is not None else 0)
        return f"{self.name}: {count:,} images of {c}×{h}×{w}, {len(self.classes)} classes"


def default_root() -> Path:
    """Where torchvision's data sets are kept: ``$XDG_CACHE_HOME/netspec/datasets``
    (``~/.cache/netspec/datasets`` by default)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "netspec" / "datasets"


def read_data(
    data: str | os.PathLike[str],
    *,
    channels: int,
    size: tuple[int, int] | None,
    resize: Resize = Resize.BILINEAR,
    root: str | os.PathLike[str] | None = None,
) -> Source:
    """Read the data source ``data`` names (see the module's docstring).

    ``channels`` and ``size`` are the spec's: an image folder's images, of any size, are fitted
    to them as they are read (``size=None``: a flat input, which a folder cannot feed).

    Example::

        source = read_data("digits", channels=1, size=(28, 28))
        len(source.train), source.classes[:3]     # 1797, ('0', '1', '2')
    """
    text = os.fspath(data)
    path = Path(text)
    if path.is_dir():
        return Source(text, *read_folder(path, text, channels, size, resize))
    if path.exists() or text.endswith(".npz"):
        from .arrays import read_npz

        return Source(text, *read_npz(path, text))
    if text == "digits":
        return _digits()
    if text in TORCHVISION_SETS:
        where = Path(root) if root is not None else default_root()
        return Source(text, *read_torchvision(text, where))
    raise NetspecError.plain(
        text,
        "no such file or folder, and no data set of that name",
        did_you_mean(text, DATA_SETS, "data set names")
        + "; or name an image folder (one folder per class) or an .npz file",
    )


def _digits() -> Source:
    """scikit-learn's digits, read from the file its wheel ships (``datasets/data/digits.csv.gz``:
    a row of 64 pixel values and the class per image) without importing scikit-learn, which
    takes longer (1.7 s) than the reading; through ``load_digits`` where the file is elsewhere."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise NetspecError.plain(
            "digits",
            "the digits data set comes with scikit-learn, which is not installed",
            "pip install 'netspec-nn[train]'",
        )
    shipped = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if shipped.is_file():
        text = gzip.decompress(shipped.read_bytes()).decode("ascii")
        rows = torch.tensor([int(v) for v in text.replace(",", " ").split()], dtype=torch.int64)
        rows = rows.view(-1, 65)
        x, y = rows[:, :64].to(torch.uint8).view(-1, 1, 8, 8), rows[:, 64].clone()
    else:
        bunch = importlib.import_module("sklearn.datasets").load_digits()  # untyped: Any
        x = torch.from_numpy(bunch.images).round().to(torch.uint8).unsqueeze(1)  # values 0 to 16
        y = torch.from_numpy(bunch.target).to(torch.int64)
    classes = tuple(str(c) for c in range(10))
    return Source("digits", Images(x, y, 16.0), None, classes)
