"""``netspec build``: compile, confirm the output shape with a real forward pass, save.

Imports torch; the CLI reaches this module only after the spec has been checked.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .errors import NetspecError
from .files import write_bytes_atomic
from .ir import Shape
from .onnx_export import to_onnx
from .spec import Spec

#: the batch of the forward pass that confirms a build: a norm without running statistics
#: (batchnorm with track_running_stats: false) needs two values per channel, as in training
FORWARD_BATCH = 2

#: ``netspec build`` refuses networks needing more memory than this (``--max-memory``).
DEFAULT_MAX_BYTES = 8 * 10**9


def build_and_run(
    spec: Spec, meta: bool = False, max_bytes: int = DEFAULT_MAX_BYTES, seed: int | None = None
) -> tuple[nn.Module, Shape]:
    """Build the module and run it once in eval mode on a batch of two zeros (meta tensors)."""
    device = "meta" if meta else None
    model = spec.build(device=device, max_bytes=max_bytes, seed=seed).eval()
    with torch.no_grad():
        out = model(*(x.to(device or "cpu") for x in example_inputs(spec, FORWARD_BATCH)))
    outs = out if isinstance(out, dict) else {"output": out}
    for (name, want), got in zip(spec.output_shapes.items(), outs.values(), strict=True):
        shape = Shape(tuple(got.shape[1:]))
        if shape != want:  # would be a bug in a kind's shape rule, not a user error
            raise RuntimeError(f"static {name} shape {want} but the module gave {shape}")
    return model, spec.output_shape


def example_inputs(spec: Spec, batch: int = 1) -> tuple[torch.Tensor, ...]:
    """A batch of zeros for each input, in the order forward takes them."""
    return tuple(torch.zeros(batch, *s.dims) for s in spec.input_shapes.values())


#: what ``-o`` can save, by suffix
FORMATS = {".pt": "TorchScript", ".pt2": "torch.export", ".onnx": "ONNX"}


def save_module(model: nn.Module, spec: Spec, output: Path) -> None:
    """Save as TorchScript (``.pt``), a ``torch.export`` archive (``.pt2``) or ONNX
    (``.onnx``, :mod:`netspec.onnx_export`), atomically.

    torch writes into memory, the bytes are loaded back and run (ONNX: checked, and run
    where onnxruntime is installed), and only then written to disk by netspec (torch's own
    writer aborts the process on a full disk).
    """
    model = model.eval()
    if output.suffix not in FORMATS:
        raise NetspecError.plain(
            str(output),
            f"netspec saves {_choices()}, not {output.suffix or 'a file without suffix'}",
        )
    if output.suffix == ".onnx":
        write_bytes_atomic(output, to_onnx(model, spec, output))
        return
    buffer = io.BytesIO()
    if output.suffix == ".pt":
        # torch's own notes, not the user's business: torch.fx's GraphModule annotates in its
        # __init__ (harmless), and torch 2.14 marks TorchScript deprecated (docs: prefer .pt2)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The TorchScript type system", UserWarning)
            warnings.filterwarnings("ignore", r"`torch\.jit\.\w+` is deprecated", FutureWarning)
            torch.jit.save(torch.jit.script(model), buffer)
            load: Callable[[io.BytesIO], nn.Module] = torch.jit.load
            _loads_back(buffer.getvalue(), spec, output, load)
    else:  # .pt2
        # batch 2 as the example (export specialises sizes of 1); the batch size stays free
        batch = torch.export.Dim("batch", min=1)
        inputs = example_inputs(spec, 2)
        exported = torch.export.export(
            model, inputs, dynamic_shapes=tuple({0: batch} for _ in inputs)
        )
        torch.export.save(exported, buffer)
        _loads_back(buffer.getvalue(), spec, output, lambda f: torch.export.load(f).module())
    write_bytes_atomic(output, buffer.getvalue())


def _loads_back(
    data: bytes, spec: Spec, output: Path, load: Callable[[io.BytesIO], nn.Module]
) -> None:
    """Load the saved bytes and run them on the example batch: a file that does not load back
    is refused (and never takes the place of ``output``), not reported as saved."""
    try:
        loaded = load(io.BytesIO(data))
        with torch.no_grad():
            loaded(*example_inputs(spec, FORWARD_BATCH))
    except Exception as e:  # the one boundary: whatever torch raises, the file is unusable
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise NetspecError.plain(
            spec.file,
            f"the saved {output.suffix} file does not load back in torch ({first}); "
            f"{output} was not written",
            "save the other format (.pt or .pt2), or rename the layer the message names",
        ) from e


def _choices() -> str:
    """``.pt (TorchScript), .pt2 (torch.export) or .onnx (ONNX)``"""
    named = [f"{suffix} ({what})" for suffix, what in FORMATS.items()]
    return ", ".join(named[:-1]) + " or " + named[-1]
