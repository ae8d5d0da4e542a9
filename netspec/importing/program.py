"""An archive's program (``models/model.json``) checked as data: every value of the type it
must have, every name one netspec can use, before anything is made from it.

The JSON is torch.export's serialized ``ExportedProgram``: a graph of operator calls, each
naming the tensors it reads, with the module stack it ran in and the Python line that made
it, as text. Here it becomes a :class:`Program` of :class:`Op` s whose arguments are plain
values in the order the operator's schema declares them. Nothing in it is evaluated:

- an operator is looked up by its name among the ones netspec imports; any other is kept as
  a name, for the message that says netspec has no kind for it;
- a symbolic size (``s0``, an expression over it) stays a :class:`Symbolic` holding its text,
  never parsed (torch's loader hands it to ``sympy.sympify``, which evaluates it);
- a module path is a path of names and canonical numbers (not ``a..b``, ``__class__`` or an
  attribute every module has, such as ``forward``); the numbered children a spec would fill
  with ``identity`` (children that never ran) are at most :data:`MAX_GAPS` together;
- the recorded source line stays text for messages: its file is never opened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ..errors import clip, printable
from .archive import ArchiveError

#: how many operators a program may have (ResNet-50 has ~180, a ViT-L ~1,000)
MAX_OPS = 50_000
#: how deep a module path may be (``layer1.0.conv1`` is 3)
MAX_DEPTH = 64
#: numbered children a spec would write as ``identity`` (never ran), in all
MAX_GAPS = 10_000
#: the largest number a program may say (torch's sizes are 64-bit)
MAX_INT = 2**63 - 1
#: the longest name (a tensor's, a module path, a class) or text kept
MAX_NAME = 1000


@dataclass(frozen=True)
class Ref:
    """A tensor another operator makes (or the input, or a weight), by its name."""

    name: str


@dataclass(frozen=True)
class Symbolic:
    """A size torch left symbolic (a dynamic batch): its text, never parsed."""

    text: str


@dataclass(frozen=True)
class Opaque:
    """A value netspec has no use for (a dtype, a device, a graph): its kind."""

    kind: str


@dataclass
class Op:
    """One operator call of the program."""

    #: what the archive calls it, ``aten.conv2d.default``, and the operator if netspec has it
    target: str
    overload: Any
    #: its arguments, positional, in its schema's order (left out: None for a tensor, else
    #: the schema's default); empty for an operator netspec does not have
    args: list[Any]
    #: the tensors it makes (the first is its value; None where it makes no tensor)
    outputs: list[str | None]
    #: the modules it ran in, outermost first: (path, qualified class name)
    stack: list[tuple[str, str]]
    #: the Python stack the archive recorded, as text
    trace: str
    #: the rank of its first output (None where the program does not say)
    rank: int | None


@dataclass
class Program:
    """What netspec reads of an exported program."""

    ops: list[Op]
    #: a weight's tensor name → its state_dict key and shape
    weights: dict[str, tuple[str, tuple[int, ...]]]
    #: other lifted inputs (tensor constants, tokens): nothing netspec can rebuild
    constants: set[str]
    #: the one input: its name and its shape without the batch
    input: str
    shape: tuple[int, ...]
    #: the tensors it returns, in order
    outputs: list[Ref] = field(default_factory=list)


class _Bad(Exception):
    """A value of the wrong type or out of bounds, at a place in the JSON."""


def load_program(data: Any, shown: str, supported: dict[str, Any]) -> Program:
    """The program in an archive's parsed ``model.json``; ``supported`` maps the operators
    netspec imports by their serialized names (``torch.ops.aten.conv2d.default``)."""
    try:
        graph = _dict(_dict(data, "program").get("graph_module"), "graph_module")
        body = _dict(graph.get("graph"), "graph")
        values = _dict(body.get("tensor_values"), "tensor_values")
        sizes = {_name(k): _sizes(v, f"tensor_values[{_quoted(k)}]") for k, v in values.items()}
        program = _signature(_dict(graph.get("signature"), "signature"), sizes, shown)
        nodes = _list(body.get("nodes"), "nodes", MAX_OPS)
        known = {*program.weights, *program.constants, program.input}
        for n, node in enumerate(nodes):
            op = _op(_dict(node, f"nodes[{n}]"), f"nodes[{n}]", supported, sizes, known)
            program.ops.append(op)
            known.update(o for o in op.outputs if o is not None)
        for n, output in enumerate(_list(body.get("outputs"), "outputs", MAX_OPS)):
            value = _argument(output, f"outputs[{n}]")
            if not isinstance(value, Ref) or value.name not in known:
                raise _Bad(f"outputs[{n}]: the program returns something else than a tensor")
            program.outputs.append(value)
    except _Bad as e:
        raise ArchiveError(shown, f"not a torch.export program: {e}") from None
    _check_gaps(program, shown)
    return program


def _signature(signature: dict[str, Any], sizes: dict[str, Any], shown: str) -> Program:
    weights: dict[str, tuple[str, tuple[int, ...]]] = {}
    constants: set[str] = set()
    inputs: list[str] = []
    for n, spec in enumerate(_list(signature.get("input_specs"), "input_specs", MAX_OPS)):
        where = f"input_specs[{n}]"
        kind, value = _one(spec, where)
        value = _dict(value, where)
        if kind in ("parameter", "buffer"):
            name = _name(_dict(value.get("arg"), where).get("name"), where)
            key = _name(value.get(f"{kind}_name"), where)
            shape = sizes.get(name)
            if shape is None or not all(isinstance(s, int) for s in shape):
                raise _Bad(f"{where}: the weight {_quoted(key)} has no fixed shape")
            weights[name] = (key, tuple(shape))
        elif kind == "user_input":
            arg = _argument(value.get("arg"), where)
            if isinstance(arg, Ref):
                inputs.append(arg.name)
        else:
            arg = value.get("arg")
            if isinstance(arg, dict) and isinstance(arg.get("name"), str):
                constants.add(_name(arg["name"], where))
    if len(inputs) != 1:
        raise ArchiveError(
            shown,
            f"the program takes {len(inputs)} tensor inputs",
            "netspec imports programs of one input for now",
        )
    shape = sizes.get(inputs[0])
    if not shape:
        raise _Bad("the input has no shape (or no batch)")
    if not all(isinstance(s, int) for s in shape[1:]):
        said = ", ".join(s.text if isinstance(s, Symbolic) else str(s) for s in shape[1:])
        raise ArchiveError(
            shown,
            f"the input's sizes are symbolic ({clip(printable(said), 200)})",
            "export the program at a fixed size (only the batch may be dynamic)",
        )
    return Program([], weights, constants, inputs[0], tuple(shape[1:]))


def _op(
    node: dict[str, Any],
    where: str,
    supported: dict[str, Any],
    sizes: dict[str, Any],
    known: set[str],
) -> Op:
    target = _name(node.get("target"), f"{where}.target")
    metadata = _dict(node.get("metadata", {}), f"{where}.metadata")
    trace = metadata.get("stack_trace", "")
    if not isinstance(trace, str):
        raise _Bad(f"{where}.metadata.stack_trace: expected text")
    stack_text = metadata.get("nn_module_stack", "")
    stack = _stack(stack_text, f"{where}.metadata") if stack_text else []
    outputs: list[str | None] = []
    for n, output in enumerate(_list(node.get("outputs"), f"{where}.outputs", 64)):
        value = _argument(output, f"{where}.outputs[{n}]")
        found = value if isinstance(value, list) else [value]
        outputs += [v.name if isinstance(v, Ref) else None for v in found]
    taken = [o for o in outputs if o is not None]
    if len(set(taken)) != len(taken) or known.intersection(taken):
        raise _Bad(f"{where}: a tensor is made twice")
    overload = supported.get(target)
    shown = target.removeprefix("torch.ops.")
    first = sizes.get(outputs[0]) if outputs and outputs[0] is not None else None
    rank = len(first) if first is not None else None
    args = _arguments(node, where, overload, known) if overload is not None else []
    return Op(printable(clip(shown, 200)), overload, args, outputs, stack, trace, rank)


def _arguments(node: dict[str, Any], where: str, overload: Any, known: set[str]) -> list[Any]:
    """The arguments of a supported operator, positional in its schema's order, checked."""
    given: dict[str, Any] = {}
    for n, item in enumerate(_list(node.get("inputs"), f"{where}.inputs", 64)):
        item = _dict(item, f"{where}.inputs[{n}]")
        name = _name(item.get("name"), f"{where}.inputs[{n}].name")
        if name in given:
            raise _Bad(f"{where}: the argument {_quoted(name)} is given twice")
        given[name] = _argument(item.get("arg"), f"{where}.inputs[{n}]")
    schema = overload._schema.arguments
    unknown = set(given) - {a.name for a in schema}
    if unknown:
        raise _Bad(f"{where}: {overload} has no argument {_quoted(sorted(unknown)[0])}")
    last = max((i for i, a in enumerate(schema) if a.name in given), default=-1)
    args: list[Any] = []
    for i, arg in enumerate(schema):
        if arg.name in given:
            value = given[arg.name]
        elif arg.has_default_value():
            value = arg.default_value
        elif str(arg.type).startswith("Optional["):
            value = None
        else:
            raise _Bad(f"{where}: {overload} needs its argument {arg.name}")
        kind = "Scalar or Tensor" if arg.name == "other" else str(arg.type)
        _check_type(value, kind, f"{where}: {overload}'s {arg.name}", known)
        if arg.kwarg_only:  # never positional: at its default, or the call is not imported
            if arg.name in given and value != arg.default_value:
                raise _Bad(f"{where}: {overload} with {arg.name} set is not imported")
        elif i <= last:
            args.append(value)
    return args


