"""A torch pickle read as data: every class it names is an inert stand-in, and nothing is called
but netspec's own tensor rebuilders.

A checkpoint that pickles a whole model (Ultralytics' ``{"model": DetectionModel, ...}``, a
``torch.save(model)``) names its classes, and unpickling it the ordinary way imports their
modules and runs their code; ``torch.load(weights_only=True)`` refuses it. Here, instead:

- :func:`scan` walks the pickle's opcodes first (:mod:`pickletools`, which runs nothing):
  at most :data:`MAX_OPCODES` of them, marks nested at most :data:`MAX_DEPTH` deep, and no
  opcode torch never writes that reaches outside the pickle (the copyreg extension registry,
  text persistent ids);
- :class:`Unpickler` answers every class or function the pickle names with a :class:`StandIn`
  class that records what the pickle gives it (its arguments, its ``__setstate__`` state) and
  does nothing else, never importing the module named. Only these are real: ``OrderedDict``,
  ``set`` and ``frozenset``, bytes as protocol 2 writes them (``_codecs.encode``), the storage
  types (``torch.HalfStorage``, ...) as markers, and torch's tensor rebuild functions
  (``_rebuild_tensor_v2``, ``_rebuild_parameter``, ...), each replaced by netspec's own,
  which checks its arguments and makes a view of a storage read by the caller;
- :func:`module_tensors` walks a stand-in module's ``_parameters``, ``_buffers`` and
  ``_modules`` into a ``state_dict``, in torch's order (non-persistent buffers left out).

Example::

    scan(data)
    obj = Unpickler(data, storages).load()     # storages(key, dtype, numel) -> a 1-D tensor
    tensors = module_tensors(obj["model"])     # {"model.0.conv.weight": tensor, ...}
"""

from __future__ import annotations

import _compat_pickle
import io
import pickle
import pickletools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, ClassVar

import torch

#: opcodes a pickle may have (a state_dict takes about 30 a tensor, a pickled model about 100)
MAX_OPCODES = 5_000_000
#: how deeply its marks (the starts of tuples, lists and dicts being built) may nest
MAX_DEPTH = 500
#: the modules a stand-in model may hold, shared ones counted at each place they are held
MAX_MODULES = 1_000_000
#: how deeply its modules may nest
MAX_MODULE_DEPTH = 200
#: the dimensions of a tensor
MAX_DIMS = 64

#: opcodes that take the items above the last mark, and so close it
_CLOSING = frozenset(
    ("APPENDS", "SETITEMS", "TUPLE", "DICT", "LIST", "FROZENSET", "ADDITEMS", "OBJ", "INST")
) | {"POP_MARK"}
#: opcodes torch never writes that reach outside the pickle
_REFUSED = {
    "EXT1": "the copyreg extension registry",
    "EXT2": "the copyreg extension registry",
    "EXT4": "the copyreg extension registry",
    "PERSID": "a text persistent id",
}

#: torch's legacy storage type names (in every torch pickle) and the dtypes they hold
STORAGE_DTYPES = {
    "DoubleStorage": torch.float64,
    "FloatStorage": torch.float32,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
    "ComplexDoubleStorage": torch.complex128,
    "ComplexFloatStorage": torch.complex64,
}

#: reads a storage: its key in the zip, its dtype and its number of values → a 1-D tensor
Storages = Callable[[str, torch.dtype, int], torch.Tensor]


class PickleProblem(Exception):
    """A pickle out of bounds or not as torch writes it; the message says which."""


def scan(data: bytes) -> None:
    """Refuse a pickle that is not one (cut short, a bad opcode), that has more than
    :data:`MAX_OPCODES` opcodes or marks nested more than :data:`MAX_DEPTH` deep, or that
    uses an opcode of :data:`_REFUSED`; nothing in it is run or built."""
    count = depth = 0
    try:
        for op, _arg, pos in pickletools.genops(data):
            count += 1
            if count > MAX_OPCODES:
                raise PickleProblem(f"its pickle has more than {MAX_OPCODES:,} opcodes")
            if op.name == "MARK":
                depth += 1
                if depth > MAX_DEPTH:
                    raise PickleProblem(f"its pickle nests more than {MAX_DEPTH} deep")
            elif op.name in _CLOSING:
                depth -= 1
            elif op.name in _REFUSED:
                raise PickleProblem(
                    f"its pickle uses {_REFUSED[op.name]} (opcode {op.name} at byte {pos}), "
                    "which torch never writes"
                )
    except ValueError as e:  # what genops raises on bytes that are not a pickle
        raise PickleProblem(f"its pickle is not valid: {e}") from e


