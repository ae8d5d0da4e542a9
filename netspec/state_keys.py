"""The ``state_dict`` of a checked network, without torch: every key, its shape and its layer.

The tree of :class:`~netspec.ir.Checked` layers is the module tree: a layer's path is its
module's name, so a key is a leaf's path and the name its module gives a tensor
(``stage2.0.body.conv1.weight``). Each leaf kind says which tensors its module keeps
(:meth:`~netspec.ir.Kind.tensors`); a composite kind whose module holds its children under their
names (:attr:`~netspec.ir.Kind.holds_children`) adds none of its own. A plugin's kind that does
not say is *unknown*: its keys are left out and the layer listed, never guessed.

Example::

    keys = state_keys(netspec.load("resnet").checked)
    keys.entries["stage2.0.body.conv1.weight"].shape     # Shape(dims=(128, 64, 3, 3))
    keys.complete                                        # True: no plugin kind hides its keys
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from .errors import NetspecError, PluginFailure, Problem
from .ir import Checked, Kind, Shape
from .registry import is_builtin


@dataclass(frozen=True, slots=True)
class StateKey:
    """One tensor of the ``state_dict``: its key, its shape and the layer whose module holds it."""

    key: str
    shape: Shape
    layer: Checked


@dataclass(slots=True)
class StateKeys:
    """The keys of a network's ``state_dict`` in the order torch lists them, and the layers
    whose keys cannot be known statically (a plugin's kind that does not implement
    :meth:`~netspec.ir.Kind.tensors`): their keys, whatever they are, start with their path."""

    entries: dict[str, StateKey] = field(default_factory=dict)
    unknown: list[Checked] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every key is known (no layer is :attr:`unknown`)."""
        return not self.unknown

    def shapes(self) -> dict[str, Shape]:
        """Every known key with its shape."""
        return {k: e.shape for k, e in self.entries.items()}

    def numel(self) -> int:
        """The values all known tensors hold: the parameters and the buffers."""
        return sum(e.shape.numel for e in self.entries.values())

    def unknown_under(self, key: str) -> Checked | None:
        """The unknown layer ``key`` would belong to (its path is a prefix of it), if any."""
        for layer in self.unknown:
            if key == layer.path or key.startswith(f"{layer.path}.") or not layer.path:
                return layer
        return None

    def __iter__(self) -> Iterator[StateKey]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)


def state_keys(checked: Checked) -> StateKeys:
    """The ``state_dict`` keys and shapes of the module ``checked`` compiles to, in order.

    Example::

        [e.key for e in state_keys(netspec.load("lenet").checked)][:2]
        # ['0.weight', '0.bias']
    """
    found = StateKeys()
    stack = [checked]
    while stack:  # pre-order, as torch walks the modules: a layer's own tensors, then its children
        layer = stack.pop()
        kind = layer.node.kind
        if kind.holds_children:
            held = [c for c in layer.children if c.node.kind.holds_tensor]
            for c in sorted(held, key=lambda c: c.node.kind.holds_tensor != "parameter"):
                _add(found, c, _tensors(c.node.kind, c))  # its own: before its children's
            stack.extend(reversed([c for c in layer.children if not c.node.kind.holds_tensor]))
            continue
        _add(found, layer, None if layer.children else _tensors(kind, layer))
    return found


def _add(found: StateKeys, layer: Checked, tensors: dict[str, Shape] | None) -> None:
    """A layer's keys: its path and each tensor's name (a parameter layer's: its path)."""
    if tensors is None:
        found.unknown.append(layer)
        return
    prefix = f"{layer.path}." if layer.path else ""
    for name, shape in tensors.items():
        key = prefix + name if name else layer.path
        found.entries[key] = StateKey(key, shape, layer)


def _tensors(kind: Kind, layer: Checked) -> dict[str, Shape] | None:
    """What a leaf's kind says its module keeps; a plugin's answer is checked, and its failure
    reported at the layer that uses it, as the other passes report it."""
    node = layer.node
    try:
        told = kind.tensors(node.opts, layer.input, layer.output)
        if told is None or is_builtin(kind):
            return told
        return _checked_tensors(kind, told)
    except Problem as e:  # a plugin's failure, as the registry wraps what its methods raise
        doc, at = node.site or (node.doc, node.path)
        raise NetspecError([doc.diagnostic(at, e.message, e.hint, key=True)]) from e


def _checked_tensors(kind: Kind, told: object) -> dict[str, Shape]:
    """A plugin's ``tensors()`` answer as names and shapes, or a :class:`PluginFailure`."""
    if isinstance(told, Mapping) and all(isinstance(n, str) for n in told):
        out: dict[str, Shape] = {}
        for name, shape in told.items():
            dims = shape.dims if isinstance(shape, Shape) else shape
            if not (name and "." not in name and _is_dims(dims)):
                break
            out[name] = Shape(tuple(dims))
        else:
            return out
    origin = f"{type(kind).__module__}.{type(kind).__qualname__}"
    raise PluginFailure(
        f'plugin kind "{kind.name}" ({origin}) failed: its tensors() returned {told!r:.200}, '
        "not a dict of tensor names (without dots) to shapes",
        "the fault is in the plugin, not in the spec: report it to the plugin's author",
    )


def _is_dims(dims: object) -> bool:
    return isinstance(dims, (tuple, list)) and all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in dims
    )
