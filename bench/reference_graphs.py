"""Five graph-shaped networks (skips, branches, concatenations, several outputs) written by hand in
plain PyTorch.

They are references for specs whose data flow is not a plain chain: U-Net's skip concatenations,
SqueezeNet's Fire modules, ShuffleNet V2's split and channel shuffle, DenseNet's growing
concatenation and a ResNet-50 with a Feature Pyramid Network on top.

The four torchvision networks reproduce torchvision 0.29.1's module layout: the same
``state_dict`` keys with the same shapes in the same order, so its checkpoints load with
``load_state_dict``, and the same computation in ``forward``. The key lists they are tested
against, measured from torchvision, are in ``tests/data/torchvision/*.txt``, shared with the
zoo's specs (``tests/test_reference_graphs.py``); tests/test_torchvision.py compares the
specs' outputs with torchvision's own models. The code is written from the published
architectures (the papers' configurations and torchvision's module names), not copied. U-Net
has no external key list; its layout is stated in :func:`unet`. Nothing here imports netspec.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F

# --------------------------------------------------------------------------------------------
# U-Net (Ronneberger, Fischer and Brox 2015), with batch norm and same-padding as usually
# written in PyTorch
# --------------------------------------------------------------------------------------------


def double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two (3×3 convolution with padding 1 and no bias, batch norm, ReLU); keys ``0`` (conv),
    ``1`` (norm), ``3`` (conv), ``4`` (norm)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )


class UNetLevel(nn.Module):
    """One level of the U: ``encode`` at this resolution, ``down`` (2×2 max pool), the ``inner``
    levels at half the resolution, ``up`` (2×2 transposed convolution, stride 2, halving the
    channels), then ``decode`` of the concatenation (skip first, upsampled second).

    ``inner`` is another ``UNetLevel`` while ``depth > 1``; at ``depth == 1`` it is the bottom,
    a plain :func:`double_conv` to ``2 * channels``.
    """

    def __init__(self, in_channels: int, channels: int, depth: int) -> None:
        super().__init__()
        self.encode = double_conv(in_channels, channels)
        self.down = nn.MaxPool2d(kernel_size=2, stride=2)
        self.inner: nn.Module
        if depth > 1:
            self.inner = UNetLevel(channels, 2 * channels, depth - 1)
        else:
            self.inner = double_conv(channels, 2 * channels)
        self.up = nn.ConvTranspose2d(2 * channels, channels, kernel_size=2, stride=2)
        self.decode = double_conv(2 * channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.encode(x)
        below = self.up(self.inner(self.down(skip)))
        out: torch.Tensor = self.decode(torch.cat((skip, below), dim=1))
        return out


class UNet(nn.Module):
    """The whole U: the outermost ``level`` and the 1×1 ``head`` convolution (with bias)."""

    def __init__(self, in_channels: int, num_classes: int, base: int, depth: int) -> None:
        super().__init__()
        self.level = UNetLevel(in_channels, base, depth)
        self.head = nn.Conv2d(base, num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(self.level(x))
        return logits


def unet(in_channels: int = 3, num_classes: int = 2, base: int = 64, depth: int = 4) -> UNet:
    """The classic U-Net: ``depth`` poolings, widths ``base · 2^k`` (64 → 128 → 256 → 512 → 1024).

    Key layout (depth 4), recursive in ``inner``::

        level.encode.{0,3}.weight, level.encode.{1,4}.{weight,bias,running_*,...}   3 → 64
        level.inner.encode...                                                        64 → 128
        level.inner.inner.inner.encode...                                            256 → 512
        level.inner.inner.inner.inner.{0,1,3,4}...   (the bottom double conv)        512 → 1024
        level.inner.inner.inner.up.{weight,bias}     (ConvTranspose2d 1024 → 512)
        level.inner.inner.inner.decode...            (1024 → 512)
        ...
        level.up, level.decode                                                       128 → 64
        head.{weight,bias}                                                           64 → classes

    Within a level the order is ``encode, down, inner, up, decode`` (``down`` has no
    parameters). The input's height and width must be divisible by ``2^depth``; the output is
    ``num_classes × H × W``. With the defaults: 31,037,698 parameters.

    >>> unet()(torch.zeros(1, 3, 64, 64)).shape
    torch.Size([1, 2, 64, 64])
    """
    return UNet(in_channels, num_classes, base, depth)


# --------------------------------------------------------------------------------------------
# SqueezeNet 1.0 (Iandola et al. 2016), torchvision layout
# --------------------------------------------------------------------------------------------


class Fire(nn.Module):
    """A 1×1 ``squeeze`` convolution, then ``expand1x1`` and ``expand3x3`` side by side on its
    output, concatenated (1×1 first); every convolution has a bias and is followed by a ReLU."""

    def __init__(self, in_channels: int, squeeze: int, expand1x1: int, expand3x3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(in_channels, squeeze, kernel_size=1)
        self.squeeze_activation = nn.ReLU()
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, kernel_size=1)
        self.expand1x1_activation = nn.ReLU()
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze_activation(self.squeeze(x))
        return torch.cat(
            (
                self.expand1x1_activation(self.expand1x1(s)),
                self.expand3x3_activation(self.expand3x3(s)),
            ),
            dim=1,
        )


class SqueezeNet(nn.Module):
    """``features`` and ``classifier`` as two Sequentials; ``forward`` flattens at the end."""

    def __init__(self, features: nn.Sequential, classifier: nn.Sequential) -> None:
        super().__init__()
        self.features = features
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


def squeezenet1_0(num_classes: int = 1000) -> SqueezeNet:
    """SqueezeNet 1.0: a 7×7/2 convolution, eight Fire modules with three 3×3/2 max pools
    (``ceil_mode=True``) between them, then dropout, a 1×1 convolution to the classes, ReLU and
    global average pooling. Fire modules sit at ``features.{3,4,5,7,8,9,10,12}``. 1,248,424
    parameters; 3×224×224 input.
    """

    def pool() -> nn.MaxPool2d:
        return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)

    features = nn.Sequential(
        nn.Conv2d(3, 96, kernel_size=7, stride=2),
        nn.ReLU(),
        pool(),
        Fire(96, 16, 64, 64),
        Fire(128, 16, 64, 64),
        Fire(128, 32, 128, 128),
        pool(),
        Fire(256, 32, 128, 128),
        Fire(256, 48, 192, 192),
        Fire(384, 48, 192, 192),
        Fire(384, 64, 256, 256),
        pool(),
        Fire(512, 64, 256, 256),
    )
    classifier = nn.Sequential(
        nn.Dropout(p=0.5),
        nn.Conv2d(512, num_classes, kernel_size=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)),
    )
    return SqueezeNet(features, classifier)


# --------------------------------------------------------------------------------------------
# ShuffleNet V2 1.0× (Ma et al. 2018), torchvision layout
# --------------------------------------------------------------------------------------------


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups: (g, c/g) → (c/g, g)."""
    batch, channels, height, width = x.shape
    x = x.view(batch, groups, channels // groups, height, width).transpose(1, 2)
    return x.reshape(batch, channels, height, width)


def conv_bn(
    in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1
) -> list[nn.Module]:
    """A convolution without bias (padding ``kernel // 2``) and its batch norm."""
    return [
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size=kernel,
            stride=stride,
            padding=kernel // 2,
            groups=groups,
            bias=False,
        ),
        nn.BatchNorm2d(out_channels),
    ]


