"""The pydantic models of the file format, and the one translation of their errors.

Every option model derives from :class:`Options`: unknown keys are errors (``extra="forbid"``)
and every value may also be written as an expression ``${...}``. Expressions are accepted as
they are when a file is first validated and replaced by their values before a layer is checked
again, so the same model serves both passes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Strict,
    Tag,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from .errors import Diagnostic, did_you_mean
from .expr import has_expression
from .source import Document, PathKey, show, type_name

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"
SPEC_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"
_NAME_RE = re.compile(NAME_PATTERN)
#: The largest size, channel count or count a spec may write (PyTorch indexes with int32 here).
MAX_SIZE = 2**31 - 1
#: Attributes of the container modules a name becomes an attribute of (nn.Sequential and
#: netspec's Residual): torch refuses them as child names. tests/test_schema.py keeps this
#: list in step with torch.
RESERVED_NAMES = frozenset(
    (
        "T_destination",
        "add_module",
        "append",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extend",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "insert",
        "ipu",
        "load_state_dict",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "pop",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "xpu",
        "zero_grad",
    )
)
#: Validation context of the second pass: every expression has been replaced by its value, so
#: a string still holding "${" (from "$${" or a param's text) is a plain, wrong value.
EVALUATED = {"evaluated": True}
_FLOAT_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def unevaluated(value: Any, info: ValidationInfo) -> bool:
    """Whether ``value`` is an expression still to be evaluated (first pass only)."""
    if isinstance(info.context, dict) and info.context.get("evaluated"):
        return False
    return has_expression(value) or (
        isinstance(value, list) and any(has_expression(v) for v in value)
    )


def _allow_expression(
    value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
) -> Any:
    return value if unevaluated(value, info) else handler(value)


def _float_text(value: Any) -> Any:
    # YAML 1.1 reads 1e-5 (no dot) as text; a user means the number
    if isinstance(value, str) and _FLOAT_TEXT.match(value):
        return float(value)
    return value


def _name(value: Any) -> Any:
    if isinstance(value, str) and value in RESERVED_NAMES:
        raise PydanticCustomError(
            "reserved_name", f'"{value}" is the name of a torch module attribute; choose another'
        )
    return value


AllowExpr = WrapValidator(_allow_expression)

Int = Annotated[int, Strict(), Field(ge=-MAX_SIZE, le=MAX_SIZE), AllowExpr]
PosInt = Annotated[int, Strict(), Field(ge=1, le=MAX_SIZE), AllowExpr]
NonNegInt = Annotated[int, Strict(), Field(ge=0, le=MAX_SIZE), AllowExpr]
Float = Annotated[float, Strict(), BeforeValidator(_float_text), AllowExpr]
Prob = Annotated[float, Strict(), Field(ge=0.0, le=1.0), BeforeValidator(_float_text), AllowExpr]
PosFloat = Annotated[float, Strict(), Field(gt=0.0), BeforeValidator(_float_text), AllowExpr]
Bool = Annotated[bool, Strict(), AllowExpr]
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64), AfterValidator(_name), AllowExpr]


def _pair_validator(minimum: int, words: tuple[str, ...] = ()) -> PlainValidator:
    wanted = f"an integer ≥ {minimum}" + (", " if words else " or ") + "a [height, width] pair"
    if words:
        wanted += " or " + " / ".join(words)

    def check(value: Any, info: ValidationInfo) -> Any:
        if unevaluated(value, info):
            return value
        if isinstance(value, str) and value in words:
            return value
        items = value if isinstance(value, list) and len(value) == 2 else [value]
        if all(
            isinstance(v, int) and not isinstance(v, bool) and minimum <= v <= MAX_SIZE
            for v in items
        ):
            return (items[0], items[-1])
        raise PydanticCustomError("pair", f"expected {wanted}")

    return PlainValidator(check, json_schema_input_type=Any)


#: An int, or a [height, width] pair; normalised to a pair.
PosPair = Annotated[tuple[int, int], _pair_validator(1)]
NonNegPair = Annotated[tuple[int, int], _pair_validator(0)]
Padding = Annotated[tuple[int, int] | str, _pair_validator(0, ("same", "valid"))]


def _branches(value: Any, info: ValidationInfo) -> Any:
    if unevaluated(value, info):
        return value
    if isinstance(value, list) and value and all(isinstance(b, list) for b in value):
        return value
    if isinstance(value, dict) and value and all(isinstance(b, list) for b in value.values()):
        for key in value:
            if not is_name(key) and not unevaluated(key, info):
                raise PydanticCustomError("branch_name", f"branch name {key!r} is not a name")
            _name(key)
        return value
    raise PydanticCustomError(
        "branches",
        "expected a non-empty list of layer lists, or a mapping of names to layer lists",
    )


#: Inception branches: ``[[...], [...]]`` or ``{name: [...], ...}``.
Branches = Annotated[list[list[Any]] | dict[str, list[Any]], PlainValidator(_branches)]


def _names(value: Any, info: ValidationInfo) -> Any:
    if unevaluated(value, info):
        return value
    items = value if isinstance(value, list) else [value]
    if items and all(isinstance(v, str) and is_name(v) for v in items):
        return value
    raise PydanticCustomError("names", "expected a name, or a list of names")


#: One name or a list of them (``repeat``'s ``as``).
Names = Annotated[str | list[str], PlainValidator(_names)]

#: A list of layers; validated entry by entry by the elaborator, never here.
LayerList = Annotated[list[Any], AllowExpr]


class Options(BaseModel):
    """Base of every kind's options: forbid unknown keys, allow ``name:`` on any layer."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: Name | None = None
    expect: Annotated[list[PosInt], Field(min_length=1, max_length=4)] | None = Field(
        default=None, description="the output shape this layer must have, e.g. [512, 7, 7]"
    )


