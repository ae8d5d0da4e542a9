"""Regenerate docs/gallery.md and docs/gallery/*.svg from the bundled specs.

Run with ``make gallery``. Each SVG carries the SHA-256 of the DOT source it was drawn from and
the command that draws it, so tests/test_diagram.py can tell, without Graphviz, when a picture
is out of date with its spec.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import netspec
from netspec.bundled import bundled_names
from netspec.files import write_bytes_atomic

DOCS = Path(__file__).resolve().parent
MARK = "<!-- netspec-dot-sha256: {} (netspec render {}) -->"
FULL = 10**6  # --expand
#: from the zoo, as `netspec render NAME --depth N` draws them (None: the default depth), each
#: with what to look at
ZOO = [
    (
        "torchvision/resnet50_fpn",
        3,
        "With `--depth 3`: the pyramid's lateral and output convolutions side by side, from "
        "stride 4 (56 × 56) on the left to stride 32 (7 × 7) on the right, as the spec writes "
        "them; the body's stages cut into two columns.",
    ),
    (
        "ultralytics/yolov8",
        None,
        "At its default depth, cut into columns: the backbone, the top-down neck, the "
        "bottom-up neck and the detection head, each concat's skip drawn in blue.",
    ),
    (
        "unet",
        FULL,
        "Every layer (`--expand`): still a U, each double conv drawn as a row, encoder rows on "
        "the left, decoder rows above them on the right.",
    ),
]
INTRO = [
    "# Gallery",
    "",
    "The bundled specs as `netspec render` draws them by default (regenerate with",
    "`make gallery`; `netspec render SPEC --expand` draws every layer).",
    "",
    "How to read them: a rounded box is a layer, coloured by what it does (the legend under",
    "the outputs lists the colours a picture uses); a bold grey box is a block drawn as one",
    "node, with its name and what it is, its input → output shape, parameters and MACs; a thin",
    "dashed grey frame holds a block's layers, and says its name; a thick blue arrow is a skip",
    "(a residual's shortcut, or a named tensor read further on, around other layers). A",
    "note-shaped box is a tensor the network holds (a `parameter` or a `buffer`), drawn just",
    "above the layer that reads it; a grey double line ties a module called again (`call`) to",
    "the layer or block whose weights it shares. An edge is labelled with the",
    "shape of the tensor it carries, once per tensor: where several layers read it, on the edge",
    "to the first of them. Branches, and layers that read nothing from each other, stand side",
    "by side in the order the spec writes them.",
    "",
    "A picture too long to read on a screen is cut into columns, read left to right, each from",
    "the top; an edge goes up from the foot of one column to the head of the next, and a block",
    "that a cut splits says (continued) in its next column. An encoder-decoder whose skips join",
    "at matching sizes, such as the U-Net, is drawn as a U: down the left, up the right, each",
    "skip straight across. `netspec render --layout straight` draws one column instead;",
    "`--layout columns` and `--layout u` ask for the others.",
    "",
]


def picture(name: str, depth: int | None) -> tuple[str, str]:
    """The file name of ``name``'s picture at ``depth``, and its SVG marked with its DOT's hash."""
    spec = netspec.load(name)
    args = {None: "", FULL: " --expand"}.get(depth, f" --depth {depth}")
    file = name.replace("/", "-") + {None: "", FULL: "-expanded"}.get(depth, f"-depth{depth}")
    dot = spec.to_dot(depth=depth)
    svg = spec.diagram("svg", depth=depth).decode()
    head, sep, rest = svg.partition("?>\n")
    mark = MARK.format(hashlib.sha256(dot.encode()).hexdigest(), name + args)
    return f"{file}.svg", f"{head}{sep}{mark}\n{rest}" if sep else svg


def main() -> int:
    folder = DOCS / "gallery"
    folder.mkdir(exist_ok=True)
    lines = list(INTRO)
    drawn = []
    classic = [n for n in bundled_names() if "/" not in n]  # the zoo draws like its cousins
    for name in classic:
        file, svg = picture(name, None)
        write_bytes_atomic(folder / file, svg.encode())
        drawn.append(file)
        description = netspec.load(name).description
        lines += [f"## {name}", "", description, "", f"![{name}](gallery/{file})", ""]
    lines += ["## From the zoo", "", "Two of the networks under specs/torchvision and"]
    lines += ["specs/ultralytics, and the U-Net drawn whole.", ""]
    for name, depth, note in ZOO:
        file, svg = picture(name, depth)
        write_bytes_atomic(folder / file, svg.encode())
        drawn.append(file)
        description = netspec.load(name).description
        lines += [f"### {file.removesuffix('.svg')}", "", description, "", note, ""]
        lines += [f"![{name}](gallery/{file})", ""]
    for old in folder.glob("*.svg"):  # a picture no longer drawn
        if old.name not in drawn:
            old.unlink()
    write_bytes_atomic(DOCS / "gallery.md", "\n".join(lines).encode())
    print(f"wrote {DOCS / 'gallery.md'} and {len(drawn)} pictures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
