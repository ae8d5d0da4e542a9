"""Checkpoint files read as data: the weights of a ``.pt``/``.pth`` file, never its code.

A file ``torch.save`` writes is a zip holding a pickle (``data.pkl``) and the raw bytes of each
storage. Unpickling runs whatever code the pickle names, so :func:`read_checkpoint` never
unpickles it the ordinary way (netspec's trust model: a file is data, docs/reliability.md):

1. the file must be a regular file (a folder, a FIFO or a device is refused before it is read)
   in torch's zip format (the legacy format of torch before 1.6 is refused: re-save it);
2. the zip is bounded before it is read (:mod:`netspec.zip_bounds`: at most
   :data:`MAX_MEMBERS` members, each at most 100 times its compressed size, all together at
   most :data:`MAX_RATIO` times the file, a zip bomb refused), and its pickle is at most
   :data:`MAX_PICKLE` bytes and scanned, unrun, for its size and depth
   (:func:`netspec.unpickling.scan`);
3. ``torch.load(weights_only=True, map_location="cpu")`` reads it where torch's own
   restricted unpickler allows everything in it: a plain ``state_dict`` (torchvision's
   ``.pth`` files), a netspec checkpoint, a dict of tensors, numbers and strings;
4. otherwise (a pickled model: Ultralytics' checkpoints, ``torch.save(model)``, a dict with an
   ``argparse.Namespace``) netspec's own unpickler reads it with an inert stand-in for every
   class (:mod:`netspec.unpickling`): nothing named is imported or called, and the weights
   are taken from the stand-in model's parameters and buffers.

Where the weights are, in this order: the file itself, if it is a ``state_dict`` (a dict of
tensors); a netspec checkpoint's ``state_dict``; the model under ``ema``, else ``model``, where
one is a pickled model (Ultralytics' own loader prefers the EMA too); a ``state_dict`` under
``state_dict``, ``model_state_dict``, ``model``, ``ema`` or ``model_ema``; a pickled model.
Tensors keep their dtype (Ultralytics saves float16): :func:`netspec.transfer.load_weights`
converts them to the model's, and says so.

**The netspec checkpoint format** (``netspec train`` saves it; :func:`checkpoint_dict` makes
it)::

    {
        "format": "netspec-checkpoint/1",
        "spec": {"text": <the spec file's text>, "file": <its name as shown>,
                 "scale": <the scale, "" for none>, "params": <the --set values>},
        "state_dict": {<key>: <tensor>, ...},
        ...                # anything else (epoch, optimizer, metrics) is kept, never read here
    }

Everything in it is a dict, a string, a number or a tensor, so ``torch.load(weights_only=True)``
reads it. A later format (``netspec-checkpoint/2``) is refused with a message naming both.

Example::

    checkpoint = read_checkpoint("yolov8n.pt")
    checkpoint.kind, checkpoint.where, len(checkpoint.tensors)   # ULTRALYTICS, 'model', 355
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

import torch

from .errors import Diagnostic, NetspecError, printable
from .files import open_data, shorten
from .unpickling import PickleProblem, StandIn, Unpickler, is_module, module_tensors, scan
from .zip_bounds import (
    ZIP_ERRORS,
    Bounds,
    ZipProblem,
    check_end_record,
    check_members,
    first_line,
    member_name,
    read_member,
)

FORMAT = "netspec-checkpoint/1"
_FORMAT_NAME = "netspec-checkpoint/"

#: members in a checkpoint's zip (one a storage; Ultralytics' yolov8n has 365)
MAX_MEMBERS = 200_000
#: bytes of the zip's central directory (about 100 bytes a member)
MAX_DIRECTORY = 32 * 1024 * 1024
#: the pickle (about 250 bytes a tensor for a pickled model, 60 for a state_dict)
MAX_PICKLE = 256 * 1024 * 1024
#: how much more all members may declare than the file's own size (torch stores them as they
#: are; a checkpoint compressed again by zip inflates about 1.1 times)
MAX_RATIO = 4
#: ... with this much to spare, for small files
_SPARE = 64 * 1024 * 1024

_HINT = "netspec reads checkpoints that torch.save writes (.pt, .pth)"

#: where a container's weights may be, in the order they are looked for
_MODEL_KEYS = ("ema", "model")
_STATE_KEYS = ("state_dict", "model_state_dict", "model", "ema", "model_ema")


class Saved(Protocol):
    """What a netspec checkpoint keeps of a :class:`~netspec.spec.Spec` (named structurally:
    the spec's module may call this one without a circle of imports)."""

    @property
    def document(self) -> Any: ...  # its .text

    @property
    def file(self) -> str: ...

    @property
    def scale(self) -> str: ...

    @property
    def overrides(self) -> dict[str, Any]: ...


class CheckpointError(NetspecError):
    """A checkpoint file that cannot be read (its file, its zip, its pickle, its weights)."""

    def __init__(self, shown: str, message: str, hint: str = _HINT) -> None:
        super().__init__([Diagnostic(shown, message, hint)])


class Kind(enum.Enum):
    """What a checkpoint file holds."""

    STATE_DICT = "state_dict"  # a dict of tensors (torchvision's .pth files)
    NETSPEC = "netspec"  # netspec's format, with the spec it was made from
    ULTRALYTICS = "ultralytics"  # Ultralytics' dict holding its pickled model
    MODULE = "module"  # another pickled model (torch.save(model)), or a dict holding one
    CONTAINER = "container"  # a dict holding a state_dict under a key (training scripts)


@dataclass(frozen=True)
class SavedSpec:
    """The spec a netspec checkpoint was made from: its text, file name, scale and params."""

    text: str
    file: str
    scale: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Checkpoint:
    """The weights of a checkpoint file: ``file`` as messages show it, what it holds, where
    in it the weights were (``""``: the file is them; else the key, ``ema``, ``model``), the
    tensors by ``state_dict`` key, and the spec of a netspec checkpoint."""

    file: str
    kind: Kind
    where: str
    tensors: dict[str, torch.Tensor]
    spec: SavedSpec | None = None

    def describe(self) -> str:
        """What it is, in words: ``an Ultralytics checkpoint (its "model", float16)``."""
        what = {
            Kind.STATE_DICT: "a state_dict",
            Kind.NETSPEC: "a netspec checkpoint",
            Kind.ULTRALYTICS: "an Ultralytics checkpoint",
            Kind.MODULE: "a pickled model",
            Kind.CONTAINER: "a checkpoint",
        }[self.kind]
        dtypes = sorted({str(t.dtype).removeprefix("torch.") for t in self.tensors.values()})
        parts = [f'its "{printable(self.where)}"'] if self.where else []
        parts.append(", ".join(dtypes))
        return f"{what} ({', '.join(parts)})"


def read_checkpoint(path: str | os.PathLike[str], shown: str | None = None) -> Checkpoint:
    """The weights of the checkpoint file at ``path`` (``shown`` in messages; the path by
    default), read as data (see the module's docstring).

    >>> read_checkpoint("missing.pt")
    Traceback (most recent call last):
    ...
    netspec.checkpoints.CheckpointError: missing.pt: error: no such file
    hint: check the path
    """
    shown = shorten(printable(os.fspath(path))) if shown is None else shown
    special = "name the .pt or .pth file"
    error = functools.partial(CheckpointError, shown)
    with open_data(path, error, "a checkpoint file", special) as file:
        obj = _unpickled(file, shown)
    found = _weights(obj, shown)
    for key, tensor in found.tensors.items():
        if tensor.layout != torch.strided or tensor.is_quantized:
            what = "quantized" if tensor.is_quantized else str(tensor.layout).removeprefix("torch.")
            raise CheckpointError(
                shown,
                f"its tensor {printable(key)[:200]} is {what}; netspec loads dense tensors",
                "dequantize it (or make it dense) and save the checkpoint again",
            )
    return found


def checkpoint_dict(
    spec: Saved, state_dict: Mapping[str, torch.Tensor], **extra: Any
) -> dict[str, Any]:
    """A netspec checkpoint of ``spec``'s weights, for ``torch.save``; ``extra`` keys (epoch,
    optimizer) are kept as they are.

    Example::

        torch.save(checkpoint_dict(spec, model.state_dict(), epoch=3), "net.pt")
    """
    saved = {
        "text": spec.document.text,
        "file": spec.file,
        "scale": spec.scale,
        "params": dict(spec.overrides),
    }
    return {**extra, "format": FORMAT, "spec": saved, "state_dict": dict(state_dict)}


# the file and its zip


def _unpickled(file: BinaryIO, shown: str) -> Any:
    """What the checkpoint's pickle holds: by ``torch.load(weights_only=True)`` where it
    allows it, else by netspec's unpickler with stand-ins."""
    head = file.read(4)
    if head != b"PK\x03\x04":
        raise CheckpointError(shown, _not_zip(head))
    size = os.fstat(file.fileno()).st_size
    bounds = Bounds(MAX_MEMBERS, MAX_DIRECTORY, 100, 1024 * 1024, MAX_RATIO * size + _SPARE)
    try:
        check_end_record(file, size, bounds, head_seen=True)
        with zipfile.ZipFile(file) as archive:
            infos = {info.filename: info for info in check_members(archive, bounds)}
            pickled = _pickle_member(infos)
            top = pickled.filename.removesuffix("data.pkl")
            _check_byteorder(archive, infos, top)
            data = read_member(archive, pickled, MAX_PICKLE)
            scan(data)
            with contextlib.suppress(pickle.UnpicklingError):  # a class it does not allow
                file.seek(0)
                return torch.load(file, weights_only=True, map_location="cpu")
            return Unpickler(data, _Storages(archive, infos, top)).load()
    except (ZipProblem, PickleProblem) as e:
        raise CheckpointError(shown, str(e)) from e
    except (*ZIP_ERRORS, pickle.UnpicklingError, TypeError, AttributeError, KeyError) as e:
        # the boundary around zipfile, torch.load and the unpickler reading untrusted bytes
        raise CheckpointError(shown, f"cannot read the checkpoint: {first_line(e)}") from e
    except OSError as e:
        raise CheckpointError(shown, f"cannot read the checkpoint: {e.strerror or e}", "") from e


def _not_zip(head: bytes) -> str:
    if not head:
        return "the file is empty"
    if head[:1] == b"\x80":  # a bare pickle: torch's format before 1.6
        return (
            "is in torch's legacy format (before torch 1.6), which netspec does not read: "
            "load it with torch.load(path, weights_only=True) and save it again with torch.save"
        )
    return "not a torch checkpoint (torch.save writes a zip file; this is not one)"


def _pickle_member(infos: dict[str, zipfile.ZipInfo]) -> zipfile.ZipInfo:
    """The zip's ``<top>/data.pkl``: one top folder, as torch writes it."""
    found = [info for name, info in infos.items() if name.endswith("/data.pkl")]
    tops = {name.split("/", 1)[0] for name in infos}
    if len(found) != 1 or len(tops) != 1 or found[0].filename.count("/") != 1:
        raise ZipProblem("not a torch checkpoint: its zip has no single <folder>/data.pkl")
    return found[0]


def _check_byteorder(archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], top: str) -> None:
    info = infos.get(f"{top}byteorder")
    order = read_member(archive, info, 16).strip() if info else b"little"
    if order != b"little":
        raise ZipProblem(
            f"its tensors are stored {printable(order.decode('latin1'))}-endian; "
            "netspec reads little-endian checkpoints"
        )


