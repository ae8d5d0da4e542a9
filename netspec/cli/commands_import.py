"""``netspec import``: the spec of a PyTorch model (MODULE:CALLABLE, whose code it runs) or of a
torch.export archive (.pt2). What the command line gets wrong is said before torch is imported."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from ..files import shorten, write_bytes_atomic
from .outputs import _output, _refuse_overwriting_code, _same_file
from .usage import Misuse, _shown
from .values import _input_shape, parse_sets


def _import(args: argparse.Namespace) -> int:
    output = _output(args.output)
    from ..schema import SPEC_NAME_PATTERN
    from ..source import parse_source
    from ..spec import Spec

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
    from ..importing import from_exported, from_module
    from ..importing.target import TargetError, load_target

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

    from ..files import kind_of

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
