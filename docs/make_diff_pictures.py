"""Draw docs/gallery/diff/*.svg: pictures of edited networks, as ``netspec render B --diff A``
draws them, for docs/diff.md.

Run with ``python docs/make_diff_pictures.py``. Each edit is written here, as the text it
replaces in a bundled spec; each SVG carries the SHA-256 of the DOT it was drawn from, so that
tests/test_render_diff.py can tell, without Graphviz, when a picture is out of date.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import netspec
from netspec.diagram import changes_between, render_dot, to_dot
from netspec.diff import diff
from netspec.files import write_bytes_atomic

DOCS = Path(__file__).resolve().parent
FOLDER = DOCS / "gallery" / "diff"
SPECS = DOCS.parent / "specs"
MARK = "<!-- netspec-dot-sha256: {} (docs/make_diff_pictures.py {}) -->"

SMALL = """name: small
description: A small network to show each kind of edit.
input: [3, 32, 32]
layers:
  - conv: {out: 16, kernel: 3, padding: 1}
  - batchnorm
  - relu
  - group:
      name: block
      layers:
        - conv: {name: conv1, out: 16, kernel: 3, padding: 1}
        - batchnorm: {name: bn1}
        - relu
        - conv: {name: conv2, out: 16, kernel: 3, padding: 1}
  - pool: {mode: max, kernel: 2}
  - conv: {name: wide, out: 32, kernel: 3, padding: 1}
  - pool: {mode: avg, global: true}
  - flatten
  - linear: 10
"""
#: each picture: the file, the spec (a bundled name, or the text above), the edits (each a
#: text and what replaces it), and the depth it is drawn at (None: what fits a screen)
EDITS: dict[str, tuple[str, list[tuple[str, str]], int | None]] = {
    # an option changed, a layer removed inside a block, a layer inserted (index shift)
    "small": (
        SMALL,
        [
            ("{name: wide, out: 32,", "{name: wide, out: 64,"),
            ("        - batchnorm: {name: bn1}\n", ""),
            ("  - batchnorm\n  - relu\n", "  - batchnorm\n  - relu\n  - dropout: 0.1\n"),
        ],
        None,
    ),
    # a named stage inserted in the middle of a ResNet: every other key carries over
    "resnet_stage": (
        "resnet",
        [
            (
                "  - stage: {name: stage3, out: 256}\n",
                "  - stage: {name: extra, out: 128, stride: 1}\n"
                "  - stage: {name: stage3, out: 256}\n",
            )
        ],
        None,
    ),
    # a row inserted in YOLOv8's head: every later row's index shifts (Ultralytics' case)
    "yolov8_row": (
        "ultralytics/yolov8",
        [
            (
                '        - C2f: {c2: "${ch(256)}", n: "${reps(3)}", to: small}       '
                "# 15 (P3/8-small)\n",
                '        - C2f: {c2: "${ch(256)}", n: "${reps(3)}"}       # 15 (P3/8-small)\n'
                '        - Conv: {c2: "${ch(256)}", k: 3, s: 1, to: small}\n',
            )
        ],
        None,
    ),
}


def versions(name: str) -> tuple[netspec.Spec, netspec.Spec]:
    """The picture ``name``'s network before and after its edits."""
    source, edits, _ = EDITS[name]
    bundled = "\n" not in source
    text = (SPECS / f"{source}.yaml").read_text(encoding="utf-8") if bundled else source
    file = f"{source.rpartition('/')[2]}.yaml" if bundled else "small.yaml"
    after = text
    for old, new in edits:
        assert after.count(old) == 1, old
        after = after.replace(old, new)
    return netspec.loads(text, file=file), netspec.loads(after, file=f"edited/{file}")


def diff_dot(name: str) -> str:
    """The DOT text of the picture ``name``: the edited network, marked since the original."""
    a, b = versions(name)
    changes = changes_between(diff(a, b), a.checked)
    return to_dot(b.checked, b.title, EDITS[name][2], changes=changes)


def main() -> int:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name in EDITS:
        dot = diff_dot(name)
        svg = render_dot(dot, "svg").decode()
        head, sep, rest = svg.partition("?>\n")
        mark = MARK.format(hashlib.sha256(dot.encode()).hexdigest(), name)
        write_bytes_atomic(FOLDER / f"{name}.svg", f"{head}{sep}{mark}\n{rest}".encode())
    print(f"wrote {len(EDITS)} pictures in {FOLDER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
