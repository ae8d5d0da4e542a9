"""The static check equals torch: random options of every kind, checked by netspec and run by torch.

For each built-in kind a generator draws options and input shapes (edge values included: 0, 1,
sizes below the kernel, odd sizes, large paddings, every enum value, negative indices); each
trial is a one-layer spec that netspec checks and builds, and, independently, the plain torch
module written from the same options, run once on zeros. A disagreement is netspec accepting
what torch refuses (or what its own build cannot run), refusing what torch runs, or a different
output shape, parameter count or buffer count.

Where netspec refuses on purpose something torch would run (an empty tensor, a slice torch
would clip), the refusal must match one of :data:`DELIBERATE`; any other refusal of a working
configuration is a disagreement.

The normal suite runs a few hundred trials; ``pytest -m fuzz -s tests/test_differential.py``
runs the campaign (at least 10,000) and prints its figures.
"""

from __future__ import annotations

import json
import math
import random
import re
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import netspec
from netspec.errors import NetspecError
from netspec.registry import all_kinds

#: netspec's deliberate refusals of configurations torch would run, each with its reason
DELIBERATE = {
    r"gives an empty output|leaving none": (
        "a layer that makes a tensor with a size of 0 is a mistake"
    ),
    r"slice (start|end)=-?\d+ is outside": "torch clips an out-of-range slice silently",
    r"slice .* takes no channels": "an empty slice is an empty tensor",
    r"instancenorm on .* normalises each channel's one value to 0": (
        "torch refuses it in training (netspec checks for training, the trial runs in eval)"
    ),
    r"attention needs a token sequence .* got the flat features": (
        "torch reads a batch of flat vectors (N, D) as one unbatched sequence of N tokens"
    ),
    r"(linear|conv|conv_transpose|pool|upsample|instancenorm) needs": (
        "torch also runs some kinds on other ranks (linear on the last dimension of an image); "
        "netspec wants the rank the layer is meant for"
    ),
    r"(add|mul|concat) cannot join its inputs": (
        "torch broadcasts add and mul; netspec joins equal shapes (and a gate of (C, 1, 1) "
        "for mul), as a broadcast residual is almost always a mistake"
    ),
    r"residual body changes the shape .* identity shortcut": (
        "the same for a residual: torch would broadcast the shortcut into the body's output"
    ),
    r"(batchnorm|groupnorm|layernorm) needs \(channels, height, width\) or \(features,\)": (
        "the same, for the norms"
    ),
    # layouts (issue 20)
    r"(select index|strided_slice (start|end))=-?\d+ is outside": (
        "torch clips an out-of-range slice silently"
    ),
    r"strided_slice takes nothing": "an empty slice is an empty tensor",
    r"select takes one value of the flat features": "one value a sample has no axis left",
    r"layernorm over the channels needs": (
        "a channels-first tensor of two axes: torch would normalise its last axis"
    ),
    r"needs \(channels, height, width\) input, got the (channels-last map|tensor)": (
        "torch runs a conv on any 3-axis tensor; netspec wants the channels first"
    ),
    r"transpose .* names axis \d+ twice": "torch swaps an axis with itself silently: a mistake",
    r"is not an axis of": "one past the first axis is the batch to torch",
    r"pad gives \d+ \[before, after\] pairs": "netspec pads the axes of a sample, never the batch",
    r"linear applies to the last axis, but the feature map": (
        "torch runs a linear on (C, positions); netspec asks for tokens or flat features"
    ),
}

#: kinds made only of other layers: each trial is one of them around random leaf layers
COMPOSITES = {"group", "repeat", "residual", "inception"}


@dataclass
class Trial:
    """One configuration: a layer's options, its inputs, and the torch that should run it."""

    kind: str
    options: dict[str, Any]
    inputs: list[tuple[int, ...]]
    #: the torch module written from the options (independently of netspec's builder)
    reference: Callable[[], nn.Module]


@dataclass
class Outcome:
    shapes: list[tuple[int, ...]] | None  # None: refused
    params: int = 0
    buffers: int = 0
    error: str = ""


# generators: one per kind


def _size(r: random.Random, big: bool = True) -> int:
    """A spatial size with the edges over-represented: 1, 2, odd, a little larger."""
    return r.choice([1, 1, 2, 3, 4, 5, 7, 8, 9, 16] + ([13, 31, 33] if big else []))


def _image(r: random.Random, channels: int | None = None) -> tuple[int, ...]:
    return (channels or r.choice([1, 2, 3, 4, 6, 8]), _size(r), _size(r))


