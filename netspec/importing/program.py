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
from .tagged import (
    MAX_NAME,
    Bad,
    Ref,
    Symbolic,
    argument,
    check_type,
    dict_of,
    list_of,
    name_of,
    one,
    quoted,
    sizes_of,
)

#: how many operators a program may have (ResNet-50 has ~180, a ViT-L ~1,000)
MAX_OPS = 50_000
#: how deep a module path may be (``layer1.0.conv1`` is 3)
MAX_DEPTH = 64
#: numbered children a spec would write as ``identity`` (never ran), in all
MAX_GAPS = 10_000


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


def load_program(data: Any, shown: str, supported: dict[str, Any]) -> Program:
    """The program in an archive's parsed ``model.json``; ``supported`` maps the operators
    netspec imports by their serialized names (``torch.ops.aten.conv2d.default``)."""
    try:
        graph = dict_of(dict_of(data, "program").get("graph_module"), "graph_module")
        body = dict_of(graph.get("graph"), "graph")
        values = dict_of(body.get("tensor_values"), "tensor_values")
        sizes = {name_of(k): sizes_of(v, f"tensor_values[{quoted(k)}]") for k, v in values.items()}
        program = _signature(dict_of(graph.get("signature"), "signature"), sizes, shown)
        nodes = list_of(body.get("nodes"), "nodes", MAX_OPS)
        known = {*program.weights, *program.constants, program.input}
        for n, node in enumerate(nodes):
            op = _op(dict_of(node, f"nodes[{n}]"), f"nodes[{n}]", supported, sizes, known)
            program.ops.append(op)
            known.update(o for o in op.outputs if o is not None)
        for n, output in enumerate(list_of(body.get("outputs"), "outputs", MAX_OPS)):
            value = argument(output, f"outputs[{n}]")
            if not isinstance(value, Ref) or value.name not in known:
                raise Bad(f"outputs[{n}]: the program returns something else than a tensor")
            program.outputs.append(value)
    except Bad as e:
        raise ArchiveError(shown, f"not a torch.export program: {e}") from None
    _check_gaps(program, shown)
    return program


def _signature(signature: dict[str, Any], sizes: dict[str, Any], shown: str) -> Program:
    weights: dict[str, tuple[str, tuple[int, ...]]] = {}
    constants: set[str] = set()
    inputs: list[str] = []
    for n, spec in enumerate(list_of(signature.get("input_specs"), "input_specs", MAX_OPS)):
        where = f"input_specs[{n}]"
        kind, value = one(spec, where)
        value = dict_of(value, where)
        if kind in ("parameter", "buffer"):
            name = name_of(dict_of(value.get("arg"), where).get("name"), where)
            key = name_of(value.get(f"{kind}_name"), where)
            shape = sizes.get(name)
            if shape is None or not all(isinstance(s, int) for s in shape):
                raise Bad(f"{where}: the weight {quoted(key)} has no fixed shape")
            weights[name] = (key, tuple(shape))
        elif kind == "user_input":
            arg = argument(value.get("arg"), where)
            if isinstance(arg, Ref):
                inputs.append(arg.name)
        else:
            arg = value.get("arg")
            if isinstance(arg, dict) and isinstance(arg.get("name"), str):
                constants.add(name_of(arg["name"], where))
    if len(inputs) != 1:
        raise ArchiveError(
            shown,
            f"the program takes {len(inputs)} tensor inputs",
            "netspec imports programs of one input for now",
        )
    shape = sizes.get(inputs[0])
    if not shape:
        raise Bad("the input has no shape (or no batch)")
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
    target = name_of(node.get("target"), f"{where}.target")
    metadata = dict_of(node.get("metadata", {}), f"{where}.metadata")
    trace = metadata.get("stack_trace", "")
    if not isinstance(trace, str):
        raise Bad(f"{where}.metadata.stack_trace: expected text")
    stack_text = metadata.get("nn_module_stack", "")
    stack = _stack(stack_text, f"{where}.metadata") if stack_text else []
    outputs: list[str | None] = []
    for n, output in enumerate(list_of(node.get("outputs"), f"{where}.outputs", 64)):
        value = argument(output, f"{where}.outputs[{n}]")
        found = value if isinstance(value, list) else [value]
        outputs += [v.name if isinstance(v, Ref) else None for v in found]
    taken = [o for o in outputs if o is not None]
    if len(set(taken)) != len(taken) or known.intersection(taken):
        raise Bad(f"{where}: a tensor is made twice")
    overload = supported.get(target)
    shown = target.removeprefix("torch.ops.")
    first = sizes.get(outputs[0]) if outputs and outputs[0] is not None else None
    rank = len(first) if first is not None else None
    args = _arguments(node, where, overload, known) if overload is not None else []
    return Op(printable(clip(shown, 200)), overload, args, outputs, stack, trace, rank)


def _arguments(node: dict[str, Any], where: str, overload: Any, known: set[str]) -> list[Any]:
    """The arguments of a supported operator, positional in its schema's order, checked."""
    given: dict[str, Any] = {}
    for n, item in enumerate(list_of(node.get("inputs"), f"{where}.inputs", 64)):
        item = dict_of(item, f"{where}.inputs[{n}]")
        name = name_of(item.get("name"), f"{where}.inputs[{n}].name")
        if name in given:
            raise Bad(f"{where}: the argument {quoted(name)} is given twice")
        given[name] = argument(item.get("arg"), f"{where}.inputs[{n}]")
    schema = overload._schema.arguments
    unknown = set(given) - {a.name for a in schema}
    if unknown:
        raise Bad(f"{where}: {overload} has no argument {quoted(sorted(unknown)[0])}")
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
            raise Bad(f"{where}: {overload} needs its argument {arg.name}")
        kind = "Scalar or Tensor" if arg.name == "other" else str(arg.type)
        check_type(value, kind, f"{where}: {overload}'s {arg.name}", known)
        if arg.kwarg_only:  # never positional: at its default, or the call is not imported
            if arg.name in given and value != arg.default_value:
                raise Bad(f"{where}: {overload} with {arg.name} set is not imported")
        elif i <= last:
            args.append(value)
    return args


def _stack(text: Any, where: str) -> list[tuple[str, str]]:
    """``key,path,class;...`` (torch's format: commas inside brackets do not split) as the
    checked (path, class) of each module, outermost first; one entry per key."""
    if not isinstance(text, str):
        raise Bad(f"{where}.nn_module_stack: expected text")
    found: dict[str, tuple[str, str]] = {}
    for item in text.split(";"):
        parts = _split(item)
        if len(parts) != 3:
            raise Bad(f"{where}.nn_module_stack: {quoted(item)} is not key,path,class")
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
        raise Bad(f"{where}: the module path {quoted(path)} is too long")
    for part in parts:
        if not (_NUMBER.fullmatch(part) or (_WORD.fullmatch(part) and part not in _TAKEN)):
            raise Bad(
                f"{where}: the module path {quoted(path)} has {quoted(part)}, which is "
                "not a module's name (letters, digits and _, starting with a letter; or a "
                "number below a million, with no leading 0)"
            )
    return path


def _class_name(qualified: str, where: str) -> str:
    if len(qualified) > MAX_NAME or not _CLASS.fullmatch(qualified):
        raise Bad(f"{where}: {quoted(qualified)} is not a class's qualified name")
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
