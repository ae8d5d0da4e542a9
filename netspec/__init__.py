"""netspec: declare neural networks as YAML files, checked before they are built.

>>> import netspec
>>> spec = netspec.load("lenet")
>>> spec.output_shape, spec.num_params
(Shape(dims=(10,)), 61706)

Importing netspec does not import torch; only ``Spec.build`` does. Kinds beyond the built-in
ones come from plugins (``netspec.kind``, ``netspec.load_plugins``; see docs/plugins.md).
"""

from __future__ import annotations

from . import kinds  # noqa: F401  (registers the built-in kinds)
from .errors import Diagnostic, NetspecError
from .ir import Shape
from .plugins import PluginError, kind, load_plugins
from .registry import Kind, register, unregister
from .spec import Spec, load, loads

__version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "Kind",
    "NetspecError",
    "PluginError",
    "Shape",
    "Spec",
    "__version__",
    "kind",
    "load",
    "load_plugins",
    "loads",
    "register",
    "unregister",
]
