"""Hovers for a file with errors: the shapes of every layer that no error reaches.

``netspec check`` stops where it must: errors in the structure stop the file before any value
is computed, and the first shape error stops the shape pass. An editor wants the rest.
:func:`recover` checks the file again with each layer entry an error is in replaced by a
stand-in (``identity``, keeping the entry's name, ``if:``, and a ``from:`` or ``to:`` of one
tensor, so that the layers around it keep their names and numbers), as are the layers after
it in its list that read its output; a block whose definition is wrong gets a body of one
stand-in, an import that fails is left out, an ``output:`` that does not hold is dropped.
It goes on with the errors that check finds, for at most :data:`MAX_ROUNDS` checks.

Of every check it keeps the layers whose shapes owe nothing to a stand-in: a layer that is
one, holds one, or reads a tensor that one made (directly, or through other layers) is left
out. What is kept is what ``netspec check`` computes for that layer of the file as written.

Example::

    trusted = recover(doc, spans_of(text), error.diagnostics)
    [c.path for c in trusted]          # the layers before the error, and those beside it
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ..errors import Diagnostic, NetspecError, Pos
from ..ir import Checked
from ..schema import SpecFile
from ..source import Document, PathKey
from ..spec import check_document
from .notes import note_position
from .places import entry_ends
from .spans import Spans

#: Checks of a file with stand-ins, at most (each finds at least one more error to stand in for).
MAX_ROUNDS = 8
#: Layers checked in all rounds together, at most (a large file's hovers wait for no more).
MAX_CHECKED = 30_000
#: What an entry becomes, by how often its stand-in failed: keeping its name, if:, from: and
#: to:; its name; nothing.
_LEVELS = 3
#: Top-level keys whose errors a stand-in removes (the layers do not depend on them; the name,
#: which is required, is replaced by a valid one).
_DROPPABLE = ("output", "description", "name")


@dataclass
class Edits:
    """What stands in for the parts of a file that errors are in."""

    #: layer entries, with how many stand-ins each has had
    entries: dict[PathKey, int] = field(default_factory=dict)
    #: blocks whose definition is replaced by one stand-in
    blocks: set[str] = field(default_factory=set)
    #: indexes of imports left out
    imports: set[int] = field(default_factory=set)
    #: top-level keys left out, and ``outputs:`` names whose shape is not checked
    keys: set[str] = field(default_factory=set)
    outputs: set[str] = field(default_factory=set)

    def stubs(self) -> list[PathKey]:
        """The paths of everything a stand-in replaces."""
        return [*self.entries, *(("blocks", b) for b in self.blocks)]


def recover(doc: Document, spans: Spans, diagnostics: list[Diagnostic]) -> list[Checked]:
    """The layers whose shapes the errors in ``diagnostics`` do not reach, checked with
    stand-ins for what the errors are in; ``spans`` are those of ``doc``'s text."""
    edits = Edits()
    kept: dict[tuple[Any, ...], Checked] = {}
    found, checked = diagnostics, 0
    for _ in range(MAX_ROUNDS):
        if not plan(found, doc, spans, edits):
            break  # no error points anywhere a stand-in can go
        patched = patch(doc, edits)
        done: list[Checked] = []
        try:
            check_document(patched, done=done)
            found = []
        except NetspecError as e:
            found = list(e.diagnostics)
        for c in trusted(done, patched, edits.stubs()):
            if c.path or "name" not in edits.keys:  # the network, under a name not its own
                kept.setdefault(identity(c), c)
        checked += len(done)
        if not found or checked > MAX_CHECKED:
            break
    return list(kept.values())


def identity(c: Checked) -> tuple[Any, ...]:
    """What a layer is, the same in every check of the file: its path in the module tree,
    where it is written and where it is called."""
    node = c.node
    site = (node.site[0].file, node.site[1]) if node.site is not None else None
    return (c.path, node.doc.file, node.path, site)


