"""Training data: the sources, their errors (each naming its file), the fit, the split."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import netspec
from netspec import NetspecError
from netspec.training.data import prepare_data
from netspec.training.images import Fit, Images
from netspec.training.recipe import Recipe, Resize
from netspec.training.sources import read_data

#: a classifier of 8×8 grey images into ``classes`` (digits' own size: nothing to resize)
TINY = """\
name: tiny
input: ["${channels}", "${size}", "${size}"]
output: ["${num_classes}"]
params: {channels: 1, size: 8, num_classes: 10}
layers:
  - conv: {out: 4, kernel: 3, padding: 1}
  - relu
  - flatten
  - linear: ${num_classes}
"""


def tiny(**params) -> netspec.Spec:
    return netspec.loads(TINY, "tiny.yaml", **params)


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(NetspecError) as e:
        call(*args, **kwargs)
    return str(e.value)


# the shipped set, the split and the fit


def test_digits_need_no_download():
    source = read_data("digits", channels=1, size=(8, 8))
    assert len(source.train) == 1797 and source.val is None
    assert source.classes == tuple(str(k) for k in range(10))
    assert source.train.x.dtype == torch.uint8 and int(source.train.x.max()) == 16


def sklearn_modules() -> list[str]:
    return [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]


def test_digits_are_scikit_learns_without_importing_it(monkeypatch):
    """netspec reads the file scikit-learn's wheel ships rather than import scikit-learn (1.7 s
    of every training process's start): the same images and classes as ``load_digits``. Here,
    scikit-learn's modules are taken out of this process while the digits are read (an import
    would put them back; they are restored after), rather than read in a process of its own,
    which imported torch (3 s of CPU)."""
    for name in sklearn_modules():
        monkeypatch.delitem(sys.modules, name)
    read_data("digits", channels=1, size=(8, 8))
    assert sklearn_modules() == []
    monkeypatch.undo()
    from sklearn.datasets import load_digits

    theirs = load_digits()
    ours = read_data("digits", channels=1, size=(8, 8)).train
    assert torch.equal(ours.x, torch.from_numpy(theirs.images).to(torch.uint8).unsqueeze(1))
    assert torch.equal(ours.y, torch.from_numpy(theirs.target).to(torch.int64))


def test_the_split_is_seeded_disjoint_and_whole(tmp_path):
    # image i is all i: which images went where is read off their pixels
    x = np.repeat(np.arange(200, dtype=np.uint8), 64).reshape(200, 8, 8)
    path = save_npz(tmp_path / "numbered.npz", x=x, y=np.arange(200) % 2)

    def split(seed):
        data = prepare_data(tiny(num_classes=2), path, Recipe(seed=seed, val_split=0.25))
        return data.train.x[:, 0, 0, 0].tolist(), data.val.x[:, 0, 0, 0].tolist()

    train, val = split(1)
    assert len(val) == 50 and sorted(train + val) == list(range(200))
    assert split(1) == (train, val) and split(2)[1] != val


def test_what_train_prints_of_its_data(golden):
    data = prepare_data(netspec.load("lenet"), "digits", Recipe())
    golden("training/digits_lenet.txt", "\n".join(data.describe()) + "\n")


def test_batches_are_fitted_to_the_spec():
    data = prepare_data(tiny(channels=3, size=16), "digits", Recipe(batch=4))
    loader, _ = data.loader("train", 5, seed=0)
    x, y = next(iter(loader))
    assert x.shape == (5, 3, 16, 16) and x.dtype == torch.float32 and y.shape == (5,)
    assert torch.equal(x[:, 0], x[:, 1])  # one channel, repeated
    assert "channels 1 → 3 (repeated)" in data.fit.describe()


def test_normalization_is_measured_as_the_spec_receives_the_images():
    data = prepare_data(tiny(size=28), "digits", Recipe())
    x = data.fit(data.train.x)
    assert abs(float(x.mean())) < 1e-3 and abs(float(x.std()) - 1) < 1e-3


@pytest.mark.parametrize("mode", list(Resize))
def test_fit_resizes_by_its_named_interpolation(mode):
    images = torch.arange(2 * 3 * 4 * 4, dtype=torch.uint8).view(2, 3, 4, 4)
    fit = Fit((3, 4, 4), (1, 8, 8), 255.0, mode)
    out = fit(images)
    assert out.shape == (2, 1, 8, 8)
    grey = images.float().div(255).mean(dim=1, keepdim=True)
    expect = torch.nn.functional.interpolate(grey, size=(8, 8), mode=mode.value)
    if mode is Resize.NEAREST or mode is Resize.AREA:
        assert torch.allclose(out, expect)
    assert mode.value in fit.describe() and "channels 3 → 1 (averaged)" in fit.describe()


def test_flat_input_takes_the_images_flattened():
    flat = netspec.loads(
        "name: mlp\ninput: [64]\noutput: [10]\nlayers:\n  - linear: 32\n  - relu\n  - linear: 10\n"
    )
    data = prepare_data(flat, "digits", Recipe())
    loader, _ = data.loader("val", 8, seed=0)
    x, _ = next(iter(loader))
    assert x.shape == (8, 64)
    assert "flattened" in data.fit.describe()


# a spec the data cannot feed, each error at the spec's line


SPEC_MISMATCHES = {
    "classes": (TINY, {"num_classes": 5}),
    "channels": (TINY, {"channels": 2}),
    "flat_size": ("name: mlp\ninput: [50]\noutput: [10]\nlayers:\n  - linear: 10\n", {}),
    "not_a_classifier": (
        "name: seg\ninput: [1, 8, 8]\nlayers:\n  - conv: {out: 2, kernel: 1}\n",
        {},
    ),
    "rank": ("name: seq\ninput: [1, 64]\nlayers:\n  - flatten\n  - linear: 10\n", {}),
    "no_param": (TINY.replace('"${num_classes}"', "3").replace("${num_classes}", "3"), {}),
}


def test_a_spec_the_data_cannot_feed(golden):
    texts = []
    for name, (text, params) in SPEC_MISMATCHES.items():
        spec = netspec.loads(text, f"{name}.yaml", **params)
        texts.append(f"== {name}\n{error_of(prepare_data, spec, 'digits', Recipe())}\n")
    golden("training/spec_mismatch.txt", "\n".join(texts))


def test_an_unknown_data_name():
    assert error_of(read_data, "digitz", channels=1, size=(8, 8)) == (
        "digitz: error: no such file or folder, and no data set of that name\n"
        'hint: did you mean "digits"? valid data set names: cifar10, digits, fashion-mnist, '
        "mnist; or name an image folder (one folder per class) or an .npz file"
    )


# .npz files


def save_npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def test_an_npz_with_its_own_validation_and_names(tmp_path):
    rng = np.random.default_rng(0)
    path = save_npz(
        tmp_path / "d.npz",
        x=rng.integers(0, 255, (20, 8, 8, 3), dtype=np.uint8),  # channels last
        y=np.arange(20) % 3,
        x_val=rng.integers(0, 255, (6, 8, 8, 3), dtype=np.uint8),
        y_val=np.arange(6) % 3,
        classes=np.array(["a", "b", "c"]),
    )
    data = prepare_data(tiny(channels=3, num_classes=3), path, Recipe())
    assert data.classes == ("a", "b", "c") and (len(data.train), len(data.val)) == (20, 6)
    assert data.train.x.shape == (20, 3, 8, 8) and data.train.scale == 255
    assert any("channels last" in line for line in data.describe())
    assert "the source's own" in data.split


NPZ_MISTAKES = {
    "no_y": {"x": np.zeros((4, 8, 8), np.uint8)},
    "label_out_of_range": {
        "x": np.zeros((3, 8, 8)),
        "y": np.array([0, 1, 4]),
        "classes": np.array(["a", "b", "c"]),
    },
    "negative_label": {"x": np.zeros((3, 8, 8)), "y": np.array([0, -1, 1])},
    "fractional_labels": {"x": np.zeros((2, 8, 8)), "y": np.array([0.0, 1.5])},
    "nan_labels": {"x": np.zeros((2, 8, 8)), "y": np.array([0.0, np.nan])},
    "label_count": {"x": np.zeros((3, 8, 8)), "y": np.array([0, 1])},
    "empty": {"x": np.zeros((0, 8, 8)), "y": np.zeros(0, np.int64)},
    "one_class": {"x": np.zeros((3, 8, 8)), "y": np.zeros(3, np.int64)},
    "not_finite": {"x": np.full((2, 8, 8), np.nan), "y": np.array([0, 1])},
    "rank": {"x": np.zeros((2, 64)), "y": np.array([0, 1])},
    "val_alone": {"x": np.zeros((2, 8, 8)), "y": np.array([0, 1]), "x_val": np.zeros((1, 8, 8))},
    "text": {"x": np.array(["a", "b"]), "y": np.array([0, 1])},
}


def test_each_npz_mistake(tmp_path, golden):
    texts = []
    for name, arrays in NPZ_MISTAKES.items():
        path = save_npz(tmp_path / f"{name}.npz", **arrays)
        text = error_of(read_data, path, channels=1, size=(8, 8)).replace(str(tmp_path), "TMP")
        texts.append(f"== {name}\n{text}\n")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, x=np.array([{"a": 1}], dtype=object), y=np.array([0]))
    texts.append(
        f"== pickled\n{error_of(read_data, str(pickled), channels=1, size=(8, 8))}\n".replace(
            str(tmp_path), "TMP"
        )
    )
    other = tmp_path / "other.npz"
    other.write_bytes(b"not a zip at all")
    texts.append(
        f"== not_npz\n{error_of(read_data, str(other), channels=1, size=(8, 8))}\n".replace(
            str(tmp_path), "TMP"
        )
    )
    golden("training/npz_errors.txt", "\n".join(texts))


# image folders


def write_image(path, mode="L", size=(8, 8), value=0):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 255 - value)).save(path)


def test_an_image_folder(tmp_path):
    for k in range(3):
        write_image(tmp_path / "cat" / f"{k}.png", value=40 * k)
        write_image(tmp_path / "dog" / "deeper" / f"{k}.jpg", mode="RGB", size=(12, 10))
    (tmp_path / "dog" / "notes.txt").write_text("skipped", encoding="utf-8")
    (tmp_path / "dog" / ".hidden.png").write_bytes(b"skipped")
    source = read_data(tmp_path, channels=1, size=(8, 8))
    assert source.classes == ("cat", "dog")
    assert source.train.x.shape == (6, 1, 8, 8) and source.train.y.tolist() == [0, 0, 0, 1, 1, 1]
    assert source.train.x[1].unique().tolist() == [40]  # grey values kept as they were
    assert "3 in colour" in source.train.notes[0]


def folder_mistakes(tmp_path):
    loose = tmp_path / "loose"
    write_image(loose / "a" / "1.png")
    write_image(loose / "b" / "1.png")
    write_image(loose / "stray.png")
    empty_class = tmp_path / "empty_class"
    write_image(empty_class / "a" / "1.png")
    (empty_class / "b").mkdir()
    (empty_class / "b" / "readme.txt").write_text("no image", encoding="utf-8")
    single = tmp_path / "single"
    write_image(single / "only" / "1.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    corrupt = tmp_path / "corrupt"
    write_image(corrupt / "a" / "1.png")
    (corrupt / "b").mkdir()
    (corrupt / "b" / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n but cut short")
    return {
        "loose": loose,
        "empty_class": empty_class,
        "single": single,
        "empty": empty,
        "corrupt": corrupt,
    }


def test_each_folder_mistake(tmp_path, golden):
    texts = []
    for name, path in folder_mistakes(tmp_path).items():
        text = error_of(read_data, path, channels=1, size=(8, 8)).replace(str(tmp_path), "TMP")
        texts.append(f"== {name}\n{text}\n")
    golden("training/folder_errors.txt", "\n".join(texts))


def test_a_corrupt_image_writes_nothing(tmp_path):
    from netspec.training import train

    folder = folder_mistakes(tmp_path)["corrupt"]
    run = tmp_path / "runs" / "x"
    assert "cannot read the image" in error_of(train, tiny(num_classes=2), str(folder), out=run)
    assert not (tmp_path / "runs").exists()


def test_too_few_images_to_split(tmp_path):
    path = save_npz(tmp_path / "two.npz", x=np.zeros((2, 8, 8), np.uint8), y=np.array([0, 1]))
    data = prepare_data(tiny(num_classes=2), path, Recipe(val_split=0.5))
    assert (len(data.train), len(data.val)) == (1, 1)
    assert error_of(prepare_data, tiny(num_classes=2), path, Recipe(val_split=0.9)) == (
        f"{path}: error: too few images (2) to hold out 2 for validation and train on the rest\n"
        "hint: add images, or lower val_split"
    )


# torchvision's data sets, offline


def test_a_download_that_fails_says_what_to_do(tmp_path, monkeypatch):
    from tests.conftest import need_torchvision

    datasets = need_torchvision().datasets
    # port 9 (discard) refuses at once on the loopback: no network is tried, none is needed
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    root = tmp_path / "data"
    text = error_of(read_data, "fashion-mnist", channels=1, size=(28, 28), root=root)
    assert text.startswith(
        "fashion-mnist: error: could not download Fashion-MNIST from its site "
        "(http://127.0.0.1:9/): no network? ("
    )
    assert text.endswith(
        f"hint: put the files in {root} (torchvision's layout: {root}/FashionMNIST/raw/"
        "train-images-idx3-ubyte.gz and the other three files), or use an image folder"
    )
    assert not root.exists()  # the folders torchvision made for nothing are gone


def test_torchvision_sets_as_images(tmp_path):
    from netspec.training.torchvision_sets import _images

    class Fake:  # CIFAR's form: N×H×W×C numpy images, targets a list
        def __init__(self) -> None:
            self.data = np.zeros((4, 32, 32, 3), np.uint8)
            self.targets = [0, 1, 2, 3]

    images = _images(Fake())
    assert isinstance(images, Images) and images.x.shape == (4, 3, 32, 32) and images.scale == 255


def test_whole_labels_stored_as_floats_are_labels(tmp_path):
    path = save_npz(tmp_path / "f.npz", x=np.zeros((4, 8, 8), np.uint8), y=np.array([0.0, 1, 2, 1]))
    source = read_data(path, channels=1, size=(8, 8))
    assert source.train.y.dtype == torch.int64 and source.train.y.tolist() == [0, 1, 2, 1]


def test_images_fitted_once_equal_images_fitted_batch_by_batch():
    from netspec.training.data import Batches

    data = prepare_data(tiny(channels=3, size=20), "digits", Recipe())
    assert data.fit.all(data.train.x, 0) is None  # too big for the budget: batch by batch
    once = Batches(data.train, data.fit, data.fitted["train"])
    each = Batches(data.train, data.fit)
    rows = [5, 1, 700, 3]
    (x_once, y_once), (x_each, y_each) = once.__getitems__(rows), each.__getitems__(rows)
    assert torch.equal(x_once, x_each) and torch.equal(y_once, y_each)