_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "bool": (bool,),
    "float": (float, int),
    "number": (float, int),
    "Tensor": (Ref,),
    "Scalar or Tensor": (Ref, float, int),  # add's and mul's other: x + 1 is add.Tensor
}


def _check_type(value: Any, kind: str, where: str, known: set[str]) -> None:
    if kind.startswith("Optional["):
        if value is None:
            return
        kind = kind[len("Optional[") : -1]
    if kind.startswith("List["):
        if not isinstance(value, list):
            raise _Bad(f"{where}: expected a list")
        for item in value:
            _check_type(item, kind[len("List[") : -1], where, known)
        return
    allowed = _TYPES.get(kind, ())
    is_bool = isinstance(value, bool)
    if not isinstance(value, allowed) or (is_bool and kind != "bool"):
        raise _Bad(f"{where}: expected {kind}, got {_describe(value)}")
    if isinstance(value, Ref) and value.name not in known:
        raise _Bad(f"{where}: reads {_quoted(value.name)}, which no earlier operator makes")


def _describe(value: Any) -> str:
    if isinstance(value, Symbolic):
        return f"a symbolic size ({clip(printable(value.text), 100)})"
    if isinstance(value, Opaque):
        return f"a {value.kind.removeprefix('as_')}"
    return "a tensor" if isinstance(value, Ref) else f"a {type(value).__name__}"


