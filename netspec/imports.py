"""Blocks from other files: a spec's ``imports:``, resolved and checked before anything else.

Example::

    imports:
      - std:resnet                               # netspec's standard library (netspec/library)
      - ../blocks/mine.yaml                      # a file relative to this one
      - {file: std:conv, blocks: [conv_bn_act]}  # only some of a file's blocks

An imported file holds blocks; it may also hold params, imports of its own, or a whole
network. Importing it brings in the blocks it defines (not those it imports itself). Its
blocks see the names of their own file: the blocks defined or imported there, and its params
at their defaults. An import names a
``.yaml`` file by a relative path (never an absolute one) or the standard library; a cycle of
imports is an error that shows every import in it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .bundled import _shown
from .errors import Diagnostic, NetspecError, Pos, did_you_mean
from .files import Unreadable, shorten
from .schema import BlockDef, LibraryFile, SpecFile
from .source import Document, PathKey, read_source, show
from .structure import validate

#: Where ``std:NAME`` imports come from.
LIBRARY = Path(__file__).resolve().parent / "library"
STD = "std:"
#: A chain of imports may be this long (each level is one recursion of the loader).
MAX_IMPORT_DEPTH = 50


@dataclass(eq=False)
class Module:
    """A checked file and the blocks its layers can use (its own and the imported ones)."""

    doc: Document
    spec: SpecFile | LibraryFile
    blocks: dict[str, BlockRef] = field(default_factory=dict)
    #: param values the import gives this file (``{file: ..., params: {...}}``), and where
    settings: dict[str, Any] = field(default_factory=dict)
    settings_at: tuple[Document, PathKey] | None = None
    #: the files this one imports, with the params each import sets: those are checked even
    #: where none of the file's blocks is used
    imports: list[Module] = field(default_factory=list)

    def exported(self) -> dict[str, BlockRef]:
        """The blocks another file gets by importing this one: those defined here."""
        return {name: ref for name, ref in self.blocks.items() if ref.module is self}

    def with_settings(self, settings: dict[str, Any], at: tuple[Document, PathKey]) -> Module:
        """The same file with some params set by an import: its blocks are copies that see them."""
        module = Module(self.doc, self.spec, dict(self.blocks), dict(settings), at, self.imports)
        for name, ref in self.exported().items():
            module.blocks[name] = BlockRef(name, ref.definition, module, ref.raw)
        return module


@dataclass(eq=False)
class BlockRef:
    """A block, with the file that defines it (whose names its layers see)."""

    name: str
    definition: BlockDef
    module: Module
    raw: dict[str, Any]


def library_names() -> list[str]:
    """The files of the standard library, as ``std:NAME`` imports name them."""
    return sorted(p.stem for p in LIBRARY.glob("*.yaml"))


def load_module(doc: Document) -> Module:
    """Resolve the imports of a spec (recursively), then check its structure (first pass)."""
    return _Loader().load(doc, library=False, chain=())


def is_library(doc: Document) -> bool:
    """Whether a file holds only blocks for others to import (no ``layers``, no ``input``)."""
    data = doc.data
    return isinstance(data, dict) and "blocks" in data and not {"layers", "input"} & set(data)


def load_library(doc: Document) -> Module:
    """Check a file of blocks as an import would: its imports, and every block's structure.

    Values inside the blocks are computed, and shapes checked, where a spec uses them.
    """
    return _Loader().load(doc, library=True, chain=())


@dataclass(frozen=True)
class _Link:
    """One step of a chain of imports: the file, and the import that reached it."""

    location: Path | None
    shown: str
    where: str = ""  # file:line:col of the import, "" for the spec itself


class _Loader:
    def __init__(self) -> None:
        self.done: dict[Path, Module] = {}
        #: files that failed, with their diagnostics: each file is read and checked once
        self.failed: dict[Path, list[Diagnostic]] = {}

    def load(self, doc: Document, library: bool, chain: tuple[_Link, ...]) -> Module:
        chain = chain or (_Link(doc.location, doc.file),)
        errors: list[Diagnostic] = []
        imported: dict[str, tuple[BlockRef, PathKey]] = {}
        modules: list[Module] = []
        for path, target, only, settings in _imports(doc):
            module = self.imported(doc, path, target, chain, errors)
            if module is None:
                continue
            if settings:
                module = module.with_settings(settings, (doc, (*path, "params")))
            modules.append(module)
            exported = module.exported()
            names = list(exported) if only is None else only
            for i, name in enumerate(names):
                here: PathKey = path if only is None else (*path, "blocks", i)
                ref = exported.get(name)
                if ref is None:
                    errors.append(
                        doc.diagnostic(
                            here,
                            f'{target} has no block "{name}"',
                            did_you_mean(name, exported, f"blocks of {target}"),
                        )
                    )
                    continue
                earlier = imported.get(name)
                if earlier is not None and earlier[0] is not ref:
                    errors.append(
                        doc.diagnostic(
                            here,
                            f'block "{name}" is imported twice, from different files',
                            "import only the blocks you need: {file: ..., blocks: [...]}",
                            notes=(f"{_where(doc, earlier[1])}: the first import of it",),
                        )
                    )
                imported.setdefault(name, (ref, here))
        own = doc.data.get("blocks") if isinstance(doc.data, dict) else None
        for name in own if isinstance(own, dict) else {}:
            if name in imported:
                errors.append(
                    doc.diagnostic(
                        ("blocks", name),
                        f'block "{name}" is defined here and also imported',
                        "rename this block, or import only the blocks you need: "
                        "{file: ..., blocks: [...]}",
                        key=True,
                        notes=(f"{_where(doc, imported[name][1])}: the import",),
                    )
                )
        if errors:
            raise NetspecError(errors)
        raws = {name: ref.raw for name, (ref, _) in imported.items()}
        spec = validate(doc, raws, library=library and "layers" not in doc.data)
        module = Module(doc, spec, {name: ref for name, (ref, _) in imported.items()})
        module.imports = modules
        for name, definition in spec.blocks.items():
            module.blocks[name] = BlockRef(name, definition, module, doc.data["blocks"][name])
        return module

    def imported(
        self,
        doc: Document,
        path: PathKey,
        target: str,
        chain: tuple[_Link, ...],
        errors: list[Diagnostic],
    ) -> Module | None:
        """The module an import names, loaded once; None after recording why not."""
        try:
            location = _resolve(doc, path, target)
        except NetspecError as e:
            errors.extend(e.diagnostics)
            return None
        here = _where(doc, path)
        cycle = [i for i, link in enumerate(chain) if link.location == location]
        if cycle:
            steps = chain[cycle[0] :]
            names = " → ".join([*(link.shown for link in steps), steps[0].shown])
            errors.append(
                doc.diagnostic(
                    path,
                    f"import cycle: {names}",
                    "move the blocks that both files need into a third file",
                    notes=tuple(f"{link.where}: imports {link.shown}" for link in steps[1:]),
                )
            )
            return None
        if location in self.done:
            return self.done[location]
        if location in self.failed:
            errors.extend(self.failed[location])
            return None
        if len(chain) >= MAX_IMPORT_DEPTH:
            errors.append(
                doc.diagnostic(path, f"imports are nested more than {MAX_IMPORT_DEPTH} files deep")
            )
            return None
        try:
            child = read_source(location, _shown(location))
        except Unreadable as e:  # said at the import, and not remembered: another may read it
            errors.append(_unreadable(doc, path, target, location, e))
            return None
        except NetspecError as e:  # empty, not YAML: at its line, or at the import where none
            self.failed[location] = [
                _unparsed(doc, path, target, location, d, here) for d in e.diagnostics
            ]
            errors.extend(self.failed[location])
            return None
        try:
            module = self.load(child, True, (*chain, _Link(location, child.file, here)))
        except NetspecError as e:
            failed = [  # a cycle's message already shows each import in it
                d
                if any(n.startswith(f"{here}:") for n in d.notes)
                else replace(d, notes=(*d.notes, f"{here}: imported here"))
                for d in e.diagnostics
            ]
            self.failed[location] = failed
            errors.extend(failed)
            return None
        self.done[location] = module
        return module


def imported_files(doc: Document) -> set[Path]:
    """Every file a checked spec imports, directly or through others (``std:`` files too).

    Found by following ``imports:`` alone; a file that cannot be read (it was checked before
    this is asked, so only a file changed since) is left out.
    """
    found: set[Path] = set()
    todo = [doc]
    while todo:
        current = todo.pop()
        for path, target, _, _ in _imports(current):
            try:
                location = _resolve(current, path, target)
                if location not in found:
                    found.add(location)
                    todo.append(read_source(location, _shown(location)))
            except NetspecError:
                continue
    return found


def _imports(doc: Document) -> list[tuple[PathKey, str, list[str] | None, dict[str, Any]]]:
    """The well-formed entries of ``imports:`` (the first pass reports the others): where,
    the file, the blocks it names (None: all), the params it sets."""
    raw = doc.data.get("imports") if isinstance(doc.data, dict) else None
    out: list[tuple[PathKey, str, list[str] | None, dict[str, Any]]] = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(item, str):
            out.append((("imports", i), item, None, {}))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("file"), str):
            continue
        blocks, settings = item.get("blocks"), item.get("params", {})
        if blocks is not None and not (
            isinstance(blocks, list) and all(isinstance(b, str) for b in blocks)
        ):
            continue
        if isinstance(settings, dict):
            out.append((("imports", i), item["file"], blocks, settings))
    return out


def _resolve(doc: Document, path: PathKey, target: str) -> Path:
    """The file an import names; a NetspecError if it names none that may be imported."""
    if target.startswith(STD):
        name = target[len(STD) :]
        found = LIBRARY / f"{name}.yaml"
        if name not in library_names():
            raise NetspecError(
                [
                    doc.diagnostic(
                        path,
                        f"netspec's library has no {show(name)}",
                        did_you_mean(name, library_names(), "library files (std:NAME)"),
                    )
                ]
            )
        return found
    relative = Path(target)
    if relative.is_absolute() or relative.suffix not in (".yaml", ".yml"):
        raise NetspecError(
            [
                doc.diagnostic(
                    path,
                    f"cannot import {show(target)}: an import is a relative path to a .yaml "
                    "file, or std:NAME",
                    "write the path from this file's folder, e.g. ../blocks/common.yaml",
                )
            ]
        )
    base = doc.location.parent if doc.location is not None else Path.cwd()
    # realpath, not Path.resolve: it leaves a loop of links for the reading to report
    return Path(os.path.realpath(base / relative))


def _unreadable(
    doc: Document, path: PathKey, target: str, location: Path, e: Unreadable
) -> Diagnostic:
    """Why an imported file cannot be read, said at the import that names it."""
    hint = "paths are relative to the importing file's folder" if e.missing else e.hint
    message = f"cannot import {show(target)}: {e.reason} ({shorten(_shown(location))})"
    return doc.diagnostic(path, message, hint)


def _unparsed(
    doc: Document, path: PathKey, target: str, location: Path, d: Diagnostic, here: str
) -> Diagnostic:
    """Why an imported file could not be read as YAML: at its own line with a note of the
    import, or, where the problem has no line (an empty file), at the import."""
    if d.pos is not None:
        return replace(d, notes=(*d.notes, f"{here}: imported here"))
    message = f"cannot import {show(target)}: {d.message} ({shorten(_shown(location))})"
    empty = d.message == "file is empty"  # its hint speaks of a spec's name: and layers:
    hint = "an imported file defines blocks:, and may declare params:" if empty else d.hint
    return doc.diagnostic(path, message, hint, notes=d.notes)


def _where(doc: Document, path: PathKey) -> str:
    pos: Pos | None = doc.pos(path)
    return f"{doc.file}:{pos.line}:{pos.col}" if pos else doc.file
