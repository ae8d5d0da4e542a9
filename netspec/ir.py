"""The data that flows between the passes (shapes, elaborated nodes, the checked graph) and
the interface every kind implements (:class:`Kind`) to elaborate, check and build its nodes.

``elaborate`` turns a file into a tree of :class:`Node` (every expression evaluated that can
be without shapes, every block and repeat expanded); ``infer_shapes`` walks it in order and
turns it into a tree of :class:`Checked` whose leaves are joined by :class:`Value` edges (the
tensors: each made by one layer, read by any later ones). The tree is the module tree
(``state_dict`` names); the values are the data flow. The compiler and the reports read
:class:`Checked` only.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

from .interpolation import has_expression

if TYPE_CHECKING:
    from torch import nn

    from .schema import Options
    from .source import Document, PathKey


class Layout(enum.Enum):
    """What a tensor's axes mean (batch axis left out); each rank has a default (:meth:`of`).

    ``channels_first``: channels, then positions, an image ``(C, H, W)`` (the default of rank
    3) or a flattened one ``(C, H·W)``; ``channels_last``: positions, then channels, ConvNeXt's
    and Swin's ``(H, W, C)`` (of rank 2: a token sequence); ``tensor``: other axes, the
    features on the last (Swin's windows ``(windows, tokens, C)``, heads; the default from rank
    4).
    """

    FLAT = "flat"
    TOKENS = "tokens"
    CHANNELS_FIRST = "channels_first"
    CHANNELS_LAST = "channels_last"
    TENSOR = "tensor"

    @staticmethod
    def of(rank: int) -> Layout:
        """The layout a tensor of ``rank`` axes has unless a layer says otherwise."""
        return _DEFAULT_LAYOUT.get(rank, Layout.TENSOR)


_DEFAULT_LAYOUT = {1: Layout.FLAT, 2: Layout.TOKENS, 3: Layout.CHANNELS_FIRST}
_LAYOUT_WORDS = {
    Layout.FLAT: "the flat features",
    Layout.TOKENS: "the token sequence",
    Layout.CHANNELS_FIRST: "the feature map",
    Layout.CHANNELS_LAST: "the channels-last map",
    Layout.TENSOR: "the tensor",
}


@dataclass(frozen=True, slots=True)
class Shape:
    """A tensor shape without the batch dimension: an image ``(C, H, W)``, flat
    ``(features,)``, a token sequence ``(tokens, features)``, or any other tensor.

    ``tag`` says what the axes mean where that is not the rank's default (:class:`Layout`):
    None for the default, so that ``Shape(dims)`` is what it always was. Equality and hashing
    look at the sizes alone: the layout is what the checks and messages read.
    """

    dims: tuple[int, ...]
    tag: Layout | None = field(default=None, compare=False, repr=False)

    @staticmethod
    def laid(dims: tuple[int, ...], layout: Layout) -> Shape:
        """A shape with the layout ``layout``, said as the rank's default where it is one: a
        rank-1 tensor is always flat, a rank-2 one with its features last a token sequence."""
        rank = len(dims)
        if rank == 1:
            layout = Layout.FLAT
        elif rank == 2 and layout in (Layout.CHANNELS_LAST, Layout.TENSOR, Layout.FLAT):
            layout = Layout.TOKENS
        elif rank != 2 and layout in (Layout.TOKENS, Layout.FLAT):
            layout = Layout.TENSOR
        return Shape(dims, None if layout is Layout.of(rank) else layout)

    @property
    def layout(self) -> Layout:
        return self.tag or Layout.of(len(self.dims))

    @property
    def rank(self) -> int:
        return len(self.dims)

    @property
    def is_tokens(self) -> bool:
        """A token sequence ``(tokens, features)``: each token's features on the last axis."""
        return self.layout is Layout.TOKENS

    @property
    def is_map(self) -> bool:
        """An image ``(channels, height, width)``: what conv, pool and batchnorm read."""
        return len(self.dims) == 3 and self.layout is Layout.CHANNELS_FIRST

    @property
    def features_last(self) -> bool:
        """Whether the last axis holds the features (flat, tokens, channels last, a tensor):
        where ``linear`` and ``layernorm`` apply, as ``nn.Linear`` does."""
        return self.layout is not Layout.CHANNELS_FIRST

    def what(self) -> str:
        """The tensor as a message names it: ``the token sequence (197, 768)``."""
        return f"{_LAYOUT_WORDS[self.layout]} {self}"

    @property
    def channels(self) -> int:
        return self.dims[0]

    @property
    def spatial(self) -> tuple[int, ...]:
        return self.dims[1:]

    @property
    def numel(self) -> int:
        return math.prod(self.dims)

    def __str__(self) -> str:
        inner = ", ".join(str(d) for d in self.dims)
        return f"({inner},)" if len(self.dims) == 1 else f"({inner})"

    def times(self) -> str:
        """The shape as a paper writes it: ``256×5×5``."""
        return "×".join(str(d) for d in self.dims)