#: the serialized lists of values, and the kinds of their items
_LISTS = {
    "as_tensors": {"as_tensor"},
    "as_optional_tensors": {"as_tensor", "as_none"},
    "as_sym_ints": {"as_int", "as_name"},
}
#: the serialized argument kinds that are plain values, and their Python types
_PLAIN = {"as_int": int, "as_float": float, "as_bool": bool, "as_string": str}


def _argument(arg: Any, where: str) -> Any:
    """One serialized argument as a plain value, a :class:`Ref`, a list, a
    :class:`Symbolic` or an :class:`Opaque`."""
    kind, value = _one(arg, where)
    if kind == "as_none":
        return None
    if kind == "as_name":  # a symbolic integer's name
        return Symbolic(_name(value, where))
    if kind == "as_tensor":
        return Ref(_name(_dict(value, where).get("name"), where))
    if kind in _LISTS:  # a flat list of the kinds it may hold
        items = _list(value, where, 1024)
        if kind == "as_tensors":
            items = [{"as_tensor": i} for i in items]
        for item in items:
            if not isinstance(item, dict) or not set(item) <= _LISTS[kind]:
                raise _Bad(f"{where}: {kind} holds something else")
        return [_argument(i, where) for i in items]
    if kind in ("as_ints", "as_floats", "as_bools"):
        item_kind = "as_" + kind[3:-1]
        return [_argument({item_kind: v}, where) for v in _list(value, where, 1024)]
    if kind in _PLAIN:
        if kind == "as_float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not _PLAIN[kind]:
            raise _Bad(f"{where}: {kind} is not a {_PLAIN[kind].__name__}")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise _Bad(f"{where}: {value:.3g} is out of range")
        return clip(value, MAX_NAME) if isinstance(value, str) else value
    if kind == "as_sym_int":
        inner, number = _one(value, where)
        if inner == "as_int":
            return _argument({"as_int": number}, where)
        return Symbolic(_name(number, where) if inner == "as_name" else inner)
    return Opaque(clip(kind, 40))


