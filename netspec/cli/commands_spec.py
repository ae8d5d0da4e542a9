"""The commands that read a spec: ``check`` and ``render`` (no torch), ``build`` and
``summary`` (torch, imported after the spec has been checked; ``summary --static`` none)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import NetspecError, printable
from ..files import write_bytes_atomic
from .outputs import _output, _refuse_overwriting_spec
from .usage import EXIT_INCOMPLETE, EXIT_SPEC_ERROR, Misuse, _shown
from .values import parse_sets


def _load(args: argparse.Namespace) -> Any:
    from ..spec import load

    spec = load(args.spec, max_layers=args.max_layers, scale=args.scale, **parse_sets(args.set))
    _warn(spec)
    return spec


def _warn(spec: Any) -> None:
    """Warnings (a named tensor nothing reads) go to stderr; they change no exit code."""
    for warning in spec.warnings:
        print(warning.format(), file=sys.stderr)


def _check(args: argparse.Namespace) -> int:
    from ..bundled import locate_named
    from ..imports import is_library, load_library
    from ..report import format_params, format_scales, format_table, summary_line
    from ..source import read_source
    from ..spec import Spec

    overrides = parse_sets(args.set)
    _check_train_options(args)
    failed = 0
    for name in args.specs:
        try:
            doc = read_source(*locate_named(name))
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
        if args.train:
            failed += _print_train_memory(spec, args)
    return EXIT_SPEC_ERROR if failed else 0


def _check_train_options(args: argparse.Namespace) -> None:
    if args.train and args.batch is None:
        raise Misuse("check --train needs --batch N: the batch of the training step")
    for option in ("batch", "optimizer"):
        if getattr(args, option) is not None and not args.train:
            raise Misuse(f"--{option} is an option of check --train: add --train")


def _print_train_memory(spec: Any, args: argparse.Namespace) -> int:
    """Print the training memory estimate (1 where the spec cannot be trained: not a
    classifier)."""
    from ..train_memory import Optimizer, train_memory
    from ..train_memory_text import format_layer_memory, format_train_memory

    try:
        memory = train_memory(spec, args.batch, Optimizer(args.optimizer or "sgd"))
    except NetspecError as e:
        print(e.format(), file=sys.stderr)
        return 1
    print(format_train_memory(memory))
    if args.table:
        print(format_layer_memory(memory))
    return 0


def _build(args: argparse.Namespace) -> int:
    output = _output(args.output)
    if output is not None and output.suffix not in (".pt", ".pt2", ".onnx"):
        raise Misuse(
            f"-o {args.output}: use .pt (TorchScript), .pt2 (torch.export) or .onnx (ONNX)"
        )
    if output is not None and output.suffix == ".onnx":  # before the build's seconds
        from ..onnx_export import INSTALL_ONNX, missing_onnx

        problem = missing_onnx()
        if problem:
            raise Misuse(f"-o {args.output}: {problem}: {INSTALL_ONNX}")
    if output is not None and args.meta:
        raise Misuse("-o saves weights, which --meta does not have")
    rules = _rename_rules(args)
    spec = _load(args)
    if output is not None:
        _refuse_overwriting_spec(output, spec)
    from ..build import build_and_run, save_module

    checkpoint = _checkpoint(args.init_from)  # a bad file fails before the build's seconds
    model, _ = build_and_run(spec, args.meta, int(args.max_memory * 1e9), args.seed)
    report = None if checkpoint is None else _load_weights(model, spec, checkpoint, rules, args)
    print(f"{spec.title}: built from {_shown(spec.file)}")
    for name, shape in spec.input_shapes.items():
        print(f"  input   {shape}" + (f"  {name}" if len(spec.input_shapes) > 1 else ""))
    device = " of meta tensors" if args.meta else ""
    for name, shape in spec.output_shapes.items():
        label = f"  {name}" if len(spec.output_shapes) > 1 else ""
        print(f"  output  {shape}{label}  (checked by a forward pass on a zero batch{device})")
    print(f"  params  {spec.num_params:,}")
    print(f"  MACs    {spec.macs:,}")
    if report is not None:
        from ..transfer import format_transfer

        print(f"  weights {format_transfer(report).rstrip()}".replace("\n", "\n  "))
    if output is not None:
        save_module(model, spec, output)
        print(f"  saved   {_shown(output)}")
    return 0


def _rename_rules(args: argparse.Namespace) -> list[Any]:
    """The --rename rules (misuse if one is not OLD=NEW, or if there is nothing to load)."""
    from ..renaming import parse_rename

    if args.init_from is None:
        used = [
            flag for flag, given in (("--rename", args.rename), ("--strict", args.strict)) if given
        ]
        if used:
            verb = "apply" if len(used) > 1 else "applies"
            raise Misuse(f"{' and '.join(used)} {verb} to a checkpoint: add --init-from FILE")
        return []
    if args.meta:
        raise Misuse("--init-from loads weights, which --meta does not have")
    try:
        return [parse_rename(text) for text in args.rename]
    except NetspecError as e:
        d = e.diagnostics[0]
        raise Misuse(f"{d.message}" + (f"; {d.hint}" if d.hint else "")) from e


def _checkpoint(path: str | None) -> Any:
    """The checkpoint of --init-from, read as data (None without one)."""
    if path is None:
        return None
    from ..checkpoints import read_checkpoint

    return read_checkpoint(path)


def _load_weights(model: Any, spec: Any, checkpoint: Any, rules: list[Any], args: Any) -> Any:
    """Load the checkpoint into the built model; a netspec checkpoint's renames are suggested
    from the diff of its spec and this one, which knows which layer is which."""
    from ..transfer import load_weights
    from ..transfer.saved import diff_renames

    return load_weights(
        model, spec, checkpoint, rules, args.strict, suggestions=diff_renames(checkpoint, spec)
    )


def _render(args: argparse.Namespace) -> int:
    from ..diagram import NoPicture, render_dot, to_dot

    output = _output(args.output)
    fmt = args.format or (output.suffix.lstrip(".") if output is not None else "svg")
    if fmt not in ("svg", "png", "pdf", "dot"):
        raise Misuse(f"-o {args.output}: use .svg, .png, .pdf or .dot (or --format)")
    if args.format and output is not None and output.suffix.lstrip(".") != args.format:
        raise Misuse(f"-o {args.output} does not end in .{args.format}")
    if args.diff is None and (args.diff_scale or args.diff_set):
        raise Misuse("--diff-scale and --diff-set say which version --diff names: add --diff")
    spec = _load(args)
    changes = None if args.diff is None else _changes(args, spec)
    scale = f"-{spec.scale}" if args.scale else ""
    output = output or Path(f"{spec.name}{scale}{'-diff' if changes is not None else ''}.{fmt}")
    _refuse_overwriting_spec(output, spec)
    depth = 99 if args.expand else args.depth
    source = to_dot(
        spec.checked, spec.title, depth, rankdir=args.rankdir, layout=args.layout, changes=changes
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


def _changes(args: argparse.Namespace, spec: Any) -> Any:
    """What changed in ``spec`` since the version ``--diff`` names, for the picture to mark:
    a file or bundled name, ``FILE@REV``, or ``@REV`` for the spec's own file."""
    from ..diagram import changes_between
    from ..diff import diff
    from ..revisions import load_revision, resolve
    from ..spec import load

    word = args.diff
    path, rev = (args.spec, word[1:]) if word.startswith("@") else resolve(word)
    scale = args.diff_scale or args.scale
    overrides = {**parse_sets(args.set), **parse_sets(args.diff_set, "--diff-set")}
    if rev is not None:
        old = load_revision(path, rev, max_layers=args.max_layers, scale=scale, overrides=overrides)
    else:
        old = load(path, max_layers=args.max_layers, scale=scale, **overrides)
    return changes_between(diff(old, spec), old.checked)


def _summary(args: argparse.Namespace) -> int:
    from ..report import format_summary

    output = _output(args.output)
    spec = _load(args)
    if output is not None:
        _refuse_overwriting_spec(output, spec)  # before any work
    if args.static:
        from ..summary import static_summary

        summary = static_summary(spec, args.batch, args.depth)
    else:
        from ..summary import torch_summary

        summary = torch_summary(spec, args.batch, args.depth)
    text = format_summary(summary, args.format)
    if output is not None:
        write_bytes_atomic(output, text.encode())
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
