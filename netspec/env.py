"""The names an expression sees, in layers: a repeat's copy or a block call puts its few names
over the enclosing ones without copying them.

A file may declare thousands of params; copying them for each of 10,000 repeat copies or block
calls made checking a spec grow as their product. :func:`layered` copies a small enclosing
scope (a ``dict`` is what reads fastest) and layers a large one.

Example::

    >>> params = {f"p{k}": k for k in range(1000)}
    >>> names = layered(params, {"i": 3})
    >>> names["i"], names["p7"], "q" in names
    (3, 7, False)
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from typing import Any, cast

#: An enclosing scope of at most this many names is copied under the new ones; a larger one
#: is layered (a :class:`~collections.ChainMap`), and small layers above it are merged, so
#: that a name is found in few lookups.
_COPY = 64


def layered(parent: Mapping[str, Any], own: Mapping[str, Any]) -> Mapping[str, Any]:
    """The names of ``own`` over those of ``parent``, copying no more than :data:`_COPY`."""
    if not own:
        return parent
    if isinstance(parent, ChainMap):
        top, *below = parent.maps
        if len(top) + len(own) <= _COPY:
            return ChainMap({**top, **own}, *below)
        return parent.new_child(dict(own))
    if len(parent) <= _COPY:
        return {**parent, **own}
    # ChainMap writes only to its first map (ours); typeshed asks every map to be mutable
    return ChainMap(dict(own), cast(MutableMapping[str, Any], parent))
