"""The peak memory of one training step, predicted from the checked spec without torch.

A step is what ``netspec train`` runs: forward, cross-entropy loss, ``zero_grad`` (gradients
set to None), backward, optimizer step. From the second step on, the previous step's
gradients and the optimizer's state are alive during the forward pass, so the peak is one of

- the forward pass: parameters, buffers, optimizer state, the last step's gradients, the data,
  and at each layer the tensors kept so far for backward, the tensors still to be read, the
  layer's output and the scratch its kernel allocates;
- the backward pass: at each layer (last to first) the kept tensors not yet released, the
  gradients of the layers behind it, the gradient of its output and of its input, and its
  kernel's scratch;
- the optimizer step: parameters, gradients, state and a temporary of the largest weight.

What each layer keeps is its kind's :meth:`~netspec.ir.Kind.saved` (a convolution its input,
ReLU its output, a max pool its input and its indices, a norm its input and statistics, views
and in-place layers nothing new); a tensor kept by several layers counts once. Figures are
float32 bytes, as torch's CPU allocator counts them.

Example::

    memory = train_memory(netspec.load("lenet"), batch=32)
    memory.peak, memory.activations
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from .errors import NetspecError
from .ir import Checked, Saved, Shape, Value


class Spec(Protocol):
    """What the estimate reads of a spec (:class:`netspec.Spec` is one): its checked network,
    file, and input and output shapes."""

    @property
    def checked(self) -> Checked: ...

    @property
    def file(self) -> str: ...

    @property
    def input_shapes(self) -> dict[str, Shape]: ...

    @property
    def output_shapes(self) -> dict[str, Shape]: ...

    @property
    def output_shape(self) -> Shape: ...


#: float32
BYTES = 4
#: the labels' dtype, int64
LABEL_BYTES = 8
#: the storage of the network's inputs (counted as data)
DATA = -1


class Optimizer(enum.Enum):
    """The optimizers ``netspec train`` offers, by the buffers each keeps a parameter."""

    SGD = "sgd"
    ADAMW = "adamw"


#: the optimizer's state, in parameter-sized buffers (SGD with momentum: one; AdamW: two)
STATE_BUFFERS = {Optimizer.SGD: 1, Optimizer.ADAMW: 2}


@dataclass(frozen=True)
class LayerMemory:
    """One layer's part: bytes of activations it is the first to keep for backward."""

    path: str
    layer: str
    kept: int


@dataclass(frozen=True)
class TrainMemory:
    """The predicted peak of one training step and its parts, in bytes, at the moment of the
    peak (``moment``: ``forward at stage1.0.body.conv1``, ``backward at fc``,
    ``optimizer step``)."""

    batch: int
    optimizer: Optimizer
    params: int
    buffers: int
    gradients: int
    optimizer_state: int
    activations: int
    data: int
    transient: int
    moment: str
    layers: list[LayerMemory] = field(default_factory=list)

    @property
    def peak(self) -> int:
        return (
            self.params
            + self.buffers
            + self.gradients
            + self.optimizer_state
            + self.activations
            + self.data
            + self.transient
        )


@dataclass
class _Tensor:
    """A storage: the bytes it holds, when it is made and last read, who keeps it."""

    bytes: int
    born: int
    last: int
    kept_by: int | None = None  # the first layer (in order) to keep it for backward


