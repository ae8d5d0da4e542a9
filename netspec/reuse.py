"""``call:`` in the second pass: each call paired with the earlier layer of its list it names.

The layer's entry is elaborated once more, apart, as it was written (its params, its block
arguments, its repeat index): the copy the shape pass checks on the call's input
(:class:`~netspec.ir.Reuse`). A call of a call runs the first layer.

Example::

    written = {}        # every entry's expansion, recorded by the expander
    pair_calls(children, written, errors)
    children[2].reuses.layer.name                    # "m"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import Diagnostic, did_you_mean
from .expansion import Expander, short_trace
from .ir import Node, Reuse
from .kinds.call import Call, CallSpec
from .source import PathKey


class Written(NamedTuple):
    """An entry as the expander met it, to elaborate again for a call of its layer."""

    expander: Expander
    raw: Any
    path: PathKey
    env: Mapping[str, Any]
    trace: tuple[str, ...]
    position: str
    depth: int

    def again(self) -> Node | None:
        """The entry's layer elaborated once more (None where that fails: already reported)."""
        return self.expander.expand_entry(
            self.raw, self.path, self.env, self.trace, self.position, self.depth
        )


def is_call(node: Node) -> bool:
    return isinstance(node.kind, Call)


def pair_calls(
    children: list[Node], written: Mapping[int, tuple[Node, Any]], errors: list[Diagnostic]
) -> None:
    """Pair each call of ``children`` with the earlier layer it names (reported where none)."""
    before: dict[str, Node] = {}
    for node in children:
        if is_call(node):
            layer = _layer_of(node, before, children, errors)
            found = written.get(id(layer)) if layer is not None else None
            if layer is not None and found is not None and found[0] is layer:
                entry: Written = found[1]
                copy = entry.again()
                if copy is not None:
                    copy.targets, copy.condition, copy.expects = (), None, []
                    node.reuses = Reuse(layer, copy)
                    described = layer.label or layer.kind.describe(layer.opts)
                    node.label = f"call {layer.name}: {described}"
        before.setdefault(node.name, node)


def _layer_of(
    node: Node, before: dict[str, Node], children: list[Node], errors: list[Diagnostic]
) -> Node | None:
    name = node.opts.layer if isinstance(node.opts, CallSpec) else ""
    layer = before.get(name)
    if layer is not None:
        return layer.reuses.layer if layer.reuses is not None else layer
    doc, at = node.site or (node.doc, node.path)
    later = any(c.name == name for c in children)
    if later:
        message = f'call: "{name}" names a layer written after this call'
        hint = "a call runs a layer made before it: move the call below that layer"
    else:
        message = f'call: no layer named "{name}" in this list'
        hint = did_you_mean(name, [n for n in before if not n.isdigit()], "layers before it")
        hint += "; call: takes the name: of an earlier layer of the same list"
    errors.append(doc.diagnostic((*at, "layer"), message, hint, notes=short_trace(node.trace)))
    return None
