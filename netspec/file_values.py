"""The values of one file in the second pass: its expressions evaluated, each failure reported
where it was written.

:class:`FileValues` is what the expander of a file (:mod:`netspec.elaborate`) stands on: it
substitutes ``${...}`` in a value (recursively), reads the network's ``inputs:`` and
``outputs:`` and their shapes, decides an ``if:``, and records each problem with its place and
the chain of block calls that led there. A value that fails raises
:class:`~netspec.expansion.Failed` after its problem is recorded; a spent budget stops the pass
at once.

Example::

    values = FileValues(doc, shared)
    values.value("${out * 4}", ("layers", 0, "out"), {"out": 16})   # 64
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from typing import Any, NoReturn

from .budget import BudgetSpent
from .entries import is_shape
from .errors import NetspecError, Pos, Problem
from .expansion import Failed, Shared, short_trace
from .expr import ExpressionError, NeedsShapes, OutOfBudget, ShapeLookup, substitute
from .helpers import MAX_LIST
from .ir import Shape
from .schema import SpecFile, is_name
from .source import Document, PathKey, show


class FileValues:
    """Evaluates the values of one file and reports what fails in them."""

    def __init__(self, doc: Document, shared: Shared) -> None:
        self.doc = doc
        self.shared = shared
        self.errors = shared.errors
        #: the values of the file's params (and its functions), once evaluated
        self.params: dict[str, Any] = {}

    def fail(
        self,
        path: PathKey,
        message: str,
        hint: str = "",
        *,
        key: bool = False,
        trace: tuple[str, ...] = (),
        pos: Pos | None = None,
    ) -> None:
        self.errors.append(
            self.doc.diagnostic(path, message, hint, key=key, notes=short_trace(trace), pos=pos)
        )

    def shape(self, path: PathKey) -> Shape:
        raw: Any = self.doc.data
        for part in path:
            raw = raw[part]
        what = str(path[0])
        dims = []
        for i, value in enumerate(raw):
            try:
                d = self.value(value, (*path, i), self.params)
            except Failed:
                continue
            if not is_shape([d]) or d > 2**31 - 1:
                self.fail((*path, i), f"{what} sizes must be positive integers, got {show(d)}")
            else:
                dims.append(d)
        return Shape(tuple(dims))

    def interface(self, spec: SpecFile) -> tuple[dict[str, Shape], dict[str, Shape | None]]:
        """The network's inputs and the outputs it promises, their shapes evaluated and their
        names checked."""
        data = self.doc.data
        if spec.inputs is not None:
            inputs = {k: self.shape(("inputs", k)) for k in data["inputs"]}
        else:
            inputs = {"input": self.shape(("input",))}
        outputs: dict[str, Shape | None] = {}
        if spec.outputs is not None:
            for k, v in data["outputs"].items():
                outputs[k] = self.shape(("outputs", k)) if v is not None else None
        elif spec.output is not None:
            outputs[""] = self.shape(("output",))
        for key, names in (("inputs", inputs), ("outputs", outputs)):
            for name in names:
                if name and (not is_name(name) or keyword.iskeyword(name)):
                    why = "a Python keyword" if is_name(name) else "not a name"
                    self.fail(
                        (key, name),
                        f'{key[:-1]} name "{name}" is {why}',
                        "use letters, digits and _, starting with a letter, and no keyword",
                        key=True,
                    )
        return inputs, outputs

    def value(
        self,
        raw: Any,
        path: PathKey,
        env: Mapping[str, Any],
        trace: tuple[str, ...] = (),
        deferrable: bool = False,
        shapes: ShapeLookup | None = None,
    ) -> Any:
        """Substitute every expression in ``raw`` (recursively); raise Failed after reporting.

        An expression that asks for a shape (``channels()``) raises :class:`NeedsShapes` where
        the value is ``deferrable`` (the shape pass evaluates it), and is an error elsewhere.
        """
        try:
            self.shared.budget.charge()  # a value of the file walked, once for every use
        except BudgetSpent as e:
            self.spent(path, e, trace)
        if isinstance(raw, str):
            if "${" not in raw:
                return raw
            try:
                value = substitute(raw, env, shapes, self.shared.budget)
                if isinstance(value, list):  # the layer copies and checks what it is given
                    self.shared.budget.charge(self.shared.budget.size(value, MAX_LIST))
                return value
            except BudgetSpent as e:
                self.spent(path, e, trace)
            except OutOfBudget as e:
                self.spent(path, e, trace, self.doc.expression_pos(path, e.index))
            except NeedsShapes as e:
                if deferrable:
                    raise
                self.fail(
                    path,
                    f"{e.args[0]}() is known only once shapes are, which is too late here",
                    "shapes can set the options of single layers, if:, and a block call's "
                    "arguments; write a number, a param or a block argument here",
                    trace=trace,
                )
                raise Failed from None
            except ExpressionError as e:
                self.fail(
                    path, e.message, e.hint, trace=trace, pos=self.doc.expression_pos(path, e.index)
                )
                raise Failed from e
            except Problem as e:
                self.fail(path, e.message, e.hint, trace=trace)
                raise Failed from e
        if isinstance(raw, list):
            return [
                self.value(v, (*path, i), env, trace, deferrable, shapes) for i, v in enumerate(raw)
            ]
        if isinstance(raw, dict):
            return {
                k: self.value(v, (*path, k), env, trace, deferrable, shapes) for k, v in raw.items()
            }
        return raw

    def spent(
        self, path: PathKey, e: Problem, trace: tuple[str, ...], pos: Pos | None = None
    ) -> NoReturn:
        """Stop at once where the command's budget ran out: every value after it would fail."""
        self.fail(path, e.message, e.hint, trace=trace, pos=pos)
        raise NetspecError(self.errors)

    def condition(
        self, raw: Any, path: PathKey, env: Mapping[str, Any], trace: tuple[str, ...]
    ) -> bool | tuple[str, Mapping[str, Any]]:
        """An ``if:``: True or False, or (text, names) where it depends on shapes."""
        if raw is None:
            return True
        try:
            value = self.value(raw, path, env, trace, deferrable=True)
        except NeedsShapes:
            return (raw, env)
        if not isinstance(value, bool):
            self.fail(path, f"if: needs true or false, got {show(value)}", trace=trace)
            raise Failed
        return value
