"""From a parsed file to a tree of concrete layers.

Two passes, so that independent mistakes are all reported at once:

1. ``validate``: the file's structure, every layer entry of every block (used or not) against its
   kind's options model with expressions still unevaluated, and the block call graph (a block
   may not use itself, directly or through others).
2. ``expand``: params get their values (with overrides), expressions are evaluated, each layer's
   options are validated again with concrete values, and blocks and repeats are expanded.

Example::

    program = elaborate(read_source("specs/nin.yaml"), {"num_classes": 100})
    program.root.children[0].kind.name      # "conv" (or a block's first layer)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from .errors import Diagnostic, LayerError, NetspecError, did_you_mean
from .expr import ExpressionError, has_expression, substitute
from .ir import Node, Shape
from .registry import Kind, get_kind, kind_names
from .schema import BlockDef, SpecFile, is_name, validation_diagnostics
from .source import Document, PathKey, a_type, type_name

#: An elaborated network may hold at most this many layers (``--max-layers`` raises it).
MAX_LAYERS = 1_000_000
MAX_BLOCK_DEPTH = 64

_TYPE_WORDS = {"int": int, "float": float, "bool": bool, "str": str, "list": list, "any": object}


@dataclass
class Program:
    """An elaborated spec: every value concrete, every block and repeat expanded."""

    doc: Document
    name: str
    description: str
    params: dict[str, Any]
    input: Shape
    root: Node
    output: Shape | None = None


def elaborate(
    doc: Document, overrides: Mapping[str, Any] | None = None, max_layers: int = MAX_LAYERS
) -> Program:
    """Validate and expand a parsed spec (raises :class:`NetspecError`)."""
    spec = validate(doc)
    return _Expander(doc, spec, max_layers).run(dict(overrides or {}))


# --- pass 1: structure -------------------------------------------------------------------------


def validate(doc: Document) -> SpecFile:
    """Check the file's structure and every layer entry; report all problems together."""
    errors: list[Diagnostic] = []
    spec: SpecFile | None = None
    try:
        spec = SpecFile.model_validate(doc.data)
    except ValidationError as e:
        errors.extend(validation_diagnostics(e, doc, (), SpecFile))
    data = doc.data
    blocks = data.get("blocks") if isinstance(data.get("blocks"), dict) else {}
    checker = _Structure(doc, set(blocks), errors)
    for pname in data.get("params") or {} if isinstance(data.get("params"), dict) else {}:
        if not is_name(pname):
            errors.append(
                doc.diagnostic(
                    ("params", pname),
                    f'param name "{pname}" is not a name',
                    "use letters, digits and _",
                    key=True,
                )
            )
    for bname, bdef in blocks.items():
        path: PathKey = ("blocks", bname)
        if not is_name(bname):
            errors.append(
                doc.diagnostic(
                    path,
                    f'block name "{bname}" is not a name',
                    "use letters, digits and _",
                    key=True,
                )
            )
        elif get_kind(bname) is not None:
            errors.append(
                doc.diagnostic(
                    path,
                    f'block "{bname}" has the name of a built-in kind',
                    "rename the block",
                    key=True,
                )
            )
        if not isinstance(bdef, dict):
            continue
        args = bdef.get("args")
        if isinstance(args, dict):
            for arg in args:
                if not is_name(arg) or arg in ("name", "expect"):
                    why = "is reserved (every layer has it)" if is_name(arg) else "is not a name"
                    errors.append(
                        doc.diagnostic(
                            (*path, "args", arg), f'block argument "{arg}" {why}', key=True
                        )
                    )
        if isinstance(bdef.get("layers"), list):
            checker.current = bname
            checker.entries(bdef["layers"], (*path, "layers"))
    if isinstance(data.get("layers"), list):
        checker.current = None
        checker.entries(data["layers"], ("layers",))
    errors.extend(checker.cycles())
    if errors or spec is None:
        raise NetspecError(errors)
    return spec


