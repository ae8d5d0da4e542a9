"""What ``netspec import TARGET`` names: a callable in an importable module, which it calls.

This runs the user's Python because they ask for it by name, as ``--plugin`` does; a spec never
names code.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from typing import Any

from torch import nn


class TargetError(Exception):
    """A target that does not name a model (the command line reports it as misuse)."""


def load_target(target: str, arguments: Mapping[str, Any]) -> nn.Module:
    """Call ``package.module:callable`` with ``arguments`` and return the model, in eval mode.

    >>> load_target("torch.nn:Identity", {})
    Identity()
    """
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise TargetError(f"{target!r}: expected MODULE:CALLABLE, e.g. torchvision.models:resnet50")
    if os.getcwd() not in sys.path:  # the user's own modules, beside them, as python -m finds
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise TargetError(f"{target!r}: cannot import {module_name} ({e})") from e
    found: Any = module
    for part in attr.split("."):
        if not hasattr(found, part):
            raise TargetError(f"{target!r}: {module_name} has no {attr}")
        found = getattr(found, part)
    if isinstance(found, nn.Module):
        model = found
    elif callable(found):
        try:
            model = found(**arguments)
        except TypeError as e:  # the arguments do not fit its signature
            raise TargetError(f"{target!r}: {e}") from e
    else:
        raise TargetError(f"{target!r} is neither a module nor a callable")
    if not isinstance(model, nn.Module):
        raise TargetError(f"{target!r} returned a {type(model).__name__}, not an nn.Module")
    return model.eval()
