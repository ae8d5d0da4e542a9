"""``netspec diff A [B]``: what changed between two networks, and which weights carry over (no
torch).

A and B are each a spec file, a bundled name or ``FILE@REV`` (:mod:`netspec.revisions`).
``--scale`` and ``--set`` apply to both sides, ``--a-scale``/``--a-set`` and
``--b-scale``/``--b-set`` to one; a side's own option wins. Without B, B is A's file as it is
now, and A, when it names no revision and no side has options of its own, is the file at
``HEAD`` (``netspec diff specs/x.yaml``: the edits since the last commit, as ``git diff``
shows them); with options of one side, B is A (``netspec diff yolov8 --a-scale n --b-scale s``).

Exit status as ``diff``'s: 0 the networks are the same, 1 they differ, 2 trouble: a misused
command, or a spec (or a revision) that cannot be read or checked, reported on stderr as
``check`` reports it. A script tells "differ" (1) from "broken" (2).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from ..errors import NetspecError
from .usage import EXIT_MISUSE
from .values import parse_sets

#: the exit status of ``netspec diff`` when the networks differ
EXIT_DIFFERENT = 1
#: ... and when it cannot tell (misuse, an unreadable or invalid spec): as ``diff``'s 2
EXIT_TROUBLE = EXIT_MISUSE


@dataclass(frozen=True)
class _Side:
    """One side of the diff as the command line names it."""

    path: str
    rev: str | None
    scale: str | None
    overrides: dict[str, Any]


def _diff(args: argparse.Namespace) -> int:
    from ..diff import diff, format_json, format_text

    a, b = _sides(args)
    try:
        specs = [_load(side, args.max_layers) for side in (a, b)]
    except NetspecError as e:
        print(e.format(), file=sys.stderr)
        return EXIT_TROUBLE
    for spec in specs:
        for warning in spec.warnings:
            print(warning.format(), file=sys.stderr)
    d = diff(*specs)
    sys.stdout.write(format_json(d) if args.format == "json" else format_text(d))
    return 0 if d.same else EXIT_DIFFERENT


def _sides(args: argparse.Namespace) -> tuple[_Side, _Side]:
    """Both sides, B filled in where it is left out (see the module's docstring)."""
    from ..revisions import resolve

    both = parse_sets(args.set)
    a_sets, b_sets = parse_sets(args.a_set, "--a-set"), parse_sets(args.b_set, "--b-set")
    own = bool(args.a_scale or args.b_scale or a_sets or b_sets)
    a_path, a_rev = resolve(args.a)
    if args.b is None:
        b_path, b_rev = (a_path, a_rev) if own else (a_path, None)
        a_rev = a_rev if own or a_rev is not None else "HEAD"
    else:
        b_path, b_rev = resolve(args.b)
    return (
        _Side(a_path, a_rev, args.a_scale or args.scale, {**both, **a_sets}),
        _Side(b_path, b_rev, args.b_scale or args.scale, {**both, **b_sets}),
    )


def _load(side: _Side, max_layers: int) -> Any:
    """The side's checked spec, from its file, or from git where it names a revision."""
    if side.rev is not None:
        from ..revisions import load_revision

        return load_revision(
            side.path,
            side.rev,
            max_layers=max_layers,
            scale=side.scale,
            overrides=side.overrides,
        )
    from ..spec import load

    return load(side.path, max_layers=max_layers, scale=side.scale, **side.overrides)
