"""The renames of a netspec checkpoint, from the diff of the spec it was made from and the spec
it loads into: which layer is which, as the file says, where the keys alone cannot tell two
layers of one shape apart (a row inserted before a copy of itself).

Kept apart from :mod:`netspec.transfer.load`: it loads a spec, which the loader, called by the
spec's own module, must not.

Example::

    checkpoint = read_checkpoint("net.pt")
    load_weights(model, spec, checkpoint, suggestions=diff_renames(checkpoint, spec))
"""

from __future__ import annotations

from ..checkpoints import Checkpoint
from ..diff import diff
from ..diff.model import Rename
from ..errors import NetspecError
from ..spec import Spec, loads


def diff_renames(checkpoint: Checkpoint, spec: Spec) -> tuple[Rename, ...] | None:
    """The renames :func:`netspec.diff.diff` finds from the spec a netspec checkpoint keeps to
    ``spec``; None for another checkpoint, or where its spec does not load (its imports may
    be elsewhere): the loader then suggests from the keys alone."""
    saved = checkpoint.spec
    if saved is None:
        return None
    try:
        before = loads(saved.text, saved.file, scale=saved.scale or None, **saved.params)
    except NetspecError:
        return None
    return diff(before, spec).renames