def trusted(done: list[Checked], patched: Document, stubs: list[PathKey]) -> list[Checked]:
    """The layers of ``done`` (in the order checked) whose shapes no stand-in reaches.

    A layer is not trusted where it is a stand-in, reads a tensor an untrusted layer made,
    holds an untrusted layer, or is below a layer untrusted in itself; and, once one of its
    siblings is untrusted, where it is what their parent made of them: a node its kind made
    (it carries its parent's place in the file, as a residual's projection does) or a layer
    reading a tensor its kind made (the residual's sum, which no layer makes). Until nothing
    changes, as a layer found untrusted late makes the readers of its tensors so.
    """
    bad: set[int] = set()
    marked: set[str] = set()  # module paths untrusted in themselves: all below them too
    changed = True
    while changed:
        changed = False
        siblings: dict[str, list[PathKey]] = {}  # a parent's path: its untrusted children's
        for c in done:
            parent = c.path.rpartition(".")[0]
            if id(c) not in bad:
                if _below(c.path, marked) or any(id(child) in bad for child in c.children):
                    bad.add(id(c))
                    changed = True
                elif c.path and _untrusted(c, patched, stubs, bad, siblings.get(parent, [])):
                    bad.add(id(c))
                    marked.add(c.path)
                    changed = True
            if id(c) in bad:
                siblings.setdefault(parent, []).append(c.node.path)
    return [c for c in done if id(c) not in bad]


def _untrusted(
    c: Checked, patched: Document, stubs: list[PathKey], bad: set[int], failed: list[PathKey]
) -> bool:
    """Whether a layer is untrusted in itself (``failed``: its untrusted siblings' places)."""
    node = c.node
    if node.doc is patched and _under(node.path, stubs):
        return True
    if any(v.producer is not None and id(v.producer) in bad for v in c.sources):
        return True
    if not failed:
        return False
    made = any(v.producer is None and not v.name for v in c.sources)  # not an input's
    return made or any(p[: len(node.path)] == node.path for p in failed)


def _below(path: str, marked: set[str]) -> bool:
    parts = path.split(".")
    return any(".".join(parts[:n]) in marked for n in range(1, len(parts)))


def _under(path: PathKey, stubs: list[PathKey]) -> bool:
    return any(path[: len(s)] == s for s in stubs)


# --- where each error is, and what stands in for it --------------------------------------------


def plan(found: list[Diagnostic], doc: Document, spans: Spans, edits: Edits) -> bool:
    """Add a stand-in for what each error of ``found`` is in; whether any was added."""
    added = False
    for d in found:
        if d.severity != "error":
            continue
        pos: Pos | None = d.pos if d.file == doc.file else note_position(d, doc.file)
        hit = spans.at(pos.line - 1, pos.col - 1) if pos is not None else None
        if hit is not None:
            added = _stand_in_for(hit.path, doc.data, edits) or added
    return added


def _stand_in_for(path: PathKey, data: Any, edits: Edits) -> bool:
    ends = entry_ends(path)
    top = str(path[0]) if path else ""
    if ends:
        return _entry(path[: ends[-1]], [path[:e] for e in ends], data, edits)
    if top == "blocks" and len(path) >= 2:
        return _add(edits.blocks, str(path[1]))
    if top == "imports" and len(path) >= 2 and isinstance(path[1], int):
        return _add(edits.imports, path[1])
    if top == "outputs" and len(path) >= 2:
        return _add(edits.outputs, str(path[1])) or _add(edits.keys, "outputs")
    if top in _DROPPABLE or (top and top not in _aliases()):
        return _add(edits.keys, top)
    return False  # params, input, scales, functions, layers: everything depends on them


def _aliases() -> set[str]:
    return {info.alias or name for name, info in SpecFile.model_fields.items()}


def _add(where: set[Any], item: Any) -> bool:
    if item in where:
        return False
    where.add(item)
    return True


