"""Spec files as a git revision has them: ``specs/x.yaml@HEAD``, ``@HEAD~2``, ``@main``.

``netspec diff``, ``netspec render --diff`` and the language server's hover read the version of
a spec that a commit holds through this module, and nothing else of git. Its API:

- :func:`resolve` splits a command-line word into the file (or bundled name) and the revision:
  ``resolve("specs/x.yaml@HEAD~2") == ("specs/x.yaml", "HEAD~2")``, ``(word, None)`` where it
  names none;
- :func:`read_revision` gives the text of a file at a revision and its name as messages show
  it: ``read_revision("specs/x.yaml", "HEAD") == (text, "specs/x.yaml@HEAD")``;
- :func:`load_revision` loads and checks that text as a :class:`~netspec.spec.Spec`, its
  relative imports (``./blocks.yaml``) read at the same revision (``std:`` imports are
  netspec's own library, as installed);
- :func:`repository` says which repository holds a file (None for none).

git is run as a program (:func:`netspec.program.run_program`: a deadline, its own process
group), its plumbing only: ``rev-parse`` finds the repository and the commit, ``ls-tree`` the
file's entry, whose size is checked against :data:`~netspec.files.MAX_FILE_BYTES` before
``cat-file`` reads it. Whatever goes wrong (no git, not a repository, an unknown revision, no
such file at that revision, a folder, a link, a submodule) is a :class:`RevisionError` naming
the word. A file's imports are written, as the commit has them, into a temporary folder laid
out as the repository is, and read from there by the ordinary loader; messages name them
``specs/blocks.yaml@HEAD`` as they name the spec. An import that leaves the repository is an
error at its line: it has no version at the revision.

Example::

    spec = load_revision("specs/resnet.yaml", "HEAD~1", scale=None)
    spec.file          # "specs/resnet.yaml@HEAD~1"
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bundled import bundled_names, locate
from .elaborate import MAX_LAYERS
from .errors import Diagnostic, NetspecError, printable
from .files import MAX_FILE_BYTES
from .program import ProgramFailed, run_program
from .source import Document, parse_source

if TYPE_CHECKING:
    from .spec import Spec

#: How long one git command may take, in seconds.
GIT_SECONDS = 20.0
#: At most this many files (the spec and its imports) are read at one revision.
MAX_FILES = 200

_SUFFIXES = (".yaml", ".yml")
_HINT_REV = "HEAD is the last commit, HEAD~1 the one before; git log --oneline lists them"


class RevisionError(NetspecError):
    """A ``FILE@REV`` that names no spec: no git, not a repository, an unknown revision, no
    such file at that revision."""

    def __init__(self, shown: str, message: str, hint: str = "") -> None:
        super().__init__([Diagnostic(shown, message, hint)])


def resolve(word: str) -> tuple[str, str | None]:
    """The file (or bundled name) and the revision a command-line word names.

    A word that is an existing file is that file, ``@`` and all; otherwise it splits at the
    first ``@`` after a ``.yaml`` file, an existing path or a bundled name, so that a revision
    may hold ``@`` itself (``x.yaml@main@{yesterday}``).

    >>> resolve("specs/x.yaml@HEAD~2")
    ('specs/x.yaml', 'HEAD~2')
    >>> resolve("lenet")
    ('lenet', None)
    """
    if os.path.exists(word):
        return word, None
    names: list[str] | None = None
    for i, char in enumerate(word):
        if char != "@" or i == 0:
            continue
        left = word[:i]
        if left.endswith(_SUFFIXES) or os.path.exists(left):
            return left, word[i + 1 :]
        names = bundled_names() if names is None else names
        if left in names:
            return left, word[i + 1 :]
    return word, None


def repository(path: str | os.PathLike[str]) -> Path | None:
    """The top folder of the git repository that holds ``path`` (None where none does, or
    git cannot be run).

    Example: ``repository("specs/resnet.yaml")`` is the checkout's folder.
    """
    try:
        return _top(_existing_folder(Path(os.path.abspath(path))), str(path))
    except RevisionError:
        return None


def read_revision(path: str | os.PathLike[str], rev: str) -> tuple[str, str]:
    """The text of the file ``path`` (a path or a bundled name) at git revision ``rev``, and its
    name as messages show it, ``f"{path}@{rev}"``.

    Example::

        text, shown = read_revision("specs/resnet.yaml", "HEAD")
    """
    tree, rel, shown = _at(path, rev)
    raw = tree.read(rel, shown)
    try:
        return raw.decode("utf-8-sig"), shown
    except UnicodeDecodeError as e:
        raise RevisionError(shown, "file is not UTF-8 text", "save the file as UTF-8") from e


def load_revision(
    path: str | os.PathLike[str],
    rev: str,
    *,
    max_layers: int = MAX_LAYERS,
    scale: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Spec:
    """Load and check the spec ``path`` (a path or a bundled name) as revision ``rev`` has
    it, its relative imports read at that revision too; ``spec.file`` is ``path@rev``.

    Example::

        before = load_revision("specs/resnet.yaml", "HEAD")
    """
    from .spec import Spec

    tree, rel, shown = _at(path, rev)
    with tempfile.TemporaryDirectory(prefix="netspec-rev-") as folder:
        copy = _Copy(tree, Path(os.path.realpath(folder)))
        doc = copy.spec(rel, shown)
        try:
            spec = Spec(doc, dict(overrides or {}), max_layers, scale)
        except NetspecError as e:
            raise copy.renamed(e) from e
    copy.rename_documents(spec)
    return spec


@dataclass(frozen=True)
class _Tree:
    """One commit of one repository: where it is, the commit, and the revision as written."""

    top: Path
    commit: str
    rev: str

    def read(self, rel: str, shown: str) -> bytes:
        """The bytes of the file at ``rel`` (from the top, ``/``-separated) in the commit."""
        listed = _git(self.top, shown, "ls-tree", "-l", "-z", self.commit, "--", rel)
        entry = listed.split(b"\0", 1)[0].decode("utf-8", errors="replace")
        info, _, _ = entry.partition("\t")
        if not info:
            raise RevisionError(
                shown,
                f"no such file at revision {self.rev}",
                f"git log --oneline -- {rel} lists the commits that changed it",
            )
        mode, kind, sha, size = [*info.split(), "", "", "", ""][:4]
        what = {"tree": "a folder", "commit": "a submodule"}.get(kind)
        if mode == "120000":
            what = "a symbolic link"
        if what is not None:
            raise RevisionError(
                shown, f"is {what} at revision {self.rev}, not a spec file", "name a .yaml file"
            )
        if size.isdigit() and int(size) > MAX_FILE_BYTES:
            raise RevisionError(
                shown,
                f"file is {int(size):,} bytes at revision {self.rev}; specs are limited to "
                f"{MAX_FILE_BYTES:,}",
                "a spec describes a network in a few hundred lines; use repeat for depth",
            )
        return _git(self.top, shown, "cat-file", "blob", sha)

    def shown(self, rel: str) -> str:
        """How messages name the file at ``rel``: from the working folder, ``@rev``."""
        where = self.top / rel
        try:
            name = str(where.relative_to(Path.cwd()))
        except ValueError:
            name = str(where)
        return f"{name}@{self.rev}"


def _at(path: str | os.PathLike[str], rev: str) -> tuple[_Tree, str, str]:
    """The commit ``rev`` names in the repository of ``path``, the file's path in it, and the
    name messages give it."""
    shown = f"{path}@{rev}"
    if not rev.strip():
        raise RevisionError(shown, "no revision after @", f"name one, e.g. {path}@HEAD")
    if rev.startswith("-") or _CONTROL.search(rev):
        raise RevisionError(shown, f"{printable(rev)!r} is not a revision", _HINT_REV)
    file, _ = locate(os.fspath(path))
    full = Path(os.path.abspath(file))
    folder = _existing_folder(full)
    top = _top(folder, shown)
    real = Path(os.path.realpath(full.parent)) / full.name
    rel = os.path.relpath(real, top)
    if rel == os.curdir or rel.split(os.sep)[0] == os.pardir:
        raise RevisionError(shown, f"is not a file inside the repository {top}")
    found = _git(top, shown, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", quiet=True)
    commit = found.decode("ascii", errors="replace").strip()
    if not commit:
        raise RevisionError(shown, f'unknown revision "{printable(rev)}" in {top}', _HINT_REV)
    return _Tree(top, commit, rev), Path(rel).as_posix(), shown


_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def _existing_folder(path: Path) -> Path:
    """The nearest folder above ``path`` that exists (the file may be gone from the working
    tree, and its folder with it)."""
    folder = path.parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    return folder


def _top(folder: Path, shown: str) -> Path:
    """The top folder of the repository that holds ``folder``."""
    out = _git(folder, shown, "rev-parse", "--show-toplevel", quiet=True)
    top = out.decode("utf-8", errors="replace").strip()
    if not top:
        raise RevisionError(
            shown,
            f"is not in a git repository ({folder})",
            "FILE@REV reads a file as a commit of its repository has it",
        )
    return Path(os.path.realpath(top))


def _git(folder: Path, shown: str, *args: str, quiet: bool = False) -> bytes:
    """git's output for ``args``, run in ``folder``; with ``quiet``, a failure is ``b""``."""
    argv = ["git", "--literal-pathspecs", "-C", str(folder), *args]
    try:
        return run_program(argv, b"", GIT_SECONDS, "git")
    except ProgramFailed as e:
        if quiet and e.started and not e.timed_out:
            return b""
        hint = "install git" if not e.started else ""
        raise RevisionError(shown, f"cannot read the revision: {e}", hint) from e


