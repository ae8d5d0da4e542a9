"""Reading one layer entry, and checking a block call's arguments: shared by both passes.

A layer entry is ``relu``, ``relu: null``, ``linear: 10`` (a kind's shorthand option) or
``conv: {out: 64, kernel: 3}``; a block call is ``my_block: {arg: value, name: ..., expect: ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Diagnostic, Problem, did_you_mean
from .interpolation import has_expression
from .registry import Kind, get_kind, kind_names
from .source import Document, PathKey, a_type, show, type_name
from .validation import WHOLE_HINT

#: Type words that declare a required block argument.
TYPE_WORDS: dict[str, type] = {
    "int": int,
    "float": float,
    "bool": bool,
    "str": str,
    "list": list,
    "any": object,
}
#: What every block call takes besides the block's own arguments.
CALL_KEYS = ("name", "expect", "inline", "from", "to", "if")
#: Part of the hint for an unknown kind that is no near miss of a known one.
PLUGIN_HINT = (
    "a plugin's kind needs its plugin loaded: --plugin MODULE "
    '(in Python: netspec.load_plugins("MODULE"))'
)


class EntryError(Exception):
    """An entry that is not a layer at all (already a positioned diagnostic)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


def parse_entry(
    raw: Any, path: PathKey, doc: Document, blocks: Mapping[str, Any] | set[str]
) -> tuple[str, Any, PathKey]:
    """Split a layer entry into (kind or block word, raw options, path of the options)."""
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
        raise EntryError(
            doc.diagnostic(path, f"a layer has exactly one kind, got keys {', '.join(keys)}", hint)
        )
    else:
        got = "an empty mapping" if raw == {} else a_type(raw)
        raise EntryError(
            doc.diagnostic(
                path,
                f"a layer is a kind or `kind: options`, got {got}",
                "write e.g. `- relu` or `- conv: {out: 64, kernel: 3}`",
            )
        )
    if get_kind(word) is None and word not in blocks:
        hint = did_you_mean(word, [*kind_names(), *blocks], "kinds and blocks")
        if not hint.startswith("did you mean"):  # no near miss: maybe a plugin's kind
            hint = f"{PLUGIN_HINT}; {hint}"
        else:  # a near miss of a built-in one may still be a plugin's kind (se, selu)
            guess, _, listing = hint.partition("? ")
            hint = f"{guess}? or, for a plugin's kind, load it with --plugin MODULE; {listing}"
        raise EntryError(
            doc.diagnostic(
                path if isinstance(raw, str) else (*path, word),
                f'unknown layer kind "{word}"',
                hint,
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
    raise Problem(
        f"{kind.name} needs its options as a mapping, got {a_type(options)}",
        f"write e.g. `- {kind.name}: {{...}}`; see `netspec list --kinds`",
    )


@dataclass(frozen=True)
class ArgProblem:
    """A problem with one block call, at ``subpath`` of the call (empty: the call itself)."""

    subpath: tuple[str, ...]
    message: str
    hint: str = ""
    key: bool = True  # point at the key (an unknown or missing argument), not its value


def call_problems(
    block: str, declared: Mapping[str, Any], given: Any, evaluated: bool
) -> list[ArgProblem]:
    """What is wrong with a block call's arguments.

    Before evaluation (``evaluated=False``) arguments written as expressions are not
    type-checked; after it every argument is.
    """
    if given is not None and not isinstance(given, dict):
        return [
            ArgProblem(
                (),
                f"block {block} takes its arguments as a mapping, got {a_type(given)}",
                f"write `- {block}: {{arg: value, ...}}`",
            )
        ]
    given = given or {}
    out: list[ArgProblem] = []
    for arg in given:
        if arg not in CALL_KEYS and arg not in declared:
            out.append(
                ArgProblem(
                    (arg,),
                    f'unknown argument "{arg}" for block {block}',
                    did_you_mean(arg, [*declared, *CALL_KEYS], "arguments"),
                )
            )
    for arg, spec in declared.items():
        required, want = arg_spec(spec)
        if arg not in given:
            if required:
                out.append(
                    ArgProblem((), f'block {block} needs argument "{arg}"', required_hint(declared))
                )
        elif evaluated or not has_expression(given[arg]):
            problem = type_problem(given[arg], want)
            if problem:
                whole = want is int and isinstance(given[arg], float) and evaluated
                out.append(
                    ArgProblem(
                        (arg,),
                        f'argument "{arg}" of block {block}: {problem}',
                        WHOLE_HINT if whole else "",
                        key=False,
                    )
                )
    return out


def arg_spec(spec: Any) -> tuple[bool, type]:
    """(required, type) of a block argument declared as a type word or a default value."""
    if isinstance(spec, str) and spec in TYPE_WORDS:
        return True, TYPE_WORDS[spec]
    if has_expression(spec):
        return False, object  # its type is known once the default is evaluated
    return False, value_type(spec)


def required_hint(args: Mapping[str, Any]) -> str:
    return "required: " + ", ".join(a for a, spec in args.items() if arg_spec(spec)[0])


def value_type(value: Any) -> type:
    if value is None:
        return object
    if isinstance(value, bool):
        return bool
    return type(value) if isinstance(value, (int, float, str, list)) else object


def type_problem(value: Any, want: type) -> str:
    """Why ``value`` does not fit ``want`` (an int fits float), or ``""``."""
    if want is object:
        return ""
    if want is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return ""
    if want is int and (isinstance(value, bool) or not isinstance(value, int)):
        return f"expected an integer, got {show(value)} ({type_name(value)})"
    if want is list and isinstance(value, list):
        return ""
    if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
        word = {float: "a number", bool: "true or false", str: "a string", list: "a list"}[want]
        return f"expected {word}, got {show(value)} ({type_name(value)})"
    return ""


def is_shape(value: Any) -> bool:
    return (
        isinstance(value, list)
        and 0 < len(value) <= 4
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in value)
    )
