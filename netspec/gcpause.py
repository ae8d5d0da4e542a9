"""Cycle collection paused while a pass builds many small, acyclic records.

A big spec's passes (:func:`netspec.spec.check_document`) and the diff of two of them
(:func:`netspec.diff.diff`) allocate hundreds of thousands of small objects that hold no
cycles; each collection the allocations set off would scan all of them again, so the work
would grow faster than linearly with the network. Nothing here imports the rest of netspec,
so every stage may use it.

Example::

    with paused_gc():
        records = [make(layer) for layer in layers]
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cycle collection inside the block; afterwards collection is on again if it was on
    before (a caller that had turned it off keeps it off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