class _Copy:
    """A spec's file and its imports, written as one commit has them into ``root`` (laid out
    as the repository is), and the names messages give each."""

    def __init__(self, tree: _Tree, root: Path) -> None:
        self.tree = tree
        self.root = root
        #: each written file's path (as the loader shows it, absolute and relative) → its name
        self.names: dict[str, str] = {}

    def spec(self, rel: str, shown: str) -> Document:
        """The spec at ``rel``, parsed, with every file it imports written beside it."""
        doc = self._write(rel, self.tree.read(rel, shown), shown)
        todo = [(doc, rel)]
        done = {rel}
        while todo:
            current, at = todo.pop()
            for target in self._imports(current, at):
                if target in done:
                    continue
                done.add(target)
                if len(done) > MAX_FILES:
                    raise RevisionError(shown, f"imports more than {MAX_FILES} files")
                child = self._fetch(target)
                if child is not None:
                    todo.append((child, target))
        return doc

    def _imports(self, doc: Document, at: str) -> list[str]:
        """The files inside the repository that ``doc`` (at ``at``) imports by a relative
        path; one outside it is an error at its line."""
        raw = doc.data.get("imports") if isinstance(doc.data, dict) else None
        out: list[str] = []
        for i, item in enumerate(raw if isinstance(raw, list) else []):
            target = item.get("file") if isinstance(item, dict) else item
            if not isinstance(target, str) or not target.endswith(_SUFFIXES):
                continue  # std:NAME, or not an import at all: the loader says which
            if target.startswith("/"):
                continue  # refused by the loader
            rel = posixpath.normpath(posixpath.join(posixpath.dirname(at), target))
            if rel.split("/")[0] == "..":
                raise NetspecError(
                    [
                        doc.diagnostic(
                            ("imports", i),
                            f"cannot import {target} at revision {self.tree.rev}: it is "
                            "outside the repository",
                            "only files of the repository have a version at a revision",
                        )
                    ]
                )
            out.append(rel)
        return out

    def _fetch(self, rel: str) -> Document | None:
        """The imported file at ``rel`` written out, and parsed where it parses (the loader
        reports a file that is missing or does not parse, at the import)."""
        shown = self._name(rel)
        try:
            raw = self.tree.read(rel, shown)
        except RevisionError:
            return None  # no such file then: the loader says "cannot import", at its line
        try:
            return self._write(rel, raw, shown)
        except NetspecError:
            return None

    def _name(self, rel: str, shown: str = "") -> str:
        """Name the copy of the file at ``rel`` (by default, as :meth:`_Tree.shown` does)."""
        shown = shown or self.tree.shown(rel)
        where = self.root / rel
        self.names[str(where)] = shown
        with contextlib.suppress(ValueError):  # the loader shows it from the working folder
            self.names[str(where.relative_to(Path.cwd()))] = shown
        return shown

    def _write(self, rel: str, raw: bytes, shown: str) -> Document:
        where = self.root / rel
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_bytes(raw)
        self._name(rel, shown)
        doc = parse_source(raw, shown)
        doc.location = where
        return doc

    def renamed(self, error: NetspecError) -> NetspecError:
        """``error`` with each written file named as the revision's (``x.yaml@HEAD``)."""
        return NetspecError(self.rename_diagnostics(error.diagnostics))

    def rename_diagnostics(self, diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
        """The diagnostics with the written files' paths replaced by their names."""
        if not self.names:
            return list(diagnostics)
        keys = sorted(self.names, key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(k) for k in keys))

        def fix(text: str) -> str:
            return pattern.sub(lambda m: self.names[m[0]], text)

        return [
            replace(
                d,
                file=fix(d.file),
                message=fix(d.message),
                hint=fix(d.hint),
                notes=tuple(fix(n) for n in d.notes),
            )
            for d in diagnostics
        ]

    def rename_documents(self, spec: Spec) -> None:
        """Name the imported files' documents (the loader named them by their temporary
        paths) as the revision's, and the spec's warnings too."""
        for c in spec.checked.walk():
            docs = [c.node.doc, *(doc for _, _, doc in c.node.expects)]
            if c.node.site is not None:
                docs.append(c.node.site[0])
            for doc in docs:
                doc.file = self.names.get(doc.file, doc.file)
        spec.warnings = self.rename_diagnostics(spec.warnings)
