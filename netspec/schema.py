"""The pydantic models of the file format, and the one translation of their errors.

Every option model derives from :class:`Options`: unknown keys are errors (``extra="forbid"``)
and every value may also be written as an expression ``${...}``. Expressions are accepted as
they are when a file is first validated and replaced by their values before a layer is checked
again, so the same model serves both passes.
"""

from __future__ import annotations

import keyword
import re
from typing import Annotated, Any, Literal

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
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .interpolation import has_expression

#: Name patterns are written for JSON Schema (ECMA-262) and pydantic (Rust's regex), where `$`
#: is the end of the text; Python's `$` also matches before a final newline, so Python code
#: checks a name with ``re.fullmatch`` (:func:`is_name`), never ``re.match``: "blk\n" is no name
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"
SPEC_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"
#: A layer's name, a key in the module tree: a name, or with ``-`` too (RegNet's
#: ``block1-0``), which torch takes and torch.fx's generated code reads with getattr.
LAYER_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]*$"
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
        # torch.fx.GraphModule's, for the modules of blocks whose layers form a graph
        "add_submodule",
        "code",
        "delete_all_unused_submodules",
        "delete_submodule",
        "graph",
        "meta",
        "print_readable",
        "recompile",
        "shape_env",
        "to_folder",
    )
)
#: Validation context of the second pass: every expression has been replaced by its value, so
#: a string still holding "${" (from "$${" or a param's text) is a plain, wrong value.
EVALUATED = {"evaluated": True}
#: A number such as 1e-5, which YAML 1.1 reads as text and netspec as the number.
FLOAT_TEXT = r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$"
_FLOAT_TEXT = re.compile(FLOAT_TEXT)


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


def float_text(value: Any) -> Any:
    # YAML 1.1 reads 1e-5 (no dot) as text; a user means the number
    if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value):
        return float(value)
    return value


def reserved(value: Any) -> str:
    """Why ``value`` cannot name a module (an attribute of torch's containers, a keyword), or ""."""
    if isinstance(value, str) and value in RESERVED_NAMES:
        return f'"{value}" is the name of a torch module attribute; choose another'
    if value == "self":  # torch.fx's generated forward would read the layer as the module
        return '"self" names the module itself in the code torch generates; choose another'
    if isinstance(value, str) and keyword.iskeyword(value):
        return f'"{value}" is a Python keyword, which no module can be called; choose another'
    return ""


def _name(value: Any) -> Any:
    problem = reserved(value)
    if problem:
        raise PydanticCustomError("reserved_name", problem)
    return value


AllowExpr = WrapValidator(_allow_expression)

Int = Annotated[int, Strict(), Field(ge=-MAX_SIZE, le=MAX_SIZE), AllowExpr]
PosInt = Annotated[int, Strict(), Field(ge=1, le=MAX_SIZE), AllowExpr]
NonNegInt = Annotated[int, Strict(), Field(ge=0, le=MAX_SIZE), AllowExpr]
Float = Annotated[float, Strict(), BeforeValidator(float_text), AllowExpr]
Prob = Annotated[float, Strict(), Field(ge=0.0, le=1.0), BeforeValidator(float_text), AllowExpr]
PosFloat = Annotated[float, Strict(), Field(gt=0.0), BeforeValidator(float_text), AllowExpr]
NonNegFloat = Annotated[float, Strict(), Field(ge=0.0), BeforeValidator(float_text), AllowExpr]
Bool = Annotated[bool, Strict(), AllowExpr]
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64), AfterValidator(_name), AllowExpr]
LayerName = Annotated[
    str, Field(pattern=LAYER_NAME_PATTERN, max_length=64), AfterValidator(_name), AllowExpr
]


def _pair_input(minimum: int, words: tuple[str, ...]) -> Any:
    """What a pair option's JSON Schema says it takes: an int, a [height, width] list, a word."""
    size = Annotated[int, Field(ge=minimum, le=MAX_SIZE)]
    pair = Annotated[list[size], Field(min_length=2, max_length=2)]
    return size | pair | Literal[words] if words else size | pair


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

    return PlainValidator(check, json_schema_input_type=_pair_input(minimum, words))


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
_NameText = Annotated[str, Field(pattern=NAME_PATTERN)]
Names = Annotated[
    str | list[str], PlainValidator(_names, json_schema_input_type=_NameText | list[_NameText])
]

#: A list of layers; validated entry by entry by the elaborator, never here.
LayerList = Annotated[list[Any], AllowExpr]


def _tensor_names(value: Any, info: ValidationInfo) -> Any:
    if unevaluated(value, info):
        return value
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PydanticCustomError("tensors", "expected a tensor name, or a list of them")
    for item in items:
        if unevaluated(item, info):
            continue
        if isinstance(item, int) and not isinstance(item, bool):
            raise PydanticCustomError(
                "layer_index", f"{item} is a layer's number; from: takes tensor names"
            )
        if isinstance(item, str) and keyword.iskeyword(item):
            raise PydanticCustomError(
                "tensors",
                f'"{item}" is a Python keyword, which cannot name a tensor; choose another',
            )
        if not (isinstance(item, str) and is_name(item)):
            raise PydanticCustomError(
                "tensors",
                "expected a tensor name (letters, digits and _, starting with a letter), "
                "or a list of them",
            )
    return value


