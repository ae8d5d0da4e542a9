"""Three mobile networks written by hand in plain PyTorch, laid out exactly as torchvision's.

``efficientnet_b0``, ``mobilenet_v2`` and ``mobilenet_v3_small`` have the same submodule names as
torchvision 0.29's models of the same name, so their ``state_dict`` keys and shapes (in order),
their parameter counts and, with the weights copied over, their eval-mode outputs are the same.
The key lists they are tested against are ``tests/data/torchvision/*.txt``, copies of the
project's shared reference (``tests/test_reference_mobile.py``).

Written from the published architectures (EfficientNet: Tan & Le 2019, table 1; MobileNetV2:
Sandler et al. 2018, table 2; MobileNetV3: Howard et al. 2019, table 2) and torchvision's
naming, layer settings and initialisation; no code is copied. Nothing here imports netspec.

BatchNorm settings, as torchvision sets them:

* EfficientNet-B0 and MobileNetV2: PyTorch's defaults, eps 1e-5 and momentum 0.1 (torchvision
  passes eps 1e-3 / momentum 0.01 only to B5-B7, and eps 1e-3 to the V2 EfficientNets);
* MobileNetV3: eps 1e-3, momentum 0.01.

Activations are not in-place here (torchvision's mostly are); the values computed are the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

ModuleFactory = Callable[[], nn.Module]
NormFactory = Callable[[int], nn.Module]

# EfficientNet-B0 stages (paper table 1, stages 2-8):
# (expand ratio, kernel, stride, in channels, out channels, blocks)
EFFICIENTNET_B0_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)

# MobileNetV2 bottleneck stages (paper table 2): (expand ratio t, out channels c, blocks n,
# stride s)
MOBILENET_V2_STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

# MobileNetV3-Small bneck rows (paper table 2), one per block:
# (in channels, kernel, expanded channels, out channels, squeeze-excitation, hardswish, stride)
MOBILENET_V3_SMALL_BLOCKS: tuple[tuple[int, int, int, int, bool, bool, int], ...] = (
    (16, 3, 16, 16, True, False, 2),
    (16, 3, 72, 24, False, False, 2),
    (24, 3, 88, 24, False, False, 1),
    (24, 5, 96, 40, True, True, 2),
    (40, 5, 240, 40, True, True, 1),
    (40, 5, 240, 40, True, True, 1),
    (40, 5, 120, 48, True, True, 1),
    (48, 5, 144, 48, True, True, 1),
    (48, 5, 288, 96, True, True, 2),
    (96, 5, 576, 96, True, True, 1),
    (96, 5, 576, 96, True, True, 1),
)


def make_divisible(value: float, divisor: int, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (at least ``min_value``, which
    defaults to ``divisor``), going up one step if that would lose more than 10%.

    >>> make_divisible(60, 8), make_divisible(18, 8), make_divisible(3, 8)
    (64, 24, 8)
    """
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def bn_default(channels: int) -> nn.Module:
    """PyTorch's default BatchNorm (eps 1e-5, momentum 0.1), used by EfficientNet-B0 and V2."""
    return nn.BatchNorm2d(channels)


def bn_mobilenet_v3(channels: int) -> nn.Module:
    """MobileNetV3's BatchNorm: eps 1e-3, momentum 0.01."""
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


def conv_norm_act(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    norm: NormFactory,
    activation: ModuleFactory | None,
    stride: int = 1,
    groups: int = 1,
) -> nn.Sequential:
    """Convolution without bias ("same" padding for odd kernels), BatchNorm, then the activation
    if there is one: torchvision's ``Conv2dNormActivation``, children ``0``, ``1`` (and ``2``)."""
    layers: list[nn.Module] = [
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=(kernel_size - 1) // 2,
            groups=groups,
            bias=False,
        ),
        norm(out_channels),
    ]
    if activation is not None:
        layers.append(activation())
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation: each channel of the input is scaled by a gate computed from the
    global average of all channels (average pool, 1×1 conv down, activation, 1×1 conv up, gate).
    """

    def __init__(
        self,
        channels: int,
        squeeze_channels: int,
        activation: ModuleFactory = nn.ReLU,
        scale_activation: ModuleFactory = nn.Sigmoid,
    ) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, kernel_size=1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, kernel_size=1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale: torch.Tensor = self.avgpool(x)
        scale = self.fc2(self.activation(self.fc1(scale)))
        gate: torch.Tensor = self.scale_activation(scale)
        return x * gate


class StochasticDepth(nn.Module):
    """Stochastic depth in "row" mode: in training, drop the whole residual branch of each sample
    with probability ``p`` and scale the kept ones by ``1 / (1 - p)``; in eval, the identity."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        keep = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device)
        keep.bernoulli_(survival)
        if survival > 0.0:
            keep.div_(survival)
        return x * keep


