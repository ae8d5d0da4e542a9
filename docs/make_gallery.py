"""Regenerate docs/gallery.md and docs/gallery/*.svg from the bundled specs.

Run with ``make gallery``. Each SVG carries the SHA-256 of the DOT source it was drawn from, so
tests/test_diagram.py can tell, without Graphviz, when a picture is out of date with its spec.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import netspec
from netspec.bundled import bundled_names
from netspec.files import write_bytes_atomic

DOCS = Path(__file__).resolve().parent
MARK = "<!-- netspec-dot-sha256: {} -->"


def dot_hash(name: str) -> str:
    return hashlib.sha256(netspec.load(name).to_dot().encode()).hexdigest()


def main() -> int:
    folder = DOCS / "gallery"
    folder.mkdir(exist_ok=True)
    lines = [
        "# Gallery",
        "",
        "The bundled specs as `netspec render` draws them by default (regenerate with",
        "`make gallery`; `netspec render SPEC --expand` draws every layer).",
        "",
        "How to read them: a rounded box is a layer, coloured by what it does (the legend under",
        "the outputs lists the colours a picture uses); a bold grey box is a block drawn as one",
        "node, with its input → output shape, parameters and MACs; a thin dashed grey frame holds",
        "a block's layers; a thick blue arrow is a skip (a residual's shortcut, or a named tensor",
        "read further on). An edge is labelled with the shape of the tensor it carries, once per",
        "tensor: where several layers read it, on the edge to the first of them.",
        "",
    ]
    classic = [n for n in bundled_names() if "/" not in n]  # the zoo draws like its cousins
    for name in classic:
        spec = netspec.load(name)
        svg = spec.diagram("svg").decode()
        head, sep, rest = svg.partition("?>\n")
        marked = f"{head}{sep}{MARK.format(dot_hash(name))}\n{rest}" if sep else svg
        write_bytes_atomic(folder / f"{name}.svg", marked.encode())
        lines += [f"## {name}", "", spec.description, "", f"![{name}](gallery/{name}.svg)", ""]
    write_bytes_atomic(DOCS / "gallery.md", "\n".join(lines).encode())
    print(f"wrote {DOCS / 'gallery.md'} and {len(classic)} pictures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