class _Storages:
    """Reads a storage's member (``<top>/data/<key>``) for the stand-in unpickler: exactly the
    bytes its values need, once its declared size says it holds them."""

    def __init__(
        self, archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], top: str
    ) -> None:
        self.archive = archive
        self.infos = infos
        self.top = top

    def __call__(self, key: str, dtype: torch.dtype, numel: int) -> torch.Tensor:
        info = self.infos.get(f"{self.top}data/{key}")
        if info is None:
            raise ZipProblem(f"its pickle names storage {member_name(key)}, which the zip lacks")
        nbytes = numel * torch.empty(0, dtype=dtype).element_size()
        if info.file_size != nbytes:
            raise ZipProblem(
                f"member {member_name(info.filename)} is {info.file_size:,} bytes; its "
                f"{numel:,} values of {dtype} take {nbytes:,}"
            )
        data = bytearray(read_member(self.archive, info, nbytes))
        if len(data) != nbytes:
            raise ZipProblem(f"member {member_name(info.filename)} is cut short")
        return torch.frombuffer(data, dtype=dtype) if nbytes else torch.empty(0, dtype=dtype)


# where the weights are


def _weights(obj: Any, shown: str) -> Checkpoint:
    """The checkpoint's tensors, found where the module's docstring says."""
    if _is_state_dict(obj):
        return Checkpoint(shown, Kind.STATE_DICT, "", dict(obj))
    if isinstance(obj, dict):
        form = obj.get("format")
        if isinstance(form, str) and form.startswith(_FORMAT_NAME):
            return _netspec(obj, form, shown)
        for key in _MODEL_KEYS:
            if is_module(obj.get(key)):
                origin = type(obj[key]).origin
                kind = Kind.ULTRALYTICS if origin.startswith("ultralytics.") else Kind.MODULE
                return Checkpoint(shown, kind, key, _module(obj[key], shown))
        for key in _STATE_KEYS:
            if _is_state_dict(obj.get(key)):
                return Checkpoint(shown, Kind.CONTAINER, key, dict(obj[key]))
    if is_module(obj):
        return Checkpoint(shown, Kind.MODULE, "", _module(obj, shown))
    raise CheckpointError(shown, f"holds no weights netspec can find: {_what(obj)}")


