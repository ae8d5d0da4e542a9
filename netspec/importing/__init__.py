"""``netspec import``: from a PyTorch model to a spec that rebuilds it, keys and outputs alike.

Imports torch (a torch-side module, beside ``build``); nothing on the static side imports it.
``trace`` turns the model into a tree of layers with torch.fx, ``write`` into spec text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from ..errors import printable
from .exported import load_exported
from .trace import trace, tree
from .write import write


def from_module(
    module: nn.Module,
    input_shape: Sequence[int] | Sequence[Sequence[int]],
    name: str = "imported",
    origin: str = "",
) -> str:
    """The spec text that rebuilds ``module`` with the same ``state_dict`` keys.

    >>> import netspec, torch
    >>> text = netspec.from_module(torch.nn.Sequential(torch.nn.Linear(4, 2)), [4])
    >>> netspec.loads(text).num_params
    10

    ``input_shape`` is the input without the batch (a list of them for a model with several
    inputs, in its ``forward``'s order); ``origin`` names the model in errors and in the
    spec's first comment (default: its class).
    """
    origin = origin or f"{type(module).__module__}.{type(module).__qualname__}"
    root, graph = trace(module, origin)
    items: list[Any] = list(input_shape)
    nested = bool(items) and all(isinstance(s, Sequence) for s in items)
    shapes = [tuple(int(n) for n in s) for s in items] if nested else [tuple(items)]
    return write(root, graph, name, origin, shapes)


def from_exported(path: str | Path, name: str = "imported") -> str:
    """The spec text of a saved ``torch.export`` archive (``.pt2``), whose ``state_dict``
    (``torch.export.load(path).state_dict``) loads into the spec's module. The input's shape is
    the one the program was exported with.

    The archive is read as data: only its program (JSON) is read, within bounds, and nothing
    in it runs (no unpickling, no evaluated expression, no file it names opened); see
    :mod:`netspec.importing.archive`. Loading its weights with ``torch.export.load`` is
    another matter: that unpickles what the archive holds, so do it only for archives you
    trust."""
    origin = printable(str(path))  # a name with a newline stays one line of a message
    module, graph, shape = load_exported(Path(path), origin)
    root, graph = tree(graph, module, origin)
    return write(root, graph, name, origin, [shape])


__all__ = ["from_exported", "from_module"]
