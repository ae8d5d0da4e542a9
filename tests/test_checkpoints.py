"""Checkpoint files read as data (netspec/checkpoints.py, netspec/unpickling.py).

Every kind of checkpoint is made here by torch itself (torch.save of a state_dict, of a pickled
model, of a dict holding either); the hostile ones are made by pickling objects whose
``__reduce__`` calls code, or written byte by byte. Each hostile file is read with a canary
file that its code would write: the canary must never appear, and the error must name the file.
Ultralytics' own checkpoints are read in tests/test_transfer.py.
"""

from __future__ import annotations

import argparse
import io
import os
import pickle
import subprocess
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import netspec
from netspec import checkpoints, unpickling
from netspec.checkpoints import FORMAT, CheckpointError, Kind, checkpoint_dict, read_checkpoint


def small() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3))
    model[1].running_mean.uniform_()  # not the default: the values are compared
    model.register_buffer("scratch", torch.ones(2), persistent=False)
    return model


def saved(tmp_path: Path, obj: Any, name: str = "w.pt") -> Path:
    path = tmp_path / name
    torch.save(obj, path)
    return path


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


def error(path: Path | str, shown: str | None = None) -> str:
    with pytest.raises(CheckpointError) as e:
        read_checkpoint(path, shown)
    return str(e.value)


# what is read, and from where


def test_a_state_dict_is_read_as_torch_saved_it(tmp_path):
    model = small()
    read = read_checkpoint(saved(tmp_path, model.state_dict()))
    assert (read.kind, read.where, read.spec) == (Kind.STATE_DICT, "", None)
    assert same(read.tensors, model.state_dict())
    assert read.describe() == "a state_dict (float32, int64)"


def test_a_netspec_checkpoint_keeps_its_spec(tmp_path):
    spec = netspec.load("lenet", num_classes=5)
    model = spec.build(seed=0)
    path = saved(tmp_path, checkpoint_dict(spec, model.state_dict(), epoch=3))
    assert torch.load(path, weights_only=True)["epoch"] == 3  # torch's restricted reader reads it
    read = read_checkpoint(path)
    assert (read.kind, read.where) == (Kind.NETSPEC, "state_dict")
    assert read.spec == checkpoints.SavedSpec(spec.document.text, spec.file, "", {"num_classes": 5})
    assert same(read.tensors, model.state_dict())


def test_a_later_netspec_format_is_refused_by_name(tmp_path):
    path = saved(tmp_path, {"format": "netspec-checkpoint/2", "state_dict": {}})
    assert error(path, "new.pt") == (
        f"new.pt: error: is a netspec-checkpoint/2 file; this netspec reads {FORMAT}\n"
        "hint: a later netspec wrote it: upgrade netspec (pip install -U netspec-nn)"
    )


def test_a_training_script_checkpoint_with_objects_torch_refuses(tmp_path):
    # torchvision's reference scripts save args (an argparse.Namespace) beside the weights:
    # weights_only refuses the Namespace, and netspec's unpickler reads it as a stand-in
    model = small()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    obj = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}
    obj["args"] = argparse.Namespace(lr=0.1)
    path = saved(tmp_path, obj)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    read = read_checkpoint(path)
    assert (read.kind, read.where) == (Kind.CONTAINER, "model")
    assert same(read.tensors, model.state_dict())


def test_a_pickled_half_model_gives_its_state_dict(tmp_path):
    model = small().half()
    read = read_checkpoint(saved(tmp_path, model))
    assert (read.kind, read.where) == (Kind.MODULE, "")
    assert same(read.tensors, model.state_dict())  # the non-persistent buffer left out
    assert read.tensors["0.weight"].dtype == torch.float16
    assert read.describe() == "a pickled model (float16, int64)"


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's, on quantized and sparse tensors
def test_a_quantized_or_sparse_tensor_is_named(tmp_path):
    quantized = torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.qint8)
    path = saved(tmp_path, {"a.weight": torch.ones(2), "b.weight": quantized})
    assert error(path, "q.pt") == (
        "q.pt: error: its tensor b.weight is quantized; netspec loads dense tensors\n"
        "hint: dequantize it (or make it dense) and save the checkpoint again"
    )
    path = saved(tmp_path, {"a.weight": torch.eye(2).to_sparse()})
    assert error(path, "s.pt").startswith(
        "s.pt: error: its tensor a.weight is sparse_coo; netspec loads dense tensors\n"
    )


def test_a_dict_holding_a_model_prefers_its_ema(tmp_path):
    model, ema = small(), small().half()
    read = read_checkpoint(saved(tmp_path, {"model": model, "ema": ema, "epoch": 1}))
    assert (read.kind, read.where) == (Kind.MODULE, "ema")
    assert same(read.tensors, ema.state_dict())
    read = read_checkpoint(saved(tmp_path, {"model": model, "ema": None}))
    assert read.where == "model" and same(read.tensors, model.state_dict())