def train_memory(
    spec: Spec, batch: int, optimizer: Optimizer = Optimizer.SGD, momentum: bool = True
) -> TrainMemory:
    """The peak memory of a training step of ``spec`` on ``batch`` samples with
    ``optimizer`` (SGD with ``momentum``, or AdamW)."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise NetspecError.plain(spec.file, f"the batch must be a whole number ≥ 1, got {batch!r}")
    classes(spec)
    leaves = [c for c in spec.checked.walk() if not c.children]
    saved = [c.node.kind.saved(c.node.opts, c.input, c.output) for c in leaves]
    tensors = _tensors(spec, leaves, saved, batch)
    params = spec.checked.params * BYTES
    state = params * (STATE_BUFFERS[optimizer] if momentum or optimizer is Optimizer.ADAMW else 0)
    base = _Base(params, spec.checked.buffers * BYTES, state, _data(spec, batch))
    extras = [s.extra * batch * BYTES for s in saved]
    scratch = [
        c.node.kind.step_scratch(c.node.opts, c.input, c.output, batch, _needs_grad(c, spec))
        for c in leaves
    ]
    forward = [f * BYTES for f, _ in scratch]
    moments = _forward(leaves, tensors, extras, forward, base)
    backward = [b * BYTES for _, b in scratch]
    moments += _backward(leaves, tensors, extras, backward, batch, _inputs(spec))
    moments.append(_step(leaves, base, optimizer))
    best = max(moments, key=lambda m: m.total(base))
    return TrainMemory(
        batch=batch,
        optimizer=optimizer,
        params=base.params,
        buffers=base.buffers,
        gradients=best.gradients,
        optimizer_state=base.state,
        activations=best.activations,
        data=base.data,
        transient=best.transient,
        moment=best.moment,
        layers=_layers(leaves, tensors, extras),
    )


@dataclass(frozen=True)
class _Base:
    params: int
    buffers: int
    state: int
    data: int


@dataclass(frozen=True)
class _Moment:
    moment: str
    gradients: int
    activations: int
    transient: int

    def total(self, base: _Base) -> int:
        fixed = base.params + base.buffers + base.state + base.data
        return fixed + self.gradients + self.activations + self.transient


def layer_keeps(c: Checked) -> tuple[str, int] | None:
    """What one layer keeps for backward, on its own, and its bytes a sample (a tensor that
    another layer keeps too is counted here all the same): ``("its output", 16384)``; None
    for a composite, whose layers keep what they keep."""
    if c.children:
        return None
    saved = c.node.kind.saved(c.node.opts, c.input, c.output)
    parts, values = [], saved.extra
    if saved.input and c.sources:
        parts.append("its input")
        values += sum(v.shape.numel for v in c.sources)
    if saved.output:
        parts.append("its output")
        values += c.output.numel
    if saved.extra:
        parts.append("more (indices, a mask, statistics)")
    return " and ".join(parts) or "nothing", values * BYTES


def classes(spec: Spec) -> int:
    """The number of classes a classifier's step is trained on: its one flat output's size."""
    shape = spec.output_shape
    if len(spec.output_shapes) != 1 or shape.rank != 1:
        outputs = ", ".join(str(s) for s in spec.output_shapes.values())
        raise NetspecError.plain(
            spec.file,
            f"a training step needs one flat output of class scores, got {outputs}",
            "netspec train trains classifiers: end the network with a linear layer",
        )
    return shape.dims[0]


def _inputs(spec: Spec) -> set[int]:
    """The network's inputs, by id: data, whose gradient is not computed."""
    return {id(v) for v in spec.checked.sources}


def _needs_grad(c: Checked, spec: Spec) -> bool:
    """Whether the gradient of a layer's input is computed: not for the network's inputs."""
    return any(id(v) not in _inputs(spec) for v in c.sources)


def _data(spec: Spec, batch: int) -> int:
    """The inputs, the labels, the logits and the log-probabilities the loss keeps."""
    inputs = sum(s.numel for s in spec.input_shapes.values())
    classes = spec.output_shape.numel
    return batch * (BYTES * (inputs + 2 * classes) + LABEL_BYTES)


def _tensors(
    spec: Spec, leaves: list[Checked], saved: list[Saved], batch: int
) -> dict[int, _Tensor]:
    """The storages, each by the id of a value: the network's inputs are data, not counted
    here; a view or an in-place layer's result, and a composite's result that is one of its
    layers' (a residual's ``after``), share the storage of the value they are."""
    roots = {id(v): DATA for v in spec.checked.sources}
    for c in spec.checked.walk():
        inner = c.node.kind.hands_back(c) if c.children and c.results else None
        if inner is not None:
            roots[id(c.results[0])] = id(inner)
    tensors: dict[int, _Tensor] = {}

    def storage(v: Value, i: int) -> _Tensor | None:
        key = id(v)
        while roots.get(key, key) != key:
            key = roots[key]
            if key == DATA:
                return None
        if key not in tensors:  # made inside a composite (a sum): made when first read
            roots[key] = key
            tensors[key] = _Tensor(v.shape.numel * batch * BYTES, i, i)
        return tensors[key]

    for i, (c, s) in enumerate(zip(leaves, saved, strict=True)):
        for v in c.sources:
            t = storage(v, i)
            if t is not None:
                t.last = i
                if s.input and t.kept_by is None:
                    t.kept_by = i
        for v in c.results:
            roots[id(v)] = id(c.sources[0]) if s.alias and c.sources else id(v)
            t = storage(v, i)
            if t is not None and s.output and t.kept_by is None:
                t.kept_by = i
    if leaves and leaves[-1].results:  # the logits, held by the loop
        t = storage(leaves[-1].results[0], len(leaves))
        if t is not None:
            t.last = len(leaves)
    return tensors


