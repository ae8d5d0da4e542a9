"""Overrides from the command line or the API: params, and options of single layers.

``--set width=0.5`` sets a param. A dotted name reaches one layer's option: the layer's path as
the module tree, ``check --table`` and ``state_dict`` keys spell it, then the option::

    netspec check specs/alexnet.yaml --set classifier.2.p=0.3
    netspec.load("alexnet", **{"classifier.2.p": 0.3})

Layer overrides are applied to the elaborated network, so they reach layers inside blocks and
repeats alike, one layer at a time. Only the options of single layers (conv, linear, dropout,
...) can be set this way: a block or repeat is shaped by its params and arguments.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from .errors import NetspecError, did_you_mean
from .interpolation import has_expression
from .ir import Node, Pending
from .schema import EVALUATED
from .source import show
from .validation import error_text

#: Options that identify a layer rather than configure it.
_FIXED = ("name", "expect", "from_", "to", "if_")


def split_overrides(overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Params (plain names) and layer options (dotted names), each in the order given.

    >>> split_overrides({"width": 0.5, "head.fc.out": 100})
    ({'width': 0.5}, {'head.fc.out': 100})
    """
    params = {k: v for k, v in overrides.items() if "." not in k}
    layers = {k: v for k, v in overrides.items() if "." in k}
    return params, layers


def apply_layer_overrides(root: Node, overrides: Mapping[str, Any], file: str) -> None:
    """Set each ``path.option`` on its layer, validated again; raise a NetspecError otherwise."""
    if not overrides:
        return
    layers = dict(_paths(root, ""))
    depth = max((p.count(".") + 1 for p in layers), default=0)  # the steps of the longest path
    for key, value in overrides.items():
        where, _, option = key.rpartition(".")
        node = layers.get(where)
        if node is None:
            made = _made_by_netspec(where, layers, depth)
            if made is not None:
                raise NetspecError.plain(
                    file,
                    f"--set {key}: {where} is part of the projection shortcut that netspec "
                    f"makes for the residual {made}; its sizes follow from the shapes",
                    f"change {made}'s projection: {{batchnorm: ..., bias: ...}} in the spec",
                )
            raise NetspecError.plain(
                file,
                f'--set {key}: the network has no layer "{where}"',
                _nearby(where, layers, depth),
            )
        if node.children or node.kind.nested:  # a group, repeat, residual ... (even empty)
            inside = (p for p, n in layers.items() if p.startswith(f"{where}.") and not n.children)
            leaf = next(inside, None)
            hint = "set a param of the spec instead"
            if leaf:
                hint = f"set an option of one of its layers (e.g. {leaf}.{option}), or a param"
            raise NetspecError.plain(
                file,
                f"--set {key}: {where} is a {node.display}, a structure of layers, "
                "and only a single layer's options can be set",
                hint,
            )
        fields = _options(node)
        if option not in fields:
            raise NetspecError.plain(
                file,
                f'--set {key}: {node.kind.name} has no option "{option}"',
                did_you_mean(option, fields, f"{node.kind.name} options"),
            )
        if _holds_expression(value):  # it would wait for shapes, and fail there, at the file
            raise NetspecError.plain(
                file,
                f"--set {key}={show(value)}: a value given on the command line is not "
                "evaluated, so it holds no ${...}",
                f"write the value itself; the spec has {option}: {show(_current(node, option))}",
            )
        pending = node.pending  # options written with channels(): still expressions
        if pending is not None:
            data = dict(pending.options)
            keys = tuple(k for k in pending.keys if k != option)
        else:
            data, keys = _plain(node.opts.model_dump(by_alias=True, exclude_unset=True)), ()
        data[option] = value
        try:
            node.opts = node.kind.Options.model_validate(data, context=None if keys else EVALUATED)
            if pending is not None:
                node.pending = Pending(data, keys, pending.env) if keys else None
        except ValidationError as e:
            first = e.errors()[0]
            raise NetspecError.plain(
                file,
                f"--set {key}={show(value)}: {error_text(first)}",
                f"the spec has {option}: {show(_current(node, option))}",
            ) from e


def _paths(node: Node, prefix: str) -> Iterator[tuple[str, Node]]:
    """Every layer under ``node`` with its dotted path (iteratively: specs nest deeply)."""
    stack = [(prefix, child) for child in reversed(node.children)]
    while stack:
        parent, child = stack.pop()
        path = f"{parent}.{child.name}" if parent else child.name
        yield path, child
        stack.extend((path, c) for c in reversed(child.children))


def _made_by_netspec(where: str, layers: Mapping[str, Node], depth: int) -> str | None:
    """The layer whose synthesized projection ``where`` names (it has no node), or None.

    Only a residual has ``projection:`` options; their ``name`` is the projection's. No layer's
    path has more than ``depth`` steps, so no longer start of ``where`` is looked up (a path of
    60,000 steps would cost their square).
    """
    parts = where.split(".", depth + 1)
    for n in range(min(len(parts) - 1, depth), 0, -1):
        owner = layers.get(".".join(parts[:n]))
        if owner is not None:
            projection = getattr(owner.opts, "projection", None)
            return ".".join(parts[:n]) if parts[n] == getattr(projection, "name", None) else None
    return None


def _options(node: Node) -> list[str]:
    fields = node.kind.Options.model_fields
    return [f.alias or name for name, f in fields.items() if name not in _FIXED]


def _current(node: Node, option: str) -> Any:
    """The value the spec gives ``option``, as written where it waits for shapes."""
    pending = node.pending
    if pending is not None and option in pending.options:
        return pending.options[option]
    # that field alone: another may still hold its ${...} text, which serializing would warn of
    fields = [n for n, f in node.kind.Options.model_fields.items() if (f.alias or n) == option]
    return _plain(node.opts.model_dump(by_alias=True, include=set(fields))).get(option)


def _holds_expression(value: Any) -> bool:
    """Whether a value from the command line holds ``${`` anywhere (iteratively: it may nest
    as deep as YAML allows)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if has_expression(item) or (isinstance(item, dict) and any(map(has_expression, item))):
            return True
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return False


def _plain(value: Any) -> Any:
    """Options as a spec would write them: lists for pairs, enums by their value."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return getattr(value, "value", value)


def _nearby(where: str, layers: Mapping[str, Node], depth: int) -> str:
    """Suggestions for a path that names nothing: the layers beside the first wrong step
    (looked for among its first ``depth`` steps, the most any layer's path has)."""
    parts = where.split(".", depth + 1)
    known = ""
    for i in range(min(len(parts), depth), 0, -1):
        if ".".join(parts[:i]) in layers:
            known = ".".join(parts[:i])
            break
    depth = known.count(".") + 1 if known else 0
    siblings = [
        p for p in layers if p.count(".") == depth and (not known or p.startswith(known + "."))
    ]
    wanted = ".".join(parts[: depth + 1])
    what = f"layers in {known}" if known else "top-level layers"
    listing = " (`netspec check --table` lists every path)"
    if siblings and all(p.rpartition(".")[2].isdigit() for p in siblings):
        return f"the {what} are numbered {siblings[0]} to {siblings[-1]}{listing}"
    return did_you_mean(wanted, siblings, what) + listing
