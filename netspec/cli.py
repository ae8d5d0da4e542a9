"""The ``netspec`` command. Only this module prints or exits.

Exit codes: 0 all good, 1 a spec error (diagnostics on stderr), 2 misuse of the command, 3 the
asked file could not be made for want of a tool (render without Graphviz: the .dot instead).
``check`` and ``list`` never import torch; ``build`` does, after the spec has been checked.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from .elaborate import MAX_LAYERS
from .errors import NetspecError, PluginFailure, clip, printable
from .files import output_problem, shorten, write_bytes_atomic
from .source import parse_value, show

_FLOAT_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")
EXIT_SPEC_ERROR = 1
EXIT_MISUSE = 2
EXIT_INCOMPLETE = 3


class Misuse(Exception):
    """The command line itself is wrong (exit 2)."""


class Terminated(BaseException):
    """SIGTERM, raised where the command is, so that it unwinds as on Ctrl-C: a half-written
    output's temporary file is removed and an existing output is left as it was."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        with _terminate_by_unwinding():
            _load_plugins(args)
            result: int = args.run(args)
            return result
    except NetspecError as e:
        print(e.format(), file=sys.stderr)
        return EXIT_SPEC_ERROR
    except Misuse as e:
        print(f"netspec {args.command}: error: {_shown(e)}", file=sys.stderr)
        return EXIT_MISUSE
    except PluginFailure as e:  # where no pass could give it a layer's position
        print(
            f"netspec {args.command}: error: {_shown(e.message)}\nhint: {_shown(e.hint)}",
            file=sys.stderr,
        )
        return EXIT_SPEC_ERROR
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except Terminated:
        return 128 + signal.SIGTERM
    except BrokenPipeError:  # `netspec check --table | head`: the reader has gone
        sys.stderr.close()
        return 0


