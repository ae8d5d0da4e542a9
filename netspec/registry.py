"""What a kind of layer is, and the registry of kinds (netspec's one mutable global).

A kind keeps everything about itself in one place: its options model, how it changes a shape,
what it costs, and how it becomes a torch module. Adding a kind is one file in ``kinds/`` and
one ``register`` call. Plugins register theirs the same way (``netspec.plugins`` loads them);
they may not take a built-in kind's name, and only their kinds can be unregistered.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

from .errors import Problem
from .expr import has_expression
from .ir import Checked, Node, Shape, Value
from .schema import Options, is_name

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

    def check(self, node: Node, source: Value, parent: str) -> Checked | None:
        """Check a child on ``source`` (or the tensors of its ``from:``); None if left out."""
        ...

    def synthesize(self, kind: str, options: dict[str, Any], like: Node, name: str) -> Node: ...

    def sequence(self, children: list[Node], like: Node, name: str) -> Node: ...


class BuildContext(Protocol):
    """What the compiler offers a composite kind."""

    def module(self, checked: Checked) -> nn.Module: ...

    def sequence(self, checked: Checked) -> nn.Module:
        """A container's module: ``nn.Sequential`` for a chain, a generated graph otherwise."""
        ...


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
    #: whether it reads several tensors (``from: [a, b]``): a merge such as concat or add
    multi_input: ClassVar[bool] = False
    #: whether making the image larger is its purpose (no "too much padding?" hint about it)
    upsamples: ClassVar[bool] = False
    #: whether its children are laid out by the compiler as a chain or a graph (group, repeat)
    #: rather than combined by a module of its own (residual, inception)
    container: ClassVar[bool] = False

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

    def infer(self, node: Node, sources: list[Value], ctx: InferContext, path: str) -> Checked:
        """Check a layer on the tensors it reads; leaves only need :meth:`cost`."""
        shapes = [v.shape for v in sources]
        cost = self.costs(node.opts, shapes)
        return Checked(node, path, shapes[0], cost.shape, cost.params, cost.macs, cost.buffers)

    def costs(self, opts: Any, shapes: list[Shape]) -> Cost:
        """The cost of a layer reading ``shapes``; a single-input kind implements :meth:`cost`."""
        return self.cost(opts, shapes[0])

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
#: whether installed plugins (``netspec.kinds`` entry points) are still to be loaded the first
#: time a kind is not found; cleared once they are loaded or turned off
_entry_points_pending = True
_BUILTIN_PACKAGE = f"{__package__}.kinds"


def register(kind: Kind) -> Kind:
    """Make a kind available to specs under ``kind.name``.

    A plugin's kind may not take the name of a built-in kind or of another registered kind
    (:class:`ValueError`); registering the same class again (a reloaded module) replaces it.

    Example::

        register(SqueezeExcite())        # or decorate the class with @netspec.kind
    """
    _check_kind(kind)
    if not is_builtin(kind):
        _ensure_builtins()  # so that a plugin cannot take a built-in's name before they load
    old = _REGISTRY.get(kind.name)
    if old is not None and old is not kind and is_builtin(old):
        raise ValueError(
            f'cannot register kind "{kind.name}" ({_origin(kind)}): "{kind.name}" is a '
            "built-in kind of netspec; give your kind another name"
        )
    if old is not None and _origin(old) != _origin(kind):
        raise ValueError(
            f'cannot register kind "{kind.name}" ({_origin(kind)}): {_origin(old)} is '
            f"registered under that name already; give your kind another name, or call "
            f'netspec.unregister("{kind.name}") first'
        )
    _REGISTRY[kind.name] = kind
    return kind


def unregister(name: str) -> Kind:
    """Remove a plugin's kind from the registry and return it (for tests and notebooks).

    Example::

        unregister("se")                 # specs using "- se" are errors again
    """
    found = _REGISTRY.get(name)
    if found is None:
        raise ValueError(f'no kind named "{name}" is registered')
    if is_builtin(found):
        raise ValueError(f'"{name}" is a built-in kind of netspec; it cannot be unregistered')
    return _REGISTRY.pop(name)


