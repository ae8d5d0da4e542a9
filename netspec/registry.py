"""The registry of kinds (netspec's one mutable global), and rules that kinds share.

What a kind is (:class:`~netspec.ir.Kind`) is part of the intermediate representation; this
module keeps the kinds by name. Adding a kind is one file in ``kinds/`` and one ``register``
call; the built-in ones are registered the first time the registry is used. Plugins register
theirs the same way (``netspec.plugins`` loads them); they may not take a built-in kind's name,
and only their kinds can be unregistered.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from typing import Any

from .errors import PluginFailure, Problem

# re-exported: kinds and plugins import them from here, with register
from .ir import (
    BuildContext,
    Checked,
    Cost,
    ExpandContext,
    Family,
    InferContext,
    Kind,
    Node,
    Shape,
)
from .schema import Options, is_name

__all__ = [
    "BuildContext",
    "Cost",
    "ExpandContext",
    "Family",
    "InferContext",
    "Kind",
    "all_kinds",
    "get_kind",
    "is_builtin",
    "kind_names",
    "need_rank",
    "on_unknown_kind",
    "pair_option",
    "refuse_named",
    "refuse_shared_inplace",
    "register",
    "registered",
    "unregister",
]

_REGISTRY: dict[str, Kind] = {}
#: whether installed plugins (``netspec.kinds`` entry points) are still to be loaded the first
#: time a kind is not found; cleared once they are loaded or turned off
_entry_points_pending = True
#: what loads them (set by :mod:`netspec.plugins`, which imports this module)
_load_installed: Callable[[], None] | None = None
_BUILTIN_PACKAGE = f"{__package__}.kinds"


def _builtins_loaded() -> bool:
    return _BUILTIN_PACKAGE in sys.modules


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
    if not is_builtin(kind):
        _guard(kind)
    _REGISTRY[kind.name] = kind
    return kind


#: the methods of the Kind interface that run a plugin's code, or use what it returns, while
#: specs are checked, built or drawn
_GUARDED = (
    "expand",
    "nested_entries",
    "splice",
    "infer",
    "costs",
    "cost",
    "build",
    "module",
    "describe",
    "draw",
    "drawn_nodes",
    "copies",
    "tensors",
)


def _guard(kind: Kind) -> None:
    """Make whatever a plugin kind's own methods raise (or a ``sys.exit`` in them) a
    :class:`Problem` that names the plugin, so that it reads as the plugin's fault, at the
    layer that uses it, and never as a traceback of netspec."""
    for name in _GUARDED:  # netspec's own methods too: they run what the plugin gives back
        setattr(kind, name, _guarded(kind, name, getattr(kind, name)))


def _guarded(kind: Kind, name: str, method: Callable[..., object]) -> Callable[..., object]:
    @functools.wraps(method)
    def call(*args: object, **kwargs: object) -> object:
        try:
            return method(*args, **kwargs)
        except (Exception, SystemExit) as e:  # a plugin's code may raise anything, or exit
            if type(e).__module__.split(".")[0] == __package__:
                raise  # netspec's own: a Problem, or how a pass stops (a reported error)
            what = (
                f"exited ({e.code})"
                if isinstance(e, SystemExit)
                else f"raised {type(e).__name__}: {e}"
            )
            raise PluginFailure(
                f'plugin kind "{kind.name}" ({_origin(kind)}) failed: its {name}() {what}',
                "the fault is in the plugin, not in the spec: report it to the plugin's author",
            ) from e

    return call


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


def on_unknown_kind(load: Callable[[], None]) -> None:
    """Have ``load`` (the loading of installed plugins) run the first time a kind is missing."""
    global _load_installed
    _load_installed = load


def _load_entry_points() -> None:
    entry_points_settled()  # once, even if a plugin fails (the error says which)
    if _load_installed is None:  # netspec.plugins, imported, hands the registry its loader
        importlib.import_module(f"{__package__}.plugins")
    if _load_installed is not None:
        _load_installed()


def _ensure_builtins() -> None:
    """Register the built-in kinds (:mod:`netspec.kinds`) the first time the registry is used:
    ``import netspec`` stays light for what needs no kind (``--version``, shell completion)."""
    if not _builtins_loaded():
        importlib.import_module(_BUILTIN_PACKAGE)  # each of its modules registers its kinds


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
    """Named tensors inside a residual or an inception: their modules compute plain chains.

    A block called there may use names of its own: its module is a graph of its own.
    """
    stack = list(children)
    while stack:
        c = stack.pop()
        node = c.node
        if node.opens is None:
            stack.extend(c.children)
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
        if not hint and shape.is_tokens and rank == 3:
            hint = (
                "a token sequence (tokens, features) is no feature map: on tokens, use linear, "
                "layernorm and attention"
            )
        raise Problem(f"{what} needs {want} input, got {shape}", hint)


def pair_option(value: Any) -> Any:
    """A torch size as a spec writes it (``netspec import``): 3 for 3 or (3, 3), [3, 5] else."""
    if isinstance(value, (tuple, list)):
        items = [int(v) for v in value]
        return items[0] if len(set(items)) == 1 else items
    return value
