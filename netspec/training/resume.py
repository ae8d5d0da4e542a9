"""The spec a run was trained from, read back from its folder (``netspec train --resume RUN``
with no spec named).

Example::

    spec = resume_spec("runs/lenet")
    train(spec, None, resume="runs/lenet")
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import NetspecError
from ..files import read_spec_bytes
from ..source import parse_source
from ..spec import Spec
from .runfolder import RunFolder, spec_hash


def resume_spec(run: str | os.PathLike[str]) -> Spec:
    """The spec of the run in the folder ``run``: its ``spec.yaml`` at the scale and params
    of its ``run.json``, imports found beside the file it was first loaded from."""
    folder = RunFolder.existing(run)
    saved = folder.about()["spec"]
    text = folder.path / "spec.yaml"
    doc = parse_source(
        read_spec_bytes(text, os.path.join(folder.shown, "spec.yaml")), saved["file"]
    )
    original = Path(saved["file"])
    doc.location = original.resolve() if original.exists() else text.resolve()
    spec = Spec(doc, saved["params"], scale=saved["scale"] or None)
    if spec_hash(spec) != saved["hash"]:
        raise NetspecError.plain(
            folder.shown,
            "its spec.yaml is not the spec the run was trained from",
            "restore spec.yaml, or resume with the original spec",
        )
    return spec
