"""The ``${...}`` arithmetic: a small interpreter over Python's ``ast`` with an allow-list.

Nothing is ever passed to ``eval``. Allowed: numbers, booleans, strings, lists; names of params,
block arguments and repeat variables; ``+ - * / // % **`` (bounded), comparisons, ``and or
not``, ``x if c else y``, indexing ``xs[i]``, the helpers (:mod:`netspec.helpers`), the file's own
:class:`Function` s (``functions:``), and the shape helpers in :data:`SHAPE_HELPERS`
(``channels()``, ``channels(skip)``), which only the shape pass can answer: before it they
raise :class:`NeedsShapes`.
Where each ``${...}`` of a string starts and ends is :mod:`netspec.interpolation`'s.

Example::

    >>> evaluate("out * 4", {"out": 64})
    256
    >>> substitute("layer${i + 1}", {"i": 0})
    'layer1'
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from .budget import Budget, BudgetSpent
from .errors import Problem, did_you_mean
from .helpers import HELPERS, MAX_INT, MAX_LIST, MAX_TEXT, check_value, format_value, shown
from .interpolation import MAX_EXPR_CHARS, parse_expression, split_template

#: How deep an expression's parts may nest (``-(-(-1))``), calls of functions included.
MAX_NESTING = 100
#: Steps (nodes visited) one expression may take, calls of the file's functions included; all
#: the expressions of a command share its :class:`~netspec.budget.Budget` besides.
MAX_STEPS = 10_000
#: How deep calls of the file's functions may nest.
MAX_CALL_DEPTH = 16


#: Helpers that read the shape of the layer's input (no argument) or of a named tensor.
SHAPE_HELPERS = ("channels", "height", "width", "shape")
#: Answers a shape helper: the dims of the layer's input (None) or of a named tensor.
ShapeLookup = Callable[[str | None], tuple[int, ...]]


class Function:
    """One of a file's ``functions:`` (``ch(c): ${...}``): parameters, a parsed body, and the
    names it sees besides them (the file's params and the functions written before it)."""

    __slots__ = ("body", "env", "name", "params")

    def __init__(self, name: str, params: tuple[str, ...], body: str, env: Mapping[str, Any]):
        if len(body) > MAX_EXPR_CHARS:
            raise Problem(f"expression is longer than {MAX_EXPR_CHARS} characters")
        self.name = name
        self.params = params
        self.body = parse_expression(body)
        self.env = env

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(self.params)})"


class NeedsShapes(Exception):
    """An expression asked for a shape before shapes are known (the shape pass evaluates it)."""


_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//"}


def evaluate(
    text: str,
    env: Mapping[str, Any],
    shapes: ShapeLookup | None = None,
    budget: Budget | None = None,
) -> Any:
    """Evaluate one expression (the text between ``${`` and ``}``) in ``env``.

    ``shapes`` answers ``channels()`` and the other shape helpers; without it they raise
    :class:`NeedsShapes`. The steps are paid from ``budget``, the command's (a fresh one where
    none is given); :class:`~netspec.budget.BudgetSpent` says it ran out.
    """
    if len(text) > MAX_EXPR_CHARS:
        raise Problem(f"expression is longer than {MAX_EXPR_CHARS} characters")
    return _Eval(env, shapes, budget or Budget()).visit(parse_expression(text))


def substitute(
    value: str,
    env: Mapping[str, Any],
    shapes: ShapeLookup | None = None,
    budget: Budget | None = None,
) -> Any:
    """Replace ``${...}`` in a string.

    A string that is exactly one ``${...}`` becomes the expression's value with its type;
    otherwise each ``${...}`` is formatted into the text. ``$${`` stands for a literal ``${``.
    Where the command's ``budget`` runs out, :class:`OutOfBudget` says in which expression.
    """
    budget = budget or Budget()
    parts = split_template(value)
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        try:
            result = evaluate(part.text, env, shapes, budget)
            if len(parts) > 1:
                out.append(format_value(result, MAX_TEXT))
                budget.text(out[-1])
        except BudgetSpent as e:
            raise OutOfBudget(e.message, e.hint, index=part.index) from e
        except Problem as e:
            raise ExpressionError(e.message, e.hint, index=part.index) from e
        if len(parts) == 1:
            return result
        if sum(map(len, out)) > MAX_TEXT:
            raise ExpressionError(
                f"the text made here is longer than {MAX_TEXT:,} characters",
                "a name or a value in a spec is short: format fewer or smaller values into it",
                index=part.index,
            )
    return "".join(out)


class ExpressionError(Problem):
    """An error in the ``index``-th expression of a string."""

    def __init__(self, message: str, hint: str = "", index: int = 0) -> None:
        super().__init__(message, hint)
        self.index = index


