"""Renaming a checkpoint's keys on their way into a network: ``--rename OLD=NEW``.

A rule names the first names of a key (between dots) and what to put in their place:

- ``model.16=model.17``: every key that starts with the names ``model.16`` (``model.16.conv.
  weight``; not ``model.160.x``) starts with ``model.17`` instead. A trailing dot is allowed
  (``model.16.=model.17.``). A whole key renames that key alone (``fc.weight=head.weight``).
- ``*`` in OLD matches part of one name, never a dot; NEW takes what each ``*`` matched, in
  order: ``layer*.0.downsample=layer*.0.shortcut``, ``backbone.*=encoder.*``. NEW has as many
  ``*`` as OLD, or none.
- An empty NEW drops the keys (``model.22.dfl=``): they are neither loaded nor unexpected.

All rules apply at once to the checkpoint's keys as written (``model.16=model.17`` and
``model.17=model.18`` shift two layers; neither applies twice). Where several match a key, the
rule that covers the most of its names wins; among equals, one without ``*`` wins over one
with, then the first given. A key moved onto a
key the checkpoint also has under that name replaces it there, as
:func:`netspec.diff.apply_renames` does: literal rules map keys exactly as the diff predicts.

:func:`suggest_renames` proposes the prefix rules that carry the weights of layers whose index
shifted (a row inserted in a list), from the keys and shapes alone.

Example::

    rules = [parse_rename("model.16=model.17")]
    mapped = map_keys(["model.16.conv.weight", "model.0.conv.weight"], rules)
    mapped.sources    # {"model.17.conv.weight": "model.16.conv.weight", "model.0.conv.weight": ...}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .diff.align import opcodes
from .diff.model import Rename, renamed_by
from .errors import NetspecError, printable

Shape = tuple[int, ...]

_HINT = (
    "write OLD=NEW: the first names of a key and what to put in their place "
    "(model.16=model.17); * matches part of one name (layer*.0.downsample=layer*.0.shortcut); "
    "an empty NEW drops the keys"
)
#: what one name of a rule may hold: anything but a dot, '=' and control characters
_NAME = re.compile(r"[^.=\x00-\x1f\x7f]+")


@dataclass(frozen=True, slots=True)
class RenameRule:
    """One ``--rename``: ``old`` and ``new`` as names (a trailing dot taken off); ``new`` is
    ``""`` for a rule that drops keys."""

    old: str
    new: str
    pattern: re.Pattern[str] | None = field(default=None, compare=False)

    @property
    def text(self) -> str:
        return f"{self.old}={self.new}"

    @property
    def width(self) -> int:
        """How many names of a key the rule covers."""
        return self.old.count(".") + 1

    def apply(self, key: str) -> str | None:
        """``key`` renamed (``""``: dropped), or None where the rule does not match it."""
        if self.pattern is None:
            found = renamed_by(key, {self.old: self.new})
            if found is None or found[0] != self.old:
                return None
            return found[1] if self.new else ""
        m = self.pattern.match(key)
        if m is None:
            return None
        if not self.new:
            return ""
        parts = iter(m.groups())
        new = re.sub(r"\*", lambda _: next(parts), self.new) if "*" in self.new else self.new
        return new + key[m.end() :]


def parse_rename(text: str, where: str = "--rename") -> RenameRule:
    """A rule from its text, ``OLD=NEW``; a :class:`NetspecError` naming ``where`` says what
    is wrong with it.

    >>> parse_rename("model.16.=model.17.")
    RenameRule(old='model.16', new='model.17', pattern=None)
    """
    old, eq, new = text.partition("=")
    old, new = old.removesuffix("."), new.removesuffix(".")
    shown = printable(text)[:200]
    if not eq:
        raise NetspecError.plain(where, f'"{shown}" is not a rename: it has no "="', _HINT)
    if not old:
        raise NetspecError.plain(where, f'"{shown}": OLD is empty', _HINT)
    for side, names in (("OLD", old), ("NEW", new)):
        for name in names.split(".") if names else ():
            if not _NAME.fullmatch(name):
                what = "an empty name" if not name else f'the name "{printable(name)[:80]}"'
                raise NetspecError.plain(
                    where,
                    f'"{shown}": {side} has {what}',
                    f"a name holds no '=' or control characters; {_HINT}",
                )
    stars_old, stars_new = old.count("*"), new.count("*")
    if stars_new not in (0, stars_old):
        raise NetspecError.plain(
            where,
            f'"{shown}": NEW has {stars_new} "*" and OLD has {stars_old}',
            "NEW takes what each * of OLD matched, in order: give it as many, or none",
        )
    if not stars_old:
        return RenameRule(old, new)
    body = r"\.".join(
        "".join("([^.]*)" if c == "*" else re.escape(c) for c in re.split(r"(\*)", name))
        for name in old.split(".")
    )
    return RenameRule(old, new, re.compile(rf"{body}(?=\.|$)"))


@dataclass
class Mapped:
    """Where a checkpoint's keys go: ``sources`` maps each key they load into to the
    checkpoint's key; ``dropped`` were dropped by a rule; ``shadowed`` kept their name, yet a
    rule moved another key onto it."""

    sources: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    shadowed: list[str] = field(default_factory=list)
    #: the key each rule moved (or dropped) it to, for the report
    moved: dict[str, str] = field(default_factory=dict)


def map_keys(keys: Iterable[str], rules: Sequence[RenameRule]) -> Mapped:
    """Where each of the checkpoint's ``keys`` goes under ``rules`` (see the module's
    docstring). Two keys moved onto one are an error naming both."""
    literal: dict[str, RenameRule] = {}
    for given in rules:
        if given.pattern is None:
            literal.setdefault(given.old, given)  # the first of equal OLDs wins
    table = {old: r.new for old, r in literal.items()}
    globs = [r for r in rules if r.pattern is not None]
    out = Mapped()
    kept: list[str] = []
    by: dict[str, RenameRule] = {}
    for key in keys:
        rule, new = _best(key, literal, table, globs)
        if rule is None:
            kept.append(key)
            continue
        out.moved[key] = new
        if not new:
            out.dropped.append(key)
        elif new in out.sources:
            raise _collision(new, out.sources[new], by[new], key, rule)
        else:
            out.sources[new], by[new] = key, rule
    for key in kept:
        if key in out.sources:
            out.shadowed.append(key)
        else:
            out.sources[key] = key
    return out


def _best(
    key: str,
    literal: dict[str, RenameRule],
    table: dict[str, str],
    globs: list[RenameRule],
) -> tuple[RenameRule | None, str]:
    """The rule that covers the most names of ``key`` (the first among equals), and ``key``
    renamed by it."""
    best: RenameRule | None = None
    new = ""
    found = renamed_by(key, table) if table else None
    if found is not None:
        best = literal[found[0]]
        new = found[1] if best.new else ""
    for rule in globs:
        if best is not None and rule.width <= best.width:
            continue
        renamed = rule.apply(key)
        if renamed is not None:
            best, new = rule, renamed
    return best, new


def _collision(
    new: str, first: str, rule_1: RenameRule, second: str, rule_2: RenameRule
) -> NetspecError:
    return NetspecError.plain(
        "--rename",
        f"two keys of the checkpoint would load into {printable(new)}: {printable(first)} "
        f"(by {printable(rule_1.text)}) and {printable(second)} (by {printable(rule_2.text)})",
        "make the renames name different keys",
    )


# suggestions


@dataclass
class _Node:
    """A name of the key tree: the tensors right under it, and the names under it in order."""

    path: str
    tensors: dict[str, Shape] = field(default_factory=dict)
    children: dict[str, _Node] = field(default_factory=dict)
    exact: int = 0  # a hash of everything under it, names and shapes
    shape: int = 0  # ... the same with every index written as #: equal for a shifted layer


def _tree(shapes: Mapping[str, Shape]) -> _Node:
    root = _Node("")
    for key, shape in shapes.items():
        *parents, leaf = key.split(".")
        node = root
        for name in parents:
            child = node.children.get(name)
            if child is None:
                child = node.children[name] = _Node(f"{node.path}.{name}" if node.path else name)
            node = child
        node.tensors[leaf] = shape
    order: list[_Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children.values())
    for node in reversed(order):  # the names under a node before the node
        own = tuple(sorted(node.tensors.items()))
        kids = sorted(node.children.items(), key=lambda item: _place(item[0]))
        node.exact = hash((own, tuple((n, c.exact) for n, c in kids)))
        node.shape = hash((own, tuple(("#" if n.isdigit() else n, c.shape) for n, c in kids)))
    return root


def suggest_renames(old: Mapping[str, Shape], new: Mapping[str, Shape]) -> tuple[Rename, ...]:
    """The prefix renames that carry the checkpoint's (``old``) weights into the layers of the
    network (``new``) that they match once the indices of a list are aligned (difflib, as the
    diff aligns layers), each with the number of keys it carries into a key of its shape.

    >>> suggest_renames({"0.w": (2,), "1.w": (3,)}, {"0.w": (2,), "1.w": (5,), "2.w": (3,)})
    (Rename(old='1', new='2', keys=1),)
    """
    pairs: list[tuple[str, str]] = []
    stack = [(_tree(old), _tree(new))]
    while stack:
        x, y = stack.pop()
        for cx, cy in _matched(x, y):
            if cx.path.rpartition(".")[2] != cy.path.rpartition(".")[2]:
                pairs.append((cx.path, cy.path))
            if cx.exact != cy.exact:
                stack.append((cx, cy))
    pairs.sort(key=lambda p: _order(p[0]))
    table = dict(pairs)
    counts: dict[str, int] = {}
    for key, shape in old.items():
        found = renamed_by(key, table)
        if found is not None and new.get(found[1]) == shape:
            counts[found[0]] = counts.get(found[0], 0) + 1
    return tuple(Rename(a, b, counts[a]) for a, b in pairs if counts.get(a))


def _place(name: str) -> tuple[int, int | str]:
    """Indices in their order, then names in theirs (a module registers its children in an
    order of its own: Ultralytics' C2f has cv1, cv2, m; netspec's, cv1, m, cv2)."""
    return (0, int(name)) if name.isdigit() else (1, name)


def _order(path: str) -> tuple[tuple[int, int | str], ...]:
    return tuple(_place(n) for n in path.split("."))


def _matched(x: _Node, y: _Node) -> list[tuple[_Node, _Node]]:
    """The names under two matched nodes, paired: by name, the indices as sequences, then
    what is left of either by what it holds (a layer renamed, or moved out of a list)."""
    named = [
        (c, y.children[n]) for n, c in x.children.items() if not n.isdigit() and n in y.children
    ]
    xs = sorted((int(n), c) for n, c in x.children.items() if n.isdigit())
    ys = sorted((int(n), c) for n, c in y.children.items() if n.isdigit())
    cx, cy = [c for _, c in xs], [c for _, c in ys]
    pairs: list[tuple[_Node, _Node]] = []
    for tag, i1, i2, j1, j2 in opcodes([c.shape for c in cx], [c.shape for c in cy]):
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            pairs.extend(zip(cx[i1:i2], cy[j1:j2], strict=True))
    pairs = named + pairs
    taken_x, taken_y = {id(a) for a, _ in pairs}, {id(b) for _, b in pairs}
    waiting: dict[int, list[_Node]] = {}
    for c in y.children.values():
        if id(c) not in taken_y:
            waiting.setdefault(c.shape, []).append(c)
    for c in x.children.values():
        if id(c) not in taken_x and waiting.get(c.shape):
            pairs.append((c, waiting[c.shape].pop(0)))
    return pairs