def _is_state_dict(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and bool(obj)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def _module(obj: StandIn, shown: str) -> dict[str, torch.Tensor]:
    try:
        tensors = module_tensors(obj)
    except PickleProblem as e:
        raise CheckpointError(shown, str(e)) from e
    if not tensors:
        raise CheckpointError(shown, f"its model ({obj.origin}) holds no tensors")
    return tensors


def _netspec(obj: dict[Any, Any], form: str, shown: str) -> Checkpoint:
    if form != FORMAT:
        raise CheckpointError(
            shown,
            f"is a {printable(form)[:40]} file; this netspec reads {FORMAT}",
            "a later netspec wrote it: upgrade netspec (pip install -U netspec-nn)",
        )
    saved, tensors = obj.get("spec"), obj.get("state_dict")
    fields = {"text": str, "file": str, "scale": str, "params": dict}
    if not (
        isinstance(saved, dict)
        and all(isinstance(saved.get(k), t) for k, t in fields.items())
        and isinstance(tensors, dict)
        and (_is_state_dict(tensors) or not tensors)
    ):
        raise CheckpointError(
            shown,
            f"is a {FORMAT} file without its spec (text, file, scale, params) or state_dict",
        )
    spec = SavedSpec(saved["text"], saved["file"], saved["scale"], dict(saved["params"]))
    return Checkpoint(shown, Kind.NETSPEC, "state_dict", dict(tensors), spec)


def _what(obj: Any) -> str:
    """What a checkpoint holds instead of weights, in a few words."""
    if isinstance(obj, StandIn):
        return f"it holds a {printable(obj.origin)[:80]} object"
    if isinstance(obj, dict):
        keys = [printable(repr(k))[:40] for k in list(obj)[:8]]
        more = ", ..." if len(obj) > 8 else ""
        return f"a dict with keys {', '.join(keys)}{more}" if keys else "an empty dict"
    return f"it holds a {type(obj).__name__}"
