"""The first pass: the structure of the whole file, before any value is computed.

It checks the top level, every layer entry of every block (used or not) against its kind's
options model with expressions still unevaluated, every block call's arguments, and the block
call graph (a block may not use itself, directly or through others). Problems that do not
depend on each other are all reported together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .entries import CALL_KEYS, EntryError, call_problems, kind_options, parse_entry
from .errors import Diagnostic, NetspecError, Problem
from .interpolation import has_expression
from .registry import get_kind, is_builtin
from .schema import LibraryFile, SpecFile, is_name
from .source import Document, PathKey
from .validation import ValidatedOnce, validation_diagnostics

#: After this many problems the layers are not looked at further: thousands of unknown kinds
#: cost one "did you mean" search each, and nobody reads the thousandth message.
MAX_ERRORS = 100


def validate(
    doc: Document, imported: Mapping[str, Any] | None = None, library: bool = False
) -> SpecFile | LibraryFile:
    """Check the file's structure and every layer entry; raise all problems together.

    ``imported`` maps the names of imported blocks to their definitions (as written);
    a ``library`` file has only blocks to import, no network of its own.
    """
    errors: list[Diagnostic] = []
    spec: SpecFile | LibraryFile | None = None
    model: type[SpecFile | LibraryFile] = LibraryFile if library else SpecFile
    try:
        spec = model.model_validate(doc.data)
    except ValidationError as e:
        errors.extend(validation_diagnostics(e, doc, (), model))
    data = doc.data
    if not library and isinstance(data, dict) and "input" not in data and "inputs" not in data:
        errors.append(
            doc.diagnostic(
                (),
                'missing key "input"',
                "required: name, input (or inputs: for several, by name), layers",
                key=True,
            )
        )
    for key in ("input", "inputs"):  # optional each, but not empty when written
        if not library and isinstance(data, dict) and key in data and data[key] is None:
            errors.append(
                doc.diagnostic(
                    (key,),
                    f"{key} is empty",
                    "write the input shape without the batch, e.g. input: [3, 224, 224]"
                    if key == "input"
                    else "write each input's name and shape, e.g. inputs: {image: [3, 224, 224]}",
                )
            )
    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    own = data.get("blocks") if isinstance(data.get("blocks"), dict) else {}
    blocks = {**(imported or {}), **own}
    for name in params:
        if not is_name(name):
            errors.append(
                doc.diagnostic(
                    ("params", name),
                    f'param name "{name}" is not a name',
                    "use letters, digits and _, starting with a letter",
                    key=True,
                )
            )
    walker = _Structure(doc, blocks, errors)
    for name, block in own.items():
        _check_block(doc, name, block, errors)
        if isinstance(block, dict) and isinstance(block.get("layers"), list):
            walker.current = name
            walker.entries(block["layers"], ("blocks", name, "layers"))
    if isinstance(data.get("layers"), list):
        walker.current = ""
        walker.entries(data["layers"], ("layers",))
    errors.extend(walker.cycles())
    if walker.stopped:
        errors.append(
            Diagnostic(
                doc.file,
                f"more than {MAX_ERRORS} problems; the first are shown, the rest not looked for",
                "fix these first, then check again",
            )
        )
    if errors or spec is None:
        raise NetspecError(errors)
    return spec


def _check_block(doc: Document, name: str, block: Any, errors: list[Diagnostic]) -> None:
    path: PathKey = ("blocks", name)
    if not is_name(name):
        errors.append(
            doc.diagnostic(
                path,
                f'block name "{name}" is not a name',
                "use letters, digits and _, starting with a letter",
                key=True,
            )
        )
    elif (kind := get_kind(name)) is not None:
        origin = "a built-in kind" if is_builtin(kind) else "a kind from a plugin"
        errors.append(
            doc.diagnostic(
                path, f'block "{name}" has the name of {origin}', "rename the block", key=True
            )
        )
    for key in ("inputs", "outputs"):  # each a tensor once
        names = block.get(key) if isinstance(block, dict) else None
        if isinstance(names, list):
            for i, name in enumerate(names):
                if isinstance(name, str) and name in names[:i]:
                    errors.append(
                        doc.diagnostic(
                            (*path, key, i),
                            f'block {key} name "{name}" again',
                            f"each of the block's {key} is a tensor of its own: name it once",
                        )
                    )
    args = block.get("args") if isinstance(block, dict) else None
    for arg in args if isinstance(args, dict) else {}:
        if not is_name(arg) or arg in CALL_KEYS:
            why = "is reserved (every block call takes it)" if is_name(arg) else "is not a name"
            errors.append(
                doc.diagnostic((*path, "args", arg), f'block argument "{arg}" {why}', key=True)
            )


class _Structure:
    """Walks layer entries: options models, nested lists, block calls and the call graph."""

    def __init__(self, doc: Document, blocks: dict[str, Any], errors: list[Diagnostic]) -> None:
        self.doc, self.blocks, self.errors = doc, blocks, errors
        self.current = ""  # the block being walked ("" for the top level)
        #: block → the calls it makes: (callee, where, guarded by an if: or a repeat)
        self.calls: dict[str, list[tuple[str, PathKey, bool]]] = {}
        self.guarded = 0  # how many enclosing entries have an if: or repeat their layers
        self.stopped = False  # whether MAX_ERRORS problems ended the walk
        self.validate = ValidatedOnce()  # layers written alike are validated once

    def entries(self, items: list[Any], path: PathKey) -> None:
        for i, raw in enumerate(items):
            self.entry(raw, (*path, i))

    def entry(self, raw: Any, path: PathKey) -> None:
        if len(self.errors) >= MAX_ERRORS:
            self.stopped = True
            return
        if has_expression(raw):  # a layer chosen by a value (`- ${act}`): the second pass checks
            return
        try:
            word, options, opath = parse_entry(raw, path, self.doc, self.blocks)
        except EntryError as e:
            self.errors.append(e.diagnostic)
            return
        kind = get_kind(word)
        if kind is None:
            self.call(word, options, opath)
            return
        try:
            opts = kind_options(kind, options)
            self.validate(kind.Options, opts, evaluated=False, remember=not kind.nested)
        except Problem as e:
            self.errors.append(self.doc.diagnostic(opath, e.message, e.hint))
            return
        except ValidationError as e:
            self.errors.extend(validation_diagnostics(e, self.doc, opath, kind.Options, what=word))
            return
        # a recursion may go through a layer that a condition or a repeat count can leave out
        guard = "if" in opts or word == "repeat"
        self.guarded += guard
        for subpath, nested in kind.nested_entries(opts):
            self.entry(nested, (*opath, *subpath))
        self.guarded -= guard

    def call(self, block: str, options: Any, path: PathKey) -> None:
        guarded = self.guarded > 0 or (isinstance(options, dict) and "if" in options)
        self.calls.setdefault(self.current, []).append((block, path, guarded))
        definition = self.blocks[block]
        args = definition.get("args") if isinstance(definition, dict) else None
        for p in call_problems(block, args if isinstance(args, dict) else {}, options, False):
            self.errors.append(
                self.doc.diagnostic((*path, *p.subpath), p.message, p.hint, key=p.key)
            )

    def cycles(self) -> list[Diagnostic]:
        """A diagnostic for each block that uses itself, directly or through other blocks,
        where no call on the way has an if: (or sits in a repeat) that could stop it.

        One depth-first search with colours over the unguarded calls: linear in the number
        of calls, however long a chain of blocks (a1 → a2 → ... → a5000) the file has.
        """
        out: list[Diagnostic] = []
        done: set[str] = set()  # black: every path from here is explored
        for start in sorted(self.calls):
            if start and start not in done:
                out.extend(self._cycles_from(start, done))
        return out

    def _cycles_from(self, start: str, done: set[str]) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        # the grey path: each block, the call that reached it, and its calls still to follow
        path: list[tuple[str, PathKey | None, list[tuple[str, PathKey, bool]]]] = []
        on_path: dict[str, int] = {}

        def enter(block: str, where: PathKey | None) -> None:
            on_path[block] = len(path)
            path.append((block, where, list(reversed(self.calls.get(block, [])))))

        enter(start, None)
        while path:
            block, _, todo = path[-1]
            if not todo:
                path.pop()
                del on_path[block]
                done.add(block)
                continue
            callee, where, guarded = todo.pop()
            if guarded:  # a recursion that a condition can stop: checked as it runs
                continue
            if callee in on_path:
                out.append(self._cycle(path[on_path[callee] :], where))
            elif callee not in done and callee in self.calls:
                enter(callee, where)
        return out

    def _cycle(self, loop: list[tuple[str, PathKey | None, Any]], closing: PathKey) -> Diagnostic:
        """The diagnostic of one cycle, at the first call it makes."""
        names = [b for b, _, _ in loop]
        shown = names if len(names) <= 8 else [*names[:3], "...", *names[-2:]]
        chain = " → ".join([*shown, names[0]])
        if len(names) > 8:
            chain += f", {len(names):,} blocks"
        first = (loop[1][1] if len(loop) > 1 else None) or closing
        return self.doc.diagnostic(
            first,
            f"block {names[0]} uses itself ({chain}) with nothing to stop it",
            "use repeat for depth, or stop the recursion with an if: "
            "(`if: ${depth > 0}`, passing depth - 1 each time)",
            key=True,
        )
