"""The syntax of ``${...}`` in a string: where each expression starts and ends, ``$${`` for a
literal ``${``, and the tree of one expression's text. What the trees mean is
:mod:`netspec.expr`'s.

Example::

    >>> [p if isinstance(p, str) else p.text for p in split_template("layer${i + 1}")]
    ['layer', 'i + 1']
    >>> has_expression("$${literal}")
    True
"""

from __future__ import annotations

import ast
import functools

from .errors import Problem
from .helpers import shown

MAX_EXPR_CHARS = 500


class Expression:
    """One ``${...}`` inside a string; ``index`` counts them from 0."""

    __slots__ = ("index", "text")

    def __init__(self, text: str, index: int) -> None:
        self.text = text
        self.index = index


def split_template(value: str) -> list[str | Expression]:
    """Split a string into literal text and :class:`Expression` parts."""
    parts: list[str | Expression] = []
    literal: list[str] = []
    i, n, count = 0, len(value), 0
    while i < n:
        if value.startswith("$${", i):
            literal.append("${")
            i += 3
        elif value.startswith("${", i):
            end = _closing_brace(value, i + 2)
            if end < 0:
                raise Problem(
                    f"unclosed ${{ in {shown(value)}",
                    "close the expression with }, as in ${out * 2}",
                )
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Expression(value[i + 2 : end], count))
            count += 1
            i = end + 1
        else:
            literal.append(value[i])
            i += 1
    if literal:
        parts.append("".join(literal))
    return parts


def has_expression(value: object) -> bool:
    return isinstance(value, str) and "${" in value


def _closing_brace(s: str, start: int) -> int:
    depth = 0
    for j in range(start, len(s)):
        c = s[j]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return j if c == "}" else -1
            depth -= 1
    return -1


@functools.lru_cache(maxsize=4096)
def parse_expression(text: str) -> ast.expr:
    """The tree of an expression, parsed once: a repeat evaluates the same text per copy."""
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise Problem(
            f"cannot parse expression ${{{text}}}: {e.msg}",
            "write arithmetic such as ${out * 4} or ${max(1, width // 2)}",
        ) from e
    except (ValueError, RecursionError, MemoryError) as e:
        raise Problem(f"cannot parse expression ${{{text}}}") from e
