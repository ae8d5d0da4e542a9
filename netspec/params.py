"""The names a file's expressions see: its params, the chosen scale, and its functions.

A spec's ``scales:`` names presets of param values, one per size of a family (Ultralytics'
n/s/m/l/x, EfficientNet's b0...b7); the first preset is the default. A param's value is, each
replacing the one before: its default under ``params:``, the chosen scale's value, an override
(``--set``). A key a scale sets that ``params:`` does not declare is a param of its own, which
every scale must then set.

``functions:`` (``ch(c): ${...}``) are made after the params, so that they see the final
values; each sees the params and the functions written before it (so none can call itself).

Example::

    scales:
      n: {depth: 0.33, width: 0.25}
      s: {depth: 0.33, width: 0.50}
    functions:
      ch(c): ${ceil(c * width / 8) * 8}
"""

from __future__ import annotations

import ast
import difflib
import re
from typing import TYPE_CHECKING, Any

from .entries import type_problem, value_type
from .errors import NetspecError, Problem, did_you_mean
from .expansion import Failed
from .expr import SHAPE_HELPERS, Function
from .helpers import HELPERS
from .interpolation import has_expression, split_template
from .source import Document, PathKey, show

if TYPE_CHECKING:
    from .expansion import Expander

_NAME = r"[A-Za-z][A-Za-z0-9_]*"
#: The key of a function: its name and its parameters, ``ch(c)`` or ``clamp(x, lo, hi)``.
FUNCTION_KEY = re.compile(rf"^\s*({_NAME})\s*\(\s*((?:{_NAME}\s*,\s*)*{_NAME})?\s*\)\s*$")


def parse_function_key(key: str) -> tuple[str, tuple[str, ...]] | None:
    """``"ch(c)"`` → ``("ch", ("c",))``; None where the key is not a function's.

    >>> parse_function_key("clamp(x, lo, hi)")
    ('clamp', ('x', 'lo', 'hi'))
    """
    found = FUNCTION_KEY.match(key) if isinstance(key, str) else None
    if found is None:
        return None
    return found[1], tuple(p.strip() for p in (found[2] or "").split(",") if p.strip())


def scale_names(data: Any) -> list[str]:
    """The names of a spec's scales, the default first; [] for a spec without any."""
    scales = data.get("scales") if isinstance(data, dict) else None
    return [str(k) for k in scales] if isinstance(scales, dict) else []


def file_env(
    ex: Expander,
    declared: dict[str, Any],
    overrides: dict[str, Any],
    scale: str | None,
    given_at: tuple[Document, PathKey] | None = None,
) -> dict[str, Any]:
    """What the expressions of ``ex``'s file see: params (scaled, overridden) and functions.

    ``declared`` is the file's ``params:``; a library file has no scales. ``overrides`` come
    from ``--set`` (or the API), or from an import's ``params:`` at ``given_at``.
    """
    preset, chosen = _preset(ex, declared, scale)
    scaled_only = [k for k in preset if k not in declared]
    for key in overrides:
        if key not in declared and key not in preset:
            hint = did_you_mean(key, [*declared, *preset], "params")
            if given_at is not None:
                doc, at = given_at
                message = f'{_imported(given_at)} has no param "{key}"'
                raise NetspecError([doc.diagnostic((*at, key), message, hint, key=True)])
            message = f'--set {key}: the spec has no param "{key}"'
            raise NetspecError.plain(ex.doc.file, message, hint)
    env: dict[str, Any] = {}
    for name in scaled_only:  # a scale's own params come first: the others may use them
        env[name] = _given(ex, name, preset[name], None, chosen)
        if name in overrides:
            env[name] = _given(ex, name, overrides[name], env[name], given_at=given_at)
    for name, default in declared.items():  # in order: a param may use those above it
        try:
            value = ex.value(default, ("params", name), env)
        except Failed:
            continue
        if name in preset:
            value = _given(ex, name, preset[name], value, chosen)
        if name in overrides:
            value = _given(ex, name, overrides[name], value, given_at=given_at)
        env[name] = value
    functions = ex.doc.data.get("functions") if isinstance(ex.doc.data, dict) else None
    for key, body in (functions or {}).items():
        made = _function(ex, key, body, env)
        if made is not None:
            env[made.name] = made
    return env


