"""The data of a training run: a source read, checked against the spec, split, fitted.

:func:`prepare_data` does everything that can fail before a run starts: it checks that the spec
is a classifier this data can feed (one image or flat input, one output of as many values as
there are classes), reads the source, holds out the validation split and measures the
normalization. :meth:`Data.loader` then gives the batches, already fitted to the spec's input.

Example::

    data = prepare_data(netspec.load("lenet"), "digits", Recipe())
    print("\\n".join(data.describe()))
    # digits: 1,797 images of 1×8×8, 10 classes
    # split: 1,617 training, 180 validation (val_split 0.1, seed 0)
    # inputs: 1×8×8 → 1×28×28: values ÷ 16, resized bilinear, normalized per channel (...)
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..errors import NetspecError
from ..spec import Spec
from .images import Fit, Images, can_adapt
from .recipe import Recipe
from .sources import Source, read_data

#: Images are fitted once, before training, where the fitted ones take at most this many
#: bytes (Fashion-MNIST at 28×28: 188 MB); larger ones are fitted a batch at a time.
PREFIT_BYTES = 512 * 1024**2


@dataclass(frozen=True)
class Data:
    """A source's images split for training and validation, with the fit to the spec."""

    source: Source
    train: Images
    val: Images
    fit: Fit
    #: how the validation images were chosen, in words
    split: str
    #: the training and validation images fitted once, where they take at most PREFIT_BYTES
    fitted: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.source.classes

    def describe(self) -> list[str]:
        """What ``netspec train`` prints once before training: the data, split and transform."""
        notes = [f"read: {note}" for note in self.train.notes]
        return [self.source.describe(), *notes, self.split, f"inputs: {self.fit.describe()}"]

    def plain(self) -> dict[str, Any]:
        """The data as a run's ``run.json`` records it."""
        return {
            "source": self.source.name,
            "classes": list(self.classes),
            "train": len(self.train),
            "val": len(self.val),
            "split": self.split,
            "fit": self.fit.plain(),
            "describe": self.describe(),
        }

    def loader(
        self,
        which: str,
        batch: int,
        *,
        seed: int,
        workers: int = 0,
        rank: int = 0,
        world: int = 1,
        pin: bool = False,
    ) -> tuple[Iterable[tuple[torch.Tensor, torch.Tensor]], DistributedSampler[Any]]:
        """The batches of ``which`` ("train", shuffled by ``seed`` and the epoch set on the
        sampler; or "val", in order) for process ``rank`` of ``world``, ``batch`` images each.

        One sampler serves one process and many alike (torch's ``DistributedSampler``): the
        processes' batches of a step together are the batch one process would take (with
        ``batch`` the global batch ÷ ``world``). The validation images are shared out with none
        counted twice (:class:`Shard`). Images fitted once are indexed a batch at a time in
        this process (:class:`FittedBatches`) unless ``workers`` are asked for.
        """
        images = self.train if which == "train" else self.val
        dataset = Batches(images, self.fit, self.fitted.get(which))
        shuffle = which == "train"
        kind = DistributedSampler if shuffle else Shard
        sampler: DistributedSampler[Any] = kind(
            dataset, num_replicas=world, rank=rank, shuffle=shuffle, seed=seed
        )
        # a training batch of one image would fail in batchnorm: that last one is left out
        drop = shuffle and math.ceil(len(dataset) / world) % batch == 1
        if dataset.fitted is not None and workers == 0:
            fitted = FittedBatches(dataset.fitted, images.y, sampler, batch, drop, pin)
            return fitted, sampler
        loader = DataLoader(
            dataset,
            batch_size=batch,
            sampler=sampler,
            num_workers=workers,
            collate_fn=_as_batch,
            pin_memory=pin,
            drop_last=drop,
            persistent_workers=workers > 0,
        )
        return loader, sampler


class FittedBatches:
    """The batches of images fitted once, in the sampler's order: the epoch's indices made a
    tensor once, then each batch two indexings, as a hand-written loop takes them (a
    DataLoader's per-batch machinery, with no workers, was 2-3 % of a LeNet step on the CPU).
    The same batches as the DataLoader of :meth:`Data.loader` with workers gives."""

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        sampler: DistributedSampler[Any],
        batch: int,
        drop_last: bool,
        pin: bool,
    ) -> None:
        self.x, self.y, self.sampler = x, y, sampler
        self.batch, self.drop_last, self.pin = batch, drop_last, pin

    def __len__(self) -> int:
        count = len(self.sampler)
        return count // self.batch if self.drop_last else -(-count // self.batch)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # a DataLoader draws its workers' base seed from torch's generator as it starts an
        # epoch: so does this, so that dropout draws the same masks with workers or without
        torch.empty((), dtype=torch.int64).random_()
        order = torch.as_tensor(list(self.sampler), dtype=torch.int64)
        for rows in torch.split(order, self.batch)[: len(self)]:
            x, y = self.x[rows], self.y[rows]
            yield (x.pin_memory(), y.pin_memory()) if self.pin else (x, y)


class Shard(DistributedSampler[Any]):
    """Every ``world``-th image from the process's rank, in order: its share of the
    validation images. (``DistributedSampler`` repeats a few images so that every process has
    as many, which a training step needs and a sum of hits must not count.)"""

    def __iter__(self) -> Iterator[Any]:
        return iter(self._share())

    def __len__(self) -> int:
        return len(self._share())

    def _share(self) -> range:
        return range(self.rank, len(self.dataset), self.num_replicas)  # type: ignore[arg-type]