class StandIn:
    """An object of a class a pickle names, never made: it holds what the pickle gave it.

    ``origin`` (on its class) is the name the pickle used (``ultralytics.nn.tasks.
    DetectionModel``); ``args`` and ``kwargs`` what the class was called with, ``state`` what
    ``__setstate__`` received (an object's ``__dict__``, for most classes).
    """

    __slots__ = ("args", "kwargs", "state")
    origin: ClassVar[str] = ""
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    state: Any

    def __new__(cls, *args: Any, **kwargs: Any) -> StandIn:
        self = object.__new__(cls)
        self.args = args
        self.kwargs = kwargs
        self.state = None
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # what REDUCE passes was kept by __new__

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<{self.origin}>"


class StorageType:
    """A storage type a pickle names (``torch.HalfStorage``): its dtype, as a marker."""

    __slots__ = ("dtype", "name")

    def __init__(self, name: str, dtype: torch.dtype) -> None:
        self.name = name
        self.dtype = dtype

    def __setstate__(self, state: Any) -> None:
        raise PickleProblem(f"its pickle sets the state of torch.{self.name}")


class Rebuilder:
    """One of netspec's tensor rebuilders as a pickle calls it; its state cannot be set (a
    BUILD on a plain function would set its attributes, ``__defaults__`` among them)."""

    __slots__ = ("func", "name")

    def __init__(self, name: str, func: Callable[..., Any]) -> None:
        self.name = name
        self.func = func

    def __call__(self, *args: Any) -> Any:
        return self.func(*args)

    def __setstate__(self, state: Any) -> None:
        raise PickleProblem(f"its pickle sets the state of {self.name}")


class Unpickler(pickle.Unpickler):
    """Unpickles ``data`` with stand-ins for every class (see the module's docstring);
    ``storages`` reads the storages the pickle's tensors view."""

    def __init__(self, data: bytes, storages: Storages) -> None:
        super().__init__(io.BytesIO(data))
        self._storages = storages
        self._read: dict[str, torch.Tensor] = {}
        self._classes: dict[str, type[StandIn]] = {}

    def find_class(self, module: str, name: str) -> Any:
        # the names of Python 2 that pickle protocol 2 writes (__builtin__.set), as Python 3's
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f"{module}.{name}"
        real = _REAL.get(full)
        if real is not None:
            return real
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name, STORAGE_DTYPES[name])
        found = self._classes.get(full)
        if found is None:  # one class for each name: objects of one class share it
            found = type("StandIn", (StandIn,), {"__slots__": (), "origin": full})
            self._classes[full] = found
        return found

    def persistent_load(self, pid: Any) -> Any:
        """A storage, as torch's zip format names it: ``("storage", type, key, location,
        numel)``; read once, however many tensors view it."""
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise PickleProblem(
                f"its pickle names a persistent object torch never writes: {pid!r:.80}"
            )
        _, kind, key, _location, numel = pid
        if not isinstance(kind, StorageType):
            raise PickleProblem(f"its pickle names a storage of an unknown type: {kind!r:.80}")
        if not (isinstance(key, str) and key.isalnum() and _is_count(numel)):
            raise PickleProblem(f"its pickle names a storage as torch never does: {pid!r:.80}")
        found = self._read.get(key)
        if found is None:
            found = self._read[key] = self._storages(key, kind.dtype, numel)
        elif found.dtype != kind.dtype or found.numel() != numel:
            raise PickleProblem(f"its pickle names storage {key} with two types or sizes")
        return found


def _rebuild_tensor(
    storage: Any,
    offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any = False,
    hooks: Any = None,
    metadata: Any = None,
) -> torch.Tensor:
    """A view of ``storage`` (a 1-D tensor), as torch's ``_rebuild_tensor_v2`` makes it, once
    every argument is checked: the view stays inside the storage."""
    if not isinstance(storage, torch.Tensor):
        raise PickleProblem(f"its pickle rebuilds a tensor from {storage!r:.80}, not a storage")
    if not (
        _is_count(offset)
        and isinstance(size, tuple)
        and isinstance(stride, tuple)
        and len(size) == len(stride) <= MAX_DIMS
        and all(_is_count(n) for n in (*size, *stride))
    ):
        raise PickleProblem("its pickle rebuilds a tensor with a malformed size or stride")
    if all(size):
        end = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
        if end >= storage.numel():
            raise PickleProblem(
                f"its pickle views values up to {end:,} of a storage of {storage.numel():,}"
            )
    return torch.as_strided(storage, size, stride, offset)