@dataclass(eq=False, slots=True)
class Scope:
    """Where tensor names live: the network, or one call of a block (names do not leak out).

    ``inputs`` are the names the scope's input tensors are bound to; ``outputs`` the names it
    hands back (empty: its last layer's output). ``made`` records, for messages, where each
    name is given by ``to:`` in the file.
    """

    inputs: tuple[str, ...] = ("input",)
    outputs: tuple[str, ...] = ()
    label: str = ""
    made: dict[str, tuple[Document, PathKey]] = field(default_factory=dict)
    #: names only layers left out by a false ``if:`` would have made
    skipped: dict[str, tuple[Document, PathKey]] = field(default_factory=dict)
    #: names that layers left out by their ``if:`` read (so not dead where they are made)
    read_if: set[str] = field(default_factory=set)
    #: where ``outputs`` is written (its names at ``(*path, i)`` or ``(*path, name)``)
    declared: tuple[Document, PathKey] | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """Options of a layer that depend on shapes (``channels()``): evaluated by the shape pass.

    ``options`` holds the layer's options with every other value already concrete; ``keys``
    are the options still written as expressions; ``env`` the names they see.
    """

    options: dict[str, Any]
    keys: tuple[str, ...]
    env: Mapping[str, Any]


@dataclass(eq=False, slots=True)
class Node:
    """One layer of the elaborated network, with concrete options and where it came from."""

    kind: Kind
    opts: Options
    name: str
    doc: Document
    path: PathKey
    label: str = ""
    children: list[Node] = field(default_factory=list)
    trace: tuple[str, ...] = ()
    #: output shapes the spec promises (``expect:``), each with where it was written (a block
    #: call's in the calling file, which need not be the file that defines the block)
    expects: list[tuple[tuple[int, ...], PathKey, Document]] = field(default_factory=list)
    #: a sequence made for a list of layers, not written as ``group:``
    implicit: bool = False
    #: the name written in the spec, if any (``name`` may be a position or a copy's index)
    given: str | None = None
    #: the scope whose names ``sources`` and ``targets`` refer to
    scope: Scope | None = None
    #: the named tensors it reads (``from:``); empty: the previous layer's output
    sources: tuple[str, ...] = ()
    #: the names its output(s) get (``to:``)
    targets: tuple[str, ...] = ()
    #: a block call: the scope of the block's layers, which this node opens
    opens: Scope | None = None
    #: an ``if:`` that depends on shapes, decided by the shape pass (raw text, names)
    condition: tuple[str, Mapping[str, Any]] | None = None
    #: options that depend on shapes, evaluated by the shape pass
    pending: Pending | None = None
    #: where its from:, to: and if: are written (a block call's: in the calling file)
    site: tuple[Document, PathKey] | None = None
    #: a block call whose arguments read shapes: expands it once its input is known
    later: Callable[[Callable[[str | None], tuple[int, ...]]], Node] | None = None
    #: a ``call:`` of an earlier layer: that layer, whose module it runs again
    reuses: Reuse | None = None
    #: what the shape pass made of it last (a ``call:`` compares its layer's with its own)
    checked: Checked | None = None

    @property
    def display(self) -> str:
        return self.label or self.kind.name


@dataclass(frozen=True, slots=True)
class Reuse:
    """What a ``call:`` runs: an earlier ``layer`` of its list, whose module (and weights) it
    calls again, and a ``copy`` of that layer elaborated apart, which the shape pass checks on
    the call's input (its parameters are the layer's, counted once)."""

    layer: Node
    copy: Node