class Batches(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Images fitted to the spec: taken from ``fitted`` (all of them fitted once) where it is
    given, else fitted a batch at a time (``__getitems__``: one indexing and one resize per
    batch, not one per image)."""

    def __init__(self, images: Images, fit: Fit, fitted: torch.Tensor | None = None) -> None:
        self.images = images
        self.fit = fit
        self.fitted = fitted

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.__getitems__([index])
        return x[0], y[0]

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        rows = torch.as_tensor(indices, dtype=torch.int64)
        if self.fitted is not None:
            return self.fitted[rows], self.images.y[rows]
        return self.fit(self.images.x[rows]), self.images.y[rows]


def _as_batch(batch: Any) -> Any:
    """The batch ``Batches.__getitems__`` made, as it is (a top-level function: workers
    receive it pickled)."""
    return batch


def prepare_data(
    spec: Spec, data: str | os.PathLike[str], recipe: Recipe, *, root: str | None = None
) -> Data:
    """Read ``data`` (see :func:`~.sources.read_data`) for training ``spec`` with ``recipe``:
    every problem is raised here, before anything is written."""
    target = _input(spec)
    classes = _outputs(spec)
    size = (target[1], target[2]) if len(target) == 3 else None
    source = read_data(data, channels=target[0], size=size, resize=recipe.resize, root=root)
    _check_classes(spec, classes, len(source.classes), source.name)
    fit = _fit(spec, source, target, recipe)
    if source.val is not None:
        train, val = source.train, source.val
        split = f"split: {len(train):,} training, {len(val):,} validation (the source's own)"
    else:
        train, val = _split(source, recipe)
        split = (
            f"split: {len(train):,} training, {len(val):,} validation "
            f"(val_split {recipe.val_split:g}, seed {recipe.seed})"
        )
    if recipe.normalize:
        fit = fit.normalized(train)
    fitted = {"train": fit.all(train.x, PREFIT_BYTES), "val": fit.all(val.x, PREFIT_BYTES)}
    ready = {which: x for which, x in fitted.items() if x is not None}
    return Data(source, train, val, fit, split, ready)


def _input(spec: Spec) -> tuple[int, ...]:
    """The spec's one input shape, which must be an image (C, H, W) or flat (features,)."""
    shapes = spec.input_shapes
    where = "input" if "input" in spec.document.data else "inputs"
    if len(shapes) != 1:
        raise _at(spec, where, f"netspec train feeds one input; this spec has {len(shapes)}")
    shape = next(iter(shapes.values())).dims
    if len(shape) not in (1, 3):
        raise _at(
            spec,
            where,
            f"netspec train feeds images, [C, H, W], or flat inputs, [features]; "
            f"this spec's input is {list(shape)}",
            "train a network of images or of flat inputs",
        )
    return shape


def _outputs(spec: Spec) -> int:
    """The number of classes the spec's one output scores."""
    shapes = spec.output_shapes
    where = _output_key(spec)
    dims = next(iter(shapes.values())).dims
    if len(shapes) != 1 or len(dims) != 1:
        shown = ", ".join(str(s) for s in shapes.values())
        raise _at(
            spec,
            where,
            f"netspec train trains a classifier, whose one output is (classes,); "
            f"this spec's output is {shown}",
            "end the network with a linear layer of one output a class",
        )
    return dims[0]


def _check_classes(spec: Spec, outputs: int, classes: int, name: str) -> None:
    if outputs == classes:
        return
    hint = (
        f"--set num_classes={classes}"
        if "num_classes" in spec.params
        else f"make the last layer's out {classes}"
    )
    where = _output_key(spec)
    raise _at(
        spec,
        where,
        f"the spec's output scores {outputs} classes; {name} has {classes}",
        hint,
    )


def _fit(spec: Spec, source: Source, target: tuple[int, ...], recipe: Recipe) -> Fit:
    have = source.train.shape
    fit = Fit(have, target, source.train.scale, recipe.resize)
    where = "input" if "input" in spec.document.data else "inputs"
    if fit.flat and math.prod(have) != target[0]:
        raise _at(
            spec,
            where,
            f"the spec's input is flat ({target[0]} values); the images of {source.name} are "
            f"{have[0]}×{have[1]}×{have[2]} = {math.prod(have)} values",
            f"make the input [{math.prod(have)}], or give the spec an image input [C, H, W]",
        )
    if not fit.flat and not can_adapt(have[0], target[0]):
        raise _at(
            spec,
            where,
            f"the spec's input has {target[0]} channels; the images of {source.name} have "
            f"{have[0]}, and only 1 ↔ 3 is converted",
            f"make the input's channels {have[0]}",
        )
    return fit


def _split(source: Source, recipe: Recipe) -> tuple[Images, Images]:
    """The training and validation images: ``val_split`` of them held out, chosen by the seed."""
    count = len(source.train)
    held = max(1, round(count * recipe.val_split))
    if count - held < 1:
        raise NetspecError.plain(
            source.name,
            f"too few images ({count}) to hold out {held} for validation and train on the rest",
            "add images, or lower val_split",
        )
    order = torch.randperm(count, generator=torch.Generator().manual_seed(recipe.seed))
    val, train = order[:held].sort().values, order[held:].sort().values
    return source.train.take(train), source.train.take(val)


def _output_key(spec: Spec) -> tuple[str | int, ...]:
    """Where the spec says what it outputs: its ``output:`` or ``outputs:``, else its last
    layer."""
    data = spec.document.data
    for key in ("output", "outputs"):
        if key in data:
            return (key,)
    layers = data.get("layers")
    return ("layers", len(layers) - 1) if isinstance(layers, list) and layers else ()


def _at(spec: Spec, key: str | tuple[str | int, ...], message: str, hint: str = "") -> NetspecError:
    """An error at the spec's top-level ``key`` (or path; its line, where the file has one)."""
    path = (key,) if isinstance(key, str) else key
    return NetspecError([spec.document.diagnostic(path, message, hint, key=len(path) == 1)])