def _rebuild_parameter(data: Any, requires_grad: Any = False, *rest: Any) -> torch.Tensor:
    """A parameter's tensor (``_rebuild_parameter``, ``_rebuild_parameter_with_state``)."""
    if not isinstance(data, torch.Tensor):
        raise PickleProblem(f"its pickle makes a parameter of {data!r:.80}, not a tensor")
    return data


def _rebuild_from_type(func: Any, new_type: Any, args: Any, state: Any = None) -> torch.Tensor:
    """A tensor of a subclass (``_rebuild_from_type_v2``), as a plain tensor."""
    if not (isinstance(func, Rebuilder) and func.func in _TENSORS and isinstance(args, tuple)):
        raise PickleProblem(f"its pickle rebuilds a tensor with {func!r:.80}")
    rebuilt: torch.Tensor = func(*args)
    return rebuilt


def _encode(text: Any, encoding: Any = "utf-8") -> bytes:
    """Bytes, as pickle protocol 2 writes them: ``_codecs.encode(text, "latin1")``."""
    if not (isinstance(text, str) and encoding in ("latin1", "latin-1")):
        raise PickleProblem("its pickle encodes bytes as protocol 2 never does")
    return text.encode("latin1")


def _is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value < 2**62


_TENSORS = (_rebuild_tensor, _rebuild_parameter)

#: the only callables a pickle gets as they are named: types of Python's that hold data (their
#: state cannot be set), and netspec's own rebuilders in torch's names
_REAL: dict[str, Any] = {
    "collections.OrderedDict": OrderedDict,
    "builtins.set": set,
    "builtins.frozenset": frozenset,
    "_codecs.encode": Rebuilder("_codecs.encode", _encode),
    "torch._utils._rebuild_tensor_v2": Rebuilder("_rebuild_tensor_v2", _rebuild_tensor),
    "torch._utils._rebuild_parameter": Rebuilder("_rebuild_parameter", _rebuild_parameter),
    "torch._utils._rebuild_parameter_with_state": Rebuilder(
        "_rebuild_parameter_with_state", _rebuild_parameter
    ),
    "torch._tensor._rebuild_from_type_v2": Rebuilder("_rebuild_from_type_v2", _rebuild_from_type),
}


def is_module(obj: Any) -> bool:
    """Whether ``obj`` is a stand-in of a pickled ``nn.Module`` (it has the module's state)."""
    state = obj.state if isinstance(obj, StandIn) else None
    return (
        isinstance(state, dict)
        and isinstance(state.get("_modules"), dict)
        and isinstance(state.get("_parameters"), dict)
    )


def module_tensors(root: StandIn) -> dict[str, torch.Tensor]:
    """The ``state_dict`` of a stand-in module, in torch's order: a module's parameters, then
    its persistent buffers, then each child's, depth first."""
    out: dict[str, torch.Tensor] = {}
    stack: list[tuple[str, Any, tuple[int, ...]]] = [("", root, ())]
    visited = 0
    while stack:
        prefix, module, above = stack.pop()
        visited += 1
        if visited > MAX_MODULES:
            raise PickleProblem(f"its model holds more than {MAX_MODULES:,} modules")
        if id(module) in above or len(above) > MAX_MODULE_DEPTH:
            raise PickleProblem(f"its model nests module {prefix[:-1]!r:.80} inside itself")
        state = module.state
        skip = state.get("_non_persistent_buffers_set")
        skip = skip if isinstance(skip, (set, frozenset)) else set()
        for group in ("_parameters", "_buffers"):
            tensors = state.get(group)
            for name, tensor in tensors.items() if isinstance(tensors, dict) else ():
                if tensor is None or name in skip:
                    continue
                if not isinstance(tensor, torch.Tensor) or not isinstance(name, str):
                    raise PickleProblem(f"its model's {prefix}{name!s:.80} is not a tensor")
                out[prefix + name] = tensor
        children = [(n, m) for n, m in state["_modules"].items() if m is not None]
        for name, child in reversed(children):
            if not (isinstance(name, str) and is_module(child)):
                raise PickleProblem(f"its model's {prefix}{name!s:.80} is not a module")
            stack.append((f"{prefix}{name}.", child, (*above, id(module))))
    return out