def parse_entry(
    raw: Any, path: PathKey, doc: Document, blocks: set[str] | Mapping[str, Any]
) -> tuple[str, Any, PathKey]:
    """Split a layer entry into (kind or block word, raw options, path of the options).

    Accepted forms: ``relu``, ``relu: null``, ``linear: 10`` (a kind's shorthand option) and
    ``conv: {out: 64, kernel: 3}``.
    """
    if isinstance(raw, str):
        word, options, opath = raw, None, path
    elif isinstance(raw, dict) and len(raw) == 1:
        word, options = next(iter(raw.items()))
        opath = (*path, word)
    elif isinstance(raw, dict) and raw:
        keys = list(raw)
        kinds = [k for k in keys if get_kind(k) is not None or k in blocks]
        hint = "write one layer per list item"
        if "name" in keys and len(kinds) == 1:
            hint = f"put the name inside the options: `- {kinds[0]}: {{name: {raw['name']}, ...}}`"
        raise _EntryError(
            doc.diagnostic(path, f"a layer has exactly one kind, got keys {', '.join(keys)}", hint)
        )
    else:
        raise _EntryError(
            doc.diagnostic(
                path,
                "a layer is a kind or `kind: options`, got "
                + ("an empty mapping" if raw == {} else a_type(raw)),
                "write e.g. `- relu` or `- conv: {out: 64, kernel: 3}`",
            )
        )
    if get_kind(word) is None and word not in blocks:
        raise _EntryError(
            doc.diagnostic(
                path if isinstance(raw, str) else (*path, word),
                f'unknown layer kind "{word}"',
                did_you_mean(word, [*kind_names(), *blocks], "kinds and blocks"),
                key=True,
            )
        )
    return word, options, opath


def kind_options(kind: Kind, options: Any) -> dict[str, Any]:
    """The options mapping of an entry, with a shorthand scalar put under its option."""
    if options is None:
        return {}
    if isinstance(options, dict):
        return options
    if kind.shorthand is not None:
        return {kind.shorthand: options}
    raise LayerError(
        f"{kind.name} needs its options as a mapping, got {type_name(options)}",
        f"write e.g. `- {kind.name}: {{...}}`; see `netspec list --kinds`",
    )


