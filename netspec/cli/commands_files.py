"""The commands that help write specs: ``new``, ``schema``, ``list`` and ``lsp`` (no torch)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ..errors import NetspecError
from ..files import write_bytes_atomic
from ..source import show
from .outputs import _output, _refuse_overwriting_code
from .usage import Misuse, _shown


def _new(args: argparse.Namespace) -> int:
    from ..bundled import locate_named
    from ..files import read_spec_bytes
    from ..schema import is_spec_name
    from ..schema_json import schema_line
    from ..source import parse_source
    from ..spec import Spec

    name, output = _name_and_file(args.name, _output(args.output))
    if not is_spec_name(name):  # the whole name: "mynet\n" is none
        raise Misuse(f"{args.name!r} is not a spec name: use letters, digits, _ . and -")
    if output.exists():
        raise Misuse(f"{output} exists already; choose another name or -o FILE")
    if args.source is None:
        text = (Path(__file__).parent.parent / "templates" / "new.yaml").read_text(encoding="utf-8")
    else:
        # read as check reads a spec: a mistyped bundled name is answered with the closest
        data = read_spec_bytes(*locate_named(args.source))  # a regular file, within the limit
        text = data.decode("utf-8", errors="replace")
        # its schema line points into netspec's repository, not beside the copy
        text = re.sub(r"\A# yaml-language-server:.*\n", "", text)
    text = schema_line() + text  # the schema that ships with this netspec
    text, found = re.subn(r"(?m)^name:.*$", f"name: {name}", text, count=1)
    if not found:
        raise Misuse(f"--from {args.source}: the spec has no top-level name: line")
    doc = parse_source(text, str(output))
    doc.location = output.resolve()  # relative imports as they will be read from there
    Spec(doc)  # what is written must check
    write_bytes_atomic(output, text.encode())
    print(f"wrote {_shown(output)}; next: netspec check {_shown(output)} --table")
    return 0


def _name_and_file(given: str, output: Path | None) -> tuple[str, Path]:
    """The network's name and the file to write: ``new mynet`` writes mynet.yaml; ``new
    specs/y.yaml`` (a file name, as a user often types it) writes that file, the network y."""
    if output is None and given.endswith((".yaml", ".yml")):
        return Path(given).stem, Path(given)
    return given, output or Path(f"{given}.yaml")


def _schema(args: argparse.Namespace) -> int:
    import json

    from ..schema_json import spec_json_schema

    text = json.dumps(spec_json_schema(), indent=2, ensure_ascii=False) + "\n"
    output = _output(args.output)
    if output is not None:
        _refuse_overwriting_code(output)  # the schema lists the kinds of plugins
    if output is None:
        sys.stdout.write(text)
    else:
        write_bytes_atomic(output, text.encode())
    return 0


def _list(args: argparse.Namespace) -> int:
    if args.kinds:
        from ..registry import all_kinds

        kinds = all_kinds()
        width = max(len(kind.name) for kind in kinds)
        for kind in kinds:
            print(f"{kind.name:<{width}}  {kind.summary}")
        return 0
    from ..bundled import bundled_dir, bundled_names
    from ..spec import load

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


def _lsp(args: argparse.Namespace) -> int:
    from .. import lsp
    from ..plugins import entry_points_disabled

    if not lsp.available():
        raise Misuse(f"the language server needs pygls: {lsp.INSTALL}")
    installed = not (args.no_entry_points or entry_points_disabled())
    return lsp.serve(tuple(args.plugin), installed)