class ShuffleUnit(nn.Module):
    """ShuffleNet V2's unit (torchvision's ``InvertedResidual``).

    Stride 2: both ``branch1`` (depthwise 3×3/2, BN, 1×1, BN, ReLU) and ``branch2`` see the whole
    input. Stride 1: the input is split in two channel halves, the first passes unchanged and
    ``branch2`` (1×1, BN, ReLU, depthwise 3×3, BN, 1×1, BN, ReLU) takes the second. Either way the
    two halves are concatenated and shuffled with 2 groups.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        half = out_channels // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                *conv_bn(in_channels, in_channels, 3, stride, groups=in_channels),
                *conv_bn(in_channels, half, 1),
                nn.ReLU(),
            )
        branch2_in = in_channels if stride > 1 else half
        self.branch2 = nn.Sequential(
            *conv_bn(branch2_in, half, 1),
            nn.ReLU(),
            *conv_bn(half, half, 3, stride, groups=half),
            *conv_bn(half, half, 1),
            nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            kept, processed = x.chunk(2, dim=1)
            out = torch.cat((kept, self.branch2(processed)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """Stem ``conv1`` and ``maxpool``, ``stage2..stage4``, ``conv5``, global mean, ``fc``."""

    def __init__(
        self, repeats: tuple[int, int, int], widths: tuple[int, int, int, int, int], classes: int
    ) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(*conv_bn(3, widths[0], 3, stride=2), nn.ReLU())
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.stage2 = self._stage(widths[0], widths[1], repeats[0])
        self.stage3 = self._stage(widths[1], widths[2], repeats[1])
        self.stage4 = self._stage(widths[2], widths[3], repeats[2])
        self.conv5 = nn.Sequential(*conv_bn(widths[3], widths[4], 1), nn.ReLU())
        self.fc = nn.Linear(widths[4], classes)

    @staticmethod
    def _stage(in_channels: int, out_channels: int, units: int) -> nn.Sequential:
        first = ShuffleUnit(in_channels, out_channels, stride=2)
        rest = (ShuffleUnit(out_channels, out_channels, stride=1) for _ in range(units - 1))
        return nn.Sequential(first, *rest)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        logits: torch.Tensor = self.fc(x.mean(dim=(2, 3)))
        return logits


def shufflenet_v2_x1_0(num_classes: int = 1000) -> ShuffleNetV2:
    """ShuffleNet V2 1.0×: 4, 8 and 4 units in stages 2-4, widths 24, 116, 232, 464, 1024.
    2,278,604 parameters; any input of 32×32 or more (five halvings)."""
    return ShuffleNetV2((4, 8, 4), (24, 116, 232, 464, 1024), num_classes)


# --------------------------------------------------------------------------------------------
# DenseNet-121 (Huang et al. 2017), torchvision layout
# --------------------------------------------------------------------------------------------


def dense_layer(in_channels: int, growth: int, bottleneck: int) -> nn.Sequential:
    """BN-ReLU-1×1 conv to ``bottleneck · growth``, BN-ReLU-3×3 conv to ``growth`` (no biases)."""
    width = bottleneck * growth
    return nn.Sequential(
        OrderedDict(
            norm1=nn.BatchNorm2d(in_channels),
            relu1=nn.ReLU(),
            conv1=nn.Conv2d(in_channels, width, kernel_size=1, bias=False),
            norm2=nn.BatchNorm2d(width),
            relu2=nn.ReLU(),
            conv2=nn.Conv2d(width, growth, kernel_size=3, padding=1, bias=False),
        )
    )


class DenseBlock(nn.Module):
    """``denselayer1..N``: each layer sees the concatenation of the block's input and every
    earlier layer's output; the block returns the concatenation of all of them."""

    def __init__(self, layers: int, in_channels: int, growth: int, bottleneck: int) -> None:
        super().__init__()
        for i in range(layers):
            self.add_module(
                f"denselayer{i + 1}", dense_layer(in_channels + i * growth, growth, bottleneck)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [x]
        for layer in self.children():
            outputs.append(layer(torch.cat(outputs, dim=1)))
        return torch.cat(outputs, dim=1)


def transition(in_channels: int, out_channels: int) -> nn.Sequential:
    """BN, ReLU, 1×1 convolution (no bias), 2×2 average pool."""
    return nn.Sequential(
        OrderedDict(
            norm=nn.BatchNorm2d(in_channels),
            relu=nn.ReLU(),
            conv=nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
            pool=nn.AvgPool2d(kernel_size=2, stride=2),
        )
    )


class DenseNet(nn.Module):
    """``features`` (stem, dense blocks and transitions, ``norm5``), then ReLU, global average
    pooling, flatten and the linear ``classifier``."""

    def __init__(self, features: nn.Sequential, channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = features
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(F.relu(self.features(x)), (1, 1))
        logits: torch.Tensor = self.classifier(torch.flatten(x, 1))
        return logits


def densenet121(num_classes: int = 1000) -> DenseNet:
    """DenseNet-121: growth rate 32, blocks of 6, 12, 24 and 16 layers, bottleneck width
    4 · 32, 64 stem channels; each transition halves the channels (256 → 128, 512 → 256,
    1024 → 512), ending at 1024. 7,978,856 parameters; any input of 32×32 or more.
    """
    growth, bottleneck, channels = 32, 4, 64
    features = nn.Sequential(
        OrderedDict(
            conv0=nn.Conv2d(3, channels, kernel_size=7, stride=2, padding=3, bias=False),
            norm0=nn.BatchNorm2d(channels),
            relu0=nn.ReLU(),
            pool0=nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
    )
    block_sizes = (6, 12, 24, 16)
    for i, layers in enumerate(block_sizes, start=1):
        features.add_module(f"denseblock{i}", DenseBlock(layers, channels, growth, bottleneck))
        channels += layers * growth
        if i < len(block_sizes):
            features.add_module(f"transition{i}", transition(channels, channels // 2))
            channels //= 2
    features.add_module("norm5", nn.BatchNorm2d(channels))
    return DenseNet(features, channels, num_classes)


# --------------------------------------------------------------------------------------------
# ResNet-50 (He et al. 2016) with a Feature Pyramid Network (Lin et al. 2017), torchvision layout
# --------------------------------------------------------------------------------------------


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3 (carrying the stride), 1×1 expand to ``4 · width``, each with batch norm;
    plus the shortcut (``downsample``: 1×1 convolution and batch norm where the shape changes),
    then ReLU."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int) -> None:
        super().__init__()
        out_channels = self.expansion * width
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.downsample: nn.Sequential | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        shortcut = x if self.downsample is None else self.downsample(x)
        out: torch.Tensor = self.relu(y + shortcut)
        return out


class ResNet50Body(nn.Module):
    """ResNet-50 without its head: stem, then ``layer1..layer4`` (3, 4, 6, 3 bottlenecks of
    widths 64, 128, 256, 512); returns the four stage outputs (256, 512, 1024, 2048 channels at
    strides 4, 8, 16, 32)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._layer(64, 64, 3, stride=1)
        self.layer2 = self._layer(256, 128, 4, stride=2)
        self.layer3 = self._layer(512, 256, 6, stride=2)
        self.layer4 = self._layer(1024, 512, 3, stride=2)

    @staticmethod
    def _layer(in_channels: int, width: int, blocks: int, stride: int) -> nn.Sequential:
        out_channels = Bottleneck.expansion * width
        rest = (Bottleneck(out_channels, width, stride=1) for _ in range(blocks - 1))
        return nn.Sequential(Bottleneck(in_channels, width, stride), *rest)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outputs = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            outputs.append(x)
        return outputs


class FeaturePyramid(nn.Module):
    """FPN: a 1×1 lateral convolution per input (``inner_blocks.i.0``), a top-down path that adds
    each level to the nearest-neighbour upsampling of the level above, and a 3×3 output
    convolution per level (``layer_blocks.i.0``); all convolutions have a bias. Returns the
    levels finest first, then ``pool``: the coarsest output subsampled by a 1×1 max pool of
    stride 2."""

    def __init__(self, in_channels: tuple[int, ...], out_channels: int) -> None:
        super().__init__()
        self.inner_blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, out_channels, kernel_size=1)) for c in in_channels
        )
        self.layer_blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1))
            for _ in in_channels
        )

    def forward(self, features: list[torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
        last = len(features) - 1
        top_down = self.inner_blocks[last](features[last])
        results = [self.layer_blocks[last](top_down)]
        for i in range(last - 1, -1, -1):
            lateral = self.inner_blocks[i](features[i])
            upsampled = F.interpolate(top_down, size=lateral.shape[-2:], mode="nearest")
            top_down = lateral + upsampled
            results.insert(0, self.layer_blocks[i](top_down))
        outputs = OrderedDict((str(i), r) for i, r in enumerate(results))
        outputs["pool"] = F.max_pool2d(results[-1], kernel_size=1, stride=2, padding=0)
        return outputs


class ResNetFPN(nn.Module):
    """``body`` (the backbone's stage outputs) feeding ``fpn``."""

    def __init__(self) -> None:
        super().__init__()
        self.body = ResNet50Body()
        self.fpn = FeaturePyramid((256, 512, 1024, 2048), 256)

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        levels: OrderedDict[str, torch.Tensor] = self.fpn(self.body(x))
        return levels


def resnet50_fpn() -> ResNetFPN:
    """ResNet-50 layers 1-4 with a 256-channel FPN, as torchvision's detection backbones build it
    (but with ordinary, trainable batch norm). Returns ``'0'..'3'`` at strides 4-32 and
    ``'pool'`` at stride 64, each with 256 channels. 26,852,416 parameters.

    >>> [tuple(v.shape[2:]) for v in resnet50_fpn()(torch.zeros(1, 3, 64, 64)).values()]
    [(16, 16), (8, 8), (4, 4), (2, 2), (1, 1)]
    """
    return ResNetFPN()
