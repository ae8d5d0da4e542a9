"""Plugins: kinds defined outside netspec, registered from Python and never named by a spec.

A plugin is an importable module that registers kinds when it is imported, usually with the
:func:`kind` decorator. netspec imports it when asked by name (``--plugin MODULE``,
:func:`load_plugins`), or, when it is installed as a package declaring an entry point in the
group ``netspec.kinds``, the first time a spec names a kind that is not registered (the
command line loads installed plugins at its start). A spec only writes kind names: it can never
make netspec import anything. docs/plugins.md is the guide.

Everything a plugin needs is importable from here::

    from netspec.plugins import Cost, Family, Kind, Options, PosInt, Problem, Shape, kind

    @kind
    class SqueezeExcite(Kind):
        name = "se"
        ...
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import TypeVar

from .errors import Problem
from .ir import Shape
from .registry import (
    Cost,
    Family,
    Kind,
    entry_points_settled,
    need_rank,
    on_unknown_kind,
    register,
    registered,
    unregister,
)
from .schema import Bool, Float, Int, NonNegInt, Options, PosFloat, PosInt, PosPair, Prob

#: The entry-point group of installed plugins: ``[project.entry-points."netspec.kinds"]``.
ENTRY_POINT_GROUP = "netspec.kinds"
#: Set (to anything but 0) to keep installed plugins from being loaded automatically.
NO_ENTRY_POINTS_ENV = "NETSPEC_NO_ENTRY_POINTS"
_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_SKIP_INSTALLED = f"or skip installed plugins with --no-entry-points or {NO_ENTRY_POINTS_ENV}=1"

KindT = TypeVar("KindT", bound=Kind)


class PluginError(Exception):
    """A plugin that could not be loaded; the message names it and says what to do.

    On the command line it is a misuse of the command (exit status 2), not a spec error.
    """

    def __init__(self, plugin: str, message: str, hint: str = "") -> None:
        self.plugin = plugin
        self.message = message
        self.hint = hint
        super().__init__(f"{plugin}: {message}" + (f"; {hint}" if hint else ""))


def kind(cls: type[KindT]) -> type[KindT]:
    """Class decorator: register an instance of a :class:`Kind` subclass under its ``name``.

    Registering a built-in kind's name, or a name another class holds, is a ``ValueError``.

    Example::

        @netspec.kind
        class SqueezeExcite(Kind):
            name = "se"
            Options = SESpec
            def cost(self, opts, shape): ...
            def module(self, opts, input, output): ...
    """
    if not (isinstance(cls, type) and issubclass(cls, Kind)):
        raise TypeError(f"@netspec.kind decorates a subclass of netspec.Kind, got {cls!r}")
    register(cls())
    return cls


def load_plugins(*modules: str, entry_points: bool = True) -> list[Kind]:
    """Import plugin modules by name and (``entry_points=True``) the installed plugins.

    Returns the kinds that were newly registered. ``entry_points=False`` also stops installed
    plugins from being loaded automatically later in this process. A plugin that cannot be
    imported raises :class:`PluginError`.

    Example::

        netspec.load_plugins("netspec_se")          # [<netspec_se.SqueezeExcite ...>]
        netspec.load("examples/plugins/se_resnet.yaml")
    """
    before = set(registered())
    for module in modules:
        load_plugin(module)
    if entry_points:
        load_entry_points()
    else:
        entry_points_settled()
    return [k for name, k in sorted(registered().items()) if name not in before]


def load_plugin(module: str) -> list[Kind]:
    """Import one plugin module by its name (as ``import`` writes it) for the kinds it registers.

    Example::

        load_plugin("netspec_se")                   # the folder of netspec_se.py on sys.path
    """
    if not isinstance(module, str):
        raise PluginError(
            f"plugin {module!r}", "not a module name", "give it as a str: 'netspec_se'"
        )
    looks_like_file = module.endswith(".py") or "/" in module or "\\" in module
    if looks_like_file or not _MODULE_NAME.fullmatch(module):  # "os\n" is no module name
        hint = "give the name `import` would take, e.g. netspec_se or my_package.layers"
        if looks_like_file:
            stem = re.split(r"[/\\]", module)[-1].removesuffix(".py")
            hint = f"give its module name, not its file: {stem}, with its folder on PYTHONPATH"
        raise PluginError(f"plugin {module}", "not a module name", hint)
    fresh = module not in sys.modules
    before = set(registered())
    label = f"plugin {module}"
    _import(label, module, "fix the plugin or leave it out")
    added = [k for name, k in sorted(registered().items()) if name not in before]
    if fresh and not added:
        raise PluginError(
            label,
            "importing it registered no kinds",
            "decorate each of its Kind subclasses with @netspec.kind",
        )
    return added


def load_entry_points() -> list[Kind]:
    """Import every installed plugin: the entry points in the group ``netspec.kinds``.

    netspec calls this on its own, once, the first time a spec names a kind that is not
    registered (the command line: at its start), unless ``NETSPEC_NO_ENTRY_POINTS`` is set.

    Example::

        load_entry_points()                         # what the installed packages registered
    """
    from importlib import metadata

    entry_points_settled()
    before = set(registered())
    for point in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        where = point.value
        dist = getattr(point, "dist", None)
        if dist is not None:
            where += f", from {dist.name} {dist.version}"
        uninstall = f"uninstall {dist.name}" if dist is not None else "uninstall it"
        _import(
            f"installed plugin {point.name} ({where})",
            point.module,
            f"fix or {uninstall}, {_SKIP_INSTALLED}",
            point.load,  # an entry point may name an object in its module
        )
    return [k for name, k in sorted(registered().items()) if name not in before]


def entry_points_disabled() -> bool:
    """Whether ``NETSPEC_NO_ENTRY_POINTS`` is set, to anything but ``""`` or ``0``.

    Example::

        os.environ["NETSPEC_NO_ENTRY_POINTS"] = "1"; entry_points_disabled()   # True
    """
    return os.environ.get(NO_ENTRY_POINTS_ENV, "") not in ("", "0")


def _import(label: str, module: str, hint: str, then: Callable[[], object] | None = None) -> None:
    """Import a plugin: the one boundary where any exception of a plugin's own code is caught,
    and raised again as a :class:`PluginError` naming the plugin."""
    try:
        # __import__ rather than importlib.import_module: `python -X importtime` lists it
        __import__(module)
        if then is not None:
            then()
    except ModuleNotFoundError as e:
        if e.name is not None and (module == e.name or module.startswith(e.name + ".")):
            raise PluginError(
                label,
                f"there is no module named {e.name}",
                "install it, or add the folder that holds it to PYTHONPATH",
            ) from e
        raise PluginError(label, f"importing it failed: {e}", hint) from e
    except Exception as e:  # a plugin's own code may raise anything
        raise PluginError(label, f"importing it raised {type(e).__name__}: {e}", hint) from e
    except SystemExit as e:  # or try to end the process
        raise PluginError(label, f"importing it called sys.exit({e.code!r})", hint) from e


__all__ = [
    "ENTRY_POINT_GROUP",
    "NO_ENTRY_POINTS_ENV",
    "Bool",
    "Cost",
    "Family",
    "Float",
    "Int",
    "Kind",
    "NonNegInt",
    "Options",
    "PluginError",
    "PosFloat",
    "PosInt",
    "PosPair",
    "Prob",
    "Problem",
    "Shape",
    "entry_points_disabled",
    "kind",
    "load_entry_points",
    "load_plugin",
    "load_plugins",
    "need_rank",
    "register",
    "unregister",
]


def _load_installed() -> None:
    if not entry_points_disabled():
        load_entry_points()


on_unknown_kind(_load_installed)  # the registry loads installed plugins when a kind is missing
