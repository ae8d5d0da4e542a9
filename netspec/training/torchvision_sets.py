"""torchvision's data sets by name, downloaded by torchvision's own code.

``fashion-mnist``, ``mnist`` and ``cifar10`` are read with ``torchvision.datasets`` into
``root``; files already there (in torchvision's layout) are used without any download. Their
training split trains, their test split validates. A download that fails (no network) is an
error that says so, and where to put the files instead.
"""

from __future__ import annotations

import http.client
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import NetspecError
from .images import Images


@dataclass(frozen=True)
class TorchvisionSet:
    """A torchvision data set: its class in ``torchvision.datasets``, its name in words, and
    where its files lie under the root (torchvision's layout)."""

    cls: str
    title: str
    layout: str
    shape: str
    count: str

    def describe(self) -> str:
        return f"{self.title} (torchvision): {self.count} images of {self.shape}, downloaded"

    def site(self, datasets: Any) -> str:
        found = getattr(datasets, self.cls)
        mirrors = getattr(found, "mirrors", None)
        return str(mirrors[0] if mirrors else getattr(found, "url", "its site"))


TORCHVISION_SETS = {
    "fashion-mnist": TorchvisionSet(
        "FashionMNIST",
        "Fashion-MNIST",
        "ROOT/FashionMNIST/raw/train-images-idx3-ubyte.gz and the other three files",
        "28×28",
        "70,000",
    ),
    "mnist": TorchvisionSet(
        "MNIST",
        "MNIST",
        "ROOT/MNIST/raw/train-images-idx3-ubyte.gz and the other three files",
        "28×28",
        "70,000",
    ),
    "cifar10": TorchvisionSet(
        "CIFAR10",
        "CIFAR-10",
        "ROOT/cifar-10-python.tar.gz, or ROOT/cifar-10-batches-py/ unpacked",
        "3×32×32",
        "60,000",
    ),
}

#: What torchvision's downloading raises when it cannot fetch a file (its MNIST family
#: gathers its mirrors' failures in a RuntimeError; CIFAR lets urllib's OSError through)
_FAILURES = (OSError, RuntimeError, http.client.HTTPException)


def read_torchvision(name: str, root: Path) -> tuple[Images, Images, tuple[str, ...]]:
    """The training and test images of the data set ``name`` (in :data:`TORCHVISION_SETS`),
    downloaded into ``root`` if they are not there yet."""
    about = TORCHVISION_SETS[name]
    try:
        datasets = importlib.import_module("torchvision.datasets")  # untyped: through Any
    except ImportError as e:
        raise NetspecError.plain(
            name,
            f"{about.title} comes from torchvision, which is not installed",
            "pip install torchvision, or use an image folder",
        ) from e
    made = _missing_folders(root / about.cls / "raw")  # what MNIST's family makes
    cls = getattr(datasets, about.cls)
    try:
        train = cls(str(root), train=True, download=True)
        test = cls(str(root), train=False, download=True)
    except _FAILURES as e:  # the boundary around torchvision's downloading code
        _remove_empty(made)
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise _download_error(name, about, about.site(datasets), root, reason) from e
    classes = tuple(str(c) for c in train.classes)
    return _images(train), _images(test), classes


def _download_error(
    name: str, about: TorchvisionSet, site: str, root: Path, reason: str
) -> NetspecError:
    return NetspecError.plain(
        name,
        f"could not download {about.title} from its site ({site}): no network? ({reason})",
        f"put the files in {root} (torchvision's layout: "
        f"{about.layout.replace('ROOT', str(root))}), or use an image folder",
    )


def _images(dataset: Any) -> Images:
    """A torchvision data set's ``data`` and ``targets`` as :class:`Images` (uint8)."""
    data = dataset.data
    x = torch.from_numpy(np.ascontiguousarray(data)) if isinstance(data, np.ndarray) else data
    x = x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)  # N×H×W×C (CIFAR) to N×C×H×W
    y = torch.as_tensor(dataset.targets, dtype=torch.int64)
    return Images(x.to(torch.uint8).contiguous(), y, 255.0)


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those above it that do not exist yet, deepest first."""
    missing: list[Path] = []
    for each in (folder, *folder.parents):
        if each.exists():
            break
        missing.append(each)
    return missing


def _remove_empty(made: list[Path]) -> None:
    """Remove the folders a failed download made (deepest first), as long as they are empty:
    a file that was downloaded stays, and so do the folders above it."""
    for folder in made:
        try:
            folder.rmdir()
        except OSError:
            return