@dataclass(eq=False, slots=True)
class Value:
    """A tensor of the network: made by one layer (or an input of the network), read by others.

    ``producer`` is the checked layer that makes it (None for an input of the network) and
    ``index`` which of its outputs it is; ``name`` the name it was given (``to:``), if any.
    """

    shape: Shape
    producer: Checked | None = None
    index: int = 0
    name: str = ""

    def batchless(self) -> bool:
        """Whether it is the same for every sample (no batch axis): a parameter or buffer,
        or what layers make from those alone (a position bias gathered from its table)."""
        stack: list[Value] = [self]
        seen: set[int] = set()
        while stack:
            value = stack.pop()
            producer = value.producer
            if producer is None or producer.children:
                return False  # the network's input, or a block that reads it
            if id(value) in seen or producer.node.kind.holds_tensor is not None:
                continue
            seen.add(id(value))
            if not producer.sources:
                return False
            stack.extend(producer.sources)
        return True

    def where(self) -> str:
        """The layer that makes it and its place in the file: ``layer 0 at net.yaml:4:5``."""
        if self.producer is None:
            return "the network's input" if self.name in ("", "input") else f"input {self.name}"
        node = self.producer.node
        doc, at = node.site or (node.doc, node.path)
        pos = doc.pos(at, key=True)
        line = f" at {doc.file}:{pos.line}:{pos.col}" if pos else ""
        return f"layer {self.producer.path}{line}"


@dataclass(eq=False, slots=True)
class Checked:
    """A node with its input and output shape, parameters and MACs (children included).

    ``input`` and ``output`` are the shapes of its first input and output; ``sources`` are the
    tensors it reads and ``results`` the ones it makes (a merge reads several, a block may hand
    back several).
    """

    node: Node
    path: str
    input: Shape
    output: Shape
    params: int = 0
    macs: int = 0
    buffers: int = 0
    #: of ``params``, those that do not learn (a ``parameter`` with ``trainable: false``)
    frozen: int = 0
    children: list[Checked] = field(default_factory=list)
    sources: list[Value] = field(default_factory=list)
    results: list[Value] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.node.checked = self  # the latest check of a node: what a later call: compares

    @classmethod
    def of(
        cls, node: Node, path: str, input: Shape, output: Shape, children: list[Checked]
    ) -> Checked:
        """A composite node: its parameters, MACs and buffers are its children's."""
        return cls(
            node,
            path,
            input,
            output,
            params=sum(c.params for c in children),
            macs=sum(c.macs for c in children),
            buffers=sum(c.buffers for c in children),
            frozen=sum(c.frozen for c in children),
            children=children,
        )

    @property
    def depth(self) -> int:
        """1 for a top-level layer, 2 for one inside it, ... (0 for the network itself)."""
        return self.path.count(".") + 1 if self.path else 0

    def walk(self) -> list[Checked]:
        """This node and all below it, in definition order (iterative: no recursion limit)."""
        out: list[Checked] = []
        stack = [self]
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(reversed(c.children))
        return out

    def text(self) -> str:
        """What the layer is, as a paper writes it: ``conv 3×3 /2, 64``, ``nin_block``."""
        return self.node.label or self.node.kind.describe(self.node.opts)

    def child(self, name: str) -> Checked | None:
        for c in self.children:
            if c.node.name == name:
                return c
        return None


class Family(enum.Enum):
    """What a layer does, for colours and grouping in reports."""

    CONV = "convolution"
    POOL = "pooling"
    NORM = "normalisation"
    ACTIVATION = "activation"
    LINEAR = "linear"
    MERGE = "merge"
    STRUCTURE = "structure"
    OTHER = "other"


class Cost(NamedTuple):
    """A leaf layer's output shape and what it costs."""

    shape: Shape
    params: int = 0
    macs: int = 0
    buffers: int = 0


@dataclass(frozen=True)
class Saved:
    """What a leaf's backward keeps of its forward pass in training (autograd's saved
    tensors), as torch's CPU kernels keep them: for the training memory estimate.

    ``input``, ``output``: it keeps the tensors it reads, the one it makes; ``extra``: values
    a sample of other tensors it keeps, as float32 (a max pool's int64 indices count two, a
    norm's statistics); ``alias``: its output is its input (a view, an in-place activation),
    no new memory.
    """

    input: bool = True
    output: bool = False
    extra: int = 0
    alias: bool = False


class ExpandContext(Protocol):
    """What the elaborator offers a composite kind while expanding it."""

    def layers(
        self, *subpath: str | int, env: dict[str, Any] | None = None, name: str = ""
    ) -> Node:
        """Elaborate the layer list at ``subpath`` of this entry into one node."""
        ...

    def copies(self, *subpath: str | int, env: dict[str, Any], name: str) -> Node:
        """Like :meth:`layers`, for a repeat's copy: the copy's name wins over its layer's."""
        ...

    def value(self, *subpath: str | int, env: dict[str, Any] | None = None) -> Any:
        """Substitute expressions in the raw value at ``subpath`` of this entry."""
        ...

    def remaining(self) -> int:
        """How many more layers the network may expand to (``--max-layers``)."""
        ...

    def written(self, *subpath: str | int) -> Any:
        """The value at ``subpath`` of this entry as the file writes it (before evaluation)."""
        ...

    def warn(self, message: str, hint: str, *subpath: str | int) -> None:
        """Report something suspicious but valid at ``subpath`` of this entry."""
        ...