#: Named tensors: ``from: skip``, ``from: [skip, up]``, ``to: [p3, p4]``.
TensorNames = Annotated[
    str | list[str],
    PlainValidator(_tensor_names, json_schema_input_type=_NameText | list[_NameText]),
]


class Options(BaseModel):
    """Base of every kind's options: forbid unknown keys, allow ``name:`` on any layer."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: LayerName | None = Field(
        default=None,
        description="its name in the module tree and the state_dict (default: its position)",
    )
    expect: Annotated[list[PosInt], Field(min_length=1, max_length=4)] | None = Field(
        default=None, description="the output shape this layer must have, e.g. [512, 7, 7]"
    )
    from_: TensorNames | None = Field(
        default=None,
        alias="from",
        description="the named tensor(s) this layer reads; default: the previous layer's output",
    )
    to: TensorNames | None = Field(
        default=None, description="a name for this layer's output, used later with from:"
    )
    if_: Bool | None = Field(
        default=None, alias="if", description="a condition: the layer exists only where it holds"
    )


#: Names of a block's or a network's tensors (``inputs: [x, skip]``).
TensorList = Annotated[list[Name], Field(min_length=1, max_length=64)]
#: A shape written in a spec: 1 to 4 sizes, each maybe an expression.
ShapeList = Annotated[list[Int], Field(min_length=1, max_length=4)]


class BlockDef(BaseModel):
    """A reusable block: ``args`` with defaults (or a type word for required ones), ``layers``."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    inputs: TensorList | None = Field(
        default=None, description="names of the tensors the block takes (default: [input])"
    )
    outputs: TensorList | None = Field(
        default=None, description="named tensors the block hands back (default: its last layer's)"
    )
    layers: Annotated[list[Any], Field(min_length=1)]


class ImportSpec(BaseModel):
    """Some of the blocks of another file: ``{file: std:resnet, blocks: [basic]}``."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(description="a path relative to this file, or std:NAME")
    blocks: Annotated[list[str], Field(min_length=1)] | None = Field(
        default=None,
        description="the blocks to import (default: all); the others stay out of this file's names",
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="values for the imported file's params, which its blocks see",
    )


def _import_form(value: Any) -> str:
    """Which form an import is written in, so that only that form's errors are reported."""
    return "str" if isinstance(value, str) else "dict"


Import = Annotated[
    Annotated[str, Tag("str")] | Annotated[ImportSpec, Tag("dict")],
    Discriminator(_import_form),
    Field(description="a .yaml file relative to this one, or std:NAME (netspec's library)"),
]


#: ``functions:``: ``ch(c): ${...}``, each body one expression (netspec.params checks them).
Functions = Annotated[
    dict[str, str],
    Field(
        max_length=256,
        description="functions for this file's expressions, name(parameters): ${expression}, "
        "e.g. ch(c): ${ceil(min(c, max_channels) * width / 8) * 8}",
    ),
]
ScaleName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]
#: ``scales:``: named presets of param values, the default first.
Scales = Annotated[
    dict[ScaleName, dict[ScaleName, Any]],
    Field(
        min_length=1,
        max_length=64,
        description="sizes of a family: each a name and the param values it sets, e.g. "
        "n: {depth: 0.33, width: 0.25}; the first is the default, --scale chooses another",
    ),
]


class LibraryFile(BaseModel):
    """A file that only holds blocks for other files to import (no input, no layers)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=SPEC_NAME_PATTERN, max_length=64)] | None = None
    description: str = ""
    imports: list[Import] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    functions: Functions = Field(default_factory=dict)
    blocks: dict[str, BlockDef] = Field(default_factory=dict)


class SpecFile(BaseModel):
    """The top level of a spec file."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=SPEC_NAME_PATTERN, max_length=64)]
    description: str = ""
    imports: list[Import] = Field(
        default_factory=list, description="files whose blocks this spec uses"
    )
    input: ShapeList | None = Field(
        default=None, description="the input shape without the batch, e.g. [3, 224, 224]"
    )
    inputs: Annotated[dict[str, ShapeList], Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="several named inputs: {image: [3, 224, 224], ...}"
    )
    output: ShapeList | None = None
    outputs: Annotated[dict[str, ShapeList | None], Field(min_length=1, max_length=64)] | None = (
        Field(default=None, description="named outputs, each with its shape or null")
    )
    params: dict[str, Any] = Field(default_factory=dict)
    scales: Scales | None = None
    functions: Functions = Field(default_factory=dict)
    blocks: dict[str, BlockDef] = Field(default_factory=dict)
    layers: Annotated[list[Any], Field(min_length=1)]

    @model_validator(mode="after")
    def _one_way(self) -> SpecFile:
        if self.input is not None and self.inputs is not None:  # neither: structure.py says
            raise ValueError("a spec has input: (one shape) or inputs: (named), not both")
        if self.output is not None and self.outputs is not None:
            raise ValueError("a spec has output: (one shape) or outputs: (named), not both")
        return self


def is_name(word: object) -> bool:
    return isinstance(word, str) and bool(_NAME_RE.fullmatch(word))


def is_layer_name(word: object) -> bool:
    return isinstance(word, str) and bool(re.fullmatch(LAYER_NAME_PATTERN, word))


def is_spec_name(word: object) -> bool:
    """Whether ``word`` is a spec's name (letters, digits, ``_ . -``; at most 64 characters)."""
    return isinstance(word, str) and len(word) <= 64 and bool(re.fullmatch(SPEC_NAME_PATTERN, word))