# nothing in a file runs


CANARY_MODULE = """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def __setstate__(self, state):
        open({canary!r}, "w").close()
        super().__setstate__(state)
"""


def test_the_classes_of_a_pickled_model_are_never_imported_or_called(tmp_path, monkeypatch):
    canary = tmp_path / "canary"
    (tmp_path / "canary_net.py").write_text(CANARY_MODULE.format(canary=str(canary)))
    monkeypatch.syspath_prepend(str(tmp_path))
    import canary_net  # type: ignore[import-not-found]

    model = canary_net.Net()
    path = saved(tmp_path, {"model": model})
    torch.load(path, weights_only=False)  # the ordinary unpickler calls its __setstate__
    assert canary.exists()
    canary.unlink()
    # importing the module, as unpickling by name would, now writes the canary too
    (tmp_path / "canary_net.py").write_text(f"open({str(canary)!r}, 'w').close()\n")
    monkeypatch.delitem(sys.modules, "canary_net")
    read = read_checkpoint(path)
    assert list(read.tensors) == ["conv.weight", "conv.bias"]
    assert torch.equal(read.tensors["conv.weight"], model.conv.weight)
    assert not canary.exists() and "canary_net" not in sys.modules


class Call:
    """Pickles as a call of ``func(*args)``: what a hostile pickle's REDUCE does."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.func, self.args


def calls(canary: Path) -> dict[str, Call]:
    touch = f"open({str(canary)!r}, 'w').close()"
    return {
        "os.system": Call(os.system, f"touch {canary}"),
        "exec": Call(exec, touch),
        "subprocess": Call(subprocess.check_call, ["touch", str(canary)]),
        "eval in a dict": Call(eval, touch),
    }


@pytest.mark.parametrize("name", ["os.system", "exec", "subprocess", "eval in a dict"])
def test_a_pickle_that_calls_code_runs_nothing(tmp_path, name):
    canary = tmp_path / "canary"
    call = calls(canary)[name]
    obj: Any = {"weight": torch.ones(2), "x": call} if name.endswith("dict") else call
    path = saved(tmp_path, obj)
    func = f"{call.func.__module__}.{call.func.__qualname__}"
    what = (
        "a dict with keys 'weight', 'x'" if name.endswith("dict") else f"it holds a {func} object"
    )
    assert error(path, "evil.pt") == (
        f"evil.pt: error: holds no weights netspec can find: {what}\n"
        "hint: netspec reads checkpoints that torch.save writes (.pt, .pth)"
    )
    assert not canary.exists()


def test_a_rebuild_function_cannot_be_given_a_state(tmp_path):
    # BUILD on a function would set its attributes (its __defaults__) for the whole process
    data = b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n}X\x0c\x00\x00\x00__defaults__)sb."
    path = torch_zip(tmp_path / "w.pt", data)
    assert error(path, "w.pt").startswith(
        "w.pt: error: its pickle sets the state of _rebuild_tensor_v2\n"
    )


# files that are no checkpoint, bounds


def torch_zip(path: Path, data: bytes, storages: dict[str, bytes] | None = None) -> Path:
    """A zip as torch.save lays it out, around the pickle ``data``."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", data)
        z.writestr("archive/byteorder", "little")
        for key, raw in (storages or {}).items():
            z.writestr(f"archive/data/{key}", raw)
        z.writestr("archive/version", "3\n")
    return path


def test_files_that_are_no_checkpoint(tmp_path):
    (tmp_path / "folder.pt").mkdir()
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "text.pt").write_text("weights: []\n")
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(1)}, legacy, _use_new_zipfile_serialization=False)
    os.mkfifo(tmp_path / "fifo.pt")
    (tmp_path / "zero.pt").symlink_to("/dev/zero")
    hint = "hint: netspec reads checkpoints that torch.save writes (.pt, .pth)"
    expected = {
        "folder.pt": "is a folder, not a checkpoint file\nhint: name the .pt or .pth file",
        "fifo.pt": "is a named pipe (FIFO), not a checkpoint file\nhint: name the .pt or .pth file",
        "zero.pt": "is a device (character special file), not a checkpoint file\n"
        "hint: name the .pt or .pth file",
        "missing.pt": "no such file\nhint: check the path",
        "empty.pt": f"the file is empty\n{hint}",
        "text.pt": "not a torch checkpoint (torch.save writes a zip file; this is not one)\n"
        + hint,
        "legacy.pt": "is in torch's legacy format (before torch 1.6), which netspec does not "
        "read: load it with torch.load(path, weights_only=True) and save it again with "
        f"torch.save\n{hint}",
    }
    for name, message in expected.items():
        assert error(tmp_path / name, name) == f"{name}: error: {message}", name