class InferContext(Protocol):
    """What the shape pass offers a composite kind."""

    def check(self, node: Node, source: Value, parent: str) -> Checked | None:
        """Check a child on ``source`` (or the tensors of its ``from:``); None if left out."""
        ...

    def synthesize(self, kind: str, options: dict[str, Any], like: Node, name: str) -> Node: ...

    def sequence(self, children: list[Node], like: Node, name: str) -> Node: ...


class BuildContext(Protocol):
    """What the compiler offers a composite kind."""

    def module(self, checked: Checked) -> nn.Module: ...

    def sequence(self, checked: Checked) -> nn.Module:
        """A container's module: ``nn.Sequential`` for a chain, a generated graph otherwise."""
        ...


class Port(NamedTuple):
    """A drawn node that a tensor comes out of, and the shape it carries."""

    id: str
    shape: Shape


class DrawContext(Protocol):
    """What the drawer offers a kind that draws itself (residual, inception)."""

    def draw(self, checked: Checked, graph: Any, whole: bool = False) -> list[Port]:
        """Draw a child; ``whole``: its layers even below the depth limit."""
        ...

    def port(self, value: Value) -> Port:
        """Where a tensor comes out of."""
        ...

    def junction(self, graph: Any, id: str, label: str, **attrs: str) -> None:
        """A merge node (``+``, ``concat``), with its family's colour."""
        ...

    def connect(self, ports: list[Port], target: str, skip: bool = False) -> None:
        """Edges into ``target``; ``skip``: drawn as going around (a shortcut)."""
        ...

    def comes_out(self, checked: Checked, ports: list[Port]) -> list[Port]:
        """``checked``'s results come out of ``ports``' nodes."""
        ...

    def at(self, value: Value, port: Port) -> None:
        """``value`` comes out of ``port``'s node."""
        ...

    def level(self, graph: Any, ids: list[str]) -> None:
        """Keep these nodes side by side (branches)."""
        ...

    def drawn(self) -> list[str]:
        """The ids of the nodes drawn so far, in order."""
        ...


