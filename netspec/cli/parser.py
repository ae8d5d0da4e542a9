"""The command line: one ``_add_COMMAND`` a command, each naming the function that runs it."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TypeAlias

from ..errors import did_you_mean
from .commands_diff import _diff
from .commands_files import _list, _lsp, _new, _schema
from .commands_import import _import
from .commands_spec import _build, _check, _render, _summary
from .completion import commands
from .completion_scripts import SHELLS, script
from .options import add_plugin_options, add_set
from .parser_training import add_compare, add_train
from .usage import _shown
from .values import _batch, _gigabytes, _natural, _positive

Subparsers: TypeAlias = "argparse._SubParsersAction[_Parser]"


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors (``unrecognized arguments: ...``) echo what was
    given with its control characters escaped, as every other message does."""

    def error(self, message: str) -> NoReturn:
        super().error(_shown(message))

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """A command or choice not among them is named with the closest one (``chek``:
        ``check``; ``--format svgg``: ``svg``)."""
        if isinstance(action, argparse._SubParsersAction) and value not in action.choices:
            hint = did_you_mean(value, action.choices, "commands")
            raise argparse.ArgumentError(None, f'no command "{value}": {hint}')
        if action.choices is not None and value not in action.choices:
            hint = did_you_mean(str(value), map(str, action.choices), "choices")
            raise argparse.ArgumentError(action, f'invalid choice: "{value}": {hint}')
        super()._check_value(action, value)

    def parse_args(  # type: ignore[override]  # argparse's overloads, one of them used here
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """As argparse's, but an unknown option is named with the closest of its command's
        (``--fromat``: ``--format``)."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(
                f"unrecognized arguments: {' '.join(extras)}{_closest_option(extras, self, parsed)}"
            )
        return parsed


def _closest_option(
    extras: list[str], parser: argparse.ArgumentParser, parsed: argparse.Namespace
) -> str:
    """``: did you mean "--format"?`` for the first unknown option, where one of its command's
    options is close to it; else ""."""
    unknown = next((w.split("=")[0] for w in extras if w.startswith("--")), "")
    if len(unknown) > 64:  # no typo of an option's name
        return ""
    command = getattr(parsed, "command", None)
    for action in parser._actions:
        if unknown and isinstance(action, argparse._SubParsersAction) and command in action.choices:
            options = [o for a in action.choices[command]._actions for o in a.option_strings]
            close = difflib.get_close_matches(unknown, options, n=1, cutoff=0.6)
            return f': did you mean "{close[0]}"?' if close else ""
    return ""


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="netspec",
        description="Declare neural networks as YAML files: check shapes without torch, "
        "build plain PyTorch modules.",
    )
    from .. import __version__  # the package, imported already: netspec.cli is inside it

    parser.add_argument("-V", "--version", action="version", version=f"netspec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_check(sub)
    _add_build(sub)
    _add_render(sub)
    _add_diff(sub)
    _add_summary(sub)
    _add_new(sub)
    _add_schema(sub)
    _add_list(sub)
    _add_import(sub)
    add_train(sub)
    add_compare(sub)
    _add_lsp(sub)
    _add_completion(sub, parser)
    for command in sub.choices.values():
        add_plugin_options(command)
    return parser


def _add_check(sub: Subparsers) -> None:
    check = sub.add_parser("check", help="validate and shape-check specs (no torch)")
    check.add_argument("specs", nargs="+", metavar="SPEC", help="spec files or bundled names")
    check.add_argument("--table", action="store_true", help="print the per-layer table")
    check.add_argument(
        "--train",
        action="store_true",
        help="predict the peak memory of one training step (needs --batch; no torch)",
    )
    check.add_argument("--batch", type=_batch, metavar="N", help="--train: the step's batch")
    check.add_argument(
        "--optimizer",
        choices=("sgd", "adamw"),
        help="--train: sgd (with momentum, the default) or adamw",
    )
    add_set(check)
    check.set_defaults(run=_check)


def _add_build(sub: Subparsers) -> None:
    build = sub.add_parser("build", help="compile a spec to an nn.Module and run it once")
    build.add_argument("spec", metavar="SPEC", help="a spec file or bundled name")
    build.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="save the module: .pt (TorchScript), .pt2 (torch.export) or .onnx (ONNX, with "
        "netspec[onnx]); checked before it is written",
    )
    build.add_argument(
        "--meta", action="store_true", help="build on the meta device: no memory for weights"
    )
    build.add_argument(
        "--max-memory",
        type=_gigabytes,
        default=8.0,
        metavar="GB",
        help="refuse to build what needs more memory (default 8 GB)",
    )
    build.add_argument(
        "--seed",
        type=_natural,
        metavar="N",
        help="initialise the weights from this seed: the same weights every time",
    )
    build.add_argument(
        "--init-from",
        metavar="FILE",
        help="load the weights of this checkpoint (a .pt/.pth state_dict, a netspec, "
        "torchvision or Ultralytics checkpoint; read as data, never run) where key and shape "
        "match, and report the rest by name",
    )
    build.add_argument(
        "--rename",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="load the checkpoint's keys under OLD (a prefix of names; * matches part of a "
        "name) as NEW; an empty NEW drops them (repeatable)",
    )
    build.add_argument(
        "--strict",
        action="store_true",
        help="with --init-from: fail, loading nothing, unless every key loads",
    )
    add_set(build)
    build.set_defaults(run=_build)


def _add_render(sub: Subparsers) -> None:
    render = sub.add_parser("render", help="draw a spec with Graphviz (no torch)")
    render.add_argument("spec", metavar="SPEC", help="a spec file or bundled name")
    render.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="output file (default: NAME.FORMAT, NAME-diff.FORMAT with --diff)",
    )
    render.add_argument(
        "--format",
        choices=("svg", "png", "pdf", "dot"),
        help="output format (default: from -o, else svg)",
    )
    levels = render.add_mutually_exclusive_group()
    levels.add_argument(
        "--depth",
        type=_positive,
        metavar="N",
        help="draw blocks below level N as single nodes (default: what fits a screen)",
    )
    levels.add_argument("--expand", action="store_true", help="draw every layer")
    render.add_argument(
        "--rankdir", choices=("TB", "LR"), default="TB", help="top to bottom, or left to right"
    )
    render.add_argument(
        "--layout",
        choices=("auto", "straight", "columns", "u"),  # netspec.diagram.LAYOUTS, kept unimported
        default="auto",
        help="auto (default): a U for an encoder-decoder with skips across (U-Net), columns "
        "where one would be too long for a screen; straight: one column; columns; u: down "
        "the left, up the right",
    )
    render.add_argument(
        "--diff",
        metavar="SPEC",
        help="draw SPEC with what changed since this version of it marked: added layers "
        "green, changed amber, moved purple, removed drawn where they stood in dashed red. A "
        "spec file, a bundled name, FILE@REV from git, or @REV for SPEC's own file (--diff "
        "@HEAD: the edits since the last commit)",
    )
    render.add_argument(
        "--diff-scale", metavar="NAME", help="the scale of the --diff version (default: --scale)"
    )
    render.add_argument(
        "--diff-set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a param of the --diff version (repeatable; wins --set)",
    )
    add_set(render)
    render.set_defaults(run=_render)


def _add_diff(sub: Subparsers) -> None:
    diff = sub.add_parser(
        "diff",
        help="what changed between two specs, and which weights carry over (no torch)",
        description="Compare network A (the first SPEC) with network B (the second): layers "
        "added, removed and changed, params and MACs, and the fate of every state_dict key. "
        "Exit status 0: the same, 1: different, 2: trouble (misuse, a spec that does not "
        "check). Without B: A at HEAD against A as it is now, or, with --a-*/--b-* options, "
        "A against itself.",
    )
    diff.add_argument(
        "a", metavar="SPEC", help="A, the network before: a spec file, a bundled name, or FILE@REV"
    )
    diff.add_argument(
        "b", metavar="SPEC", nargs="?", help="B, the network after (default: see above)"
    )
    diff.add_argument(
        "--format", choices=("text", "json"), default="text", help="text (default) or json"
    )
    add_set(diff)
    for side in ("a", "b"):
        diff.add_argument(
            f"--{side}-scale", metavar="NAME", help=f"the scale of {side.upper()} (wins --scale)"
        )
        diff.add_argument(
            f"--{side}-set",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"override a param of {side.upper()} (repeatable; wins --set)",
        )
    diff.set_defaults(run=_diff)


def _add_summary(sub: Subparsers) -> None:
    summary = sub.add_parser("summary", help="per-layer summary (torchinfo on the meta device)")
    summary.add_argument("spec", metavar="SPEC", help="a spec file or bundled name")
    summary.add_argument("--depth", type=_positive, metavar="N", help="show layers down to level N")
    summary.add_argument("--batch", type=_batch, default=1, metavar="N", help="batch size (1)")
    summary.add_argument("--format", choices=("table", "json", "csv"), default="table")
    summary.add_argument(
        "--static", action="store_true", help="netspec's own table from the static pass (no torch)"
    )
    summary.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    add_set(summary)
    summary.set_defaults(run=_summary)


def _add_new(sub: Subparsers) -> None:
    new = sub.add_parser("new", help="start a new spec from a template or a bundled spec")
    new.add_argument("name", metavar="NAME", help="the new network's name (and file name)")
    new.add_argument("--from", dest="source", metavar="SPEC", help="copy this spec instead")
    new.add_argument("-o", "--output", metavar="FILE", help="the file to write (NAME.yaml)")
    new.set_defaults(run=_new)


def _add_schema(sub: Subparsers) -> None:
    schema = sub.add_parser("schema", help="print the JSON Schema of spec and library files")
    schema.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    schema.set_defaults(run=_schema)


def _add_list(sub: Subparsers) -> None:
    listing = sub.add_parser(
        "list", help="list the bundled specs (or, with --kinds, the layer kinds)"
    )
    listing.add_argument("--kinds", action="store_true", help="list the layer kinds instead")
    listing.set_defaults(run=_list)


def _add_import(sub: Subparsers) -> None:
    imp = sub.add_parser("import", help="write the spec of a PyTorch model (runs its code)")
    imp.add_argument(
        "target",
        metavar="TARGET",
        help="MODULE:CALLABLE (e.g. torchvision.models:resnet50), or a torch.export archive (.pt2)",
    )
    imp.add_argument(
        "--input",
        action="append",
        metavar="C,H,W",
        help="the input shape, batch excluded, once per input in forward's order (required for "
        "MODULE:CALLABLE; a .pt2 has its own)",
    )
    imp.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an argument of CALLABLE (repeatable)",
    )
    imp.add_argument("--name", metavar="NAME", help="the spec's name (default: CALLABLE's)")
    imp.add_argument("-o", "--output", metavar="FILE", help="write the spec here (default: stdout)")
    imp.set_defaults(run=_import)


def _add_lsp(sub: Subparsers) -> None:
    lsp = sub.add_parser("lsp", help="a language server for editors, on stdio (netspec[lsp])")
    lsp.set_defaults(run=_lsp)


def _add_completion(sub: Subparsers, parser: argparse.ArgumentParser) -> None:
    completion = sub.add_parser(
        "completion",
        help="print the shell completion script of bash, zsh or fish",
        description='bash: eval "$(netspec completion bash)" in ~/.bashrc; zsh: save it as '
        "_netspec in a folder on $fpath; fish: save it as "
        "~/.config/fish/completions/netspec.fish",
    )
    completion.add_argument("shell", choices=SHELLS, help="the shell")

    def run(args: argparse.Namespace) -> int:
        sys.stdout.write(script(args.shell, commands(parser)))
        return 0

    completion.set_defaults(run=run)