class OutOfBudget(ExpressionError):
    """The command's budget ran out in the ``index``-th expression of a string: the pass stops
    there (every expression after it would fail the same way)."""


class _Eval:
    def __init__(self, env: Mapping[str, Any], shapes: ShapeLookup | None, budget: Budget) -> None:
        self.env = env
        #: the parameters of the function being called, over ``env`` (the names it sees)
        self.local: dict[str, Any] = {}
        self.shapes = shapes
        self.budget = budget
        self.steps = 0
        self.depth = 0
        self.nesting = 0

    def visit(self, node: ast.AST) -> Any:
        self.steps += 1
        self.budget.charge()
        if self.steps > MAX_STEPS:
            raise Problem(
                f"expression takes more than {MAX_STEPS:,} steps to evaluate",
                "simplify it, or the functions it calls",
            )
        if self.nesting >= MAX_NESTING:
            raise Problem(
                f"expression nests more than {MAX_NESTING} levels deep",
                "simplify it: split it into params, or into the file's functions",
            )
        method = _VISITORS.get(type(node))
        if method is None:
            raise Problem(
                f"{_describe(node)} is not allowed in an expression",
                "use arithmetic, comparisons, `x if c else y`, indexing and the helpers "
                + ", ".join(sorted(HELPERS)),
            )
        self.nesting += 1
        try:
            value = method(self, node)
        finally:
            self.nesting -= 1
        if type(value) is int and -MAX_INT <= value <= MAX_INT:  # most values: checked here
            return value
        return check_value(value, self.budget)

    def visit_Constant(self, node: ast.Constant) -> Any:
        if node.value is None or isinstance(node.value, (bool, int, float, str)):
            return node.value
        raise Problem(f"constant {node.value!r} is not allowed in an expression")

    def visit_Name(self, node: ast.Name) -> Any:
        name = node.id
        if name.startswith("_"):
            raise Problem(f'name "{name}" is not allowed (names starting with _ are reserved)')
        if name in self.local:
            return self.local[name]
        if name in self.env:
            return self.env[name]
        if name in ("true", "false"):
            return name == "true"
        if name in HELPERS or name in SHAPE_HELPERS:
            raise Problem(f'"{name}" is a helper; call it, as in {name}(...)')
        raise Problem(
            f'undefined name "{name}"',
            did_you_mean(name, self.names(), "names here" if self.names() else "names defined here")
            + "; declare it under params: or in the block's args:",
        )

    def visit_List(self, node: ast.List) -> Any:
        return [self.visit(e) for e in node.elts]

    visit_Tuple = visit_List

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        _need_number(value, "-" if isinstance(node.op, ast.USub) else "+")
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return +value
        raise Problem("operator ~ is not allowed in an expression")

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise Problem(f"operator {type(node.op).__name__} is not allowed in an expression")
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Add) and isinstance(left, list) and isinstance(right, list):
            return left + right  # visit checks the sum's size
        if isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
            if len(left) + len(right) > MAX_TEXT:
                raise Problem(f"text longer than {MAX_TEXT:,} characters")
            self.budget.text(left)
            self.budget.text(right)
            return left + right
        symbol = _SYMBOLS.get(type(node.op), "**" if isinstance(node.op, ast.Pow) else "%")
        _need_number(left, symbol)
        _need_number(right, symbol)
        if isinstance(node.op, ast.Pow) and (
            abs(right) > 64 or (abs(left) > 1 and abs(right) * math.log2(abs(left)) > 62)
        ):
            raise Problem(
                "exponent too large in expression", f"results are limited to {MAX_INT:.0e}"
            )
        try:
            return op(left, right)
        except ZeroDivisionError as e:
            raise Problem("division by zero in expression") from e
        except (OverflowError, ValueError) as e:
            raise Problem(f"arithmetic error in expression: {e}") from e

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        if isinstance(node.op, ast.And):
            result: Any = True
            for v in node.values:
                result = self.visit(v)
                if not result:
                    return result
            return result
        result = False
        for v in node.values:
            result = self.visit(v)
            if result:
                return result
        return result

    def visit_Compare(self, node: ast.Compare) -> Any:
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.visit(comparator)
            fn = _CMPOPS.get(type(op))
            if fn is None:
                raise Problem(f"comparison {type(op).__name__} is not allowed in an expression")
            # comparing lists or texts, or searching one, walks them: paid each time
            self.budget.charge(
                self.budget.size(left, MAX_LIST) + self.budget.size(right, MAX_LIST) - 2
            )
            try:
                if not fn(left, right):
                    return False
            except TypeError as e:
                raise Problem(f"cannot compare {shown(left)} with {shown(right)}") from e
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        seq = self.visit(node.value)
        index = self.visit(node.slice)
        if (
            not isinstance(seq, (list, str))
            or isinstance(index, bool)
            or not isinstance(index, int)
        ):
            raise Problem(
                f"cannot index {shown(seq)} with {shown(index)}", "index a list with an integer"
            )
        try:
            return seq[index]
        except IndexError as e:
            raise Problem(f"index {index} out of range for a list of {len(seq)}") from e

    def visit_Call(self, node: ast.Call) -> Any:
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        if name in SHAPE_HELPERS:
            return self.shape_helper(name, node)
        own = (self.local[name] if name in self.local else self.env.get(name)) if name else None
        if not isinstance(own, Function) and name not in HELPERS:
            mine = sorted(k for k, v in self.names().items() if isinstance(v, Function))
            raise Problem(
                f'calling "{name or _describe(node.func)}" is not allowed in an expression',
                "the helpers are "
                + ", ".join(sorted([*HELPERS, *SHAPE_HELPERS]))
                + ("; this file's functions are " + ", ".join(mine) if mine else ""),
            )
        if node.keywords:
            raise Problem(f"{name}() takes no keyword arguments here")
        args = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise Problem("*args is not allowed in an expression")
            args.append(self.visit(a))
        if isinstance(own, Function):
            return self.call(own, args)
        if name in ("int", "float", "ceil", "floor", "round", "abs"):
            for a in args[:1]:
                _need_number(a, name + "()")
        if name in ("min", "max"):  # min(xs) and max(xs) walk the list: paid each time
            for a in args:
                self.budget.charge(self.budget.size(a, MAX_LIST) - 1)
        try:
            return HELPERS[name](*args)
        except Problem:
            raise
        except (TypeError, ValueError, OverflowError) as e:
            raise Problem(f"{name}() failed: {e}") from e

    def call(self, fn: Function, args: list[Any]) -> Any:
        """A call of one of the file's functions: its body, with its parameters bound."""
        if len(args) != len(fn.params):
            raise Problem(f"{fn!r} takes {len(fn.params)} argument(s), got {len(args)}")
        if self.depth >= MAX_CALL_DEPTH:
            raise Problem(f"calls of functions nest more than {MAX_CALL_DEPTH} deep")
        outer = self.env, self.local
        # its parameters over the names it sees, which are not copied for every call
        self.env, self.local = fn.env, dict(zip(fn.params, args, strict=True))
        self.depth += 1
        try:
            return self.visit(fn.body)
        except BudgetSpent:
            raise
        except Problem as e:
            if e.message.startswith("in "):
                raise
            raise Problem(f"in {fn!r}: {e.message}", e.hint) from e
        finally:
            self.env, self.local = outer
            self.depth -= 1

    def names(self) -> dict[str, Any]:
        """Every name the expression sees here (for messages)."""
        return {**self.env, **self.local}

    def shape_helper(self, helper: str, node: ast.Call) -> Any:
        """``channels()``: the layer's input; ``channels(skip)``: the named tensor ``skip``."""
        if (
            node.keywords
            or len(node.args) > 1
            or (node.args and not isinstance(node.args[0], ast.Name))
        ):
            raise Problem(
                f"{helper}() takes nothing (the layer's input) or one tensor name",
                f"write {helper}() or {helper}(skip)",
            )
        if self.shapes is None:
            raise NeedsShapes(helper)
        arg = node.args[0] if node.args else None
        dims = self.shapes(arg.id if isinstance(arg, ast.Name) else None)
        if helper == "shape":
            return list(dims)
        if helper == "channels":
            return dims[0]
        if len(dims) != 3:
            shown = "(" + ", ".join(map(str, dims)) + (",)" if len(dims) == 1 else ")")
            raise Problem(f"{helper}() needs a (channels, height, width) tensor, got {shown}")
        return dims[1] if helper == "height" else dims[2]


#: The visitor of each kind of node an expression may hold (found once, not per node).
_VISITORS: dict[type[ast.AST], Callable[[_Eval, Any], Any]] = {
    getattr(ast, name[len("visit_") :]): method
    for name, method in vars(_Eval).items()
    if name.startswith("visit_") and name != "visit"
}


def _need_number(value: Any, symbol: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Problem(f"{symbol} needs numbers, got {shown(value)}")


def _describe(node: ast.AST) -> str:
    names = {
        "Attribute": "attribute access (.)",
        "Lambda": "lambda",
        "ListComp": "a comprehension",
        "GeneratorExp": "a generator",
        "DictComp": "a comprehension",
        "SetComp": "a comprehension",
        "Dict": "a mapping",
        "Set": "a set",
        "NamedExpr": "assignment (:=)",
        "JoinedStr": "an f-string",
        "Await": "await",
        "Yield": "yield",
        "Starred": "*",
        "Slice": "slicing",
    }
    return names.get(type(node).__name__, type(node).__name__)
