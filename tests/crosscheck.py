"""Cross-checking the static pass against a built module: the measured truth."""

from __future__ import annotations

import math

import torch
from torch import nn

import netspec

Shapes = dict[str, tuple[int, ...]]


def measure(model: nn.Module, input_dims: tuple[int, ...]) -> tuple[Shapes, dict[str, int]]:
    """Output shape (batch dropped) and weight MACs of every submodule, by qualified name.

    Conv and linear MACs are their weights times the output positions; a transposed conv's are
    its weights times the input positions.

    A model built on the meta device is measured there: shapes and counts need no values.
    """
    shapes: dict[str, tuple[int, ...]] = {}
    macs: dict[str, int] = {}
    hooks = []
    for name, module in model.named_modules():

        def hook(
            mod: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor, name: str = name
        ) -> None:
            first = out  # a layer with several outputs (split, a block): its first one
            while isinstance(first, (list, tuple, dict)):
                first = next(iter(first.values())) if isinstance(first, dict) else first[0]
            shapes[name] = tuple(first.shape[1:])
            if isinstance(mod, nn.Conv2d):
                macs[name] = mod.weight.numel() * math.prod(out.shape[2:])
            elif isinstance(mod, nn.ConvTranspose2d):  # every input pixel meets every weight
                macs[name] = mod.weight.numel() * math.prod(args[0].shape[2:])
            elif isinstance(mod, nn.Linear):
                macs[name] = mod.weight.numel()

        hooks.append(module.register_forward_hook(hook))
    device = next(model.parameters(), torch.zeros(0)).device
    with torch.no_grad():
        model.eval()(torch.zeros(1, *input_dims, device=device))
    for h in hooks:
        h.remove()
    return shapes, macs


def assert_static_matches_module(
    spec: netspec.Spec, model: nn.Module, extra_macs: dict[str, int] | None = None
) -> None:
    """Every layer's shape, params, buffers and MACs equal the module's.

    ``extra_macs`` adds the MACs of modules the measurement does not know (a plugin's), by path.
    """
    shapes, macs = measure(model, spec.input_shape.dims)
    macs.update(extra_macs or {})
    modules = dict(model.named_modules())
    for c in spec.checked.walk():
        assert c.path in modules, f"no module at {c.path!r}"
        module = modules[c.path]
        assert shapes[c.path] == c.output.dims, c.path
        assert sum(p.numel() for p in module.parameters()) == c.params, c.path
        assert sum(b.numel() for b in module.buffers()) == c.buffers, c.path
        inside = [
            v for k, v in macs.items() if not c.path or k == c.path or k.startswith(c.path + ".")
        ]
        real_macs = sum(inside)
        assert real_macs == c.macs, c.path
    assert sum(p.numel() for p in model.parameters()) == spec.num_params
