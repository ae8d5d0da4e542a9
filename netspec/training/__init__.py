"""Training a spec: data, a recipe, the loop and the run folder (``netspec train``).

The API (each name imported when first used, so that ``netspec.training.recipe``, which needs
no torch, can be read without importing torch)::

    from netspec.training import load_recipe, prepare_data, train, TextProgress
    recipe = load_recipe("recipe.yaml", {"epochs": 3})      # file, then command-line values
    result = train(netspec.load("lenet"), "digits", recipe, out="runs/lenet",
                   progress=TextProgress(sys.stderr))
    result.best                                              # the best epoch's metrics
    train(spec, None, resume="runs/lenet")                  # continue a run after a kill
    compare([lenet, other], "digits", recipe, seeds=(0, 1, 2), target=0.95, out="runs/cmp")

See docs/training.md for the recipe's keys, the data sources and the run folder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .comparison import Comparison, compare
    from .data import Data, prepare_data
    from .progress import Progress, Silent, TextProgress
    from .recipe import Recipe, load_recipe, parse_recipe
    from .resume import resume_spec
    from .run import RunResult, train
    from .sources import DATA_SETS, read_data

_LAZY = {
    "Comparison": "comparison",
    "compare": "comparison",
    "Data": "data",
    "prepare_data": "data",
    "Progress": "progress",
    "Silent": "progress",
    "TextProgress": "progress",
    "Recipe": "recipe",
    "load_recipe": "recipe",
    "parse_recipe": "recipe",
    "resume_spec": "resume",
    "RunResult": "run",
    "train": "run",
    "DATA_SETS": "sources",
    "read_data": "sources",
}

__all__ = [
    "DATA_SETS",
    "Comparison",
    "Data",
    "Progress",
    "Recipe",
    "RunResult",
    "Silent",
    "TextProgress",
    "compare",
    "load_recipe",
    "parse_recipe",
    "prepare_data",
    "read_data",
    "resume_spec",
    "train",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'netspec.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
