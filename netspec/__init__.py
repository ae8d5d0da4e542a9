"""netspec: declare neural networks as YAML files, checked before they are built.

>>> import netspec
>>> spec = netspec.load("lenet")
>>> spec.output_shape, spec.num_params
(Shape(dims=(10,)), 61706)

Importing netspec does not import torch; only ``Spec.build`` does.
"""

from __future__ import annotations

from .errors import Diagnostic, NetspecError
from .ir import Shape
from .registry import Kind, register
from .spec import Spec, load, loads

__version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "Kind",
    "NetspecError",
    "Shape",
    "Spec",
    "__version__",
    "load",
    "loads",
    "register",
]