def _entry(entry: PathKey, outer: list[PathKey], data: Any, edits: Edits) -> bool:
    """A stand-in for ``entry`` (one more level of it, if it has one), and for the layers
    after it, and after each entry that holds it, that read their output."""
    level = edits.entries.get(entry, -1) + 1
    if level >= _LEVELS:  # the stand-in itself fails: stand in for the entry that holds it
        return len(outer) > 1 and _entry(outer[-2], outer[:-1], data, edits)
    edits.entries[entry] = level
    for holder in outer:
        raw, items = _at(data, holder), _at(data, holder[:-1])
        if not isinstance(items, list) or not isinstance(holder[-1], int):
            continue
        # a stand-in for an inline call (or one that lost its if:) is not as many layers as
        # it stands for: the unnamed layers after it would be numbered otherwise
        renumbers = holder == entry and (
            _options(raw).get("inline") not in (None, False) or (level > 0 and _has(raw, "if"))
        )
        if _has(raw, "if") and not renumbers:
            continue  # left out or not, the layers after it may read another tensor
        for i in range(holder[-1] + 1, len(items)):
            if _has(items[i], "from") and not renumbers:
                break
            edits.entries.setdefault((*holder[:-1], i), 0)
    return True


def _at(data: Any, path: PathKey) -> Any:
    for part in path:
        if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        elif isinstance(data, dict):
            data = data.get(part, next((v for k, v in data.items() if str(k) == part), None))
        else:
            return None
    return data


def _options(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict) and len(raw) == 1:
        options = next(iter(raw.values()))
        return options if isinstance(options, dict) else {}
    return {}


def _has(raw: Any, key: str) -> bool:
    return key in _options(raw)


def stand_in(raw: Any, level: int) -> Any:
    """An ``identity`` for the entry ``raw``, keeping what ``level`` keeps of its options."""
    options = _options(raw)
    kept: dict[str, Any] = {}
    if level < 2 and isinstance(options.get("name"), str):
        kept["name"] = options["name"]
    if level < 1:
        if "if" in options:
            kept["if"] = options["if"]
        for key in ("from", "to"):
            value = options.get(key)
            value = value[0] if isinstance(value, list) and len(value) == 1 else value
            if isinstance(value, str):
                kept[key] = value
    return {"identity": kept} if kept else "identity"


# --- the file with its stand-ins ---------------------------------------------------------------


def patch(doc: Document, edits: Edits) -> Document:
    """A copy of ``doc`` with its stand-ins; what they replace loses its positions, so that
    an error in a stand-in points at the entry it stands for."""
    data = copy.deepcopy(doc.data)
    stubs = sorted(edits.stubs(), key=len)
    done: list[PathKey] = []
    for path in stubs:
        if _under(path, done):
            continue  # inside another stand-in
        parent = _at(data, path[:-1])
        if path[:1] == ("blocks",) and len(path) == 2:  # a block's definition
            new: Any = {"layers": ["identity"]}
        else:
            new = stand_in(_at(data, path), edits.entries.get(path, 0))
        if isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
            parent[path[-1]] = new
        elif isinstance(parent, dict):
            key = next((k for k in parent if str(k) == path[-1]), path[-1])
            parent[key] = new
        done.append(path)
    _drop_keys(data, edits)
    values = _moved(doc.values, done, edits.imports)
    keys = _moved(doc.keys, done, edits.imports)
    return Document(doc.file, doc.text, data, values, keys, doc.location)


def _drop_keys(data: dict[str, Any], edits: Edits) -> None:
    for key in edits.keys:
        data.pop(key, None)
    if "name" in edits.keys:
        data["name"] = "recovering"  # required: a valid one in place of the one that is not
    outputs = data.get("outputs")
    if isinstance(outputs, dict):
        for name in edits.outputs:
            if name in outputs:
                outputs[name] = None
    imports = data.get("imports")
    if isinstance(imports, list) and edits.imports:
        data["imports"] = [x for i, x in enumerate(imports) if i not in edits.imports]


def _moved(
    positions: dict[PathKey, Pos], stubs: list[PathKey], dropped: set[int]
) -> dict[PathKey, Pos]:
    """Positions for the patched data: none inside a stand-in, imports renumbered."""
    out: dict[PathKey, Pos] = {}
    for path, pos in positions.items():
        if any(path[: len(s)] == s and len(path) > len(s) for s in stubs):
            continue
        if dropped and path[:1] == ("imports",) and len(path) > 1 and isinstance(path[1], int):
            if path[1] in dropped:
                continue
            path = ("imports", path[1] - sum(i < path[1] for i in dropped), *path[2:])
        out[path] = pos
    return out