def _sizes(meta: Any, where: str) -> list[int | Symbolic]:
    out: list[int | Symbolic] = []
    for n, size in enumerate(_list(_dict(meta, where).get("sizes"), f"{where}.sizes", 64)):
        kind, value = _one(size, f"{where}.sizes[{n}]")
        if kind == "as_int" and type(value) is int and 0 <= value <= MAX_INT:
            out.append(value)
        elif kind == "as_expr":
            text = _dict(value, where).get("expr_str")
            out.append(Symbolic(clip(text, MAX_NAME) if isinstance(text, str) else "?"))
        else:
            raise _Bad(f"{where}.sizes[{n}]: not a size")
    return out


def _stack(text: Any, where: str) -> list[tuple[str, str]]:
    """``key,path,class;...`` (torch's format: commas inside brackets do not split) as the
    checked (path, class) of each module, outermost first; one entry per key."""
    if not isinstance(text, str):
        raise _Bad(f"{where}.nn_module_stack: expected text")
    found: dict[str, tuple[str, str]] = {}
    for item in text.split(";"):
        parts = _split(item)
        if len(parts) != 3:
            raise _Bad(f"{where}.nn_module_stack: {_quoted(item)} is not key,path,class")
        key, path, qualified = parts
        found[key] = (_module_path(path, where), _class_name(qualified, where))
    return list(found.values())


def _split(item: str) -> list[str]:
    out, start, depth = [], 0, 0
    for end, c in enumerate(item):
        if c in "[(":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(item[start:end])
            start = end + 1
    return [*out, item[start:]]


_NUMBER = re.compile(r"0|[1-9][0-9]{0,5}")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_CLASS = re.compile(
    r"(?:[A-Za-z_][A-Za-z0-9_]*|<locals>)(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|<locals>))*"
)
#: what every module already has (``forward``, ``training``, ``to``): never a child's name
_TAKEN = frozenset(dir(nn.Module())) | frozenset(vars(nn.Module()))


def _module_path(path: str, where: str) -> str:
    """A module path: names and canonical numbers joined by dots ("" for the model)."""
    if not path:
        return path
    parts = path.split(".")
    if len(path) > MAX_NAME or len(parts) > MAX_DEPTH:
        raise _Bad(f"{where}: the module path {_quoted(path)} is too long")
    for part in parts:
        if not (_NUMBER.fullmatch(part) or (_WORD.fullmatch(part) and part not in _TAKEN)):
            raise _Bad(
                f"{where}: the module path {_quoted(path)} has {_quoted(part)}, which is "
                "not a module's name (letters, digits and _, starting with a letter; or a "
                "number below a million, with no leading 0)"
            )
    return path


def _class_name(qualified: str, where: str) -> str:
    if len(qualified) > MAX_NAME or not _CLASS.fullmatch(qualified):
        raise _Bad(f"{where}: {_quoted(qualified)} is not a class's qualified name")
    return qualified


def _check_gaps(program: Program, shown: str) -> None:
    """Refuse a program whose numbered modules leave more than :data:`MAX_GAPS` children
    out (a spec writes each as ``identity``): ``stage.999999`` alone would be a million."""
    numbered: dict[str, set[int]] = {}
    for op in program.ops:
        for path, _ in op.stack:
            parts = path.split(".")
            for n, part in enumerate(parts):
                if part.isdigit():
                    numbered.setdefault(".".join(parts[:n]), set()).add(int(part))
    gaps = sum(max(found) + 1 - len(found) for found in numbered.values())
    if gaps > MAX_GAPS:
        raise ArchiveError(
            shown,
            f"the program's numbered modules leave out {gaps:,} children (a spec writes "
            f"each as identity); the limit is {MAX_GAPS:,}",
        )


def _one(value: Any, where: str) -> tuple[str, Any]:
    """The one key and value of a serialized union (``{"as_int": 3}``)."""
    if not isinstance(value, dict) or len(value) != 1:
        raise _Bad(f"{where}: expected one of torch's tagged values")
    ((kind, inner),) = value.items()
    return str(kind), inner


def _dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(f"{where}: expected an object")
    return value


def _list(value: Any, where: str, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(f"{where}: expected a list")
    if len(value) > limit:
        raise _Bad(f"{where}: {len(value):,} items; the limit is {limit:,}")
    return value


def _name(value: Any, where: str = "a name") -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        raise _Bad(f"{where}: expected a name")
    return value


def _quoted(text: Any) -> str:
    return repr(clip(printable(str(text)), 100))