def test_a_cut_short_checkpoint(tmp_path):
    path = saved(tmp_path, small().state_dict())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert error(path, "cut.pt") == (
        "cut.pt: error: not a zip file (no end record: cut short?)\n"
        "hint: netspec reads checkpoints that torch.save writes (.pt, .pth)"
    )


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    path = tmp_path / "bomb.pt"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z,
        z.open("archive/data.pkl", "w") as f,
    ):
        for _ in range(64):
            f.write(bytes(2**20))
    message = error(path, "bomb.pt")
    assert message.startswith("bomb.pt: error: member archive/data.pkl says it is 67,108,864 ")
    assert "more than 100 times (a zip bomb?)" in message


def test_too_many_members(tmp_path, monkeypatch):
    path = saved(tmp_path, small().state_dict())
    monkeypatch.setattr(checkpoints, "MAX_MEMBERS", 5)
    count = len(zipfile.ZipFile(path).infolist())
    assert error(path, "w.pt").startswith(
        f"w.pt: error: the zip has {count} members; the limit is 5\n"
    )


def test_a_pickle_of_too_many_opcodes_or_too_deep(tmp_path, monkeypatch):
    path = saved(tmp_path, small().state_dict())
    monkeypatch.setattr(unpickling, "MAX_OPCODES", 50)
    assert error(path, "w.pt").startswith("w.pt: error: its pickle has more than 50 opcodes\n")
    monkeypatch.undo()
    deep = torch_zip(tmp_path / "deep.pt", b"\x80\x02" + b"(" * 501 + b"t" * 501 + b".")
    assert error(deep, "deep.pt").startswith(
        "deep.pt: error: its pickle nests more than 500 deep\n"
    )
    ext = torch_zip(tmp_path / "ext.pt", b"\x80\x02\x82\x01.")
    assert error(ext, "ext.pt").startswith(
        "ext.pt: error: its pickle uses the copyreg extension registry (opcode EXT1 at byte 2), "
        "which torch never writes\n"
    )


class FakeStorage:
    """Pickled by :class:`StoragePickler` as torch's persistent id of a float storage."""

    def __init__(self, key: str, numel: int) -> None:
        self.key, self.numel = key, numel


class StoragePickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, FakeStorage):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
        return None


def crafted(path: Path, storage: FakeStorage, size: tuple[int, ...], raw: bytes) -> Path:
    """A checkpoint whose tensor views ``storage`` with ``size``, next to an object torch's
    restricted reader refuses (so that netspec's own reader reads it)."""
    from torch._utils import _rebuild_tensor_v2

    strides = tuple(int(torch.tensor(size[i + 1 :]).prod()) for i in range(len(size)))
    tensor = Call(_rebuild_tensor_v2, storage, 0, size, strides, False, OrderedDict())
    buffer = io.BytesIO()
    obj = {"args": argparse.Namespace(), "model": {"w": tensor}}  # torch refuses the first
    StoragePickler(buffer, protocol=2).dump(obj)
    return torch_zip(path, buffer.getvalue(), {storage.key: raw})


def test_tensors_are_read_by_netspecs_own_rebuilder(tmp_path):
    path = crafted(
        tmp_path / "ok.pt", FakeStorage("0", 4), (2, 2), torch.arange(4.0).numpy().tobytes()
    )
    read = read_checkpoint(path)
    assert read.where == "model" and torch.equal(read.tensors["w"], torch.arange(4.0).view(2, 2))


def test_a_tensor_outside_its_storage_or_a_storage_cut_short(tmp_path):
    raw = bytes(16)
    path = crafted(tmp_path / "view.pt", FakeStorage("0", 4), (3, 2), raw)
    assert error(path, "view.pt").startswith(
        "view.pt: error: its pickle views values up to 5 of a storage of 4\n"
    )
    path = crafted(tmp_path / "short.pt", FakeStorage("0", 8), (2, 2), raw)
    assert error(path, "short.pt").startswith(
        "short.pt: error: member archive/data/0 is 16 bytes; its 8 values of torch.float32 "
        "take 32\n"
    )
    path = crafted(tmp_path / "lacks.pt", FakeStorage("7", 4), (2, 2), raw)
    path = torch_zip(path, zipfile.ZipFile(path).read("archive/data.pkl"))  # no storage at all
    assert error(path, "lacks.pt").startswith(
        "lacks.pt: error: its pickle names storage 7, which the zip lacks\n"
    )


def test_big_endian_tensors_are_refused(tmp_path):
    path = saved(tmp_path, small().state_dict())
    entries = [(i, zipfile.ZipFile(path).read(i)) for i in zipfile.ZipFile(path).infolist()]
    with zipfile.ZipFile(path, "w") as z:
        for info, data in entries:
            z.writestr(info.filename, b"big" if info.filename.endswith("/byteorder") else data)
    assert error(path, "w.pt").startswith(
        "w.pt: error: its tensors are stored big-endian; netspec reads little-endian checkpoints\n"
    )
