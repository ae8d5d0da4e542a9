"""Option groups that several commands take alike: a spec's settings (--scale, --max-layers,
--set) and plugins (--plugin, --no-entry-points)."""

from __future__ import annotations

import argparse

from ..elaborate import MAX_LAYERS
from .values import _positive


def add_plugin_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="load the kinds of a plugin, given by its module name (repeatable)",
    )
    p.add_argument(
        "--no-entry-points",
        action="store_true",
        help="do not load installed plugins (also: NETSPEC_NO_ENTRY_POINTS=1)",
    )


def add_set(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scale",
        metavar="NAME",
        help="one of the spec's scales (its sizes: n, s, m, ...); default: the first it lists",
    )
    p.add_argument(
        "--max-layers",
        type=_positive,
        default=MAX_LAYERS,
        metavar="N",
        help=f"refuse specs that expand to more layers (default {MAX_LAYERS:,})",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a param, or one layer's option by its path (head.fc.out=100); "
        "repeatable; VALUE is read as YAML: 10, 0.5, true, [1, 2]",
    )
