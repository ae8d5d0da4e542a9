"""``netspec diff``: what changed between two networks, and which weights carry over.

:func:`diff` compares two specs from the static pass alone (no torch): layers added, removed,
changed and moved, params and MACs, and every ``state_dict`` key. :func:`format_text` and
:func:`diff_json` show it for a terminal and for scripts.

Example::

    import netspec
    from netspec.diff import diff, format_text
    d = diff(netspec.load("specs/resnet.yaml"), netspec.load("edited.yaml"))
    print(format_text(d))
    exit(0 if d.same else 1)
"""

from .core import diff
from .json_report import diff_json, format_json
from .model import (
    Aspect,
    Change,
    Diff,
    Difference,
    KeyDiff,
    KeyStatus,
    Layer,
    LayerChange,
    Rename,
    Side,
    Unknown,
    apply_renames,
    renamed_by,
)
from .text import format_change, format_text

__all__ = [
    "Aspect",
    "Change",
    "Diff",
    "Difference",
    "KeyDiff",
    "KeyStatus",
    "Layer",
    "LayerChange",
    "Rename",
    "Side",
    "Unknown",
    "apply_renames",
    "diff",
    "diff_json",
    "format_change",
    "format_json",
    "format_text",
    "renamed_by",
]
