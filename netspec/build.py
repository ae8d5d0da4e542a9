"""``netspec build``: compile, confirm the output shape with a real forward pass, save.

Imports torch; the CLI reaches this module only after the spec has been checked.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .files import write_atomic
from .ir import Shape
from .spec import Spec

#: ``netspec build`` refuses networks needing more memory than this (``--max-memory``).
DEFAULT_MAX_BYTES = 8 * 10**9


def build_and_run(
    spec: Spec, meta: bool = False, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[nn.Module, Shape]:
    """Build the module and run it once in eval mode on a batch of zeros (of meta tensors)."""
    device = "meta" if meta else None
    model = spec.build(device=device, max_bytes=max_bytes).eval()
    with torch.no_grad():
        out = model(example_input(spec).to(device or "cpu"))
    shape = Shape(tuple(out.shape[1:]))
    if shape != spec.output_shape:  # would be a bug in a kind's shape rule, not a user error
        raise RuntimeError(f"static output shape {spec.output_shape} but the module gave {shape}")
    return model, shape


def example_input(spec: Spec, batch: int = 1) -> torch.Tensor:
    return torch.zeros(batch, *spec.input_shape.dims)


def save_module(model: nn.Module, spec: Spec, output: Path) -> None:
    """Save as TorchScript (``.pt``) or a ``torch.export`` archive (``.pt2``), atomically."""
    model = model.eval()
    if output.suffix == ".pt":
        scripted = torch.jit.script(model)
        write_atomic(output, lambda tmp: torch.jit.save(scripted, str(tmp)))
    else:  # .pt2: the command line admits no other suffix
        # batch 2 as the example (export specialises sizes of 1); the batch size stays free
        batch = torch.export.Dim("batch", min=1)
        exported = torch.export.export(
            model, (example_input(spec, 2),), dynamic_shapes=({0: batch},)
        )
        write_atomic(output, lambda tmp: torch.export.save(exported, str(tmp)))