def _forward(
    leaves: list[Checked],
    tensors: dict[int, _Tensor],
    extras: list[int],
    scratch: list[int],
    base: _Base,
) -> list[_Moment]:
    """Each layer's moment in the forward pass, with the last step's gradients alive: what is
    kept so far, and what is made and not yet read for the last time."""
    kept = [0] * (len(leaves) + 1)
    live = [0] * (len(leaves) + 2)
    for t in tensors.values():
        if t.kept_by is not None:
            kept[t.born] += t.bytes
        else:
            live[t.born] += t.bytes
            live[t.last + 1] -= t.bytes
    out = []
    held = alive = 0
    for i, c in enumerate(leaves):
        held += kept[i] + extras[i]
        alive += live[i]
        out.append(_Moment(f"forward at {c.path}", base.params, held, alive + scratch[i]))
    return out


def _backward(
    leaves: list[Checked],
    tensors: dict[int, _Tensor],
    extras: list[int],
    scratch: list[int],
    batch: int,
    inputs: set[int],
) -> list[_Moment]:
    """Each layer's moment in the backward pass (last to first): a kept tensor is released
    once the first layer to keep it has run backward; the gradients of the layers behind
    are made, the gradient of this layer's output and of its input flow."""
    released = [0] * len(leaves)
    for t in tensors.values():
        if t.kept_by is not None:
            released[t.kept_by] += t.bytes
    held = sum(released) + sum(extras)
    out = []
    grads = 0
    pending = _pending(leaves, inputs)
    for i in range(len(leaves) - 1, -1, -1):
        c = leaves[i]
        grads += c.params * BYTES
        flowing = sum(v.shape.numel for v in c.results) + pending[i]
        flowing += sum(v.shape.numel for v in c.sources if id(v) not in inputs)
        transient = flowing * batch * BYTES + scratch[i]
        out.append(_Moment(f"backward at {c.path}", grads, held, transient))
        held -= released[i] + extras[i]
    return out


def _pending(leaves: list[Checked], inputs: set[int]) -> list[int]:
    """Values a sample of gradients waiting at each layer in the backward pass: a tensor
    read by several layers (a residual's input, an inception's) sums their gradients from
    the last reader's backward until the first's; a composite's new tensor (a concatenation)
    hands views of its gradient to its layers, alive until the first of them is done."""
    first: dict[int, int] = {}
    last: dict[int, tuple[int, int]] = {}
    starts: dict[int, int] = {}
    for i, c in enumerate(leaves):
        for v in c.sources:
            if id(v) not in inputs:
                maker = v.producer
                new = maker is not None and maker.children and not maker.node.kind.hands_back(maker)
                if maker is not None and new and id(maker) not in starts:
                    starts[id(maker)] = _first_leaf(maker, leaves)
                first.setdefault(id(v), starts[id(maker)] if maker is not None and new else i)
                last[id(v)] = (i, v.shape.numel)
    pending = [0] * (len(leaves) + 1)
    for key, (end, numel) in last.items():
        if first[key] < end:
            pending[first[key]] += numel
            pending[end] -= numel
    for i in range(1, len(pending)):
        pending[i] += pending[i - 1]
    return pending


def _first_leaf(composite: Checked, leaves: list[Checked]) -> int:
    """The index of the first layer inside ``composite`` among ``leaves``."""
    inside = {id(c) for c in composite.walk()}
    return next(i for i, c in enumerate(leaves) if id(c) in inside)


def _step(leaves: list[Checked], base: _Base, optimizer: Optimizer) -> _Moment:
    """The optimizer step, one weight at a time (torch's loop on a CPU): SGD's weight decay
    adds the gradient and the weight in a temporary; AdamW's denominator takes two."""
    largest = max((c.params for c in leaves), default=0) * BYTES
    temporaries = 2 if optimizer is Optimizer.ADAMW else 1
    return _Moment("optimizer step", base.params, 0, temporaries * largest)


def _layers(
    leaves: list[Checked], tensors: dict[int, _Tensor], extras: list[int]
) -> list[LayerMemory]:
    kept = [0] * len(leaves)
    for t in tensors.values():
        if t.kept_by is not None:
            kept[t.kept_by] += t.bytes
    return [LayerMemory(c.path, c.text(), kept[i] + extras[i]) for i, c in enumerate(leaves)]