def _preset(
    ex: Expander, declared: dict[str, Any], scale: str | None
) -> tuple[dict[str, Any], str]:
    """The param values of the chosen scale (the first where none is chosen), and its name."""
    data = ex.doc.data
    names = scale_names(data)
    if scale is not None and not names:
        raise NetspecError.plain(
            ex.doc.file,
            f'scale "{scale}": the spec declares no scales',
            "a family of sizes lists them under scales:, e.g. scales: {n: {width: 0.25}}",
        )
    if scale is not None and scale not in names:
        ex.fail(
            ("scales",),
            f'scale "{scale}" is not one of the spec\'s scales',
            _closest(scale, names) + f"the scales are {', '.join(names)}: --scale {names[0]}",
            key=True,
        )
        raise NetspecError(ex.errors)
    if not names:
        return {}, ""
    chosen = scale if scale is not None else names[0]
    everywhere = set.intersection(*(set(data["scales"][n]) for n in names))
    for name in names:
        for key, value in data["scales"][name].items():
            if has_expression(value) or (
                isinstance(value, list) and any(has_expression(v) for v in value)
            ):
                ex.fail(
                    ("scales", name, key),
                    f"scale {name}'s {key} is an expression; a scale holds plain values",
                    "write the number (or list, or text) itself, and compute from it under params:",
                )
            elif key not in everywhere and key not in declared:
                missing = [n for n in names if key not in data["scales"][n]]
                ex.fail(
                    ("scales", name, key),
                    f'scale {name} sets "{key}", which scale {missing[0]} does not set, and '
                    "params: gives it no default",
                    f"set {key} in every scale, or give it a default under params:",
                    key=True,
                )
    if ex.errors:
        raise NetspecError(ex.errors)
    return dict(data["scales"][chosen]), chosen


def _imported(given_at: tuple[Document, PathKey]) -> str:
    """The file an import names, as written (``std:ultralytics``, ``../blocks.yaml``)."""
    doc, at = given_at
    entry = doc.data["imports"][at[1]]
    return str(entry["file"])


def _closest(word: str, names: list[str]) -> str:
    """``did you mean "s"? `` where a name is close to ``word`` (case aside), else ""."""
    close = [n for n in names if n.lower() == word.lower()]
    close = close or difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"? ' if close else ""


def _given(
    ex: Expander,
    name: str,
    given: Any,
    default: Any,
    scale: str = "",
    given_at: tuple[Document, PathKey] | None = None,
) -> Any:
    """A value that ``scale``, an import (``given_at``) or ``--set`` gives param ``name``,
    checked against the type of its default."""
    if default is None and scale:
        return given
    problem = type_problem(given, value_type(default))
    if problem and given_at is not None:
        doc, at = given_at
        message = f"{_imported(given_at)}'s param {name}: {problem}"
        raise NetspecError(
            [doc.diagnostic((*at, name), message, f"its default is {show(default)}")]
        )
    if problem and scale:
        ex.fail(
            ("scales", scale, name),
            f"scale {scale}'s {name}: {problem}",
            f"the default is {show(default)}",
        )
        raise NetspecError(ex.errors)
    if problem:
        raise NetspecError.plain(
            ex.doc.file, f"--set {name}={show(given)}: {problem}", f"the default is {show(default)}"
        )
    return float(given) if isinstance(default, float) else given


def _function(ex: Expander, key: Any, body: Any, env: dict[str, Any]) -> Function | None:
    """One of ``functions:``, checked: its key, that its body is one expression, its names."""
    path = ("functions", key)
    parsed = parse_function_key(key)
    if parsed is None:
        ex.fail(
            path,
            f"function {show(key)} is not written as name(parameters)",
            "write it as ch(c): ${...} or clamp(x, lo, hi): ${...}",
            key=True,
        )
        return None
    name, params = parsed
    taken = "a helper" if name in HELPERS or name in SHAPE_HELPERS else ""
    taken = taken or ("a param" if name in env and not isinstance(env[name], Function) else "")
    taken = taken or ("a function already" if name in env else "")
    if taken or len(set(params)) != len(params):
        ex.fail(
            path,
            f'function "{name}" is {taken}' if taken else f'function "{name}" repeats a parameter',
            "give it another name" if taken else "name each parameter once",
            key=True,
        )
        return None
    parts = split_template(body) if has_expression(body) else []
    if len(parts) != 1 or isinstance(parts[0], str):
        ex.fail(
            path,
            f"the body of {name}() must be one ${{...}} expression, got {show(body)}",
            "write it as " + f"{key}: ${{...}}",
        )
        return None
    try:
        # env only grows, and the body may name only what it holds now: it is shared, not copied
        made = Function(name, params, parts[0].text, env)
    except Problem as e:
        ex.fail(path, e.message, e.hint)
        return None
    tensors = {  # channels(skip): a tensor's name, looked up where the function is called
        id(a)
        for n in ast.walk(made.body)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in SHAPE_HELPERS
        for a in n.args
    }
    known = {*params, *env, *HELPERS, *SHAPE_HELPERS, "true", "false"}
    unknown = sorted(
        n.id
        for n in ast.walk(made.body)
        if isinstance(n, ast.Name) and n.id not in known and id(n) not in tensors
    )
    if unknown:
        ex.fail(
            path,
            f'{name}() uses "{unknown[0]}", which is not a parameter, a param or an earlier '
            "function",
            did_you_mean(unknown[0], [*params, *env], "names here")
            + "; a function sees its parameters, the params and the functions above it",
        )
        return None
    return made