@contextlib.contextmanager
def _terminate_by_unwinding() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` (only the main thread can
    handle signals; elsewhere it is left as it is). The previous handler comes back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors (``unrecognized arguments: ...``) echo what was
    given with its control characters escaped, as every other message does."""

    def error(self, message: str) -> NoReturn:
        super().error(_shown(message))


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    _add_set(build)
    build.set_defaults(run=_build)

    render = sub.add_parser("render", help="draw a spec with Graphviz (no torch)")
    render.add_argument("spec", metavar="SPEC", help="a spec file or bundled name")
    render.add_argument("-o", "--output", metavar="FILE", help="output file (default: NAME.FORMAT)")
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
    _add_set(render)
    render.set_defaults(run=_render)

    summary = sub.add_parser("summary", help="per-layer summary (torchinfo on the meta device)")
    summary.add_argument("spec", metavar="SPEC", help="a spec file or bundled name")
    summary.add_argument("--depth", type=_positive, metavar="N", help="show layers down to level N")
    summary.add_argument("--batch", type=_batch, default=1, metavar="N", help="batch size (1)")
    summary.add_argument("--format", choices=("table", "json", "csv"), default="table")
    summary.add_argument(
        "--static", action="store_true", help="netspec's own table from the static pass (no torch)"
    )
    summary.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    _add_set(summary)
    summary.set_defaults(run=_summary)

    new = sub.add_parser("new", help="start a new spec from a template or a bundled spec")
    new.add_argument("name", metavar="NAME", help="the new network's name (and file name)")
    new.add_argument("--from", dest="source", metavar="SPEC", help="copy this spec instead")
    new.add_argument("-o", "--output", metavar="FILE", help="the file to write (NAME.yaml)")
    new.set_defaults(run=_new)

    schema = sub.add_parser("schema", help="print the JSON Schema of spec and library files")
    schema.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    schema.set_defaults(run=_schema)

    listing = sub.add_parser(
        "list", help="list the bundled specs (or, with --kinds, the layer kinds)"
    )
    listing.add_argument("--kinds", action="store_true", help="list the layer kinds instead")
    listing.set_defaults(run=_list)

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

    lsp = sub.add_parser("lsp", help="a language server for editors, on stdio (netspec[lsp])")
    lsp.set_defaults(run=_lsp)
    for command in sub.choices.values():
        _add_plugin_options(command)
    return parser


def _add_plugin_options(p: argparse.ArgumentParser) -> None:
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


def _load_plugins(args: argparse.Namespace) -> None:
    """Named plugins, then the installed ones: before any spec is read, so a bad one is exit 2."""
    from .plugins import PluginError, entry_points_disabled, load_plugins

    installed = not (args.no_entry_points or entry_points_disabled())
    try:
        load_plugins(*args.plugin, entry_points=installed)
    except PluginError as e:
        raise Misuse(str(e)) from e


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(value)


def _natural(text: str) -> int:
    """An argparse type: a whole number from 0 to 2^63 - 1 (a seed)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 0 to 2^63 - 1, got {text!r}"
        )
    return value


def _positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    value = _number(text, float)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _gigabytes(text: str) -> float:
    """An argparse type: a memory limit in GB, above 0 and at most 10^9 (an exabyte)."""
    value = _positive_float(text)
    if value > 1e9:
        raise argparse.ArgumentTypeError(f"expected at most 1e9 GB, got {text!r}")
    return value


def _batch(text: str) -> int:
    """An argparse type: a batch size, from 1 to 2^31 - 1 (what torch indexes a dimension by)."""
    value = _positive(text)
    if value > 2**31 - 1:
        raise argparse.ArgumentTypeError(f"expected at most {2**31 - 1:,}, got {text!r}")
    return value


def _number(text: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(text)
    except ValueError:
        return 0


def _add_set(p: argparse.ArgumentParser) -> None:
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


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``["num_classes=100", "dropout=0.2"]`` → ``{"num_classes": 100, "dropout": 0.2}``."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise Misuse(
                f"--set {clip(item, 60)!r}: expected NAME=VALUE, e.g. --set num_classes=100"
            )
        try:
            value = parse_value(text, "--set") if text.strip() else ""
        except NetspecError as e:
            why = e.diagnostics[0].message
            raise Misuse(
                f"--set {clip(item, 60)!r}: the value is not plain YAML data ({why})"
            ) from e
        if not isinstance(value, (int, float, str, bool, list)):
            raise Misuse(
                f"--set {clip(item, 60)!r}: the value must be a number, true/false, text or a list"
            )
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value):
            value = float(value)  # YAML 1.1 reads 1e-5 (no dot) as text
        out[name.strip()] = value
    return out


def _load(args: argparse.Namespace) -> Any:
    from .spec import load

    spec = load(args.spec, max_layers=args.max_layers, scale=args.scale, **parse_sets(args.set))
    _warn(spec)
    return spec


def _warn(spec: Any) -> None:
    """Warnings (a named tensor nothing reads) go to stderr; they change no exit code."""
    for warning in spec.warnings:
        print(warning.format(), file=sys.stderr)


def _output(text: str | None) -> Path | None:
    """The -o path, refused before any work if it cannot be written (exit 2).

    An output is a regular file, a link to one, or a new name in an existing folder: never a
    device (``-o /dev/null`` would replace the device node), a pipe or a folder.
    """
    if text is None:
        return None
    path = Path(text)
    problem = output_problem(path)
    if problem == "is a folder":
        raise Misuse(f"-o {text} is a folder; give a file name")
    if problem == "its folder does not exist":
        raise Misuse(f"-o {text}: the folder {path.parent} does not exist")
    if problem:
        raise Misuse(f"-o {shorten(text)}: {_refusal(problem)}")
    return path


def _refusal(problem: str) -> str:
    """An output problem as the end of a usage error."""
    if problem.startswith("is "):  # something that is not a file: never replaced
        return f"{problem}; netspec replaces only regular files, give a file name"
    return problem


def _check(args: argparse.Namespace) -> int:
    from .bundled import locate
    from .imports import is_library, load_library
    from .report import format_params, format_scales, format_table, summary_line
    from .source import read_source
    from .spec import Spec

    overrides = parse_sets(args.set)
    failed = 0
    for name in args.specs:
        try:
            doc = read_source(*locate(name))
            if is_library(doc):  # a file of blocks: checked as an import would check it
                blocks = list(load_library(doc).exported())
                noun = "block" if len(blocks) == 1 else "blocks"
                listed = ", ".join(blocks)
                print(f"{_shown(doc.file)}: ok  library of {len(blocks)} {noun}: {listed}")
                continue
            spec = Spec(doc, overrides, args.max_layers, args.scale)
        except NetspecError as e:
            print(e.format(), file=sys.stderr)
            failed += 1
            continue
        _warn(spec)
        line = summary_line(spec.title, spec.input_shapes, spec.output_shapes, spec.checked)
        print(f"{_shown(spec.file)}: ok  {_shown(line)}")
        if args.table:
            if spec.scales:
                print(format_scales(spec.scales, spec.scale))
            print(format_params(spec.params, overrides))
            print(format_table(spec.checked))
            print()
    return EXIT_SPEC_ERROR if failed else 0


def _build(args: argparse.Namespace) -> int:
    output = _output(args.output)
    if output is not None and output.suffix not in (".pt", ".pt2", ".onnx"):
        raise Misuse(
            f"-o {args.output}: use .pt (TorchScript), .pt2 (torch.export) or .onnx (ONNX)"
        )
    if output is not None and output.suffix == ".onnx":  # before the build's seconds
        from .onnx_export import INSTALL_ONNX, missing_onnx

        problem = missing_onnx()
        if problem:
            raise Misuse(f"-o {args.output}: {problem}: {INSTALL_ONNX}")
    if output is not None and args.meta:
        raise Misuse("-o saves weights, which --meta does not have")
    spec = _load(args)
    if output is not None:
        _refuse_overwriting_spec(output, spec)
    from .build import build_and_run, save_module

    model, _ = build_and_run(spec, args.meta, int(args.max_memory * 1e9), args.seed)
    print(f"{spec.title}: built from {_shown(spec.file)}")
    for name, shape in spec.input_shapes.items():
        print(f"  input   {shape}" + (f"  {name}" if len(spec.input_shapes) > 1 else ""))
    device = " of meta tensors" if args.meta else ""
    for name, shape in spec.output_shapes.items():
        label = f"  {name}" if len(spec.output_shapes) > 1 else ""
        print(f"  output  {shape}{label}  (checked by a forward pass on a zero batch{device})")
    print(f"  params  {spec.num_params:,}")
    print(f"  MACs    {spec.macs:,}")
    if output is not None:
        save_module(model, spec, output)
        print(f"  saved   {_shown(output)}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from .diagram import NoPicture, render_dot, to_dot

    output = _output(args.output)
    fmt = args.format or (output.suffix.lstrip(".") if output is not None else "svg")
    if fmt not in ("svg", "png", "pdf", "dot"):
        raise Misuse(f"-o {args.output}: use .svg, .png, .pdf or .dot (or --format)")
    if args.format and output is not None and output.suffix.lstrip(".") != args.format:
        raise Misuse(f"-o {args.output} does not end in .{args.format}")
    spec = _load(args)
    output = output or Path(f"{spec.name}{'-' + spec.scale if args.scale else ''}.{fmt}")
    _refuse_overwriting_spec(output, spec)
    source = to_dot(
        spec.checked, spec.title, depth=99 if args.expand else args.depth, rankdir=args.rankdir
    )
    try:
        data = render_dot(source, fmt)
    except NoPicture as e:  # dot missing, failing or out of time: the DOT text is kept
        fallback = output.with_suffix(".dot")
        _refuse_overwriting_spec(fallback, spec)
        write_bytes_atomic(fallback, source.encode())
        said = f"wrote {_shown(fallback)} instead of {_shown(output)}. {printable(str(e))}"
        hint = f"\nhint: {e.hint}" if e.hint else ""
        print(f"netspec render: {said}{hint}", file=sys.stderr)
        return EXIT_INCOMPLETE  # a Makefile that wanted the picture must notice
    write_bytes_atomic(output, data)
    print(f"{_shown(spec.file)}: wrote {_shown(output)}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    from .report import format_summary

    output = _output(args.output)
    spec = _load(args)
    if output is not None:
        _refuse_overwriting_spec(output, spec)  # before any work
    if args.static:
        from .summary import static_summary

        summary = static_summary(spec, args.batch, args.depth)
    else:
        from .summary import torch_summary

        summary = torch_summary(spec, args.batch, args.depth)
    text = format_summary(summary, args.format)
    if output is not None:
        write_bytes_atomic(output, text.encode())
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _new(args: argparse.Namespace) -> int:
    from .bundled import locate
    from .files import read_spec_bytes
    from .schema import is_spec_name
    from .schema_json import schema_line
    from .source import parse_source
    from .spec import Spec

    if not is_spec_name(args.name):  # the whole name: "mynet\n" is none
        raise Misuse(f"{args.name!r} is not a spec name: use letters, digits, _ . and -")
    output = _output(args.output) or Path(f"{args.name}.yaml")
    if output.exists():
        raise Misuse(f"{output} exists already; choose another name or -o FILE")
    if args.source is None:
        text = (Path(__file__).parent / "templates" / "new.yaml").read_text(encoding="utf-8")
    else:
        path, _ = locate(args.source)
        if not path.is_file():
            raise Misuse(f"--from {args.source}: no such spec (see `netspec list`)")
        data = read_spec_bytes(path, str(path))  # a regular file, within the size limit
        text = data.decode("utf-8", errors="replace")
        # its schema line points into netspec's repository, not beside the copy
        text = re.sub(r"\A# yaml-language-server:.*\n", "", text)
    text = schema_line() + text  # the schema that ships with this netspec
    text, found = re.subn(r"(?m)^name:.*$", f"name: {args.name}", text, count=1)
    if not found:
        raise Misuse(f"--from {args.source}: the spec has no top-level name: line")
    doc = parse_source(text, str(output))
    doc.location = output.resolve()  # relative imports as they will be read from there
    Spec(doc)  # what is written must check
    write_bytes_atomic(output, text.encode())
    print(f"wrote {_shown(output)}; next: netspec check {_shown(output)} --table")
    return 0


def _import(args: argparse.Namespace) -> int:
    output = _output(args.output)
    from .schema import SPEC_NAME_PATTERN
    from .source import parse_source
    from .spec import Spec

    archive = Path(args.target) if args.target.endswith(".pt2") else None
    target = _shown(args.target)
    name = args.name or (
        archive.stem if archive else args.target.rpartition(":")[2].rpartition(".")[2]
    )
    if not re.fullmatch(SPEC_NAME_PATTERN, name):  # the whole name: "a\n" is no name
        raise Misuse(f"--name {name!r}: use letters, digits, _ . and -")
    # what the command line itself gets wrong is said before torch is imported
    if archive is not None:
        if args.input or args.arg:
            raise Misuse(f"{target}: a .pt2 archive has its input shape and no arguments")
        _refuse_unreadable_archive(archive, target)
        if output is not None and _same_file(output, archive):
            raise Misuse(f"-o {_shown(output)} is the archive itself; choose another file")
    else:
        module_name, sep, attr = args.target.partition(":")
        if not (sep and module_name and attr):
            raise Misuse(
                f"{args.target!r}: expected MODULE:CALLABLE, e.g. torchvision.models:resnet50"
            )
        if not args.input:
            raise Misuse(f"{target}: --input C,H,W is required (e.g. --input 3,224,224)")
        if output is not None:  # before the import runs it
            _refuse_overwriting_module(output, module_name)
    shapes = [_input_shape(text) for text in args.input or ()]
    arguments = parse_sets(args.arg)
    from .importing import from_exported, from_module
    from .importing.target import TargetError, load_target

    if archive is not None:
        text = from_exported(archive, name)
    else:
        try:
            model = load_target(args.target, arguments)
        except TargetError as e:
            raise Misuse(_shown(e)) from e
        if output is not None:  # nor anything the import loaded (the module's own imports)
            _refuse_overwriting_code(output)
        text = from_module(model, shapes, name=name, origin=args.target)
    Spec(parse_source(text, str(output or "<import>")))  # what is written must check
    if output is None:
        sys.stdout.write(text)
    else:
        write_bytes_atomic(output, text.encode())
        shown = _shown(output)
        print(f"wrote {shown}; next: netspec check {shown} --table", file=sys.stderr)
    return 0


def _refuse_unreadable_archive(archive: Path, shown: str) -> None:
    """Misuse unless ``archive`` is a regular file (looked at, never opened: a FIFO blocks,
    a device reads forever)."""
    import errno
    import stat

    from .files import kind_of

    try:
        mode = os.stat(archive).st_mode
    except OSError as e:
        missing = e.errno in (errno.ENOENT, errno.ENOTDIR)
        raise Misuse(f"{shown}: {'no such file' if missing else e.strerror}") from e
    if not stat.S_ISREG(mode):
        raise Misuse(f"{shown}: is {kind_of(mode)}, not a torch.export archive (.pt2) file")


def _refuse_overwriting_module(output: Path, module_name: str) -> None:
    """Misuse if ``output`` is the file ``module_name`` would be imported from in the working
    directory (where ``load_target`` looks first), found without importing anything."""
    parts = module_name.split(".")
    base = Path.cwd().joinpath(*parts)
    for file in (base.with_name(parts[-1] + ".py"), base / "__init__.py"):
        if _same_file(output, file):
            raise Misuse(
                f"{_shown(shorten(str(output)))} is the source of {_shown(module_name)} "
                f"({_shown(file)}), which netspec runs; choose another output file"
            )


def _input_shape(text: str) -> list[int]:
    try:
        shape = [int(size) for size in text.split(",")]
    except ValueError:
        shape = []
    if not shape or min(shape) < 1:
        raise Misuse(f"--input {text!r}: expected sizes such as 3,224,224")
    return shape


def _lsp(args: argparse.Namespace) -> int:
    from . import lsp
    from .plugins import entry_points_disabled

    if not lsp.available():
        raise Misuse(f"the language server needs pygls: {lsp.INSTALL}")
    installed = not (args.no_entry_points or entry_points_disabled())
    return lsp.serve(tuple(args.plugin), installed)


def _schema(args: argparse.Namespace) -> int:
    import json

    from .schema_json import spec_json_schema

    text = json.dumps(spec_json_schema(), indent=2, ensure_ascii=False) + "\n"
    output = _output(args.output)
    if output is not None:
        _refuse_overwriting_code(output)  # the schema lists the kinds of plugins
    if output is None:
        sys.stdout.write(text)
    else:
        write_bytes_atomic(output, text.encode())
    return 0


def _shown(value: object) -> str:
    """A file name (or any value a user gave) as the command echoes it: one line, its control
    characters escaped (``x\\n.yaml``), so that it can forge no line of output."""
    return printable(str(value))


def _refuse_overwriting_spec(output: Path, spec: Any) -> None:
    """Misuse if ``output`` cannot be written, or is a file the spec reads (itself, an import)
    or code netspec runs (a plugin)."""
    from .imports import imported_files

    problem = output_problem(output)
    if problem:
        raise Misuse(f"{shorten(str(output))}: {_refusal(problem)}")
    _refuse_overwriting_code(output)
    source = spec.document.location or Path(spec.document.file)
    if _same_file(output, source):
        raise Misuse(f"{output} is the spec itself; choose another output file")
    for imported in imported_files(spec.document):
        if _same_file(output, imported):
            raise Misuse(f"{output} is a file the spec imports; choose another output file")


def _refuse_overwriting_code(output: Path) -> None:
    """Misuse if ``output`` is the source of a module this process has loaded: a plugin
    (named with --plugin or installed), or anything it imports."""
    try:
        mine = os.stat(output)
    except OSError:  # nothing there yet: no module's file
        return
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str):
            continue
        try:
            found = os.stat(file)
        except OSError:
            continue
        if (found.st_dev, found.st_ino) == (mine.st_dev, mine.st_ino):
            raise Misuse(
                f"{_shown(shorten(str(output)))} is the source of {_shown(module.__name__)} "
                f"({_shown(file)}), which netspec runs; choose another output file"
            )


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one existing file (through links, hard links included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (or cannot be looked at): nothing to spare
        return False


def _list(args: argparse.Namespace) -> int:
    if args.kinds:
        from .registry import all_kinds

        kinds = all_kinds()
        width = max(len(kind.name) for kind in kinds)
        for kind in kinds:
            print(f"{kind.name:<{width}}  {kind.summary}")
        return 0
    from .bundled import bundled_dir, bundled_names
    from .spec import load

    names = bundled_names()
    width = max((len(n) for n in names), default=0)
    for name in names:
        try:
            spec = load(bundled_dir() / f"{name}.yaml")
        except NetspecError as e:  # a broken bundled spec is shown, not hidden
            print(f"{name:<{width}}  (does not check: {e.diagnostics[0].message})")
            continue
        params = ", ".join(f"{k}={show(v)}" for k, v in spec.params.items())
        print(f"{name:<{width}}  {spec.description}")
        print(
            f"{'':<{width}}  {spec.input_shape} → {spec.output_shape}, "
            f"{spec.num_params:,} params; {params}"
        )
        if spec.scales:
            print(f"{'':<{width}}  scales {', '.join(spec.scales)} (--scale; default {spec.scale})")
    return 0
