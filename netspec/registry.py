"""What a kind of layer is, and the registry of kinds (netspec's one mutable global).

A kind keeps everything about itself in one place: its options model, how it changes a shape,
what it costs, and how it becomes a torch module. Adding a kind is one file in ``kinds/`` and
one ``register`` call.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

from .errors import Problem
from .expr import has_expression
from .ir import Checked, Node, Shape
from .schema import Options

if TYPE_CHECKING:
    from torch import nn


class Family(enum.Enum):
    """What a layer does, for colours and grouping in reports."""

    CONV = "convolution"
    POOL = "pooling"
    NORM = "normalisation"
    ACTIVATION = "activation"
    LINEAR = "linear"
    MERGE = "merge"
    STRUCTURE = "structure"
    OTHER = "other"


class Cost(NamedTuple):
    """A leaf layer's output shape and what it costs."""

    shape: Shape
    params: int = 0
    macs: int = 0
    buffers: int = 0


class ExpandContext(Protocol):
    """What the elaborator offers a composite kind while expanding it."""

    def layers(
        self, *subpath: str | int, env: dict[str, Any] | None = None, name: str = ""
    ) -> Node:
        """Elaborate the layer list at ``subpath`` of this entry into one node."""
        ...

    def copies(self, *subpath: str | int, env: dict[str, Any], name: str) -> Node:
        """Like :meth:`layers`, for a repeat's copy: the copy's name wins over its layer's."""
        ...

    def value(self, *subpath: str | int, env: dict[str, Any] | None = None) -> Any:
        """Substitute expressions in the raw value at ``subpath`` of this entry."""
        ...

    def remaining(self) -> int:
        """How many more layers the network may expand to (``--max-layers``)."""
        ...


class InferContext(Protocol):
    """What the shape pass offers a composite kind."""

    def check(self, node: Node, shape: Shape, parent: str) -> Checked: ...

    def synthesize(self, kind: str, options: dict[str, Any], like: Node, name: str) -> Node: ...

    def sequence(self, children: list[Node], like: Node, name: str) -> Node: ...


class BuildContext(Protocol):
    """What the compiler offers a composite kind."""

    def module(self, checked: Checked) -> nn.Module: ...


class Kind:
    """Base of all kinds. Leaf kinds implement :meth:`cost` and :meth:`module`."""

    name: ClassVar[str]
    Options: ClassVar[type[Options]]
    family: ClassVar[Family] = Family.OTHER
    #: option set by a scalar written in place of the options mapping (``- linear: 10``)
    shorthand: ClassVar[str | None] = None
    #: options holding layer lists; they are elaborated by :meth:`expand`, not substituted
    nested: ClassVar[tuple[str, ...]] = ()
    #: one-line description for ``netspec list --kinds`` and the docs
    summary: ClassVar[str] = ""

    def expand(self, node: Node, ctx: ExpandContext) -> Node:
        """Fill in ``node.children`` (composite kinds); leaves have none."""
        return node

    def nested_entries(self, options: dict[str, Any]) -> list[tuple[tuple[str | int, ...], Any]]:
        """The raw layer entries inside an entry's options, with their subpaths (first pass).

        By default each option named in :attr:`nested` holds a layer list or a single layer.
        """
        out: list[tuple[tuple[str | int, ...], Any]] = []
        for field in self.nested:
            value = options.get(field)
            if isinstance(value, list):
                out.extend(((field, i), entry) for i, entry in enumerate(value))
            elif value is not None and not has_expression(value):
                out.append(((field,), value))
        return out

    def splice(self, node: Node) -> list[Node] | None:
        """The layers to put in place of ``node`` in its list (``inline: true``), or None."""
        return None

    def infer(self, node: Node, shape: Shape, ctx: InferContext, path: str) -> Checked:
        cost = self.cost(node.opts, shape)
        return Checked(node, path, shape, cost.shape, cost.params, cost.macs, cost.buffers)

    def cost(self, opts: Any, shape: Shape) -> Cost:
        raise NotImplementedError(f"{type(self).__name__} must implement cost() or infer()")

    def build(self, checked: Checked, ctx: BuildContext) -> nn.Module:
        return self.module(checked.node.opts, checked.input, checked.output)

    def module(self, opts: Any, input: Shape, output: Shape) -> nn.Module:
        raise NotImplementedError(f"{type(self).__name__} must implement module() or build()")

    def describe(self, opts: Any) -> str:
        """Key options as a paper writes them (``conv 3×3 /2, 64``); used by reports."""
        return self.name


_REGISTRY: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Make a kind available to specs under ``kind.name``."""
    if kind.name in _REGISTRY and type(_REGISTRY[kind.name]) is not type(kind):
        raise ValueError(f"a kind named {kind.name!r} is already registered")
    _REGISTRY[kind.name] = kind
    return kind


def get_kind(name: str) -> Kind | None:
    _ensure_builtins()
    return _REGISTRY.get(name)


def kind_names() -> list[str]:
    _ensure_builtins()
    return sorted(_REGISTRY)


def all_kinds() -> list[Kind]:
    _ensure_builtins()
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]


def _ensure_builtins() -> None:
    if not _REGISTRY:
        from . import kinds  # noqa: F401  (registers the built-in kinds)


def refuse_shared_inplace(branch: Node, what: str) -> None:
    """An in-place layer first in ``branch`` would overwrite an input others still read."""
    leaf = branch
    while leaf.children:
        leaf = leaf.children[0]
    if getattr(leaf.opts, "inplace", False):
        raise Problem(
            f"{leaf.kind.name} with inplace: true at the start of {what} would overwrite the "
            "input that the other paths still read",
            "set inplace: false on this layer",
            at=leaf,
        )


def need_rank(shape: Shape, rank: int, what: str, hint: str = "") -> None:
    """Raise a :class:`Problem` unless ``shape`` has ``rank`` dimensions."""
    if shape.rank != rank:
        want = "(channels, height, width)" if rank == 3 else "a flat (features,)"
        raise Problem(f"{what} needs {want} input, got {shape}", hint)
