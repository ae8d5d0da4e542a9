"""The Python API: ``netspec.load`` and the :class:`Spec` it returns.

Example::

    import netspec
    spec = netspec.load("nin", num_classes=100)     # a bundled name or a path
    print(spec.table())                              # per-layer shapes, params, MACs
    model = spec.build()                             # an ordinary torch.nn.Module
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bundled import locate_named
from .elaborate import MAX_LAYERS, Program, elaborate
from .errors import Diagnostic, NetspecError
from .gcpause import paused_gc
from .ir import Checked, Shape
from .shapes import check_graph
from .source import Document, parse_source, read_source

if TYPE_CHECKING:
    from torch import nn

    from .notebook import Table
    from .summary import Summary
    from .transfer.model import TransferReport


class Spec:
    """A loaded, validated and shape-checked spec. Building it imports torch; nothing else does."""

    def __init__(
        self,
        document: Document,
        overrides: dict[str, Any] | None = None,
        max_layers: int = MAX_LAYERS,
        scale: str | None = None,
    ) -> None:
        self.document = document
        self.overrides = dict(overrides or {})
        self.max_layers = max_layers
        if scale is not None and not isinstance(scale, str):
            raise NetspecError.plain(
                document.file, f"scale must be the name of one of the spec's scales, got {scale!r}"
            )
        self.program: Program
        self.checked: Checked
        #: what is suspicious but valid (a named tensor that nothing reads)
        self.warnings: list[Diagnostic]
        self.program, self.checked, self.warnings = check_document(
            document, self.overrides, max_layers, scale
        )

    @property
    def file(self) -> str:
        return self.document.file

    @property
    def name(self) -> str:
        return self.program.name

    @property
    def description(self) -> str:
        return self.program.description

    @property
    def params(self) -> dict[str, Any]:
        """The effective values of the spec's params (defaults with overrides applied)."""
        return dict(self.program.params)

    @property
    def title(self) -> str:
        """The name, with the scale where the spec has scales: ``yolov8 (scale s)``."""
        return f"{self.name} (scale {self.scale})" if self.scale else self.name

    @property
    def scale(self) -> str:
        """The chosen one of the spec's ``scales:`` ("" for a spec without any)."""
        return self.program.scale

    @property
    def scales(self) -> dict[str, dict[str, Any]]:
        """The spec's sizes by name, the default first, each with the param values it sets."""
        written = self.document.data.get("scales") or {}
        return {name: dict(written[name]) for name in self.program.scales}

    @property
    def input_shape(self) -> Shape:
        """The shape of the (first) input, batch excluded."""
        return self.program.input

    @property
    def input_shapes(self) -> dict[str, Shape]:
        """Every input by name (``input`` for a spec with one ``input:``), in forward's order."""
        return dict(self.program.inputs)

    @property
    def output_shape(self) -> Shape:
        """The shape of the (first) output, batch excluded."""
        return self.checked.output

    @property
    def output_names(self) -> list[str]:
        """The names of the outputs (``outputs:``); empty for a network with one output."""
        return list(self.program.scope.outputs)

    @property
    def output_shapes(self) -> dict[str, Shape]:
        """Every output by name; a network with one output calls it ``output``."""
        names = self.output_names or ["output"]
        return {n: v.shape for n, v in zip(names, self.checked.results, strict=True)}

    @property
    def num_params(self) -> int:
        return self.checked.params

    @property
    def macs(self) -> int:
        return self.checked.macs

    def check(self) -> Checked:
        """The checked network: per-layer shapes, params and MACs (``.walk()`` lists them)."""
        return self.checked

    def table(self) -> Table:
        """The per-layer table that ``netspec check --table`` prints: a str, which Jupyter
        shows as an HTML table."""
        from .notebook import Table

        return Table(self.checked)

    def summary(self, *, static: bool = False, batch: int = 1, depth: int | None = None) -> Summary:
        """The per-layer summary (:class:`netspec.summary.Summary`): torchinfo's on the meta
        device, or with ``static=True`` netspec's own (no torch), as ``netspec summary``
        computes it; ``netspec.report.format_summary(s, "table")`` (or json, csv) formats it, and
        Jupyter shows it as an HTML table."""
        from .summary import static_summary, torch_summary

        _need_count(self.file, "depth", depth, optional=True)
        make = static_summary if static else torch_summary
        return make(self, batch, depth)

    def to_dot(self, depth: int | None = None, rankdir: str = "TB") -> str:
        """The Graphviz DOT source of the diagram (``depth=None``: what fits a screen)."""
        from .diagram import to_dot

        _need_count(self.file, "depth", depth, optional=True)
        _need_choice(self.file, "rankdir", rankdir, ("TB", "LR", "BT", "RL"))
        return to_dot(self.checked, self.title, depth=depth, rankdir=rankdir)

    def diagram(self, fmt: str = "svg", depth: int | None = None, rankdir: str = "TB") -> bytes:
        """The diagram as svg, png or pdf bytes (needs Graphviz's ``dot``) or dot text."""
        from .diagram import render_dot

        _need_choice(self.file, "fmt", fmt, ("svg", "png", "pdf", "dot"))
        return render_dot(self.to_dot(depth, rankdir), fmt)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Jupyter shows a spec as HTML (title, shapes, totals, the diagram and the per-layer
        table) and as its SVG diagram; without Graphviz, both say how to get the picture.

        Notebook front ends show the HTML (they rank it above SVG), which therefore holds
        the diagram too; the SVG alone serves what takes images only (nbconvert to PDF)."""
        from .diagram import NoPicture
        from .notebook import spec_html

        svg: str | None = None
        no_svg = ""
        try:
            svg = self.diagram("svg").decode()
        except NoPicture as e:  # dot missing, failing or out of time: the table instead
            no_svg = e.note()
        html = spec_html(
            self.title,
            self.description,
            self.input_shapes,
            self.output_shapes,
            self.checked,
            svg,
            no_svg,
        )
        bundle: dict[str, Any] = {"text/plain": "\n".join(filter(None, [repr(self), no_svg]))}
        bundle["text/html"] = html
        if svg is not None:
            bundle["image/svg+xml"] = svg
        return bundle

    def with_params(self, **overrides: Any) -> Spec:
        """The same spec (at the same scale) with other param values."""
        scale = self.scale or None
        return Spec(self.document, {**self.overrides, **overrides}, self.max_layers, scale)

    def with_scale(self, scale: str) -> Spec:
        """The same spec, with the same overrides, at another of its scales."""
        return Spec(self.document, self.overrides, self.max_layers, scale)

    def memory(self, batch: int = 1) -> int:
        """Bytes a built module needs for its weights and buffers and one forward pass: every
        layer's output, and the largest scratch one layer allocates as torch's CPU kernels do (a
        copy for reflect, replicate or circular padding but none for zeros, oneDNN's reordered
        copies, a max pool's indices)."""
        _need_count(self.file, "batch", batch)
        from .summary import BYTES_PER_VALUE, activation_values, scratch_values

        values = self.checked.params + self.checked.buffers
        inputs = sum(s.numel for s in self.program.inputs.values())
        values += (activation_values(self.checked) + inputs) * batch
        values += scratch_values(self.checked, batch)
        return values * BYTES_PER_VALUE

    #: what the last ``build(init_from=...)`` loaded, key by key (None before one):
    #: ``print(netspec.transfer.format_transfer(spec.transfer))``
    transfer: TransferReport | None = None

    def build(
        self,
        *,
        device: str | None = None,
        max_bytes: int | None = None,
        seed: int | None = None,
        init_from: str | os.PathLike[str] | None = None,
        renames: Iterable[str] = (),
        strict: bool = False,
    ) -> nn.Module:
        """Compile to a fresh ``torch.nn.Module`` (new random weights each call; with ``seed``,
        the same weights every time, without touching torch's global random state).

        Its ``forward`` takes the inputs in the order the spec lists them and returns the
        output tensor, or a dict of the named ``outputs:`` in their order.

        ``device="meta"`` builds without allocating anything. ``max_bytes`` refuses, before
        allocating, a module whose weights and one forward pass would need more memory.

        ``init_from``: a checkpoint file (a ``state_dict``, a netspec checkpoint, torchvision's
        or Ultralytics' ``.pt``, read as data, never run) whose tensors load where their key
        (after ``renames``, ``"model.16=model.17"``) and shape match; the rest keeps its fresh
        weights. :attr:`transfer` then holds the report, key by key, and a load that leaves
        keys out warns, naming them. ``strict``: raise unless every key loads, loading nothing.

        Example::

            model = spec.build(init_from="yolov8n.pt", renames=["model.22.dfl="], strict=True)
            spec.transfer.complete     # True
        """
        _check_build_options(self, device, max_bytes, seed)
        load = None if init_from is None else self._reader(init_from, renames, strict, device)
        model = self._compiled(device, seed)
        if load is not None:
            self.transfer = load(model)
        return model

    def _compiled(self, device: str | None, seed: int | None) -> nn.Module:
        """The module on ``device``, its weights from ``seed`` (see :meth:`build`)."""
        import torch

        from .compiler import compile_spec

        with contextlib.ExitStack() as stack:
            if seed is not None:  # the weights' initialisation, and only that, is seeded
                stack.enter_context(torch.random.fork_rng(devices=[]))
                torch.manual_seed(seed)
            if device is not None:
                try:
                    where = torch.device(device)
                    torch.empty(0, device=where)  # a device torch knows but this machine lacks
                except (RuntimeError, AssertionError) as e:
                    message = f"cannot build on device {device!r}: {e}".splitlines()[0]
                    raise NetspecError.plain(self.file, message, "use 'cpu' or 'meta'") from e
                stack.enter_context(where)
            return compile_spec(self.checked, self.output_names)

    def _reader(
        self,
        init_from: str | os.PathLike[str],
        renames: Iterable[str],
        strict: bool,
        device: str | None,
    ) -> Callable[[nn.Module], TransferReport]:
        """What loads ``init_from`` into a built module, once the checkpoint has been read and
        the renames parsed (before the build: a bad file fails before the seconds it takes)."""
        if device == "meta":
            raise NetspecError.plain(
                self.file,
                "init_from loads weights, which a module on the meta device has no memory for",
                "build on the cpu (or another real device), or leave init_from out",
            )
        if isinstance(renames, str):  # one rename, not its characters
            renames = [renames]
        from .checkpoints import read_checkpoint
        from .renaming import parse_rename
        from .transfer.load import load_weights
        from .transfer.text import format_transfer

        rules = [parse_rename(r, "renames") for r in renames]
        checkpoint = read_checkpoint(init_from)

        def load(model: nn.Module) -> TransferReport:
            report = load_weights(model, self, checkpoint, rules, bool(strict))
            if not report.complete:
                text = format_transfer(report).rstrip("\n")
                warnings.warn(f"{text}\n(spec.transfer holds the report)", stacklevel=3)
            return report

        return load

    def __repr__(self) -> str:
        from .report import summary_line

        line = summary_line(self.name, self.input_shapes, self.output_shapes, self.checked)
        return f"<Spec {line.partition(' MACs')[0]} MACs>"


def _check_build_options(spec: Spec, device: object, max_bytes: object, seed: object) -> None:
    """Refuse :meth:`Spec.build`'s options that are not what they should be, and a network
    that needs more memory than ``max_bytes``, before anything is allocated."""
    if max_bytes is not None and (
        isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, float)) or not max_bytes > 0
    ):
        raise NetspecError.plain(
            spec.file, f"max_bytes must be a number above 0, got {max_bytes!r}"
        )
    if device is not None and not isinstance(device, str):
        raise NetspecError.plain(
            spec.file, f"device must be a name such as 'cpu' or 'meta', got {device!r}"
        )
    # netspec build's forward pass runs a batch of 2 (a norm without running statistics
    # needs two values per channel), so the guard counts two samples
    if max_bytes is not None and device != "meta" and spec.memory(2) > max_bytes:
        from .report import human_bytes

        raise NetspecError.plain(
            spec.file,
            f"building this network needs about {human_bytes(spec.memory(2))} "
            f"({spec.num_params:,} parameters plus one forward pass); the limit is "
            f"{human_bytes(max_bytes)}",
            "build on the meta device (--meta), or raise the limit with --max-memory GB",
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise NetspecError.plain(spec.file, f"seed must be a whole number ≥ 0, got {seed!r}")


def check_document(
    document: Document,
    overrides: dict[str, Any] | None = None,
    max_layers: int = MAX_LAYERS,
    scale: str | None = None,
    done: list[Checked] | None = None,
) -> tuple[Program, Checked, list[Diagnostic]]:
    """Both passes over a parsed spec: the program, the checked network and its warnings
    (raises :class:`~netspec.NetspecError`). ``done`` receives every layer the shape pass
    completes, those before an error included (the language server's hovers keep them).

    Example::

        program, checked, warnings = check_document(read_source("specs/lenet.yaml"))
    """
    try:
        with paused_gc():  # the passes' trees hold no cycles
            program = elaborate(document, overrides or {}, max_layers, scale)
            checked, warnings = check_graph(program, done)
    except RecursionError as e:  # the nesting limits should make this unreachable
        raise NetspecError.plain(
            document.file, "the spec nests too deeply to check", "flatten its structure"
        ) from e
    return program, checked, warnings


def _need_count(file: str, name: str, value: object, optional: bool = False) -> None:
    """Refuse what is not a whole number ≥ 1 (or None, where ``optional``)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise NetspecError.plain(file, f"{name} must be a whole number ≥ 1, got {value!r}")


def _need_choice(file: str, name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise NetspecError.plain(file, f"{name} must be one of {', '.join(choices)}, got {value!r}")


def load(
    path_or_name: str | Path,
    /,
    *,
    max_layers: int = MAX_LAYERS,
    scale: str | None = None,
    **overrides: Any,
) -> Spec:
    """Load, validate and check a spec file, or a bundled spec by name.

    Keyword arguments override the spec's params; ``scale`` chooses one of its ``scales:``
    (``load("ultralytics/yolov8", scale="s")``). Raises :class:`~netspec.NetspecError`; a word
    that is neither a file nor a bundled spec (``load("resnett")``) names the closest bundled one.

    >>> load("lenet").num_params
    61706
    """
    if not isinstance(path_or_name, (str, Path)):
        raise NetspecError.plain(
            repr(path_or_name), "load() takes a path or a bundled spec's name, as str or Path"
        )
    _need_count(str(path_or_name), "max_layers", max_layers)
    path, display = locate_named(path_or_name)  # "resnett": did you mean "resnet"?
    return Spec(read_source(path, display), overrides, max_layers, scale)


def loads(
    text: str,
    /,
    file: str = "<string>",
    *,
    max_layers: int = MAX_LAYERS,
    scale: str | None = None,
    **overrides: Any,
) -> Spec:
    """Like :func:`load`, from spec text."""
    if not isinstance(file, str):
        raise NetspecError.plain(repr(file), "loads() takes the file name to show as a str")
    if not isinstance(text, str):
        what = "bytes: decode them first" if isinstance(text, bytes) else type(text).__name__
        raise NetspecError.plain(file, f"loads() takes the spec's text as a str, got {what}")
    _need_count(file, "max_layers", max_layers)
    return Spec(parse_source(text, file), overrides, max_layers, scale)
