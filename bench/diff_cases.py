"""Speed of ``netspec diff`` on large networks: two versions of a spec of about 10,000 layers,
the second with one edit, compared by :func:`netspec.diff.diff` in the process (both specs
loaded and checked beforehand, which section 2 times) and by the whole command as a process.

The specs (``layers`` about 10,000; 1,000 with ``--quick``):

- ``flat``: every layer written out one a line in one list (as an ``nn.Sequential`` or
  Ultralytics' rows): an unnamed conv inserted in the middle shifts every later index, the
  hardest case for the alignment;
- ``nested``: blocks of blocks repeated (section 2's): one block's width changed, so every
  call of it changes;
- ``scaled``: the flat spec with its width param changed, every layer changed in place.

Each figure is the median of ``runs`` (5; 1 with ``--quick``): ``diff_s`` (the diff itself),
``text_s`` and ``json_s`` (formatting it), ``load_s`` (reading and checking both files, as
``netspec check`` does), and ``command_s`` (``netspec diff A B`` as a process: the
interpreter, reading and checking both files, the diff and its text).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: layers in each spec (about: a block's layers count too)
LAYERS = 10_000


def flat(layers: int, insert: bool = False, width: int = 8) -> str:
    """``layers`` layers one a line (1×1 conv, relu: few YAML nodes a line, as 10,000 layers
    written out come near the file's limit of 50,000 nodes), with a conv inserted in the middle
    if asked."""
    lines = ["name: flat", "input: [8, 16, 16]", f"params: {{width: {width}}}", "layers:"]
    for i in range(layers // 2):
        if insert and i == layers // 4:
            lines.append('  - conv: {out: "${width}", kernel: 1, bias: false}')
        lines += ['  - conv: {out: "${width}", kernel: 1}', "  - relu"]
    return "\n".join(lines) + "\n"


def pairs(layers: int) -> dict[str, tuple[str, str]]:
    """The two versions of each spec."""
    from .cases import generated  # which registers this module's section: imported when run

    nested = generated("nested", layers)
    return {
        "flat": (flat(layers), flat(layers, insert=True)),
        "nested": (nested, nested.replace("{conv: {out: 8,", "{conv: {out: 16,", 1)),
        "scaled": (flat(layers), flat(layers, width=16)),
    }


def _median(fn: Callable[[], Any], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples), 3)


def _load(path: Path) -> Any:
    import netspec

    return netspec.load(path, max_layers=1_000_000)


def diff_speed(args: argparse.Namespace) -> dict[str, Any]:
    import netspec
    from netspec.diff import diff, format_json, format_text

    layers = 1_000 if args.quick else LAYERS
    runs = 1 if args.quick else 5
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (old, new) in pairs(layers).items():
            a = netspec.loads(old, max_layers=1_000_000)
            b = netspec.loads(new, max_layers=1_000_000)
            d = diff(a, b)
            files = [Path(tmp, f"{name}_a.yaml"), Path(tmp, f"{name}_b.yaml")]
            files[0].write_text(old)
            files[1].write_text(new)
            command = [sys.executable, "-m", "netspec", "diff", *map(str, files)]
            command += ["--max-layers", "1000000"]

            def run(cmd: list[str] = command) -> None:
                subprocess.run(cmd, capture_output=True, check=False, timeout=600)

            out[name] = {
                "layers": len(b.checked.walk()) - 1,
                "same": d.same,
                "diff_s": _median(lambda a=a, b=b: diff(a, b), runs),
                "text_s": _median(lambda d=d: format_text(d), runs),
                "json_s": _median(lambda d=d: format_json(d), runs),
                "load_s": _median(lambda f=files: [_load(p) for p in f], runs),
            }
            if not (args.quick and len(out) > 1):  # --quick: the command once, not per case
                out[name]["command_s"] = _median(run, runs)
    return out
