"""The ``netspec`` command. Only this module prints or exits.

Exit codes: 0 all good, 1 a spec error (diagnostics on stderr), 2 misuse of the command.
``check`` and ``list`` never import torch; ``build`` does, after the spec has been checked.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import NetspecError

EXIT_SPEC_ERROR = 1
EXIT_MISUSE = 2


class Misuse(Exception):
    """The command line itself is wrong (exit 2)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
        return result
    except NetspecError as e:
        print(e.format(), file=sys.stderr)
        return EXIT_SPEC_ERROR
    except Misuse as e:
        print(f"netspec {args.command}: error: {e}", file=sys.stderr)
        return EXIT_MISUSE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netspec",
        description="Declare neural networks as YAML files: check shapes without torch, "
        "build plain PyTorch modules.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="validate and shape-check specs (no torch)")
    check.add_argument("specs", nargs="+", metavar="SPEC", help="spec files or bundled names")
    check.add_argument("--table", action="store_true", help="print the per-layer table")
    _add_set(check)
    check.set_defaults(run=_check)

    build = sub.add_parser("build", help="compile a spec to an nn.Module and run it once")
    build.add_argument("spec", metavar="SPEC", help="a spec file or bundled name")
    build.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="save the module: .pt (TorchScript) or .pt2 (torch.export)",
    )
    _add_set(build)
    build.set_defaults(run=_build)

    listing = sub.add_parser(
        "list", help="list the bundled specs (or, with --kinds, the layer kinds)"
    )
    listing.add_argument("--kinds", action="store_true", help="list the layer kinds instead")
    listing.set_defaults(run=_list)
    return parser


def _add_set(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a param (repeatable); VALUE is read as YAML: 10, 0.5, true, [1, 2]",
    )


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``["num_classes=100", "dropout=0.2"]`` → ``{"num_classes": 100, "dropout": 0.2}``."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise Misuse(f"--set {item!r}: expected NAME=VALUE, e.g. --set num_classes=100")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as e:
            raise Misuse(f"--set {item!r}: the value is not valid YAML") from e
        if not isinstance(value, (int, float, str, bool, list)):
            raise Misuse(f"--set {item!r}: the value must be a number, true/false, text or a list")
        out[name.strip()] = value
    return out


def _load(spec: str, sets: Sequence[str]) -> Any:
    from .spec import load

    return load(spec, **parse_sets(sets))


def _check(args: argparse.Namespace) -> int:
    from .report import format_table, summary_line

    overrides = parse_sets(args.set)
    failed = 0
    for name in args.specs:
        from .spec import load

        try:
            spec = load(name, **overrides)
        except NetspecError as e:
            print(e.format(), file=sys.stderr)
            failed += 1
            continue
        print(f"{spec.file}: ok  " + summary_line(spec.name, spec.input_shape, spec.checked))
        if args.table:
            print(format_table(spec.checked))
            print()
    return EXIT_SPEC_ERROR if failed else 0


def _build(args: argparse.Namespace) -> int:
    output = Path(args.output) if args.output else None
    if output is not None and output.suffix not in (".pt", ".pt2"):
        raise Misuse(f"-o {args.output}: use .pt (TorchScript) or .pt2 (torch.export)")
    spec = _load(args.spec, args.set)
    if output is not None and output.resolve() == Path(spec.document.file).resolve():
        raise Misuse("-o would overwrite the spec itself")
    from .build import build_and_run, save_module

    model, out_shape = build_and_run(spec)
    print(f"{spec.name}: built from {spec.file}")
    print(f"  input   {spec.input_shape}")
    print(f"  output  {out_shape}  (checked by a forward pass on a zero batch)")
    print(f"  params  {spec.num_params:,}")
    print(f"  MACs    {spec.macs:,}")
    if output is not None:
        save_module(model, spec, output)
        print(f"  saved   {output}")
    return 0


def _list(args: argparse.Namespace) -> int:
    if args.kinds:
        from .registry import all_kinds

        for kind in all_kinds():
            print(f"{kind.name:<12} {kind.summary}")
        return 0
    from .bundled import bundled_dir, bundled_names
    from .spec import load

    for name in bundled_names():
        try:
            spec = load(bundled_dir() / f"{name}.yaml")
        except NetspecError as e:  # a broken bundled spec is shown, not hidden
            print(f"{name:<12} (does not check: {e.diagnostics[0].message})")
            continue
        params = ", ".join(f"{k}={_show(v)}" for k, v in spec.params.items())
        print(f"{name:<12} {spec.description}")
        print(
            f"{'':<12} {spec.input_shape} → {spec.output_shape}, "
            f"{spec.num_params:,} params; {params}"
        )
    return 0


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