class Kind:
    """Base of all kinds. Leaf kinds implement :meth:`cost` and :meth:`module`."""

    name: ClassVar[str]
    Options: ClassVar[type[Options]]
    family: ClassVar[Family] = Family.OTHER
    #: option set by a scalar written in place of the options mapping (``- linear: 10``)
    shorthand: ClassVar[str | None] = None
    #: options holding layer lists; they are elaborated by :meth:`expand`, not substituted
    nested: ClassVar[tuple[str, ...]] = ()
    #: one-line description for ``netspec list --kinds`` and the docs
    summary: ClassVar[str] = ""
    #: whether it reads several tensors (``from: [a, b]``): a merge such as concat or add
    multi_input: ClassVar[bool] = False
    #: whether making the image larger is its purpose (no "too much padding?" hint about it)
    upsamples: ClassVar[bool] = False
    #: whether its children are laid out by the compiler as a chain or a graph (group, repeat)
    #: rather than combined by a module of its own (residual, inception)
    container: ClassVar[bool] = False
    #: class names of the torch modules this kind imports from (``netspec import``): names, so
    #: that the static side needs no torch
    torch_types: ClassVar[tuple[str, ...]] = ()
    #: whether its module holds each child's module under the child's name and no tensors of
    #: its own (group, repeat, residual, inception), so that its ``state_dict`` keys are its
    #: children's; a composite kind that does not say so has keys nobody knows statically
    holds_children: ClassVar[bool] = False
    #: a layer that reads nothing and is one tensor its container holds (a class token, a
    #: layer scale): ``"parameter"`` (learnable) or ``"buffer"`` (fixed); its ``state_dict``
    #: key is its own path, it has no batch axis, and its readers broadcast it
    holds_tensor: ClassVar[str | None] = None
    #: a merge whose module broadcasts its inputs as torch does (add, mul); one that does not
    #: (concat) is handed a tensor without a batch axis expanded to the batch
    broadcasts: ClassVar[bool] = False

    def options_from(self, module: Any) -> dict[str, Any] | None:
        """The options (in-channels left out) that rebuild ``module``, one of :attr:`torch_types`;
        None where this kind cannot express that instance (a dilated max pool, ...)."""
        return None

    def expand(self, node: Node, ctx: ExpandContext) -> Node:
        """Fill in ``node.children`` (composite kinds); leaves have none."""
        return node

    def nested_entries(self, options: dict[str, Any]) -> list[tuple[tuple[str | int, ...], Any]]:
        """The raw layer entries inside an entry's options, with their subpaths (first pass).

        By default each option named in :attr:`nested` holds a layer list or a single layer.
        """
        out: list[tuple[tuple[str | int, ...], Any]] = []
        for option in self.nested:
            value = options.get(option)
            if isinstance(value, list):
                out.extend(((option, i), entry) for i, entry in enumerate(value))
            elif value is not None and not has_expression(value):
                out.append(((option,), value))
        return out

    def splice(self, node: Node) -> list[Node] | None:
        """The layers to put in place of ``node`` in its list (``inline: true``), or None."""
        return None

    def infer(self, node: Node, sources: list[Value], ctx: InferContext, path: str) -> Checked:
        """Check a layer on the tensors it reads; leaves only need :meth:`cost`."""
        shapes = [v.shape for v in sources]
        cost = self.costs(node.opts, shapes)
        return Checked(node, path, shapes[0], cost.shape, cost.params, cost.macs, cost.buffers)

    def costs(self, opts: Any, shapes: list[Shape]) -> Cost:
        """The cost of a layer reading ``shapes``; a single-input kind implements :meth:`cost`."""
        return self.cost(opts, shapes[0])

    def cost(self, opts: Any, shape: Shape) -> Cost:
        raise NotImplementedError(f"{type(self).__name__} must implement cost() or infer()")

    def build(self, checked: Checked, ctx: BuildContext) -> nn.Module:
        return self.module(checked.node.opts, checked.input, checked.output)

    def module(self, opts: Any, input: Shape, output: Shape) -> nn.Module:
        raise NotImplementedError(f"{type(self).__name__} must implement module() or build()")

    def tensors(self, opts: Any, input: Shape, output: Shape) -> dict[str, Shape] | None:
        """The tensors a leaf's module keeps in its ``state_dict`` (its parameters, then its
        persistent buffers), by the name torch gives them, with their shapes; ``{}`` for none.

        None, the default, means not known: a plugin's kind that does not implement it. The
        static ``state_dict`` (:mod:`netspec.state_keys`) then says so rather than guess.

        Example (``conv: {out: 64, kernel: 3}`` on (3, 32, 32))::

            {"weight": Shape((64, 3, 3, 3)), "bias": Shape((64,))}
        """
        return None

    def scratch(self, opts: Any, input: Shape, output: Shape, batch: int) -> int:
        """Values a leaf's forward allocates for a batch besides its output, freed after it
        (a padded copy of the input, a convolution's reordered copies or unfolded patches, a
        max pool's indices), as torch's CPU kernels allocate them: for the memory guard."""
        return 0

    def saved(self, opts: Any, input: Shape, output: Shape) -> Saved:
        """What the leaf's backward keeps for training (:class:`Saved`). The default, for a
        plugin's kind, is what most of torch's functions keep: the tensor they read."""
        return Saved()

    def hands_back(self, checked: Checked) -> Value | None:
        """The tensor of one of its layers that a composite returns as its own (a residual's
        ``after``), or None where its result is a new tensor (a sum, a concatenation)."""
        return None

    def step_scratch(
        self, opts: Any, input: Shape, output: Shape, batch: int, input_grad: bool = True
    ) -> tuple[int, int]:
        """Values a leaf allocates for a batch in a training step besides the tensors it makes
        and keeps and the gradients it computes, freed before the next layer runs: in its
        forward pass, and in its backward pass (``input_grad``: the gradient of its input is
        computed; not for the network's input). Default: its :meth:`scratch`, then none."""
        return self.scratch(opts, input, output, batch), 0

    def describe(self, opts: Any) -> str:
        """Key options as a paper writes them (``conv 3×3 /2, 64``); used by reports."""
        return self.name

    def draw(self, checked: Checked, ctx: DrawContext, graph: Any) -> list[Port] | None:
        """Draw an expanded composite inside its cluster; None: its children in order."""
        return None

    def drawn_nodes(
        self, checked: Checked, depth: int, count: Callable[[list[Checked], int], int]
    ) -> int | None:
        """How many nodes :meth:`draw` makes down to ``depth`` (``count`` counts a list's);
        None: its children's."""
        return None

    def copies(self, checked: Checked) -> int | None:
        """How many copies a collapsed node stands for (a repeat's ``×4``), if any."""
        return None

    def notes(self, checked: Checked) -> tuple[str, ...]:
        """Lines that a diagram's box of the layer shows under its words and its parameters,
        what they leave out (a call's ``same module as m``); none by default."""
        return ()