def is_builtin(kind: Kind) -> bool:
    """Whether ``kind`` is one of netspec's own kinds (not a plugin's)."""
    return type(kind).__module__.startswith(_BUILTIN_PACKAGE + ".")


def get_kind(name: str) -> Kind | None:
    """The kind registered as ``name``, or None.

    The first time a name is missing, installed plugins (entry points) are loaded and it is
    looked up again, unless they were loaded or turned off already (docs/plugins.md).
    """
    _ensure_builtins()
    found = _REGISTRY.get(name)
    if found is None and _entry_points_pending:
        _load_entry_points()
        found = _REGISTRY.get(name)
    return found


def registered() -> dict[str, Kind]:
    """The kinds registered now, by name (built-in ones and loaded plugins').

    Example::

        "se" in registered()             # True once netspec_se is loaded
    """
    _ensure_builtins()
    return dict(_REGISTRY)


def kind_names() -> list[str]:
    """The names of the registered kinds, sorted."""
    return sorted(registered())


def all_kinds() -> list[Kind]:
    """The registered kinds, sorted by name."""
    _ensure_builtins()
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]


def entry_points_settled() -> None:
    """Installed plugins were loaded, or are not wanted: do not load them on demand."""
    global _entry_points_pending
    _entry_points_pending = False


def _load_entry_points() -> None:
    entry_points_settled()  # once, even if a plugin fails (the error says which)
    from .plugins import entry_points_disabled, load_entry_points

    if not entry_points_disabled():
        load_entry_points()


def _ensure_builtins() -> None:
    if not _REGISTRY:
        from . import kinds  # noqa: F401  (registers the built-in kinds)


def _origin(kind: Kind) -> str:
    cls = type(kind)
    return f"{cls.__module__}.{cls.__qualname__}"


def _check_kind(kind: Kind) -> None:
    """Refuse a kind that could not work, when it is registered rather than when a spec uses it."""
    if not isinstance(kind, Kind):
        raise TypeError(f"register() takes an instance of netspec.Kind, got {kind!r}")
    name = getattr(kind, "name", None)
    if not isinstance(name, str) or not is_name(name):
        raise ValueError(
            f"{_origin(kind)}.name must be a kind name of letters, digits and _ starting with "
            f'a letter (what specs write, e.g. "- se"), got {name!r}'
        )
    options = getattr(kind, "Options", None)
    if not (isinstance(options, type) and issubclass(options, Options)):
        raise TypeError(
            f"{_origin(kind)}.Options must be a subclass of netspec.schema.Options (a pydantic "
            f"model that forbids unknown keys and takes name: and expect:), got {options!r}"
        )
    fields = options.model_fields
    for option in (kind.shorthand, *kind.nested):
        if option is not None and option not in fields:
            raise ValueError(
                f"{_origin(kind)} names option {option!r}, which {options.__name__} does not have"
            )
    cls = type(kind)
    for rule, alternative in (("cost", "costs"), ("module", "build")):
        if getattr(cls, rule) is getattr(Kind, rule) and (
            getattr(cls, alternative) is getattr(Kind, alternative)
        ):
            if rule == "cost" and getattr(cls, "infer") is not getattr(Kind, "infer"):  # noqa: B009
                continue
            raise TypeError(f"{_origin(kind)} must implement {rule}() (or {alternative}())")


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


def refuse_named(children: list[Checked], what: str) -> None:
    """Named tensors inside a residual or an inception: their modules compute plain chains."""
    for child in children:
        for c in child.walk():
            node = c.node
            if node.sources or node.targets:
                key = "from" if node.sources else "to"
                raise Problem(
                    f"{key}: inside {what}: its layers form a chain of their own",
                    "write the branches as layers with to: and merge them with add or concat "
                    "(from: [a, b]) instead",
                    at=node,
                )


def need_rank(shape: Shape, rank: int, what: str, hint: str = "") -> None:
    """Raise a :class:`Problem` unless ``shape`` has ``rank`` dimensions."""
    if shape.rank != rank:
        want = "(channels, height, width)" if rank == 3 else "a flat (features,)"
        raise Problem(f"{what} needs {want} input, got {shape}", hint)