class BlockDef(BaseModel):
    """A reusable block: ``args`` with defaults (or a type word for required ones), ``layers``."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    layers: Annotated[list[Any], Field(min_length=1)]


class ImportSpec(BaseModel):
    """Some of the blocks of another file: ``{file: std:resnet, blocks: [basic]}``."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(description="a path relative to this file, or std:NAME")
    blocks: Annotated[list[str], Field(min_length=1)] = Field(
        description="the blocks to import; the others stay out of this file's names"
    )


def _import_form(value: Any) -> str:
    """Which form an import is written in, so that only that form's errors are reported."""
    return "str" if isinstance(value, str) else "dict"


Import = Annotated[
    Annotated[str, Tag("str")] | Annotated[ImportSpec, Tag("dict")],
    Discriminator(_import_form),
    Field(description="a .yaml file relative to this one, or std:NAME (netspec's library)"),
]


class LibraryFile(BaseModel):
    """A file that only holds blocks for other files to import (no input, no layers)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=SPEC_NAME_PATTERN, max_length=64)] | None = None
    description: str = ""
    imports: list[Import] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    blocks: dict[str, BlockDef] = Field(default_factory=dict)


class SpecFile(BaseModel):
    """The top level of a spec file."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=SPEC_NAME_PATTERN, max_length=64)]
    description: str = ""
    imports: list[Import] = Field(
        default_factory=list, description="files whose blocks this spec uses"
    )
    input: Annotated[list[Int], Field(min_length=1, max_length=4)]
    output: Annotated[list[Int], Field(min_length=1, max_length=4)] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    blocks: dict[str, BlockDef] = Field(default_factory=dict)
    layers: Annotated[list[Any], Field(min_length=1)]


def is_name(word: object) -> bool:
    return isinstance(word, str) and bool(_NAME_RE.match(word))


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
        loc = tuple(p for p in err["loc"] if not _is_union_member(p))
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
            got = "" if kind in ("too_short", "too_long") else f", got {_describe_value(value)}"
            message = f'{owner}option "{_dotted(loc)}": {error_text(err)}{got}'
            if not what:
                message = f'"{_dotted(loc)}": {error_text(err)}{got}'
            hint = _type_hint(kind, field, model)
            if isinstance(value, float) and error_text(err) == "expected an integer":
                hint = WHOLE_HINT
            out.append(doc.diagnostic(path, message, hint, notes=notes))
    return out


#: The hint for a computed size that came out fractional (``${64 * width}``).
WHOLE_HINT = "a computed size must be whole: wrap it in round(...), int(...) or make_divisible(...)"

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
        or part.endswith("]")
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
    if kind == "string_pattern_mismatch":
        return "expected a name of letters, digits and _, starting with a letter"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} item(s)"
    if kind == "enum":
        return f"expected one of {ctx.get('expected')}"
    if kind in ("pair", "branches", "branch_name", "names", "reserved_name"):
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