class _EntryError(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


class _Structure:
    """Pass 1 over layer entries: options models, nested lists, the block call graph."""

    def __init__(self, doc: Document, blocks: set[str], errors: list[Diagnostic]) -> None:
        self.doc, self.blocks, self.errors = doc, blocks, errors
        self.current: str | None = None
        self.calls: dict[str, list[tuple[str, PathKey]]] = {}

    def entries(self, items: list[Any], path: PathKey) -> None:
        for i, raw in enumerate(items):
            self.entry(raw, (*path, i))

    def entry(self, raw: Any, path: PathKey) -> None:
        try:
            word, options, opath = parse_entry(raw, path, self.doc, self.blocks)
        except _EntryError as e:
            self.errors.append(e.diagnostic)
            return
        kind = get_kind(word)
        if kind is None:
            self.call(word, options, opath)
            return
        try:
            opts = kind_options(kind, options)
            kind.Options.model_validate(opts)
        except LayerError as e:
            self.errors.append(self.doc.diagnostic(opath, e.message, e.hint))
            return
        except ValidationError as e:
            self.errors.extend(validation_diagnostics(e, self.doc, opath, kind.Options, what=word))
            return
        for field in kind.nested:
            value = opts.get(field)
            fpath = (*opath, field)
            if isinstance(value, list) and field == "branches":
                for j, branch in enumerate(value):
                    if isinstance(branch, list):
                        self.entries(branch, (*fpath, j))
            elif isinstance(value, dict) and field == "branches":
                for key, branch in value.items():
                    if isinstance(branch, list):
                        self.entries(branch, (*fpath, key))
            elif isinstance(value, list):
                self.entries(value, fpath)
            elif value is not None and not has_expression(value):
                self.entry(value, fpath)

    def call(self, block: str, options: Any, path: PathKey) -> None:
        self.calls.setdefault(self.current or "", []).append((block, path))
        if options is not None and not isinstance(options, dict):
            self.errors.append(
                self.doc.diagnostic(
                    path,
                    f"block {block} takes its arguments as a mapping",
                    f"write `- {block}: {{arg: value, ...}}`",
                )
            )
            return
        bdef = self.doc.data["blocks"][block]
        args = bdef.get("args") if isinstance(bdef, dict) else None
        declared: dict[str, Any] = args if isinstance(args, dict) else {}
        given = options or {}
        for arg in given:
            if arg not in ("name", "expect") and arg not in declared:
                self.errors.append(
                    self.doc.diagnostic(
                        (*path, arg),
                        f'unknown argument "{arg}" for block {block}',
                        did_you_mean(arg, [*declared, "name", "expect"], "arguments"),
                        key=True,
                    )
                )
        for arg, spec in declared.items():
            required, want = _arg_spec(spec)
            if arg not in given and required:
                self.errors.append(
                    self.doc.diagnostic(
                        path,
                        f'block {block} needs argument "{arg}"',
                        _required_hint(declared),
                        key=True,
                    )
                )
            elif arg in given and not has_expression(given[arg]):
                problem = _type_problem(given[arg], want)
                if problem:
                    self.errors.append(
                        self.doc.diagnostic(
                            (*path, arg), f'argument "{arg}" of block {block}: {problem}'
                        )
                    )

    def cycles(self) -> list[Diagnostic]:
        """A diagnostic for each block that uses itself, directly or through other blocks."""
        out: list[Diagnostic] = []
        reported: set[str] = set()
        for start in sorted(self.calls):
            if not start:
                continue
            # depth-first search for a path from start back to start
            stack: list[tuple[str, list[tuple[str, PathKey]]]] = [(start, [])]
            seen: set[str] = set()
            while stack:
                block, trail = stack.pop()
                for callee, where in self.calls.get(block, []):
                    if callee == start and start not in reported:
                        chain = " → ".join([start, *[c for c, _ in trail], start])
                        first = trail[0][1] if trail else where
                        out.append(
                            self.doc.diagnostic(
                                first,
                                f"block {start} uses itself ({chain})",
                                "a block cannot contain itself; use repeat for depth",
                                key=True,
                            )
                        )
                        reported.update([start, *[c for c, _ in trail]])
                    elif callee not in seen and callee in self.calls:
                        seen.add(callee)
                        stack.append((callee, [*trail, (callee, where)]))
        return out


# --- pass 2: values and expansion --------------------------------------------------------------


class _Expander:
    def __init__(self, doc: Document, spec: SpecFile, max_layers: int) -> None:
        self.doc = doc
        self.spec = spec
        self.blocks: dict[str, BlockDef] = spec.blocks
        self.errors: list[Diagnostic] = []
        self.count = 0
        self.max_layers = max_layers
        self.params: dict[str, Any] = {}

    def fail(
        self,
        path: PathKey,
        message: str,
        hint: str = "",
        *,
        key: bool = False,
        trace: tuple[str, ...] = (),
        pos: Any = None,
    ) -> None:
        self.errors.append(self.doc.diagnostic(path, message, hint, key=key, notes=trace, pos=pos))

    def run(self, overrides: dict[str, Any]) -> Program:
        self.params = self.evaluate_params(overrides)
        shape = self.shape("input")
        output = self.shape("output") if self.spec.output is not None else None
        if self.errors:
            raise NetspecError(self.errors)
        root = self.expand_list(self.doc.data["layers"], ("layers",), self.params, (), "", "")
        if self.errors:
            raise NetspecError(self.errors)
        root.label = self.spec.name
        return Program(
            self.doc, self.spec.name, self.spec.description, self.params, shape, root, output
        )

    def evaluate_params(self, overrides: dict[str, Any]) -> dict[str, Any]:
        declared = self.spec.params
        for key in overrides:
            if key not in declared:
                raise NetspecError.plain(
                    self.doc.file,
                    f'--set {key}: the spec has no param "{key}"',
                    did_you_mean(key, declared, "params"),
                )
        env: dict[str, Any] = {}
        for pname, default in declared.items():
            path: PathKey = ("params", pname)
            try:
                value = self.value(default, path, env)
            except _Failed:
                continue
            if pname in overrides:
                given = overrides[pname]
                problem = _type_problem(given, _infer_type(value))
                if problem:
                    raise NetspecError.plain(
                        self.doc.file,
                        f"--set {pname}={_show(given)}: {problem}",
                        f"the default is {_show(value)}",
                    )
                value = (
                    float(given)
                    if isinstance(value, float) and not isinstance(given, bool)
                    else given
                )
            env[pname] = value
        return env

    def shape(self, key: str) -> Shape:
        dims = []
        for i, raw in enumerate(self.doc.data[key]):
            try:
                d = self.value(raw, (key, i), self.params)
            except _Failed:
                continue
            if isinstance(d, bool) or not isinstance(d, int) or d < 1:
                self.fail((key, i), f"{key} sizes must be positive integers, got {_show(d)}")
            else:
                dims.append(d)
        return Shape(tuple(dims))

    def value(
        self, raw: Any, path: PathKey, env: Mapping[str, Any], trace: tuple[str, ...] = ()
    ) -> Any:
        """Substitute every expression in ``raw`` (recursively); raise _Failed after reporting."""
        if isinstance(raw, str):
            if "${" not in raw:
                return raw
            try:
                return substitute(raw, env)
            except ExpressionError as e:
                self.fail(
                    path, e.message, e.hint, trace=trace, pos=self.doc.expression_pos(path, e.index)
                )
                raise _Failed from e
            except LayerError as e:
                self.fail(path, e.message, e.hint, trace=trace)
                raise _Failed from e
        if isinstance(raw, list):
            return [self.value(v, (*path, i), env, trace) for i, v in enumerate(raw)]
        if isinstance(raw, dict):
            return {k: self.value(v, (*path, k), env, trace) for k, v in raw.items()}
        return raw

    # layers

    def expand_list(
        self,
        items: list[Any],
        path: PathKey,
        env: Mapping[str, Any],
        trace: tuple[str, ...],
        name: str,
        label: str,
    ) -> Node:
        """Elaborate a layer list into a group node (or its only layer, renamed)."""
        group = get_kind("group")
        assert group is not None
        children: list[Node] = []
        for i, raw in enumerate(items):
            node = self.expand_entry(raw, (*path, i), env, trace, str(i))
            if node is not None:
                children.extend(_spliced(node))
        names: set[str] = set()
        for position, node in enumerate(children):
            if node.name.isdigit():  # unnamed: numbered by its place, as nn.Sequential does
                node.name = str(position)
            elif node.name in names:
                self.fail(
                    node.path,
                    f'two layers here are named "{node.name}"',
                    "names must be unique within a list of layers",
                    key=True,
                    trace=trace,
                )
            names.add(node.name)
        if len(children) == 1 and len(items) == 1 and path != ("layers",):
            return replace(children[0], name=name or children[0].name)
        opts = group.Options.model_construct(name=name or None, layers=[])  # type: ignore[call-arg]
        return Node(group, opts, name, self.doc, path, label=label, children=children, trace=trace)

    def expand_entry(
        self, raw: Any, path: PathKey, env: Mapping[str, Any], trace: tuple[str, ...], index: str
    ) -> Node | None:
        self.count += 1
        if self.count > self.max_layers:
            raise NetspecError(
                [
                    self.doc.diagnostic(
                        path,
                        f"the network expands to more than {self.max_layers:,} layers",
                        "lower a repeat count, or raise the limit with --max-layers",
                        notes=trace,
                    )
                ]
            )
        try:
            word, options, opath = parse_entry(raw, path, self.doc, self.blocks)
        except (
            _EntryError
        ) as e:  # pass 1 reported it; a nested entry built from an expression may not
            self.errors.append(replace(e.diagnostic, notes=trace))
            return None
        try:
            kind = get_kind(word)
            if kind is None:
                return self.call(word, options, opath, env, trace, index)
            return self.layer(kind, options, opath, env, trace, index)
        except _Failed:
            return None

    def layer(
        self,
        kind: Kind,
        options: Any,
        path: PathKey,
        env: Mapping[str, Any],
        trace: tuple[str, ...],
        index: str,
    ) -> Node:
        try:
            raw = kind_options(kind, options)
        except LayerError as e:
            self.fail(path, e.message, e.hint, trace=trace)
            raise _Failed from e
        concrete = {
            k: v if k in kind.nested else self.value(v, (*path, k), env, trace)
            for k, v in raw.items()
        }
        if kind.shorthand is not None and not isinstance(options, dict) and options is not None:
            concrete = {kind.shorthand: self.value(options, path, env, trace)}
        try:
            opts = kind.Options.model_validate(concrete)
        except ValidationError as e:
            self.errors.extend(
                validation_diagnostics(e, self.doc, path, kind.Options, trace, what=kind.name)
            )
            raise _Failed from e
        node = Node(kind, opts, opts.name or index, self.doc, path, trace=trace)
        if opts.expect is not None:
            node.expect, node.expect_path = tuple(opts.expect), (*path, "expect")
        try:
            return kind.expand(node, _Context(self, path, raw, env, trace))
        except LayerError as e:
            where = (*path, *e.at) if isinstance(e.at, tuple) else path
            self.fail(where, e.message, e.hint, key=where == path, trace=trace)
            raise _Failed from e

    def call(
        self,
        block: str,
        options: Any,
        path: PathKey,
        env: Mapping[str, Any],
        trace: tuple[str, ...],
        index: str,
    ) -> Node:
        bdef = self.blocks[block]
        given = dict(options or {})
        name = self.value(given.pop("name", None), (*path, "name"), env, trace)
        if name is not None and not is_name(name):
            self.fail(
                (*path, "name"), f"layer name must be letters, digits and _, got {_show(name)}"
            )
            raise _Failed
        expect = self.value(given.pop("expect", None), (*path, "expect"), env, trace)
        if expect is not None and not _is_shape(expect):
            self.fail(
                (*path, "expect"), f"expect must be a list of positive sizes, got {_show(expect)}"
            )
            raise _Failed
        values: dict[str, Any] = {}
        for arg, spec in bdef.args.items():
            required, want = _arg_spec(spec)
            if arg in given:
                v = self.value(given[arg], (*path, arg), env, trace)
                problem = _type_problem(v, want)
                if problem:
                    self.fail(
                        (*path, arg), f'argument "{arg}" of block {block}: {problem}', trace=trace
                    )
                    raise _Failed
                values[arg] = v
            elif required:
                self.fail(
                    path,
                    f'block {block} needs argument "{arg}"',
                    _required_hint(bdef.args),
                    key=True,
                    trace=trace,
                )
                raise _Failed
            else:
                values[arg] = spec
        if len(trace) >= MAX_BLOCK_DEPTH:
            self.fail(path, f"blocks nest more than {MAX_BLOCK_DEPTH} deep", key=True, trace=trace)
            raise _Failed
        pos = self.doc.pos(path, key=True)
        where = f"{self.doc.file}:{pos.line}:{pos.col}" if pos else self.doc.file
        inner = (*trace, f"in block {block}, used at {where}")
        scope = {**self.params, **values}
        node = self.expand_list(
            bdef.layers, ("blocks", block, "layers"), scope, inner, name or index, block
        )
        node.label = block  # also when the block's one layer stands for it
        if expect is not None:
            node.expect, node.expect_path = tuple(expect), (*path, "expect")
        return node


def _spliced(node: Node) -> list[Node]:
    """The node itself or, with ``inline: true``, the layers it holds (a repeat's: every copy's)."""
    if not getattr(node.opts, "inline", False):
        return [node]
    out: list[Node] = []
    if node.kind.name == "group":
        out = list(node.children)
    else:
        for copy in node.children:  # a copy of several plain layers is an unlabelled group
            out.extend(copy.children if copy.kind.name == "group" and not copy.label else [copy])
    if out and node.expect is not None:  # the last spliced layer gives what the whole gave
        out[-1] = replace(out[-1], expect=node.expect, expect_path=node.expect_path)
    return out


class _Failed(Exception):
    """Raised after a problem was recorded, to skip the rest of a layer."""


class _Context:
    """The :class:`~netspec.registry.ExpandContext` handed to composite kinds."""

    def __init__(
        self,
        ex: _Expander,
        path: PathKey,
        raw: dict[str, Any],
        env: Mapping[str, Any],
        trace: tuple[str, ...],
    ) -> None:
        self.ex, self.path, self.raw, self.env, self.trace = ex, path, raw, env, trace

    def _raw(self, subpath: tuple[str | int, ...]) -> Any:
        value: Any = self.raw
        for part in subpath:
            value = value[part]
        return value

    def layers(
        self, *subpath: str | int, env: dict[str, Any] | None = None, name: str = ""
    ) -> Node:
        scope = {**self.env, **(env or {})}
        items = self._raw(subpath)
        path = (*self.path, *subpath)
        if has_expression(items):
            items = self.ex.value(items, path, scope, self.trace)
        if not isinstance(items, list):
            self.ex.fail(
                path, f"expected a list of layers, got {type_name(items)}", trace=self.trace
            )
            raise _Failed
        return self.ex.expand_list(items, path, scope, self.trace, name, "")

    def layer(self, *subpath: str | int, name: str) -> Node:
        path = (*self.path, *subpath)
        node = self.ex.expand_entry(self._raw(subpath), path, self.env, self.trace, name)
        if node is None:
            raise _Failed
        return replace(node, name=name)

    def value(self, *subpath: str | int, env: dict[str, Any] | None = None) -> Any:
        scope = {**self.env, **(env or {})}
        return self.ex.value(self._raw(subpath), (*self.path, *subpath), scope, self.trace)


def _arg_spec(spec: Any) -> tuple[bool, type]:
    """(required, type) of a block argument declared as a type word or a default value."""
    if isinstance(spec, str) and spec in _TYPE_WORDS:
        return True, _TYPE_WORDS[spec]
    return False, _infer_type(spec)


def _required_hint(args: dict[str, Any]) -> str:
    return "required: " + ", ".join(a for a, spec in args.items() if _arg_spec(spec)[0])


def _infer_type(value: Any) -> type:
    if value is None:
        return object
    if isinstance(value, bool):
        return bool
    return type(value) if isinstance(value, (int, float, str, list)) else object


def _type_problem(value: Any, want: type) -> str:
    if want is object:
        return ""
    if want is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return ""
    if want is int and (isinstance(value, bool) or not isinstance(value, int)):
        return f"expected an integer, got {_show(value)} ({type_name(value)})"
    if want is list and isinstance(value, list):
        return ""
    if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
        word = {float: "a number", bool: "true or false", str: "a string", list: "a list"}[want]
        return f"expected {word}, got {_show(value)} ({type_name(value)})"
    return ""


def _is_shape(value: Any) -> bool:
    return (
        isinstance(value, list)
        and 0 < len(value) <= 4
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in value)
    )


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return repr(value) if isinstance(value, str) else str(value)
