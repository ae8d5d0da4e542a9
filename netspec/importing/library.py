"""Blocks of netspec's standard library that ``netspec import`` writes as calls: a module
whose computation a kind cannot say in one layer, but a library block says whole (torchvision's
``ShiftedWindowAttention`` is ``std:swin``'s ``window_attention``).

A layer of the traced tree whose kind is such a block is written as a call of it, and the
spec imports the blocks it calls (``imports: [{file: std:swin, blocks: [...]}]``). The block's
arguments and their defaults are read from the library file itself, so that what is written
at their default is left out, as for a kind's options.

Example::

    library_of("window_attention")         # "std:swin"
    block_args("window_attention")["window"]  # 7
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from ..entries import arg_spec
from ..imports import LIBRARY, STD

#: block name → the library (``std:NAME``) that defines it
LIBRARY_BLOCKS: dict[str, str] = {
    "window_attention": "swin",
    "patch_merging_pad": "swin",
}


def library_of(kind: str) -> str | None:
    """The ``std:NAME`` file whose block ``kind`` is, or None for a kind."""
    found = LIBRARY_BLOCKS.get(kind)
    return None if found is None else STD + found


@cache
def block_args(kind: str) -> dict[str, Any] | None:
    """A library block's arguments as its file declares them (a default, or a type word for
    a required one), in order; None for a kind."""
    found = LIBRARY_BLOCKS.get(kind)
    if found is None:
        return None
    with open(LIBRARY / f"{found}.yaml", encoding="utf-8") as f:
        data = yaml.safe_load(f)
    args: dict[str, Any] = data["blocks"][kind].get("args") or {}
    return dict(args)


def is_required(spec: Any) -> bool:
    """A declared argument without a default (a type word)."""
    return arg_spec(spec)[0]


def imports_line(kinds: set[str]) -> str | None:
    """The spec's ``imports:`` for the library blocks among ``kinds``, or None."""
    by_file: dict[str, list[str]] = {}
    for kind in sorted(kinds):
        file = library_of(kind)
        if file is not None:
            by_file.setdefault(file, []).append(kind)
    if not by_file:
        return None
    items = [f"{{file: {file}, blocks: [{', '.join(b)}]}}" for file, b in by_file.items()]
    return f"imports: [{', '.join(items)}]"
