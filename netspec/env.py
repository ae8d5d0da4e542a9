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

from collections.abc import Iterator, Mapping
from typing import Any

#: An enclosing scope of at most this many names is copied under the new ones; a larger one
#: is layered, once: the layers above it are merged, so that a name is found in two lookups.
_COPY = 64


class Names(Mapping[str, Any]):
    """``own`` names over those of ``parent``, which are not copied."""

    __slots__ = ("own", "parent")

    def __init__(self, own: dict[str, Any], parent: Mapping[str, Any]) -> None:
        self.own = own
        self.parent = parent

    def __getitem__(self, key: str) -> Any:
        own = self.own
        return own[key] if key in own else self.parent[key]

    def __contains__(self, key: object) -> bool:
        return key in self.own or key in self.parent

    def __iter__(self) -> Iterator[str]:
        yield from self.own
        yield from (k for k in self.parent if k not in self.own)

    def __len__(self) -> int:
        return len(self.own) + sum(1 for k in self.parent if k not in self.own)


def layered(parent: Mapping[str, Any], own: Mapping[str, Any]) -> Mapping[str, Any]:
    """The names of ``own`` over those of ``parent``, copying no more than :data:`_COPY`."""
    if not own:
        return parent
    if isinstance(parent, Names) and len(parent.own) + len(own) <= _COPY:
        return Names({**parent.own, **own}, parent.parent)
    if not isinstance(parent, Names) and len(parent) <= _COPY:
        return {**parent, **own}
    return Names(dict(own), parent)