def _shape(r: random.Random) -> tuple[int, ...]:
    return _image(r) if r.random() < 0.8 else (r.choice([1, 2, 3, 4, 6, 8, 12]),)


def _pair(r: random.Random, low: int, high: int) -> int | list[int]:
    if r.random() < 0.7:
        return r.randint(low, high)
    return [r.randint(low, high), r.randint(low, high)]


def _two(value: int | list[int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def _maybe(r: random.Random, options: dict[str, Any], key: str, value: Any) -> None:
    if r.random() < 0.5:
        options[key] = value


def gen_conv(r: random.Random) -> Trial:
    c = r.choice([1, 2, 3, 4, 6, 8])
    groups = r.choice([1, 1, 1, 2, 3, 4])
    out = r.choice([1, 2, 3, 4, 6, 8])
    o: dict[str, Any] = {"out": out, "kernel": _pair(r, 1, 7)}
    _maybe(r, o, "stride", _pair(r, 1, 3))
    _maybe(r, o, "padding", r.choice(["same", "valid", _pair(r, 0, 6), _pair(r, 0, 40)]))
    _maybe(r, o, "dilation", _pair(r, 1, 3))
    _maybe(r, o, "groups", groups)
    _maybe(r, o, "bias", r.random() < 0.5)
    _maybe(r, o, "padding_mode", r.choice(["zeros", "reflect", "replicate", "circular"]))
    shape = _image(r, c) if r.random() < 0.95 else (c,)

    def reference() -> nn.Module:
        return nn.Conv2d(
            shape[0],
            out,
            _two(o["kernel"]),
            stride=_two(o.get("stride", 1)),
            padding=o["padding"]
            if isinstance(o.get("padding"), str)
            else _two(o.get("padding", 0)),
            dilation=_two(o.get("dilation", 1)),
            groups=o.get("groups", 1),
            bias=o.get("bias", True),
            padding_mode=o.get("padding_mode", "zeros"),
        )

    return Trial("conv", o, [shape], reference)


def gen_conv_transpose(r: random.Random) -> Trial:
    c = r.choice([1, 2, 3, 4, 6, 8])
    out = r.choice([1, 2, 3, 4, 6, 8])
    o: dict[str, Any] = {"out": out, "kernel": _pair(r, 1, 5)}
    _maybe(r, o, "stride", _pair(r, 1, 3))
    _maybe(r, o, "padding", _pair(r, 0, 4))
    _maybe(r, o, "output_padding", _pair(r, 0, 3))
    _maybe(r, o, "dilation", _pair(r, 1, 3))
    _maybe(r, o, "groups", r.choice([1, 2, 3, 4]))
    _maybe(r, o, "bias", r.random() < 0.5)
    shape = _image(r, c)

    def reference() -> nn.Module:
        return nn.ConvTranspose2d(
            shape[0],
            out,
            _two(o["kernel"]),
            stride=_two(o.get("stride", 1)),
            padding=_two(o.get("padding", 0)),
            output_padding=_two(o.get("output_padding", 0)),
            groups=o.get("groups", 1),
            bias=o.get("bias", True),
            dilation=_two(o.get("dilation", 1)),
        )

    return Trial("conv_transpose", o, [shape], reference)


def gen_pool(r: random.Random) -> Trial:
    mode = r.choice(["max", "avg"])
    o: dict[str, Any] = {"mode": mode}
    way = r.choice(["kernel", "kernel", "kernel", "output", "global"])
    if way == "kernel":
        o["kernel"] = _pair(r, 1, 6)
        _maybe(r, o, "stride", _pair(r, 1, 4))
        _maybe(r, o, "padding", _pair(r, 0, 3))
        _maybe(r, o, "ceil_mode", r.random() < 0.5)
        _maybe(r, o, "count_include_pad", r.random() < 0.5)
    elif way == "output":
        o["output"] = _pair(r, 1, 9)
    else:
        o["global"] = True
    shape = _image(r)

    def reference() -> nn.Module:
        avg = mode == "avg"
        if way != "kernel":
            size: Any = 1 if way == "global" else _two(o["output"])
            return nn.AdaptiveAvgPool2d(size) if avg else nn.AdaptiveMaxPool2d(size)
        kernel = _two(o["kernel"])
        stride = _two(o.get("stride", o["kernel"]))
        padding = _two(o.get("padding", 0))
        ceil = o.get("ceil_mode", False)
        if avg:
            return nn.AvgPool2d(kernel, stride, padding, ceil, o.get("count_include_pad", True))
        return nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil)

    return Trial("pool", o, [shape], reference)


def gen_upsample(r: random.Random) -> Trial:
    mode = r.choice(["nearest", "nearest-exact", "bilinear", "bicubic"])
    o: dict[str, Any] = {"mode": mode}
    if r.random() < 0.5:
        o["scale"] = r.choice([0.25, 0.5, 1, 1.5, 2, 3, 0.3, [2, 0.5], [1, 3]])
    else:
        o["size"] = _pair(r, 1, 20)
    if r.random() < 0.4:
        o["align_corners"] = r.random() < 0.5
    shape = _image(r)

    def reference() -> nn.Module:
        scale = o.get("scale")
        return nn.Upsample(
            size=_two(o["size"]) if "size" in o else None,
            scale_factor=(
                (float(scale), float(scale))
                if isinstance(scale, (int, float))
                else (float(scale[0]), float(scale[1]))
                if scale is not None
                else None
            ),
            mode=mode,
            align_corners=o.get("align_corners"),
        )

    return Trial("upsample", o, [shape], reference)


def gen_linear(r: random.Random) -> Trial:
    out = r.choice([1, 2, 5, 10])
    o: dict[str, Any] = {"out": out}
    _maybe(r, o, "bias", r.random() < 0.5)
    shape = (r.choice([1, 3, 8, 17]),) if r.random() < 0.9 else _image(r)

    def reference() -> nn.Module:
        return nn.Linear(shape[-1], out, bias=o.get("bias", True))

    return Trial("linear", o, [shape], reference)


class _SelfAttention(nn.Module):
    """torch's own multi-head attention, called as self-attention."""

    def __init__(self, attention: nn.MultiheadAttention) -> None:
        super().__init__()
        self.attention = attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(x, x, x, need_weights=False)[0]


def gen_attention(r: random.Random) -> Trial:
    o: dict[str, Any] = {"heads": r.choice([1, 2, 3, 4, 8])}
    _maybe(r, o, "bias", r.random() < 0.5)
    _maybe(r, o, "dropout", r.choice([0.0, 0.1]))
    tokens = (r.randint(1, 6), r.choice([1, 4, 6, 8, 12]))
    shape = tokens if r.random() < 0.8 else _shape(r)

    def reference() -> nn.Module:
        return _SelfAttention(
            nn.MultiheadAttention(
                shape[-1],
                o["heads"],
                dropout=o.get("dropout", 0.0),
                bias=o.get("bias", True),
                batch_first=True,
            )
        )

    return Trial("attention", o, [shape], reference)


def gen_batchnorm(r: random.Random) -> Trial:
    o: dict[str, Any] = {}
    _maybe(r, o, "eps", r.choice([1e-5, 1e-3, 0.1]))
    _maybe(r, o, "momentum", r.choice([None, 0.0, 0.1, 1.0]))
    _maybe(r, o, "affine", r.random() < 0.5)
    _maybe(r, o, "track_running_stats", r.random() < 0.5)
    shape = _shape(r)

    def reference() -> nn.Module:
        cls = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
        return cls(
            shape[0],
            o.get("eps", 1e-5),
            o.get("momentum", 0.1),
            o.get("affine", True),
            o.get("track_running_stats", True),
        )

    return Trial("batchnorm", o, [shape], reference)


def gen_groupnorm(r: random.Random) -> Trial:
    o: dict[str, Any] = {"groups": r.choice([1, 2, 3, 4, 8])}
    _maybe(r, o, "eps", r.choice([1e-5, 0.1]))
    _maybe(r, o, "affine", r.random() < 0.5)
    shape = _shape(r)

    def reference() -> nn.Module:
        return nn.GroupNorm(o["groups"], shape[0], o.get("eps", 1e-5), o.get("affine", True))

    return Trial("groupnorm", o, [shape], reference)


def gen_instancenorm(r: random.Random) -> Trial:
    o: dict[str, Any] = {}
    _maybe(r, o, "eps", r.choice([1e-5, 0.1]))
    _maybe(r, o, "momentum", r.choice([0.0, 0.1, 1.0]))
    _maybe(r, o, "affine", r.random() < 0.5)
    _maybe(r, o, "track_running_stats", r.random() < 0.5)
    shape = _shape(r)

    def reference() -> nn.Module:
        return nn.InstanceNorm2d(
            shape[0],
            o.get("eps", 1e-5),
            o.get("momentum", 0.1),
            o.get("affine", False),
            o.get("track_running_stats", False),
        )

    return Trial("instancenorm", o, [shape], reference)


class _ChannelsLast(nn.Module):
    """The reference of layernorm on an image: nn.LayerNorm over the channels at each pixel."""

    def __init__(self, norm: nn.LayerNorm) -> None:
        super().__init__()
        self.norm = norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def gen_layernorm(r: random.Random) -> Trial:
    o: dict[str, Any] = {}
    _maybe(r, o, "eps", r.choice([1e-5, 0.1]))
    _maybe(r, o, "affine", r.random() < 0.5)
    _maybe(r, o, "bias", r.random() < 0.5)
    shape = _shape(r)

    def reference() -> nn.Module:
        norm = nn.LayerNorm(
            shape[0],
            o.get("eps", 1e-5),
            elementwise_affine=o.get("affine", True),
            bias=o.get("bias", True),
        )
        return _ChannelsLast(norm) if len(shape) == 3 else norm

    return Trial("layernorm", o, [shape], reference)


class _Lambda(nn.Module):
    def __init__(self, f: Callable[..., Any]) -> None:
        super().__init__()
        self.f = f

    def forward(self, *xs: torch.Tensor) -> Any:
        return self.f(*xs)


def gen_slice(r: random.Random) -> Trial:
    shape = _shape(r)
    c = shape[0]
    o: dict[str, Any] = {}
    _maybe(r, o, "start", r.randint(-c - 2, c + 2))
    if r.random() < 0.6:
        o["end"] = r.randint(-c - 2, c + 2)

    def reference() -> nn.Module:
        start, end = o.get("start", 0), o.get("end")
        return _Lambda(lambda x: x[:, start:end])

    return Trial("slice", o, [shape], reference)


def gen_split(r: random.Random) -> Trial:
    shape = _shape(r)
    c = shape[0]
    if r.random() < 0.5:
        o: dict[str, Any] = {"parts": r.randint(1, c + 1)}
    else:
        sizes = []
        while sum(sizes) < c and len(sizes) < 4:
            sizes.append(r.randint(1, c))
        o = {"sizes": sizes}

    def reference() -> nn.Module:
        if "parts" in o:
            if c % o["parts"]:  # torch.chunk would give unequal parts; split: N means equal
                return _Lambda(lambda x: torch.split(x, [c // o["parts"] + 1] * o["parts"], 1))
            return _Lambda(lambda x: torch.split(x, c // o["parts"], 1))
        return _Lambda(lambda x: torch.split(x, o["sizes"], 1))

    return Trial("split", o, [shape], reference)


def gen_channel_shuffle(r: random.Random) -> Trial:
    shape = _shape(r)
    o = {"groups": r.choice([1, 2, 3, 4, 8])}
    if len(shape) == 3:
        return Trial("channel_shuffle", o, [shape], lambda: nn.ChannelShuffle(o["groups"]))

    def features(x: torch.Tensor) -> torch.Tensor:
        # torch's ChannelShuffle wants an image; on features, the same interleaving
        return x.view(BATCH, o["groups"], -1).transpose(1, 2).reshape(BATCH, -1)

    return Trial("channel_shuffle", o, [shape], lambda: _Lambda(features))


def _merge(name: str, f: Callable[..., torch.Tensor]) -> Callable[[random.Random], Trial]:
    def gen(r: random.Random) -> Trial:
        a = _shape(r)
        b = (
            a
            if r.random() < 0.5
            else ((r.choice([1, 2, 3]), *a[1:]) if r.random() < 0.6 else _shape(r))
        )
        if r.random() < 0.2 and len(a) == 3:
            b = (a[0], 1, 1)  # broadcasting: mul (a gate) allows it
        return Trial(name, {"from": ["a", "b"]}, [a, b], lambda: _Lambda(f))

    return gen


def _activation(name: str) -> Callable[[random.Random], Trial]:
    """Activations: random values for each option their spec has, torch's class from the name."""
    classes = {
        "relu": nn.ReLU, "relu6": nn.ReLU6, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU,
        "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU, "silu": nn.SiLU,
        "hardswish": nn.Hardswish, "mish": nn.Mish, "softmax": nn.Softmax,
        "log_softmax": nn.LogSoftmax, "hardsigmoid": nn.Hardsigmoid, "prelu": nn.PReLU,
        "softplus": nn.Softplus, "hardtanh": nn.Hardtanh, "selu": nn.SELU, "celu": nn.CELU,
        "softsign": nn.Softsign, "tanhshrink": nn.Tanhshrink, "logsigmoid": nn.LogSigmoid,
        "hardshrink": nn.Hardshrink, "softshrink": nn.Softshrink,
    }  # fmt: skip
    values: dict[str, list[Any]] = {
        "inplace": [True, False],
        "negative_slope": [0.0, 0.01, -1.0, 3.0],
        "alpha": [0.5, 1.0, 2.0],
        "approximate": ["none", "tanh"],
        "dim": [-5, -4, -3, -2, -1, 0, 1, 2, 3, 4],
        "init": [0.0, 0.25, -1.0],
        "beta": [0.5, 1.0, 2.0],
        "threshold": [-1.0, 0.0, 20.0],
        "min_val": [-2.0, -1.0, 0.0, 1.0],
        "max_val": [-1.0, 0.0, 1.0, 6.0],
        "lambd": [0.0, 0.5, 2.0],
    }

    def gen(r: random.Random) -> Trial:
        shape = _shape(r)
        o: dict[str, Any] = {}
        kind = next(k for k in all_kinds() if k.name == name)
        for field in kind.Options.model_fields:
            if field == "channels":
                _maybe(r, o, "channels", r.random() < 0.5)
            elif field in values:
                _maybe(r, o, field, r.choice(values[field]))

        def reference() -> nn.Module:
            cls = classes[name]
            if name == "prelu":
                return nn.PReLU(shape[0] if o.get("channels") else 1, o.get("init", 0.25))
            if name == "gelu":
                return nn.GELU(o.get("approximate", "none"))
            return cls(**{k: v for k, v in o.items()})

        return Trial(name, o, [shape], reference)

    return gen


def gen_flatten(r: random.Random) -> Trial:
    return Trial("flatten", {}, [_shape(r)], nn.Flatten)


def gen_dropout(r: random.Random) -> Trial:
    o = {"p": r.choice([0.0, 0.5, 1.0])}
    return Trial("dropout", o, [_shape(r)], lambda: nn.Dropout(o["p"]))


def gen_drop_path(r: random.Random) -> Trial:
    from torchvision.ops import StochasticDepth

    o = {"p": r.choice([0.0, 0.2, 1.0])}
    return Trial("drop_path", o, [_shape(r)], lambda: StochasticDepth(o["p"], "row"))


def gen_identity(r: random.Random) -> Trial:
    return Trial("identity", {}, [_shape(r)], nn.Identity)


def _leaf(r: random.Random, channels: int) -> tuple[dict[str, Any], Callable[[int], nn.Module]]:
    """A random conv or pool for inside a composite: its entry, and its reference by in-channels."""
    if r.random() < 0.6:
        out, k, s, p = r.choice([1, 2, 4]), r.randint(1, 3), r.randint(1, 2), r.randint(0, 2)
        entry = {"conv": {"out": out, "kernel": k, "stride": s, "padding": p}}
        return entry, lambda c: nn.Conv2d(c, out, k, s, p)
    k, s = r.randint(1, 3), r.randint(1, 2)
    return {"pool": {"kernel": k, "stride": s}}, lambda c: nn.MaxPool2d(k, s)


def _chain(r: random.Random, shape: tuple[int, ...]) -> tuple[list[Any], Callable[[], nn.Module]]:
    entries, makers = [], []
    for _ in range(r.randint(1, 3)):
        entry, make = _leaf(r, shape[0])
        entries.append(entry)
        makers.append(make)

    def reference() -> nn.Module:
        layers: list[nn.Module] = []
        c = shape[0]
        for make in makers:
            layer = make(c)
            layers.append(layer)
            c = layer.out_channels if isinstance(layer, nn.Conv2d) else c
        return nn.Sequential(*layers)

    return entries, reference


def gen_group(r: random.Random) -> Trial:
    shape = _image(r)
    entries, reference = _chain(r, shape)
    return Trial("group", {"layers": entries}, [shape], reference)


def gen_repeat(r: random.Random) -> Trial:
    shape = _image(r)
    times = r.randint(1, 3)
    entry, make = _leaf(r, shape[0])

    def reference() -> nn.Module:
        layers, c = [], shape[0]
        for _ in range(times):
            layer = make(c)
            layers.append(layer)
            c = layer.out_channels if isinstance(layer, nn.Conv2d) else c
        return nn.Sequential(*layers)

    return Trial("repeat", {"times": times, "body": [entry]}, [shape], reference)


def gen_residual(r: random.Random) -> Trial:
    shape = _image(r)
    entries, body = _chain(r, shape)
    return Trial(
        "residual",
        {"body": entries, "shortcut": "identity"},
        [shape],
        lambda: _Residual(body()),  # no projection: the shapes must agree
    )


class _Residual(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def gen_inception(r: random.Random) -> Trial:
    shape = _image(r)
    chains = [_chain(r, shape) for _ in range(r.randint(1, 3))]

    def reference() -> nn.Module:
        module = _Lambda(lambda x: torch.cat([b(x) for b in module.branches], 1))
        module.branches = nn.ModuleList(make() for _, make in chains)
        return module

    return Trial("inception", {"branches": [e for e, _ in chains]}, [shape], reference)


# layouts (issue 20)


def _tensor(r: random.Random) -> tuple[int, ...]:
    return tuple(r.choice([1, 2, 3, 4, 6]) for _ in range(r.randint(1, 4)))


def _axis(r: random.Random, rank: int) -> int:
    return r.randint(-rank - 1, rank)  # one past each end: an error on both sides


def gen_reshape(r: random.Random) -> Trial:
    shape = _tensor(r)
    n = math.prod(shape)
    sizes = [d for d in range(1, n + 1) if n % d == 0]
    target = [r.choice(sizes) for _ in range(r.randint(1, 3))]
    if r.random() < 0.6:
        target[r.randrange(len(target))] = -1
    if r.random() < 0.1:
        target.append(r.choice([0, -2, 5]))
    o = {"shape": target}
    return Trial("reshape", o, [shape], lambda: _Lambda(lambda x: x.reshape(x.shape[0], *target)))


def gen_permute(r: random.Random) -> Trial:
    shape = _tensor(r)
    order = list(range(len(shape)))
    r.shuffle(order)
    order = [a - len(shape) if r.random() < 0.3 else a for a in order]
    if r.random() < 0.15:
        order[0] = order[-1]  # not a permutation
    o = {"axes": order}
    torch_order = [0, *(a + 1 if a >= 0 else a for a in order)]
    return Trial("permute", o, [shape], lambda: _Lambda(lambda x: x.permute(torch_order)))


def gen_transpose(r: random.Random) -> Trial:
    shape = _tensor(r)
    a, b = _axis(r, len(shape)), _axis(r, len(shape))
    o = {"axes": [a, b]}
    ta, tb = (v + 1 if v >= 0 else v for v in (a, b))
    # torch swaps an axis with itself; netspec refuses it (DELIBERATE: "names axis")
    return Trial("transpose", o, [shape], lambda: _Lambda(lambda x: x.transpose(ta, tb)))


def gen_flatten_between(r: random.Random) -> Trial:
    shape = _tensor(r)
    o = {"start": _axis(r, len(shape)), "end": _axis(r, len(shape))}
    s, e = (v + 1 if v >= 0 else v for v in (o["start"], o["end"]))
    return Trial("flatten", o, [shape], lambda: nn.Flatten(s, e))


def gen_select(r: random.Random) -> Trial:
    shape = _tensor(r)
    axis = _axis(r, len(shape))
    size = shape[axis] if -len(shape) <= axis < len(shape) else 1
    o = {"axis": axis, "index": r.randint(-size - 1, size)}
    t = axis + 1 if axis >= 0 else axis
    return Trial("select", o, [shape], lambda: _Lambda(lambda x: x.select(t, o["index"])))


def gen_strided_slice(r: random.Random) -> Trial:
    shape = _tensor(r)
    axis = _axis(r, len(shape))
    size = shape[axis] if -len(shape) <= axis < len(shape) else 1
    o: dict[str, Any] = {"axis": axis}
    _maybe(r, o, "start", r.randint(-size - 1, size + 1))
    _maybe(r, o, "end", r.randint(-size - 1, size + 1))
    _maybe(r, o, "step", r.randint(1, 3))
    t = axis + 1 if axis >= 0 else axis

    def reference() -> nn.Module:
        part = slice(o.get("start", 0), o.get("end"), o.get("step", 1))
        return _Lambda(lambda x: x.transpose(t, -1)[..., part].transpose(t, -1))

    return Trial("strided_slice", o, [shape], reference)


def gen_pixel_unshuffle(r: random.Random) -> Trial:
    o = {"factor": r.randint(1, 3)}
    return Trial("pixel_unshuffle", o, [_image(r)], lambda: nn.PixelUnshuffle(o["factor"]))


def gen_roll(r: random.Random) -> Trial:
    shape = _tensor(r)
    axes = [_axis(r, len(shape)) for _ in range(r.randint(1, 2))]
    shifts = [r.randint(-5, 5) for _ in range(len(axes) if r.random() < 0.9 else 3)]
    o = {"shifts": shifts, "axes": axes}
    t = [a + 1 if a >= 0 else a for a in axes]
    return Trial("roll", o, [shape], lambda: _Lambda(lambda x: torch.roll(x, shifts, t)))


def gen_pad(r: random.Random) -> Trial:
    shape = _tensor(r)
    rank = len(shape) if r.random() < 0.9 else len(shape) + 1
    amounts = [[r.randint(0, 2), r.randint(0, 2)] for _ in range(rank)]
    o = {"amounts": amounts, "value": r.choice([0.0, 1.5])}
    flat = [n for pair in reversed(amounts) for n in pair]
    return Trial("pad", o, [shape], lambda: _Lambda(lambda x: F.pad(x, flat, value=o["value"])))


def gen_matmul(r: random.Random) -> Trial:
    """Two batched tensors of 2 to 4 axes, their last two matrices; batch axes broadcast."""
    rank = r.randint(2, 4)
    rows, inner, cols = (r.choice([1, 2, 3, 5]) for _ in range(3))
    batch = tuple(r.choice([1, 2, 3]) for _ in range(rank - 2))
    other = tuple(d if r.random() < 0.7 else r.choice([1, d, 2]) for d in batch)
    transpose = r.random() < 0.5
    a = (*batch, rows, inner)
    b = (*other, cols, inner) if transpose else (*other, inner, cols)
    if r.random() < 0.15:  # inner sizes that disagree
        b = (*b[:-1], b[-1] + 1) if transpose else (*b[:-2], b[-2] + 1, b[-1])
    o = {"from": ["a", "b"], "transpose": transpose}

    def product(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, y.transpose(-2, -1) if transpose else y)

    return Trial("matmul", o, [a, b], lambda: _Lambda(product))


def gen_scale(r: random.Random) -> Trial:
    o = {"by": r.choice([0.125, -2.0, 0.0, 1.0])}
    return Trial("scale", o, [_shape(r)], lambda: _Lambda(lambda x: x * o["by"]))


def gen_flatten_any(r: random.Random) -> Trial:
    """Plain flatten, or between two axes."""
    return gen_flatten(r) if r.random() < 0.5 else gen_flatten_between(r)


GENERATORS: dict[str, Callable[[random.Random], Trial]] = {
    "conv": gen_conv,
    "conv_transpose": gen_conv_transpose,
    "pool": gen_pool,
    "upsample": gen_upsample,
    "linear": gen_linear,
    "batchnorm": gen_batchnorm,
    "groupnorm": gen_groupnorm,
    "instancenorm": gen_instancenorm,
    "attention": gen_attention,
    "layernorm": gen_layernorm,
    "slice": gen_slice,
    "split": gen_split,
    "channel_shuffle": gen_channel_shuffle,
    "concat": _merge("concat", lambda a, b: torch.cat([a, b], 1)),
    "add": _merge("add", lambda a, b: a + b),
    "mul": _merge("mul", lambda a, b: a * b),
    "flatten": gen_flatten_any,
    "reshape": gen_reshape,
    "permute": gen_permute,
    "transpose": gen_transpose,
    "select": gen_select,
    "strided_slice": gen_strided_slice,
    "pixel_unshuffle": gen_pixel_unshuffle,
    "roll": gen_roll,
    "pad": gen_pad,
    "matmul": gen_matmul,
    "scale": gen_scale,
    "dropout": gen_dropout,
    "drop_path": gen_drop_path,
    "identity": gen_identity,
    "group": gen_group,
    "repeat": gen_repeat,
    "residual": gen_residual,
    "inception": gen_inception,
}
for _kind in all_kinds():
    if _kind.family.value == "activation":
        GENERATORS[_kind.name] = _activation(_kind.name)


# running a trial


def spec_text(trial: Trial) -> str:
    """A one-layer spec (JSON is YAML)."""
    if len(trial.inputs) == 1:
        head: dict[str, Any] = {"input": list(trial.inputs[0])}
    else:
        head = {"inputs": {n: list(s) for n, s in zip("ab", trial.inputs, strict=False)}}
    return json.dumps({"name": "trial", **head, "layers": [{trial.kind: trial.options}]})


def _counts(module: nn.Module) -> tuple[int, int]:
    return (
        sum(p.numel() for p in module.parameters()),
        sum(b.numel() for b in module.buffers()),
    )


def _shapes(out: Any) -> list[tuple[int, ...]]:
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    return [tuple(t.shape[1:]) for t in outs]


#: the batch of every forward pass, as netspec build's own (a norm needs two values to work on)
BATCH = 2


def run_torch(trial: Trial) -> Outcome:
    try:
        module = trial.reference().eval()
        with torch.no_grad():
            out = module(*(torch.zeros(BATCH, *s) for s in trial.inputs))
    except Exception as e:
        return Outcome(None, error=f"{type(e).__name__}: {str(e).splitlines()[0][:200]}")
    return Outcome(_shapes(out), *_counts(module))


def run_netspec(trial: Trial) -> tuple[Outcome, str]:
    """netspec's verdict, and whether its own build runs (an error text, or "")."""
    try:
        spec = netspec.loads(spec_text(trial))
        checked = spec.checked
    except NetspecError as e:
        return Outcome(None, error=str(e).splitlines()[0]), ""
    layer = checked.children[0]
    shapes = [v.shape.dims for v in layer.results]
    outcome = Outcome(shapes, layer.params, layer.buffers)
    try:
        module = spec.build(max_bytes=10**9).eval()
        with torch.no_grad():
            got = module(*(torch.zeros(BATCH, *s) for s in trial.inputs))
    except Exception as e:
        return outcome, f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    if _shapes(got)[0] != shapes[0]:
        return outcome, f"netspec's module gives {_shapes(got)[0]}, its check {shapes[0]}"
    return outcome, ""


def deliberate(message: str) -> str:
    """The listed reason netspec refuses this on purpose, or ""."""
    return next((why for pattern, why in DELIBERATE.items() if re.search(pattern, message)), "")


def compare(trial: Trial) -> tuple[str, str]:
    """(outcome class, disagreement text or "")."""
    ours, built = run_netspec(trial)
    theirs = run_torch(trial)
    where = f"{trial.kind} {trial.options} on {trial.inputs}"
    if ours.shapes is None and theirs.shapes is None:
        return "both refuse", ""
    if ours.shapes is None:
        if deliberate(ours.error):
            return "deliberate refusal", ""
        return "disagree", f"netspec refuses what torch runs: {where}: {ours.error}"
    if theirs.shapes is None:
        return "disagree", f"netspec accepts what torch refuses: {where}: {theirs.error}"
    if built:
        return "disagree", f"netspec's build fails: {where}: {built}"
    if trial.kind == "split":
        theirs.shapes = theirs.shapes  # every part
    else:
        theirs.shapes = theirs.shapes[:1]
    if ours.shapes != theirs.shapes:
        return "disagree", f"shapes: {where}: netspec {ours.shapes}, torch {theirs.shapes}"
    if (ours.params, ours.buffers) != (theirs.params, theirs.buffers):
        return "disagree", (
            f"counts: {where}: netspec {ours.params} params {ours.buffers} buffers, "
            f"torch {theirs.params} params {theirs.buffers} buffers"
        )
    return "both accept", ""


def campaign(cases: int, seed: int) -> tuple[Counter[str], list[str], Counter[str]]:
    kinds = sorted(GENERATORS)
    outcomes: Counter[str] = Counter()
    per_kind: Counter[str] = Counter()
    found: list[str] = []
    r = random.Random(seed)
    for i in range(cases):
        kind = kinds[i % len(kinds)]
        trial = GENERATORS[kind](r)
        outcome, text = compare(trial)
        outcomes[outcome] += 1
        per_kind[kind] += 1
        if text:
            found.append(text)
    return outcomes, found, per_kind


#: kinds a one-layer trial cannot hold: a parameter or buffer reads nothing, and is read by
#: name; a call runs an earlier layer's module again; gather reads a parameter and a buffer
#: (tests/test_tensors.py, test_shared_modules.py, test_matmul.py and test_shapes' examples
#: compare them with torch)
READ_BY_NAME = {"parameter", "buffer", "call", "gather"}


def test_every_kind_has_a_generator():
    assert sorted(k.name for k in all_kinds()) == sorted([*GENERATORS, *READ_BY_NAME])


@pytest.mark.slow
def test_the_static_check_equals_torch():
    outcomes, found, _ = campaign(cases=660, seed=11)
    assert not found, "\n".join(found[:20])
    # the trials reach both sides of every rule
    assert outcomes["both accept"] > 100 and outcomes["both refuse"] > 20


@pytest.mark.fuzz
def test_differential_campaign():
    start = time.perf_counter()
    outcomes, found, per_kind = campaign(cases=11_000, seed=2026)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        f"\ncases {sum(outcomes.values())}, kinds {len(per_kind)}, outcomes {dict(outcomes)}, "
        f"disagreements {len(found)}, {seconds:.0f} s, peak {peak / 1e6:.0f} MB"
    )
    for text in found[:50]:
        print(text)
    assert not found
    assert math.isfinite(seconds)
