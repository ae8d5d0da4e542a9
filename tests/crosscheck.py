"""Cross-checking the static pass against a built module: the measured truth."""

from __future__ import annotations

import math

import torch
from torch import nn

import netspec
from netspec.attention_modules import MatMul
from netspec.ir import Checked
from netspec.modules import SelfAttention

Shapes = dict[str, tuple[int, ...]]
Results = dict[str, list[tuple[int, ...]]]


def _tensors(out: object) -> list[torch.Tensor]:
    """A module's outputs in order: a tensor, a tuple or list of them, or a dict's values."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        return list(out.values())
    assert isinstance(out, (tuple, list)), type(out)
    return list(out)


def measure_results(
    model: nn.Module, input_dims: tuple[int, ...] | list[tuple[int, ...]]
) -> tuple[Results, dict[str, int]]:
    """The shape (batch dropped) of every output of every submodule, by qualified name, in the
    order the module returns them (a graph's tuple, a network's dict of outputs), and the
    weight MACs of every submodule.

    Conv and linear MACs are their weights times the output positions; a transposed conv's are
    its weights times the input positions.

    ``input_dims`` is the input's shape, or a list of them for a network of several inputs. A
    model built on the meta device is measured there: shapes and counts need no values.
    """
    shapes = input_dims if isinstance(input_dims, list) else [input_dims]
    results: Results = {}
    macs: dict[str, int] = {}
    hooks = []
    for name, module in model.named_modules():

        def hook(
            mod: nn.Module, args: tuple[torch.Tensor, ...], out: object, name: str = name
        ) -> None:
            tensors = _tensors(out)
            results[name] = [tuple(t.shape[1:]) for t in tensors]
            if isinstance(mod, nn.Conv2d):
                macs[name] = mod.weight.numel() * math.prod(tensors[0].shape[2:])
            elif isinstance(mod, nn.ConvTranspose2d):  # every input pixel meets every weight
                macs[name] = mod.weight.numel() * math.prod(args[0].shape[2:])
            elif isinstance(mod, nn.Linear):  # once per token (or row) of what it reads
                macs[name] = mod.weight.numel() * math.prod(tensors[0].shape[1:-1])
            elif isinstance(mod, MatMul):  # the product: its output's values × the inner size
                macs[name] = math.prod(tensors[0].shape[1:]) * args[0][0].shape[-1]
            elif isinstance(mod, SelfAttention):  # its out_proj is an nn.Linear, counted above
                tokens, width = args[0].shape[1:]
                macs[name] = 3 * tokens * width * width + 2 * tokens * tokens * width

        hooks.append(module.register_forward_hook(hook))
    device = next(model.parameters(), torch.zeros(0)).device
    with torch.no_grad():
        model.eval()(*(torch.zeros(1, *dims, device=device) for dims in shapes))
    for h in hooks:
        h.remove()
    return results, macs


def measure(model: nn.Module, input_dims: tuple[int, ...]) -> tuple[Shapes, dict[str, int]]:
    """Output shape (batch dropped; a module's first output where it has several) and weight
    MACs of every submodule, by qualified name (see :func:`measure_results`)."""
    results, macs = measure_results(model, input_dims)
    return {name: shapes[0] for name, shapes in results.items()}, macs


def randomise_norms(model: nn.Module) -> nn.Module:
    """Non-trivial batchnorm statistics and affine weights, so that a misplaced layer shows."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            nn.init.uniform_(module.running_mean, -0.1, 0.1)
            nn.init.uniform_(module.running_var, 0.5, 1.5)
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.uniform_(module.bias, -0.1, 0.1)
    return model


def assert_static_matches_module(
    spec: netspec.Spec, model: nn.Module, extra_macs: dict[str, int] | None = None
) -> None:
    """Every layer's shape, params, buffers and MACs equal the module's; where a layer hands
    back several tensors (a graph block, a network with several outputs), every one's shape.

    ``extra_macs`` adds the MACs of modules the measurement does not know (a plugin's), by path.
    """
    results, macs = measure_results(model, [s.dims for s in spec.input_shapes.values()])
    macs.update(extra_macs or {})
    modules = dict(model.named_modules())
    tensors = dict(model.named_parameters()) | dict(model.named_buffers())
    for c in spec.checked.walk():
        if c.node.kind.holds_tensor:  # a parameter or buffer: its holder's, counted there
            assert c.path in tensors or not c.buffers, f"no tensor at {c.path!r}"
            continue
        if c.node.reuses is not None:  # a call: the module is its layer's, at that layer's path
            parent = c.path.rpartition(".")[0]
            layer = ".".join(filter(None, (parent, c.node.reuses.layer.name)))
            assert c.params == 0 and layer in modules, (c.path, layer)
            continue
        assert c.path in modules, f"no module at {c.path!r}"
        module = modules[c.path]
        if c.path not in results:  # never called: only an empty repeat, which passes through
            assert not c.children and not list(module.children()), c.path
            continue
        assert results[c.path][0] == c.output.dims, c.path
        # a graph block also returns the tensors read after it, after its own results
        made = [v.shape.dims for v in c.results]
        assert results[c.path][: len(made)] == made, c.path
        assert sum(p.numel() for p in module.parameters()) == c.params, c.path
        assert sum(b.numel() for b in module.buffers()) == c.buffers, c.path
        inside = [
            v for k, v in macs.items() if not c.path or k == c.path or k.startswith(c.path + ".")
        ]
        real_macs = sum(inside)
        assert real_macs == c.macs, c.path
    assert sum(p.numel() for p in model.parameters()) == spec.num_params


def torchinfo_extra(checked: Checked) -> int:
    """What torchinfo's mult-adds add to netspec's MACs, per sample: bias × output positions,
    norm weights, a per-token linear's and attention's output projection once, and a transposed
    conv's weights × its output positions rather than its input positions."""
    extra = 0
    for c in checked.walk():
        kind, opts = c.node.kind.name, c.node.opts
        if kind == "linear" and c.input.rank > 1:  # its weights and bias once, not per token
            extra += c.params - c.macs
            continue
        if kind == "attention":  # its out_proj only (an nn.Linear), once
            width = c.input.dims[-1]
            extra += width * width + (width if opts.bias else 0) - c.macs
            continue
        if kind == "matmul":  # torchinfo sees no weights: no mult-adds
            extra -= c.macs
            continue
        if kind == "layernorm":
            extra += c.params  # torchinfo counts a layernorm's weight and bias once
        if kind == "conv_transpose":  # torchinfo: weights × output positions, netspec: × input
            weights = c.macs // math.prod(c.input.dims[1:])
            extra += weights * math.prod(c.output.dims[1:]) - c.macs
        if kind in ("conv", "linear", "conv_transpose") and opts.bias:
            extra += c.output.numel  # one add per output value
        elif kind == "batchnorm":
            extra += c.params  # torchinfo counts batchnorm's weight and bias once per value
    return extra
