"""What the second pass offers the parts that expand layers, and its small shared pieces.

A composite kind (group, repeat, residual, inception) expands its nested layer lists through
an :class:`ExpandScope`, which knows where in the file the kind was written and which names
are in scope there; a block call (:mod:`netspec.calls`) through the :class:`Expander` of the
file that defines the block. :mod:`netspec.elaborate` implements the expander.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .env import layered
from .expr import ShapeLookup
from .interpolation import has_expression
from .ir import Node, Scope
from .registry import Kind, get_kind
from .schema import Options
from .source import PathKey, type_name
from .validation import ValidatedOnce

if TYPE_CHECKING:
    from .budget import Budget
    from .errors import Diagnostic, Pos
    from .imports import BlockRef
    from .source import Document

#: Notes of a long chain of block calls keep its two ends.
_TRACE_ENDS = 3


class Failed(Exception):
    """Raised after a problem was recorded, to skip the rest of a layer."""


class Shared:
    """What the expanders of a spec and of the files it imports share."""

    def __init__(self, max_layers: int, budget: Budget) -> None:
        #: the command's one budget, paid by every expression of every file
        self.budget = budget
        self.errors: list[Diagnostic] = []
        #: what is suspicious but valid (a repeat that a computed count leaves empty)
        self.warnings: list[Diagnostic] = []
        self.count = 0
        self.max_layers = max_layers
        self.expanders: dict[int, Expander] = {}
        self.broken: set[int] = set()  # imported files whose params failed
        self.active: list[BlockRef] = []  # the block calls being expanded, outermost first
        self.scopes: list[Scope] = []  # the tensor scopes being expanded, innermost last
        #: layer options validated once for each distinct value
        self.validate = ValidatedOnce()
        #: each layer elaborated, by id, with its entry as written: what a call: copies
        self.written: dict[int, tuple[Node, Any]] = {}


class Expander(Protocol):
    """The second pass over one file, as block calls and composite kinds use it."""

    doc: Document
    blocks: dict[str, BlockRef]
    shared: Shared
    errors: list[Diagnostic]
    params: dict[str, Any]

    @property
    def max_layers(self) -> int: ...

    def of(self, ref: BlockRef) -> Expander:
        """The expander of the file that defines a block, its params evaluated once."""
        ...

    def fail(
        self,
        path: PathKey,
        message: str,
        hint: str = "",
        *,
        key: bool = False,
        trace: tuple[str, ...] = (),
        pos: Pos | None = None,
    ) -> None: ...

    def value(
        self,
        raw: Any,
        path: PathKey,
        env: Mapping[str, Any],
        trace: tuple[str, ...] = (),
        deferrable: bool = False,
        shapes: ShapeLookup | None = None,
    ) -> Any: ...

    def condition(
        self, raw: Any, path: PathKey, env: Mapping[str, Any], trace: tuple[str, ...]
    ) -> bool | tuple[str, Mapping[str, Any]]: ...

    def left_out(self, options: Any, path: PathKey) -> None: ...

    def expand_list(
        self,
        items: list[Any],
        path: PathKey,
        env: Mapping[str, Any],
        trace: tuple[str, ...],
        depth: int,
    ) -> list[Node]: ...

    def expand_entry(
        self,
        raw: Any,
        path: PathKey,
        env: Mapping[str, Any],
        trace: tuple[str, ...],
        index: str,
        depth: int,
    ) -> Node | None: ...

    def sequence(
        self,
        children: list[Node],
        path: PathKey,
        trace: tuple[str, ...],
        name: str,
        label: str = "",
        own_name: bool = False,
    ) -> Node: ...


class ExpandScope:
    """The :class:`~netspec.registry.ExpandContext` handed to composite kinds."""

    def __init__(
        self,
        ex: Expander,
        path: PathKey,
        raw: dict[str, Any],
        env: Mapping[str, Any],
        trace: tuple[str, ...],
        depth: int,
    ) -> None:
        self.ex, self.path, self.raw, self.env, self.trace = ex, path, raw, env, trace
        self.depth = depth
        self.copy_names: set[str] = set()  # a repeat's copies named by an expression

    def _items(self, subpath: tuple[str | int, ...], scope: Mapping[str, Any]) -> list[Node]:
        value: Any = self.raw
        for part in subpath:
            value = value[part]
        path = (*self.path, *subpath)
        if has_expression(value):
            value = self.ex.value(value, path, scope, self.trace)
        if isinstance(value, list):
            return self.ex.expand_list(value, path, scope, self.trace, self.depth + 1)
        if value is None or isinstance(value, (str, dict)):  # a single layer
            node = self.ex.expand_entry(value, path, scope, self.trace, "0", self.depth + 1)
            if node is None:
                raise Failed
            return [node]
        self.ex.fail(path, f"expected a list of layers, got {type_name(value)}", trace=self.trace)
        raise Failed

    def layers(
        self, *subpath: str | int, env: dict[str, Any] | None = None, name: str = ""
    ) -> Node:
        children = self._items(subpath, layered(self.env, env or {}))
        if len(children) == 1 and name and not name.isdigit():
            self._renamed(children[0], name)
        return self.ex.sequence(children, (*self.path, *subpath), self.trace, name)

    def _renamed(self, only: Node, name: str) -> None:
        """A warning where a list's one layer, named in the file, takes the list's name."""
        if only.given is None or only.given == name:
            return
        keep = f'keep: true keeps the group around it ("{name}.{only.given}"), or leave'
        group = self.raw.get("keep") is not None or "layers" in self.raw
        doc, at = only.site or (only.doc, only.path)  # a block call's: where it is called
        self.ex.shared.warnings.append(
            doc.diagnostic(
                (*at, "name"),
                f'this list holds one layer, which is named "{name}" after it: its own name '
                f'"{only.given}" is not used',
                f"{keep if group else 'leave'} one of the names out",
                severity="warning",
            )
        )

    def copies(self, *subpath: str | int, env: dict[str, Any], name: str) -> Node:
        children = self._items(subpath, layered(self.env, env))
        # a copy is named by its index, unless its one layer's name is written to differ from
        # copy to copy (``name: "encoder_layer_${i}"``): then that name is its key
        written = self.written(*subpath)
        at, given = _one_name(written)
        if not has_expression(given):
            self._constant_name(subpath, at, given)
            at = None
        node = self.ex.sequence(
            children, (*self.path, *subpath), self.trace, name, own_name=at is None
        )
        if at is not None:
            if node.name in self.copy_names:
                self.ex.fail(
                    (*self.path, *subpath, *at),
                    f'two copies of this repeat are named "{node.name}"',
                    'make the name differ from copy to copy, e.g. "block${i}" with the index',
                    trace=self.trace,
                )
            self.copy_names.add(node.name)
        return node

    def _constant_name(self, subpath: PathKey, at: PathKey | None, given: Any) -> None:
        """A warning at a constant name of a repeat's one layer: every copy would have it, so
        the copies are numbered and the name is not used (said once, not for every copy)."""
        inline = isinstance(self.raw, dict) and self.raw.get("inline") is True
        if at is None or not isinstance(given, str) or self.copy_names or inline:
            return  # an inline repeat's copies keep their names (and clash)
        self.copy_names.add("")  # said
        where = self.ex.doc.diagnostic(
            (*self.path, *subpath, *at),
            f'every copy of this repeat would be named "{given}": they are numbered 0, 1, ... '
            "and the name is not used",
            f'name each copy by its index, e.g. name: "{given}_${{{self._index()}}}", '
            "or leave the name out",
            notes=short_trace(self.trace),
            severity="warning",
        )
        if where not in self.ex.shared.warnings:  # a block's repeat, met at each call
            self.ex.shared.warnings.append(where)

    def _index(self) -> str:
        index = self.raw.get("index", "i") if isinstance(self.raw, dict) else "i"
        return index if isinstance(index, str) else "i"

    def remaining(self) -> int:
        return self.ex.max_layers - self.ex.shared.count

    def value(self, *subpath: str | int, env: dict[str, Any] | None = None) -> Any:
        return self.ex.value(
            self.written(*subpath),
            (*self.path, *subpath),
            layered(self.env, env or {}),
            self.trace,
        )

    def written(self, *subpath: str | int) -> Any:
        raw: Any = self.raw
        for part in subpath:
            raw = raw[part]
        return raw

    def warn(self, message: str, hint: str, *subpath: str | int) -> None:
        self.ex.shared.warnings.append(
            self.ex.doc.diagnostic(
                (*self.path, *subpath),
                message,
                hint,
                notes=short_trace(self.trace),
                severity="warning",
            )
        )


def _one_name(body: Any) -> tuple[PathKey | None, Any]:
    """Where a repeat's body, one layer, writes its ``name:``, and what it writes there
    (None, None where it writes none)."""
    one = isinstance(body, list) and len(body) == 1
    entry = body[0] if one else body
    if not isinstance(entry, dict) or len(entry) != 1:
        return None, None
    kind, options = next(iter(entry.items()))
    if not isinstance(options, dict) or options.get("name") is None:
        return None, None
    return ((0, kind, "name") if one else (kind, "name")), options["name"]


@functools.cache
def inline_group() -> tuple[Kind, Options]:
    """The group kind and the options of a block call's layers spliced into the caller's list."""
    group, _ = implicit_group()
    return group, group.Options.model_construct(name=None, layers=[], inline=True)  # type: ignore[call-arg]


@functools.cache
def implicit_group() -> tuple[Kind, Options]:
    """The group kind and the (frozen, shared) options of a group no one wrote."""
    group = get_kind("group")
    assert group is not None  # a built-in kind
    return group, group.Options.model_construct(name=None, layers=[])  # type: ignore[call-arg]


def short_trace(trace: tuple[str, ...]) -> tuple[str, ...]:
    """A long chain of block calls, shown by its ends."""
    if len(trace) <= 2 * _TRACE_ENDS:
        return trace
    hidden = len(trace) - 2 * _TRACE_ENDS
    return (*trace[:_TRACE_ENDS], f"... {hidden} more block calls ...", *trace[-_TRACE_ENDS:])
