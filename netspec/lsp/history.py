"""What changed in a document since its file's last commit, for the hover of each layer.

:func:`compare_head` runs in the history checker (a second checker process, so that a diff
never delays diagnostics: :mod:`netspec.lsp.server`): it reads the file as ``HEAD`` has it
(:mod:`netspec.revisions`, the only git netspec runs), checks both versions and diffs them
(:mod:`netspec.diff`). What it returns is plain, picklable data: each changed layer's change in
a line (``added``, ``changed: out 64 → 128``, ``moved from model.16``), the ``state_dict`` keys
that would not carry over from HEAD's weights, and the layers removed inside each layer. A
document whose file is in no repository, untracked, or not a spec that checks at HEAD or now,
has none (None: nothing is shown).

:class:`HeadCache` keeps, in the checker, HEAD's checked spec by the file and HEAD's text of
it, and the answers by both texts: a hover after a pause, or a check of a version already
compared, costs git's look at HEAD alone.

Example::

    cache = HeadCache()
    found = compare_head(text, "/repo/specs/net.yaml", "specs/net.yaml", cache)
    found.layers["stage2.0.body.conv1"]     # "changed: out 64 → 128"
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ..diff import Change, Diff, KeyDiff, KeyStatus, diff, format_change
from ..errors import NetspecError
from ..revisions import load_revision, read_revision
from ..source import parse_source
from ..spec import Spec

K = TypeVar("K")
V = TypeVar("V")

#: the revision a document is compared with
REVISION = "HEAD"
#: at most this many versions kept by the cache (of HEAD's specs, and of answers)
CACHED = 8
#: at most this many keys are kept (a network may have 100,000)
MAX_KEYS = 20_000


@dataclass(frozen=True)
class History:
    """What changed in a document since ``against`` (``HEAD``), by the paths of its layers."""

    against: str
    #: each changed layer's change in a line: ``added``, ``changed: out 8 → 16``
    layers: dict[str, str] = field(default_factory=dict)
    #: the keys that do not carry over from the revision's weights by name, and why
    keys: dict[str, str] = field(default_factory=dict)
    #: the layers removed inside each layer ("" for the network): ``bn1: batchnorm``
    removed: dict[str, list[str]] = field(default_factory=dict)


class HeadCache:
    """The revision's checked specs, by file and text, and the answers, by both texts; the
    oldest dropped after :data:`CACHED` of each."""

    def __init__(self) -> None:
        self.heads: OrderedDict[tuple[str, str], Spec | None] = OrderedDict()
        self.answers: OrderedDict[tuple[str, str, str], History | None] = OrderedDict()

    def head(self, path: str, text: str) -> tuple[Spec | None, bool]:
        """The revision's spec of ``path`` whose text is ``text``, and whether it is known."""
        key = (path, _digest(text))
        if key not in self.heads:
            return None, False
        self.heads.move_to_end(key)
        return self.heads[key], True

    def keep_head(self, path: str, text: str, spec: Spec | None) -> None:
        _keep(self.heads, (path, _digest(text)), spec)


def compare_head(text: str, path: str | None, shown: str, cache: HeadCache) -> History | None:
    """What changed in ``text`` (the document at ``path``, named ``shown``) since the file's
    version at :data:`REVISION`; None where there is nothing to compare with."""
    if path is None:
        return None
    real = os.path.realpath(path)
    try:
        head_text, _ = read_revision(real, REVISION)
    except NetspecError:  # no git, no repository, untracked: nothing to show
        return None
    key = (real, _digest(head_text), _digest(text))
    if key in cache.answers:
        cache.answers.move_to_end(key)
        return cache.answers[key]
    old, known = cache.head(real, head_text)
    if not known:
        try:
            old = load_revision(real, REVISION)
        except NetspecError:  # HEAD's version does not check: nothing to compare with
            old = None
        cache.keep_head(real, head_text, old)
    found = None if old is None else _against(old, text, real, shown)
    _keep(cache.answers, key, found)
    return found


def _against(old: Spec, text: str, real: str, shown: str) -> History | None:
    try:
        doc = parse_source(text, shown)
        doc.location = Path(real)
        new = Spec(doc)
    except NetspecError:  # the diagnostics say why; a diff needs a network that checks
        return None
    return history_of(diff(old, new), REVISION)


def history_of(d: Diff, against: str) -> History:
    """A diff as a hover shows it, by the paths of b's layers."""
    found = History(against)
    for c in d.layers:
        if c.new is not None:
            found.layers[c.new.path] = format_change(c)
        elif c.change is Change.REMOVED and c.old is not None:
            name = c.old.path.rpartition(".")[2]
            found.removed.setdefault(c.within, []).append(f"{name}: {c.old.text}")
    for k in d.keys:
        why = _fate(k)
        if why and len(found.keys) < MAX_KEYS:
            found.keys[k.key] = why
    return found


def _fate(k: KeyDiff) -> str:
    """Why a key does not carry over by name ("" where it does)."""
    if k.status is KeyStatus.RESHAPED:
        return f"{k.old} → {k.new}: not loaded"
    if k.status is KeyStatus.ADDED and k.renamed is not None and k.carries:
        return f"not loaded by name: it was {k.renamed} (a rename loads it)"
    if k.status is KeyStatus.ADDED:
        return "new: initialised, not loaded"
    if k.status is KeyStatus.REMOVED and k.renamed is None:  # moved: said at its new key
        return "dropped: not in this version"
    if k.status is KeyStatus.SAME and k.renamed is not None:
        return f"loads another layer's tensor by name; its own was {k.renamed}"
    if k.status is KeyStatus.SAME and not k.carries:
        return "loads another layer's tensor by name"
    return ""


def _keep(table: OrderedDict[K, V], key: K, value: V) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > CACHED:
        table.popitem(last=False)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
