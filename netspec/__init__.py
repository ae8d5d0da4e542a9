"""netspec: declare neural networks as YAML files, checked before they are built.

>>> import netspec
>>> spec = netspec.load("lenet")
>>> spec.output_shape, spec.num_params
(Shape(dims=(10,)), 61706)

Importing netspec does not import torch; only ``Spec.build`` does. Kinds beyond the built-in
ones come from plugins (``netspec.kind``, ``netspec.load_plugins``; see docs/plugins.md).
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from collections.abc import Sequence

    from torch import nn

    from .errors import Diagnostic, NetspecError
    from .ir import Shape
    from .plugins import PluginError, kind, load_plugins
    from .registry import Kind, register, unregister
    from .spec import Spec, load, loads

#: the API's names and the modules that hold them, imported when first used, so that what
#: needs none of them (``netspec --version``, a shell's completion) starts in a few ms
_LAZY = {
    "Diagnostic": "errors",
    "NetspecError": "errors",
    "Shape": "ir",
    "PluginError": "plugins",
    "kind": "plugins",
    "load_plugins": "plugins",
    "Kind": "registry",
    "register": "registry",
    "unregister": "registry",
    "Spec": "spec",
    "load": "spec",
    "loads": "spec",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'netspec' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def from_module(
    module: nn.Module,
    input_shape: Sequence[int] | Sequence[Sequence[int]],
    name: str = "imported",
    origin: str = "",
) -> str:
    """The spec text that rebuilds a PyTorch model (same ``state_dict`` keys and outputs).

    >>> import torch
    >>> text = from_module(torch.nn.Sequential(torch.nn.Linear(4, 2)), [4])
    >>> loads(text).num_params
    10

    ``origin`` names the model in errors and in the spec's first line (default: its class).
    Imports torch (``netspec`` itself does not); see docs/import.md.
    """
    from .importing import from_module as imported

    return imported(module, input_shape, name, origin)


def from_exported(path: str | os.PathLike[str], name: str = "imported") -> str:
    """The spec text that rebuilds a saved ``torch.export`` archive (``.pt2``): the archive's
    ``state_dict`` loads into its module, which computes what the program does. Imports torch;
    see docs/import.md."""
    from pathlib import Path

    from .importing import from_exported as imported

    return imported(Path(path), name)


__all__ = [
    "Diagnostic",
    "Kind",
    "NetspecError",
    "PluginError",
    "Shape",
    "Spec",
    "__version__",
    "from_exported",
    "from_module",
    "kind",
    "load",
    "load_plugins",
    "loads",
    "register",
    "unregister",
]
