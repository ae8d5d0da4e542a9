"""What the server knows about one version of a document: netspec's own check of the text.

:func:`analyse` runs in the checker process (:mod:`netspec.lsp.worker`) and returns plain,
picklable data: the diagnostics exactly as ``netspec check`` finds them, every checked layer
with where it is written, the blocks the file can call and where each is defined, the params'
values and the spans of the text's YAML. The editor's features read only this.

Example::

    result = analyse("name: x\\ninput: [4]\\nlayers: [{linear: 2}]\\n", "/tmp/x.yaml")
    result.layers[1].name, result.layers[1].output      # ("0", "(2,)")
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, NetspecError, Pos
from ..imports import LIBRARY, STD, is_library, load_library
from ..ir import Checked
from ..source import Document, PathKey, parse_source, read_source
from ..spec import check_document
from ..train_memory import layer_keeps
from . import recovery
from .spans import Spans, spans_of

#: At most this many layers are kept for hovers (a spec may expand to 150,000).
MAX_LAYERS_KEPT = 20_000


@dataclass(frozen=True)
class Layer:
    """One checked layer: its submodule path, shapes and costs, and where it is written."""

    name: str
    text: str
    input: str
    output: str
    params: int
    macs: int
    #: the file (its real path, "" for the document itself when it has none) and data path
    written: tuple[str, PathKey]
    #: a block call's place in the calling file, where it differs from ``written``
    site: tuple[str, PathKey] | None = None
    #: what it keeps for backward in training and its bytes a sample (None: a composite)
    keeps: tuple[str, int] | None = None


@dataclass(frozen=True)
class Block:
    """A block the document can call: its definition and where it is."""

    name: str
    description: str
    args: dict[str, Any]
    file: str
    pos: Pos | None
    #: ``std:conv`` or ``./blocks.yaml`` for an imported block, "" for the file's own
    origin: str = ""


@dataclass
class Analysis:
    """netspec's findings on one text."""

    file: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)
    blocks: dict[str, Block] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    spans: Spans = field(default_factory=Spans)
    #: one line on the result: ``ok  (3, 32, 32) → (10,), 94,762 params`` or the error count
    summary: str = ""


def analyse(
    text: str, path: str | None, shown: str | None = None, recover: bool = False
) -> Analysis:
    """Check ``text`` as the spec (or library) file at ``path`` would be checked.

    Relative imports start from ``path``'s folder (the working directory without one); the
    diagnostics name the file ``shown`` (default ``path``). Where the file has errors, its
    layers are those checked before the first shape error; with ``recover``, also those that
    no error reaches (:mod:`netspec.lsp.recovery`, which checks the file again).
    """
    name = shown or path or "<untitled>"
    here = os.path.realpath(path) if path else ""
    result = Analysis(file=here)
    try:
        doc = parse_source(text, name)
    except NetspecError as e:
        result.diagnostics = list(e.diagnostics)
        return result
    if path:
        doc.location = Path(here)
    result.spans = spans_of(text)
    result.blocks = visible_blocks(doc, here)
    result.params = _written_params(doc)
    done: list[Checked] = []
    try:
        if is_library(doc):
            blocks = list(load_library(doc).exported())
            result.summary = f"ok  library of {len(blocks)} block(s): {', '.join(blocks)}"
            return result
        program, checked, warnings = check_document(doc, done=done)
    except NetspecError as e:
        result.diagnostics = list(e.diagnostics)
        if recover and not is_library(doc):
            done = _merged(done, recovery.recover(doc, result.spans, result.diagnostics))
        result.layers = [_layer(c, here) for c in done[:MAX_LAYERS_KEPT]]
        return result
    result.diagnostics = list(warnings)
    result.params = dict(program.params)
    result.layers = [_layer(c, here) for c in checked.walk()[:MAX_LAYERS_KEPT]]
    result.summary = (
        f"ok  {program.input} → {checked.output}, {checked.params:,} params, {checked.macs:,} MACs"
    )
    return result


def _merged(first: list[Checked], more: list[Checked]) -> list[Checked]:
    """The layers of ``first``, then those of ``more`` that are not already among them."""
    seen = {recovery.identity(c) for c in first}
    return [*first, *(c for c in more if recovery.identity(c) not in seen)]


def _layer(checked: Checked, here: str) -> Layer:
    node = checked.node
    written = (_real(node.doc, here), node.path)
    site = None
    if node.site is not None:
        site = (_real(node.site[0], here), node.site[1])
        site = None if site == written else site
    return Layer(
        name=checked.path,
        text=checked.text(),
        # a parameter or buffer reads nothing: no input to show (nor one a broken layer before
        # it could change)
        input="" if node.kind.holds_tensor else str(checked.input),
        output=str(checked.output),
        params=checked.params,
        macs=checked.macs,
        written=written,
        site=site,
        keeps=layer_keeps(checked),
    )


def _real(doc: Document, here: str) -> str:
    return str(doc.location) if doc.location is not None else here


def _written_params(doc: Document) -> dict[str, Any]:
    params = doc.data.get("params")
    return dict(params) if isinstance(params, dict) else {}


def visible_blocks(doc: Document, here: str) -> dict[str, Block]:
    """The blocks a file can call: those of its imports (as far as they can be read), then its
    own. Errors are not reported here: the check reports them."""
    found: dict[str, Block] = {}
    imports = doc.data.get("imports")
    for target, only in _import_entries(imports if isinstance(imports, list) else []):
        location = import_location(target, doc.location)
        if location is None:
            continue
        try:
            other = read_source(location, str(location))
        except NetspecError:
            continue
        for name, block in _own_blocks(other, str(location), target).items():
            if only is None or name in only:
                found[name] = block
    found.update(_own_blocks(doc, here, ""))
    return found


def _own_blocks(doc: Document, file: str, origin: str) -> dict[str, Block]:
    blocks = doc.data.get("blocks")
    out: dict[str, Block] = {}
    for name, body in (blocks if isinstance(blocks, dict) else {}).items():
        if not isinstance(body, dict):
            continue
        description = body.get("description")
        args = body.get("args")
        out[name] = Block(
            name=name,
            description=description if isinstance(description, str) else "",
            args=dict(args) if isinstance(args, dict) else {},
            file=file,
            pos=doc.keys.get(("blocks", name)),
            origin=origin,
        )
    return out


def _import_entries(items: list[Any]) -> list[tuple[str, list[str] | None]]:
    out: list[tuple[str, list[str] | None]] = []
    for item in items:
        if isinstance(item, str):
            out.append((item, None))
        elif isinstance(item, dict) and isinstance(item.get("file"), str):
            only = item.get("blocks")
            out.append((item["file"], only if isinstance(only, list) else None))
    return out


def import_location(target: str, importer: Path | None) -> Path | None:
    """The file an import names (``std:conv``, ``../blocks.yaml``), or None for one that names
    no importable file (the check says why)."""
    if target.startswith(STD):
        found = LIBRARY / f"{target[len(STD) :]}.yaml"
        return found if found.is_file() else None
    relative = Path(target)
    if relative.is_absolute() or relative.suffix not in (".yaml", ".yml"):
        return None
    base = importer.parent if importer is not None else Path.cwd()
    return Path(os.path.realpath(base / relative))