class MBConv(nn.Module):
    """EfficientNet's mobile inverted bottleneck: 1×1 expansion (skipped when the expand ratio
    is 1), depthwise k×k, squeeze-excitation, 1×1 projection without activation; SiLU throughout.
    The input is added back (after stochastic depth) when the stride is 1 and the channels match.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand_ratio: int,
        kernel_size: int,
        stride: int,
        stochastic_depth_prob: float,
        norm: NormFactory = bn_default,
    ) -> None:
        super().__init__()
        self.use_residual = stride == 1 and in_channels == out_channels
        expanded = make_divisible(in_channels * expand_ratio, 8)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(conv_norm_act(in_channels, expanded, 1, norm, nn.SiLU))
        layers.append(
            conv_norm_act(expanded, expanded, kernel_size, norm, nn.SiLU, stride, groups=expanded)
        )
        # EfficientNet squeezes to a quarter of the block's *input* channels, not the expanded ones
        layers.append(SqueezeExcitation(expanded, max(1, in_channels // 4), activation=nn.SiLU))
        layers.append(conv_norm_act(expanded, out_channels, 1, norm, None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.block(x)
        if self.use_residual:
            out = self.stochastic_depth(out) + x
        return out


class InvertedResidual(nn.Module):
    """MobileNetV2's inverted residual: 1×1 expansion with ReLU6 (only when the expand ratio is
    not 1), depthwise 3×3 with ReLU6, then a linear 1×1 projection and BatchNorm. The input is
    added back when the stride is 1 and the channels match."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        self.use_residual = stride == 1 and in_channels == out_channels
        hidden = round(in_channels * expand_ratio)
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(conv_norm_act(in_channels, hidden, 1, bn_default, nn.ReLU6))
        layers += [
            conv_norm_act(hidden, hidden, 3, bn_default, nn.ReLU6, stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.conv(x)
        return x + out if self.use_residual else out


class InvertedResidualV3(nn.Module):
    """MobileNetV3's bneck: 1×1 expansion (only when the expanded width differs from the input),
    depthwise k×k, optional squeeze-excitation (ReLU inside, hard-sigmoid gate, squeezed to
    ``make_divisible(expanded // 4, 8)``), then a linear 1×1 projection. ReLU or hardswish as
    the row says; the input is added back when the stride is 1 and the channels match."""

    def __init__(
        self,
        in_channels: int,
        kernel_size: int,
        expanded: int,
        out_channels: int,
        use_se: bool,
        use_hardswish: bool,
        stride: int,
    ) -> None:
        super().__init__()
        self.use_residual = stride == 1 and in_channels == out_channels
        act: ModuleFactory = nn.Hardswish if use_hardswish else nn.ReLU
        norm = bn_mobilenet_v3
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(conv_norm_act(in_channels, expanded, 1, norm, act))
        layers.append(conv_norm_act(expanded, expanded, kernel_size, norm, act, stride, expanded))
        if use_se:
            squeeze = make_divisible(expanded // 4, 8)
            layers.append(SqueezeExcitation(expanded, squeeze, scale_activation=nn.Hardsigmoid))
        layers.append(conv_norm_act(expanded, out_channels, 1, norm, None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.block(x)
        if self.use_residual:
            out = out + x
        return out


def init_like_torchvision(model: nn.Module, linear: str) -> None:
    """torchvision's initialisation for these three networks: convolutions Kaiming-normal
    (fan-out) with zero bias, BatchNorm weight 1 and bias 0; linear layers either
    ``"normal"`` (N(0, 0.01), MobileNets) or ``"uniform"`` (U(±1/√out_features), EfficientNet),
    with zero bias."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            if linear == "uniform":
                bound = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -bound, bound)
            else:
                nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)


class EfficientNet(nn.Module):
    """EfficientNet-B0: ``features`` (stem, seven MBConv stages, 1×1 head conv), ``avgpool``,
    ``classifier`` (dropout, linear)."""

    def __init__(self, num_classes: int = 1000, stochastic_depth_prob: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_norm_act(3, 32, 3, bn_default, nn.SiLU, stride=2)]
        total_blocks = sum(stage[-1] for stage in EFFICIENTNET_B0_STAGES)
        block_index = 0
        for expand, kernel, stride, in_ch, out_ch, blocks in EFFICIENTNET_B0_STAGES:
            stage: list[nn.Module] = []
            for i in range(blocks):
                # the drop probability grows linearly with depth, from 0 for the first block
                p = stochastic_depth_prob * block_index / total_blocks
                block_in, block_stride = (in_ch, stride) if i == 0 else (out_ch, 1)
                stage.append(MBConv(block_in, out_ch, expand, kernel, block_stride, p))
                block_index += 1
            layers.append(nn.Sequential(*stage))
        layers.append(conv_norm_act(320, 1280, 1, bn_default, nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))
        init_like_torchvision(self, linear="uniform")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        logits: torch.Tensor = self.classifier(torch.flatten(x, 1))
        return logits


class MobileNetV2(nn.Module):
    """MobileNetV2: ``features`` (stem, 17 inverted residuals, 1×1 conv to 1280) and
    ``classifier``; the global average pool is a function call, not a module."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_norm_act(3, 32, 3, bn_default, nn.ReLU6, stride=2)]
        in_ch = 32
        for expand, out_ch, blocks, stride in MOBILENET_V2_STAGES:
            for i in range(blocks):
                layers.append(InvertedResidual(in_ch, out_ch, stride if i == 0 else 1, expand))
                in_ch = out_ch
        layers.append(conv_norm_act(in_ch, 1280, 1, bn_default, nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))
        init_like_torchvision(self, linear="normal")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        logits: torch.Tensor = self.classifier(torch.flatten(x, 1))
        return logits


class MobileNetV3(nn.Module):
    """MobileNetV3-Small: ``features`` (hardswish stem, 11 bnecks, 1×1 conv to 576), ``avgpool``,
    ``classifier`` (linear to 1024, hardswish, dropout, linear)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_norm_act(3, 16, 3, bn_mobilenet_v3, nn.Hardswish, 2)]
        layers += [InvertedResidualV3(*row) for row in MOBILENET_V3_SMALL_BLOCKS]
        layers.append(conv_norm_act(96, 576, 1, bn_mobilenet_v3, nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(576, 1024),
            nn.Hardswish(),
            nn.Dropout(0.2),
            nn.Linear(1024, num_classes),
        )
        init_like_torchvision(self, linear="normal")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        logits: torch.Tensor = self.classifier(torch.flatten(x, 1))
        return logits


def efficientnet_b0(num_classes: int = 1000) -> EfficientNet:
    """EfficientNet-B0 as torchvision builds it (5,288,548 parameters with 1000 classes).

    >>> efficientnet_b0().eval()(torch.zeros(1, 3, 224, 224)).shape
    torch.Size([1, 1000])
    """
    return EfficientNet(num_classes)


def mobilenet_v2(num_classes: int = 1000) -> MobileNetV2:
    """MobileNetV2 (width 1.0) as torchvision builds it (3,504,872 parameters with 1000 classes).

    >>> mobilenet_v2().eval()(torch.zeros(1, 3, 224, 224)).shape
    torch.Size([1, 1000])
    """
    return MobileNetV2(num_classes)


def mobilenet_v3_small(num_classes: int = 1000) -> MobileNetV3:
    """MobileNetV3-Small as torchvision builds it (2,542,856 parameters with 1000 classes).

    >>> mobilenet_v3_small().eval()(torch.zeros(1, 3, 224, 224)).shape
    torch.Size([1, 1000])
    """
    return MobileNetV3(num_classes)
