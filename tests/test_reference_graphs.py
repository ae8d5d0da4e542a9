"""The hand-written graph networks of ``bench/reference_graphs.py`` against torchvision's layout.

For SqueezeNet 1.0, ShuffleNet V2 1.0×, DenseNet-121 and ResNet-50 + FPN: the ``state_dict``
keys and shapes, in order, and the parameter count equal torchvision 0.29.1's (copied from
``/work/shared/reference/torchvision`` into ``tests/data/torchvision``, shared with the zoo's
specs). U-Net
has no published key list: its parameter count (31,037,698) and output shape are checked. Each
network runs one forward pass on a small input; a few tests pin down the data flow that key
lists cannot show (the shuffle, the split, the dense concatenation, the pyramid's outputs).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from conftest import ROOT
from torch import nn

from bench import reference_graphs as ref

TORCHVISION_DATA = ROOT / "tests" / "data" / "torchvision"

#: reference constructor, torchvision's parameter count, the output shape for a 1×3×64×64 input
TORCHVISION: dict[str, tuple[Callable[[], nn.Module], int, tuple[int, ...]]] = {
    "squeezenet1_0": (ref.squeezenet1_0, 1_248_424, (1, 1000)),
    "shufflenet_v2_x1_0": (ref.shufflenet_v2_x1_0, 2_278_604, (1, 1000)),
    "densenet121": (ref.densenet121, 7_978_856, (1, 1000)),
}

Keys = list[tuple[str, tuple[int, ...]]]


def reference(name: str, data: Path = TORCHVISION_DATA) -> tuple[Keys, int]:
    """torchvision's state_dict keys and shapes in order, and the count from the header line."""
    lines = (data / f"{name}.txt").read_text().splitlines()
    count = int(lines[0].rsplit(";", 1)[1].split()[0])
    keys = []
    for line in lines[1:]:
        key, shape = line.split(" ", 1)
        keys.append((key, tuple(int(d) for d in shape.strip("[]").split(",") if d.strip())))
    return keys, count


def layout(model: nn.Module) -> Keys:
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def fpn() -> nn.Module:
    torch.manual_seed(0)
    return ref.resnet50_fpn().eval()


def test_every_reference_file_is_tested():
    assert all(
        (TORCHVISION_DATA / f"{name}.txt").exists() for name in [*TORCHVISION, "resnet50_fpn"]
    )


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_classifier_is_torchvisions(name):
    build, params, out_shape = TORCHVISION[name]
    keys, count = reference(name, TORCHVISION_DATA)
    assert count == params
    torch.manual_seed(0)
    model = build().eval()
    assert layout(model) == keys
    assert n_params(model) == params
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).shape == out_shape


def test_resnet50_fpn_is_torchvisions(fpn):
    keys, count = reference("resnet50_fpn", TORCHVISION_DATA)
    assert count == 26_852_416
    assert layout(fpn) == keys
    assert n_params(fpn) == 26_852_416


def test_resnet50_fpn_body_is_resnet50_without_its_head(fpn):
    resnet50, _ = reference("resnet50", TORCHVISION_DATA)
    body = [(f"body.{k}", s) for k, s in resnet50 if not k.startswith("fc.")]
    assert [row for row in layout(fpn) if row[0].startswith("body.")] == body


def test_resnet50_fpn_outputs(fpn):
    with torch.no_grad():
        out = fpn(torch.randn(1, 3, 64, 64))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "0": (1, 256, 16, 16),
        "1": (1, 256, 8, 8),
        "2": (1, 256, 4, 4),
        "3": (1, 256, 2, 2),
        "pool": (1, 256, 1, 1),
    }
    # the extra level keeps every other pixel of the coarsest one
    assert torch.equal(out["pool"], out["3"][:, :, ::2, ::2])


def test_unet_count_and_shape():
    torch.manual_seed(0)
    model = ref.unet().eval()
    assert n_params(model) == 31_037_698
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 2, 64, 64)
    # recursive key layout: four levels, the bottom double conv at 512 → 1024, then the head
    state = model.state_dict()
    assert state["level.encode.0.weight"].shape == (64, 3, 3, 3)
    assert state["level.inner.inner.inner.inner.3.weight"].shape == (1024, 1024, 3, 3)
    assert state["level.inner.inner.inner.up.weight"].shape == (1024, 512, 2, 2)
    assert state["level.decode.0.weight"].shape == (64, 128, 3, 3)
    assert next(reversed(state)) == "head.bias"


def test_unet_other_sizes():
    model = ref.unet(in_channels=1, num_classes=5, base=8, depth=2).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 12, 20)).shape == (2, 5, 12, 20)


def test_channel_shuffle_interleaves_two_groups():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert ref.channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]


def test_shuffle_unit_passes_the_first_half_through():
    unit = ref.ShuffleUnit(8, 8, stride=1).eval()
    x = torch.randn(1, 8, 5, 5)
    with torch.no_grad():
        y = unit(x)
    # after the shuffle, the untouched half sits on the even channels
    assert torch.equal(y[:, 0::2], x[:, :4])


def test_dense_block_concatenates_its_input_and_every_layer():
    block = ref.DenseBlock(layers=3, in_channels=5, growth=4, bottleneck=2).eval()
    x = torch.randn(1, 5, 6, 6)
    with torch.no_grad():
        y = block(x)
    assert y.shape == (1, 5 + 3 * 4, 6, 6)
    assert torch.equal(y[:, :5], x)
    # the third layer sees the input and the first two layers' outputs
    assert block.denselayer3.conv1.in_channels == 5 + 2 * 4
