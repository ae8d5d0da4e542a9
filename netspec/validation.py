"""pydantic's errors in netspec's words: the one translation of a ``ValidationError``.

Every place that validates a spec with pydantic passes the error here, with the document and
the path of what was validated, and gets positioned diagnostics back::

    except ValidationError as e:
        errors.extend(validation_diagnostics(e, doc, path, ConvSpec, what="conv"))
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import Diagnostic, did_you_mean
from .schema import EVALUATED, LAYER_NAME_PATTERN
from .source import Document, PathKey, show, type_name

M = TypeVar("M", bound=BaseModel)


class ValidatedOnce:
    """Layer options validated once for each distinct value: the layers of a long list written
    alike (10,000 of one conv) share one validation and one options object (options are frozen).
    Only what passes is kept; a value that fails is validated again where it is met, for its
    own positioned errors.

    Example::

        validate = ValidatedOnce()
        opts = validate(kind.Options, {"out": 8, "kernel": 3}, evaluated=True)
    """

    def __init__(self) -> None:
        self._done: dict[Hashable, BaseModel] = {}

    def __call__(self, model: type[M], data: Any, evaluated: bool, remember: bool = True) -> M:
        """``data`` validated by ``model`` (``evaluated``: its expressions have been worked
        out); ``remember=False`` for options that hold layer lists, too big to key by."""
        context = EVALUATED if evaluated else None
        key = _frozen(data) if remember else None
        if key is None:
            return model.model_validate(data, context=context)
        key = (model, evaluated, key)
        found = self._done.get(key)
        if found is None:
            found = self._done[key] = model.model_validate(data, context=context)
        return found  # type: ignore[return-value]  # keyed by its model


def _frozen(value: Any) -> Hashable | None:
    """``value`` (plain data) as a hashable key that tells types apart (``1``, ``1.0`` and
    ``true`` are equal in Python); None for anything else."""
    kind = type(value)
    if kind is dict:
        items = [(k, _frozen(v)) for k, v in value.items()]
        return None if any(v is None for _, v in items) else (dict, tuple(items))
    if kind is list:
        found = [_frozen(v) for v in value]
        return None if any(v is None for v in found) else (list, tuple(found))
    if kind in (str, int, float, bool) or value is None:
        return (kind, value)
    return None


def validation_diagnostics(
    error: ValidationError,
    doc: Document,
    base: PathKey,
    model: type[BaseModel],
    notes: tuple[str, ...] = (),
    what: str = "",
) -> list[Diagnostic]:
    """Translate pydantic's errors into positioned diagnostics (the only place that does)."""
    out: list[Diagnostic] = []
    seen: set[PathKey] = set()
    fields = sorted(info.alias or name for name, info in model.model_fields.items())
    errors = error.errors(include_url=False)
    # a required option written under a familiar name is reported once, as that name
    misnamed = {
        FAMILIAR_NAMES.get(str(e["loc"][-1]))
        for e in errors
        if e["type"] == "extra_forbidden" and len(e["loc"]) == 1
    }
    for err in errors:
        last = len(err["loc"]) - 1
        loc = tuple(  # an unknown key is the user's own word, whatever it looks like
            p
            for i, p in enumerate(err["loc"])
            if not _is_union_member(p) or (i == last and err["type"] == "extra_forbidden")
        )
        path = (*base, *loc)
        if path in seen or (err["type"] == "missing" and len(loc) == 1 and loc[0] in misnamed):
            continue  # one message per place: a union reports each of its members
        seen.add(path)
        kind = err["type"]
        field = str(loc[0]) if loc else ""
        value = err.get("input")
        owner = f"{what} " if what else ""
        if kind == "extra_forbidden":
            # the valid keys are known here for the model's own level only
            noun = "options" if what else "keys"
            hint = option_hint(str(loc[-1]), fields, noun) if len(loc) == 1 else ""
            msg = f'unknown option "{loc[-1]}" for {what}' if what else f'unknown key "{loc[-1]}"'
            out.append(doc.diagnostic(path, msg, hint, key=True, notes=notes))
        elif kind == "missing":
            required = [
                info.alias or f for f, info in model.model_fields.items() if info.is_required()
            ]
            message = f'{what} needs option "{loc[-1]}"' if what else f'missing key "{loc[-1]}"'
            # the required keys are known here for the model's own level only
            hint = f"required: {', '.join(required)}" if len(loc) == 1 else ""
            out.append(doc.diagnostic(path[:-1], message, hint, notes=notes))
        elif not loc:  # a rule of the whole mapping (e.g. "exactly one of kernel or output")
            message = str(err.get("msg", "")).removeprefix("Value error, ")
            out.append(doc.diagnostic(path, message, "", notes=notes))
        else:
            quiet = ("too_short", "too_long", "layer_index")
            got = "" if kind in quiet else f", got {_describe_value(value)}"
            message = f'{owner}option "{_dotted(loc)}": {error_text(err)}{got}'
            if not what:
                message = f'"{_dotted(loc)}": {error_text(err)}{got}'
            hint = _type_hint(kind, field, model)
            if isinstance(value, float) and error_text(err) == "expected an integer":
                hint = WHOLE_HINT
            if kind == "layer_index":
                hint = INDEX_HINT
            out.append(doc.diagnostic(path, message, hint, notes=notes))
    return out


#: The hint for a computed size that came out fractional (``${64 * width}``).
WHOLE_HINT = "a computed size must be whole: wrap it in round(...), int(...) or make_divisible(...)"

#: The hint for ``from: [-1, 6]``, Ultralytics' way of reusing a row's output.
INDEX_HINT = (
    "name the tensor where it is made (to: p4) and read it by that name (from: [p4]); "
    "names do not move when a layer is inserted, as row numbers do"
)

#: Names people bring from PyTorch or Keras, and the netspec option they mean.
FAMILIAR_NAMES = {
    "kernel_size": "kernel",
    "pool_size": "kernel",
    "out_channels": "out",
    "out_features": "out",
    "filters": "out",
    "units": "out",
    "num_channels": "out",
    "strides": "stride",
    "use_bias": "bias",
    "rate": "p",
    "output_size": "output",
    "num_layers": "times",
    "num_groups": "groups",
    "scale_factor": "scale",
    "elementwise_affine": "affine",
}
INFERRED_NAMES = {"in_channels", "in_features", "input_channels", "num_features", "input_shape"}


def option_hint(word: str, fields: list[str] | tuple[str, ...], noun: str = "options") -> str:
    """A "did you mean" for an unknown option, knowing PyTorch's and Keras's names."""
    if word in INFERRED_NAMES:
        return "input sizes are inferred from the incoming shape; remove this option"
    if word == "activation" and "out" in fields:
        return 'add the activation as its own layer after this one, e.g. "- relu"'
    familiar = FAMILIAR_NAMES.get(word)
    if familiar in fields:
        listing = ", ".join(sorted(fields))
        return f'did you mean "{familiar}"? valid options: {listing}'
    return did_you_mean(word, fields, noun)


def _is_union_member(part: object) -> bool:
    # pydantic adds the member's type to a union error's location, e.g. ("kernel", "int")
    return isinstance(part, str) and (
        part in ("int", "str", "float", "bool", "list", "dict")
        or part.startswith(("list[", "constrained-", "function-", "tuple[", "dict["))
        or (part.endswith("]") and "[" in part[1:])
    )


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return f"a {type_name(value)}"
    return f"{show(value)} ({type_name(value)})"


def error_text(err: Any) -> str:
    """One pydantic error as netspec says it: ``must be at least 1``, ``expected a list``."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "expected an integer"
    if kind in ("float_type", "float_parsing"):
        return "expected a number"
    if kind in ("bool_type", "bool_parsing"):
        return "expected true or false"
    if kind in ("string_type",):
        return "expected a string"
    if kind == "list_type":
        return "expected a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "expected a mapping"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == LAYER_NAME_PATTERN:
        return "expected a layer name of letters, digits, _ and -, starting with a letter"
    if kind == "string_pattern_mismatch":
        return "expected a name of letters, digits and _, starting with a letter"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} item(s)"
    if kind == "enum":
        return f"expected one of {ctx.get('expected')}"
    if kind in ("pair", "branches", "branch_name", "names", "reserved_name", "layer_index"):
        return str(err.get("msg"))
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}"
    if kind == "value_error":  # a rule of the options model, already in netspec's words
        return str(err.get("msg", "")).removeprefix("Value error, ")
    return str(err.get("msg", kind)).lower()


def _type_hint(kind: str, field: str, model: type[BaseModel]) -> str:
    info = model.model_fields.get(field)
    if info is not None and info.description:
        return f"{field}: {info.description}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "write a whole number, or an expression such as ${out * 2}"
    return ""
